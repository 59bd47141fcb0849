"""JobManager: the facade the handlers call to create, show, change and delete jobs, and the
adoption of stored jobs whose server is gone. ``JobFiring`` (firing.py) fires them.

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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from traitlets import Enum, Integer
from traitlets.config import LoggingConfigurable

from ..events import Emit
from ..notify import Notifier
from ..pipeline import Pipeline
from ..runs import RunManager
from ..runs.owners import OwnedElsewhere, in_root, is_gone
from ..runs.secrets import SecretError
from ..store import Store
from .firing import Clock, JobFiring
from .grid import check_grid
from .job import ACTIVE, DELETED, Job, apply_update, check_runs, public, stored_job
from .request import (
    MISSED_FIRE_POLICIES,
    JobRequestError,
    JobSettings,
    check_update,
)
from .retention import remove_run_dirs
from .schedule import parse_schedule
from .snapshot import SnapshotError, job_dir, take_snapshot


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


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
        self._jobs: dict[str, Job] = {}
        self.firing = JobFiring(
            self._jobs, store, runs, emit, notifier, clock, lambda: self.max_retained_runs, self.log
        )
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
        check_runs(pipeline, settings, list(self.runs.executors))
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
        run_dir, run_path = await self._snapshot(pipeline, settings, directory)
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
        job = Job(row, settings, schedule)
        await self.store.save_job(row)
        self._jobs[job_id] = job
        self.firing.event(job, "created")
        self.firing.arm(job)
        return public(job)

    async def _snapshot(
        self, pipeline: Pipeline, settings: JobSettings, directory: Path
    ) -> tuple[Path, Path | None]:
        """The directory and file the job's runs run: a snapshot of the pipeline's files in
        the job's ``directory`` if the job takes one, else the pipeline itself."""
        if not settings.snapshot:
            return pipeline.directory, pipeline.path
        try:
            run_dir = await asyncio.to_thread(
                take_snapshot, pipeline, directory, self.snapshot_max_bytes
            )
        except SnapshotError as err:
            raise JobRequestError("snapshot", str(err)) from None
        if pipeline.path is None:
            return run_dir, None
        return run_dir, run_dir / pipeline.path.relative_to(pipeline.directory)

    async def list(self) -> list[dict[str, Any]]:
        """Every job under the root dir, oldest first: the ones this server fires as it
        holds them, those of other servers sharing the store as stored."""
        shown = []
        for row in await self.store.list_jobs():
            job = self._jobs.get(row["id"])
            if job is None and in_root(row["spec"]["source_dir"], self.runs.root_dir):
                job = stored_job(row)
            if job is not None:
                shown.append(public(job))
        return shown

    async def get(self, job_id: str, limit: int = 50, offset: int = 0) -> dict[str, Any] | None:
        """The job (fired here or by another server sharing the store) with a page of its
        runs, newest first (each with its fire time and parameters), and their total."""
        job = self._jobs.get(job_id)
        if job is None:
            row = await self.store.get_job(job_id)
            if row is None or not in_root(row["spec"]["source_dir"], self.runs.root_dir):
                return None
            job = stored_job(row)
        shown = public(job)  # before the runs: a run it counts active may end meanwhile
        runs, total = await self.runs.list(job_id=job_id, limit=limit, offset=offset)
        linked = {run["id"]: run for run in await self.store.job_runs(job_id)}
        for run in runs:
            run["fire_time"] = linked.get(run["id"], {}).get("fire_time")
            run["job_parameters"] = linked.get(run["id"], {}).get("parameters")
        return {**shown, "runs": runs, "total_runs": total}

    async def update(self, job_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Change a job's name, schedule, policies, or pause (``paused: true``) / resume it."""
        job = await self._owned(job_id)
        if job is None:
            return None
        check_update(body)
        now = self.clock()
        schedule = parse_schedule(body["schedule"], now) if "schedule" in body else None
        async with job.lock:
            action = apply_update(job, body, schedule, now)
            await self.firing.save(job, notice="job.paused" if action == "paused" else None)
        self.firing.event(job, action)
        self.firing.arm(job)
        self.firing.spawn(self.firing.pump(job))
        if "max_retained_runs" in body:
            self.firing.spawn(self.firing.retain(job))
        return public(job)

    async def delete(self, job_id: str, remove_runs: bool = False) -> dict[str, Any] | None:
        """Delete a job: abort its active runs, forget its queued ones; with ``remove_runs``
        also delete its runs (rows and directories) and its snapshot."""
        if await self._owned(job_id) is None:
            return None
        job = self._jobs.pop(job_id)
        self.firing.disarm(job)
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
        self.firing.event(job, "deleted", message=f"{len(active)} active run(s) aborted")
        return public(job)

    async def _owned(self, job_id: str) -> Job | None:
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
        job = stored_job(row)
        self._jobs[job.id] = job
        for fire in job.fires:
            fire["active"] = [run_id for run_id in fire["active"] if self.firing.watch(job, run_id)]
        due = row["next_fire_time"]
        if row["status"] == ACTIVE and due and datetime.fromisoformat(due) <= now:
            policy = job.settings.missed_fire_policy or self.missed_fire_policy
            if policy == "run_once":
                await self.firing.fire(job, datetime.fromisoformat(due))
            else:
                await self.firing.skip_missed(job, due, now)
        self.firing.arm(job)
        self.firing.spawn(self.firing.pump(job))
        self.firing.spawn(self.firing.retain(job))

    async def shutdown(self) -> None:
        """Stop the timers and wait for what is being written (runs keep their own course);
        other servers sharing the store adopt the jobs once this one's owner row is gone."""
        if self._adopter is not None:
            self._adopter.cancel()
            await asyncio.gather(self._adopter, return_exceptions=True)
        for job in self._jobs.values():
            self.firing.disarm(job)
        tasks = list(self.firing.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for job in self._jobs.values():
            await self.firing.save(job)
