"""DockerExecutor against a real Docker engine and the real step image."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets import TraitError

from orchest_ext.executors.base import STEP_SDK_PATH, ExecutorUnavailable, StepSpec, spec_to_json
from orchest_ext.executors.containers.docker import DockerExecutor
from orchest_ext.executors.containers.spec import SDK_MOUNT, container_name
from orchest_ext.infra.docker_engine import parse_memory

from .docker_support import (
    STEP_IMAGE,
    SocketProxy,
    project_containers,
    remove_containers,
    require_image,
)
from .helpers import step_spec

pytestmark = pytest.mark.docker


@pytest.fixture
def executor(jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[DockerExecutor]:
    """A DockerExecutor on the test's event loop (the step image must be built)."""
    require_image(STEP_IMAGE)
    ex = DockerExecutor(stop_timeout=1)
    yield ex
    jp_asyncio_loop.run_until_complete(ex.close())


@pytest.fixture
def run_id(request: pytest.FixtureRequest) -> str:
    """A run id unique to the test; its containers are removed afterwards."""
    rid = f"test-{os.getpid()}-{time.monotonic_ns()}"
    request.addfinalizer(lambda: remove_containers(f"orchest_ext.run_id={rid}"))
    return rid


def make_spec(
    tmp_path: Path,
    run_id: str,
    filename: str,
    content: str | nbformat.NotebookNode,
    run_dir: Path | None = None,
    **kw: Any,
) -> StepSpec:
    return step_spec(tmp_path, filename, content, run_id=run_id, run_dir=run_dir, **kw)


def run_containers(run_id: str) -> list[dict[str, str]]:
    return project_containers(f"orchest_ext.run_id={run_id}")


