"""Interactive pipeline sessions (launches) against a real Docker engine, EG and kernels."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

import pytest

from orchest_ext import kernel_launcher
from orchest_ext.events import LAUNCH_STATUS
from orchest_ext.sessions import SHIPPED_KERNELSPECS, PipelineSessionManager, default_scope

from .docker_support import docker
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

KERNEL_CODE = """
import os
print(os.getcwd())
text = open("input.txt").read()
with open("output.txt", "w") as handle:
    handle.write(text.upper())
len(text)
"""


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **jp_server_config,
        "PipelineSessionManager": {
            "readiness_timeout": 90.0,
            "kernel_cpu_limit": 1.0,
            "kernel_memory_limit": "512m",
            "eg_env": {"ORCHEST_TEST_MARK": "extra-eg-env"},
        },
    }


@pytest.fixture
def sessions(jp_serverapp, session_images) -> PipelineSessionManager:
    """The extension's PipelineSessionManager; whatever a failed test leaves behind is removed."""
    (app,) = jp_serverapp.extension_manager.extension_apps["orchest_ext"]
    yield app.sessions
    remove_scope(app.sessions.scope)


def new_uuid() -> str:
    return str(uuidlib.uuid4())


async def launch_running(api, pipeline_uuid: str, pipeline_dir: str = "pipelines/demo") -> dict:
    code, launch = await api(
        "POST", "launches", body={"pipeline_uuid": pipeline_uuid, "pipeline_dir": pipeline_dir}
    )
    assert code == 202, launch
    running = await wait_for_status(api, pipeline_uuid, {"RUNNING", "FAILED"})
    assert running["status"] == "RUNNING", running
    return running


async def stop_and_wait(api, pipeline_uuid: str) -> None:
    code, launch = await api("DELETE", "launches", pipeline_uuid)
    assert code == 202, launch
    assert launch["status"] == "STOPPING"
    await wait_until_gone(api, pipeline_uuid)


def assert_nothing_left(session_id: str) -> None:
    assert session_containers(session_id) == []
    assert session_networks(session_id) == []


def inspect(name: str) -> dict[str, Any]:
    proc = docker("inspect", name)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)[0]


async def launch_events(ws, pipeline_uuid: str, until: str, timeout: float = 120) -> list[str]:
    """Statuses of the launch_status events of ``pipeline_uuid`` up to ``until``."""
    statuses: list[str] = []
    deadline = time.monotonic() + timeout
    while until not in statuses:
        message = await asyncio.wait_for(ws.read_message(), deadline - time.monotonic())
        assert message is not None, "the events websocket closed"
        event = json.loads(message)
        if event["schema_id"] == LAUNCH_STATUS and event["pipeline_uuid"] == pipeline_uuid:
            assert "token" not in json.dumps(event)
            statuses.append(event["status"])
    return statuses


