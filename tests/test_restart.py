"""A server killed mid-run: the next server process on the same store settles the run."""

from __future__ import annotations

import json
import time

import psutil
import pytest
import websocket

from orchest_ext.events import RUN_STATUS
from orchest_ext.testing import ServerProcess

from .docker_support import project_containers, require_image
from .helpers import TERMINAL, make_pipeline


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


def read_events(ws, run_id: str, timeout: float = 120) -> list[dict]:
    """Events of ``run_id`` from an events websocket, until its run_status is terminal."""
    events = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        event = json.loads(ws.recv())
        if event.get("run_id") != run_id:
            continue
        events.append(event)
        if event["schema_id"] == RUN_STATUS and event["status"] in TERMINAL:
            return events
    raise AssertionError(f"no terminal run event in {timeout} s: {events}")


def test_docker_run_continues_after_a_crash(servers, tmp_path):
    require_image()
    make_pipeline(
        tmp_path / "root" / "p",
        {
            "Slow": ("slow.sh", "sleep 8\necho slow done\n", []),
            "After": ("after.py", "print('after ran')\n", ["Slow"]),
        },
    )
    first = servers()
    body = {"pipeline_path": "p/pipeline.orchest", "backend": "docker"}
    code, run = first.request("POST", "/orchest/api/runs", body)
    assert code == 202, run
    deadline = time.monotonic() + 30
    while not project_containers(f"orchest_ext.run_id={run['id']}"):
        assert time.monotonic() < deadline, "the step container never appeared"
        time.sleep(0.1)
    time.sleep(0.5)
    first.kill()

    second = servers()
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{second.port}/api/events/subscribe",
        header=[f"Authorization: token {second.token}"],
    )
    try:
        events = read_events(ws, run["id"])
    finally:
        ws.close()
    settled = second.wait_for_run(run["id"])
    assert settled["status"] == "SUCCESS", settled
    seen = [(e.get("title"), e["status"]) for e in events]
    assert ("Slow", "SUCCESS") in seen
    assert ("After", "STARTED") in seen and ("After", "SUCCESS") in seen
    assert seen[-1] == (None, "SUCCESS")
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    log = second.request(
        "GET", f"/orchest/api/runs/{run['id']}/steps/{settled['steps'][0]['uuid']}/log"
    )
    assert "slow done" in log[1]["text"]
    assert not project_containers(f"orchest_ext.run_id={run['id']}")
