"""The webhook outbox shares the transaction of the change it reports: a run's status change
and its deliveries are written together, or neither is."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchest_ext.infra.disk import StorageError
from orchest_ext.store import Store
from orchest_ext.store.run_rows import write_batch

from .test_store import stored_runs


def outbox_row(delivery_id: str) -> dict:
    return {
        "id": delivery_id,
        "webhook_id": "w",
        "event": "run.failed",
        "body": "{}",
        "created_time": "2026-01-01T00:00:00+00:00",
        "state": "pending",
        "attempts": 0,
        "next_attempt": time.time(),
    }


async def rows(store: Store, sql: str, *args) -> list[tuple]:
    return await store._sql(lambda db: [tuple(row) for row in db.execute(sql, args)])


async def test_a_delivery_is_written_in_the_batch_of_the_change_it_reports(tmp_path: Path):
    store, (run_id,) = await stored_runs(tmp_path, 1)
    try:
        store.update_run(run_id, {"message": "failed for the test"})
        store.queue_outbox(outbox_row("d1"))
        assert await rows(store, "SELECT id FROM webhook_outbox") == []
        await store.flush()
        assert await rows(store, "SELECT id FROM webhook_outbox") == [("d1",)]
        assert (await store.get_run(run_id))["message"] == "failed for the test"
    finally:
        await store.close()


async def test_a_batch_that_fails_writes_neither_the_change_nor_its_delivery(tmp_path: Path):
    store, (run_id,) = await stored_runs(tmp_path, 1)
    try:
        batch = {
            ("outbox", "d2", ""): outbox_row("d2"),
            ("run", run_id, ""): {"message": "never written"},
            ("run", run_id + "-x", ""): {"no_such_column": 1},
        }
        with pytest.raises(StorageError, match="no_such_column"):
            await store._sql(write_batch, batch)
        assert await rows(store, "SELECT id FROM webhook_outbox") == []
        assert (await store.get_run(run_id))["message"] != "never written"
    finally:
        await store.close()


async def test_a_retried_batch_keeps_the_delivery_once(tmp_path: Path):
    store, _ = await stored_runs(tmp_path, 1)
    try:
        for _ in range(2):
            await store._sql(write_batch, {("outbox", "d3", ""): outbox_row("d3")})
        assert await rows(store, "SELECT COUNT(*) FROM webhook_outbox") == [(1,)]
    finally:
        await store.close()
