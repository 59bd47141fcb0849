"""A step's container made ahead of need: created (and started, waiting to be released)
while the step's parents run, taken by the step when it starts, or removed at once if the
step will not run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..base import Ahead

if TYPE_CHECKING:
    from aiodocker.containers import DockerContainer


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
