"""The store's webhooks and their outbox (a part of ``Store``: its methods run SQL on the
store's thread)."""

from __future__ import annotations

from typing import Any

from . import notify_rows


class WebhookRows:
    """Webhooks, their deliveries and attempts; ``Store`` provides ``_sql`` and
    ``_read_durable``."""

    async def _sql(self, fn, *args): ...

    async def _read_durable(self) -> None: ...

    async def save_webhook(self, row: dict[str, Any]) -> None:
        """Insert or replace a webhook, durably."""
        await self._sql(notify_rows.save_webhook, row)

    async def list_webhooks(self) -> list[dict[str, Any]]:
        return await self._sql(notify_rows.list_webhooks)

    async def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook with its deliveries and their attempts."""
        await self._sql(notify_rows.delete_webhook, webhook_id)

    async def replace_configured_webhooks(self, rows: list[dict[str, Any]]) -> None:
        """Make the stored webhooks of the server's configuration exactly ``rows``."""
        await self._sql(notify_rows.replace_configured, rows)

    async def add_outbox(self, rows: list[dict[str, Any]]) -> None:
        """Write deliveries now, in their own transaction."""
        await self._sql(notify_rows.add_outbox, rows)

    async def due_deliveries(self, now: float, limit: int, busy: list[str]) -> list[dict]:
        """Pending deliveries due by ``now``, oldest due first, except those in ``busy``."""
        return await self._sql(notify_rows.due_deliveries, now, limit, busy)

    async def next_delivery_due(self, busy: list[str]) -> float | None:
        return await self._sql(notify_rows.next_due, busy)

    async def record_delivery_attempt(
        self, attempt: dict[str, Any], delivery: dict[str, Any]
    ) -> None:
        """An attempt of a delivery and the delivery's new state, durably."""
        await self._sql(notify_rows.record_attempt, attempt, delivery)

    async def webhook_deliveries(
        self, webhook_id: str, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A webhook's deliveries, newest first, with their attempts; and their number."""
        await self._read_durable()
        return await self._sql(notify_rows.deliveries, webhook_id, limit, offset)
