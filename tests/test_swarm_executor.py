"""SwarmExecutor on a real single-node swarm: service configuration, storage, scheduling,
failures with their reasons, cancel, re-adoption, and what GET backends says about it.

The run-behaviour suite runs on the swarm backend through the ``backend`` fixture."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from traitlets import TraitError

from orchest_ext.executors.base import STEP_SDK_PATH, ExecutorUnavailable, StepSpec, spec_to_json
from orchest_ext.executors.containers.spec import SDK_MOUNT
from orchest_ext.executors.containers.swarm import SwarmExecutor, service_name

from .docker_support import (
    docker,
    project_containers,
    project_services,
    remove_containers,
    remove_services,
    require_swarm,
)
from .helpers import assert_no_step_containers, make_pipeline, step_spec, wait_for_run

pytestmark = pytest.mark.docker


@pytest.fixture
def executor(jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[SwarmExecutor]:
    """A SwarmExecutor on the test's event loop (the engine must be a swarm manager)."""
    require_swarm()
    ex = SwarmExecutor(stop_timeout=1)
    yield ex
    jp_asyncio_loop.run_until_complete(ex.close())


@pytest.fixture
def run_id(request: pytest.FixtureRequest) -> str:
    """A run id unique to the test; its services and containers are removed afterwards."""
    rid = f"swarm-{os.getpid()}-{time.monotonic_ns()}"

    def clean() -> None:
        remove_services(f"orchest_ext.run_id={rid}")
        remove_containers(f"orchest_ext.run_id={rid}")

    request.addfinalizer(clean)
    return rid


@pytest.fixture
def volume(request: pytest.FixtureRequest) -> str:
    """A volume name unique to the test, removed afterwards."""
    name = f"orchest-ext-test-{os.getpid()}-{time.monotonic_ns()}"
    request.addfinalizer(lambda: docker("volume", "rm", "-f", name))
    return name


def left_behind(run_id: str) -> tuple[list[str], list[dict]]:
    label = f"orchest_ext.run_id={run_id}"
    return project_services(label), project_containers(label)


# -- without an engine ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [("memory_reservation", "lots"), ("volume_path", "relative/dir"), ("gpus", "all")],
)
def test_invalid_settings_name_the_setting(setting: str, value: object) -> None:
    with pytest.raises(TraitError, match=setting):
        SwarmExecutor(**{setting: value})


def test_service_config(tmp_path: Path) -> None:
    ex = SwarmExecutor(
        constraints=["node.role==worker"],
        environment_constraints={"gpu-env": ["node.labels.gpu==true"]},
        cpu_limit=1.5,
        memory_limit="256m",
        cpu_reservation=0.5,
        memory_reservation="64m",
        gpus=1,
        network="steps",
    )
    spec = step_spec(tmp_path, "a.sh", "true\n", run_id="r1", environment="gpu-env")
    config = ex.service_config(spec)
    template = config["task_template"]
    container = template["ContainerSpec"]
    assert config["name"] == service_name("r1", "step-1")
    assert config["mode"] == {"Replicated": {"Replicas": 1}}
    assert config["labels"]["orchest_ext.run_id"] == "r1"
    assert template["RestartPolicy"]["Condition"] == "none"
    assert template["Placement"]["Constraints"] == ["node.role==worker", "node.labels.gpu==true"]
    assert template["Resources"] == {
        "Limits": {"NanoCPUs": 1_500_000_000, "MemoryBytes": 256 * 1024**2},
        "Reservations": {
            "NanoCPUs": 500_000_000,
            "MemoryBytes": 64 * 1024**2,
            "GenericResources": [{"DiscreteResourceSpec": {"Kind": "gpu", "Value": 1}}],
        },
    }
    assert template["Networks"] == [{"Target": "steps"}]
    assert container["Env"]["ORCHEST_NODE"] == "{{.Node.Hostname}}"
    assert container["Args"][-2:] == ["bash", str(spec.source_path)]
    assert {
        "Type": "bind",
        "Source": str(STEP_SDK_PATH),
        "Target": SDK_MOUNT,
        "ReadOnly": True,
    } in (container["Mounts"])


