"""A full disk, for real: the run database and the run directories live on a small tmpfs the
test mounts (the tests run as root; a mount that fails fails the test) and fills."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket

from orchest_ext.events import RUN_STATUS

from .helpers import make_pipeline
from .server import TERMINAL, ServerProcess

DISK_SIZE = "24m"
RUN_BODY = {"pipeline_path": "p/pipeline.orchest"}


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of ``DISK_SIZE`` mounted for the test."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(mount_point)],
        check=True,
        capture_output=True,
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


@pytest.fixture
def server(disk: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(disk / "root", tmp_path / "state", db_path=disk / "orchest.db")
    (disk / "root").mkdir()
    try:
        yield process.start()
    finally:
        process.stop()


def fill(disk: Path) -> Path:
    """Write a file until the filesystem has no byte left; delete it to free the space."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle:
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * size)
    return filler


def wait_until(what: str, check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.05)
    return result


def health(server: ServerProcess) -> tuple[int, dict]:
    return server.request("GET", "/orchest/api/health")


def test_a_full_disk_refuses_writes_with_507_naming_the_path_and_recovers_without_restart(
    server: ServerProcess, disk: Path
):
    make_pipeline(disk / "root" / "p", {"Echo": ("echo.sh", "echo hello\n", [])})
    code, before = server.request("POST", "/orchest/api/runs", RUN_BODY)
    assert code == 202, before
    assert server.wait_for_run(before["id"])["status"] == "SUCCESS"
    assert health(server) == (200, health(server)[1]) and health(server)[1]["healthy"]

    filler = fill(disk)
    for method, path, body in (
        ("POST", "/orchest/api/runs", RUN_BODY),
        ("POST", "/orchest/api/jobs", {**RUN_BODY, "schedule": {"cron": "0 3 * * *"}}),
    ):
        code, refused = server.request(method, path, body)
        assert code == 507, (path, code, refused)
        assert "no space left on" in refused["message"] and str(disk) in refused["message"]
    code, unhealthy = health(server)
    assert code == 503 and not unhealthy["healthy"], unhealthy
    assert any(str(disk) in reason for reason in unhealthy["reasons"]), unhealthy
    code, shown = server.request("GET", f"/orchest/api/runs/{before['id']}")
    assert code == 200 and shown["status"] == "SUCCESS"
    assert server.request("GET", "/orchest/api/runs")[0] == 200

    filler.unlink()
    code, healthy = health(server)
    assert code == 200 and healthy["healthy"], healthy
    code, after = server.request("POST", "/orchest/api/runs", RUN_BODY)
    assert code == 202, after
    assert server.wait_for_run(after["id"])["status"] == "SUCCESS"


WRITE_WHEN_TOLD = """\
import os, time
import orchest
go = os.environ["GO_FILE"]
open(os.environ["READY_FILE"], "w").close()
while not os.path.exists(go):
    time.sleep(0.05)
orchest.output(b"x" * 4_000_000, name="big")
"""


def test_a_step_writing_to_a_full_disk_fails_saying_so_and_no_event_is_lost(
    server: ServerProcess, disk: Path, tmp_path: Path
):
    signals = tmp_path / "signals"
    signals.mkdir()
    make_pipeline(
        disk / "root" / "p",
        {
            "Writer": ("writer.py", WRITE_WHEN_TOLD, []),
            "Reader": ("reader.py", "print('never')\n", ["Writer"]),
        },
    )
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{server.port}/api/events/subscribe",
        header=[f"Authorization: token {server.token}"],
    )
    env = {"GO_FILE": str(signals / "go"), "READY_FILE": str(signals / "ready")}
    code, run = server.request("POST", "/orchest/api/runs", {**RUN_BODY, "env": env})
    assert code == 202, run
    wait_until("the writer step started", (signals / "ready").exists)

    filler = fill(disk)
    (signals / "go").touch()

    def writer_ended() -> dict | None:
        shown = server.request("GET", f"/orchest/api/runs/{run['id']}")[1]
        return shown if shown["status"] in TERMINAL else None

    ended = wait_until("the run ended on the full disk", writer_ended)
    steps = {step["title"]: step for step in ended["steps"]}
    assert ended["status"] == "FAILURE", ended
    assert steps["Writer"]["status"] == "FAILURE"
    assert steps["Writer"]["message"].startswith(f"no space left on {disk}"), steps["Writer"]
    assert steps["Reader"]["status"] == "ABORTED"
    code, unhealthy = health(server)
    assert code == 503 and not unhealthy["store"]["healthy"], unhealthy
    assert unhealthy["store"]["no_space"] and unhealthy["store"]["unwritten_changes"] > 0

    filler.unlink()
    wait_until("the store is written again", lambda: health(server)[0] == 200)
    events = []
    ws.settimeout(30)
    while not events or not (
        events[-1]["schema_id"] == RUN_STATUS and events[-1]["status"] in TERMINAL
    ):
        event = json.loads(ws.recv())
        if event.get("run_id") == run["id"]:
            events.append(event)
    ws.close()
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1)), events
    stored = server.request("GET", f"/orchest/api/runs/{run['id']}")[1]
    assert stored["seq"] == events[-1]["seq"] and stored["status"] == "FAILURE"
    assert stored["steps"] == ended["steps"]
