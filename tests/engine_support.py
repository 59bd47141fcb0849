"""Stopping and starting the machine's real Docker engine (dockerd), as an engine restart
does; the engine is always left running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

DOCKERD_PID_FILE = Path("/var/run/docker.pid")
DOCKERD_LOG = Path(os.environ.get("DOCKERD_LOG", "/var/log/dockerd.log"))
ENGINE_WAIT = 90.0


def engine_answers() -> bool:
    proc = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    return proc.returncode == 0


def dockerd_command(pid: int) -> list[str]:
    """The command line dockerd ``pid`` was started with."""
    return [arg.decode() for arg in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if arg]


def start_dockerd(command: list[str]) -> None:
    """Start dockerd in a session of its own (it outlives the tests), until it answers."""
    with DOCKERD_LOG.open("ab") as log:
        subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd="/"
        )
    deadline = time.monotonic() + ENGINE_WAIT
    while not engine_answers():
        if time.monotonic() > deadline:
            raise AssertionError(f"dockerd did not answer within {ENGINE_WAIT} s ({DOCKERD_LOG})")
        time.sleep(0.5)


def stop_dockerd(pid_file: Path = DOCKERD_PID_FILE) -> list[str]:
    """Stop the engine whose pid is in ``pid_file`` (SIGTERM, as a service manager does) and
    wait until it is gone; returns its command line to start it again."""
    pid = int(pid_file.read_text().strip())
    command = dockerd_command(pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + ENGINE_WAIT
    while running(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    return command


def running(pid: int) -> bool:
    """Whether ``pid`` still runs: an engine this process started earlier (a restart before)
    is its child, reaped here once it exits, so it does not stay behind as a zombie."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def restart_dockerd(pid_file: Path = DOCKERD_PID_FILE) -> None:
    """Stop and start the engine (blocking); whatever happens, it is running afterwards.
    ``docker info`` (the readiness check) asks the engine DOCKER_HOST names, so a second
    engine is restarted by passing its pid file with DOCKER_HOST set to its socket."""
    command = ["dockerd"]
    try:
        command = stop_dockerd(pid_file)
    finally:
        if not engine_answers():
            start_dockerd(command)
