"""Where a session's EG and jupyter-server run: containers on this engine, or services on
the swarm it manages (``swarm.py``); creating them, waiting until they answer, their logs,
and removing everything of a session."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiodocker.containers import DockerContainer

from ..infra.docker_engine import BUILD_HINT, ENGINE_ERRORS, PROJECT, PROJECT_LABEL, DockerEngine
from .config import PipelineSessionManagerConfig
from .kernelspecs import prepare_kernelspecs
from .readiness import POLL_INTERVAL, container_url, probes, raise_if_exited, wait_ready
from .reconcile import group_by_session
from .session import EG, LAUNCHING, ROLE_NAMES, SERVER, LaunchFailed, Session, session_network
from .specs import (
    ROLE_LABEL,
    SCOPE_LABEL,
    SESSION_LABEL,
    SpecSettings,
    eg_config,
    network_config,
    server_config,
    service_config,
)
from .swarm import SWARM_TASK_LABEL, SessionServices

LOG_TAIL_LINES = 40
LATE_TASK_QUIET = 1.0
"""Seconds without a new container of a stopped swarm session after which none will come."""


class Placement:
    """Creates, watches and removes the containers and services of sessions."""

    def __init__(
        self,
        config: PipelineSessionManagerConfig,
        engine: DockerEngine,
        services: SessionServices,
        log: logging.Logger,
    ) -> None:
        self.config = config
        self.engine = engine
        self.services = services
        self.log = log
        self.node_id = ""
        """The swarm node of this engine, where EG and servers of swarm sessions run."""

    async def prepare(self, session: Session) -> tuple[SpecSettings, dict[str, dict[str, Any]]]:
        """The session's network and kernelspecs; its EG and server container configs."""
        settings = self.config.spec_settings(session.backend, self.node_id)
        await self.check_images()
        kernel_names = await prepare_kernelspecs(
            Path(self.config.kernelspecs_dir),
            self.config.session_dir(session.session_id) / "kernels",
            settings,
            session,
            self.engine.image_exists,
            self.log,
        )
        try:
            await self.engine.client().networks.create(
                network_config(settings, session, shared=bool(self.config.network))
            )
        except ENGINE_ERRORS as err:
            if getattr(err, "status", None) != 409 or not self.config.network:
                raise
        kernels_dir = str(self.config.session_dir(session.session_id) / "kernels")
        return settings, {
            EG: eg_config(settings, session, kernel_names, kernels_dir),
            SERVER: server_config(settings, session),
        }

    async def create(self, session: Session) -> dict[str, DockerContainer]:
        """The session's network, kernelspecs, EG and server containers (started)."""
        _, configs = await self.prepare(session)
        eg, server = await self.start_containers(
            *((session.container_name(role), config) for role, config in configs.items())
        )
        return {EG: eg, SERVER: server}

    async def create_services(self, session: Session) -> None:
        """The session's overlay network, kernelspecs, EG and server services."""
        settings, configs = await self.prepare(session)
        await self.services.create(
            [
                service_config(settings, config, session.container_name(role))
                for role, config in configs.items()
            ]
        )

    async def check_images(self) -> None:
        images = [self.config.eg_image, self.config.server_image, self.config.kernel_image]
        found = await asyncio.gather(*(self.engine.image_exists(image) for image in images))
        missing = [image for image, exists in zip(images, found, strict=True) if not exists]
        if missing:
            raise LaunchFailed(
                f"Docker image(s) not found: {', '.join(missing)}; {BUILD_HINT} "
                "(or configure PipelineSessionManager.eg_image/server_image/kernel_image)."
            )

    async def start_containers(self, *named: tuple[str, dict[str, Any]]) -> list[DockerContainer]:
        """Create and start the containers concurrently; raise the first error after all end."""
        results = await asyncio.gather(
            *(self.start_container(name, config) for name, config in named),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return list(results)

    async def start_container(self, name: str, config: dict[str, Any]) -> DockerContainer:
        container = await self.engine.client().containers.create(config, name=name)
        await container.start()
        return container

    async def wait_ready(self, session: Session, containers: dict[str, DockerContainer]) -> None:
        """Poll EG and the jupyter-server until both answer, a container exits or time is up."""

        async def inspect() -> dict[str, dict[str, Any]]:
            shown = await asyncio.gather(*(c.show() for c in containers.values()))
            return dict(zip(containers, shown, strict=True))

        infos = await inspect()
        raise_if_exited(infos)
        session.gateway_url = container_url(infos[EG], self.config.publish, session.network)
        session.server_url = container_url(infos[SERVER], self.config.publish, session.network)
        await self.probe_until_ready(session, inspect, self.config.readiness_timeout)

    async def wait_services_ready(self, session: Session) -> None:
        """Wait until the EG and server services' tasks run on this node, then probe them
        like containers; ``LaunchFailed`` with the scheduler's reason when a task ends or
        does not start within ``readiness_timeout``."""
        names = {role: session.container_name(role) for role in (EG, SERVER)}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.readiness_timeout
        while len(infos := await self.services.containers(names)) < len(names):
            if session.status != LAUNCHING:
                return
            if loop.time() > deadline:
                role = next(role for role in names if role not in infos)
                reason = await self.services.pending_reason(names[role])
                raise LaunchFailed(
                    f"The {ROLE_NAMES[role]} service did not start within "
                    f"{self.config.readiness_timeout:g} s "
                    f"(PipelineSessionManager.readiness_timeout): "
                    f"{reason}",
                    role,
                )
            await asyncio.sleep(POLL_INTERVAL)
        session.gateway_url = await self.services.url(infos[EG])
        session.server_url = await self.services.url(infos[SERVER])
        await self.probe_until_ready(
            session, lambda: self.services.containers(names), max(deadline - loop.time(), 0.0)
        )

    async def probe_until_ready(
        self,
        session: Session,
        inspect: Callable[[], Awaitable[dict[str, dict[str, Any]]]],
        timeout: float,
    ) -> None:
        """Probe the session's EG and server URLs until both answer (``wait_ready``)."""
        await wait_ready(
            probes(
                session.gateway_url,
                session.gateway_token,
                session.server_url,
                session.server_token,
            ),
            inspect,
            timeout,
            lambda: session.status == LAUNCHING,
        )

    async def log_tail(self, name: str, backend: str) -> str | None:
        """The last lines of a session container's log (of a service's task on swarm)."""
        if backend == "swarm":
            return await self.services.log_tail(name, LOG_TAIL_LINES)
        try:
            lines = (
                await self.engine.client()
                .containers.container(name)
                .log(stdout=True, stderr=True, tail=LOG_TAIL_LINES)
            )
        except ENGINE_ERRORS:
            return None
        return "".join(lines).strip() or None

    async def teardown(self, session_id: str) -> None:
        """Stop EG and the server containers (which shut their kernels down), and this
        node's swarm task containers, while the session's services (on swarm: EG, server,
        kernels) are removed (the swarm agent takes seconds to stop a removed service's
        task); then remove every container with the session's label (kernels of a dead EG
        too) and its network."""
        gone = self.config.stop_timeout + self.engine.connect_timeout
        containers = await self.session_containers(session_id)
        had_services, *_ = await asyncio.gather(
            self.services.remove(session_id, gone),
            *(
                self.engine.stop_container(c.id, self.config.stop_timeout)
                for c in containers
                if c["Labels"].get(ROLE_LABEL) in (EG, SERVER) or SWARM_TASK_LABEL in c["Labels"]
            ),
        )
        remaining = await self.session_containers(session_id)
        await asyncio.gather(*(self.engine.remove_container(c.id) for c in remaining))
        await self.services.remove_network(session_network(session_id), gone)
        if had_services:
            await self.remove_late_task_containers(session_id, gone)
        await asyncio.to_thread(shutil.rmtree, self.config.session_dir(session_id), True)

    async def remove_late_task_containers(self, session_id: str, timeout: float) -> None:
        """Remove the containers the swarm agent still creates for tasks of services removed
        while they were being scheduled, until none has appeared for ``LATE_TASK_QUIET``
        seconds (at most ``timeout``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet_since = loop.time()
        while loop.time() - quiet_since < LATE_TASK_QUIET and loop.time() < deadline:
            late = await self.session_containers(session_id)
            if late:
                await asyncio.gather(*(self.engine.remove_container(c.id) for c in late))
                quiet_since = loop.time()
            await asyncio.sleep(POLL_INTERVAL)

    async def session_containers(self, session_id: str) -> list[DockerContainer]:
        labels = [f"{PROJECT_LABEL}={PROJECT}", f"{SESSION_LABEL}={session_id}"]
        return await self.engine.client().containers.list(all=True, filters={"label": labels})

    async def found(self) -> tuple[dict[str, list[DockerContainer]], dict[str, set[str]]]:
        """The containers (and networks) of this scope's sessions, grouped by session id,
        and the roles of each swarm session's services (by session id)."""
        labels = [f"{PROJECT_LABEL}={PROJECT}", f"{SCOPE_LABEL}={self.config.scope}", SESSION_LABEL]
        client = self.engine.client()
        containers, networks, services = await asyncio.gather(
            client.containers.list(all=True, filters={"label": labels}),
            client.networks.list(filters={"label": labels}),
            self.services.find(labels),
        )
        groups = group_by_session(containers, networks)
        service_roles: defaultdict[str, set[str]] = defaultdict(set)
        for service in services:
            labels = service["Spec"]["Labels"]
            service_roles[labels[SESSION_LABEL]].add(labels.get(ROLE_LABEL, ""))
            groups.setdefault(labels[SESSION_LABEL], [])
        return groups, dict(service_roles)

    async def container_url(self, info: dict[str, Any], network: str) -> str:
        """The URL of an adopted session's container (``info``: its inspection)."""
        return container_url(info, self.config.publish, network)

    async def service_url(self, info: dict[str, Any], network: str) -> str:
        """The URL of an adopted swarm session's task container (``info``: its inspection)."""
        return await self.services.url(info)

    def remove_stale_state(self, known: set[str]) -> None:
        """Delete the state dirs of this scope's sessions but the ``known`` ones (blocking)."""
        root = Path(self.config.state_dir) / self.config.scope
        for path in root.glob("*") if root.is_dir() else []:
            if path.is_dir() and path.name not in known:
                shutil.rmtree(path, ignore_errors=True)
