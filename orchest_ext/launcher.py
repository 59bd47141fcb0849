"""PipelineSessionManager: interactive pipeline sessions, one per pipeline (aiodocker).

A session is a docker network, an Enterprise Gateway (EG) container and a jupyter-server
container that runs every kernel through that EG (``--gateway-url``). EG starts each
kernel in a container of its own with ``orchest_ext.kernel_launcher``, which mounts the
pipeline directory at the path the jupyter-server sees. Every container and the
network carry the session's labels, so stopping and restart reconciliation find them
in the engine: docker is the only record of a session besides this process's memory.

EG gets the docker socket, which is root-equivalent access to the host: its port is
published on 127.0.0.1 only (or not at all) and requires a generated token.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import json
import os
import secrets
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiodocker
import aiohttp
from aiodocker.containers import DockerContainer
from jupyter_core.paths import jupyter_data_dir
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import Bool, Dict, Enum, Float, Integer, TraitError, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from .events import LAUNCH_STATUS, Emit
from .executors.base import ExecutorUnavailable
from .executors.docker import (
    BUILD_HINT,
    ENGINE_ERRORS,
    PIPELINE_LABEL,
    PROJECT,
    PROJECT_LABEL,
    parse_memory,
)
from .kernel_launcher import SETTINGS_PREFIX

LAUNCHING = "LAUNCHING"
RUNNING = "RUNNING"
STOPPING = "STOPPING"
STOPPED = "STOPPED"
"""Only in events: a stopped session is gone from the API."""
FAILED = "FAILED"
SESSION_LABEL = "orchest_ext.session"
SCOPE_LABEL = "orchest_ext.scope"
ROLE_LABEL = "orchest_ext.role"
DIR_LABEL = "orchest_ext.pipeline_dir"
CREATED_LABEL = "orchest_ext.created"
EG, SERVER, KERNEL = "eg", "server", "kernel"
ROLE_NAMES = {EG: "Enterprise Gateway", SERVER: "jupyter-server", KERNEL: "kernel"}
PORT = 8888
"""The port EG and the jupyter-server listen on inside their containers."""
EG_KERNELS_DIR = "/usr/local/share/jupyter/kernels"
EG_DOCKER_SOCKET = "/var/run/docker.sock"
SHIPPED_KERNELSPECS = Path(__file__).parent / "kernelspecs"
"""The kernelspecs in an installed wheel; a source checkout has them beside the package."""
if not SHIPPED_KERNELSPECS.is_dir():
    SHIPPED_KERNELSPECS = Path(__file__).parent.parent / "kernelspecs"
POLL_INTERVAL = 0.1
LOG_TAIL_LINES = 40


def now() -> str:
    """The current UTC time in ISO 8601."""
    return datetime.now(timezone.utc).isoformat()


class SessionExists(Exception):
    """The pipeline already has a session that is launching, running or stopping."""


class LaunchFailed(Exception):
    """A launch step failed; ``role`` names the container at fault, if one is."""

    def __init__(self, reason: str, role: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.role = role


@dataclass
class Session:
    """One pipeline's session as this server knows it."""

    pipeline_uuid: str
    session_id: str
    pipeline_dir: str
    """The pipeline directory relative to the server's root dir."""
    host_dir: Path
    mount_path: str
    network: str
    status: str = LAUNCHING
    created_time: str = field(default_factory=now)
    started_time: str | None = None
    server_token: str = field(default_factory=lambda: secrets.token_hex(24))
    gateway_token: str = field(default_factory=lambda: secrets.token_hex(24))
    server_url: str | None = None
    gateway_url: str | None = None
    reason: str | None = None
    failed_container: str | None = None
    log_tail: str | None = None
    task: asyncio.Task | None = field(default=None, repr=False)

    def container_name(self, role: str) -> str:
        return f"orchest-{self.session_id}-{role}"

    def to_dict(self) -> dict[str, Any]:
        running = self.status == RUNNING
        return {
            "pipeline_uuid": self.pipeline_uuid,
            "session_id": self.session_id,
            "pipeline_dir": self.pipeline_dir,
            "status": self.status,
            "created_time": self.created_time,
            "started_time": self.started_time,
            "server_info": {
                "url": self.server_url,
                "token": self.server_token,
                "base_url": "/",
                "root_dir": self.mount_path,
            }
            if running
            else None,
            "gateway_info": {"url": self.gateway_url, "token": self.gateway_token}
            if running
            else None,
            "reason": self.reason,
            "failed_container": self.failed_container,
            "log_tail": self.log_tail,
        }

    def event(self) -> dict[str, Any]:
        """The launch_status event of the current status (no secrets)."""
        running = self.status == RUNNING
        return {
            "pipeline_uuid": self.pipeline_uuid,
            "session_id": self.session_id,
            "pipeline_dir": self.pipeline_dir,
            "status": self.status,
            "reason": self.reason,
            "server_url": self.server_url if running else None,
            "gateway_url": self.gateway_url if running else None,
        }


