"""Slots: a ready queue of steps and at most ``max_parallel`` step tasks at once, across runs.

The scheduler owns the step tasks (strong references until they end) and nothing else: what a
task does is the caller's ``run_step``. A step's slot goes to the next ready step as soon as
``release`` says the step is done, or else when its task ends (for whatever reason, after
which ``task_ended`` is called).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from .state import PENDING, TERMINAL, RunState

StepKey = tuple[str, str]
"""(run id, step uuid)"""


class Scheduler:
    """Dispatches ready steps in the order they became ready, ``max_parallel`` at a time."""

    def __init__(
        self,
        max_parallel: int,
        run_step: Callable[[RunState, str], Coroutine[Any, Any, None]],
        task_ended: Callable[[RunState, str], None],
    ) -> None:
        self.max_parallel = max_parallel
        self._run_step = run_step
        self._task_ended = task_ended
        self._ready: deque[tuple[RunState, str]] = deque()
        self._tasks: dict[StepKey, asyncio.Task[None]] = {}
        self._holding: set[StepKey] = set()

    def enqueue(self, run: RunState, uuids: Iterable[str]) -> None:
        """Queue steps that are ready and start as many as there are free slots."""
        self._ready.extend((run, uuid) for uuid in uuids)
        self.pump()

    def follow(self, run: RunState, uuid: str, coro: Coroutine[Any, Any, None]) -> None:
        """Start a task for a step that already runs (after a restart); it takes a slot even
        when none is free, since the step is running anyway."""
        self._start(run, uuid, coro)

    def cancel(self, run: RunState, uuids: Iterable[str]) -> None:
        """Cancel the tasks of these steps (they end their steps)."""
        for uuid in uuids:
            task = self._tasks.get((run.id, uuid))
            if task is not None:
                task.cancel()

    def tasks(self, run: RunState) -> list[asyncio.Task[None]]:
        """The tasks of ``run`` that have not ended."""
        return [task for (run_id, _), task in self._tasks.items() if run_id == run.id]

    def has_task(self, run: RunState, uuid: str) -> bool:
        """Whether the step has a task (it runs or is about to)."""
        return (run.id, uuid) in self._tasks

    def release(self, run: RunState, uuid: str) -> None:
        """The step no longer needs its slot (its task may still be finishing)."""
        key = (run.id, uuid)
        if key in self._holding:
            self._holding.discard(key)
            self.pump()

    def pump(self) -> None:
        while self._ready and len(self._holding) < self.max_parallel:
            run, uuid = self._ready.popleft()
            if run.steps[uuid].status != PENDING or run.status in TERMINAL:
                continue
            self._start(run, uuid, self._run_step(run, uuid))

    def _start(self, run: RunState, uuid: str, coro: Coroutine[Any, Any, None]) -> None:
        key = (run.id, uuid)
        self._holding.add(key)
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._ended(run, uuid))

    def _ended(self, run: RunState, uuid: str) -> None:
        del self._tasks[(run.id, uuid)]
        try:
            self._task_ended(run, uuid)
        finally:
            self.release(run, uuid)