def test_volume_storage_replaces_binds_under_its_path(tmp_path: Path) -> None:
    options = {"type": "nfs", "o": "addr=10.0.0.5,rw", "device": ":/srv/jupyter"}
    ex = SwarmExecutor(
        storage="volume", volume_name="pipelines", volume_options=options, volume_path=str(tmp_path)
    )
    mounts = ex.service_config(step_spec(tmp_path, "a.sh", "true\n"))["task_template"][
        "ContainerSpec"
    ]["Mounts"]
    assert mounts[0] == {
        "Type": "volume",
        "Source": "pipelines",
        "Target": str(tmp_path),
        "VolumeOptions": {"DriverConfig": {"Name": "local", "Options": options}},
    }
    assert not any(m["Source"].startswith(str(tmp_path)) for m in mounts[1:])


async def test_volume_storage_needs_its_path() -> None:
    require_swarm()
    ex = SwarmExecutor(storage="volume")
    with pytest.raises(ExecutorUnavailable, match="volume_path"):
        await ex.check_available()
    await ex.close()


# -- on the swarm --------------------------------------------------------------------------


async def test_check_available(executor: SwarmExecutor) -> None:
    await executor.check_available()


async def test_step_runs_as_a_service_and_leaves_nothing(
    executor: SwarmExecutor, tmp_path: Path, run_id: str
) -> None:
    script = 'echo "node=$ORCHEST_NODE var=$USER_VAR cwd=$(pwd)"\necho out > written.txt\n'
    spec = step_spec(tmp_path, "hello.sh", script, run_id=run_id)
    handles = []
    result = await executor.run(spec, handles.append)
    assert result.status == "SUCCESS", result.message
    node = docker("info", "--format", "{{.Name}}").stdout.strip()
    assert f"node={node} var=from-user cwd={spec.working_dir}" in spec.log_path.read_text()
    assert (spec.working_dir / "written.txt").read_text() == "out\n"
    assert handles[0]["service_name"] == service_name(run_id, "step-1")
    assert left_behind(run_id) == ([], [])


async def test_failing_step_says_how_and_where(
    executor: SwarmExecutor, tmp_path: Path, run_id: str
) -> None:
    spec = step_spec(tmp_path, "fail.py", "print('about to fail')\nraise SystemExit(3)\n")
    spec.run_id = run_id
    result = await executor.run(spec)
    assert result.status == "FAILURE"
    assert "exited with code 3 on node" in result.message
    assert "about to fail" in result.message
    assert left_behind(run_id) == ([], [])


async def test_unschedulable_step_fails_with_the_schedulers_reason(
    tmp_path: Path, run_id: str
) -> None:
    require_swarm()
    ex = SwarmExecutor(constraints=["node.labels.orchest_ext_test==nowhere"], schedule_timeout=1)
    result = await ex.run(step_spec(tmp_path, "a.sh", "true\n", run_id=run_id))
    assert result.status == "FAILURE"
    assert "no node took the step's task in 1 s" in result.message
    assert "no suitable node" in result.message
    assert left_behind(run_id) == ([], [])
    await ex.close()


async def test_missing_image_names_the_node_and_the_fix(tmp_path: Path, run_id: str) -> None:
    require_swarm()
    ex = SwarmExecutor(default_image="orchest-ext/not-built:never")
    result = await ex.run(step_spec(tmp_path, "a.sh", "true\n", run_id=run_id))
    assert result.status == "FAILURE"
    assert "orchest-ext/not-built:never" in result.message
    assert "jupyter orchest images distribute" in result.message
    assert left_behind(run_id) == ([], [])
    await ex.close()


