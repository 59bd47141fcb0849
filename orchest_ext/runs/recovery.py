"""Restart recovery: rebuild the runs a previous server process left unfinished, and settle
the ones that cannot be rebuilt. The manager resumes (recoverable backends) or fails them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..pipeline import parse_pipeline
from ..store import Store
from .state import ABORTED, FAILURE, PENDING, STARTED, TERMINAL, Change, RunState, StepState, now


@dataclass
class Unfinished:
    """A stored unfinished run, rebuilt (``run``) or not (``error`` says why)."""

    stored: dict[str, Any]
    run: RunState | None = None
    error: str | None = None


async def load_unfinished(store: Store, run_ids: list[str]) -> list[Unfinished]:
    """These stored unfinished runs, rebuilt off the IOLoop (parsing is blocking)."""
    found = []
    for run_id in run_ids:
        stored = await store.get_run(run_id)
        try:
            run = await asyncio.to_thread(restore, stored)
        except Exception as err:
            found.append(Unfinished(stored, error=f"{type(err).__name__}: {err}"))
        else:
            found.append(Unfinished(stored, run))
    return found


def restore(stored: dict[str, Any]) -> RunState:
    """The run state of a stored run (blocking: parses the pipeline)."""
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
            attempt=row["attempt"],
            retries=row["retries"],
            retry_delay=row["retry_delay"],
            cache_key=row["cache_key"],
            run_reason=row["run_reason"],
            cached=row["cached"],
            cached_from=row["cached_from"],
            cache_parts=row.get("cache_parts"),
            changed=row.get("changed"),
            changed_parents=row.get("changed_parents"),
            metrics=row.get("metrics") or {},
        )
        for row in stored["steps"]
    }
    return RunState(
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
        cache=stored["cache"],
        job_id=stored.get("job_id"),
        status=stored["status"],
        message=stored["message"],
        seq=stored["seq"],
        created_time=stored["created_time"],
        started_time=stored["started_time"],
    )


def running_steps(run: RunState) -> list[StepState]:
    """The steps the previous server had started and not seen end."""
    return [step for step in run.steps.values() if step.status == STARTED]


def pending_steps(run: RunState) -> list[str]:
    """The steps the previous server had not started (what it made ahead for them is left)."""
    return [step.uuid for step in run.steps.values() if step.status == PENDING]


def settle_unrebuildable(stored: dict[str, Any], reason: str) -> list[Change]:
    """The changes that end a stored run that cannot even be rebuilt, so it is not retried
    at every start."""
    finished = now()
    changes = [
        Change(
            {
                "status": FAILURE if step["status"] == STARTED else ABORTED,
                "finished_time": finished,
            },
            step["uuid"],
            emit=False,
        )
        for step in stored["steps"]
        if step["status"] not in TERMINAL
    ]
    changes.append(
        Change(
            {
                "status": FAILURE,
                "message": f"could not be recovered after a server restart: {reason}",
                "finished_time": finished,
            },
            emit=False,
        )
    )
    return changes
