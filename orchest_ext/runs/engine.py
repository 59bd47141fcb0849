"""RunEngine: drives the runs this process owns. It applies each transition of the pure run
state (journal, scheduler, ahead-of-need pool) and runs each step's attempts on its
executor, following retries, cache hits, resumed steps and shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..executors.base import Executor, StepResult
from ..store import Store
from .ahead import AheadPool
from .cache import SOURCE_MISSING, StepCache
from .execute import execute_step, time_left
from .journal import Journal
from .outcome import record_outcome
from .recovery import running_steps
from .scheduler import Scheduler
from .spec import build_spec, keep_attempt_log, make_step_dirs, step_files
from .state import (
    ABORTED,
    FAILURE,
    PENDING,
    SUCCESS,
    TERMINAL,
    CacheDecision,
    RunState,
    StepState,
    Transition,
)
from .step_results import record_results


@dataclass
class Active:
    """A run this process drives."""

    run: RunState
    done: asyncio.Event = field(default_factory=asyncio.Event)
    detached: bool = False
    """Left to a later server process (shutdown with a recoverable backend)."""


class RunEngine:
    """The active runs of this process and the machinery that moves them forward."""

    def __init__(
        self,
        store: Store,
        journal: Journal,
        executors: dict[str, Executor],
        cache: StepCache,
        ahead: AheadPool,
        max_parallel: int,
        step_timeout: Callable[[], float | None],
        log: logging.Logger,
    ) -> None:
        self.store = store
        self.journal = journal
        self.executors = executors
        self.cache = cache
        self.ahead = ahead
        self.step_timeout = step_timeout
        """The current ``RunManager.step_timeout`` (a setting that may change)."""
        self.log = log
        self.scheduler = Scheduler(max_parallel, self.run_step, self._step_task_ended)
        self.active: dict[str, Active] = {}
        self._preparing: set[asyncio.Task[None]] = set()
        self._stopping: set[asyncio.Future[None]] = set()
        """Aborts whose steps are still being stopped."""

    # -- runs ---------------------------------------------------------------------------------

    def start(self, run: RunState) -> None:
        """Drive a new (stored) run: decide its steps' cache keys and hits, then begin it."""
        self.active[run.id] = Active(run)
        self.apply(run, run.announce())
        self._prepare(run)

    def resume(self, run: RunState) -> None:
        """Follow the steps still running in the backend and continue the DAG (cache hits
        not acted on before the restart are decided again)."""
        self.log.info("Resuming run %s after a server restart", run.id)
        self.active[run.id] = Active(run)
        for step in running_steps(run):
            self.scheduler.follow(run, step.uuid, self.run_step(run, step.uuid, step.handle or {}))
        if any(step.undecided for step in run.steps.values()):
            self._prepare(run)
        else:
            self.apply(run, run.begin())

    async def fail_orphaned(self, run: RunState, executor: Executor | None) -> None:
        """Fail a run of a dead server and kill what its steps left running."""
        for step in running_steps(run):
            if step.handle and executor is not None:
                await executor.cleanup_orphan(step.handle)
        self.active[run.id] = Active(run)
        self.apply(run, run.settle_orphaned())

    def abort(self, active: Active) -> asyncio.Future[None]:
        """Stop a run as aborted by its user: pending steps become ABORTED, running ones are
        killed; the future is done once they are and what was started ahead for it is gone."""
        self.apply(active.run, active.run.stop("aborted by user", abort=True))
        stopped = asyncio.ensure_future(self._stopped(active))
        self._stopping.add(stopped)
        stopped.add_done_callback(self._stopping.discard)
        return stopped

    async def _stopped(self, active: Active) -> None:
        """Wait until an aborted run has ended and what was started ahead for it is gone."""
        await active.done.wait()
        await self.ahead.drain()

    def apply(self, run: RunState, transition: Transition) -> None:
        """Record what a transition changed and act on it."""
        self.journal.record(run, transition.changes)
        if transition.cancel:
            self.scheduler.cancel(run, transition.cancel)
        if transition.ready:
            self.scheduler.enqueue(run, transition.ready)
            queued = [uuid for uuid in transition.ready if not self.scheduler.has_task(run, uuid)]
            self.ahead.consider(run, queued)
        self.ahead.settle()
        if transition.finished:
            active = self.active.pop(run.id, None)
            if active is not None:
                active.done.set()

    async def shutdown(self) -> None:
        """Stop driving runs: those of recoverable backends are detached (their steps keep
        running for the next server process), the others stopped. Runs already stopping
        (an abort in flight) finish first, so their steps' clean-up is not skipped."""
        self.scheduler.max_parallel = 0
        await asyncio.gather(
            *(active.done.wait() for active in self.active.values() if active.run.stopping)
        )
        stopped: list[Active] = []
        for active in list(self.active.values()):
            if self.executors[active.run.backend].recoverable:
                active.detached = True
            else:
                stopped.append(active)
                self.apply(active.run, active.run.stop("the server shut down", abort=True))
        for executor in self.executors.values():
            if executor.recoverable:
                executor.detach()
        tasks = []
        for active in list(self.active.values()):
            if active.detached:
                tasks.extend(self.scheduler.tasks(active.run))
                for task in self.scheduler.tasks(active.run):
                    task.cancel()
        await asyncio.gather(*tasks, *self._preparing, return_exceptions=True)
        for active in stopped:
            await active.done.wait()
        await asyncio.gather(*self._stopping, return_exceptions=True)
        await self.ahead.close()

    # -- steps --------------------------------------------------------------------------------

    async def run_step(
        self, run: RunState, uuid: str, handle: dict[str, Any] | None = None
    ) -> None:
        """Run (or, with ``handle``, follow) one step and record how it ended."""
        step = run.steps[uuid]
        active = self.active.get(run.id)
        if active is None:
            return
        if handle is None:
            if step.status != PENDING or run.status in TERMINAL:
                return
            if step.reuse is not None and await self._reuse(run, step):
                return
            ahead = self.ahead.take(run, uuid)
            self.apply(run, run.start_step(uuid))
            timeout = self.step_timeout()
        else:
            ahead = None
            timeout = time_left(step.started_time, self.step_timeout())
        result = await self._attempts(active, step, handle, timeout, ahead)
        if result is None:
            return
        message = (run.message or "aborted") if result.status == ABORTED else result.message
        step_dir = self._step_dir(run, step)
        if result.status != ABORTED:
            await record_outcome(step_dir, result.status, self.log)
        await record_results(self.store, run, uuid, step_dir, self.log)
        self.apply(run, run.finish_step(uuid, result.status, message))
        self.scheduler.release(run, uuid)

    async def _attempts(
        self,
        active: Active,
        step: StepState,
        handle: dict[str, Any] | None,
        timeout: float | None,
        ahead: Any,
    ) -> StepResult | None:
        """The step's attempts until one does not fail or no retry is left (a timed-out
        attempt counts as failed; an aborted one is never retried), each in a fresh process,
        kernel or container; None when the run was detached meanwhile."""
        run, uuid = active.run, step.uuid
        looked_ahead = handle is not None

        def on_handle(new_handle: dict[str, Any]) -> None:
            """Record the handle; once the step's process (kernel, container) started, start
            ahead for what follows it: not before, so the step itself starts first."""
            nonlocal looked_ahead
            self.apply(run, run.record_handle(uuid, new_handle))
            if not looked_ahead:
                looked_ahead = True
                self.ahead.step_started(run, uuid)

        while True:
            spec = build_spec(run, step)
            result = await execute_step(
                self.executors[run.backend],
                spec,
                handle=handle,
                timeout=timeout,
                step_timeout=self.step_timeout(),
                on_handle=on_handle,
                log=self.log,
                ahead=ahead,
            )
            ahead = None
            if active.detached:
                return None
            if result.status != FAILURE or not step.can_retry(run):
                return result
            await asyncio.to_thread(keep_attempt_log, spec.log_path, step.attempt)
            wait = f" in {step.retry_delay:g} s" if step.retry_delay else ""
            reason = f"attempt {step.attempt} failed: {result.message}; retry{wait}"
            self.apply(run, run.retry_step(uuid, reason))
            await asyncio.sleep(step.retry_delay)
            handle, timeout = None, self.step_timeout()

    async def _reuse(self, run: RunState, step: StepState) -> bool:
        """A cache hit: link its earlier result and end it SUCCESS (True), or, if that result
        is gone by now, record that it runs (False). A cached step is never retried."""
        assert step.reuse is not None
        if await self.cache.reuse(run, step):
            step_dir = self._step_dir(run, step)
            await record_outcome(step_dir, SUCCESS, self.log)
            await record_results(self.store, run, step.uuid, step_dir, self.log)
            self.apply(run, run.reuse_step(step.uuid))
            self.scheduler.release(run, step.uuid)
            return True
        missing = CacheDecision(step.cache_key, SOURCE_MISSING, parts=step.cache_parts)
        self.apply(run, run.decide_cache({step.uuid: missing}))
        return False

    @staticmethod
    def _step_dir(run: RunState, step: StepState) -> Path:
        return step_files(run.run_dir, step.uuid, step.file_path).step_dir

    def _step_task_ended(self, run: RunState, uuid: str) -> None:
        """A task cancelled before it ever ran still ends its step."""
        active = self.active.get(run.id)
        if active is not None and not active.detached and run.steps[uuid].status not in TERMINAL:
            self.apply(run, run.finish_step(uuid, ABORTED, run.message or "aborted"))

    def _prepare(self, run: RunState) -> None:
        """Create the step directories on a thread, then make the cache decisions of the run's
        steps and begin the run; a failure to create them is logged (executors still make
        sure their step's directory exists, and fail the step if they cannot)."""
        task = asyncio.get_running_loop().create_task(self._decide_and_begin(run))
        self._preparing.add(task)

        def prepared(task: asyncio.Task[None]) -> None:
            self._preparing.discard(task)
            if not task.cancelled() and task.exception() is not None:
                self.log.error(
                    "Could not create the step directories of run %s in %s: %s",
                    run.id,
                    run.run_dir,
                    task.exception(),
                )

        task.add_done_callback(prepared)

    async def _decide_and_begin(self, run: RunState) -> None:
        """Make the cache decisions of the run's undecided steps, then begin it."""
        try:
            await asyncio.to_thread(make_step_dirs, run)
        finally:
            self.apply(run, run.decide_cache(await self.cache.decide(run)))
            self.apply(run, run.begin())
