"""RunManager: schedules pipeline runs on the IOLoop and drives their steps through executors."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid as uuidlib
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .events import RUN_STATUS, STEP_STATUS, Emit
from .executors.base import Executor, StepResult, StepSpec
from .pipeline import Pipeline, parse_pipeline, select_steps
from .store import Store

PENDING, STARTED, SUCCESS, FAILURE, ABORTED = "PENDING", "STARTED", "SUCCESS", "FAILURE", "ABORTED"
TERMINAL = frozenset({SUCCESS, FAILURE, ABORTED})
FAILURE_POLICIES = ("continue", "fail_fast")
RUNS_SUBDIR = Path(".orchest") / "runs"
PIPELINE_PARAMETERS = "pipeline_parameters"


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass(frozen=True)
class StepFiles:
    """Where a step's log and executed notebook live inside its run directory."""

    step_dir: Path
    log_path: Path
    notebook_path: Path


def step_files(run_dir: Path | str, step_uuid: str, file_path: str) -> StepFiles:
    step_dir = Path(run_dir) / "steps" / step_uuid
    return StepFiles(step_dir, step_dir / "step.log", step_dir / Path(file_path).name)


class RunRequestError(ValueError):
    """A run request that cannot be honoured as asked (maps to a 4xx)."""


def resolve_parameter_overrides(
    pipeline: Pipeline, overrides: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Orchest's run parameters: ``pipeline_parameters`` and step uuids (or unique titles)
    mapped to parameter objects; returned keyed by step uuid."""
    by_title: dict[str, list[str]] = {}
    for uuid, step in pipeline.steps.items():
        by_title.setdefault(step.title, []).append(uuid)
    resolved: dict[str, dict[str, Any]] = {}
    unknown = []
    for key, values in overrides.items():
        if not isinstance(values, dict):
            raise RunRequestError(f"parameters[{key!r}] must be an object of parameter values.")
        if key == PIPELINE_PARAMETERS or key in pipeline.steps:
            resolved[key] = values
        elif len(by_title.get(key, [])) == 1:
            resolved[by_title[key][0]] = values
        else:
            unknown.append(key)
    if unknown:
        raise RunRequestError(
            f"parameters name no step of the pipeline: {', '.join(map(repr, unknown))}; "
            f"use step uuids, unique step titles or {PIPELINE_PARAMETERS!r}."
        )
    return resolved


@dataclass
class StepState:
    uuid: str
    title: str
    file_path: str
    position: int
    parents: list[str]
    children: list[str] = field(default_factory=list)
    remaining_parents: int = 0
    status: str = PENDING
    message: str | None = None
    started_time: str | None = None
    finished_time: str | None = None
    handle: dict[str, Any] | None = None
    task: asyncio.Task | None = None
    holds_slot: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "title": self.title,
            "file_path": self.file_path,
            "parents": self.parents,
            "status": self.status,
            "message": self.message,
            "started_time": self.started_time,
            "finished_time": self.finished_time,
        }


@dataclass
class RunState:
    id: str
    pipeline: Pipeline
    run_type: str
    uuids: list[str]
    inclusive: bool
    backend: str
    failure_policy: str
    parameters: dict[str, Any]
    env: dict[str, str]
    write_back: bool
    run_dir: Path
    steps: dict[str, StepState]
    status: str = PENDING
    message: str | None = None
    seq: int = 0
    created_time: str = field(default_factory=now)
    started_time: str | None = None
    finished_time: str | None = None
    unfinished: int = 0
    abort_requested: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    prepared: asyncio.Task | None = None
    """Creates the step directories ahead of need, off the IOLoop (executors still make
    sure theirs exists)."""

    def to_dict(self, with_steps: bool = True) -> dict[str, Any]:
        data = {
            "id": self.id,
            "pipeline_uuid": self.pipeline.uuid,
            "pipeline_name": self.pipeline.name,
            "pipeline_path": str(self.pipeline.path) if self.pipeline.path else None,
            "pipeline_dir": str(self.pipeline.directory),
            "run_type": self.run_type,
            "uuids": self.uuids,
            "inclusive": self.inclusive,
            "backend": self.backend,
            "failure_policy": self.failure_policy,
            "parameters": self.parameters,
            "env": self.env,
            "write_back": self.write_back,
            "run_dir": str(self.run_dir),
            "status": self.status,
            "message": self.message,
            "seq": self.seq,
            "created_time": self.created_time,
            "started_time": self.started_time,
            "finished_time": self.finished_time,
        }
        if with_steps:
            data["steps"] = [step.to_dict() for step in self.steps.values()]
        return data


class RunManager:
    """Owns every active run: dispatches ready steps, at most ``max_parallel`` at a time overall."""

    def __init__(
        self,
        store: Store,
        executors: dict[str, Executor],
        emit: Emit,
        default_backend: str = "local",
        max_parallel: int = 1,
        step_timeout: float | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.executors = executors
        self.emit = emit
        self.default_backend = default_backend
        self.max_parallel = max_parallel
        self.step_timeout = step_timeout
        self.log = log or logging.getLogger(__name__)
        self._runs: dict[str, RunState] = {}
        self._ready: deque[tuple[RunState, StepState]] = deque()
        self._active = 0

    # -- public API ---------------------------------------------------------------------------

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
    ) -> RunState:
        """Store a new run with every step PENDING and start it; returns at once."""
        backend = backend or self.default_backend
        executor = self._executor(backend)
        if failure_policy not in FAILURE_POLICIES:
            raise RunRequestError(
                f"Unknown failure_policy {failure_policy!r}; "
                f"use one of {', '.join(FAILURE_POLICIES)}."
            )
        graph = select_steps(pipeline, run_type, uuids, inclusive)
        order = list(graph)
        if not order:
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
            )
            for position, uuid in enumerate(order)
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
            run_dir=pipeline.directory / RUNS_SUBDIR / run_id,
            steps=steps,
        )
        self._link(run)
        await self.store.insert_run(
            run.to_dict(with_steps=False),
            [self._step_row(s) for s in steps.values()],
            lambda: json.dumps(pipeline.to_dict()),
        )
        self._runs[run_id] = run
        run.prepared = asyncio.create_task(asyncio.to_thread(_make_step_dirs, run))
        self._emit_run(run)
        self._enqueue_ready(run, run.steps.values())
        self._pump()
        return run

    async def get(self, run_id: str) -> dict[str, Any] | None:
        """The run with its steps, from memory while active, else from the store."""
        run = self._runs.get(run_id)
        if run is not None:
            return run.to_dict()
        stored = await self.store.get_run(run_id)
        return _public_run(stored) if stored else None

    async def list(self, **filters: Any) -> tuple[list[dict[str, Any]], int]:
        runs, total = await self.store.list_runs(**filters)
        public = []
        for stored in runs:
            active = self._runs.get(stored["id"])
            public.append(active.to_dict(with_steps=False) if active else _public_run(stored))
        return public, total

    async def latest_by_path(self, pipeline_paths: list[str]) -> dict[str, dict[str, Any]]:
        """The newest run (without steps) of each pipeline file that has one, live state first."""
        latest = await self.store.latest_runs(pipeline_paths)
        return {
            path: (
                self._runs[stored["id"]].to_dict(with_steps=False)
                if stored["id"] in self._runs
                else _public_run(stored)
            )
            for path, stored in latest.items()
        }

    async def abort(self, run_id: str) -> dict[str, Any] | None:
        """Abort a run (idempotent): running steps are killed, pending ones become ABORTED."""
        run = self._runs.get(run_id)
        if run is None:
            return await self.get(run_id)
        if run.status not in TERMINAL:
            run.abort_requested = True
            self._stop(run, "aborted by user")
            await run.done.wait()
        return run.to_dict()

    async def wait(self, run_id: str) -> RunState:
        run = self._runs[run_id]
        await run.done.wait()
        return run

    async def recover(self) -> None:
        """Resume or fail the runs a previous server process left unfinished."""
        for run_id in await self.store.unfinished_run_ids():
            stored = await self.store.get_run(run_id)
            executor = self.executors.get(stored["backend"])
            try:
                if executor is not None and executor.recoverable:
                    self._resume(stored)
                else:
                    await self._fail_orphaned(stored, executor)
            except Exception as err:
                self.log.exception("Could not recover run %s", run_id)
                self._runs.pop(run_id, None)
                self._fail_unrecoverable(stored, f"{type(err).__name__}: {err}")
        self._pump()

    def _fail_unrecoverable(self, stored: dict[str, Any], reason: str) -> None:
        """Settle a stored run that cannot even be rebuilt, so it is not retried forever."""
        finished = now()
        for step in stored["steps"]:
            if step["status"] not in TERMINAL:
                status = FAILURE if step["status"] == STARTED else ABORTED
                self.store.update_step(
                    stored["id"], step["uuid"], {"status": status, "finished_time": finished}
                )
        self.store.update_run(
            stored["id"],
            {
                "status": FAILURE,
                "message": f"could not be recovered after a server restart: {reason}",
                "finished_time": finished,
            },
        )

    async def shutdown(self) -> None:
        """Stop every active run (their steps are killed) and flush the store."""
        runs = [run for run in self._runs.values() if run.status not in TERMINAL]
        for run in runs:
            self._stop(run, "the server shut down")
        for run in runs:
            await run.done.wait()
        await self.store.flush()

    # -- scheduling ---------------------------------------------------------------------------

    def _executor(self, backend: str) -> Executor:
        try:
            return self.executors[backend]
        except KeyError:
            raise RunRequestError(
                f"Unknown backend {backend!r}; available: {', '.join(sorted(self.executors))}."
            ) from None

    @staticmethod
    def _link(run: RunState) -> None:
        for step in run.steps.values():
            step.remaining_parents = sum(1 for p in step.parents if run.steps[p].status != SUCCESS)
            for parent in step.parents:
                run.steps[parent].children.append(step.uuid)
        run.unfinished = sum(1 for s in run.steps.values() if s.status not in TERMINAL)

    def _enqueue_ready(self, run: RunState, steps) -> None:
        for step in steps:
            if step.status == PENDING and step.remaining_parents == 0:
                self._ready.append((run, step))

    def _pump(self) -> None:
        while self._ready and self._active < self.max_parallel:
            run, step = self._ready.popleft()
            if step.status != PENDING or run.status in TERMINAL:
                continue
            self._start_task(run, step, self._execute(run, step))

    def _start_task(self, run: RunState, step: StepState, coro) -> None:
        self._active += 1
        step.holds_slot = True
        step.task = asyncio.get_running_loop().create_task(coro)
        step.task.add_done_callback(lambda _: self._task_done(run, step))

    def _task_done(self, run: RunState, step: StepState) -> None:
        """A task cancelled before it ever ran still ends its step and frees its slot."""
        if step.status not in TERMINAL:
            self._finish_step(run, step, ABORTED, run.message or "aborted")
        self._release_slot(step)

    def _release_slot(self, step: StepState) -> None:
        """Free the step's slot (once) and start what is ready."""
        if step.holds_slot:
            step.holds_slot = False
            self._active -= 1
            self._pump()

    async def _execute(self, run: RunState, step: StepState, handle: dict | None = None) -> None:
        """Run (or, with ``handle``, follow) one step and record how it ended."""
        if handle is None and step.status != PENDING:
            return
        executor = self.executors[run.backend]
        spec = self._spec(run, step)
        try:
            result = None if handle is None else await executor.reattach(spec, handle)
            if result is None:
                if handle is None:
                    self._mark_started(run, step)
                result = await asyncio.wait_for(
                    executor.run(spec, lambda h: self._record_handle(run, step, h)),
                    self.step_timeout,
                )
        except asyncio.TimeoutError:
            result = StepResult(FAILURE, f"timed out after {self.step_timeout:g} s")
        except asyncio.CancelledError:
            result = StepResult(ABORTED, run.message or "aborted")
        except Exception as err:
            self.log.exception("Step %s of run %s crashed", step.uuid, run.id)
            result = StepResult(FAILURE, f"{type(err).__name__}: {err}")
        self._finish_step(run, step, result.status, result.message)
        self._release_slot(step)

    def _mark_started(self, run: RunState, step: StepState) -> None:
        if run.status == PENDING:
            run.status, run.started_time = STARTED, now()
            self.store.update_run(run.id, {"status": STARTED, "started_time": run.started_time})
            self._emit_run(run)
        step.status, step.started_time = STARTED, now()
        self.store.update_step(
            run.id, step.uuid, {"status": STARTED, "started_time": step.started_time}
        )
        self._emit_step(run, step)

    def _record_handle(self, run: RunState, step: StepState, handle: dict[str, Any]) -> None:
        step.handle = handle
        self.store.update_step(run.id, step.uuid, {"handle": handle})

    def _finish_step(
        self, run: RunState, step: StepState, status: str, message: str | None
    ) -> None:
        if not self._set_terminal(run, step, status, message):
            return
        if status == SUCCESS:
            ready = []
            for child_uuid in step.children:
                child = run.steps[child_uuid]
                child.remaining_parents -= 1
                ready.append(child)
            if run.status not in TERMINAL and not run.abort_requested:
                self._enqueue_ready(run, ready)
        elif status == FAILURE:
            if run.failure_policy == "fail_fast":
                self._stop(run, f"stopped because step {step.title!r} failed")
            else:
                reason = f"not run because step {step.title!r} failed"
                for uuid in self._descendants(run, step):
                    self._set_terminal(run, run.steps[uuid], ABORTED, reason)
        self._maybe_finish_run(run)

    def _set_terminal(
        self, run: RunState, step: StepState, status: str, message: str | None
    ) -> bool:
        """Move a step to a terminal status once; returns False if it already was terminal."""
        if step.status in TERMINAL:
            return False
        step.status, step.message, step.finished_time = status, message, now()
        run.unfinished -= 1
        self.store.update_step(
            run.id,
            step.uuid,
            {"status": status, "message": message, "finished_time": step.finished_time},
        )
        self._emit_step(run, step)
        return True

    @staticmethod
    def _descendants(run: RunState, step: StepState) -> list[str]:
        seen: dict[str, None] = {}
        stack = list(step.children)
        while stack:
            uuid = stack.pop()
            if uuid not in seen:
                seen[uuid] = None
                stack.extend(run.steps[uuid].children)
        return list(seen)

    def _stop(self, run: RunState, reason: str) -> None:
        """Abort pending steps and cancel running ones; the run ends when they have stopped."""
        if run.message is None:
            run.message = reason
        for step in run.steps.values():
            if step.status == PENDING:
                self._set_terminal(run, step, ABORTED, reason)
            elif step.status == STARTED and step.task is not None:
                step.task.cancel()
        self._maybe_finish_run(run)

    def _maybe_finish_run(self, run: RunState) -> None:
        if run.unfinished > 0 or run.status in TERMINAL:
            return
        failed = [s.title for s in run.steps.values() if s.status == FAILURE]
        if run.abort_requested:
            status = ABORTED
        elif all(s.status == SUCCESS for s in run.steps.values()):
            status, run.message = SUCCESS, None
        else:
            status = FAILURE
            if failed and run.message is None:
                run.message = f"failed step(s): {', '.join(failed)}"
        if run.started_time is None:
            run.started_time = now()
        run.status, run.finished_time = status, now()
        self.store.update_run(
            run.id,
            {
                "status": status,
                "message": run.message,
                "started_time": run.started_time,
                "finished_time": run.finished_time,
            },
        )
        self._emit_run(run)
        run.done.set()
        self._runs.pop(run.id, None)

    # -- step specs ---------------------------------------------------------------------------

    def _spec(self, run: RunState, step: StepState) -> StepSpec:
        pipeline = run.pipeline
        model = pipeline.steps[step.uuid]
        files = step_files(run.run_dir, step.uuid, model.file_path)
        step_dir = files.step_dir
        step_parameters = {**model.parameters, **run.parameters.get(step.uuid, {})}
        pipeline_parameters = {
            **pipeline.parameters,
            **run.parameters.get(PIPELINE_PARAMETERS, {}),
        }
        parents = [
            {"uuid": parent, "in_run": parent in run.steps} for parent in model.incoming_connections
        ]
        internal = {
            "ORCHEST_RUN_UUID": run.id,
            "ORCHEST_STEP_UUID": step.uuid,
            "ORCHEST_PIPELINE_UUID": pipeline.uuid,
            "ORCHEST_PIPELINE_PATH": str(pipeline.path) if pipeline.path else "",
            "ORCHEST_PIPELINE_DIR": str(pipeline.directory),
            "ORCHEST_RUN_DIR": str(run.run_dir),
            "ORCHEST_STEP_DIR": str(step_dir),
            "ORCHEST_STEP_PARENTS": json.dumps(parents),
            "ORCHEST_STEP_PARAMETERS": json.dumps(step_parameters),
            "ORCHEST_PIPELINE_PARAMETERS": json.dumps(pipeline_parameters),
        }
        return StepSpec(
            run_id=run.id,
            step_uuid=step.uuid,
            pipeline_uuid=pipeline.uuid,
            title=step.title,
            file_path=model.file_path,
            kind=model.kind,
            pipeline_dir=pipeline.directory,
            pipeline_path=pipeline.path,
            step_dir=step_dir,
            log_path=files.log_path,
            output_notebook_path=files.notebook_path,
            env={**pipeline.env_variables, **model.env_variables, **run.env, **internal},
            parameters=step_parameters,
            pipeline_parameters=pipeline_parameters,
            kernel_name=(model.kernel or {}).get("name"),
            image=model.image,
            pipeline_image=pipeline.default_image,
            environment=model.environment,
            write_back=run.write_back,
        )

    # -- persistence and events ---------------------------------------------------------------

    @staticmethod
    def _step_row(step: StepState) -> dict[str, Any]:
        row = step.to_dict()
        row["position"] = step.position
        row["handle"] = step.handle
        return row

    def _emit_run(self, run: RunState) -> None:
        run.seq += 1
        self.store.update_run(run.id, {"seq": run.seq})
        self.emit(
            RUN_STATUS,
            {
                "run_id": run.id,
                "pipeline_uuid": run.pipeline.uuid,
                "status": run.status,
                "seq": run.seq,
                "message": run.message,
                "created_time": run.created_time,
                "started_time": run.started_time,
                "finished_time": run.finished_time,
            },
        )

    def _emit_step(self, run: RunState, step: StepState) -> None:
        run.seq += 1
        self.store.update_run(run.id, {"seq": run.seq})
        self.emit(
            STEP_STATUS,
            {
                "run_id": run.id,
                "pipeline_uuid": run.pipeline.uuid,
                "step_uuid": step.uuid,
                "title": step.title,
                "status": step.status,
                "seq": run.seq,
                "message": step.message,
                "started_time": step.started_time,
                "finished_time": step.finished_time,
            },
        )

    # -- restart recovery ---------------------------------------------------------------------

    def _restore(self, stored: dict[str, Any]) -> RunState:
        pipeline = parse_pipeline(
            stored["pipeline_json"],
            stored["pipeline_dir"],
            path=Path(stored["pipeline_path"]) if stored["pipeline_path"] else None,
            check_files=False,
        )
        steps = {
            row["uuid"]: StepState(
                uuid=row["uuid"],
                title=row["title"],
                file_path=row["file_path"],
                position=row["position"],
                parents=row["parents"],
                status=row["status"],
                message=row["message"],
                started_time=row["started_time"],
                finished_time=row["finished_time"],
                handle=row["handle"],
            )
            for row in stored["steps"]
        }
        run = RunState(
            id=stored["id"],
            pipeline=pipeline,
            run_type=stored["run_type"],
            uuids=stored["uuids"],
            inclusive=stored["inclusive"],
            backend=stored["backend"],
            failure_policy=stored["failure_policy"],
            parameters=stored["parameters"],
            env=stored["env"],
            write_back=stored["write_back"],
            run_dir=Path(stored["run_dir"]),
            steps=steps,
            status=stored["status"],
            message=stored["message"],
            seq=stored["seq"],
            created_time=stored["created_time"],
            started_time=stored["started_time"],
        )
        self._link(run)
        return run

    def _resume(self, stored: dict[str, Any]) -> None:
        """Follow the steps still running in the backend and continue the DAG."""
        run = self._restore(stored)
        self._runs[run.id] = run
        self.log.info("Resuming run %s after a server restart", run.id)
        for step in run.steps.values():
            if step.status == STARTED:
                self._start_task(run, step, self._execute(run, step, handle=step.handle or {}))
        self._enqueue_ready(run, run.steps.values())
        self._maybe_finish_run(run)

    async def _fail_orphaned(self, stored: dict[str, Any], executor: Executor | None) -> None:
        """Mark a run of a dead server FAILURE and kill what its steps left running."""
        run = self._restore(stored)
        self._runs[run.id] = run
        for step in run.steps.values():
            if step.status == STARTED and step.handle and executor is not None:
                await executor.cleanup_orphan(step.handle)
        run.message = "the server process running this run stopped before the run finished"
        for step in run.steps.values():
            if step.status == STARTED:
                self._set_terminal(run, step, FAILURE, "the server stopped while this step ran")
            elif step.status == PENDING:
                self._set_terminal(run, step, ABORTED, "the server stopped before this step ran")
        self._maybe_finish_run(run)


def _make_step_dirs(run: RunState) -> None:
    """Create every step directory of ``run``, in the order the steps will run."""
    for step in run.steps.values():
        step_files(run.run_dir, step.uuid, step.file_path).step_dir.mkdir(
            parents=True, exist_ok=True
        )


def _public_run(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored run row as the API shows it."""
    run = {k: v for k, v in stored.items() if k not in ("pipeline_json",)}
    if "steps" in run:
        run["steps"] = [
            {k: v for k, v in step.items() if k not in ("run_id", "position", "handle")}
            for step in run["steps"]
        ]
    return run