async def test_volume_storage_with_local_driver_options(
    tmp_path: Path, run_id: str, volume: str
) -> None:
    """The local driver's bind options stand in for NFS ones: the same mount path, another
    way to reach it."""
    require_swarm()
    options = {"type": "none", "o": "bind", "device": str(tmp_path)}
    ex = SwarmExecutor(
        storage="volume", volume_name=volume, volume_options=options, volume_path=str(tmp_path)
    )
    spec = step_spec(tmp_path, "a.sh", "echo via volume > out.txt\n", run_id=run_id)
    result = await ex.run(spec)
    assert result.status == "SUCCESS", result.message
    assert (spec.working_dir / "out.txt").read_text() == "via volume\n"
    await ex.close()


async def test_step_that_cannot_see_its_files_says_so(
    tmp_path: Path, run_id: str, volume: str
) -> None:
    """A volume that holds some other directory: the step's file is not there."""
    require_swarm()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    options = {"type": "none", "o": "bind", "device": str(elsewhere)}
    ex = SwarmExecutor(
        storage="volume", volume_name=volume, volume_options=options, volume_path=str(tmp_path)
    )
    spec = step_spec(tmp_path, "a.sh", "true\n", run_id=run_id)
    result = await ex.run(spec)
    assert result.status == "FAILURE"
    assert "the step's files are not visible on node" in result.message
    assert str(spec.source_path) in result.message
    assert left_behind(run_id) == ([], [])
    await ex.close()


async def test_cancel_removes_service_and_container(
    executor: SwarmExecutor, tmp_path: Path, run_id: str
) -> None:
    spec = step_spec(tmp_path, "slow.sh", "echo started\nsleep 60\n", run_id=run_id)
    task = asyncio.ensure_future(executor.run(spec))
    deadline = time.monotonic() + 60
    while not (spec.log_path.exists() and "started" in spec.log_path.read_text()):
        assert time.monotonic() < deadline, "the step never started"
        await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert left_behind(run_id) == ([], [])


async def test_a_second_cancel_during_clean_up_still_removes_the_service(
    executor: SwarmExecutor, tmp_path: Path, run_id: str
) -> None:
    """A step cancelled again while its service is being removed (a second abort, a shutdown)
    ends only once the service is gone."""
    spec = step_spec(tmp_path, "slow.sh", "echo started\nsleep 60\n", run_id=run_id)
    task = asyncio.ensure_future(executor.run(spec))
    deadline = time.monotonic() + 60
    while not (spec.log_path.exists() and "started" in spec.log_path.read_text()):
        assert time.monotonic() < deadline, "the step never started"
        await asyncio.sleep(0.1)
    task.cancel()
    for _ in range(3):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert left_behind(run_id) == ([], [])


SERVER_SCRIPT = """
import asyncio, json, sys
from orchest_ext.executors.base import spec_from_json
from orchest_ext.executors.containers.swarm import SwarmExecutor

spec = spec_from_json(sys.argv[1])
asyncio.run(SwarmExecutor().run(spec, lambda h: print(json.dumps(h), flush=True)))
"""