@pytest.mark.docker
async def test_session_runs_kernels_in_containers_on_the_pipeline_dir(
    api, jp_ws_fetch, sessions, pipeline_dir
):
    ws = await jp_ws_fetch("api", "events", "subscribe")
    pipeline_uuid = new_uuid()
    body = {"pipeline_uuid": pipeline_uuid, "pipeline_dir": "pipelines/demo"}
    code, launch = await api("POST", "launches", body=body)
    assert code == 202, launch
    assert launch["status"] == "LAUNCHING"
    assert launch["server_info"] is None
    code, second = await api("POST", "launches", body=body)
    assert code == 409, second
    assert "already has a session" in second["message"]

    launch = await wait_for_status(api, pipeline_uuid, {"RUNNING", "FAILED"})
    assert launch["status"] == "RUNNING", launch
    info = launch["server_info"]
    assert info["url"].startswith("http://127.0.0.1:") and info["token"]
    assert info["base_url"] == "/" and info["root_dir"] == str(pipeline_dir)
    assert launch["gateway_info"]["url"].startswith("http://127.0.0.1:")
    code, listing = await api("GET", "launches")
    assert code == 200 and [s["pipeline_uuid"] for s in listing["launches"]] == [pipeline_uuid]

    session_id = launch["session_id"]
    assert len(session_containers(session_id)) == 2
    for role in ("eg", "server"):
        details = inspect(f"orchest-{session_id}-{role}")
        assert details["Config"]["Labels"]["orchest_ext.pipeline_uuid"] == pipeline_uuid
        bindings = details["HostConfig"]["PortBindings"]["8888/tcp"]
        assert [binding["HostIp"] for binding in bindings] == ["127.0.0.1"]
    server_env = inspect(f"orchest-{session_id}-server")["Config"]["Env"]
    assert any(item.startswith("KERNEL_USERNAME=") for item in server_env)
    eg_env = inspect(f"orchest-{session_id}-eg")["Config"]["Env"]
    assert "ORCHEST_TEST_MARK=extra-eg-env" in eg_env
    allowed = next(item for item in eg_env if item.startswith("EG_ALLOWED_KERNELS="))
    assert "python3" in allowed.split("=", 1)[1].split(",")

    server = SessionServer(info)
    kernel_id = await server.start_notebook_kernel("sub/analysis.ipynb")
    (kernel,) = session_containers(session_id, f"kernel_id={kernel_id}")
    details = inspect(kernel["ID"])
    assert details["Config"]["Labels"]["orchest_ext.role"] == "kernel"
    assert details["Config"]["Labels"]["orchest_ext.pipeline_uuid"] == pipeline_uuid
    assert details["HostConfig"]["Memory"] == 512 * 1024**2
    assert details["HostConfig"]["NanoCpus"] == 10**9

    execution = await server.execute(kernel_id, KERNEL_CODE)
    assert execution.error is None, execution.error
    assert execution.stdout.strip() == str(pipeline_dir / "sub")
    assert execution.results == [str(len(INPUT_TEXT))]
    output = pipeline_dir / "sub" / "output.txt"
    assert output.read_text() == INPUT_TEXT.upper()
    assert (output.stat().st_uid, output.stat().st_gid) == (os.getuid(), os.getgid())

    await stop_and_wait(api, pipeline_uuid)
    assert_nothing_left(session_id)
    statuses = await launch_events(ws, pipeline_uuid, until="STOPPED")
    assert statuses == ["LAUNCHING", "RUNNING", "STOPPING", "STOPPED"]
    ws.close()


@pytest.mark.docker
async def test_kernels_run_as_the_configured_user(api, sessions, pipeline_dir):
    if os.getuid() != 0:
        pytest.skip("handing the pipeline directory to another uid needs root")
    sessions.run_as_uid, sessions.run_as_gid = 1000, 100
    for path in (pipeline_dir, *pipeline_dir.rglob("*")):
        os.chown(path, 1000, 100)
    pipeline_uuid = new_uuid()
    launch = await launch_running(api, pipeline_uuid)
    server = SessionServer(launch["server_info"])
    kernel_id = await server.start_notebook_kernel("sub/analysis.ipynb")
    code = "import os\nopen('mine.txt', 'w').write('x')\nos.getuid(), os.getgid()"
    execution = await server.execute(kernel_id, code)
    assert execution.results == ["(1000, 100)"], execution
    written = (pipeline_dir / "sub" / "mine.txt").stat()
    assert (written.st_uid, written.st_gid) == (1000, 100)
    await stop_and_wait(api, pipeline_uuid)
    assert_nothing_left(launch["session_id"])


@pytest.mark.docker
async def test_a_killed_gateway_fails_the_session_and_removes_its_kernels(
    api, sessions, pipeline_dir
):
    """A session container that stops while the session runs (``docker kill`` here; a
    restarted engine or an OOM kill alike) ends the session FAILED with the reason, and
    everything of it, its kernels included, is removed."""
    pipeline_uuid = new_uuid()
    launch = await launch_running(api, pipeline_uuid)
    session_id = launch["session_id"]
    server = SessionServer(launch["server_info"])
    kernel_id = await server.start_notebook_kernel("sub/analysis.ipynb")
    execution = await server.execute(kernel_id, "21 * 2")
    assert execution.results == ["42"]
    assert session_containers(session_id, "orchest_ext.role=kernel")

    assert docker("kill", f"orchest-{session_id}-eg").returncode == 0
    failed = await wait_for_status(api, pipeline_uuid, {"FAILED"})
    assert failed["failed_container"] == f"orchest-{session_id}-eg"
    assert "exited (exit code 137" in failed["reason"], failed
    assert_nothing_left(session_id)

    await stop_and_wait(api, pipeline_uuid)