async def wait_running(executor: DockerExecutor, run_id: str, timeout: float = 30) -> dict:
    """The handle of the run's container once it is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await executor.find_step_containers(run_id)
        if found and found[0]["state"] == "running":
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no running container for run {run_id}")


# -- without an engine ---------------------------------------------------------------------


def test_container_names() -> None:
    name = container_name("run/with spaces-and-more", "step:1")
    assert re.fullmatch(r"orchest-run-with-spa-step-1-[0-9a-f]{8}", name)
    same_prefix = "8a1b3c52-6f0e-4e0b-9d43-1c2f2b7a000"
    assert container_name("r", same_prefix + "1") != container_name("r", same_prefix + "2")


def test_memory_sizes() -> None:
    assert parse_memory("512m") == 512 * 1024**2
    assert parse_memory("2g") == 2 * 1024**3
    assert parse_memory("1.5G") == int(1.5 * 1024**3)
    assert parse_memory("1000") == 1000


@pytest.mark.parametrize(
    ("setting", "value"),
    [("memory_limit", "lots"), ("cpu_limit", -1.0), ("gpus", "some"), ("extra_mounts", ["x"])],
)
def test_invalid_settings_name_the_setting(setting: str, value: Any) -> None:
    with pytest.raises(TraitError, match=setting):
        DockerExecutor(**{setting: value})


def test_image_resolution(tmp_path: Path) -> None:
    ex = DockerExecutor(environment_images={"env-1": "env/image:1"})
    spec = make_spec(tmp_path, "r1", "a.sh", "true\n")
    assert ex.image_for(spec) == STEP_IMAGE
    spec.pipeline_image = "pipeline/image:1"
    assert ex.image_for(spec) == "pipeline/image:1"
    spec.environment = "env-1"
    assert ex.image_for(spec) == "env/image:1"
    spec.image = "step/image:1"
    assert ex.image_for(spec) == "step/image:1"


def test_container_config(tmp_path: Path) -> None:
    ex = DockerExecutor(
        cpu_limit=1.5,
        memory_limit="256m",
        gpus="all",
        network="steps",
        extra_mounts=["/data:/data:ro"],
        environment_images={"env-1": "my/env:1"},
    )
    spec = make_spec(
        tmp_path, "r1", "a.sh", "true\n", run_dir=tmp_path / "runs", environment="env-1"
    )
    config = ex.container_config(spec)
    host = config["HostConfig"]
    assert config["Image"] == "my/env:1"
    assert config["User"] == f"{os.getuid()}:{os.getgid()}"
    assert config["WorkingDir"] == str(spec.pipeline_dir / "steps")
    assert config["Labels"]["orchest_ext.run_id"] == "r1"
    assert host["Binds"] == [
        f"{spec.pipeline_dir}:{spec.pipeline_dir}:rw",
        f"{tmp_path / 'runs'}:{tmp_path / 'runs'}:rw",
        f"{STEP_SDK_PATH}:{SDK_MOUNT}:ro",
        "/data:/data:ro",
    ]
    assert host["NanoCpus"] == 1_500_000_000
    assert host["Memory"] == 256 * 1024**2
    assert host["NetworkMode"] == "steps"
    assert host["DeviceRequests"][0]["Count"] == -1


async def test_check_available_bogus_url() -> None:
    ex = DockerExecutor(docker_url="unix:///nonexistent/docker.sock", connect_timeout=2)
    with pytest.raises(ExecutorUnavailable, match=r"unreachable at unix:///nonexistent"):
        await ex.check_available()
    await ex.close()


async def test_unreachable_engine_fails_the_step(tmp_path: Path) -> None:
    ex = DockerExecutor(docker_url="unix:///nonexistent/docker.sock")
    result = await ex.run(make_spec(tmp_path, "r1", "a.sh", "true\n"))
    assert result.status == "FAILURE"
    assert "Docker could not start step container" in result.message
    assert "unix:///nonexistent/docker.sock" in result.message
    await ex.close()


# -- with an engine ------------------------------------------------------------------------


async def test_check_available(executor: DockerExecutor) -> None:
    await executor.check_available()


async def test_shell_step(executor: DockerExecutor, tmp_path: Path, run_id: str) -> None:
    spec = make_spec(
        tmp_path,
        run_id,
        "hello.sh",
        'echo "var=$USER_VAR step=$ORCHEST_STEP_UUID cwd=$(pwd) home=$HOME"\n'
        "echo out > written.txt\n",
    )
    handles: list[dict] = []
    result = await executor.run(spec, handles.append)
    assert result.status == "SUCCESS", result.message
    log = spec.log_path.read_text()
    assert f"var=from-user step=step-1 cwd={spec.working_dir} home=/tmp" in log
    assert handles and handles[0]["container_name"] == container_name(run_id, "step-1")
    written = spec.working_dir / "written.txt"
    assert written.stat().st_uid == os.getuid()
    await executor.removed()
    assert run_containers(run_id) == []


async def test_python_step_with_run_dir_outside_pipeline(
    executor: DockerExecutor, tmp_path: Path, run_id: str
) -> None:
    code = "import os, orchest\nprint('cwd', os.getcwd())\nprint('step', orchest.get_step_uuid())\n"
    spec = make_spec(tmp_path, run_id, "step.py", code, run_dir=tmp_path / "elsewhere" / run_id)
    result = await executor.run(spec)
    assert result.status == "SUCCESS", result.message
    log = spec.log_path.read_text()
    assert f"cwd {spec.working_dir}" in log
    assert "step step-1" in log
    assert spec.log_path.stat().st_uid == os.getuid()
    await executor.removed()
    assert run_containers(run_id) == []


async def test_notebook_step(executor: DockerExecutor, tmp_path: Path, run_id: str) -> None:
    nb = new_notebook(cells=[new_code_cell("import os\nprint('nb says', os.environ['USER_VAR'])")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    spec = make_spec(tmp_path, run_id, "step.ipynb", nb)
    result = await executor.run(spec)
    assert result.status == "SUCCESS", result.message
    assert "nb says from-user" in spec.log_path.read_text()
    executed = nbformat.read(spec.output_notebook_path, as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "nb says from-user\n"
    assert spec.output_notebook_path.stat().st_uid == os.getuid()
    await executor.removed()
    assert run_containers(run_id) == []


async def test_failing_step(executor: DockerExecutor, tmp_path: Path, run_id: str) -> None:
    spec = make_spec(tmp_path, run_id, "fail.sh", "echo boom\nexit 3\n")
    result = await executor.run(spec)
    assert result.status == "FAILURE"
    assert "exited with code 3" in result.message
    assert "boom" in result.message
    await executor.removed()
    assert run_containers(run_id) == []


async def test_failing_notebook(executor: DockerExecutor, tmp_path: Path, run_id: str) -> None:
    nb = new_notebook(cells=[new_code_cell("raise ValueError('nb broke')")])
    spec = make_spec(tmp_path, run_id, "bad.ipynb", nb)
    result = await executor.run(spec)
    assert result.status == "FAILURE"
    assert "nb broke" in result.message
    await executor.removed()
    assert run_containers(run_id) == []


async def test_out_of_memory(tmp_path: Path, run_id: str) -> None:
    require_image(STEP_IMAGE)
    ex = DockerExecutor(memory_limit="64m")
    spec = make_spec(tmp_path, run_id, "hog.py", "x = bytearray(400 * 1024 * 1024)\n")
    result = await ex.run(spec)
    assert result.status == "FAILURE"
    assert "ran out of memory (memory_limit=64m)" in result.message
    assert "OOMKilled" in result.message and "exit code 137" in result.message
    await ex.removed()
    assert run_containers(run_id) == []
    await ex.close()


async def test_missing_step_file(executor: DockerExecutor, tmp_path: Path, run_id: str) -> None:
    spec = make_spec(tmp_path, run_id, "gone.sh", "true\n")
    spec.source_path.unlink()
    result = await executor.run(spec)
    assert result.status == "FAILURE"
    assert result.message == "Step file not found: steps/gone.sh"


async def test_keep_failed_container(tmp_path: Path, run_id: str) -> None:
    require_image(STEP_IMAGE)
    ex = DockerExecutor(keep_failed_containers=True)
    spec = make_spec(tmp_path, run_id, "fail.sh", "exit 1\n")
    handles: list[dict] = []
    result = await ex.run(spec, handles.append)
    assert result.status == "FAILURE"
    assert len(run_containers(run_id)) == 1
    await ex.cleanup_orphan(handles[0])
    assert run_containers(run_id) == []
    await ex.close()


async def test_missing_image_fails_fast(tmp_path: Path, run_id: str) -> None:
    require_image(STEP_IMAGE)
    ex = DockerExecutor(environment_images={"env-x": "orchest-ext/not-built:never"})
    spec = make_spec(tmp_path, run_id, "a.sh", "true\n", environment="env-x")
    result = await ex.run(spec)
    assert result.status == "FAILURE"
    assert "orchest-ext/not-built:never" in result.message
    assert "jupyter orchest images build" in result.message
    await ex.close()


SLOW_NOTEBOOK = new_notebook(cells=[new_code_cell("import time\ntime.sleep(60)")])


@pytest.mark.parametrize(
    ("filename", "content"), [("slow.sh", "sleep 60\n"), ("slow.ipynb", SLOW_NOTEBOOK)]
)
async def test_cancel_removes_container(
    executor: DockerExecutor, tmp_path: Path, run_id: str, filename: str, content: Any
) -> None:
    spec = make_spec(tmp_path, run_id, filename, content)
    task = asyncio.ensure_future(executor.run(spec))
    await wait_running(executor, run_id)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert run_containers(run_id) == []


async def test_engine_lost_mid_run(tmp_path: Path, run_id: str) -> None:
    require_image(STEP_IMAGE)
    proxy = SocketProxy(str(tmp_path / "docker.sock"))
    await proxy.start()
    ex = DockerExecutor(docker_url=proxy.url, connect_timeout=2)
    spec = make_spec(tmp_path, run_id, "slow.sh", "sleep 60\n")
    task = asyncio.ensure_future(ex.run(spec))
    await wait_running(ex, run_id)
    await proxy.cut()
    result = await asyncio.wait_for(task, 10)
    assert result.status == "FAILURE"
    assert "Lost the Docker engine" in result.message
    assert container_name(run_id, "step-1") in result.message
    await ex.close()


SERVER_SCRIPT = """
import asyncio, json, sys
from orchest_ext.executors.base import spec_from_json
from orchest_ext.executors.containers.docker import DockerExecutor

