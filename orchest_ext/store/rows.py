"""Rows as the store writes and reads them: JSON and boolean columns, INSERT statements and
transactions."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

JOB_JSON_FIELDS = ("spec", "fires")
RUN_JSON_FIELDS = ("uuids", "parameters", "env")
RUN_BOOL_FIELDS = ("inclusive", "write_back")
STEP_JSON_FIELDS = ("parents", "handle", "cache_parts", "changed", "changed_parents", "metrics")
STEP_BOOL_FIELDS = ("cached",)


def encode(row: dict[str, Any], json_fields: Iterable[str]) -> dict[str, Any]:
    encoded = dict(row)
    for name in json_fields:
        if name in encoded and encoded[name] is not None:
            encoded[name] = json.dumps(encoded[name])
    return encoded


def decode(row: sqlite3.Row, json_fields: Iterable[str], bool_fields: Iterable[str] = ()) -> dict:
    decoded = dict(row)
    for name in json_fields:
        if decoded.get(name) is not None:
            decoded[name] = json.loads(decoded[name])
    for name in bool_fields:
        decoded[name] = bool(decoded[name])
    return decoded


def insert_sql(table: str, row: dict[str, Any]) -> str:
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    return f"INSERT INTO {table} ({columns}) VALUES ({values})"


class Transaction:
    """``with`` block that wraps statements in BEGIN/COMMIT (ROLLBACK on error)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
                return
            except sqlite3.Error:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        """End the transaction if a failed statement (a full disk) has not ended it already,
        so the next one can begin."""
        if self.db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")


def transaction(db: sqlite3.Connection | None) -> Transaction:
    """A transaction on ``db`` (which the store must have opened)."""
    assert db is not None, "Store.open() was not awaited"
    return Transaction(db)