@pytest.mark.docker
async def test_delete_while_launching_leaves_nothing(api, sessions, pipeline_dir):
    pipeline_uuid = new_uuid()
    code, launch = await api(
        "POST", "launches", body={"pipeline_uuid": pipeline_uuid, "pipeline_dir": "pipelines/demo"}
    )
    assert code == 202, launch
    code, stopping = await api("DELETE", "launches", pipeline_uuid)
    assert code == 202 and stopping["status"] == "STOPPING", stopping
    code, again = await api("DELETE", "launches", pipeline_uuid)
    assert code in (202, 404), again
    await wait_until_gone(api, pipeline_uuid)
    assert_nothing_left(launch["session_id"])


@pytest.mark.docker
async def test_unpublished_session_on_a_shared_network(api, sessions, pipeline_dir):
    sessions.publish = "none"
    sessions.network = f"orchest-test-{uuidlib.uuid4().hex[:8]}"
    pipeline_uuid = new_uuid()
    launch = await launch_running(api, pipeline_uuid)
    session_id = launch["session_id"]
    assert not launch["server_info"]["url"].startswith("http://127.0.0.1")
    for role in ("eg", "server"):
        details = inspect(f"orchest-{session_id}-{role}")
        assert not details["HostConfig"]["PortBindings"]
        assert list(details["NetworkSettings"]["Networks"]) == [sessions.network]
    server = SessionServer(launch["server_info"])
    kernel_id = await server.start_notebook_kernel("sub/analysis.ipynb")
    assert (await server.execute(kernel_id, "6 * 7")).results == ["42"]
    await stop_and_wait(api, pipeline_uuid)
    assert_nothing_left(session_id)
    assert docker("network", "inspect", sessions.network).returncode == 0


@pytest.mark.docker
async def test_missing_images_fail_with_build_hint(api, sessions, pipeline_dir):
    sessions.eg_image = "orchest-ext/not-built:latest"
    pipeline_uuid = new_uuid()
    code, launch = await api(
        "POST", "launches", body={"pipeline_uuid": pipeline_uuid, "pipeline_dir": "pipelines/demo"}
    )
    assert code == 202, launch
    failed = await wait_for_status(api, pipeline_uuid, {"FAILED", "RUNNING"})
    assert failed["status"] == "FAILED"
    assert "orchest-ext/not-built:latest" in failed["reason"]
    assert "jupyter orchest images build" in failed["reason"]
    assert failed["server_info"] is None
    assert_nothing_left(failed["session_id"])
    await stop_and_wait(api, pipeline_uuid)


@pytest.mark.docker
async def test_crashing_server_fails_with_its_log_and_can_be_relaunched(
    api, sessions, pipeline_dir
):
    sessions.server_image = "orchest-ext/kernel:latest"
    pipeline_uuid = new_uuid()
    body = {"pipeline_uuid": pipeline_uuid, "pipeline_dir": "pipelines/demo"}
    code, launch = await api("POST", "launches", body=body)
    assert code == 202, launch
    failed = await wait_for_status(api, pipeline_uuid, {"FAILED", "RUNNING"})
    assert failed["status"] == "FAILED"
    assert "jupyter-server container exited" in failed["reason"]
    assert failed["failed_container"] == f"orchest-{failed['session_id']}-server"
    assert "jupyter-server" in failed["log_tail"]
    assert_nothing_left(failed["session_id"])

    sessions.server_image = "orchest-ext/server:latest"
    relaunched = await launch_running(api, pipeline_uuid)
    assert relaunched["session_id"] != failed["session_id"]
    await stop_and_wait(api, pipeline_uuid)
    assert_nothing_left(relaunched["session_id"])


