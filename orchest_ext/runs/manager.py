"""RunManager: the facade the handlers and the CLI call. It checks and stores new runs, shows
runs live or stored, and owns this server process's share of the store (heartbeat, recovery,
shutdown); the ``RunEngine`` drives the runs, the pure run state, journal, scheduler and
executors each do one job."""

from __future__ import annotations

import asyncio
import json
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

from traitlets import Float, Integer, Unicode, observe
from traitlets.config import LoggingConfigurable

from ..events import Emit
from ..executors.base import Executor
from ..infra.disk import StorageError
from ..notify import Notifier
from ..pipeline import Pipeline
from ..store import Store
from .ahead import AheadPool, default_limit
from .cache import StepCache
from .engine import Active, RunEngine
from .health import check_room, server_health
from .history import ran_pipeline
from .journal import Journal
from .new_run import RunOptions, new_run
from .owners import OwnedElsewhere, in_root, is_gone, owner_row
from .recovery import Unfinished, load_unfinished, pending_steps, settle_unrebuildable
from .secrets import SecretError, SecretStore
from .spec import RunRequestError
from .state import TERMINAL, RunState

PRIVATE_STEP_FIELDS = ("run_id", "position", "handle", "cache_parts")
"""Step columns the API does not show."""


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
        self.journal = Journal(store, emit, self.log, notifier)
        self.ahead = AheadPool(executors, self.kernels_ahead, self.ahead_min_free_memory, self.log)
        self.engine = RunEngine(
            store,
            self.journal,
            executors,
            StepCache(store, executors, self.log),
            self.ahead,
            self.max_parallel,
            lambda: self.step_timeout,
            self.log,
        )

    @observe("max_parallel")
    def _max_parallel_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "engine"):
            self.engine.scheduler.max_parallel = change["new"]
            self.engine.scheduler.pump()

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
        options = RunOptions(
            run_type=run_type,
            uuids=tuple(uuids),
            inclusive=inclusive,
            env=env,
            parameters=parameters,
            failure_policy=failure_policy,
            write_back=write_back,
            backend=backend or self.default_backend,
            retries=retries,
            retry_delay=retry_delay,
            cache=cache,
            job_id=job_id,
        )
        options.check(self.executors)
        try:
            await asyncio.to_thread(self.secrets.check_refs, env or {})
        except SecretError as err:
            raise RunRequestError(f"{err}.") from None
        run = new_run(pipeline, options, self.step_retries, self.step_retry_delay)
        run.secrets = self.secrets
        await self.executors[options.backend].check_available()
        await self.check_space(run.run_dir)
        await self.journal.insert(run, owner=self.owner_id)
        self.engine.start(run)
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
        active = self.engine.active.get(run_id)
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
            active = self.engine.active.get(stored["id"])
            public.append(active.run.to_dict(with_steps=False) if active else _public_run(stored))
        return public, total

    async def latest_by_path(self, pipeline_paths: list[str]) -> dict[str, dict[str, Any]]:
        """The newest run (without steps) of each pipeline file that has one, live state first."""
        latest = await self.store.latest_runs(pipeline_paths)
        return {
            path: (
                self.engine.active[stored["id"]].run.to_dict(with_steps=False)
                if stored["id"] in self.engine.active
                else _public_run(stored)
            )
            for path, stored in latest.items()
        }

    async def abort(self, run_id: str, wait: bool = True) -> dict[str, Any] | None:
        """Abort a run (idempotent): pending steps become ABORTED, running ones are killed;
        returns the run once they are, or with ``wait=False`` at once (the run ends ABORTED
        in the background). A run of another live server process sharing the store raises
        ``OwnedElsewhere``; one whose server is gone is recovered first."""
        active = self.engine.active.get(run_id) or await self._adopt_to_abort(run_id)
        if active is None:
            return await self.get(run_id)
        stopped = self.engine.abort(active)
        if wait:
            await asyncio.shield(stopped)
        return active.run.to_dict()

    async def _adopt_to_abort(self, run_id: str) -> Active | None:
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
        return self.engine.active.get(run_id)

    def is_active(self, run_id: str) -> bool:
        """Whether this process drives the run (it has not finished)."""
        return run_id in self.engine.active

    async def wait(self, run_id: str) -> RunState:
        """Wait until the run is finished (its last events may still be on their way: see
        ``flush``)."""
        active = self.engine.active[run_id]
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
                self.engine.resume(item.run)
            else:
                await self.engine.fail_orphaned(item.run, executor)
        except Exception as err:
            self.log.exception("Could not recover run %s", run_id)
            self.engine.active.pop(run_id, None)
            reason = item.error or f"{type(err).__name__}: {err}"
            self.journal.write(run_id, settle_unrebuildable(item.stored, reason))

    async def shutdown(self) -> None:
        """Stop driving runs (see ``RunEngine.shutdown``: runs of recoverable backends are
        detached, the others stopped once the aborts in flight are done), then write and emit
        every change and stop owning runs: the next server process may adopt the detached
        ones at once."""
        await self.engine.shutdown()
        await self.journal.drain()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            await self.store.remove_owner(self.owner_id)


ENV_VALUE_GONE = "***"
"""What an env value of an ended run reads as (the store no longer has it)."""


def _public_run(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored run row as the API shows it."""
    run = {k: v for k, v in stored.items() if k not in ("pipeline_json", "owner")}
    # the store keeps env values only while a run is unfinished: an ended run's read as masked
    run["env"] = {name: ENV_VALUE_GONE if v is None else v for name, v in run["env"].items()}
    if "steps" in run:
        run["steps"] = [
            {k: v for k, v in step.items() if k not in PRIVATE_STEP_FIELDS} for step in run["steps"]
        ]
    if stored.get("pipeline_json") is not None:
        run["pipeline"] = ran_pipeline(json.loads(stored["pipeline_json"]), stored["parameters"])
    return run
