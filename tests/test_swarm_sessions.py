"""Pipeline sessions on a real single-node swarm: EG and the jupyter-server as services on the
session's overlay network, kernels as services started by EG's Docker Swarm process proxy with
orchest_ext's launcher, the pipeline directory mounted; stopping leaves nothing of the session;
a restarted server adopts a running swarm session; a failing service fails the launch with the
scheduler's reason."""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
import uuid as uuidlib
from pathlib import Path
from typing import Any

import pytest

from orchest_ext.sessions import PipelineSessionManager, default_scope

from .docker_support import docker, project_services, remove_services, require_swarm
from .launch_support import (
    INPUT_TEXT,
    SessionServer,
    remove_scope,
    session_containers,
    session_networks,
    wait_for_status,
    wait_until_gone,
)
from .server import ServerProcess

pytestmark = pytest.mark.docker

KERNEL_CODE = """
import os
print(os.getcwd())
text = open("input.txt").read()
with open("output.txt", "w") as handle:
    handle.write(text.upper())
os.environ.get("KERNEL_ID")
"""


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **jp_server_config,
        "PipelineSessionManager": {
            "readiness_timeout": 90.0,
            "kernel_cpu_limit": 1.0,
            "kernel_memory_limit": "512m",
        },
    }


@pytest.fixture
def swarm_images(session_images) -> None:
    """The session images, on an engine that is a swarm manager (fail in CI otherwise)."""
    require_swarm()


def remove_swarm_scope(scope: str) -> None:
    """Remove every service, container and network of a session scope (test cleanup)."""
    remove_services(f"orchest_ext.scope={scope}")
    remove_scope(scope)


@pytest.fixture
def sessions(jp_serverapp, swarm_images) -> PipelineSessionManager:
    (app,) = jp_serverapp.extension_manager.extension_apps["orchest_ext"]
    yield app.sessions
    remove_swarm_scope(app.sessions.scope)


def session_services(session_id: str, *labels: str) -> list[str]:
    return project_services(f"orchest_ext.session={session_id}", *labels)


def assert_nothing_left(session_id: str) -> None:
    assert session_services(session_id) == []
    assert session_containers(session_id) == []
    assert session_networks(session_id) == []


def service(name: str) -> dict[str, Any]:
    proc = docker("service", "inspect", name)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)[0]


async def launch(api, pipeline_uuid: str, **extra: Any) -> dict[str, Any]:
    body = {"pipeline_uuid": pipeline_uuid, "pipeline_dir": "pipelines/demo", **extra}
    code, reply = await api("POST", "launches", body=body)
    assert code == 202, reply
    return reply


async def stop_and_wait(api, pipeline_uuid: str) -> None:
    code, reply = await api("DELETE", "launches", pipeline_uuid)
    assert code == 202, reply
    await wait_until_gone(api, pipeline_uuid)


async def test_session_on_swarm_runs_kernels_as_services_on_the_pipeline_dir(
    api, sessions, pipeline_dir
):
    pipeline_uuid = str(uuidlib.uuid4())
    launching = await launch(api, pipeline_uuid, backend="swarm")
    assert launching["backend"] == "swarm"
    running = await wait_for_status(api, pipeline_uuid, {"RUNNING", "FAILED"})
    assert running["status"] == "RUNNING", running
    session_id = running["session_id"]

    network = docker("network", "inspect", f"orchest-{session_id}")
    details = json.loads(network.stdout)[0]
    assert (details["Driver"], details["Attachable"], details["Scope"]) == (
        "overlay",
        True,
        "swarm",
    )
    for role in ("eg", "server"):
        spec = service(f"orchest-{session_id}-{role}")["Spec"]
        assert spec["Labels"]["orchest_ext.pipeline_uuid"] == pipeline_uuid
        assert spec["EndpointSpec"]["Mode"] == "dnsrr"
        assert spec["TaskTemplate"]["RestartPolicy"]["Condition"] == "none"
        assert not spec["EndpointSpec"].get("Ports")

    server = SessionServer(running["server_info"])
    kernel_id = await server.start_notebook_kernel("sub/analysis.ipynb")
    (kernel_name,) = session_services(session_id, f"kernel_id={kernel_id}")
    kernel = service(kernel_name)["Spec"]
    assert kernel["Labels"]["orchest_ext.role"] == "kernel"
    assert kernel["EndpointSpec"]["Mode"] == "dnsrr"
    task = kernel["TaskTemplate"]
    assert task["Resources"]["Limits"] == {"NanoCPUs": 10**9, "MemoryBytes": 512 * 1024**2}
    (mount,) = task["ContainerSpec"]["Mounts"]
    assert (mount["Source"], mount["Target"]) == (str(pipeline_dir), str(pipeline_dir))

    execution = await server.execute(kernel_id, KERNEL_CODE)
    assert execution.error is None, execution.error
    assert execution.stdout.strip() == str(pipeline_dir / "sub")
    assert execution.results == [repr(kernel_id)]
    output = pipeline_dir / "sub" / "output.txt"
    assert output.read_text() == INPUT_TEXT.upper()
    assert (output.stat().st_uid, output.stat().st_gid) == (os.getuid(), os.getgid())

    await stop_and_wait(api, pipeline_uuid)
    assert_nothing_left(session_id)


