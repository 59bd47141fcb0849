"""JobManager: jobs' schedules on the IOLoop, their fires, runs, retention and events.

A job fires on its schedule (a timer on the IOLoop, no thread). A fire queues one run per
parameter combination; at most ``max_parallel`` runs of a fire run at once, and a new fire
while an earlier one is unfinished follows the job's ``overlap_policy``: ``allow`` (both
run), ``skip`` (the new fire is dropped) or ``queue`` (it waits for the earlier one). What is
queued is stored with the job, so a restart continues it.
"""

from __future__ import annotations

import asyncio
import json
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from traitlets import Enum, Integer
from traitlets.config import LoggingConfigurable

from ..events import JOB_STATUS, Emit
from ..executors.base import ExecutorUnavailable
from ..notify import Notifier
from ..pipeline import Pipeline, PipelineError, load_pipeline, parse_pipeline, select_steps
from ..runs import FAILURE_POLICIES, RunManager, RunRequestError
from ..runs.owners import OwnedElsewhere, in_root, is_gone
from ..runs.secrets import SecretError
from ..runs.spec import resolve_parameter_overrides
from ..store import Store
from .grid import check_grid, combinations
from .request import (
    MISSED_FIRE_POLICIES,
    JobRequestError,
    JobSettings,
    check_policies,
)
from .retention import remove_run_dirs, runs_to_remove
from .schedule import Schedule, parse_schedule
from .snapshot import SnapshotError, job_dir, take_snapshot

