"""DockerEngine: the one aiodocker client of the server, its availability check, and the
stop/remove helpers the docker executor and the session manager share."""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

import aiodocker
import aiohttp
from traitlets import Float, TraitError, Unicode
from traitlets.config import LoggingConfigurable

from .unavailable import ExecutorUnavailable

PROJECT_LABEL = "orchest_ext.project"
PROJECT = "orchest_ext"
PIPELINE_LABEL = "orchest_ext.pipeline_uuid"
BUILD_HINT = "build the images with `jupyter orchest images build`"
ENGINE_ERRORS = (aiodocker.DockerError, aiohttp.ClientError, asyncio.TimeoutError, OSError)
"""What a call to the engine raises when the engine refuses or cannot be reached."""
ENGINE_STOP_EXITS = (137, 143)
"""Exit codes of a container the engine stopped (SIGKILL, SIGTERM) as it shut down."""
ENGINE_STOP_GRACE = 20.0
"""Seconds within which an engine that stopped a step's container stops answering, if it did
so because it is shutting down (it answers while it stops containers: 6 s measured here)."""
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*$", re.IGNORECASE)


def parse_memory(value: str) -> int:
    """Bytes in a docker-style size such as ``512m`` or ``2g``; ``ValueError`` if invalid.

    Not ``docker.utils.parse_bytes``: it has no ``t`` unit, takes ``0``, ``""``, negative
    sizes and ``1e3m``, refuses a trailing space, and overflows on ``infm``."""
    match = _MEMORY_RE.match(value)
    if not match or float(match[1]) <= 0:
        raise ValueError(f"invalid size {value!r}")
    return int(float(match[1]) * _MEMORY_UNITS[match[2].lower()])


def checked_memory(proposal: dict[str, Any]) -> str | None:
    """A traitlets validator body for an optional docker-style size trait."""
    value = proposal["value"]
    if value is not None:
        try:
            parse_memory(value)
        except ValueError:
            owner = type(proposal["owner"]).__name__
            raise TraitError(
                f"{owner}.{proposal['trait'].name}: {value!r} is not a size like '512m' or '2g'."
            ) from None
    return value


def engine_error_reason(err: BaseException) -> str:
    return getattr(err, "message", None) or str(err) or type(err).__name__


class DockerEngine(LoggingConfigurable):
    """A Docker engine reached through one aiodocker client, created on first use."""

    docker_url = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Docker engine URL (unix:///var/run/docker.sock, tcp://host:2375). "
        "None uses DOCKER_HOST or the default socket.",
    )
    connect_timeout = Float(
        5.0, config=True, help="Seconds to wait for the Docker engine to answer a health check."
    )

    _docker: aiodocker.Docker | None = None

    @property
    def address(self) -> str:
        """Where the engine is expected, for messages."""
        return self.docker_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

    def client(self) -> aiodocker.Docker:
        """The client; ``ExecutorUnavailable`` when no engine is configured or found."""
        if self._docker is None:
            try:
                self._docker = aiodocker.Docker(
                    url=self.docker_url,
                    timeout=aiohttp.ClientTimeout(total=120, sock_connect=self.connect_timeout),
                )
            except (AssertionError, ValueError) as err:
                reason = str(err) or "no Docker socket found and DOCKER_HOST is not set"
                raise ExecutorUnavailable(
                    f"Docker engine unreachable at {self.address}: {reason}"
                ) from None
        return self._docker

    async def check_available(self, needed_for: str = "") -> None:
        """Raise ``ExecutorUnavailable`` when the engine does not answer."""
        try:
            await asyncio.wait_for(self.client().version(), self.connect_timeout)
        except ExecutorUnavailable:
            raise
        except (*ENGINE_ERRORS, ValueError) as err:
            raise ExecutorUnavailable(
                f"Docker engine unreachable at {self.address}: {engine_error_reason(err)}"
                + (f". {needed_for}" if needed_for else "")
            ) from None

    async def stops_answering(self, within: float) -> bool:
        """Whether the engine stops answering within ``within`` seconds (it is shutting down
        or restarting): how a container it stopped itself is told from one stopped by
        anything else. Watched on an event stream of its own, which the engine's exit ends
        even when it is back so fast that calls to it are only delayed."""
        try:
            probe = aiodocker.Docker(
                url=self.docker_url,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout),
            )
        except (AssertionError, ValueError):
            return True
        stream = asyncio.ensure_future(probe.events.run())
        try:
            done, _ = await asyncio.wait({stream}, timeout=within)
            return bool(done)
        finally:
            stream.cancel()
            await asyncio.wait({stream})
            if not stream.cancelled():
                stream.exception()  # the stream failing is the answer, not an error to raise
            await probe.close()

    async def close(self) -> None:
        if self._docker is not None:
            docker, self._docker = self._docker, None
            await docker.close()

    async def image_exists(self, image: str) -> bool:
        try:
            await self.client().images.inspect(image)
        except aiodocker.DockerError as err:
            if err.status == 404:
                return False
            raise
        return True

    async def remove_container(self, ref: str) -> None:
        """Force-remove a container by id or name; a missing one is fine."""
        try:
            await self.client().containers.container(ref).delete(force=True)
        except aiodocker.DockerError as err:
            if err.status not in (404, 409):
                raise

    async def stop_container(self, ref: str, timeout: float) -> None:
        """Give a container ``timeout`` seconds between SIGTERM and SIGKILL; a missing or
        stopped one is fine, a failure is logged (removing it follows)."""
        stop = self.client().containers.container(ref).stop(t=int(timeout))
        try:
            await asyncio.wait_for(stop, timeout + self.connect_timeout)
        except aiodocker.DockerError as err:
            if err.status not in (304, 404):
                self.log.warning("Could not stop container %s: %s", ref, err.message)
        except ENGINE_ERRORS as err:
            self.log.warning("Could not stop container %s: %s", ref, engine_error_reason(err))

    async def remove_network(self, name: str) -> None:
        """Remove a network by name; a missing one is fine."""
        try:
            network = await self.client().networks.get(name)
            await network.delete()
        except aiodocker.DockerError as err:
            if err.status != 404:
                raise
