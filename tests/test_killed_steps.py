"""A step's process or kernel killed from outside (``kill -9``, as the OOM killer does), or a
container over its memory limit (a real cgroup OOM kill): the
step fails naming the signal and exit code, its descendants are aborted, the run ends."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from .docker_support import require_image
from .helpers import make_pipeline, notebook, wait_for_run

PID_WAIT = 60.0
MEMORY_LIMIT = "64m"


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {**jp_server_config, "DockerExecutor": {"memory_limit": MEMORY_LIMIT}}


async def pid_written(path: Path) -> int:
    """The pid a step wrote to ``path``, once it is there."""
    deadline = time.monotonic() + PID_WAIT
    while True:
        text = path.read_text().strip() if path.exists() else ""
        if text.isdigit():
            return int(text)
        assert time.monotonic() < deadline, f"no pid in {path} after {PID_WAIT} s"
        await asyncio.sleep(0.05)


async def kill_and_check(api, jp_root_dir: Path, first: tuple[str, str]) -> None:
    directory = jp_root_dir / "p"
    _, uuids = make_pipeline(
        directory,
        {
            "Killed": (*first, []),
            "Child": ("child.sh", "echo child ran\n", ["Killed"]),
            "Grandchild": ("grandchild.sh", "echo grandchild ran\n", ["Child"]),
        },
    )
    code, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, run
    os.kill(await pid_written(directory / "pid"), signal.SIGKILL)
    finished = await wait_for_run(api, run["id"])
    steps = {step["uuid"]: step for step in finished["steps"]}
    killed = steps[uuids["Killed"]]
    assert killed["status"] == "FAILURE"
    assert "killed by signal SIGKILL (exit code 137)" in killed["message"], killed
    for title in ("Child", "Grandchild"):
        assert steps[uuids[title]]["status"] == "ABORTED", steps[uuids[title]]
    assert finished["status"] == "FAILURE"


async def test_a_killed_step_process_fails_its_step_naming_the_signal(api, jp_root_dir):
    await kill_and_check(api, jp_root_dir, ("killed.sh", "echo $$ > pid\nexec sleep 120\n"))


async def test_a_killed_kernel_fails_its_step_naming_the_signal(api, jp_root_dir):
    source = notebook(
        "import os\nopen('pid', 'w').write(str(os.getpid()))",
        "import time\ntime.sleep(120)",
    )
    await kill_and_check(api, jp_root_dir, ("killed.ipynb", source))


async def test_a_container_over_its_memory_limit_fails_its_step_as_oom_killed(api, jp_root_dir):
    require_image()
    _, uuids = make_pipeline(
        jp_root_dir / "p",
        {
            "Hog": ("hog.py", "x = bytearray(400 * 1024 * 1024)\n", []),
            "Child": ("child.sh", "echo child ran\n", ["Hog"]),
        },
    )
    code, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": "docker"}
    )
    assert code == 202, run
    finished = await wait_for_run(api, run["id"])
    steps = {step["uuid"]: step for step in finished["steps"]}
    hog = steps[uuids["Hog"]]
    assert hog["status"] == "FAILURE"
    assert f"memory_limit={MEMORY_LIMIT}" in hog["message"] and "OOMKilled" in hog["message"]
    assert "exit code 137" in hog["message"], hog
    assert steps[uuids["Child"]]["status"] == "ABORTED"
    assert finished["status"] == "FAILURE"