@pytest.mark.docker
async def test_readiness_timeout_fails_and_cleans_up(api, sessions, pipeline_dir):
    sessions.readiness_timeout = 0.0
    pipeline_uuid = new_uuid()
    code, _ = await api(
        "POST", "launches", body={"pipeline_uuid": pipeline_uuid, "pipeline_dir": "pipelines/demo"}
    )
    assert code == 202
    failed = await wait_for_status(api, pipeline_uuid, {"FAILED", "RUNNING"})
    assert failed["status"] == "FAILED"
    assert "did not answer within 0 s" in failed["reason"]
    assert failed["failed_container"].startswith(f"orchest-{failed['session_id']}-")
    assert_nothing_left(failed["session_id"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"pipeline_uuid": "p", "pipeline_dir": "../outside"}, "leaves the server's root dir"),
        ({"pipeline_uuid": "p", "pipeline_dir": "/etc"}, "relative to the server's root dir"),
        ({"pipeline_uuid": "p", "pipeline_dir": "missing"}, "is not a directory"),
        ({"pipeline_uuid": "p", "pipeline_dir": "pipelines/demo/sub/input.txt"}, "not a directory"),
        ({"pipeline_uuid": "p"}, "needs the field(s) pipeline_dir"),
        (
            {"pipeline_uuid": 7, "pipeline_dir": "pipelines/demo"},
            "pipeline_uuid must be a string of 1-128",
        ),
        ({"pipeline_uuid": "a/b", "pipeline_dir": "pipelines/demo"}, "1-128 letters"),
        ("[1, 2]", "must be an object"),
        ("{not json", "not valid JSON"),
    ],
)
async def test_bad_launch_requests_are_400(api, pipeline_dir, body, message):
    code, reply = await api("POST", "launches", body=body)
    assert code == 400, reply
    assert message in reply["message"]


async def test_unknown_sessions_are_404(api):
    for method in ("GET", "DELETE"):
        code, reply = await api(method, "launches", "no-such-pipeline")
        assert code == 404, reply
        assert "has no session" in reply["message"]
    code, listing = await api("GET", "launches")
    assert (code, listing) == (200, {"launches": [], "available": True, "reason": None})


async def test_unreachable_engine_is_503(api, jp_serverapp, pipeline_dir, tmp_path):
    (app,) = jp_serverapp.extension_manager.extension_apps["orchest_ext"]
    await app.sessions.close()
    app.sessions.engine.docker_url = f"unix://{tmp_path / 'no-docker.sock'}"
    code, reply = await api(
        "POST", "launches", body={"pipeline_uuid": "p", "pipeline_dir": "pipelines/demo"}
    )
    assert code == 503, reply
    assert "Docker engine unreachable" in reply["message"]
    assert (await api("GET", "launches", "p"))[0] == 404


# -- the kernel launcher and kernelspecs, without docker ------------------------------------

LAUNCHER_ENV = {
    "KERNEL_IMAGE": "orchest-ext/kernel:latest",
    "EG_DOCKER_NETWORK": "orchest-abc",
    "ORCHEST_LAUNCH_HOST_DIR": "/host/pipes/demo",
    "ORCHEST_LAUNCH_MOUNT_PATH": "/work/demo",
    "ORCHEST_LAUNCH_LABELS": json.dumps({"orchest_ext.session": "abc"}),
    "ORCHEST_LAUNCH_NAME_PREFIX": "orchest-abc-kernel",
    "ORCHEST_LAUNCH_MEMORY": str(256 * 1024**2),
    "KERNEL_UID": "1234",
    "KERNEL_GID": "56",
    "KERNEL_WORKING_DIR": "/work/demo/notebooks",
    "PATH": "/opt/venv/bin:/usr/bin",
}
LAUNCHER_ARGS = [
    "--kernel-id",
    "k-1",
    "--port-range",
    "0..0",
    "--response-address",
    "10.0.0.2:8877",
    "--public-key",
    "KEY",
]


class FakeDocker:
    """Records ``containers.run`` calls like the docker SDK's client."""

    def __init__(self) -> None:
        self.containers = self
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def run(self, image: str, **options: Any) -> Any:
        self.calls.append((image, options))
        return type("Container", (), {"id": "c" * 64})()


def test_kernel_launcher_mounts_the_pipeline_and_labels_the_container():
    client = FakeDocker()
    args = kernel_launcher.parse_args(LAUNCHER_ARGS)
    assert kernel_launcher.launch(args, LAUNCHER_ENV, client) == "c" * 64
    ((image, options),) = client.calls
    assert image == "orchest-ext/kernel:latest"
    assert options["volumes"] == {"/host/pipes/demo": {"bind": "/work/demo", "mode": "rw"}}
    assert options["working_dir"] == "/work/demo/notebooks"
    assert options["user"] == "1234:56"
    assert options["network"] == "orchest-abc"
    assert options["name"] == "orchest-abc-kernel-k-1"
    assert options["mem_limit"] == 256 * 1024**2 and "nano_cpus" not in options
    assert options["labels"] == {
        "orchest_ext.session": "abc",
        "kernel_id": "k-1",
        "component": "kernel",
        "app": "gateway-provisioners",
    }
    env = options["environment"]
    assert env["RESPONSE_ADDRESS"] == "10.0.0.2:8877" and env["KERNEL_ID"] == "k-1"
    assert "PATH" not in env and not any(key.startswith("ORCHEST_LAUNCH_") for key in env)