spec = spec_from_json(sys.argv[1])
asyncio.run(DockerExecutor().run(spec, lambda h: print(json.dumps(h), flush=True)))
"""


async def start_in_dying_server(spec: StepSpec) -> dict[str, Any]:
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
async def test_reattach_follows_running_container(
    executor: DockerExecutor, tmp_path: Path, run_id: str, with_handle: bool
) -> None:
    spec = make_spec(tmp_path, run_id, "slow.sh", "echo begin\nsleep 2\necho end\nexit 4\n")
    handle = await start_in_dying_server(spec)
    assert [c["State"] for c in run_containers(run_id)] == ["running"]
    result = await executor.reattach(spec, handle if with_handle else {})
    assert result is not None
    assert result.status == "FAILURE"
    assert "exited with code 4" in result.message
    assert "end" in spec.log_path.read_text()
    await executor.removed()
    assert run_containers(run_id) == []


async def test_reattach_without_container_or_result(
    executor: DockerExecutor, tmp_path: Path, run_id: str
) -> None:
    spec = make_spec(tmp_path, run_id, "a.sh", "true\n")
    assert await executor.reattach(spec, {}) is None


async def test_find_and_cleanup_orphans(
    executor: DockerExecutor, tmp_path: Path, run_id: str
) -> None:
    spec = make_spec(tmp_path, run_id, "slow.sh", "sleep 60\n")
    handle = await start_in_dying_server(spec)
    found = await executor.find_step_containers(run_id)
    assert [(c["container_id"], c["step_uuid"]) for c in found] == [
        (handle["container_id"], "step-1")
    ]
    await executor.cleanup_orphan(handle)
    assert await executor.find_step_containers(run_id) == []
