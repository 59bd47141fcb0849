"""A session's EG and jupyter-server as Docker Swarm services: creating them, finding their
tasks' containers (on this server's node), reaching them, and removing every service of a
session (its kernels' too).

The services are pinned to this server's node and publish nothing: the host reaches a task
at its address on ``docker_gwbridge`` (the bridge every swarm task on an overlay network
also joins), as it reaches docker sessions' containers at their IP with ``publish='none'``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import aiodocker

from ..infra.docker_engine import ENGINE_ERRORS, PROJECT, PROJECT_LABEL, DockerEngine
from .session import ROLE_NAMES, LaunchFailed
from .specs import PORT, SESSION_LABEL

GATEWAY_BRIDGE = "docker_gwbridge"
SWARM_TASK_LABEL = "com.docker.swarm.task.id"
"""The label of a swarm task's container."""
ENDED_STATES = {"complete", "failed", "rejected", "shutdown", "orphaned", "remove"}
POLL_INTERVAL = 0.1


def session_labels(session_id: str) -> list[str]:
    return [f"{PROJECT_LABEL}={PROJECT}", f"{SESSION_LABEL}={session_id}"]


def latest_task(tasks: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return max(tasks, key=lambda t: t["Version"]["Index"], default=None)


def task_failure(role: str, task: Mapping[str, Any]) -> LaunchFailed:
    """Why a role's task ended before it was ready, as the scheduler and the node say."""
    status = task["Status"]
    code = status.get("ContainerStatus", {}).get("ExitCode")
    reason = status.get("Err") or status.get("Message") or status["State"]
    exited = f" (exit code {code})" if code else ""
    return LaunchFailed(
        f"The {ROLE_NAMES[role]} service's task {status['State']}{exited} before it was "
        f"ready: {reason}",
        role,
    )


class SessionServices:
    """The swarm services of sessions on one engine (a swarm manager)."""

    def __init__(self, engine: DockerEngine) -> None:
        self.engine = engine

    async def create(self, named: list[dict[str, Any]]) -> None:
        """Create the services (``services.create`` keyword arguments) concurrently; raise
        the first error after all answered."""
        services = self.engine.client().services
        results = await asyncio.gather(
            *(services.create(**config) for config in named), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def containers(self, names: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        """The running task containers (``docker inspect``) of the services ``names`` (by
        role), for ``wait_ready``; ``LaunchFailed`` with the scheduler's reason when a task
        ended; a role whose task is not running yet is left out."""
        client = self.engine.client()
        found: dict[str, dict[str, Any]] = {}
        for role, name in names.items():
            task = latest_task(await client.tasks.list(filters={"service": name}))
            if task is None:
                continue
            state = task["Status"]["State"]
            if state in ENDED_STATES:
                raise task_failure(role, task)
            container_id = task["Status"].get("ContainerStatus", {}).get("ContainerID")
            if state == "running" and container_id:
                info = await client.containers.container(container_id).show()
                if not info["State"].get("Running"):
                    code = info["State"].get("ExitCode")
                    raise LaunchFailed(
                        f"The {ROLE_NAMES[role]} service's task failed (exit code {code}) "
                        "before it was ready.",
                        role,
                    )
                found[role] = info
        return found

    async def pending_reason(self, name: str) -> str:
        """What the scheduler says of a service's task that is not running."""
        tasks = await self.engine.client().tasks.list(filters={"service": name})
        task = latest_task(tasks)
        if task is None:
            return "the swarm made no task for it"
        status = task["Status"]
        return f"its task is {status['State']}: {status.get('Err') or status.get('Message')}"

    async def url(self, info: Mapping[str, Any]) -> str:
        """The HTTP URL of a task container as this host reaches it (``docker_gwbridge``)."""
        bridge = await self.engine.client().networks.get(GATEWAY_BRIDGE)
        endpoints = (await bridge.show()).get("Containers") or {}
        address = endpoints[info["Id"]]["IPv4Address"].split("/")[0]
        return f"http://{address}:{PORT}/"

    async def log_tail(self, name: str, lines: int) -> str | None:
        try:
            output = await self.engine.client().services.logs(
                name, stdout=True, stderr=True, tail=str(lines)
            )
        except ENGINE_ERRORS:
            return None
        return "".join(output).strip() or None

    async def find(self, labels: list[str]) -> list[Mapping[str, Any]]:
        """Services with every label; none on an engine that is no swarm manager."""
        try:
            return await self.engine.client().services.list(filters={"label": labels})
        except aiodocker.DockerError as err:
            if err.status == 503:
                return []
            raise

    async def remove(self, session_id: str, timeout: float) -> bool:
        """Remove every service of the session (EG, server, kernels) and wait up to
        ``timeout`` seconds until none of its containers on this node runs (the caller
        removes the stopped ones); whether the session had services."""
        services = self.engine.client().services
        found = await self.find(session_labels(session_id))
        await asyncio.gather(*(self._delete(services, s["ID"]) for s in found))
        if not found:
            return False
        deadline = time.monotonic() + timeout
        containers = self.engine.client().containers
        running = {"label": session_labels(session_id), "status": ["running"]}
        while await containers.list(filters=running):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(POLL_INTERVAL)
        return True

    async def remove_network(self, name: str, timeout: float) -> None:
        """Remove a network and wait until this engine no longer lists it (a swarm overlay
        network lingers on the node for a moment after the manager removed it), retrying
        for up to ``timeout`` seconds while the endpoints of removed tasks are released."""
        networks = self.engine.client().networks
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self.engine.remove_network(name)
            except aiodocker.DockerError as err:
                if "not found" not in err.message and time.monotonic() > deadline:
                    raise
            listed = await networks.list(filters={"name": name})
            if not any(network["Name"] == name for network in listed):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"network {name} still exists after {timeout:g} s")
            await asyncio.sleep(POLL_INTERVAL)

    @staticmethod
    async def _delete(services: Any, ref: str) -> None:
        try:
            await services.delete(ref)
        except aiodocker.DockerError as err:
            if err.status != 404:
                raise
