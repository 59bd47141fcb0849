"""Shared helpers for the benchmarks: random DAGs, pipeline dicts, temp dirs, tables.

Importing this module puts the checkout it lives in first on ``sys.path``, so
``python bench/<name>.py`` measures this checkout's ``orchest_ext`` even when the installed
package points elsewhere. Benchmarks import it before ``orchest_ext``."""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import asyncio
import contextlib
import json
import random
import shutil
import statistics
import tempfile
import uuid as uuidlib
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from jupyter_events import EventLogger

from orchest_ext.events import Emit, emitter, register_schemas
from orchest_ext.executors.base import Executor
from orchest_ext.runs import RunManager
from orchest_ext.store import Store


def random_dag(n: int, seed: int, max_parents: int = 3) -> list[list[int]]:
    """Parents of each step: 0..max_parents distinct earlier steps, chosen with ``seed``."""
    rng = random.Random(seed)
    parents: list[list[int]] = []
    for index in range(n):
        count = min(index, rng.randint(0, max_parents))
        parents.append(sorted(rng.sample(range(index), count)))
    return parents


def chain(n: int) -> list[list[int]]:
    """Parents of a linear chain of ``n`` steps."""
    return [[index - 1] if index else [] for index in range(n)]


def pipeline_dict(parents: list[list[int]], file_paths: Sequence[str]) -> dict[str, Any]:
    """An Orchest pipeline description with step ``i`` running ``file_paths[i]``."""
    uuids = [str(uuidlib.UUID(int=index + 1)) for index in range(len(parents))]
    steps = {
        uuids[index]: {
            "uuid": uuids[index],
            "title": f"step-{index}",
            "file_path": file_paths[index],
            "incoming_connections": [uuids[p] for p in step_parents],
            "kernel": {"name": "python", "display_name": "Python 3"},
            "environment": "",
            "parameters": {},
            "meta_data": {"position": [0, 0], "hidden": False},
        }
        for index, step_parents in enumerate(parents)
    }
    return {
        "name": "bench",
        "uuid": str(uuidlib.uuid4()),
        "version": "1.0",
        "settings": {},
        "parameters": {},
        "steps": steps,
    }


def write_pipeline(directory: Path, description: dict[str, Any]) -> Path:
    """Write ``description`` as ``pipeline.orchest`` in ``directory``; return its path."""
    path = directory / "pipeline.orchest"
    path.write_text(json.dumps(description, indent=2))
    return path


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A fresh directory from ``tempfile.mkdtemp``, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def _ignore_event(logger: EventLogger, schema_id: str, data: dict) -> None:
    """An event listener that does nothing (stands in for a subscribed frontend)."""


def make_emit(events: str = "jupyter_events") -> Emit:
    """An emit as the app wires it: ``noop``; ``jupyter_events`` (an EventLogger with the
    orchest_ext schemas, nobody listening); ``listener`` (the same with one listener, as when
    a frontend is subscribed to ``/api/events/subscribe``)."""
    if events == "noop":
        return lambda schema_id, data: None
    logger = EventLogger()
    register_schemas(logger)
    if events == "listener":
        logger.add_listener(listener=_ignore_event)
    return emitter(logger)


@contextlib.asynccontextmanager
async def run_manager(
    db_path: Path,
    executor: Executor,
    max_parallel: int,
    events: str = "jupyter_events",
    **traits: Any,
) -> AsyncIterator[RunManager]:
    """A RunManager over a real SQLite Store at ``db_path``, with ``traits`` set; closed (and
    flushed) afterwards."""
    store = Store(db_path)
    await store.open()
    manager = RunManager(
        store=store,
        executors={"local": executor},
        emit=make_emit(events),
        max_parallel=max_parallel,
        **traits,
    )
    try:
        yield manager
    finally:
        await manager.shutdown()
        await store.close()


class StallMeter:
    """The IOLoop's longest stall while it is entered: a task waking every millisecond."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._running = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StallMeter:
        self._running = True
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._running = False
        if self._task is not None:
            await self._task

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while self._running:
            before = loop.time()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, loop.time() - before - 0.001)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows as an aligned plain-text table."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        pairs = enumerate(zip(row, widths, strict=True))
        padded = [cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in pairs]
        print("  ".join(padded))
        if index == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2, default=str))
