"""Orchest environments built on demand by the runs that need them (docker backend): one
build shared by concurrent runs, its output at the head of their steps' logs."""

from __future__ import annotations

import asyncio
import json
import time
import uuid as uuidlib
from pathlib import Path

import pytest

from orchest_ext.events import ENVIRONMENT_BUILD, STEP_STATUS

from .docker_support import require_image
from .helpers import make_pipeline, wait_for_run
from .test_cli import orchest
from .test_environments import cleanup_images, write_environment, write_wheel  # noqa: F401

pytestmark = pytest.mark.docker


async def test_concurrent_runs_share_one_build_shown_in_their_logs(
    api,
    jp_root_dir,
    cleanup_images,  # noqa: F811
):
    require_image()
    project = jp_root_dir / "project"
    write_wheel(project / "wheels", "probe_on_demand", "from the wheel")
    env_uuid = write_environment(
        project, "probe", "set -e\npip install --no-index wheels/*.whl\necho installed-probe\n"
    )
    cleanup_images.append(env_uuid)
    pipeline_file, uuids = make_pipeline(
        project,
        {"Use": ("use.py", "import probe_on_demand\nprint(probe_on_demand.VALUE)\n", [])},
    )
    data = json.loads(pipeline_file.read_text())
    data["steps"][uuids["Use"]]["environment"] = env_uuid
    pipeline_file.write_text(json.dumps(data))
    body = {"pipeline_path": "project/pipeline.orchest", "backend": "docker"}

    started = [(await api("POST", "runs", body=body))[1] for _ in range(2)]
    runs = await asyncio.gather(*(wait_for_run(api, run["id"], timeout=300) for run in started))

    logs = []
    for run in runs:
        assert run["status"] == "SUCCESS", run
        _, log = await api("GET", "runs", run["id"], "steps", uuids["Use"], "log")
        logs.append(log["text"])
    heads = sorted(log.split(":", 1)[0] for log in logs)
    assert heads == [
        f"Building the image of environment 'probe' ({env_uuid})",
        f"Waiting for the image of environment 'probe' ({env_uuid}), built for another step",
    ], logs
    for log in logs:
        assert "installed-probe" in log
        assert log.endswith("Environment 'probe' is built.\nfrom the wheel\n"), log


async def next_events(ws, run_id: str, until, timeout: float = 300) -> list[dict]:
    """The run's step_status and environment_build events, in order, up to ``until(event)``."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while not seen or not until(seen[-1]):
        message = await asyncio.wait_for(ws.read_message(), deadline - time.monotonic())
        assert message is not None, "the events websocket closed"
        event = json.loads(message)
        if event.get("run_id") == run_id and event["schema_id"] in (STEP_STATUS, ENVIRONMENT_BUILD):
            seen.append(event)
    return seen


def one_step_project(project: Path, setup_script: str) -> tuple[str, str]:
    """A project whose one script step uses a new environment; its uuid and the step's."""
    env_uuid = write_environment(project, "tiny", setup_script)
    pipeline_file, uuids = make_pipeline(project, {"Env": ("env.sh", "echo ran\n", [])})
    data = json.loads(pipeline_file.read_text())
    data["steps"][uuids["Env"]]["environment"] = env_uuid
    pipeline_file.write_text(json.dumps(data))
    return env_uuid, uuids["Env"]


def shown(events: list[dict]) -> list[tuple[str, str]]:
    return [(event["schema_id"].split("/")[-2], event["status"]) for event in events]


async def test_a_step_waiting_for_its_environment_build_is_building_on_the_event_bus(
    api,
    jp_ws_fetch,
    jp_root_dir,
    cleanup_images,  # noqa: F811
):
    require_image()
    ws = await jp_ws_fetch("api", "events", "subscribe")
    env_uuid, step = one_step_project(jp_root_dir / "project", f"echo {uuidlib.uuid4().hex}\n")
    cleanup_images.append(env_uuid)
    body = {"pipeline_path": "project/pipeline.orchest", "backend": "docker"}
    code, run = await api("POST", "runs", body=body)
    assert code == 202, run

    events = await next_events(ws, run["id"], lambda e: e["status"] in ("SUCCESS", "FAILURE"))
    # The step's STARTED event is emitted once stored, so BUILDING may come first.
    assert sorted(shown(events)[:2]) == [
        ("environment_build", "BUILDING"),
        ("step_status", "STARTED"),
    ], shown(events)
    assert shown(events)[2:] == [("environment_build", "BUILT"), ("step_status", "SUCCESS")]
    (building,) = (
        e for e in events if e["schema_id"] == ENVIRONMENT_BUILD and e["status"] == "BUILDING"
    )
    assert building["step_uuid"] == step and building["environment_uuid"] == env_uuid
    assert building["environment"] == "tiny"
    assert building["image"].startswith(f"orchest-ext/environment-{env_uuid}:")
    ws.close()


async def test_a_failing_build_is_failed_on_the_event_bus_and_fails_the_step(
    api,
    jp_ws_fetch,
    jp_root_dir,
    cleanup_images,  # noqa: F811
):
    require_image()
    ws = await jp_ws_fetch("api", "events", "subscribe")
    env_uuid, step = one_step_project(jp_root_dir / "project", "echo no-such-luck\nexit 3\n")
    cleanup_images.append(env_uuid)
    body = {"pipeline_path": "project/pipeline.orchest", "backend": "docker"}
    code, run = await api("POST", "runs", body=body)
    assert code == 202, run

    events = await next_events(ws, run["id"], lambda e: e["status"] in ("SUCCESS", "FAILURE"))
    assert shown(events)[-2:] == [("environment_build", "FAILED"), ("step_status", "FAILURE")]
    assert "Building environment 'tiny'" in events[-2]["message"]
    assert events[-1]["step_uuid"] == step and events[-1]["message"]
    ws.close()


def test_jupyter_orchest_run_shows_a_step_building_its_environment(
    tmp_path: Path,
    cleanup_images,  # noqa: F811
):
    require_image()
    env_uuid, _ = one_step_project(tmp_path / "project", f"echo {uuidlib.uuid4().hex}\n")
    cleanup_images.append(env_uuid)
    result = orchest(
        "run",
        str(tmp_path / "project" / "pipeline.orchest"),
        "--backend",
        "docker",
        "--db",
        str(tmp_path / "orchest.db"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line.split(" ", 1)[1] for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert "⚙ Env: BUILDING environment 'tiny'" in lines, result.stdout
    assert (
        lines.index("⚙ Env: BUILDING environment 'tiny'")
        < lines.index("⚙ Env: BUILT environment 'tiny'")
        < lines.index("✔ Env: SUCCESS")
    )