class FakeSwarm:
    """Records ``services.create`` calls like the docker SDK's client."""

    def __init__(self) -> None:
        self.services = self
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create(self, image: str, **options: Any) -> Any:
        self.calls.append((image, options))
        return type("Service", (), {"id": "s" * 25})()


def test_kernel_launcher_in_swarm_mode_makes_a_service_like_the_container():
    client = FakeSwarm()
    env = {
        **LAUNCHER_ENV,
        "EG_DOCKER_MODE": "swarm",
        "ORCHEST_LAUNCH_CPUS": "1.5",
        "ORCHEST_LAUNCH_CONSTRAINTS": json.dumps(["node.labels.gpu==true"]),
    }
    args = kernel_launcher.parse_args(["--kernel-id", "0b1e-" + "7" * 32, *LAUNCHER_ARGS[2:]])
    assert kernel_launcher.launch(args, env, client) == "s" * 25
    ((image, options),) = client.calls
    assert image == "orchest-ext/kernel:latest"
    assert len(options["name"]) <= 63 and options["name"].startswith("orchest-abc-kernel-0b1e")
    (mount,) = options["mounts"]
    assert (mount["Source"], mount["Target"], mount["Type"]) == (
        "/host/pipes/demo",
        "/work/demo",
        "bind",
    )
    assert options["networks"] == ["orchest-abc"]
    assert options["endpoint_spec"]["Mode"] == "dnsrr"
    assert options["restart_policy"]["Condition"] == "none"
    assert options["resources"]["Limits"] == {
        "NanoCPUs": 1_500_000_000,
        "MemoryBytes": 256 * 1024**2,
    }
    assert options["constraints"] == ["node.labels.gpu==true"]
    assert options["labels"]["kernel_id"] == args.kernel_id
    assert options["labels"] == options["container_labels"]
    assert (options["user"], options["workdir"]) == ("1234:56", "/work/demo/notebooks")
    assert options["env"]["RESPONSE_ADDRESS"] == "10.0.0.2:8877"


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("/work/demo/a/b", "/work/demo/a/b"),
        ("/work/demo", "/work/demo"),
        ("/work/demo/../elsewhere", "/work/demo"),
        ("/work/demolition", "/work/demo"),
        ("relative/dir", "/work/demo"),
        (None, "/work/demo"),
    ],
)
def test_kernel_working_dir_stays_in_the_mount(requested, expected):
    assert kernel_launcher.working_dir(requested, "/work/demo") == expected


def test_kernel_launcher_reports_missing_settings(capsys, monkeypatch):
    monkeypatch.delenv("KERNEL_IMAGE", raising=False)
    assert kernel_launcher.main(LAUNCHER_ARGS) == 1
    assert "missing environment variable(s): KERNEL_IMAGE" in capsys.readouterr().err


def test_shipped_python_kernelspec_uses_docker_process_proxy():
    spec = json.loads((SHIPPED_KERNELSPECS / "python3" / "kernel.json").read_text())
    proxy = spec["metadata"]["process_proxy"]
    assert proxy["class_name"].endswith("docker_swarm.DockerProcessProxy")
    assert proxy["config"]["image_name"] == "orchest-ext/kernel:latest"
    assert spec["env"]["GP_DOCKER_MODE"] == "docker"
    assert spec["argv"][:3] == ["python", "-m", "orchest_ext.kernel_launcher"]
    assert "{response_address}" in spec["argv"]


# -- real server processes: restart reconciliation and shutdown ------------------------------


