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


async def test_runs_with_results_reads_many_runs_steps_metrics_and_outputs_in_two_queries(
    tmp_path: Path,
) -> None:
    store, (first, second, third) = await stored_runs(tmp_path, 3)
    try:
        step = (await store.get_run(first))["steps"][0]["uuid"]
        summaries = [{"name": "x", "type": "builtins.int", "bytes": 1, "preview": None}]
        store.save_outputs(first, step, summaries)
        store.update_step(first, step, {"metrics": {"loss": 0.5}})
        await store.flush()
        selects: list[str] = []
        store._db.set_trace_callback(
            lambda sql: selects.append(sql) if sql.lstrip().startswith("SELECT") else None
        )
        runs = await store.runs_with_results([first, second, "no-such-run"])
        store._db.set_trace_callback(None)
        assert len(selects) == 2, selects
        assert set(runs) == {first, second}, "an unknown id is left out, an unasked one too"
        [shown] = runs[first]["steps"]
        assert shown["uuid"] == step
        assert shown["metrics"] == {"loss": 0.5}
        assert shown["outputs"] == summaries
        assert runs[second]["steps"][0]["outputs"] == []
        assert runs[second]["steps"][0]["metrics"] == {}
        assert runs[first]["status"] == (await store.get_run(first))["status"]
        assert third not in runs
    finally:
        await store.close()


async def test_runs_with_results_sees_outputs_still_queued(tmp_path: Path) -> None:
    store, (first,) = await stored_runs(tmp_path, 1)
    try:
        step = (await store.get_run(first))["steps"][0]["uuid"]
        summaries = [{"name": None, "type": "builtins.str", "bytes": 2, "preview": None}]
        store.save_outputs(first, step, summaries)
        runs = await store.runs_with_results([first])
        assert runs[first]["steps"][0]["outputs"] == summaries
    finally:
        await store.close()
