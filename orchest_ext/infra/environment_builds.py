"""Orchest environments built when a run needs them: one build per image at a time, shared
by every step waiting for it, its output at the head of each of their logs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from .environments import Environment, OrchestEnvironmentError, build_environment

BUILDING, BUILT, FAILED = "BUILDING", "BUILT", "FAILED"
BuildWatcher = Callable[[str, str | None], None]
"""Told ``(status, message)`` as a waiting step's build goes: BUILDING, then BUILT or FAILED."""


class _Build:
    """One image build and the step logs that follow it."""

    def __init__(self, environment: Environment, tag: str) -> None:
        self.environment = environment
        self.tag = tag
        self.lock = threading.Lock()
        self.output: list[str] = []
        self.logs: list[Path] = []
        self.task: asyncio.Future[tuple[str, bool]] | None = None

    def follow(self, log_path: Path, first: bool) -> None:
        """Append the build's output so far to a step log, and what follows (blocking)."""
        name = f"{self.environment.name!r} ({self.environment.uuid})"
        header = (
            f"Building the image of environment {name}: {self.tag}\n"
            if first
            else f"Waiting for the image of environment {name}, built for another step: "
            f"{self.tag}\n"
        )
        with self.lock:
            self.logs.append(log_path)
            _append(log_path, header + "".join(self.output))

    def write(self, text: str) -> None:
        """Record build output and append it to every following log (blocking)."""
        with self.lock:
            self.output.append(text)
            for path in self.logs:
                _append(path, text)


def _append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


class EnvironmentBuilds:
    """The environment builds in progress, by image tag."""

    def __init__(self, docker_url: str) -> None:
        self.docker_url = docker_url
        self._builds: dict[str, _Build] = {}

    async def build(
        self,
        environment: Environment,
        base_image: str,
        tag: str,
        log_path: Path,
        watch: BuildWatcher | None = None,
    ) -> str:
        """Build ``environment``'s image ``tag`` unless a build of it is under way, then wait
        for it, following its output in ``log_path`` and telling ``watch`` how it goes;
        ``OrchestEnvironmentError`` if it fails. A cancelled step stops waiting; the build
        goes on for the others."""
        build = self._builds.get(tag)
        first = build is None
        if build is None:
            build = self._builds[tag] = _Build(environment, tag)
        await asyncio.to_thread(build.follow, log_path, first)
        if first:
            build.task = asyncio.ensure_future(asyncio.to_thread(self._run, build, base_image))
            build.task.add_done_callback(lambda _: self._builds.pop(tag, None))
        assert build.task is not None
        tell = watch or (lambda status, message: None)
        tell(BUILDING, None)
        try:
            await asyncio.shield(build.task)
        except OrchestEnvironmentError as err:
            tell(FAILED, str(err).split("\n", 1)[0])
            raise
        tell(BUILT, None)
        return tag

    def _run(self, build: _Build, base_image: str) -> tuple[str, bool]:
        import docker

        client = docker.DockerClient(base_url=self.docker_url)
        try:
            result = build_environment(client, build.environment, base_image, on_output=build.write)
        finally:
            client.close()
        build.write(f"Environment {build.environment.name!r} is built.\n")
        return result
