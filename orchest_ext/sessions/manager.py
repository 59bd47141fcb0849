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

EG gets the docker socket, which is root-equivalent access to the host: its port is
published on 127.0.0.1 only (or not at all) and requires a generated token.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import os
import secrets
import shutil
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from aiodocker.containers import DockerContainer
from jupyter_core.paths import jupyter_data_dir
from traitlets import (
    Bool,
    Dict,
    Enum,
    Float,
    Integer,
    List,
    TraitError,
    Unicode,
    default,
    validate,
)
from traitlets.config import LoggingConfigurable

from ..events import LAUNCH_STATUS, Emit
from ..infra.docker_engine import (
    BUILD_HINT,
    ENGINE_ERRORS,
    PROJECT,
    PROJECT_LABEL,
    DockerEngine,
    checked_memory,
    engine_error_reason,
)
from ..infra.swarm import swarm_manager_node
from ..infra.unavailable import ExecutorUnavailable
from .kernelspecs import prepare_kernelspecs
from .liveness import first_stopped_container
from .readiness import POLL_INTERVAL, container_url, probes, raise_if_exited, wait_ready
from .reconcile import adoptable, group_by_session, reconcile_all
from .session import (
    EG,
    FAILED,
    LAUNCHING,
    ROLE_NAMES,
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
from .specs import (
    EG_DOCKER_SOCKET,
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

SHIPPED_KERNELSPECS = Path(__file__).parent.parent / "kernelspecs"
"""The kernelspecs in an installed wheel; a source checkout has them beside the package."""
if not SHIPPED_KERNELSPECS.is_dir():
    SHIPPED_KERNELSPECS = Path(__file__).parent.parent.parent / "kernelspecs"
LOG_TAIL_LINES = 40
LATE_TASK_QUIET = 1.0
"""Seconds without a new container of a stopped swarm session after which none will come."""
NEEDS_ENGINE = "Sessions need a running Docker engine."


def default_scope(root_dir: str | Path) -> str:
    """The default scope of a server: a short hash of its resolved root dir."""
    return hashlib.sha256(str(Path(root_dir).resolve()).encode()).hexdigest()[:12]


class PipelineSessionManager(LoggingConfigurable):
    """Launches, tracks, stops and adopts the pipeline sessions of this server.

    Not called SessionManager: jupyter_server has a configurable of that name, and
    traitlets config sections (``c.SessionManager``) go by class name.
    """

    docker_url = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Docker engine URL of the sessions (unix:///var/run/docker.sock, "
        "tcp://host:2375). None uses the shared DockerEngine (DockerEngine.docker_url).",
    )
    backend = Enum(
        ["docker", "swarm"],
        default_value="docker",
        config=True,
        help="Where sessions run unless a launch asks otherwise: 'docker' (containers on "
        "this engine) or 'swarm' (EG and the jupyter-server as services on this engine's "
        "node, kernels as services anywhere in the swarm this engine manages; the pipeline "
        "directory must be at the same path on every node).",
    )
    kernel_constraints = List(
        Unicode(),
        config=True,
        help="Placement constraints of the kernel services of swarm sessions, e.g. "
        "['node.labels.gpu==true'].",
    )
    docker_socket = Unicode(
        EG_DOCKER_SOCKET,
        config=True,
        help="Docker socket on the host that is mounted into each session's Enterprise "
        "Gateway, which starts kernel containers through it. This gives EG root-equivalent "
        "access to the host; EG is therefore never published beyond 127.0.0.1.",
    )
    eg_image = Unicode(
        "orchest-ext/eg:latest",
        config=True,
        help="Enterprise Gateway image (built by `jupyter orchest images build`).",
    )
    server_image = Unicode(
        "orchest-ext/server:latest",
        config=True,
        help="jupyter-server image of sessions (built by `jupyter orchest images build`).",
    )
    kernel_image = Unicode(
        "orchest-ext/kernel:latest",
        config=True,
        help="Image of Python session kernels (and of any language not in kernel_images); "
        "replaces image_name in their session kernelspecs. Sessions need it.",
    )
    kernel_images = Dict(
        default_value={"r": "orchest-ext/kernel-r:latest"},
        value_trait=Unicode(),
        config=True,
        help="Image of session kernels by kernelspec language (lower case); replaces "
        "image_name in their session kernelspecs. A kernel whose image is not built is not "
        "offered (`jupyter orchest images build --only kernel-r` builds the R one).",
    )
    kernelspecs_dir = Unicode(
        str(SHIPPED_KERNELSPECS),
        config=True,
        help="Directory of the kernelspecs EG offers (one subdirectory per kernel, using "
        "DockerProcessProxy and orchest_ext.kernel_launcher). Only these kernels are allowed.",
    )
    network = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Docker network shared by all sessions (created if missing, never removed). "
        "None gives each session a network of its own, removed with the session.",
    )
    mount_path = Unicode(
        "",
        config=True,
        help="Path of the pipeline directory inside the session's jupyter-server and kernel "
        "containers ('': the same path as on the host, as for docker steps).",
    )
    publish = Enum(
        ["loopback", "none"],
        default_value="loopback",
        config=True,
        help="'loopback' publishes the jupyter-server and EG ports on 127.0.0.1 (random "
        "ports); 'none' publishes nothing: they are reachable only through the session "
        "network (on Linux, also from the host at the containers' IP addresses).",
    )
    readiness_timeout = Float(
        60.0,
        config=True,
        help="Seconds a launch may take until EG and the jupyter-server answer; then FAILED.",
    )
    kernel_launch_timeout = Float(
        60.0, config=True, help="Seconds EG waits for a kernel container to connect back."
    )
    stop_timeout = Float(
        5.0,
        config=True,
        help="Seconds EG and the jupyter-server get to shut down (and their kernels) "
        "before they are killed.",
    )
    eg_env = Dict(
        value_trait=Unicode(),
        config=True,
        help="Extra environment of the EG containers (EG_* settings), applied last.",
    )
    kernel_cpu_limit = Float(
        None, allow_none=True, config=True, help="CPU cores a kernel container may use (None: all)."
    )
    kernel_memory_limit = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Memory limit of a kernel container, e.g. '512m' or '2g' (None: unlimited).",
    )
    run_as_uid = Integer(
        None,
        allow_none=True,
        config=True,
        help="uid of the session's jupyter-server and kernels, so files they write in the "
        "pipeline directory belong to it (None: this server's uid). When it is 0, the "
        "session's EG is told to allow root kernels, which EG refuses by default.",
    )
    run_as_gid = Integer(
        None, allow_none=True, config=True, help="gid to go with run_as_uid (None: this server's)."
    )
    kernel_username = Unicode(
        config=True, help="KERNEL_USERNAME of session kernels (default: this server's user name)."
    )
    keep_sessions = Bool(
        False,
        config=True,
        help="Leave running sessions alone when the server stops; the next start adopts them.",
    )
    state_dir = Unicode(
        config=True,
        help="Directory of per-session files (the kernelspecs mounted into EG), in a "
        "subdirectory per scope; default: <jupyter data dir>/orchest_ext/sessions.",
    )
    scope = Unicode(
        config=True,
        help="Label value that marks the sessions of this server, so servers that share a "
        "Docker engine leave each other's sessions alone (default: a hash of the root dir).",
    )
    liveness_interval = Float(
        2.0,
        min=0.1,
        config=True,
        help="Seconds between checks that a running docker session's EG and server containers "
        "still run; a session whose container stopped (engine restart, OOM kill) ends FAILED.",
    )
    connect_timeout = Float(
        None,
        allow_none=True,
        config=True,
        help="Seconds to wait for the Docker engine to answer a health check (None: "
        "DockerEngine.connect_timeout).",
    )

    @default("kernel_username")
    def _default_kernel_username(self) -> str:
        return getpass.getuser()

    @default("state_dir")
    def _default_state_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "orchest_ext" / "sessions")

    @default("scope")
    def _default_scope(self) -> str:
        return default_scope(self.root_dir)

    @validate("kernel_memory_limit")
    def _valid_memory(self, proposal: dict[str, Any]) -> str | None:
        return checked_memory(proposal)

    @validate("kernel_cpu_limit")
    def _valid_cpus(self, proposal: dict[str, Any]) -> float | None:
        value = proposal["value"]
        if value is not None and value <= 0:
            raise TraitError(f"PipelineSessionManager.kernel_cpu_limit must be positive: {value}.")
        return value

    @validate("mount_path")
    def _valid_mount_path(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if value and not value.startswith("/"):
            raise TraitError(f"PipelineSessionManager.mount_path must be absolute, not {value!r}.")
        return value

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
        self._node_id = ""

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
            self._node_id = await swarm_manager_node(
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

    def _settings(self, backend: str = "docker") -> SpecSettings:
        uid = os.getuid() if self.run_as_uid is None else self.run_as_uid
        gid = os.getgid() if self.run_as_gid is None else self.run_as_gid
        return SpecSettings(
            scope=self.scope,
            eg_image=self.eg_image,
            server_image=self.server_image,
            kernel_image=self.kernel_image,
            docker_socket=self.docker_socket,
            publish=self.publish,
            kernel_launch_timeout=self.kernel_launch_timeout,
            kernel_username=self.kernel_username,
            uid=uid,
            gid=gid,
            eg_env=dict(self.eg_env),
            kernel_cpu_limit=self.kernel_cpu_limit,
            kernel_memory_limit=self.kernel_memory_limit,
            backend=backend,
            node_id=self._node_id,
            kernel_constraints=tuple(self.kernel_constraints),
            kernel_images=dict(self.kernel_images),
        )

    async def _launch(self, session: Session) -> None:
        """Create and start everything and wait until ready; FAILED (cleaned up) otherwise.

        A stop does not cancel a launch: the launch completes its docker calls, so nothing
        is created behind the teardown's back, and then gives way (status not LAUNCHING).
        """
        try:
            if session.backend == "swarm":
                await self._create_services(session)
                await self._wait_services_ready(session)
            else:
                containers = await self._create(session)
                await self._wait_ready(session, containers)
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
            session.log_tail = await self._log_tail(found[0])
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

    async def _prepare(self, session: Session) -> tuple[SpecSettings, dict[str, dict[str, Any]]]:
        """The session's network and kernelspecs; its EG and server container configs."""
        settings = self._settings(session.backend)
        await self._check_images()
        kernel_names = await prepare_kernelspecs(
            Path(self.kernelspecs_dir),
            self._session_dir(session.session_id) / "kernels",
            settings,
            session,
            self.engine.image_exists,
            self.log,
        )
        try:
            await self.engine.client().networks.create(
                network_config(settings, session, shared=bool(self.network))
            )
        except ENGINE_ERRORS as err:
            if getattr(err, "status", None) != 409 or not self.network:
                raise
        kernels_dir = str(self._session_dir(session.session_id) / "kernels")
        return settings, {
            EG: eg_config(settings, session, kernel_names, kernels_dir),
            SERVER: server_config(settings, session),
        }

    async def _create(self, session: Session) -> dict[str, DockerContainer]:
        """The session's network, kernelspecs, EG and server containers (started)."""
        _, configs = await self._prepare(session)
        eg, server = await self._start_containers(
            *((session.container_name(role), config) for role, config in configs.items())
        )
        return {EG: eg, SERVER: server}

    async def _create_services(self, session: Session) -> None:
        """The session's overlay network, kernelspecs, EG and server services."""
        settings, configs = await self._prepare(session)
        await self.services.create(
            [
                service_config(settings, config, session.container_name(role))
                for role, config in configs.items()
            ]
        )

    async def _check_images(self) -> None:
        images = [self.eg_image, self.server_image, self.kernel_image]
        found = await asyncio.gather(*(self.engine.image_exists(image) for image in images))
        missing = [image for image, exists in zip(images, found, strict=True) if not exists]
        if missing:
            raise LaunchFailed(
                f"Docker image(s) not found: {', '.join(missing)}; {BUILD_HINT} "
                "(or configure PipelineSessionManager.eg_image/server_image/kernel_image)."
            )

    def _session_dir(self, session_id: str) -> Path:
        return Path(self.state_dir) / self.scope / session_id

    async def _start_containers(self, *named: tuple[str, dict[str, Any]]) -> list[DockerContainer]:
        """Create and start the containers concurrently; raise the first error after all end."""
        results = await asyncio.gather(
            *(self._start_container(name, config) for name, config in named),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return list(results)

    async def _start_container(self, name: str, config: dict[str, Any]) -> DockerContainer:
        container = await self.engine.client().containers.create(config, name=name)
        await container.start()
        return container

    async def _wait_ready(self, session: Session, containers: dict[str, DockerContainer]) -> None:
        """Poll EG and the jupyter-server until both answer, a container exits or time is up."""

        async def inspect() -> dict[str, dict[str, Any]]:
            shown = await asyncio.gather(*(c.show() for c in containers.values()))
            return dict(zip(containers, shown, strict=True))

        infos = await inspect()
        raise_if_exited(infos)
        session.gateway_url = container_url(infos[EG], self.publish, session.network)
        session.server_url = container_url(infos[SERVER], self.publish, session.network)
        await self._probe_until_ready(session, inspect, self.readiness_timeout)

    async def _wait_services_ready(self, session: Session) -> None:
        """Wait until the EG and server services' tasks run on this node, then probe them
        like containers; ``LaunchFailed`` with the scheduler's reason when a task ends or
        does not start within ``readiness_timeout``."""
        names = {role: session.container_name(role) for role in (EG, SERVER)}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.readiness_timeout
        while len(infos := await self.services.containers(names)) < len(names):
            if session.status != LAUNCHING:
                return
            if loop.time() > deadline:
                role = next(role for role in names if role not in infos)
                reason = await self.services.pending_reason(names[role])
                raise LaunchFailed(
                    f"The {ROLE_NAMES[role]} service did not start within "
                    f"{self.readiness_timeout:g} s (PipelineSessionManager.readiness_timeout): "
                    f"{reason}",
                    role,
                )
            await asyncio.sleep(POLL_INTERVAL)
        session.gateway_url = await self.services.url(infos[EG])
        session.server_url = await self.services.url(infos[SERVER])
        await self._probe_until_ready(
            session, lambda: self.services.containers(names), max(deadline - loop.time(), 0.0)
        )

    async def _probe_until_ready(
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

    async def _fail(self, session: Session, failure: LaunchFailed) -> None:
        """Record the failure (with the failing container's log tail) and clean up; the
        session ends FAILED whatever the clean-up raises."""
        if session.status != LAUNCHING:
            return
        session.reason = failure.reason
        try:
            if failure.role:
                session.failed_container = session.container_name(failure.role)
                session.log_tail = await (
                    self.services.log_tail(session.failed_container, LOG_TAIL_LINES)
                    if session.backend == "swarm"
                    else self._log_tail(session.failed_container)
                )
            await self._teardown(session.session_id)
        except Exception as err:
            self.log.error(
                "Cleaning up session %s failed: %s", session.session_id, engine_error_reason(err)
            )
        finally:
            self._set_status(session, FAILED)

    async def _log_tail(self, name: str) -> str | None:
        try:
            lines = (
                await self.engine.client()
                .containers.container(name)
                .log(stdout=True, stderr=True, tail=LOG_TAIL_LINES)
            )
        except ENGINE_ERRORS:
            return None
        return "".join(lines).strip() or None

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
        """Stop EG and the server containers (which shut their kernels down), and this
        node's swarm task containers, while the session's services (on swarm: EG, server,
        kernels) are removed (the swarm agent takes seconds to stop a removed service's
        task); then remove every container with the session's label (kernels of a dead EG
        too) and its network."""
        gone = self.stop_timeout + self.engine.connect_timeout
        containers = await self._session_containers(session_id)
        had_services, *_ = await asyncio.gather(
            self.services.remove(session_id, gone),
            *(
                self.engine.stop_container(c.id, self.stop_timeout)
                for c in containers
                if c["Labels"].get(ROLE_LABEL) in (EG, SERVER) or SWARM_TASK_LABEL in c["Labels"]
            ),
        )
        remaining = await self._session_containers(session_id)
        await asyncio.gather(*(self.engine.remove_container(c.id) for c in remaining))
        await self.services.remove_network(session_network(session_id), gone)
        if had_services:
            await self._remove_late_task_containers(session_id, gone)
        await asyncio.to_thread(shutil.rmtree, self._session_dir(session_id), True)

    async def _remove_late_task_containers(self, session_id: str, timeout: float) -> None:
        """Remove the containers the swarm agent still creates for tasks of services removed
        while they were being scheduled, until none has appeared for ``LATE_TASK_QUIET``
        seconds (at most ``timeout``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet_since = loop.time()
        while loop.time() - quiet_since < LATE_TASK_QUIET and loop.time() < deadline:
            late = await self._session_containers(session_id)
            if late:
                await asyncio.gather(*(self.engine.remove_container(c.id) for c in late))
                quiet_since = loop.time()
            await asyncio.sleep(POLL_INTERVAL)

    async def _session_containers(self, session_id: str) -> list[DockerContainer]:
        labels = [f"{PROJECT_LABEL}={PROJECT}", f"{SESSION_LABEL}={session_id}"]
        return await self.engine.client().containers.list(all=True, filters={"label": labels})

    # -- restart reconciliation --------------------------------------------------------------

    async def reconcile(self) -> None:
        """Adopt the complete, healthy sessions of this scope; remove everything else. All
        sessions are probed at once."""
        labels = [f"{PROJECT_LABEL}={PROJECT}", f"{SCOPE_LABEL}={self.scope}", SESSION_LABEL]
        try:
            client = self.engine.client()
            containers, networks, services = await asyncio.gather(
                client.containers.list(all=True, filters={"label": labels}),
                client.networks.list(filters={"label": labels}),
                self.services.find(labels),
            )
        except (*ENGINE_ERRORS, ExecutorUnavailable) as err:
            self.log.info("No sessions to adopt: Docker engine unavailable (%s)", err)
            return
        groups = group_by_session(containers, networks)
        service_roles: defaultdict[str, set[str]] = defaultdict(set)
        for service in services:
            labels = service["Spec"]["Labels"]
            service_roles[labels[SESSION_LABEL]].add(labels.get(ROLE_LABEL, ""))
            groups.setdefault(labels[SESSION_LABEL], [])

        async def reconcile_one(session_id: str, group: list[DockerContainer]) -> None:
            roles = service_roles.get(session_id)
            await self._reconcile_one(session_id, group, roles)

        await reconcile_all(groups, reconcile_one, self.log)
        await asyncio.to_thread(self._remove_stale_state)

    async def _reconcile_one(
        self, session_id: str, group: list[DockerContainer], service_roles: set[str] | None
    ) -> None:
        """Adopt the session or remove it; a swarm session (``service_roles``: the roles of
        its services) needs its EG and server services too, not just their containers,
        which outlive a removed service for seconds."""
        if service_roles is None:
            session = await adoptable(session_id, group, self._container_url)
        elif {EG, SERVER} <= service_roles:
            session = await adoptable(session_id, group, self._service_url)
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

    async def _container_url(self, info: dict[str, Any], network: str) -> str:
        return container_url(info, self.publish, network)

    async def _service_url(self, info: dict[str, Any], network: str) -> str:
        return await self.services.url(info)

    def _remove_stale_state(self) -> None:
        """Delete the state dirs of this scope's sessions that this server does not know."""
        root = Path(self.state_dir) / self.scope
        known = {session.session_id for session in self._sessions.values()}
        for path in root.glob("*") if root.is_dir() else []:
            if path.is_dir() and path.name not in known:
                shutil.rmtree(path, ignore_errors=True)
