"""Steps' kernels (containers...) started ahead of need: while a step's parents run, its
executor starts what it needs, within bounds; what a step will not use is discarded at once."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Iterator

from ..executors.base import Ahead, Executor
from .scheduler import StepKey
from .spec import build_spec
from .state import PENDING, STARTED, SUCCESS, TERMINAL, RunState

SCAN_PER_SLOT = 32
"""Steps below a step that started looked at for each thing that may wait ahead: bounds the
work per started step in runs of steps that start nothing ahead (scripts)."""


def available_memory_mib() -> float | None:
    """Memory available for new processes (Linux ``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class AheadPool:
    """At most ``limit`` things started ahead wait at once, and none is started while less
    than ``min_free_mib`` of memory is available."""

    def __init__(
        self, executors: dict[str, Executor], limit: int, min_free_mib: float, log: logging.Logger
    ) -> None:
        self.executors = executors
        self.limit = limit
        self.min_free_mib = min_free_mib
        self.log = log
        self._waiting: dict[StepKey, tuple[RunState, Ahead]] = {}
        self._discarding: set[asyncio.Task[None]] = set()
        self._nothing: dict[str, tuple[RunState, set[str]]] = {}
        """Steps of active runs their executor starts nothing ahead for, by run id."""

    def waiting(self) -> dict[StepKey, Ahead]:
        """What waits for its step, by (run id, step uuid)."""
        return {key: ahead for key, (_, ahead) in self._waiting.items()}

    def step_started(self, run: RunState, uuid: str) -> None:
        """``uuid`` started: start ahead for its pending descendants, nearest first."""
        if len(self._waiting) < self.limit:
            self.consider(run, nearest_descendants(run, uuid, SCAN_PER_SLOT * self.limit))

    def consider(self, run: RunState, uuids: Iterable[str]) -> None:
        """Start ahead for these PENDING steps, as far as the bounds allow."""
        executor = self.executors.get(run.backend)
        self._forget_finished()
        if executor is None or run.status in TERMINAL:
            return
        _, nothing = self._nothing.setdefault(run.id, (run, set()))
        for uuid in uuids:
            key = (run.id, uuid)
            if key in self._waiting or uuid in nothing or run.steps[uuid].status != PENDING:
                continue
            if len(self._waiting) >= self.limit or not self._memory_allows():
                return
            ahead = executor.start_ahead(build_spec(run, run.steps[uuid]))
            if ahead is None:
                nothing.add(uuid)
            else:
                self._waiting[key] = (run, ahead)

    def _forget_finished(self) -> None:
        """Drop what is remembered of finished runs."""
        for run_id in [r for r, (run, _) in self._nothing.items() if run.status in TERMINAL]:
            del self._nothing[run_id]

    def take(self, run: RunState, uuid: str) -> Ahead | None:
        """What was started ahead for the step, now the caller's."""
        entry = self._waiting.pop((run.id, uuid), None)
        return entry[1] if entry is not None else None

    def settle(self) -> None:
        """Discard at once what waits for a step that will not run."""
        for key, (run, ahead) in list(self._waiting.items()):
            if run.status in TERMINAL or run.steps[key[1]].status != PENDING:
                del self._waiting[key]
                self._discard(ahead)

    async def drain(self) -> None:
        """Wait until everything discarded so far is gone."""
        while self._discarding:
            await asyncio.gather(*self._discarding, return_exceptions=True)

    async def close(self) -> None:
        """Discard everything and wait until it is gone."""
        for _, ahead in self._waiting.values():
            self._discard(ahead)
        self._waiting.clear()
        await self.drain()

    def _discard(self, ahead: Ahead) -> None:
        task = asyncio.get_running_loop().create_task(ahead.discard())
        self._discarding.add(task)
        task.add_done_callback(self._discarded)

    def _discarded(self, task: asyncio.Task[None]) -> None:
        self._discarding.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("Could not discard what was started ahead: %s", task.exception())

    def _memory_allows(self) -> bool:
        if self.min_free_mib <= 0:
            return True
        free = available_memory_mib()
        if free is not None and free < self.min_free_mib:
            self.log.debug("Not starting ahead: %.0f MiB available", free)
            return False
        return True


def nearest_descendants(run: RunState, uuid: str, most: int) -> Iterator[str]:
    """The pending descendants of ``uuid``, breadth-first (at most ``most`` steps looked at);
    in each generation, steps whose other parents all run or succeeded come first."""

    def blocked(step: str) -> bool:
        return any(run.steps[p].status not in (STARTED, SUCCESS) for p in run.steps[step].parents)

    seen = {uuid}
    generation = [uuid]
    while generation and len(seen) <= most:
        following = []
        for parent in generation:
            for child in run.children(parent):
                if child not in seen:
                    seen.add(child)
                    following.append(child)
        generation = following
        yield from sorted((s for s in generation if run.steps[s].status == PENDING), key=blocked)


def default_limit() -> int:
    """Kernels that may wait ready at once by default: one per CPU, at least four (a kernel
    forked from the template costs about 20 MiB of its own while it waits)."""
    return max(4, os.cpu_count() or 1)
