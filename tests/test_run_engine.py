"""The run engine on a real store and the local executor, without a server."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

from orchest_ext.events import RUN_STATUS, STEP_STATUS
from orchest_ext.executors.local import LocalExecutor
from orchest_ext.pipeline import load_pipeline
from orchest_ext.runs import RunManager
from orchest_ext.store import Store

from .helpers import make_pipeline


async def test_every_event_seq_is_durable_before_it_is_emitted(tmp_path: Path):
    pipeline_file, _ = make_pipeline(
        tmp_path / "p",
        {
            "A": ("a.sh", "echo a\n", []),
            "B": ("b.sh", "echo b\n", ["A"]),
            "C": ("c.sh", "exit 3\n", ["A"]),
            "D": ("d.sh", "echo d\n", ["B", "C"]),
        },
    )
    db = tmp_path / "orchest.db"
    store = Store(db)
    await store.open()
    reader = sqlite3.connect(db)
    seen: list[tuple[int, int]] = []

    def emit(schema_id: str, data: dict) -> None:
        assert schema_id in (RUN_STATUS, STEP_STATUS)
        (stored,) = reader.execute(
            "SELECT seq FROM runs WHERE id = ?", (data["run_id"],)
        ).fetchone()
        seen.append((data["seq"], stored))

    manager = RunManager(store, {"local": LocalExecutor()}, emit, max_parallel=2)
    run = await manager.submit(await asyncio.to_thread(load_pipeline, pipeline_file))
    await manager.wait(run.id)
    await manager.shutdown()
    await store.close()
    reader.close()
    assert [event_seq for event_seq, _ in seen] == list(range(1, run.seq + 1))
    assert all(stored >= event_seq for event_seq, stored in seen), seen


async def test_a_failure_to_prepare_step_directories_is_reported(tmp_path: Path, caplog):
    pipeline_file, _ = make_pipeline(tmp_path / "p", {"A": ("a.sh", "echo a\n", [])})
    (tmp_path / "p" / ".orchest").write_text("a file where the runs directory should be")
    store = Store(tmp_path / "orchest.db")
    await store.open()
    manager = RunManager(store, {"local": LocalExecutor()}, lambda *_: None)
    caplog.set_level(logging.ERROR)
    run = await manager.submit(await asyncio.to_thread(load_pipeline, pipeline_file))
    await manager.wait(run.id)
    await manager.shutdown()
    await store.close()
    assert run.status == "FAILURE"
    assert any(
        f"Could not create the step directories of run {run.id}" in record.getMessage()
        for record in caplog.records
    ), caplog.text
