"""Helpers for tests that need a real Docker engine and the project's images.

Without an engine such tests skip with the reason; in CI (``CI`` set) they fail instead,
because CI is expected to start one with ``.ci/setup-docker.sh``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import shutil
import subprocess
import time

import pytest

STEP_IMAGE = "orchest-ext/step:latest"
PROJECT_LABEL = "orchest_ext.project=orchest_ext"
SETUP_HINT = "run `bash .ci/setup-docker.sh` to start dockerd and build the images"


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI; never raises on a non-zero exit."""
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@functools.cache
def docker_problem() -> str | None:
    """Why no Docker engine can be used here, or ``None`` when one answers."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    try:
        proc = docker("info", "--format", "{{.ServerVersion}}", timeout=20)
    except subprocess.TimeoutExpired:
        return "`docker info` timed out"
    if proc.returncode:
        return f"`docker info` failed: {proc.stderr.strip()[-300:]}"
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"Docker is required in CI: {reason}; {SETUP_HINT}", pytrace=False)
    pytest.skip(f"{reason}; {SETUP_HINT}")


def require_docker() -> None:
    """Skip the test (fail it in CI) unless a Docker engine is reachable."""
    problem = docker_problem()
    if problem:
        _unavailable(f"no Docker engine: {problem}")


def require_image(name: str = STEP_IMAGE) -> None:
    """Like ``require_docker``, and the image ``name`` must have been built."""
    require_docker()
    if docker("image", "inspect", "--format", "{{.Id}}", name).returncode:
        _unavailable(f"image {name} is not built")


def require_swarm() -> None:
    """Like ``require_image``, and the engine must be a swarm manager (``.ci/setup-swarm.sh``)."""
    require_image()
    proc = docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}")
    if proc.stdout.split() != ["active", "true"]:
        _unavailable(
            f"the engine is not a swarm manager ({proc.stdout.strip()}); "
            "run `bash .ci/setup-swarm.sh`"
        )


def project_services(*labels: str) -> list[str]:
    """Names of the project's swarm services with every ``key=value`` in ``labels``."""
    filters = [arg for label in (PROJECT_LABEL, *labels) for arg in ("--filter", f"label={label}")]
    proc = docker("service", "ls", "--format", "{{.Name}}", *filters)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def remove_services(*labels: str) -> None:
    """Remove the project's swarm services matching ``labels`` (and so their tasks)."""
    names = project_services(*labels)
    if names:
        docker("service", "rm", *names)


def project_containers(*labels: str) -> list[dict[str, str]]:
    """Containers (running or not) with the project label and every ``key=value`` in ``labels``."""
    filters = [arg for label in (PROJECT_LABEL, *labels) for arg in ("--filter", f"label={label}")]
    proc = docker("ps", "-a", "--no-trunc", "--format", "{{json .}}", *filters)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def wait_until_no_containers(*labels: str, timeout: float = 60) -> None:
    """Wait until no container of the project with these labels is left (a finished step's
    container is removed in the background, after its result): fail naming them after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while left := project_containers(*labels):
        assert time.monotonic() < deadline, f"containers left after {timeout:g} s: {left}"
        time.sleep(0.1)


def remove_containers(*labels: str) -> None:
    """Force-remove the project's containers matching ``labels``."""
    ids = [c["ID"] for c in project_containers(*labels)]
    if ids:
        docker("rm", "-f", *ids)


class SocketProxy:
    """A unix-socket proxy to the Docker engine that a test can cut, like an engine dying."""

    def __init__(self, path: str, target: str = "/var/run/docker.sock") -> None:
        self.path, self.target = path, target
        self._server: asyncio.AbstractServer | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(self.target)
        self._writers += [writer, up_writer]
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def cut(self) -> None:
        """Close the listening socket and every proxied connection."""
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        os.unlink(self.path)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()
