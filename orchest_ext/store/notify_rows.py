"""The SQL of webhooks, their outbox (one row per delivery, written in the transaction of
the change it reports) and the attempts of each delivery. Each function runs on the store's
thread with its connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from .rows import decode, encode, insert_sql, transaction

WEBHOOK_JSON_FIELDS = ("events",)
PENDING = "pending"


def insert_outbox(db: sqlite3.Connection, row: dict[str, Any]) -> None:
    """Add a delivery to the outbox inside the caller's transaction (a delivery written
    already, as on a retried batch, is kept)."""
    db.execute(insert_sql("webhook_outbox", row).replace("INSERT", "INSERT OR IGNORE", 1), row)


def add_outbox(db: sqlite3.Connection, rows: Iterable[dict[str, Any]]) -> None:
    with transaction(db):
        for row in rows:
            insert_outbox(db, row)


def save_webhook(db: sqlite3.Connection, row: dict[str, Any]) -> None:
    encoded = encode(row, WEBHOOK_JSON_FIELDS)
    with transaction(db):
        db.execute(_upsert_sql(encoded), encoded)


def _upsert_sql(row: dict[str, Any]) -> str:
    return insert_sql("webhooks", row).replace("INSERT", "INSERT OR REPLACE", 1)


def list_webhooks(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute("SELECT * FROM webhooks ORDER BY created_time, rowid").fetchall()
    return [decode(row, WEBHOOK_JSON_FIELDS) for row in rows]


def delete_webhook(db: sqlite3.Connection, webhook_id: str) -> None:
    """A webhook with its deliveries and their attempts."""
    with transaction(db):
        _delete_webhooks(db, [webhook_id])


def replace_configured(db: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """Make the configured webhooks (origin ``config``) exactly ``rows``, keeping the
    deliveries of those that stay."""
    keep = {row["id"] for row in rows}
    with transaction(db):
        stored = [r[0] for r in db.execute("SELECT id FROM webhooks WHERE origin = 'config'")]
        _delete_webhooks(db, [webhook_id for webhook_id in stored if webhook_id not in keep])
        for row in rows:
            encoded = encode(row, WEBHOOK_JSON_FIELDS)
            db.execute(_upsert_sql(encoded), encoded)


def _delete_webhooks(db: sqlite3.Connection, webhook_ids: list[str]) -> None:
    for webhook_id in webhook_ids:
        db.execute(
            "DELETE FROM webhook_attempts WHERE delivery_id IN "
            "(SELECT id FROM webhook_outbox WHERE webhook_id = ?)",
            (webhook_id,),
        )
        db.execute("DELETE FROM webhook_outbox WHERE webhook_id = ?", (webhook_id,))
        db.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))


def due_deliveries(
    db: sqlite3.Connection, now: float, limit: int, busy: list[str]
) -> list[dict[str, Any]]:
    """Pending deliveries due by ``now`` (seconds since the epoch), oldest due first,
    without those in ``busy`` (being sent)."""
    marks = ", ".join("?" for _ in busy)
    excluded = f"AND id NOT IN ({marks})" if busy else ""
    rows = db.execute(
        f"SELECT * FROM webhook_outbox WHERE state = ? AND next_attempt <= ? {excluded} "
        "ORDER BY next_attempt, rowid LIMIT ?",
        [PENDING, now, *busy, limit],
    ).fetchall()
    return [dict(row) for row in rows]


def next_due(db: sqlite3.Connection, busy: list[str]) -> float | None:
    """When the next pending delivery not in ``busy`` is due (seconds since the epoch)."""
    marks = ", ".join("?" for _ in busy)
    excluded = f"AND id NOT IN ({marks})" if busy else ""
    return db.execute(
        f"SELECT MIN(next_attempt) FROM webhook_outbox WHERE state = ? {excluded}",
        [PENDING, *busy],
    ).fetchone()[0]


def record_attempt(
    db: sqlite3.Connection, attempt: dict[str, Any], delivery: dict[str, Any]
) -> None:
    """An attempt of a delivery and the delivery's new state, together."""
    with transaction(db):
        db.execute(insert_sql("webhook_attempts", attempt), attempt)
        db.execute(
            "UPDATE webhook_outbox SET state = :state, attempts = :attempts, "
            "next_attempt = :next_attempt WHERE id = :id",
            delivery,
        )


def deliveries(
    db: sqlite3.Connection, webhook_id: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A webhook's deliveries, newest first, each with its attempts; and how many it has."""
    total = db.execute(
        "SELECT COUNT(*) FROM webhook_outbox WHERE webhook_id = ?", (webhook_id,)
    ).fetchone()[0]
    rows = db.execute(
        "SELECT id, event, created_time, state, attempts, next_attempt FROM webhook_outbox "
        "WHERE webhook_id = ? ORDER BY created_time DESC, rowid DESC LIMIT ? OFFSET ?",
        (webhook_id, limit, offset),
    ).fetchall()
    found = [dict(row) for row in rows]
    for delivery in found:
        delivery["attempts"] = [
            dict(row)
            for row in db.execute(
                "SELECT attempt, time, status_code, error, duration_ms FROM webhook_attempts "
                "WHERE delivery_id = ? ORDER BY attempt",
                (delivery["id"],),
            )
        ]
    return found, total
