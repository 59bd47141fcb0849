"""Removing the containers of finished steps: in the background (a step's result does not
wait for it), retried while the engine is away (restarting)."""

from __future__ import annotations

import asyncio
import logging

from ...infra.docker_engine import ENGINE_ERRORS, DockerEngine
from ...infra.unavailable import ExecutorUnavailable
from .config import DockerExecutorConfig

DISCARD_RETRY_WINDOW = 90.0
"""Seconds a finished step's container removal is retried while the engine is away."""
DISCARD_RETRY_DELAY = 1.0


class ContainerRemoval:
    """The removals of step containers under way, by container name."""

    def __init__(
        self, engine: DockerEngine, options: DockerExecutorConfig, log: logging.Logger
    ) -> None:
        self.engine = engine
        self.options = options
        self.log = log
        self.pending: dict[str, asyncio.Task[None]] = {}

    async def of(self, name: str) -> None:
        """Wait until the container of this name being removed is gone (if one is)."""
        if (removing := self.pending.get(name)) is not None:
            await asyncio.wait({removing})

    async def all(self) -> None:
        """Wait until every container being removed so far is gone."""
        while self.pending:
            await asyncio.gather(*self.pending.values(), return_exceptions=True)

    def soon(self, container_id: str, name: str) -> None:
        """Remove a finished step's container in the background (``all`` waits for it)."""
        task = asyncio.get_running_loop().create_task(self.discard(container_id))
        self.pending[name] = task

        def done(_: asyncio.Task[None]) -> None:
            if self.pending.get(name) is task:
                del self.pending[name]

        task.add_done_callback(done)

    async def discard(self, ref: str) -> None:
        """Remove a finished step's container, retrying while the engine is away (restarting)
        for up to ``DISCARD_RETRY_WINDOW`` seconds; failing does not change the step's result."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DISCARD_RETRY_WINDOW
        while True:
            try:
                await asyncio.wait_for(
                    self.engine.remove_container(ref),
                    self.options.stop_timeout + self.engine.connect_timeout,
                )
                return
            except (*ENGINE_ERRORS, ExecutorUnavailable) as err:
                if loop.time() > deadline:
                    self.log.warning("Could not remove step container %s: %s", ref, err)
                    return
            await asyncio.sleep(DISCARD_RETRY_DELAY)
