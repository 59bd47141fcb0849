"""The Docker engine restarts while docker and swarm runs are running (dockerd really stopped
and started; it runs last, see conftest): each started step ends with a clear reason, what
follows it is aborted, the runs end, nothing of theirs is left, and the server stays up."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from .docker_support import project_containers, project_services, require_swarm
from .engine_support import restart_dockerd
from .helpers import make_pipeline, wait_for_run

pytestmark = pytest.mark.restarts_engine
STEP_START_WAIT = 120.0
LEFTOVER_WAIT = 120.0


async def wait_step_started(api, run_id: str) -> None:
    """Wait until the run's first step runs (its log shows what it printed first)."""
    deadline = time.monotonic() + STEP_START_WAIT
    while True:
        code, run = await api("GET", "runs", run_id)
        assert code == 200, run
        assert run["status"] not in ("SUCCESS", "FAILURE", "ABORTED"), run
        step = run["steps"][0]["uuid"]
        code, log = await api("GET", "runs", run_id, "steps", step, "log")
        if code == 200 and "started" in log["text"]:
            return
        assert time.monotonic() < deadline, f"run {run_id} not started: {run}"
        await asyncio.sleep(0.2)


async def nothing_left(run_id: str) -> None:
    label = f"orchest_ext.run_id={run_id}"
    deadline = time.monotonic() + LEFTOVER_WAIT
    while True:
        left = await asyncio.to_thread(lambda: (project_containers(label), project_services(label)))
        if left == ([], []):
            return
        assert time.monotonic() < deadline, f"left behind by run {run_id}: {left}"
        await asyncio.sleep(0.5)


def check_ended(run: dict[str, Any], uuids: dict[str, str]) -> None:
    steps = {step["uuid"]: step for step in run["steps"]}
    first, child = steps[uuids["Long"]], steps[uuids["After"]]
    if first["status"] == "SUCCESS":
        assert run["status"] == "SUCCESS" and child["status"] == "SUCCESS", run
        return
    assert first["status"] == "FAILURE", first
    assert first["message"] and "docker" in first["message"].lower(), first
    assert child["status"] == "ABORTED", child
    assert run["status"] == "FAILURE", run


async def test_runs_end_with_a_reason_when_the_engine_restarts(api, jp_root_dir):
    require_swarm()
    _, uuids = make_pipeline(
        jp_root_dir / "p",
        {
            "Long": ("long.sh", "echo started\nsleep 25\n", []),
            "After": ("after.sh", "true\n", ["Long"]),
        },
    )
    runs = {}
    for backend in ("docker", "swarm"):
        code, run = await api(
            "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": backend}
        )
        assert code == 202, run
        runs[backend] = run["id"]
    for run_id in runs.values():
        await wait_step_started(api, run_id)

    await asyncio.to_thread(restart_dockerd)

    finished = {
        backend: await wait_for_run(api, run_id, timeout=300) for backend, run_id in runs.items()
    }
    for backend, run in finished.items():
        print(backend, [(s["status"], s["message"]) for s in run["steps"]])
    for run in finished.values():
        check_ended(run, uuids)
        await nothing_left(run["id"])
    code, backends = await api("GET", "backends")
    assert code == 200, backends
    code, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": "docker"}
    )
    assert code == 202, run
    assert (await wait_for_run(api, run["id"]))["status"] == "SUCCESS"
