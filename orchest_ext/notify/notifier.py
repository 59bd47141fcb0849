"""The Notifier: the registered webhooks, the outbox rows of the events they take (queued
with the state change they report), and the delivery task that sends them."""

from __future__ import annotations

import os
import time
import uuid as uuidlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from traitlets.config import LoggingConfigurable

from ..store import Store
from . import payload
from .delivery import PENDING, WebhookDelivery
from .webhooks import (
    CONFIG,
    TEST_EVENT,
    Webhook,
    WebhookRequestError,
    check_fields,
    configured_webhook,
    new_webhook,
)

EventData = Callable[[], dict[str, Any]]
"""Builds an event's data only when some webhook takes the event."""


class ConfiguredWebhook(WebhookRequestError):
    """A change to a webhook of ``OrchestApp.webhooks`` through the API."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Notifier(LoggingConfigurable):
    """Webhooks by id (kept in memory, written through to the store) and their outbox."""

    def __init__(
        self, store: Store, root_dir: str, configured: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.root_dir = root_dir
        self._configured = [configured_webhook(fields, now()) for fields in configured]
        self._webhooks: dict[str, Webhook] = {}
        self.deliverer = WebhookDelivery(store, self._webhooks.get, parent=self, log=self.log)

    async def start(self) -> None:
        """Load the webhooks, store the configured ones, and send what the outbox holds."""
        await self.store.replace_configured_webhooks([hook.to_row() for hook in self._configured])
        for row in await self.store.list_webhooks():
            self._remember(Webhook(**row))
        self.deliverer.start()

    async def close(self) -> None:
        await self.deliverer.close()

    def _remember(self, webhook: Webhook) -> Webhook:
        if webhook.pipeline_path is not None:
            joined = os.path.join(self.root_dir, webhook.pipeline_path)
            webhook.matched_path = os.path.normpath(joined)
        self._webhooks[webhook.id] = webhook
        return webhook

    # -- the API's calls ----------------------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        return [hook.to_public() for hook in self._webhooks.values()]

    def get(self, webhook_id: str) -> dict[str, Any] | None:
        webhook = self._webhooks.get(webhook_id)
        return None if webhook is None else webhook.to_public()

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        webhook = new_webhook(check_fields(body, creating=True), now())
        await self.store.save_webhook(webhook.to_row())
        return self._remember(webhook).to_public()

    async def update(self, webhook_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Change some fields (null clears ``secret``, ``job_uuid`` or ``pipeline_path``)."""
        webhook = self._changeable(webhook_id)
        if webhook is None:
            return None
        fields = check_fields(body, creating=False)
        changed = Webhook(**{**webhook.to_row(), **fields, "updated_time": now()})
        await self.store.save_webhook(changed.to_row())
        return self._remember(changed).to_public()

    async def delete(self, webhook_id: str) -> dict[str, Any] | None:
        """Delete a webhook with its deliveries (those pending are not sent)."""
        webhook = self._changeable(webhook_id)
        if webhook is None:
            return None
        del self._webhooks[webhook_id]
        await self.store.delete_webhook(webhook_id)
        return webhook.to_public()

    def _changeable(self, webhook_id: str) -> Webhook | None:
        webhook = self._webhooks.get(webhook_id)
        if webhook is not None and webhook.origin == CONFIG:
            raise ConfiguredWebhook(
                "id", "is a webhook of OrchestApp.webhooks; change the server's configuration"
            )
        return webhook

    async def deliveries(
        self, webhook_id: str, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int] | None:
        """A webhook's deliveries, newest first, each with its attempts."""
        if webhook_id not in self._webhooks:
            return None
        found, total = await self.store.webhook_deliveries(webhook_id, limit, offset)
        for delivery in found:
            due = delivery.pop("next_attempt")
            pending = delivery["state"] == PENDING
            delivery["next_attempt_time"] = _iso(due) if pending else None
        return found, total

    async def send_test(self, webhook_id: str) -> str | None:
        """Queue a ``webhook.test`` delivery to one webhook (durably); its delivery id."""
        webhook = self._webhooks.get(webhook_id)
        if webhook is None:
            return None
        row = self._row(webhook, TEST_EVENT, {"webhook_id": webhook.id, "time": now()})
        await self.store.add_outbox([row])
        self.deliverer.wake()
        return row["id"]

    # -- the outbox ---------------------------------------------------------------------------

    def outbox_rows(
        self, event: str, pipeline_path: str | None, job_id: str | None, data: EventData
    ) -> list[dict[str, Any]]:
        """The deliveries of an event of this pipeline file (absolute) and job."""
        hooks = [h for h in self._webhooks.values() if h.wants(event, pipeline_path, job_id)]
        if not hooks:
            return []
        built = data()
        return [self._row(hook, event, built) for hook in hooks]

    def enqueue(
        self, event: str, pipeline_path: str | None, job_id: str | None, data: EventData
    ) -> None:
        """Queue an event's deliveries into the store's next batch, the one that writes the
        state change they report (call it right after queueing that change)."""
        rows = self.outbox_rows(event, pipeline_path, job_id, data)
        for row in rows:
            self.store.queue_outbox(row)
        if rows:
            self.deliverer.wake()

    def wake(self) -> None:
        """Deliveries were written by another path (e.g. with a job's row)."""
        self.deliverer.wake()

    def _row(self, webhook: Webhook, event: str, data: dict[str, Any]) -> dict[str, Any]:
        delivery_id = uuidlib.uuid4().hex
        return {
            "id": delivery_id,
            "webhook_id": webhook.id,
            "event": event,
            "body": payload.body(webhook.format, event, delivery_id, data),
            "created_time": now(),
            "state": PENDING,
            "attempts": 0,
            "next_attempt": time.time(),
        }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()
