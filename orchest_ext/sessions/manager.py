"""PipelineSessionManager: interactive pipeline sessions, one per pipeline; the launch/stop
state machine, with one lock per pipeline.

A session is a docker network, an Enterprise Gateway (EG) container and a jupyter-server
container that runs every kernel through that EG (``--gateway-url``). EG starts each
kernel in a container of its own with ``orchest_ext.kernel_launcher``, which mounts the
pipeline directory at the path the jupyter-server sees. On swarm (``backend``), EG and the
server are services on an attachable overlay network instead, and so is every kernel (EG's
``DockerSwarmProcessProxy`` with the same launcher; see ``swarm.py``). Every container,
service and network carries the session's labels, so stopping and restart reconciliation
find them in the engine: docker is the only record of a session besides this process's
memory. Every way a launch or a stop can end leaves the session FAILED or removed.

Its options are in ``config.py`` (``PipelineSessionManagerConfig``); a session's containers
and services are placed by ``placement.py``.

EG gets the docker socket, which is root-equivalent access to the host: its port is
published on 127.0.0.1 only (or not at all) and requires a generated token.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiodocker.containers import DockerContainer
from traitlets.config import LoggingConfigurable

from ..events import LAUNCH_STATUS, Emit
from ..infra.docker_engine import (
    ENGINE_ERRORS,
    DockerEngine,
    engine_error_reason,
)
from ..infra.swarm import swarm_manager_node
from ..infra.unavailable import ExecutorUnavailable
from .config import PipelineSessionManagerConfig
from .liveness import first_stopped_container
from .placement import Placement
from .reconcile import adoptable, reconcile_all
from .session import (
    EG,
    FAILED,
    LAUNCHING,
    RUNNING,
    SERVER,
    STOPPED,
    STOPPING,
    LaunchFailed,
    Session,
    SessionExists,
    now,
    session_network,
)
from .swarm import SessionServices

NEEDS_ENGINE = "Sessions need a running Docker engine."


class PipelineSessionManager(LoggingConfigurable, PipelineSessionManagerConfig):
    """Launches, tracks, stops and adopts the pipeline sessions of this server.

    Not called SessionManager: jupyter_server has a configurable of that name, and
    traitlets config sections (``c.SessionManager``) go by class name.
    """

    def __init__(
        self,
        root_dir: str | Path,
        emit: Emit | None = None,
        engine: DockerEngine | None = None,
        **kwargs: Any,
    ) -> None:
        self.root_dir = Path(root_dir).resolve()
        super().__init__(**kwargs)
        if engine is None or self.docker_url or self.connect_timeout is not None:
            overrides: dict[str, Any] = {"docker_url": self.docker_url} if self.docker_url else {}
            if self.connect_timeout is not None:
                overrides["connect_timeout"] = self.connect_timeout
            engine = DockerEngine(parent=self, log=self.log, **overrides)
        self.engine = engine
        self._emit = emit or (lambda schema_id, data: None)
        self._sessions: dict[str, Session] = {}
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        """One lock per pipeline uuid (client-supplied), kept only while it is used."""
        self._tasks: set[asyncio.Task[None]] = set()
        self.services = SessionServices(self.engine)
        self.placement = Placement(self, self.engine, self.services, self.log)

    def _lock(self, pipeline_uuid: str) -> asyncio.Lock:
        """The lock of a pipeline's session; forgotten once no one holds or awaits it."""
        lock = self._locks.get(pipeline_uuid)
        if lock is None:
            lock = self._locks[pipeline_uuid] = asyncio.Lock()
        return lock

    async def check_available(self, backend: str = "docker") -> None:
        """Raise ``ExecutorUnavailable`` when the Docker engine does not answer (on swarm:
        or is no swarm manager; else remember its node, where EG and servers run)."""
        await self.engine.check_available(NEEDS_ENGINE)
        if backend == "swarm":
            self.placement.node_id = await swarm_manager_node(
                self.engine, "PipelineSessionManager.docker_url"
            )

    async def close(self) -> None:
        await self.engine.close()

    # -- public API --------------------------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        return [session.to_dict() for session in self._sessions.values()]

    def get(self, pipeline_uuid: str) -> dict[str, Any] | None:
        session = self._sessions.get(pipeline_uuid)
        return None if session is None else session.to_dict()

    async def launch(
        self, pipeline_uuid: str, host_dir: Path, pipeline_dir: str, backend: str | None = None
    ) -> dict[str, Any]:
        """Start launching a session (on ``backend``, default ``self.backend``) in the
        background; return it (LAUNCHING)."""
        backend = backend or self.backend
        async with self._lock(pipeline_uuid):
            self._check_free(pipeline_uuid)
            await self.check_available(backend)
            session_id = secrets.token_hex(6)
            session = Session(
                pipeline_uuid=pipeline_uuid,
                session_id=session_id,
                pipeline_dir=pipeline_dir,
                host_dir=host_dir,
                mount_path=self.mount_path or str(host_dir),
                network=self.network or session_network(session_id),
                backend=backend,
            )
            self._sessions[pipeline_uuid] = session
            self._changed(session)
            session.task = self._spawn(self._launch(session))
            return session.to_dict()

    async def stop(self, pipeline_uuid: str) -> dict[str, Any] | None:
        """Start stopping a session (idempotent); None if there is no such session."""
        async with self._lock(pipeline_uuid):
            session = self._sessions.get(pipeline_uuid)
            if session is None or session.status == STOPPING:
                return None if session is None else session.to_dict()
            if session.status != FAILED:
                await self.check_available()
            launching, session.task = session.task, None
            self._set_status(session, STOPPING)
            session.task = self._spawn(self._stop(session, launching))
            return session.to_dict()

    async def shutdown(self) -> None:
        """Stop every session (keep running ones if ``keep_sessions``) and close the client."""
        for session in list(self._sessions.values()):
            if self.keep_sessions and session.status == RUNNING:
                continue
            try:
                await self.stop(session.pipeline_uuid)
            except ExecutorUnavailable as err:
                self.log.warning("Cannot stop session %s: %s", session.session_id, err)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.close()

    def _check_free(self, pipeline_uuid: str) -> None:
        existing = self._sessions.get(pipeline_uuid)
        if existing is not None and existing.status != FAILED:
            raise SessionExists(
                f"Pipeline {pipeline_uuid!r} already has a session ({existing.status}); "
                "stop it first with DELETE."
            )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- status ------------------------------------------------------------------------------

    def _set_status(self, session: Session, status: str) -> None:
        session.status = status
        self._changed(session)

    def _changed(self, session: Session) -> None:
        self.log.info(
            "Session %s of pipeline %s: %s%s",
            session.session_id,
            session.pipeline_uuid,
            session.status,
            f" ({session.reason})" if session.reason else "",
        )
        self._emit(LAUNCH_STATUS, session.event())

    # -- launching ---------------------------------------------------------------------------

    async def _launch(self, session: Session) -> None:
        """Create and start everything and wait until ready; FAILED (cleaned up) otherwise.

        A stop does not cancel a launch: the launch completes its docker calls, so nothing
        is created behind the teardown's back, and then gives way (status not LAUNCHING).
        """
        try:
            if session.backend == "swarm":
                await self.placement.create_services(session)
                await self.placement.wait_services_ready(session)
            else:
                containers = await self.placement.create(session)
                await self.placement.wait_ready(session, containers)
        except LaunchFailed as failure:
            await self._fail(session, failure)
            return
        except ENGINE_ERRORS as err:
            reason = engine_error_reason(err)
            await self._fail(session, LaunchFailed(f"Docker engine error: {reason}"))
            return
        except asyncio.CancelledError:
            await self._fail(session, LaunchFailed("The server stopped during the launch."))
            raise
        except Exception as err:
            self.log.exception("Launching session %s failed", session.session_id)
            await self._fail(session, LaunchFailed(f"{type(err).__name__}: {err}"))
            return
        if session.status == LAUNCHING:
            session.started_time = now()
            self._set_status(session, RUNNING)
            self._watch(session)

    def _watch(self, session: Session) -> None:
        """End a running docker session FAILED, with the reason, once one of its EG and
        server containers stops (checked every ``liveness_interval`` seconds)."""
        if session.backend != "docker":
            return

        def watching() -> bool:
            return (
                session.status == RUNNING and self._sessions.get(session.pipeline_uuid) is session
            )

        async def watch() -> None:
            names = {role: session.container_name(role) for role in (EG, SERVER)}
            found = await first_stopped_container(
                self.engine, names, self.liveness_interval, watching
            )
            if found is None or not watching():
                return
            session.failed_container, session.reason = found
            session.log_tail = await self.placement.log_tail(found[0], session.backend)
            try:
                await self._teardown(session.session_id)
            except Exception as err:
                self.log.error(
                    "Cleaning up session %s failed: %s",
                    session.session_id,
                    engine_error_reason(err),
                )
            finally:
                if watching():
                    self._set_status(session, FAILED)

        self._spawn(watch())

    async def _fail(self, session: Session, failure: LaunchFailed) -> None:
        """Record the failure (with the failing container's log tail) and clean up; the
        session ends FAILED whatever the clean-up raises."""
        if session.status != LAUNCHING:
            return
        session.reason = failure.reason
        try:
            if failure.role:
                session.failed_container = session.container_name(failure.role)
                session.log_tail = await self.placement.log_tail(
                    session.failed_container, session.backend
                )
            await self._teardown(session.session_id)
        except Exception as err:
            self.log.error(
                "Cleaning up session %s failed: %s", session.session_id, engine_error_reason(err)
            )
        finally:
            self._set_status(session, FAILED)

    # -- stopping ----------------------------------------------------------------------------

    async def _stop(self, session: Session, launching: asyncio.Task[None] | None) -> None:
        """Let a launch in progress give way, remove everything of the session, forget it
        (whatever the teardown raises)."""
        try:
            if launching is not None:
                await asyncio.gather(launching, return_exceptions=True)
            await self._teardown(session.session_id)
        except Exception as err:
            self.log.error(
                "Stopping session %s failed: %s", session.session_id, engine_error_reason(err)
            )
        finally:
            if self._sessions.get(session.pipeline_uuid) is session:
                del self._sessions[session.pipeline_uuid]
            session.reason = None
            self._set_status(session, STOPPED)

    async def _teardown(self, session_id: str) -> None:
        """Remove everything of the session (``Placement.teardown``)."""
        await self.placement.teardown(session_id)

    # -- restart reconciliation --------------------------------------------------------------

    async def reconcile(self) -> None:
        """Adopt the complete, healthy sessions of this scope; remove everything else. All
        sessions are probed at once."""
        try:
            groups, service_roles = await self.placement.found()
        except (*ENGINE_ERRORS, ExecutorUnavailable) as err:
            self.log.info("No sessions to adopt: Docker engine unavailable (%s)", err)
            return

        async def reconcile_one(session_id: str, group: list[DockerContainer]) -> None:
            roles = service_roles.get(session_id)
            await self._reconcile_one(session_id, group, roles)

        await reconcile_all(groups, reconcile_one, self.log)
        known = {session.session_id for session in self._sessions.values()}
        await asyncio.to_thread(self.placement.remove_stale_state, known)

    async def _reconcile_one(
        self, session_id: str, group: list[DockerContainer], service_roles: set[str] | None
    ) -> None:
        """Adopt the session or remove it; a swarm session (``service_roles``: the roles of
        its services) needs its EG and server services too, not just their containers,
        which outlive a removed service for seconds."""
        if service_roles is None:
            session = await adoptable(session_id, group, self.placement.container_url)
        elif {EG, SERVER} <= service_roles:
            session = await adoptable(session_id, group, self.placement.service_url)
            if session is not None:
                session.backend = "swarm"
        else:
            session = None
        if session is not None and session.pipeline_uuid not in self._sessions:
            self._sessions[session.pipeline_uuid] = session
            self._set_status(session, RUNNING)
            self._watch(session)
            return
        self.log.info("Removing the leftovers of session %s", session_id)
        await self._teardown(session_id)