async def start_in_dying_server(spec: StepSpec) -> dict:
    """Start the step from a separate "server" process, SIGKILL it, return the handle."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVER_SCRIPT, spec_to_json(spec), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    proc.kill()
    await proc.wait()
    return json.loads(line)


@pytest.mark.parametrize("with_handle", [True, False])
async def test_reattach_follows_the_service_of_a_killed_server(
    executor: SwarmExecutor, tmp_path: Path, run_id: str, with_handle: bool
) -> None:
    spec = step_spec(tmp_path, "slow.sh", "echo begin\nsleep 2\necho end\nexit 4\n", run_id=run_id)
    handle = await start_in_dying_server(spec)
    assert project_services(f"orchest_ext.run_id={run_id}") == [handle["service_name"]]
    result = await executor.reattach(spec, handle if with_handle else {})
    assert result is not None and result.status == "FAILURE"
    assert "exited with code 4" in result.message
    assert "end" in spec.log_path.read_text()
    assert left_behind(run_id) == ([], [])


async def test_find_and_cleanup_orphans(
    executor: SwarmExecutor, tmp_path: Path, run_id: str
) -> None:
    spec = step_spec(tmp_path, "slow.sh", "sleep 60\n", run_id=run_id)
    handle = await start_in_dying_server(spec)
    found = await executor.find_step_services(run_id)
    assert [(s["service_id"], s["step_uuid"]) for s in found] == [(handle["service_id"], "step-1")]
    await executor.cleanup_orphan(handle)
    assert await executor.find_step_services(run_id) == []


@pytest.fixture
def quick_schedule_timeout(jp_server_config: dict) -> dict:
    jp_server_config["SwarmExecutor"] = {"schedule_timeout": 1}
    return jp_server_config


async def run_constrained(api, root: Path, constraints: list[str]) -> dict:
    """Run a one-step pipeline whose settings.swarm.constraints are ``constraints``."""
    pipeline_file, _ = make_pipeline(root / "p", {"Where": ("where.sh", "echo placed\n", [])})
    description = json.loads(pipeline_file.read_text())
    description["settings"] = {"swarm": {"constraints": constraints}}
    pipeline_file.write_text(json.dumps(description))
    code, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": "swarm"}
    )
    assert code == 202, run
    return await wait_for_run(api, run["id"])


async def test_pipeline_constraints_nobody_meets_fail_with_the_schedulers_reason(
    quick_schedule_timeout, api, jp_root_dir: Path
) -> None:
    require_swarm()
    finished = await run_constrained(api, jp_root_dir, ["node.labels.orchest_ext_test==nowhere"])
    assert finished["status"] == "FAILURE", finished
    (step,) = finished["steps"]
    assert "no node took the step's task in 1 s" in step["message"]
    assert "no suitable node" in step["message"]
    await assert_no_step_containers(finished)


async def test_pipeline_constraints_a_node_meets_run_there(
    quick_schedule_timeout, api, jp_root_dir: Path
) -> None:
    require_swarm()
    node = docker("info", "--format", "{{.Name}}").stdout.strip()
    finished = await run_constrained(
        api, jp_root_dir, [f"node.hostname=={node}", "node.role!=worker"]
    )
    assert finished["status"] == "SUCCESS", finished
    await assert_no_step_containers(finished)


async def test_malformed_pipeline_constraints_are_refused_naming_the_field(
    api, jp_root_dir: Path
) -> None:
    pipeline_file, _ = make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "true\n", [])})
    description = json.loads(pipeline_file.read_text())
    description["settings"] = {"swarm": {"constraints": ["gpu"]}}
    pipeline_file.write_text(json.dumps(description))
    code, reply = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code in (400, 422), reply
    assert "constraints[0] 'gpu' is not a placement constraint" in reply["message"]
    assert [issue["field"] for issue in reply["issues"]] == ["constraints"]


# -- GET backends --------------------------------------------------------------------------


async def test_backends_say_which_are_available(api) -> None:
    require_swarm()
    code, body = await api("GET", "backends")
    assert code == 200
    assert body["backends"] == ["docker", "local", "swarm"]
    assert body["availability"]["swarm"] == {"available": True, "reason": None}
    assert body["availability"]["local"] == {"available": True, "reason": None}


@pytest.fixture
def unreachable_swarm(jp_server_config: dict) -> dict:
    jp_server_config["SwarmExecutor"] = {
        "docker_url": "unix:///nonexistent/swarm.sock",
        "connect_timeout": 1,
    }
    return jp_server_config


async def test_backends_say_why_one_is_unavailable(unreachable_swarm, api) -> None:
    code, body = await api("GET", "backends")
    assert code == 200
    swarm = body["availability"]["swarm"]
    assert swarm["available"] is False
    assert "unix:///nonexistent/swarm.sock" in swarm["reason"]
