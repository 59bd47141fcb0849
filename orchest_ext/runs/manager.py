"""RunManager: the facade the handlers and the CLI call. It wires the pure run state, the
journal, the scheduler and the executors together; each of those does one job."""

from __future__ import annotations

import asyncio
import json
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitlets import Float, Integer, Unicode, observe
from traitlets.config import LoggingConfigurable

from ..events import Emit
from ..executors.base import Executor
from ..infra.disk import StorageError
from ..notify import Notifier
from ..pipeline import Pipeline, select_steps
from ..store import Store
from .ahead import AheadPool, default_limit
from .cache import SOURCE_MISSING, StepCache
from .execute import execute_step, time_left
from .health import check_room, server_health
from .history import ran_pipeline
from .journal import Journal
from .outcome import record_outcome
from .owners import OwnedElsewhere, in_root, is_gone, owner_row
from .recovery import (
    Unfinished,
    load_unfinished,
    pending_steps,
    running_steps,
    settle_unrebuildable,
)
from .scheduler import Scheduler
from .secrets import SecretError, SecretStore
from .spec import (
    RunRequestError,
    build_spec,
    check_env,
    keep_attempt_log,
    make_step_dirs,
    resolve_parameter_overrides,
    run_dir,
    step_files,
)
from .state import (
    ABORTED,
    CACHE_MODES,
    FAILURE,
    FAILURE_POLICIES,
    PENDING,
    SUCCESS,
    TERMINAL,
    CacheDecision,
    RunState,
    StepState,
    Transition,
)
from .step_results import record_results

PRIVATE_STEP_FIELDS = ("run_id", "position", "handle", "cache_parts")
"""Step columns the API does not show."""


@dataclass
class _Active:
    """A run this process drives."""

    run: RunState
    done: asyncio.Event = field(default_factory=asyncio.Event)
    detached: bool = False
    """Left to a later server process (shutdown with a recoverable backend)."""


