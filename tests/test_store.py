"""The store: reads see queued updates; a read writes only what it must see."""

from __future__ import annotations

import asyncio
from pathlib import Path

from orchest_ext.executors.local import LocalExecutor
from orchest_ext.pipeline import load_pipeline
from orchest_ext.runs import RunManager
from orchest_ext.store import Store

from .helpers import make_pipeline


async def stored_runs(tmp_path: Path, count: int) -> tuple[Store, list[str]]:
    """A store holding ``count`` finished runs, writing queued updates only when asked to."""
    pipeline_file, _ = make_pipeline(tmp_path / "p", {"A": ("a.sh", "true\n", [])})
    pipeline = await asyncio.to_thread(load_pipeline, pipeline_file)
    store = Store(tmp_path / "orchest.db")
    await store.open()
    manager = RunManager(store, {"local": LocalExecutor()}, lambda *_: None)
    ids = []
    for _ in range(count):
        run = await manager.submit(pipeline)
        await manager.wait(run.id)
        ids.append(run.id)
    await manager.shutdown()
    await store.flush()
    store.flush_delay = 3600
    return store, ids


async def test_reads_see_updates_still_queued(tmp_path: Path) -> None:
    store, (first, second) = await stored_runs(tmp_path, 2)
    try:
        step = (await store.get_run(second))["steps"][0]["uuid"]
        store.update_run(first, {"message": "queued"})
        store.update_step(second, step, {"message": "queued too"})
        run = await store.get_run(first)
        assert run is not None and run["message"] == "queued"
        runs, _ = await store.list_runs()
        assert {r["id"]: r["message"] for r in runs}[first] == "queued"
        other = await store.get_run(second)
        assert other is not None and other["steps"][0]["message"] == "queued too"
    finally:
        await store.close()


async def test_a_read_leaves_unrelated_updates_queued(tmp_path: Path) -> None:
    store, (first, second) = await stored_runs(tmp_path, 2)
    try:
        step = (await store.get_run(first))["steps"][0]["uuid"]
        store.update_step(first, step, {"message": "queued"})
        assert await store.get_run(second) is not None
        await store.list_runs()
        assert await store.get_run(second, pipeline=False) is not None
        assert store._pending, "a read of another run (or the list) wrote the step update"
    finally:
        await store.close()


async def test_output_summaries_are_read_while_queued_and_deleted_with_their_run(
    tmp_path: Path,
) -> None:
    store, (first, second) = await stored_runs(tmp_path, 2)
    try:
        step = (await store.get_run(first))["steps"][0]["uuid"]
        summaries = [{"name": None, "type": "builtins.int", "bytes": 1, "preview": None}]
        store.save_outputs(first, step, summaries)
        store.save_outputs(second, step, summaries)
        assert await store.step_outputs(first, step) == summaries
        await store.delete_runs([first])
        assert await store.step_outputs(first, step) == []
        assert await store.step_outputs(second, step) == summaries
    finally:
        await store.close()