ACTIVE, PAUSED, DONE, DELETED = "ACTIVE", "PAUSED", "DONE", "DELETED"
MAX_TIMER_DELAY = 60.0
"""Longest sleep of a job's timer before it checks the clock again (clock changes)."""
UPDATABLE = (
    "name",
    "schedule",
    "paused",
    "max_parallel",
    "overlap_policy",
    "missed_fire_policy",
    "max_retained_runs",
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class _Job:
    """A job this process schedules: its stored row, settings and schedule."""

    row: dict[str, Any]
    settings: JobSettings
    schedule: Schedule
    timer: asyncio.TimerHandle | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def fires(self) -> list[dict[str, Any]]:
        """Unfinished fires: ``fire_time``, ``pending`` overrides, ``active`` run ids."""
        return self.row["fires"]


class JobManager(LoggingConfigurable):
    """Creates, schedules, updates and deletes jobs; the runs go through the RunManager."""

    max_runs = Integer(1000, min=1, help="Most runs one fire of a job (its grid) may make.")
    missed_fire_policy = Enum(
        MISSED_FIRE_POLICIES,
        default_value="run_once",
        help="Default for a fire missed while the server was down: run it once at start "
        "('run_once') or not ('skip').",
    )
    max_retained_runs = Integer(
        None,
        allow_none=True,
        min=1,
        help="Default of a job's max_retained_runs: finished runs kept per job, older ones "
        "deleted with their directories (None: keep all).",
    )

    snapshot_max_bytes = Integer(
        1 << 30, min=0, help="Most bytes of files a job's snapshot may copy."
    )

    def __init__(
        self,
        store: Store,
        runs: RunManager,
        emit: Emit,
        notifier: Notifier | None = None,
        clock: Clock = utc_now,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.runs = runs
        self.emit = emit
        self.notifier = notifier
        self.clock = clock
        self._jobs: dict[str, _Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._adopter: asyncio.Task[None] | None = None

    # -- what the handlers call ---------------------------------------------------------------

    async def create(
        self, pipeline: Pipeline, body: dict[str, Any], settings: JobSettings
    ) -> dict[str, Any]:
        """Check, snapshot, store and schedule a new job."""
        now = self.clock()
        schedule = parse_schedule(body.get("schedule"), now)
        if "parameter_grid" in body:
            settings.parameter_grid = check_grid(body["parameter_grid"], self.max_runs)
        self._check_runs(pipeline, settings)
        try:
            await asyncio.to_thread(
                self.runs.secrets.check_refs, settings.run_options.get("env") or {}
            )
        except SecretError as err:
            raise JobRequestError("env", str(err)) from None
        name = body.get("name") or pipeline.name
        if not isinstance(name, str):
            raise JobRequestError("name", "must be a string")
        job_id = str(uuidlib.uuid4())
        await self.runs.check_space(directory := job_dir(pipeline, job_id))
        run_dir, run_path = pipeline.directory, pipeline.path
        if settings.snapshot:
            try:
                run_dir = await asyncio.to_thread(
                    take_snapshot, pipeline, directory, self.snapshot_max_bytes
                )
            except SnapshotError as err:
                raise JobRequestError("snapshot", str(err)) from None
            if pipeline.path is not None:
                run_path = run_dir / pipeline.path.relative_to(pipeline.directory)
        stamp = now.isoformat()
        row = {
            "id": job_id,
            "name": name,
            "status": ACTIVE,
            "spec": {
                "settings": settings.to_dict(),
                "schedule": schedule.to_dict(),
                "source_path": str(pipeline.path) if pipeline.path else None,
                "source_dir": str(pipeline.directory),
            },
            "pipeline_uuid": pipeline.uuid,
            "pipeline_name": pipeline.name,
            "pipeline_json": json.dumps(pipeline.to_dict()),
            "pipeline_path": str(run_path) if run_path else None,
            "pipeline_dir": str(run_dir),
            "job_dir": str(directory),
            "fires": [],
            "next_fire_time": schedule.first_fire(now).isoformat(),
            "last_fire_time": None,
            "message": None,
            "created_time": stamp,
            "updated_time": stamp,
            "owner": self.runs.owner_id,
        }
        job = _Job(row, settings, schedule)
        await self.store.save_job(row)
        self._jobs[job_id] = job
        self._event(job, "created")
        self._arm(job)
        return self._public(job)

    async def list(self) -> list[dict[str, Any]]:
        """Every job under the root dir, oldest first: the ones this server fires as it
        holds them, those of other servers sharing the store as stored."""
        shown = []
        for row in await self.store.list_jobs():
            job = self._jobs.get(row["id"])
            if job is None and in_root(row["spec"]["source_dir"], self.runs.root_dir):
                job = _stored_job(row)
            if job is not None:
                shown.append(self._public(job))
        return shown

    async def get(self, job_id: str, limit: int = 50, offset: int = 0) -> dict[str, Any] | None:
        """The job (fired here or by another server sharing the store) with a page of its
        runs, newest first (each with its fire time and parameters), and their total."""
        job = self._jobs.get(job_id)
        if job is None:
            row = await self.store.get_job(job_id)
            if row is None or not in_root(row["spec"]["source_dir"], self.runs.root_dir):
                return None
            job = _stored_job(row)
        public = self._public(job)  # before the runs: a run it counts active may end meanwhile
        runs, total = await self.runs.list(job_id=job_id, limit=limit, offset=offset)
        linked = {run["id"]: run for run in await self.store.job_runs(job_id)}
        for run in runs:
            run["fire_time"] = linked.get(run["id"], {}).get("fire_time")
            run["job_parameters"] = linked.get(run["id"], {}).get("parameters")
        return {**public, "runs": runs, "total_runs": total}

    async def update(self, job_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Change a job's name, schedule, policies, or pause (``paused: true``) / resume it."""
        job = await self._owned(job_id)
        if job is None:
            return None
        unknown = sorted(set(body) - set(UPDATABLE))
        if unknown:
            raise JobRequestError(unknown[0], f"cannot be changed; change {', '.join(UPDATABLE)}")
        check_policies(body)
        if "paused" in body and not isinstance(body["paused"], bool):
            raise JobRequestError("paused", "must be true or false")
        if "name" in body and not (isinstance(body["name"], str) and body["name"]):
            raise JobRequestError("name", "must be a non-empty string")
        now = self.clock()
        schedule = parse_schedule(body["schedule"], now) if "schedule" in body else None
        async with job.lock:
            for name in ("max_parallel", "overlap_policy", "missed_fire_policy"):
                if name in body:
                    setattr(job.settings, name, body[name])
            if "max_retained_runs" in body:
                job.settings.max_retained_runs = body["max_retained_runs"]
            if "name" in body:
                job.row["name"] = body["name"]
            if schedule is not None:
                job.schedule = schedule
                job.row["next_fire_time"] = schedule.first_fire(now).isoformat()
                if job.row["status"] == DONE:
                    job.row["status"] = ACTIVE
            action = "updated"
            if body.get("paused") is True and job.row["status"] != PAUSED:
                job.row["status"], action = PAUSED, "paused"
            elif body.get("paused") is False and job.row["status"] == PAUSED:
                job.row["status"], action = ACTIVE, "resumed"
                if job.row["next_fire_time"] is not None and schedule is None:
                    resumed = job.schedule.next_fire(now)
                    if resumed is not None:
                        job.row["next_fire_time"] = resumed.isoformat()
            await self._save(job, notice="job.paused" if action == "paused" else None)
        self._event(job, action)
        self._arm(job)
        self._spawn(self._pump(job))
        if "max_retained_runs" in body:
            self._spawn(self._retain(job))
        return self._public(job)

    async def delete(self, job_id: str, remove_runs: bool = False) -> dict[str, Any] | None:
        """Delete a job: abort its active runs, forget its queued ones; with ``remove_runs``
        also delete its runs (rows and directories) and its snapshot."""
        if await self._owned(job_id) is None:
            return None
        job = self._jobs.pop(job_id)
        self._disarm(job)
        async with job.lock:
            job.row["status"] = DELETED
            active = [run_id for fire in job.fires for run_id in fire["active"]]
            job.fires.clear()
        await asyncio.gather(*(self.runs.abort(run_id) for run_id in active))
        linked = await self.store.job_runs(job_id)
        await self.store.delete_job(job_id)
        if remove_runs:
            await self.store.delete_runs([run["id"] for run in linked])
            await asyncio.to_thread(
                remove_run_dirs, [run["run_dir"] for run in linked] + [job.row["job_dir"]]
            )
        self._event(job, "deleted", message=f"{len(active)} active run(s) aborted")
        return self._public(job)

    async def _owned(self, job_id: str) -> _Job | None:
        """The job if this server fires it, adopted first if the server that fired it is
        gone; None if there is no such job under the root dir; ``OwnedElsewhere`` if another
        live server sharing the store fires it."""
        if job_id not in self._jobs:
            row = await self.store.get_job(job_id)
            if row is None or not in_root(row["spec"]["source_dir"], self.runs.root_dir):
                return None
            owner = (await self.store.owners()).get(row["owner"])
            if not is_gone(owner, self.runs.owner_lease):
                assert owner is not None
                raise OwnedElsewhere(f"Job {job_id}", owner, "change or delete it")
            await self.adopt()
        return self._jobs.get(job_id)

    # -- start and stop -----------------------------------------------------------------------

    async def start(self) -> None:
        """Adopt the stored jobs this server should fire, now and whenever the server that
        fired others is gone (checked every third of ``RunManager.owner_lease``)."""
        await self.adopt()
        self._adopter = asyncio.get_running_loop().create_task(self._adopt_periodically())

    async def adopt(self) -> None:
        """Take over the stored jobs under this server's root dir whose server process is
        gone (or that no server fires): settle the fires they missed, arm their timers and
        continue the runs they had queued. Of servers sharing the store, one fires a job."""
        owners = await self.store.owners()
        for row in await self.store.list_jobs():
            owner = row.get("owner")
            if row["id"] in self._jobs or not in_root(
                row["spec"]["source_dir"], self.runs.root_dir
            ):
                continue
            if owner != self.runs.owner_id:
                if not is_gone(owners.get(owner), self.runs.owner_lease):
                    continue
                if not await self.store.claim_job(row["id"], owner, self.runs.owner_id):
                    continue
                row["owner"] = self.runs.owner_id
            try:
                await self._restore(row)
            except Exception:
                self.log.exception("Could not restore job %s; it stays stored", row["id"])

    async def _adopt_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.runs.owner_lease / 3)
            try:
                await self.adopt()
            except Exception:
                self.log.exception("orchest_ext: adopting jobs failed")

    async def _restore(self, row: dict[str, Any]) -> None:
        now = self.clock()
        job = _stored_job(row)
        self._jobs[job.id] = job
        for fire in job.fires:
            fire["active"] = [run_id for run_id in fire["active"] if self._watch(job, run_id)]
        due = row["next_fire_time"]
        if row["status"] == ACTIVE and due and datetime.fromisoformat(due) <= now:
            policy = job.settings.missed_fire_policy or self.missed_fire_policy
            if policy == "run_once":
                await self._fire(job, datetime.fromisoformat(due))
            else:
                await self._skip_missed(job, due, now)
        self._arm(job)
        self._spawn(self._pump(job))
        self._spawn(self._retain(job))

    async def shutdown(self) -> None:
        """Stop the timers and wait for what is being written (runs keep their own course);
        other servers sharing the store adopt the jobs once this one's owner row is gone."""
        if self._adopter is not None:
            self._adopter.cancel()
            await asyncio.gather(self._adopter, return_exceptions=True)
        for job in self._jobs.values():
            self._disarm(job)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for job in self._jobs.values():
            await self._save(job)

    # -- firing ---------------------------------------------------------------------------------

    def _arm(self, job: _Job) -> None:
        self._disarm(job)
        due = job.row["next_fire_time"]
        if job.row["status"] != ACTIVE or due is None:
            return
        delay = (datetime.fromisoformat(due) - self.clock()).total_seconds()
        job.timer = asyncio.get_running_loop().call_later(
            min(max(delay, 0.0), MAX_TIMER_DELAY), self._tick, job.id
        )

    def _disarm(self, job: _Job) -> None:
        if job.timer is not None:
            job.timer.cancel()
            job.timer = None

    def _tick(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        job.timer = None
        due = job.row["next_fire_time"]
        if due is None or job.row["status"] != ACTIVE:
            return
        if datetime.fromisoformat(due) > self.clock():
            self._arm(job)
            return
        self._spawn(self._fire_and_arm(job, datetime.fromisoformat(due)))

    async def _fire_and_arm(self, job: _Job, fire_time: datetime) -> None:
        await self._fire(job, fire_time)
        self._arm(job)
        await self._pump(job)

    async def _fire(self, job: _Job, fire_time: datetime) -> None:
        """Queue the fire's runs (or skip it, as the overlap policy says) and schedule the
        next fire: the first one after now, so fires missed meanwhile are not made up."""
        async with job.lock:
            stamp = fire_time.isoformat()
            if job.row["status"] != ACTIVE or job.row["next_fire_time"] != stamp:
                return  # paused, or rescheduled since this fire was due
            following = job.schedule.next_fire(max(fire_time, self.clock()))
            job.row["last_fire_time"] = stamp
            job.row["next_fire_time"] = following.isoformat() if following else None
            busy = any(fire["pending"] or fire["active"] for fire in job.fires)
            if busy and job.settings.overlap_policy == "skip":
                action, message = "skipped", "the previous fire's runs have not finished"
            else:
                overrides = combinations(job.settings.parameter_grid, job.settings.parameters)
                job.fires.append({"fire_time": stamp, "pending": overrides, "active": []})
                action, message = "fired", f"{len(overrides)} run(s) queued"
            self._settle_status(job)
            await self._save(job)
        self._event(job, action, fire_time=stamp, message=message)

    async def _skip_missed(self, job: _Job, due: str, now: datetime) -> None:
        async with job.lock:
            following = job.schedule.next_fire(now)
            job.row["next_fire_time"] = following.isoformat() if following else None
            self._settle_status(job)
            await self._save(job)
        self._event(
            job, "skipped", fire_time=due, message="missed while the server was down (policy skip)"
        )

    async def _pump(self, job: _Job) -> None:
        """Start queued runs while the job's fires have room for them."""
        async with job.lock:
            if job.row["status"] not in (ACTIVE, DONE):
                return
            for fire in job.fires:
                while fire["pending"] and len(fire["active"]) < job.settings.max_parallel:
                    await self._start_run(job, fire)
                unfinished = fire["pending"] or fire["active"]
                if unfinished and job.settings.overlap_policy == "queue":
                    break  # later fires wait for this one
            job.fires[:] = [fire for fire in job.fires if fire["pending"] or fire["active"]]
            self._settle_status(job)
            await self._save(job)

    async def _start_run(self, job: _Job, fire: dict[str, Any]) -> None:
        """Start the fire's next queued run; it stays queued until it is active, so the job
        never looks idle while a run starts."""
        overrides = fire["pending"][0]
        try:
            pipeline = await asyncio.to_thread(self._load_pipeline, job)
            run = await self.runs.submit(
                pipeline, parameters=overrides, job_id=job.id, **job.settings.run_options
            )
        except (PipelineError, RunRequestError, ExecutorUnavailable, OSError, ValueError) as err:
            fire["pending"].pop(0)
            job.row["message"] = f"a run could not start: {err}"
            self._event(job, "run_not_started", fire_time=fire["fire_time"], message=str(err))
            return
        fire["pending"].pop(0)
        fire["active"].append(run.id)
        await self.store.add_job_run(job.id, run.id, fire["fire_time"], overrides)
        self._event(job, "run_started", run_id=run.id, fire_time=fire["fire_time"])
        self._watch(job, run.id)

    def _load_pipeline(self, job: _Job) -> Pipeline:
        """The pipeline a run of the job runs (blocking): its snapshot, or the live file."""
        path = Path(job.row["pipeline_path"]) if job.row["pipeline_path"] else None
        if path is not None and not job.settings.snapshot:
            return load_pipeline(path)
        return parse_pipeline(job.row["pipeline_json"], Path(job.row["pipeline_dir"]), path)

    def _watch(self, job: _Job, run_id: str) -> bool:
        """Follow an active run to its end; False if the run is not active."""
        if not self.runs.is_active(run_id):
            return False
        self._spawn(self._follow(job, run_id))
        return True

    async def _follow(self, job: _Job, run_id: str) -> None:
        if self.runs.is_active(run_id):
            status = (await self.runs.wait(run_id)).status
        else:
            status = ((await self.runs.get(run_id)) or {}).get("status")
        async with job.lock:
            for fire in job.fires:
                if run_id in fire["active"]:
                    fire["active"].remove(run_id)
        if job.row["status"] == DELETED:
            return
        self._event(job, "run_finished", run_id=run_id, run_status=status)
        await self._retain(job)
        await self._pump(job)

    async def _retain(self, job: _Job) -> None:
        """Delete the oldest finished runs beyond the job's (or the server's) limit."""
        keep = job.settings.max_retained_runs
        if keep is None:
            keep = self.max_retained_runs
        if keep is None or job.row["status"] == DELETED:
            return
        await self.runs.flush()
        doomed = runs_to_remove(await self.store.job_runs(job.id), keep, self.runs.is_active)
        if not doomed:
            return
        await self.store.delete_runs([run["id"] for run in doomed])
        await asyncio.to_thread(remove_run_dirs, [run["run_dir"] for run in doomed])
        self._event(job, "runs_removed", message=f"{len(doomed)} oldest finished run(s) removed")

    # -- helpers --------------------------------------------------------------------------------

    def _check_runs(self, pipeline: Pipeline, settings: JobSettings) -> None:
        """What would make every run of the job fail to start, as a field error."""
        options = settings.run_options
        backend = options.get("backend")
        if backend is not None and backend not in self.runs.executors:
            raise JobRequestError(
                "backend", f"unknown; available: {', '.join(sorted(self.runs.executors))}"
            )
        if options.get("failure_policy", "continue") not in FAILURE_POLICIES:
            raise JobRequestError("failure_policy", f"must be one of {', '.join(FAILURE_POLICIES)}")
        try:
            select_steps(
                pipeline,
                options.get("run_type", "full"),
                options.get("uuids", []),
                options.get("inclusive", False),
            )
        except ValueError as err:
            raise JobRequestError("uuids", str(err).rstrip(".")) from None
        try:
            resolve_parameter_overrides(pipeline, settings.parameters)
            resolve_parameter_overrides(pipeline, combinations(settings.parameter_grid, {})[0])
        except RunRequestError as err:
            name = "parameter_grid" if settings.parameter_grid else "parameters"
            raise JobRequestError(name, str(err).rstrip(".")) from None

    def _settle_status(self, job: _Job) -> None:
        """A job with no fire to come and nothing queued or running is DONE."""
        if job.row["status"] == PAUSED:
            return
        idle = not job.fires and job.row["next_fire_time"] is None
        job.row["status"] = DONE if idle else ACTIVE

    async def _save(self, job: _Job, notice: str | None = None) -> None:
        """Store the job; with the webhook deliveries of ``notice`` (an event of the job,
        such as ``job.paused``) in the same transaction."""
        if job.row["status"] == DELETED:
            return
        job.row["spec"]["settings"] = job.settings.to_dict()
        job.row["spec"]["schedule"] = job.schedule.to_dict()
        job.row["updated_time"] = self.clock().isoformat()
        outbox = []
        if notice is not None and self.notifier is not None:
            outbox = self.notifier.outbox_rows(
                notice, job.row["pipeline_path"], job.id, lambda: job_data(job.row)
            )
        await self.store.save_job(job.row, outbox)
        if outbox:
            self.notifier.wake()

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def ended(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                self.log.error("orchest_ext job task failed", exc_info=task.exception())

        task.add_done_callback(ended)

    def _event(self, job: _Job, action: str, **fields: Any) -> None:
        data = {
            "job_id": job.id,
            "action": action,
            "status": job.row["status"],
            "next_fire_time": _next_fire_shown(job.row),
            **fields,
        }
        try:
            self.emit(JOB_STATUS, data)
        except Exception:
            self.log.exception("Could not emit job event %s", data)

    def _public(self, job: _Job) -> dict[str, Any]:
        """The job as the API shows it."""
        row, spec = job.row, job.row["spec"]
        return {
            "id": job.id,
            "name": row["name"],
            "status": row["status"],
            "message": row["message"],
            "schedule": job.schedule.to_dict(),
            "next_fire_time": _next_fire_shown(row),
            "last_fire_time": row["last_fire_time"],
            "pipeline_uuid": row["pipeline_uuid"],
            "pipeline_name": row["pipeline_name"],
            "pipeline_path": spec["source_path"],
            "pipeline_dir": spec["source_dir"],
            "snapshot_dir": row["pipeline_dir"] if job.settings.snapshot else None,
            "job_dir": row["job_dir"],
            **{k: v for k, v in job.settings.to_dict().items() if k != "run_options"},
            **job.settings.run_options,
            "queued_runs": sum(len(fire["pending"]) for fire in job.fires),
            "active_runs": sum(len(fire["active"]) for fire in job.fires),
            "created_time": row["created_time"],
            "updated_time": row["updated_time"],
        }


def _stored_job(row: dict[str, Any]) -> _Job:
    """A job as stored (held here, it is not armed: whoever fires it arms it)."""
    spec = row["spec"]
    return _Job(row, JobSettings(**spec["settings"]), Schedule.from_dict(spec["schedule"]))


def _next_fire_shown(row: dict[str, Any]) -> str | None:
    """The next fire a job will make: none while it is paused (the stored one is kept)."""
    return None if row["status"] == PAUSED else row["next_fire_time"]


def job_data(row: dict[str, Any]) -> dict[str, Any]:
    """What a delivery of a job's event says about the job."""
    return {
        "job_id": row["id"],
        "job_name": row["name"],
        "pipeline": {
            "uuid": row["pipeline_uuid"],
            "name": row["pipeline_name"],
            "path": row["pipeline_path"],
        },
        "status": row["status"],
        "time": row["updated_time"],
    }