class RunManager(LoggingConfigurable):
    """Owns every active run: dispatches ready steps, at most ``max_parallel`` at a time overall."""

    max_parallel = Integer(1, min=1, help="Most steps running at once, across all runs.")
    step_timeout = Float(
        None, allow_none=True, help="Seconds a step may run before it fails (None: no limit)."
    )
    default_backend = Unicode("local", help="Backend of runs that do not name one.")
    step_retries = Integer(0, min=0, help="Retries of a failed step that sets none itself.")
    step_retry_delay = Float(0.0, min=0.0, help="Seconds before a retry, if the step sets none.")
    owner_lease = Float(
        30.0,
        min=0.1,
        help="Seconds without a heartbeat after which a server process on another host that "
        "shares the store counts as gone (on this host, as soon as its process has ended).",
    )
    kernels_ahead = Integer(
        default_limit(), min=0, help="Most kernels (containers) started ahead waiting at once."
    )
    ahead_min_free_memory = Float(
        512.0, help="MiB of available memory below which nothing is started ahead."
    )
    min_free_space = Integer(
        1 << 20,
        min=0,
        help="Bytes that must be free on the filesystems of the run database and of a new "
        "run's (or job's) directory to accept it: below it, POST runs and POST jobs answer "
        "507 naming the path, and GET health reports the server unhealthy.",
    ).tag(config=True)

    def __init__(
        self,
        store: Store,
        executors: dict[str, Executor],
        emit: Emit,
        root_dir: str | None = None,
        notifier: Notifier | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.executors = executors
        self.secrets = SecretStore()
        """Where ``{"secret": NAME}`` env values resolve (the app sets the configured one)."""
        self.root_dir = root_dir
        self.owner_id = uuidlib.uuid4().hex
        self._heartbeat: asyncio.Task[None] | None = None
        self._recovering = asyncio.Lock()
        self._stopping: set[asyncio.Future[None]] = set()
        """Aborts whose steps are still being stopped."""
        self.journal = Journal(store, emit, self.log, notifier)
        self.scheduler = Scheduler(self.max_parallel, self._run_step, self._step_task_ended)
        self.cache = StepCache(store, executors, self.log)
        self.ahead = AheadPool(executors, self.kernels_ahead, self.ahead_min_free_memory, self.log)
        self._runs: dict[str, _Active] = {}
        self._preparing: set[asyncio.Task[None]] = set()

    @observe("max_parallel")
    def _max_parallel_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "scheduler"):
            self.scheduler.max_parallel = change["new"]
            self.scheduler.pump()

    @observe("kernels_ahead", "ahead_min_free_memory")
    def _ahead_bounds_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "ahead"):
            self.ahead.limit = self.kernels_ahead
            self.ahead.min_free_mib = self.ahead_min_free_memory

    # -- what the handlers call ---------------------------------------------------------------

    async def submit(
        self,
        pipeline: Pipeline,
        run_type: str = "full",
        uuids: list[str] | tuple[str, ...] = (),
        inclusive: bool = False,
        env: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
        failure_policy: str = "continue",
        write_back: bool = False,
        backend: str | None = None,
        retries: int | None = None,
        retry_delay: float | None = None,
        cache: str = "off",
        job_id: str | None = None,
    ) -> RunState:
        """Store a new run with every step PENDING and start it; returns at once. A step's
        ``retries`` and ``retry_delay`` come from the pipeline file, else from these
        arguments, else from ``step_retries`` and ``step_retry_delay``. With ``cache`` use,
        steps whose key matches an earlier successful run reuse its result (see ``cache``)."""
        backend = backend or self.default_backend
        if cache not in CACHE_MODES:
            raise RunRequestError(f"Unknown cache {cache!r}; use one of {', '.join(CACHE_MODES)}.")
        for name, value in (("retries", retries), ("retry_delay", retry_delay)):
            if value is not None and (isinstance(value, bool) or value < 0):
                raise RunRequestError(f"{name} must be a number of at least 0, got {value!r}.")
        retries = self.step_retries if retries is None else retries
        retry_delay = self.step_retry_delay if retry_delay is None else retry_delay
        executor = self._executor(backend)
        if failure_policy not in FAILURE_POLICIES:
            raise RunRequestError(
                f"Unknown failure_policy {failure_policy!r}; "
                f"use one of {', '.join(FAILURE_POLICIES)}."
            )
        check_env(env or {})
        try:
            await asyncio.to_thread(self.secrets.check_refs, env or {})
        except SecretError as err:
            raise RunRequestError(f"{err}.") from None
        graph = select_steps(pipeline, run_type, uuids, inclusive)
        if not graph:
            raise RunRequestError(
                f"The {run_type!r} run of the selected steps has no steps to run"
                + (
                    " (set inclusive: true to run the selection itself)."
                    if run_type == "incoming"
                    else "."
                )
            )
        parameters = resolve_parameter_overrides(pipeline, parameters or {})
        await executor.check_available()
        run_id = str(uuidlib.uuid4())
        steps = {
            uuid: StepState(
                uuid=uuid,
                title=pipeline.steps[uuid].title,
                file_path=pipeline.steps[uuid].file_path,
                position=position,
                parents=[p for p in pipeline.steps[uuid].incoming_connections if p in graph],
                retries=_first(pipeline.steps[uuid].retries, retries),
                retry_delay=float(_first(pipeline.steps[uuid].retry_delay, retry_delay)),
            )
            for position, uuid in enumerate(graph)
        }
        run = RunState(
            id=run_id,
            pipeline=pipeline,
            run_type=run_type,
            uuids=list(uuids),
            inclusive=inclusive,
            backend=backend,
            failure_policy=failure_policy,
            parameters=parameters,
            env=env or {},
            write_back=write_back,
            run_dir=run_dir(pipeline, run_id),
            steps=steps,
            cache=cache,
            job_id=job_id,
            secrets=self.secrets,
        )
        await self.check_space(run.run_dir)
        await self.journal.insert(run, owner=self.owner_id)
        self._runs[run_id] = _Active(run)
        self._apply(run, run.announce())
        self._prepare(run)
        return run

    async def check_space(self, directory: str | Path) -> None:
        """``StorageError`` if the filesystem of ``directory`` or of the store has less than
        ``min_free_space`` bytes free."""
        await check_room(self.store, directory, self.min_free_space)

    async def health(self) -> dict[str, Any]:
        """Whether this server can run pipelines (see ``runs.health``)."""
        return await server_health(self.store, self.root_dir, self.min_free_space)

    async def get(self, run_id: str) -> dict[str, Any] | None:
        """The run with its steps, from memory while active, else from the store."""
        active = self._runs.get(run_id)
        if active is not None:
            run = active.run
            pipeline = ran_pipeline(run.pipeline.to_dict(), run.parameters)
            return {**run.to_dict(), "pipeline": pipeline}
        stored = await self.store.get_run(run_id, pipeline=True)
        if stored is None or not in_root(stored["pipeline_dir"], self.root_dir):
            return None
        return _public_run(stored)

    async def list(self, **filters: Any) -> tuple[list[dict[str, Any]], int]:
        """Stored runs of pipelines under the root dir, live state first (filters: see
        ``Store.list_runs``)."""
        runs, total = await self.store.list_runs(root_dir=self.root_dir, **filters)
        public = []
        for stored in runs:
            active = self._runs.get(stored["id"])
            public.append(active.run.to_dict(with_steps=False) if active else _public_run(stored))
        return public, total

    async def latest_by_path(self, pipeline_paths: list[str]) -> dict[str, dict[str, Any]]:
        """The newest run (without steps) of each pipeline file that has one, live state first."""
        latest = await self.store.latest_runs(pipeline_paths)
        return {
            path: (
                self._runs[stored["id"]].run.to_dict(with_steps=False)
                if stored["id"] in self._runs
                else _public_run(stored)
            )
            for path, stored in latest.items()
        }

    async def abort(self, run_id: str, wait: bool = True) -> dict[str, Any] | None:
        """Abort a run (idempotent): pending steps become ABORTED, running ones are killed;
        returns the run once they are, or with ``wait=False`` at once (the run ends ABORTED
        in the background). A run of another live server process sharing the store raises
        ``OwnedElsewhere``; one whose server is gone is recovered first."""
        active = self._runs.get(run_id) or await self._adopt_to_abort(run_id)
        if active is None:
            return await self.get(run_id)
        self._apply(active.run, active.run.stop("aborted by user", abort=True))
        stopped = asyncio.ensure_future(self._stopped(active))
        self._stopping.add(stopped)
        stopped.add_done_callback(self._stopping.discard)
        if wait:
            await asyncio.shield(stopped)
        return active.run.to_dict()

    async def _stopped(self, active: _Active) -> None:
        """Wait until an aborted run has ended and what was started ahead for it is gone."""
        await active.done.wait()
        await self.ahead.drain()

    async def _adopt_to_abort(self, run_id: str) -> _Active | None:
        """An unfinished stored run of this root that another process owned: recovered if
        that process is gone (then it is ours, or settled), else ``OwnedElsewhere``."""
        stored = await self.store.get_run(run_id)
        if (
            stored is None
            or stored["status"] in TERMINAL
            or not in_root(stored["pipeline_dir"], self.root_dir)
        ):
            return None
        owner = (await self.store.owners()).get(stored["owner"])
        if stored["owner"] != self.owner_id and not is_gone(owner, self.owner_lease):
            assert owner is not None
            raise OwnedElsewhere(f"Run {run_id}", owner)
        await self.recover()
        return self._runs.get(run_id)

    def is_active(self, run_id: str) -> bool:
        """Whether this process drives the run (it has not finished)."""
        return run_id in self._runs

    async def wait(self, run_id: str) -> RunState:
        """Wait until the run is finished (its last events may still be on their way: see
        ``flush``)."""
        active = self._runs[run_id]
        await active.done.wait()
        return active.run

    async def flush(self) -> None:
        """Wait until every change so far is stored and its event emitted."""
        await self.journal.drain()

    # -- restart and shutdown -----------------------------------------------------------------

    async def start(self, recover: bool = True) -> None:
        """Register this process as an owner of runs in the store and keep its heartbeat;
        with ``recover``, settle or resume the runs whose owner is gone, now and at every
        heartbeat (a server sharing the store may die while this one runs)."""
        await self.store.save_owner(owner_row(self.owner_id, self.root_dir))
        if recover:
            await self.recover()
        self._heartbeat = asyncio.get_running_loop().create_task(self._beat(recover))

    async def _beat(self, recover: bool) -> None:
        while True:
            await asyncio.sleep(self.owner_lease / 3)
            try:
                await self.store.heartbeat(self.owner_id, time.time())
                if recover:
                    await self.recover()
            except StorageError as err:
                self.log.warning("orchest_ext: heartbeat or recovery failed: %s", err)
            except Exception:
                self.log.exception("orchest_ext: heartbeat or recovery failed")

    async def recover(self) -> None:
        """Resume (recoverable backends) or fail the unfinished runs under the root dir whose
        owning server process is gone, once this process has claimed them."""
        async with self._recovering:
            owners = await self.store.owners()
            claimed = []
            for row in await self.store.unfinished_runs():
                if (
                    row["owner"] != self.owner_id
                    and in_root(row["pipeline_dir"], self.root_dir)
                    and is_gone(owners.get(row["owner"]), self.owner_lease)
                    and await self.store.claim_run(row["id"], row["owner"], self.owner_id)
                ):
                    claimed.append(row["id"])
            for item in await load_unfinished(self.store, claimed):
                await self._recover(item)

    async def _recover(self, item: Unfinished) -> None:
        run_id = item.stored["id"]
        try:
            if item.run is None:
                raise RuntimeError(item.error)
            item.run.secrets = self.secrets
            executor = self.executors.get(item.run.backend)
            if executor is not None and executor.recoverable:
                await executor.remove_unstarted(item.run.id, pending_steps(item.run))
                self._resume(item.run)
            else:
                await self._fail_orphaned(item.run, executor)
        except Exception as err:
            self.log.exception("Could not recover run %s", run_id)
            self._runs.pop(run_id, None)
            reason = item.error or f"{type(err).__name__}: {err}"
            self.journal.write(run_id, settle_unrebuildable(item.stored, reason))

    async def shutdown(self) -> None:
        """Stop driving runs. Runs of recoverable backends are detached: their steps keep
        running and the next server process adopts them. Other runs are stopped (their steps
        killed). Runs already stopping (an abort in flight) finish first, so their steps'
        clean-up (removing a container or service) is not skipped by the detach. Then every
        change is written and emitted, and this process stops owning runs: the next server
        process may adopt the detached ones at once."""
        self.scheduler.max_parallel = 0
        await asyncio.gather(
            *(active.done.wait() for active in self._runs.values() if active.run.stopping)
        )
        stopped: list[_Active] = []
        for active in list(self._runs.values()):
            executor = self.executors[active.run.backend]
            if executor.recoverable:
                active.detached = True
            else:
                stopped.append(active)
                self._apply(active.run, active.run.stop("the server shut down", abort=True))
        for executor in self.executors.values():
            if executor.recoverable:
                executor.detach()
        tasks = []
        for active in list(self._runs.values()):
            if active.detached:
                tasks.extend(self.scheduler.tasks(active.run))
                for task in self.scheduler.tasks(active.run):
                    task.cancel()
        await asyncio.gather(*tasks, *self._preparing, return_exceptions=True)
        for active in stopped:
            await active.done.wait()
        await asyncio.gather(*self._stopping, return_exceptions=True)
        await self.ahead.close()
        await self.journal.drain()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            await self.store.remove_owner(self.owner_id)

    # -- driving steps ------------------------------------------------------------------------

    def _executor(self, backend: str) -> Executor:
        try:
            return self.executors[backend]
        except KeyError:
            raise RunRequestError(
                f"Unknown backend {backend!r}; available: {', '.join(sorted(self.executors))}."
            ) from None

    def _apply(self, run: RunState, transition: Transition) -> None:
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
            active = self._runs.pop(run.id, None)
            if active is not None:
                active.done.set()

    async def _run_step(
        self, run: RunState, uuid: str, handle: dict[str, Any] | None = None
    ) -> None:
        """Run (or, with ``handle``, follow) one step and record how it ended. A failed
        attempt with retries left is followed by another in a fresh process, kernel or
        container (a timed-out attempt counts as failed); an aborted one never is."""
        step = run.steps[uuid]
        active = self._runs.get(run.id)
        if active is None:
            return
        if handle is None:
            if step.status != PENDING or run.status in TERMINAL:
                return
            if step.reuse is not None and await self._reuse(run, step):
                return
            ahead = self.ahead.take(run, uuid)
            self._apply(run, run.start_step(uuid))
            timeout = self.step_timeout
        else:
            ahead = None
            timeout = time_left(step.started_time, self.step_timeout)
        looked_ahead = handle is not None

        def on_handle(new_handle: dict[str, Any]) -> None:
            """Record the handle; once the step's process (kernel, container) started, start
            ahead for what follows it: not before, so the step itself starts first."""
            nonlocal looked_ahead
            self._apply(run, run.record_handle(uuid, new_handle))
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
                step_timeout=self.step_timeout,
                on_handle=on_handle,
                log=self.log,
                ahead=ahead,
            )
            ahead = None
            if active.detached:
                return
            if result.status != FAILURE or not step.can_retry(run):
                break
            await asyncio.to_thread(keep_attempt_log, spec.log_path, step.attempt)
            wait = f" in {step.retry_delay:g} s" if step.retry_delay else ""
            self._apply(
                run,
                run.retry_step(
                    uuid, f"attempt {step.attempt} failed: {result.message}; retry{wait}"
                ),
            )
            await asyncio.sleep(step.retry_delay)
            handle, timeout = None, self.step_timeout
        message = (run.message or "aborted") if result.status == ABORTED else result.message
        if result.status != ABORTED:
            await record_outcome(spec.step_dir, result.status, self.log)
        await record_results(self.store, run, uuid, spec.step_dir, self.log)
        self._apply(run, run.finish_step(uuid, result.status, message))
        self.scheduler.release(run, uuid)

    async def _reuse(self, run: RunState, step: StepState) -> bool:
        """A cache hit: link its earlier result and end it SUCCESS (True), or, if that result
        is gone by now, record that it runs (False). A cached step is never retried."""
        assert step.reuse is not None
        if await self.cache.reuse(run, step):
            step_dir = step_files(run.run_dir, step.uuid, step.file_path).step_dir
            await record_outcome(step_dir, SUCCESS, self.log)
            await record_results(self.store, run, step.uuid, step_dir, self.log)
            self._apply(run, run.reuse_step(step.uuid))
            self.scheduler.release(run, step.uuid)
            return True
        missing = CacheDecision(step.cache_key, SOURCE_MISSING, parts=step.cache_parts)
        self._apply(run, run.decide_cache({step.uuid: missing}))
        return False

    def _step_task_ended(self, run: RunState, uuid: str) -> None:
        """A task cancelled before it ever ran still ends its step."""
        active = self._runs.get(run.id)
        if active is not None and not active.detached and run.steps[uuid].status not in TERMINAL:
            self._apply(run, run.finish_step(uuid, ABORTED, run.message or "aborted"))

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
            self._apply(run, run.decide_cache(await self.cache.decide(run)))
            self._apply(run, run.begin())

    def _resume(self, run: RunState) -> None:
        """Follow the steps still running in the backend and continue the DAG (cache hits
        not acted on before the restart are decided again)."""
        self.log.info("Resuming run %s after a server restart", run.id)
        self._runs[run.id] = _Active(run)
        for step in running_steps(run):
            self.scheduler.follow(run, step.uuid, self._run_step(run, step.uuid, step.handle or {}))
        if any(step.undecided for step in run.steps.values()):
            self._prepare(run)
        else:
            self._apply(run, run.begin())

    async def _fail_orphaned(self, run: RunState, executor: Executor | None) -> None:
        """Fail a run of a dead server and kill what its steps left running."""
        for step in running_steps(run):
            if step.handle and executor is not None:
                await executor.cleanup_orphan(step.handle)
        self._runs[run.id] = _Active(run)
        self._apply(run, run.settle_orphaned())


def _first(*values: Any) -> Any:
    """The first value that is not None."""
    return next(value for value in values if value is not None)


def _public_run(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored run row as the API shows it."""
    run = {k: v for k, v in stored.items() if k not in ("pipeline_json", "owner")}
    if "steps" in run:
        run["steps"] = [
            {k: v for k, v in step.items() if k not in PRIVATE_STEP_FIELDS} for step in run["steps"]
        ]
    if stored.get("pipeline_json") is not None:
        run["pipeline"] = ran_pipeline(json.loads(stored["pipeline_json"]), stored["parameters"])
    return run