class PipelineSessionManager(LoggingConfigurable):
    """Launches, tracks, stops and adopts the pipeline sessions of this server.

    Not called SessionManager: jupyter_server has a configurable of that name, and
    traitlets config sections (``c.SessionManager``) go by class name.
    """

    docker_url = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Docker engine URL of the launcher (unix:///var/run/docker.sock, "
        "tcp://host:2375). None uses DOCKER_HOST or the default socket.",
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
        help="Image of session kernels; replaces image_name in every session kernelspec.",
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
    connect_timeout = Float(
        5.0, config=True, help="Seconds to wait for the Docker engine to answer a health check."
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
        value = proposal["value"]
        if value is not None:
            try:
                parse_memory(value)
            except ValueError:
                raise TraitError(
                    f"PipelineSessionManager.kernel_memory_limit: {value!r} is not a size "
                    "like '512m' or '2g'."
                ) from None
        return value

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

    def __init__(self, root_dir: str | Path, emit: Emit | None = None, **kwargs: Any) -> None:
        self.root_dir = Path(root_dir).resolve()
        super().__init__(**kwargs)
        self._emit = emit or (lambda schema_id, data: None)
        self._sessions: dict[str, Session] = {}
        self._docker: aiodocker.Docker | None = None

    # -- engine ------------------------------------------------------------------------------

    def _client(self) -> aiodocker.Docker:
        """The shared aiodocker client, created on first use."""
        if self._docker is None:
            try:
                self._docker = aiodocker.Docker(
                    url=self.docker_url,
                    timeout=aiohttp.ClientTimeout(total=120, sock_connect=self.connect_timeout),
                )
            except (AssertionError, ValueError) as err:
                raise ExecutorUnavailable(f"No Docker engine configured: {err}") from None
        return self._docker

    async def check_available(self) -> None:
        """Raise ``ExecutorUnavailable`` when the Docker engine does not answer."""
        try:
            await asyncio.wait_for(self._client().version(), self.connect_timeout)
        except ExecutorUnavailable:
            raise
        except (*ENGINE_ERRORS, ValueError) as err:
            address = self.docker_url or os.environ.get("DOCKER_HOST") or "the default socket"
            raise ExecutorUnavailable(
                f"Docker engine unreachable at {address}: {str(err) or type(err).__name__}. "
                "Sessions need a running Docker engine."
            ) from None

    async def close(self) -> None:
        if self._docker is not None:
            await self._docker.close()
            self._docker = None

    # -- public API --------------------------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        return [session.to_dict() for session in self._sessions.values()]

    def get(self, pipeline_uuid: str) -> dict[str, Any] | None:
        session = self._sessions.get(pipeline_uuid)
        return None if session is None else session.to_dict()

    async def launch(self, pipeline_uuid: str, host_dir: Path, pipeline_dir: str) -> dict[str, Any]:
        """Start launching a session in the background; return it (LAUNCHING)."""
        self._check_free(pipeline_uuid)
        await self.check_available()
        self._check_free(pipeline_uuid)
        session_id = secrets.token_hex(6)
        session = Session(
            pipeline_uuid=pipeline_uuid,
            session_id=session_id,
            pipeline_dir=pipeline_dir,
            host_dir=host_dir,
            mount_path=self.mount_path or str(host_dir),
            network=self.network or session_network(session_id),
        )
        self._sessions[pipeline_uuid] = session
        self._changed(session)
        session.task = asyncio.get_running_loop().create_task(self._launch(session))
        return session.to_dict()

    async def stop(self, pipeline_uuid: str) -> dict[str, Any] | None:
        """Start stopping a session (idempotent); None if there is no such session."""
        session = self._sessions.get(pipeline_uuid)
        if session is None or session.status == STOPPING:
            return None if session is None else session.to_dict()
        if session.status != FAILED:
            await self.check_available()
        if session.status != STOPPING:
            launching, session.task = session.task, None
            self._set_status(session, STOPPING)
            session.task = asyncio.get_running_loop().create_task(self._stop(session, launching))
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
        tasks = [s.task for s in self._sessions.values() if s.task and s.status == STOPPING]
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.close()

    def _check_free(self, pipeline_uuid: str) -> None:
        existing = self._sessions.get(pipeline_uuid)
        if existing is not None and existing.status != FAILED:
            raise SessionExists(
                f"Pipeline {pipeline_uuid!r} already has a session ({existing.status}); "
                "stop it first with DELETE."
            )

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
            containers = await self._create(session)
            await self._wait_ready(session, containers)
        except LaunchFailed as failure:
            await self._fail(session, failure)
            return
        except ENGINE_ERRORS as err:
            reason = getattr(err, "message", None) or str(err) or type(err).__name__
            await self._fail(session, LaunchFailed(f"Docker engine error: {reason}"))
            return
        except Exception as err:
            self.log.exception("Launching session %s failed", session.session_id)
            await self._fail(session, LaunchFailed(f"{type(err).__name__}: {err}"))
            return
        if session.status == LAUNCHING:
            session.started_time = now()
            self._set_status(session, RUNNING)

    async def _create(self, session: Session) -> dict[str, DockerContainer]:
        """The session's network, kernelspecs, EG and server containers (started)."""
        await self._check_images()
        kernel_names = await asyncio.to_thread(self._write_kernelspecs, session)
        await self._ensure_network(session)
        eg, server = await self._start_containers(
            (session.container_name(EG), self._eg_config(session, kernel_names)),
            (session.container_name(SERVER), self._server_config(session)),
        )
        return {EG: eg, SERVER: server}

    async def _check_images(self) -> None:
        images = [self.eg_image, self.server_image, self.kernel_image]
        found = await asyncio.gather(*(self._image_exists(image) for image in images))
        missing = [image for image, exists in zip(images, found, strict=True) if not exists]
        if missing:
            raise LaunchFailed(
                f"Docker image(s) not found: {', '.join(missing)}; {BUILD_HINT} "
                "(or configure PipelineSessionManager.eg_image/server_image/kernel_image)."
            )

    async def _image_exists(self, image: str) -> bool:
        try:
            await self._client().images.inspect(image)
        except aiodocker.DockerError as err:
            if err.status == 404:
                return False
            raise
        return True

    def _labels(self, session: Session, role: str) -> dict[str, str]:
        return {
            PROJECT_LABEL: PROJECT,
            SCOPE_LABEL: self.scope,
            SESSION_LABEL: session.session_id,
            PIPELINE_LABEL: session.pipeline_uuid,
            DIR_LABEL: session.pipeline_dir,
            CREATED_LABEL: session.created_time,
            ROLE_LABEL: role,
        }

    def _session_dir(self, session_id: str) -> Path:
        return Path(self.state_dir) / self.scope / session_id

    def _write_kernelspecs(self, session: Session) -> list[str]:
        """Render the session's kernelspecs into its state dir; return the kernel names."""
        source = Path(self.kernelspecs_dir)
        target = self._session_dir(session.session_id) / "kernels"
        specs = sorted(path.parent for path in source.glob("*/kernel.json"))
        if not specs:
            raise LaunchFailed(f"No kernelspecs (*/kernel.json) in {source}.")
        for spec_dir in specs:
            shutil.copytree(spec_dir, target / spec_dir.name, dirs_exist_ok=True)
            spec = json.loads((spec_dir / "kernel.json").read_text())
            proxy = spec.setdefault("metadata", {}).setdefault("process_proxy", {})
            proxy.setdefault("config", {})["image_name"] = self.kernel_image
            spec["env"] = {**spec.get("env", {}), **self._launcher_env(session)}
            (target / spec_dir.name / "kernel.json").write_text(json.dumps(spec, indent=2))
        target.chmod(0o755)
        return [spec_dir.name for spec_dir in specs]

    def _launcher_env(self, session: Session) -> dict[str, str]:
        """The ``ORCHEST_LAUNCH_*`` settings of orchest_ext.kernel_launcher."""
        env = {
            "HOST_DIR": str(session.host_dir),
            "MOUNT_PATH": session.mount_path,
            "LABELS": json.dumps(self._labels(session, KERNEL)),
            "NAME_PREFIX": session.container_name(KERNEL),
        }
        if self.kernel_cpu_limit:
            env["CPUS"] = str(self.kernel_cpu_limit)
        if self.kernel_memory_limit:
            env["MEMORY"] = str(parse_memory(self.kernel_memory_limit))
        return {SETTINGS_PREFIX + key: value for key, value in env.items()}

    def _identity(self) -> tuple[int, int]:
        """The uid and gid the session's jupyter-server and kernels run as."""
        uid = os.getuid() if self.run_as_uid is None else self.run_as_uid
        gid = os.getgid() if self.run_as_gid is None else self.run_as_gid
        return uid, gid

    async def _ensure_network(self, session: Session) -> None:
        labels = {PROJECT_LABEL: PROJECT, SCOPE_LABEL: self.scope}
        if not self.network:
            labels[SESSION_LABEL] = session.session_id
        try:
            await self._client().networks.create(
                {"Name": session.network, "CheckDuplicate": True, "Labels": labels}
            )
        except aiodocker.DockerError as err:
            if err.status != 409 or not self.network:
                raise

    def _host_config(self, session: Session, binds: list[str]) -> dict[str, Any]:
        config: dict[str, Any] = {"Binds": binds, "NetworkMode": session.network, "Init": True}
        if self.publish == "loopback":
            config["PortBindings"] = {f"{PORT}/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
        return config

    def _eg_config(self, session: Session, kernel_names: list[str]) -> dict[str, Any]:
        uid, gid = self._identity()
        env = {
            "EG_DOCKER_NETWORK": session.network,
            "EG_ALLOWED_KERNELS": ",".join(kernel_names),
            "EG_DEFAULT_KERNEL_NAME": "python3" if "python3" in kernel_names else kernel_names[0],
            "EG_AUTH_TOKEN": session.gateway_token,
            "EG_MIRROR_WORKING_DIRS": "True",
            "EG_INHERITED_ENVS": "PATH",
            "EG_LIST_KERNELS": "True",
            "EG_KERNEL_LAUNCH_TIMEOUT": str(int(self.kernel_launch_timeout)),
            "EG_IP": "0.0.0.0",
            "EG_PORT": str(PORT),
        }
        if uid == 0:
            env["EG_PROHIBITED_UIDS"] = ""
        if gid == 0:
            env["EG_PROHIBITED_GIDS"] = ""
        if self.kernel_username == "root":
            env["EG_UNAUTHORIZED_USERS"] = ""
        env.update(self.eg_env)
        kernels_dir = self._session_dir(session.session_id) / "kernels"
        binds = [f"{self.docker_socket}:{EG_DOCKER_SOCKET}", f"{kernels_dir}:{EG_KERNELS_DIR}:ro"]
        return {
            "Image": self.eg_image,
            "Env": [f"{key}={value}" for key, value in env.items()],
            "Labels": self._labels(session, EG),
            "ExposedPorts": {f"{PORT}/tcp": {}},
            "HostConfig": self._host_config(session, binds),
        }

    def _server_config(self, session: Session) -> dict[str, Any]:
        uid, gid = self._identity()
        env = {
            "JUPYTER_TOKEN": session.server_token,
            "JUPYTER_GATEWAY_AUTH_TOKEN": session.gateway_token,
            "KERNEL_USERNAME": self.kernel_username,
            "KERNEL_UID": str(uid),
            "KERNEL_GID": str(gid),
            "KERNEL_LAUNCH_TIMEOUT": str(int(self.kernel_launch_timeout)),
            "HOME": "/tmp",
        }
        command = [
            "jupyter",
            "server",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=0.0.0.0",
            f"--ServerApp.port={PORT}",
            "--ServerApp.port_retries=0",
            "--ServerApp.allow_remote_access=True",
            f"--ServerApp.root_dir={session.mount_path}",
            f"--gateway-url=http://{session.container_name(EG)}:{PORT}",
        ]
        return {
            "Image": self.server_image,
            "Cmd": command,
            "Env": [f"{key}={value}" for key, value in env.items()],
            "User": f"{uid}:{gid}",
            "WorkingDir": session.mount_path,
            "Labels": self._labels(session, SERVER),
            "ExposedPorts": {f"{PORT}/tcp": {}},
            "HostConfig": self._host_config(
                session, [f"{session.host_dir}:{session.mount_path}:rw"]
            ),
        }

    async def _start_containers(self, *specs: tuple[str, dict[str, Any]]) -> list[DockerContainer]:
        """Create and start the containers concurrently; raise the first error after all end."""
        results = await asyncio.gather(
            *(self._start_container(name, config) for name, config in specs),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return list(results)

    async def _start_container(self, name: str, config: dict[str, Any]) -> DockerContainer:
        container = await self._client().containers.create(config, name=name)
        await container.start()
        return container

    async def _wait_ready(self, session: Session, containers: dict[str, DockerContainer]) -> None:
        """Poll EG and the jupyter-server until both answer, a container exits or time is up."""
        infos = {role: await container.show() for role, container in containers.items()}
        _raise_if_exited(infos)
        session.gateway_url = self._url(session, infos[EG])
        session.server_url = self._url(session, infos[SERVER])
        probes = {
            EG: (f"{session.gateway_url}api/kernelspecs", session.gateway_token),
            SERVER: (f"{session.server_url}api/status", session.server_token),
        }
        deadline = asyncio.get_running_loop().time() + self.readiness_timeout
        while probes and session.status == LAUNCHING:
            answers = await asyncio.gather(*(_probe(url, token) for url, token in probes.values()))
            probes = {
                role: probe
                for (role, probe), ok in zip(probes.items(), answers, strict=True)
                if not ok
            }
            if not probes:
                return
            _raise_if_exited({role: await c.show() for role, c in containers.items()})
            if asyncio.get_running_loop().time() > deadline:
                role = next(iter(probes))
                raise LaunchFailed(
                    f"The {ROLE_NAMES[role]} did not answer within "
                    f"{self.readiness_timeout:g} s (PipelineSessionManager.readiness_timeout).",
                    role,
                )
            await asyncio.sleep(POLL_INTERVAL)

    def _url(self, session: Session, info: dict[str, Any]) -> str:
        """The container's HTTP URL as reachable from this server."""
        settings = info["NetworkSettings"]
        if self.publish == "loopback":
            port = settings["Ports"][f"{PORT}/tcp"][0]["HostPort"]
            return f"http://127.0.0.1:{port}/"
        address = settings["Networks"][session.network]["IPAddress"]
        return f"http://{address}:{PORT}/"

    async def _fail(self, session: Session, failure: LaunchFailed) -> None:
        """Record the failure (with the failing container's log tail) and clean up."""
        if session.status != LAUNCHING:
            return
        session.reason = failure.reason
        if failure.role:
            session.failed_container = session.container_name(failure.role)
            session.log_tail = await self._log_tail(session.failed_container)
        try:
            await self._teardown(session.session_id)
        except ENGINE_ERRORS as err:
            self.log.error("Cleaning up session %s failed: %s", session.session_id, err)
        self._set_status(session, FAILED)

    async def _log_tail(self, name: str) -> str | None:
        try:
            lines = (
                await self._client()
                .containers.container(name)
                .log(stdout=True, stderr=True, tail=LOG_TAIL_LINES)
            )
        except ENGINE_ERRORS:
            return None
        return "".join(lines).strip() or None

    # -- stopping ----------------------------------------------------------------------------

    async def _stop(self, session: Session, launching: asyncio.Task | None) -> None:
        """Let a launch in progress give way, remove everything of the session, forget it."""
        if launching is not None:
            await asyncio.gather(launching, return_exceptions=True)
        try:
            await self._teardown(session.session_id)
        except ENGINE_ERRORS as err:
            self.log.error("Stopping session %s failed: %s", session.session_id, err)
        if self._sessions.get(session.pipeline_uuid) is session:
            del self._sessions[session.pipeline_uuid]
        session.reason = None
        self._set_status(session, STOPPED)

    async def _teardown(self, session_id: str) -> None:
        """Stop EG and the server (which shut their kernels down), then remove every
        container with the session's label (kernels of a dead EG too) and its network."""
        containers = await self._session_containers(session_id)
        await asyncio.gather(
            *(
                self._stop_container(c.id)
                for c in containers
                if c["Labels"].get(ROLE_LABEL) in (EG, SERVER)
            )
        )
        remaining = await self._session_containers(session_id)
        await asyncio.gather(*(self._remove_container(c.id) for c in remaining))
        await self._remove_network(session_network(session_id))
        await asyncio.to_thread(shutil.rmtree, self._session_dir(session_id), True)

    async def _session_containers(self, session_id: str) -> list[DockerContainer]:
        labels = [f"{PROJECT_LABEL}={PROJECT}", f"{SESSION_LABEL}={session_id}"]
        return await self._client().containers.list(all=True, filters={"label": labels})

    async def _stop_container(self, ref: str) -> None:
        try:
            await self._client().containers.container(ref).stop(t=int(self.stop_timeout))
        except aiodocker.DockerError as err:
            if err.status not in (304, 404):
                self.log.warning("Could not stop container %s: %s", ref, err.message)

    async def _remove_container(self, ref: str) -> None:
        try:
            await self._client().containers.container(ref).delete(force=True)
        except aiodocker.DockerError as err:
            if err.status not in (404, 409):
                raise

    async def _remove_network(self, name: str) -> None:
        try:
            network = await self._client().networks.get(name)
            await network.delete()
        except aiodocker.DockerError as err:
            if err.status != 404:
                raise

    # -- restart reconciliation --------------------------------------------------------------

    async def reconcile(self) -> None:
        """Adopt the complete, healthy sessions of this scope; remove everything else."""
        labels = [f"{PROJECT_LABEL}={PROJECT}", f"{SCOPE_LABEL}={self.scope}"]
        try:
            containers = await self._client().containers.list(
                all=True, filters={"label": [*labels, SESSION_LABEL]}
            )
            networks = await self._client().networks.list(
                filters={"label": [*labels, SESSION_LABEL]}
            )
        except (*ENGINE_ERRORS, ExecutorUnavailable) as err:
            self.log.info("No sessions to adopt: Docker engine unavailable (%s)", err)
            return
        groups: dict[str, list[DockerContainer]] = defaultdict(list)
        for container in containers:
            groups[container["Labels"][SESSION_LABEL]].append(container)
        for network in networks:
            groups.setdefault(network["Labels"][SESSION_LABEL], [])
        for session_id, group in groups.items():
            try:
                await self._reconcile_one(session_id, group)
            except Exception:
                self.log.exception("Could not adopt or remove session %s", session_id)
        await asyncio.to_thread(self._remove_stale_state)

    async def _reconcile_one(self, session_id: str, group: list[DockerContainer]) -> None:
        session = await self._adoptable(session_id, group)
        if session is not None and session.pipeline_uuid not in self._sessions:
            self._sessions[session.pipeline_uuid] = session
            self._set_status(session, RUNNING)
            return
        self.log.info("Removing the leftovers of session %s", session_id)
        await self._teardown(session_id)

    async def _adoptable(self, session_id: str, group: list[DockerContainer]) -> Session | None:
        """The session of ``group`` if its EG and server run and answer; else None."""
        by_role = {c["Labels"].get(ROLE_LABEL): c for c in group}
        if any(role not in by_role or by_role[role]["State"] != "running" for role in (EG, SERVER)):
            return None
        eg, server = await asyncio.gather(by_role[EG].show(), by_role[SERVER].show())
        labels = server["Config"]["Labels"]
        network = next(iter(eg["NetworkSettings"]["Networks"]), "")
        session = Session(
            pipeline_uuid=labels[PIPELINE_LABEL],
            session_id=session_id,
            pipeline_dir=labels.get(DIR_LABEL, ""),
            host_dir=Path(_bind_source(server)),
            mount_path=server["Config"].get("WorkingDir") or "/",
            network=network,
            status=LAUNCHING,
            created_time=labels.get(CREATED_LABEL) or now(),
            started_time=server["State"].get("StartedAt"),
            server_token=_env(server).get("JUPYTER_TOKEN", ""),
            gateway_token=_env(eg).get("EG_AUTH_TOKEN", ""),
        )
        try:
            session.server_url = self._url(session, server)
            session.gateway_url = self._url(session, eg)
        except (KeyError, IndexError, TypeError):
            return None
        ready = await asyncio.gather(
            _probe(f"{session.server_url}api/status", session.server_token),
            _probe(f"{session.gateway_url}api/kernelspecs", session.gateway_token),
        )
        return session if all(ready) else None

    def _remove_stale_state(self) -> None:
        """Delete the state dirs of this scope's sessions that this server does not know."""
        root = Path(self.state_dir) / self.scope
        known = {session.session_id for session in self._sessions.values()}
        for path in root.glob("*") if root.is_dir() else []:
            if path.is_dir() and path.name not in known:
                shutil.rmtree(path, ignore_errors=True)


def default_scope(root_dir: str | Path) -> str:
    """The default scope of a server: a short hash of its resolved root dir."""
    return hashlib.sha256(str(Path(root_dir).resolve()).encode()).hexdigest()[:12]


def session_network(session_id: str) -> str:
    """The name of a session's own network (when no shared network is configured)."""
    return f"orchest-{session_id}"


def _env(info: dict[str, Any]) -> dict[str, str]:
    pairs = (item.partition("=") for item in info["Config"].get("Env") or [])
    return {key: value for key, _, value in pairs}


def _bind_source(info: dict[str, Any]) -> str:
    """The host path mounted at the server's working dir (the pipeline directory)."""
    workdir = info["Config"].get("WorkingDir")
    for mount in info.get("Mounts", []):
        if mount.get("Destination") == workdir:
            return mount["Source"]
    return workdir or "/"


async def _probe(url: str, token: str) -> bool:
    """Whether ``url`` answers 200 to a request authorized with ``token``."""
    request = HTTPRequest(
        url,
        headers={"Authorization": f"token {token}"},
        connect_timeout=2,
        request_timeout=3,
    )
    try:
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
    except (OSError, HTTPClientError):
        return False
    return response.code == 200


def _raise_if_exited(infos: dict[str, dict[str, Any]]) -> None:
    """LaunchFailed naming the first container (by role) that is no longer running."""
    for role, info in infos.items():
        state = info["State"]
        if not state.get("Running"):
            raise LaunchFailed(
                f"The {ROLE_NAMES[role]} container exited with code "
                f"{state.get('ExitCode')} before it was ready.",
                role,
            )
