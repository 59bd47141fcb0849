"""The background task that empties the outbox: sends each due delivery (a few at a time,
each with a timeout) and records every attempt; an error or a non-2xx answer is retried
with exponential backoff until ``max_attempts``. Nothing waits for it but the receivers.
Configured as ``WebhookDelivery.<option>`` (``--WebhookDelivery.max_attempts=3``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

from ..pipeline import short
from ..store import Store
from .payload import headers
from .webhooks import Webhook

DELIVERED, FAILED, PENDING = "delivered", "failed", "pending"


@dataclass
class Attempt:
    """What one POST to a receiver gave."""

    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.error is None


class WebhookDelivery(LoggingConfigurable):
    """Sends the outbox's due deliveries from the IOLoop; ``wake`` after adding some."""

    timeout = Float(10.0, min=0.1, help="Seconds a receiver has to answer a delivery.").tag(
        config=True
    )
    max_attempts = Integer(8, min=1, help="Attempts of a delivery before it counts as failed.").tag(
        config=True
    )
    retry_delay = Float(
        5.0,
        min=0.0,
        help="Seconds before the second attempt of a failed delivery; each further attempt "
        "waits twice as long as the one before, at most max_retry_delay.",
    ).tag(config=True)
    max_retry_delay = Float(
        600.0, min=0.0, help="Longest wait between two attempts of a delivery."
    ).tag(config=True)
    concurrency = Integer(
        8, min=1, help="Most deliveries sent at once (a slow receiver holds one each)."
    ).tag(config=True)

    def __init__(
        self, store: Store, webhook: Callable[[str], Webhook | None], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.webhook = webhook
        self._wake = asyncio.Event()
        self._sending: dict[str, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._client: AsyncHTTPClient | None = None

    def backoff(self, attempts: int) -> float:
        """Seconds before the attempt after ``attempts`` failed ones."""
        return min(self.retry_delay * 2 ** (attempts - 1), self.max_retry_delay)

    def start(self) -> None:
        """Send what is due now (deliveries a previous server left too) and from now on."""
        self._client = AsyncHTTPClient(force_instance=True, max_clients=self.concurrency)
        self._loop_task = asyncio.get_running_loop().create_task(self._run())

    def wake(self) -> None:
        """New deliveries were queued: look for due ones once the store has them."""
        self._wake.set()

    async def close(self) -> None:
        """Stop sending; deliveries in flight stay pending for the next start."""
        tasks = [self._loop_task, *self._sending.values()]
        for task in tasks:
            if task is not None:
                task.cancel()
        await asyncio.gather(*(task for task in tasks if task is not None), return_exceptions=True)
        if self._client is not None:
            self._client.close()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.store.written()
                wait = await self._send_due()
            except Exception:
                self.log.exception("orchest_ext: reading the webhook outbox failed")
                wait = self.retry_delay
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _send_due(self) -> float | None:
        """Start sending what is due while there are free slots; seconds until more is due
        (None: nothing pending, or no free slot: a send ending wakes the loop)."""
        free = self.concurrency - len(self._sending)
        if free > 0:
            due = await self.store.due_deliveries(time.time(), free, list(self._sending))
            for row in due:
                task = asyncio.get_running_loop().create_task(self._deliver(row))
                self._sending[row["id"]] = task
            if len(due) == free:
                return None
        if len(self._sending) >= self.concurrency:
            return None
        next_due = await self.store.next_delivery_due(list(self._sending))
        return None if next_due is None else max(next_due - time.time(), 0.0)

    async def _deliver(self, row: dict[str, Any]) -> None:
        try:
            webhook = self.webhook(row["webhook_id"])
            if webhook is None:
                return  # deleted since: its rows went with it
            attempt = await self._post(webhook, row)
            await self._record(row, attempt)
        except Exception:
            self.log.exception("orchest_ext: delivering webhook %s failed", row["id"])
        finally:
            self._sending.pop(row["id"], None)
            self._wake.set()

    async def _post(self, webhook: Webhook, row: dict[str, Any]) -> Attempt:
        raw = row["body"].encode()
        request = HTTPRequest(
            webhook.url,
            method="POST",
            body=raw,
            headers=headers(row["event"], row["id"], raw, webhook.secret),
            connect_timeout=self.timeout,
            request_timeout=self.timeout,
            follow_redirects=False,
        )
        started = time.monotonic()
        assert self._client is not None
        try:
            response = await self._client.fetch(request, raise_error=False)
        except Exception as err:
            return Attempt(None, f"{type(err).__name__}: {short(str(err))}", _ms(started))
        code = response.code
        if code == 599:
            return Attempt(None, short(str(response.error)), _ms(started))
        error = None if 200 <= code < 300 else f"HTTP {code} {short(response.reason or '')}"
        return Attempt(code, error, _ms(started))

    async def _record(self, row: dict[str, Any], attempt: Attempt) -> None:
        attempts = row["attempts"] + 1
        if attempt.ok:
            state, next_attempt = DELIVERED, row["next_attempt"]
        elif attempts >= self.max_attempts:
            state, next_attempt = FAILED, row["next_attempt"]
            self.log.warning(
                "orchest_ext: webhook delivery %s gave up after %d attempts: %s",
                row["id"],
                attempts,
                attempt.error,
            )
        else:
            state, next_attempt = PENDING, time.time() + self.backoff(attempts)
        await self.store.record_delivery_attempt(
            {
                "delivery_id": row["id"],
                "attempt": attempts,
                "time": datetime.now(timezone.utc).isoformat(),
                "status_code": attempt.status_code,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
            },
            {"id": row["id"], "state": state, "attempts": attempts, "next_attempt": next_attempt},
        )


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
