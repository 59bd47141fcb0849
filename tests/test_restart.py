"""A server killed mid-run: the next server process on the same store settles the run."""

from __future__ import annotations

import time

import psutil
import pytest

from .helpers import make_pipeline
from .servers import ServerProcess


@pytest.fixture
def servers(tmp_path):
    started: list[ServerProcess] = []

    def start(**kwargs) -> ServerProcess:
        server = ServerProcess(tmp_path / "root", tmp_path / "state", **kwargs).start()
        started.append(server)
        return server

    (tmp_path / "root").mkdir()
    yield start
    for server in started:
        server.stop()


def test_local_run_in_flight_is_marked_failure_after_a_crash(servers, tmp_path):
    script = 'echo $$ > "$ORCHEST_STEP_DIR/pid"\nsleep 300\n'
    make_pipeline(
        tmp_path / "root" / "p",
        {"Sleeper": ("sleeper.sh", script, []), "After": ("after.sh", "echo after\n", ["Sleeper"])},
    )
    first = servers()
    code, run = first.request("POST", "/orchest/api/runs", {"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, run
    pid_file = tmp_path / "root" / "p" / ".orchest" / "runs" / run["id"] / "steps"
    pid_file = pid_file / run["steps"][0]["uuid"] / "pid"
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    step_pid = int(pid_file.read_text())
    time.sleep(0.5)

    first.kill()
    assert psutil.pid_exists(step_pid), "the step should outlive a SIGKILLed server"

    second = servers()
    code, settled = second.request("GET", f"/orchest/api/runs/{run['id']}")
    assert code == 200
    assert settled["status"] == "FAILURE"
    assert "server" in settled["message"]
    statuses = {step["title"]: step["status"] for step in settled["steps"]}
    assert statuses == {"Sleeper": "FAILURE", "After": "ABORTED"}
    deadline = time.monotonic() + 10
    while psutil.pid_exists(step_pid) and psutil.Process(step_pid).status() != "zombie":
        assert time.monotonic() < deadline, "the orphaned step process is still running"
        time.sleep(0.1)


def test_finished_runs_survive_a_restart(servers, tmp_path):
    make_pipeline(tmp_path / "root" / "p", {"A": ("a.sh", "echo a\n", [])})
    first = servers()
    _, run = first.request("POST", "/orchest/api/runs", {"pipeline_path": "p/pipeline.orchest"})
    assert first.wait_for_run(run["id"])["status"] == "SUCCESS"
    first.stop()
    second = servers()
    code, runs = second.request("GET", "/orchest/api/runs")
    assert code == 200 and [r["id"] for r in runs["runs"]] == [run["id"]]
    assert runs["runs"][0]["status"] == "SUCCESS"
