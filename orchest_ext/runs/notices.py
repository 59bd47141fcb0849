"""The webhook events a run's status change makes, with their data: run, job and pipeline,
status, times, and the failed steps with their messages."""

from __future__ import annotations

from typing import Any

from ..notify import Notifier
from .state import ABORTED, FAILURE, STARTED, SUCCESS, Change, RunState, StepState

RUN_EVENTS = {
    STARTED: "run.started",
    SUCCESS: "run.succeeded",
    FAILURE: "run.failed",
    ABORTED: "run.aborted",
}


def notify_change(notifier: Notifier, run: RunState, change: Change) -> None:
    """Queue the deliveries of one status change (with it, in the store's same batch)."""
    path = str(run.pipeline.path) if run.pipeline.path else None
    status = change.fields.get("status")
    if change.step is not None:
        if status == FAILURE:
            step = run.steps[change.step]
            notifier.enqueue(
                "step.failed",
                path,
                run.job_id,
                lambda: {**run_data(run, change, failed_steps=False), "step": step_data(step)},
            )
        return
    event = RUN_EVENTS.get(status)
    if event is None:
        return
    notifier.enqueue(event, path, run.job_id, lambda: run_data(run, change))
    if status == FAILURE and run.job_id is not None:
        notifier.enqueue("job.run_failed", path, run.job_id, lambda: run_data(run, change))


def run_data(run: RunState, change: Change, failed_steps: bool = True) -> dict[str, Any]:
    """What a delivery says about the run, as it was at the change (a step's event names
    its step, not every failed one)."""
    fields = change.fields if change.step is None else {}
    data = {
        "run_id": run.id,
        "job_id": run.job_id,
        "pipeline": {
            "uuid": run.pipeline.uuid,
            "name": run.pipeline.name,
            "path": str(run.pipeline.path) if run.pipeline.path else None,
        },
        "status": fields.get("status", run.status),
        "message": fields.get("message", run.message),
        "created_time": run.created_time,
        "started_time": fields.get("started_time", run.started_time),
        "finished_time": fields.get("finished_time", run.finished_time),
    }
    if failed_steps:
        data["failed_steps"] = [
            step_data(step) for step in run.steps.values() if step.status == FAILURE
        ]
    return data


def step_data(step: StepState) -> dict[str, Any]:
    return {
        "uuid": step.uuid,
        "title": step.title,
        "file_path": step.file_path,
        "status": step.status,
        "message": step.message,
        "attempt": step.attempt,
        "started_time": step.started_time,
        "finished_time": step.finished_time,
    }
