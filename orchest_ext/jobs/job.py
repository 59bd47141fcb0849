"""A job as this process holds it: its stored row, settings and schedule, the checks a new
job's runs must pass, the job as the API and its webhook deliveries show it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..pipeline import Pipeline, select_steps
from ..runs import FAILURE_POLICIES, RunRequestError
from ..runs.spec import resolve_parameter_overrides
from .grid import combinations
from .request import JobRequestError, JobSettings
from .schedule import Schedule

ACTIVE, PAUSED, DONE, DELETED = "ACTIVE", "PAUSED", "DONE", "DELETED"


@dataclass
class Job:
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


def stored_job(row: dict[str, Any]) -> Job:
    """A job as stored (held here, it is not armed: whoever fires it arms it)."""
    spec = row["spec"]
    return Job(row, JobSettings(**spec["settings"]), Schedule.from_dict(spec["schedule"]))


def check_runs(pipeline: Pipeline, settings: JobSettings, backends: list[str]) -> None:
    """What would make every run of the job fail to start, as a field error."""
    options = settings.run_options
    backend = options.get("backend")
    if backend is not None and backend not in backends:
        raise JobRequestError("backend", f"unknown; available: {', '.join(sorted(backends))}")
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


def apply_update(job: Job, body: dict[str, Any], schedule: Schedule | None, now: datetime) -> str:
    """Change the job as a checked update ``body`` asks (``schedule``: its new schedule, if
    any); returns what happened to it: ``updated``, ``paused`` or ``resumed``."""
    for name in ("max_parallel", "overlap_policy", "missed_fire_policy", "max_retained_runs"):
        if name in body:
            setattr(job.settings, name, body[name])
    if "name" in body:
        job.row["name"] = body["name"]
    if schedule is not None:
        job.schedule = schedule
        job.row["next_fire_time"] = schedule.first_fire(now).isoformat()
        if job.row["status"] == DONE:
            job.row["status"] = ACTIVE
    if body.get("paused") is True and job.row["status"] != PAUSED:
        job.row["status"] = PAUSED
        return "paused"
    if body.get("paused") is False and job.row["status"] == PAUSED:
        job.row["status"] = ACTIVE
        if job.row["next_fire_time"] is not None and schedule is None:
            resumed = job.schedule.next_fire(now)
            if resumed is not None:
                job.row["next_fire_time"] = resumed.isoformat()
        return "resumed"
    return "updated"


def settle_status(job: Job) -> None:
    """A job with no fire to come and nothing queued or running is DONE."""
    if job.row["status"] == PAUSED:
        return
    idle = not job.fires and job.row["next_fire_time"] is None
    job.row["status"] = DONE if idle else ACTIVE


def public(job: Job) -> dict[str, Any]:
    """The job as the API shows it."""
    row, spec = job.row, job.row["spec"]
    return {
        "id": job.id,
        "name": row["name"],
        "status": row["status"],
        "message": row["message"],
        "schedule": job.schedule.to_dict(),
        "next_fire_time": next_fire_shown(row),
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


def next_fire_shown(row: dict[str, Any]) -> str | None:
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
