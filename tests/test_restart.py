"""A server killed mid-run: the next server process on the same store settles the run."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import time
from pathlib import Path

import psutil
import pytest
import websocket

from orchest_ext.events import RUN_STATUS

from .docker_support import (
    project_containers,
    project_services,
    require_image,
    require_swarm,
    wait_until_no_containers,
)
from .helpers import TERMINAL, make_pipeline, notebook
from .server import ServerProcess


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


def wait_for_stored_handle(db, run_id: str, timeout: float = 30) -> None:
    """Wait until the store holds the handle of a running step of ``run_id`` (what the next
    server needs to find its process)."""
    deadline = time.monotonic() + timeout
    query = "SELECT handle FROM steps WHERE run_id = ? AND handle IS NOT NULL"
    while True:
        with contextlib.closing(sqlite3.connect(db)) as connection:
            if connection.execute(query, (run_id,)).fetchone():
                return
        assert time.monotonic() < deadline, "the step's handle was never stored"
        time.sleep(0.05)


def start_sleeper_run(server: ServerProcess, root: Path) -> tuple[dict, int]:
    """A local run of "Sleeper" (300 s) then "After"; returns it and Sleeper's pid once the
    step runs."""
    script = 'echo $$ > "$ORCHEST_STEP_DIR/pid"\nsleep 300\n'
    make_pipeline(
        root / "p",
        {"Sleeper": ("sleeper.sh", script, []), "After": ("after.sh", "echo after\n", ["Sleeper"])},
    )
    code, run = server.request("POST", "/orchest/api/runs", {"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, run
    pid_file = root / "p" / ".orchest" / "runs" / run["id"] / "steps"
    pid_file = pid_file / run["steps"][0]["uuid"] / "pid"
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    return run, int(pid_file.read_text())


def test_local_run_in_flight_is_marked_failure_after_a_crash(servers, tmp_path):
    first = servers()
    run, step_pid = start_sleeper_run(first, tmp_path / "root")
    wait_for_stored_handle(tmp_path / "state" / "orchest.db", run["id"])
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


def test_a_graceful_shutdown_records_local_runs_aborted(servers, tmp_path):
    first = servers()
    run, step_pid = start_sleeper_run(first, tmp_path / "root")
    first.stop()
    assert first.process.returncode is not None

    with contextlib.closing(sqlite3.connect(tmp_path / "state" / "orchest.db")) as db:
        status, message = db.execute(
            "SELECT status, message FROM runs WHERE id = ?", (run["id"],)
        ).fetchone()
        steps = dict(db.execute("SELECT title, status FROM steps WHERE run_id = ?", (run["id"],)))
    assert (status, message) == ("ABORTED", "the server shut down")
    assert steps == {"Sleeper": "ABORTED", "After": "ABORTED"}
    assert not psutil.pid_exists(step_pid)


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


def subscribe(server: ServerProcess) -> websocket.WebSocket:
    return websocket.create_connection(
        f"ws://127.0.0.1:{server.port}/api/events/subscribe",
        header=[f"Authorization: token {server.token}"],
    )


def read_events(ws, run_id: str, until, timeout: float = 120) -> list[dict]:
    """Events of ``run_id`` from an events websocket, up to the first one ``until`` accepts."""
    events = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        event = json.loads(ws.recv())
        if event.get("run_id") != run_id:
            continue
        events.append(event)
        if until(event):
            return events
    raise AssertionError(f"no such event in {timeout} s: {events}")


def run_ended(event: dict) -> bool:
    return event["schema_id"] == RUN_STATUS and event["status"] in TERMINAL


def step_started(title: str):
    return lambda event: event.get("title") == title and event["status"] == "STARTED"


def start_docker_run(
    server: ServerProcess, tmp_path, steps: dict, backend: str = "docker"
) -> tuple[dict, list[dict]]:
    """Submit a docker (or swarm) run and wait (on its events) until its first step runs in a
    container."""
    make_pipeline(tmp_path / "root" / "p", steps)
    ws = subscribe(server)
    try:
        body = {"pipeline_path": "p/pipeline.orchest", "backend": backend}
        code, run = server.request("POST", "/orchest/api/runs", body)
        assert code == 202, run
        events = read_events(ws, run["id"], step_started(next(iter(steps))))
    finally:
        ws.close()
    deadline = time.monotonic() + 60
    while not project_containers(f"orchest_ext.run_id={run['id']}"):
        assert time.monotonic() < deadline, "the step container never appeared"
        time.sleep(0.1)
    return run, events


def assert_continues(before: list[dict], after: list[dict]) -> None:
    """The events after a restart continue the sequence a client saw before it."""
    seqs = [e["seq"] for e in before + after]
    assert seqs == list(range(1, len(seqs) + 1)), seqs


@pytest.mark.parametrize("backend", ["docker", "swarm"])
def test_container_run_continues_after_a_crash(servers, tmp_path, backend):
    require_swarm() if backend == "swarm" else require_image()
    first = servers()
    run, before = start_docker_run(
        first,
        tmp_path,
        {
            "Slow": ("slow.sh", "sleep 8\necho slow done\n", []),
            "After": ("after.py", "print('after ran')\n", ["Slow"]),
        },
        backend,
    )
    first.kill()

    second = servers()
    ws = subscribe(second)
    try:
        events = read_events(ws, run["id"], run_ended)
    finally:
        ws.close()
    settled = second.wait_for_run(run["id"])
    assert settled["status"] == "SUCCESS", settled
    seen = [(e.get("title"), e["status"]) for e in events]
    assert ("Slow", "SUCCESS") in seen
    assert ("After", "STARTED") in seen and ("After", "SUCCESS") in seen
    assert seen[-1] == (None, "SUCCESS")
    assert_continues(before, events)
    log = second.request(
        "GET", f"/orchest/api/runs/{run['id']}/steps/{settled['steps'][0]['uuid']}/log"
    )
    assert "slow done" in log[1]["text"]
    wait_until_no_containers(f"orchest_ext.run_id={run['id']}")
    assert not project_services(f"orchest_ext.run_id={run['id']}")


def test_a_restart_removes_the_container_waiting_for_a_step_never_started(servers, tmp_path):
    """A container started ahead (with its kernel) for a step the killed server never started
    is removed by the next server, whose step then runs in a container of its own."""
    require_image()
    first = servers()
    write_host = "import socket\nopen('host-After', 'w').write(socket.gethostname())"
    run, _ = start_docker_run(
        first,
        tmp_path,
        {
            "Slow": ("slow.sh", "sleep 4\n", []),
            "After": ("after.ipynb", notebook(write_host), ["Slow"]),
        },
    )
    after = next(step["uuid"] for step in run["steps"] if step["title"] == "After")
    labels = (f"orchest_ext.run_id={run['id']}", f"orchest_ext.step_uuid={after}")
    deadline = time.monotonic() + 30
    while [c["State"] for c in project_containers(*labels)] != ["running"]:
        assert time.monotonic() < deadline, "no container was started ahead for After"
        time.sleep(0.05)
    (waiting,) = project_containers(*labels)
    first.kill()

    settled = servers().wait_for_run(run["id"])
    assert settled["status"] == "SUCCESS", settled
    used = (tmp_path / "root" / "p" / "host-After").read_text()
    assert used != waiting["ID"][:12]
    wait_until_no_containers(f"orchest_ext.run_id={run['id']}")


def test_a_graceful_shutdown_leaves_docker_runs_to_the_next_server(servers, tmp_path):
    require_image()
    first = servers()
    run, before = start_docker_run(
        first,
        tmp_path,
        {
            "Slow": ("slow.sh", "sleep 6\necho slow done\n", []),
            "After": ("after.sh", "echo after ran\n", ["Slow"]),
        },
    )
    first.stop()
    assert first.process.returncode is not None
    running = project_containers(f"orchest_ext.run_id={run['id']}")
    assert [c["State"] for c in running] == ["running"], running

    second = servers()
    ws = subscribe(second)
    try:
        events = read_events(ws, run["id"], run_ended)
    finally:
        ws.close()
    settled = second.wait_for_run(run["id"])
    assert settled["status"] == "SUCCESS", settled
    assert [(e.get("title"), e["status"]) for e in events][-1] == (None, "SUCCESS")
    assert_continues(before, events)
    wait_until_no_containers(f"orchest_ext.run_id={run['id']}")


def test_a_resumed_step_keeps_its_step_timeout(servers, tmp_path):
    require_image()
    timeout = ["--OrchestApp.step_timeout=5"]
    first = servers(extra_args=timeout)
    run, _ = start_docker_run(first, tmp_path, {"Forever": ("forever.sh", "sleep 300\n", [])})
    first.kill()

    second = servers(extra_args=timeout)
    settled = second.wait_for_run(run["id"], timeout=90)
    assert settled["status"] == "FAILURE", settled
    assert settled["steps"][0]["message"] == "timed out after 5 s"
    deadline = time.monotonic() + 30
    while project_containers(f"orchest_ext.run_id={run['id']}"):
        assert time.monotonic() < deadline, "the timed-out step's container is still there"
        time.sleep(0.1)


# -- two servers, one store ------------------------------------------------------------------

WAIT_FOR_GO = (
    'echo $$ > "$ORCHEST_STEP_DIR/pid"\n'
    'while [ ! -e "$ORCHEST_STEP_DIR/go" ]; do sleep 0.05; done\n'
    "echo released\n"
)
LEASE = ["--OrchestApp.server_lease=0.6"]


def start_waiting_run(server: ServerProcess, root) -> tuple[dict, Path]:
    """A local run whose only step waits for a ``go`` file; returns it and its step dir once
    the step runs."""
    make_pipeline(root / "p", {"Waiter": ("waiter.sh", WAIT_FOR_GO, [])})
    code, run = server.request("POST", "/orchest/api/runs", {"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, run
    step_dir = root / "p" / ".orchest" / "runs" / run["id"] / "steps" / run["steps"][0]["uuid"]
    deadline = time.monotonic() + 30
    while not (step_dir / "pid").exists() or not (step_dir / "pid").read_text().strip():
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    return run, step_dir


def wait_for_heartbeats(db: Path, beats: int = 3, timeout: float = 30) -> None:
    """Wait until every server registered in the store has written ``beats`` new heartbeats
    (each heartbeat of a server is followed by its look for runs to recover)."""

    def heartbeats() -> dict[str, float]:
        with contextlib.closing(sqlite3.connect(db)) as connection:
            return dict(connection.execute("SELECT id, heartbeat FROM owners"))

    seen = {owner: [beat] for owner, beat in heartbeats().items()}
    deadline = time.monotonic() + timeout
    while any(len(set(beats_)) <= beats for beats_ in seen.values()):
        assert time.monotonic() < deadline, f"heartbeats stalled: {seen}"
        time.sleep(0.05)
        for owner, beat in heartbeats().items():
            seen.setdefault(owner, []).append(beat)


def test_a_second_server_on_the_same_store_leaves_a_live_servers_runs_alone(servers, tmp_path):
    root = tmp_path / "root"
    first = servers(extra_args=LEASE)
    run, step_dir = start_waiting_run(first, root)
    second = servers(extra_args=LEASE)
    code, seen = second.request("GET", f"/orchest/api/runs/{run['id']}")
    assert code == 200 and seen["status"] == "STARTED", seen
    wait_for_heartbeats(tmp_path / "state" / "orchest.db")

    for server in (first, second):
        code, seen = server.request("GET", f"/orchest/api/runs/{run['id']}")
        assert code == 200 and seen["status"] == "STARTED", seen
    assert psutil.pid_exists(int((step_dir / "pid").read_text()))
    code, refused = second.request("DELETE", f"/orchest/api/runs/{run['id']}")
    assert code == 409 and f"pid {first.process.pid} " in refused["message"], refused
    (step_dir / "go").touch()
    settled = first.wait_for_run(run["id"])
    assert settled["status"] == "SUCCESS", settled
    assert second.wait_for_run(run["id"])["status"] == "SUCCESS"


def test_a_server_settles_the_runs_of_a_server_that_died_beside_it(servers, tmp_path):
    root = tmp_path / "root"
    first = servers(extra_args=LEASE)
    run, step_dir = start_waiting_run(first, root)
    second = servers(extra_args=LEASE)
    step_pid = int((step_dir / "pid").read_text())
    first.kill()

    settled = second.wait_for_run(run["id"], timeout=30)
    assert settled["status"] == "FAILURE"
    assert settled["steps"][0]["message"] == "the server stopped while this step ran"
    deadline = time.monotonic() + 10
    while psutil.pid_exists(step_pid) and psutil.Process(step_pid).status() != "zombie":
        assert time.monotonic() < deadline, "the dead server's step process is still running"
        time.sleep(0.1)


def test_a_server_lists_only_the_runs_under_its_root_dir(tmp_path):
    make_pipeline(tmp_path / "root" / "p", {"A": ("a.sh", "echo a\n", [])})
    (tmp_path / "other").mkdir()
    db = tmp_path / "state" / "orchest.db"
    first = ServerProcess(tmp_path / "root", tmp_path / "state").start()
    other = ServerProcess(tmp_path / "other", tmp_path / "other-state", db_path=db).start()
    try:
        _, run = first.request("POST", "/orchest/api/runs", {"pipeline_path": "p/pipeline.orchest"})
        assert first.wait_for_run(run["id"])["status"] == "SUCCESS"
        code, listed = first.request("GET", "/orchest/api/runs")
        assert code == 200 and [r["id"] for r in listed["runs"]] == [run["id"]]
        code, listed = other.request("GET", "/orchest/api/runs")
        assert code == 200 and (listed["runs"], listed["total"]) == ([], 0)
        code, _ = other.request("GET", f"/orchest/api/runs/{run['id']}")
        assert code == 404
        code, _ = other.request("DELETE", f"/orchest/api/runs/{run['id']}")
        assert code == 404
        with contextlib.closing(sqlite3.connect(db)) as connection:
            assert connection.execute("SELECT COUNT(*) FROM owners").fetchone()[0] == 2
    finally:
        other.stop()
        first.stop()


def test_a_docker_run_using_the_cache_decides_again_after_a_crash(servers, tmp_path):
    """A step waiting for its parent with a cache hit, when the server dies, is decided again
    by the next server and reuses the earlier result once the parent has finished."""
    require_image()
    _, uuids = make_pipeline(
        tmp_path / "root" / "p",
        {
            "Slow": ("slow.sh", "sleep 4\necho slow\n", []),
            "After": ("after.sh", "echo after\n", ["Slow"]),
        },
    )
    body = {"pipeline_path": "p/pipeline.orchest", "backend": "docker", "cache": "use"}
    first = servers()
    code, earlier = first.request("POST", "/orchest/api/runs", body)
    assert code == 202, earlier
    earlier = first.wait_for_run(earlier["id"])
    assert earlier["status"] == "SUCCESS", earlier
    shutil.rmtree(Path(earlier["run_dir"]) / "steps" / uuids["Slow"])
    code, run = first.request("POST", "/orchest/api/runs", body)
    assert code == 202, run
    wait_for_stored_handle(first.db_path, run["id"])
    first.kill()

    settled = servers().wait_for_run(run["id"])
    assert settled["status"] == "SUCCESS", settled
    steps = {step["title"]: step for step in settled["steps"]}
    assert steps["Slow"]["run_reason"] == "source_missing" and not steps["Slow"]["cached"]
    assert steps["After"]["cached"] and steps["After"]["cached_from"] == earlier["id"]
    wait_until_no_containers(f"orchest_ext.run_id={run['id']}")