def server_wait(server: ServerProcess, pipeline_uuid: str, wanted: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        code, launch = server.request("GET", f"/orchest/api/launches/{pipeline_uuid}")
        assert code == 200, launch
        if launch["status"] in wanted:
            return launch
        assert time.monotonic() < deadline, launch
        time.sleep(0.1)


def server_launch(server: ServerProcess, pipeline_dir: str) -> str:
    pipeline_uuid = new_uuid()
    code, launch = server.request(
        "POST",
        "/orchest/api/launches",
        {"pipeline_uuid": pipeline_uuid, "pipeline_dir": pipeline_dir},
    )
    assert code == 202, launch
    return pipeline_uuid


def server_stop(server: ServerProcess, pipeline_uuid: str) -> None:
    code, launch = server.request("DELETE", f"/orchest/api/launches/{pipeline_uuid}")
    assert code == 202, launch
    deadline = time.monotonic() + 60
    while server.request("GET", f"/orchest/api/launches/{pipeline_uuid}")[0] != 404:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def session_answers(launch: dict[str, Any]) -> bool:
    import urllib.request

    info = launch["server_info"]
    request = urllib.request.Request(
        f"{info['url']}api/status", headers={"Authorization": f"token {info['token']}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status == 200


@pytest.fixture
def server_root(tmp_path: Path, session_images) -> Path:
    """A root dir with two pipeline dirs; its sessions are removed afterwards."""
    root = tmp_path / "root"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
    yield root
    remove_scope(default_scope(root))


@pytest.mark.docker
def test_restart_adopts_complete_sessions_and_removes_partial_ones(server_root, tmp_path):
    first = ServerProcess(server_root, tmp_path / "state").start()
    try:
        complete = server_launch(first, "a")
        partial = server_launch(first, "b")
        kept = server_wait(first, complete, {"RUNNING", "FAILED"})
        broken = server_wait(first, partial, {"RUNNING", "FAILED"})
        assert kept["status"] == broken["status"] == "RUNNING"
    finally:
        first.kill()
    assert docker("rm", "-f", f"orchest-{broken['session_id']}-server").returncode == 0

    second = ServerProcess(server_root, tmp_path / "state").start()
    try:
        adopted = server_wait(second, complete, {"RUNNING"})
        assert adopted["session_id"] == kept["session_id"]
        assert adopted["server_info"] == kept["server_info"]
        assert session_answers(adopted)
        assert second.request("GET", f"/orchest/api/launches/{partial}")[0] == 404
        assert_nothing_left(broken["session_id"])
        code, listing = second.request("GET", "/orchest/api/launches")
        assert code == 200
        assert [s["pipeline_uuid"] for s in listing["launches"]] == [complete]

        server_stop(second, complete)
        assert_nothing_left(kept["session_id"])
    finally:
        second.stop()


@pytest.mark.docker
def test_server_shutdown_stops_sessions_unless_kept(server_root, tmp_path):
    server = ServerProcess(server_root, tmp_path / "state").start()
    pipeline_uuid = server_launch(server, "a")
    launch = server_wait(server, pipeline_uuid, {"RUNNING", "FAILED"})
    server.stop()
    assert_nothing_left(launch["session_id"])

    keep = ["--PipelineSessionManager.keep_sessions=True"]
    server = ServerProcess(server_root, tmp_path / "state", keep).start()
    pipeline_uuid = server_launch(server, "a")
    launch = server_wait(server, pipeline_uuid, {"RUNNING", "FAILED"})
    server.stop()
    assert len(session_containers(launch["session_id"])) == 2
    server = ServerProcess(server_root, tmp_path / "state").start()
    try:
        assert server_wait(server, pipeline_uuid, {"RUNNING"})["session_id"] == launch["session_id"]
    finally:
        server.stop()
    assert_nothing_left(launch["session_id"])


@pytest.mark.docker
async def test_a_failing_cleanup_still_ends_launch_and_stop(
    api, sessions, pipeline_dir, tmp_path, monkeypatch
):
    """A clean-up that raises something other than an engine error (a fault injected here:
    it cannot be provoked with a real engine) still ends the launch FAILED and the stop with
    the session removed, so the pipeline can launch again."""
    sessions.kernelspecs_dir = str(tmp_path / "no-kernelspecs")

    async def broken_teardown(session_id: str) -> None:
        raise RuntimeError("injected clean-up fault")

    monkeypatch.setattr(sessions, "_teardown", broken_teardown)
    pipeline_uuid = new_uuid()
    code, launch = await api(
        "POST", "launches", body={"pipeline_uuid": pipeline_uuid, "pipeline_dir": "pipelines/demo"}
    )
    assert code == 202, launch
    failed = await wait_for_status(api, pipeline_uuid, {"FAILED"})
    assert "No kernelspecs" in failed["reason"]
    code, stopping = await api("DELETE", "launches", pipeline_uuid)
    assert code == 202, stopping
    await wait_until_gone(api, pipeline_uuid)