async def test_stop_removes_kernel_services_of_a_killed_gateway(api, sessions, pipeline_dir):
    sessions.backend = "swarm"
    pipeline_uuid = str(uuidlib.uuid4())
    reply = await launch(api, pipeline_uuid)
    assert reply["backend"] == "swarm"
    running = await wait_for_status(api, pipeline_uuid, {"RUNNING", "FAILED"})
    assert running["status"] == "RUNNING", running
    session_id = running["session_id"]
    server = SessionServer(running["server_info"])
    kernel_id = await server.start_notebook_kernel("sub/analysis.ipynb")
    assert (await server.execute(kernel_id, "21 * 2")).results == ["42"]

    (eg,) = session_containers(session_id, "orchest_ext.role=eg")
    assert docker("kill", eg["ID"]).returncode == 0
    deadline = time.monotonic() + 30
    while session_containers(session_id, "orchest_ext.role=eg", "status=running"):
        assert time.monotonic() < deadline, "the killed gateway still runs"
        await asyncio.sleep(0.1)
    assert session_services(session_id, "orchest_ext.role=kernel")

    await stop_and_wait(api, pipeline_uuid)
    assert_nothing_left(session_id)


async def test_a_crashing_server_service_fails_with_its_reason_and_log(api, sessions, pipeline_dir):
    sessions.server_image = "orchest-ext/kernel:latest"
    pipeline_uuid = str(uuidlib.uuid4())
    await launch(api, pipeline_uuid, backend="swarm")
    failed = await wait_for_status(api, pipeline_uuid, {"FAILED", "RUNNING"})
    assert failed["status"] == "FAILED"
    assert "The jupyter-server service's task failed (exit code" in failed["reason"]
    assert failed["failed_container"] == f"orchest-{failed['session_id']}-server"
    assert failed["log_tail"]
    assert_nothing_left(failed["session_id"])


async def test_missing_image_fails_the_swarm_launch_with_the_build_hint(
    api, sessions, pipeline_dir
):
    sessions.eg_image = "orchest-ext/not-built:latest"
    pipeline_uuid = str(uuidlib.uuid4())
    await launch(api, pipeline_uuid, backend="swarm")
    failed = await wait_for_status(api, pipeline_uuid, {"FAILED", "RUNNING"})
    assert failed["status"] == "FAILED"
    assert "orchest-ext/not-built:latest" in failed["reason"]
    assert "jupyter orchest images build" in failed["reason"]
    assert_nothing_left(failed["session_id"])


async def test_an_unknown_backend_is_400_naming_the_field(api, pipeline_dir):
    body = {"pipeline_uuid": "p", "pipeline_dir": "pipelines/demo", "backend": "kubernetes"}
    code, reply = await api("POST", "launches", body=body)
    assert code == 400, reply
    assert "backend" in reply["message"]


@pytest.fixture
def server_root(tmp_path: Path, swarm_images) -> Path:
    root = tmp_path / "root"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
    yield root
    remove_swarm_scope(default_scope(root))


def server_wait(server: ServerProcess, pipeline_uuid: str, wanted: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        code, reply = server.request("GET", f"/orchest/api/launches/{pipeline_uuid}")
        assert code == 200, reply
        if reply["status"] in wanted:
            return reply
        assert time.monotonic() < deadline, reply
        time.sleep(0.1)


def test_restart_adopts_a_running_swarm_session_and_removes_a_partial_one(
    server_root: Path, tmp_path: Path
):
    swarm = ["--PipelineSessionManager.backend=swarm"]
    first = ServerProcess(server_root, tmp_path / "state", swarm).start()
    try:
        for name in ("a", "b"):
            code, reply = first.request(
                "POST", "/orchest/api/launches", {"pipeline_uuid": name, "pipeline_dir": name}
            )
            assert code == 202, reply
        launched = server_wait(first, "a", {"RUNNING", "FAILED"})
        partial = server_wait(first, "b", {"RUNNING", "FAILED"})
        assert launched["status"] == partial["status"] == "RUNNING", (launched, partial)
    finally:
        first.kill()
    session_id = launched["session_id"]
    assert len(session_services(session_id)) == 2
    assert docker("service", "rm", f"orchest-{partial['session_id']}-server").returncode == 0

    second = ServerProcess(server_root, tmp_path / "state").start()
    try:
        adopted = server_wait(second, "a", {"RUNNING"})
        assert adopted["session_id"] == session_id
        assert adopted["backend"] == "swarm"
        assert adopted["server_info"] == launched["server_info"]
        assert second.request("GET", "/orchest/api/launches/b")[0] == 404
        deadline = time.monotonic() + 30
        while session_services(partial["session_id"]) or session_networks(partial["session_id"]):
            assert time.monotonic() < deadline, "the partial session was not removed"
            time.sleep(0.1)
        assert_nothing_left(partial["session_id"])
        info = adopted["server_info"]
        request = urllib.request.Request(
            f"{info['url']}api/status", headers={"Authorization": f"token {info['token']}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        code, _ = second.request("DELETE", "/orchest/api/launches/a")
        assert code == 202
        deadline = time.monotonic() + 60
        while second.request("GET", "/orchest/api/launches/a")[0] != 404:
            assert time.monotonic() < deadline, "the adopted session never stopped"
            time.sleep(0.1)
        assert_nothing_left(session_id)
    finally:
        second.stop()


async def test_services_not_running_within_the_readiness_timeout_fail_with_their_state(
    api, sessions, pipeline_dir
):
    sessions.readiness_timeout = 0.0
    pipeline_uuid = str(uuidlib.uuid4())
    await launch(api, pipeline_uuid, backend="swarm")
    failed = await wait_for_status(api, pipeline_uuid, {"FAILED", "RUNNING"})
    assert failed["status"] == "FAILED"
    reason = failed["reason"]
    assert "did not start within 0 s (PipelineSessionManager.readiness_timeout)" in reason
    assert "its task is " in reason or "the swarm made no task for it" in reason
    assert_nothing_left(failed["session_id"])
