"""The settings of pipeline sessions: every ``c.PipelineSessionManager.*`` option (the
manager inherits them), with their defaults and checks, and what they make of a session's
container specs."""

from __future__ import annotations

import getpass
import hashlib
import os
from pathlib import Path
from typing import Any

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

from ..infra.docker_engine import checked_memory
from ..infra.options import Options
from .specs import EG_DOCKER_SOCKET, SpecSettings

SHIPPED_KERNELSPECS = Path(__file__).parent.parent / "kernelspecs"
"""The kernelspecs in an installed wheel; a source checkout has them beside the package."""
if not SHIPPED_KERNELSPECS.is_dir():
    SHIPPED_KERNELSPECS = Path(__file__).parent.parent.parent / "kernelspecs"


def default_scope(root_dir: str | Path) -> str:
    """The default scope of a server: a short hash of its resolved root dir."""
    return hashlib.sha256(str(Path(root_dir).resolve()).encode()).hexdigest()[:12]


class PipelineSessionManagerConfig(Options):
    """The options of ``PipelineSessionManager``, which inherits them (a mixin, not a
    configurable of its own: they are configured, listed and documented as
    ``PipelineSessionManager.*``)."""

    root_dir: Path
    """The server's root dir (the manager sets it)."""

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

    def spec_settings(self, backend: str = "docker", node_id: str = "") -> SpecSettings:
        """What the container specs of a session on ``backend`` depend on (``node_id``: the
        swarm node of this engine, where EG and servers of swarm sessions run)."""
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
            node_id=node_id,
            kernel_constraints=tuple(self.kernel_constraints),
            kernel_images=dict(self.kernel_images),
        )

    def session_dir(self, session_id: str) -> Path:
        """Where a session's files live (its rendered kernelspecs)."""
        return Path(self.state_dir) / self.scope / session_id
