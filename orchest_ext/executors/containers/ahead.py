"""A step's container made ahead of need: created (and started, waiting to be released)
while the step's parents run, taken by the step when it starts, or removed at once if the
step will not run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiodocker
from aiodocker.containers import DockerContainer

from ..base import Ahead, StepSpec
from .release import release_path, try_release

RELEASE_POLL = 0.01
"""Seconds between attempts to release a container whose FIFO has no reader yet."""


class ContainerAhead(Ahead):
    """Runs ``create`` (which prepares the step's files and creates its container, and starts
    it if ``started``) at once; ``take`` hands the container over, ``discard`` removes it with
    ``remove``."""

    def __init__(
        self,
        create: Awaitable[DockerContainer | None],
        remove: Callable[[str], Awaitable[None]],
        log: logging.Logger,
        started: bool = False,
    ) -> None:
        self.remove = remove
        self.started = started
        self.log = log
        self._taken = False
        self._task = asyncio.ensure_future(create)

    def ready(self) -> bool:
        """Whether the container was made (created, and started if ``started``)."""
        return self._task.done() and not self._task.cancelled() and not self._task.exception()

    async def take(self) -> DockerContainer | None:
        """The container, now the caller's; ``None`` if it could not be made (the step then
        creates its own and reports its own error)."""
        try:
            container = await asyncio.shield(self._task)
        except Exception as err:
            self.log.info("Container could not be made ahead: %s", err)
            container = None
        # not before: cancelled while waiting, the step leaves it to ``discard``
        self._taken = True
        return container

    async def discard(self) -> None:
        """Remove the container, once it is created (a create is not cancelled half-way: the
        engine would finish it anyway); a no-op once ``take`` handed it over."""
        if self._taken:
            return
        self._taken = True
        container = None
        with contextlib.suppress(Exception):
            container = await asyncio.shield(self._task)
        if container is not None:
            await self.remove(container.id)


async def release_started(
    container: DockerContainer, spec: StepSpec, timeout: float, log: logging.Logger
) -> bool | None:
    """Let a container started ahead run its step, once it waits on its FIFO; False if
    it is no longer running (or was released before), None if it never waited on its FIFO
    within ``timeout`` (the engine does not share the step directory with this server)."""
    fifo = release_path(spec.step_dir)
    deadline = asyncio.get_running_loop().time() + timeout
    attempts = 0
    while (outcome := await asyncio.to_thread(try_release, fifo)) is False:
        attempts += 1
        if attempts % 10 == 0 and not await _running(container):
            return False
        if asyncio.get_running_loop().time() > deadline:
            log.warning(
                "Step container %s never waited on %s: not starting containers ahead any "
                "more (does the engine see this server's files?)",
                container.id[:12],
                fifo,
            )
            return None
        await asyncio.sleep(RELEASE_POLL)
    return bool(outcome)


async def _running(container: DockerContainer) -> bool:
    try:
        return (await container.show())["State"]["Status"] == "running"
    except aiodocker.DockerError as err:
        if err.status == 404:
            return False
        raise
