"""Firing jobs: each job's timer on the IOLoop, its fires (queued per the overlap policy),
the runs it starts and follows to their end, retention, and its events and saves."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ..events import JOB_STATUS, Emit
from ..executors.base import ExecutorUnavailable
from ..notify import Notifier
from ..pipeline import Pipeline, PipelineError, load_pipeline, parse_pipeline
from ..runs import RunManager, RunRequestError
from ..store import Store
from .grid import combinations
from .job import ACTIVE, DELETED, DONE, Job, job_data, next_fire_shown, settle_status
from .retention import remove_run_dirs, runs_to_remove

MAX_TIMER_DELAY = 60.0
"""Longest sleep of a job's timer before it checks the clock again (clock changes)."""
Clock = Callable[[], datetime]


class JobFiring:
    """Fires the jobs of ``jobs`` (shared with the ``JobManager``) on their schedules."""

    def __init__(
        self,
        jobs: dict[str, Job],
        store: Store,
        runs: RunManager,
        emit: Emit,
        notifier: Notifier | None,
        clock: Clock,
        max_retained_runs: Callable[[], int | None],
        log: logging.Logger,
    ) -> None:
        self.jobs = jobs
        self.store = store
        self.runs = runs
        self.emit = emit
        self.notifier = notifier
        self.clock = clock
        self.max_retained_runs = max_retained_runs
        """The server's default of a job's ``max_retained_runs`` (a setting that may change)."""
        self.log = log
        self.tasks: set[asyncio.Task[None]] = set()

    def arm(self, job: Job) -> None:
        self.disarm(job)
        due = job.row["next_fire_time"]
        if job.row["status"] != ACTIVE or due is None:
            return
        delay = (datetime.fromisoformat(due) - self.clock()).total_seconds()
        job.timer = asyncio.get_running_loop().call_later(
            min(max(delay, 0.0), MAX_TIMER_DELAY), self._tick, job.id
        )

    def disarm(self, job: Job) -> None:
        if job.timer is not None:
            job.timer.cancel()
            job.timer = None

    def _tick(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            return
        job.timer = None
        due = job.row["next_fire_time"]
        if due is None or job.row["status"] != ACTIVE:
            return
        if datetime.fromisoformat(due) > self.clock():
            self.arm(job)
            return
        self.spawn(self._fire_and_arm(job, datetime.fromisoformat(due)))

    async def _fire_and_arm(self, job: Job, fire_time: datetime) -> None:
        await self.fire(job, fire_time)
        self.arm(job)
        await self.pump(job)

    async def fire(self, job: Job, fire_time: datetime) -> None:
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
            settle_status(job)
            await self.save(job)
        self.event(job, action, fire_time=stamp, message=message)

    async def skip_missed(self, job: Job, due: str, now: datetime) -> None:
        async with job.lock:
            following = job.schedule.next_fire(now)
            job.row["next_fire_time"] = following.isoformat() if following else None
            settle_status(job)
            await self.save(job)
        self.event(
            job, "skipped", fire_time=due, message="missed while the server was down (policy skip)"
        )

    async def pump(self, job: Job) -> None:
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
            settle_status(job)
            await self.save(job)

    async def _start_run(self, job: Job, fire: dict[str, Any]) -> None:
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
            self.event(job, "run_not_started", fire_time=fire["fire_time"], message=str(err))
            return
        fire["pending"].pop(0)
        fire["active"].append(run.id)
        await self.store.add_job_run(job.id, run.id, fire["fire_time"], overrides)
        self.event(job, "run_started", run_id=run.id, fire_time=fire["fire_time"])
        self.watch(job, run.id)

    def _load_pipeline(self, job: Job) -> Pipeline:
        """The pipeline a run of the job runs (blocking): its snapshot, or the live file."""
        path = Path(job.row["pipeline_path"]) if job.row["pipeline_path"] else None
        if path is not None and not job.settings.snapshot:
            return load_pipeline(path)
        return parse_pipeline(job.row["pipeline_json"], Path(job.row["pipeline_dir"]), path)

    def watch(self, job: Job, run_id: str) -> bool:
        """Follow an active run to its end; False if the run is not active."""
        if not self.runs.is_active(run_id):
            return False
        self.spawn(self._follow(job, run_id))
        return True

    async def _follow(self, job: Job, run_id: str) -> None:
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
        self.event(job, "run_finished", run_id=run_id, run_status=status)
        await self.retain(job)
        await self.pump(job)

    async def retain(self, job: Job) -> None:
        """Delete the oldest finished runs beyond the job's (or the server's) limit."""
        keep = job.settings.max_retained_runs
        if keep is None:
            keep = self.max_retained_runs()
        if keep is None or job.row["status"] == DELETED:
            return
        await self.runs.flush()
        doomed = runs_to_remove(await self.store.job_runs(job.id), keep, self.runs.is_active)
        if not doomed:
            return
        await self.store.delete_runs([run["id"] for run in doomed])
        await asyncio.to_thread(remove_run_dirs, [run["run_dir"] for run in doomed])
        self.event(job, "runs_removed", message=f"{len(doomed)} oldest finished run(s) removed")

    async def save(self, job: Job, notice: str | None = None) -> None:
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

    def spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)

        def ended(task: asyncio.Task[None]) -> None:
            self.tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                self.log.error("orchest_ext job task failed", exc_info=task.exception())

        task.add_done_callback(ended)

    def event(self, job: Job, action: str, **fields: Any) -> None:
        data = {
            "job_id": job.id,
            "action": action,
            "status": job.row["status"],
            "next_fire_time": next_fire_shown(job.row),
            **fields,
        }
        try:
            self.emit(JOB_STATUS, data)
        except Exception:
            self.log.exception("Could not emit job event %s", data)
