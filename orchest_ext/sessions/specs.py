"""Pure container specs of a session: labels, the EG and jupyter-server containers (and, on
swarm, the services made of them), the session kernelspecs and the settings of the
in-kernel-container launcher. No I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..infra.docker_engine import PIPELINE_LABEL, PROJECT, PROJECT_LABEL, parse_memory
from ..infra.swarm import bind_mount
from ..kernel_launcher import SETTINGS_PREFIX
from .session import EG, KERNEL, SERVER, Session

SESSION_LABEL = "orchest_ext.session"
SCOPE_LABEL = "orchest_ext.scope"
ROLE_LABEL = "orchest_ext.role"
DIR_LABEL = "orchest_ext.pipeline_dir"
CREATED_LABEL = "orchest_ext.created"
PORT = 8888
"""The port EG and the jupyter-server listen on inside their containers."""
EG_KERNELS_DIR = "/usr/local/share/jupyter/kernels"
EG_DOCKER_SOCKET = "/var/run/docker.sock"
SWARM_PROXY = "enterprise_gateway.services.processproxies.docker_swarm.DockerSwarmProcessProxy"
"""EG's process proxy of kernels of sessions on swarm (its launcher then makes services)."""


@dataclass(frozen=True)
class SpecSettings:
    """The configuration the specs depend on (from ``PipelineSessionManager``)."""

    scope: str
    eg_image: str
    server_image: str
    kernel_image: str
    """The image of Python kernels, and of kernels of a language not in ``kernel_images``."""
    docker_socket: str
    publish: str
    kernel_launch_timeout: float
    kernel_username: str
    uid: int
    gid: int
    eg_env: dict[str, str] = field(default_factory=dict)
    kernel_cpu_limit: float | None = None
    kernel_memory_limit: str | None = None
    backend: str = "docker"
    """``docker``: containers on a bridge network; ``swarm``: services on an overlay network."""
    node_id: str = ""
    """On swarm, the node EG and the jupyter-server run on (this server's engine)."""
    kernel_constraints: tuple[str, ...] = ()
    """On swarm, the placement constraints of kernel services."""
    kernel_images: dict[str, str] = field(default_factory=dict)
    """The image of kernels by kernelspec language (lower case), e.g. ``r``."""


def labels(settings: SpecSettings, session: Session, role: str) -> dict[str, str]:
    return {
        PROJECT_LABEL: PROJECT,
        SCOPE_LABEL: settings.scope,
        SESSION_LABEL: session.session_id,
        PIPELINE_LABEL: session.pipeline_uuid,
        DIR_LABEL: session.pipeline_dir,
        CREATED_LABEL: session.created_time,
        ROLE_LABEL: role,
    }


def network_config(settings: SpecSettings, session: Session, shared: bool) -> dict[str, Any]:
    """The session's network: its own (labelled with the session) or the shared one."""
    network_labels = {PROJECT_LABEL: PROJECT, SCOPE_LABEL: settings.scope}
    if not shared:
        network_labels[SESSION_LABEL] = session.session_id
    config: dict[str, Any] = {
        "Name": session.network,
        "CheckDuplicate": True,
        "Labels": network_labels,
    }
    if settings.backend == "swarm":
        config.update(Driver="overlay", Attachable=True)
    return config


def host_config(settings: SpecSettings, session: Session, binds: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {"Binds": binds, "NetworkMode": session.network, "Init": True}
    if settings.publish == "loopback" and settings.backend == "docker":
        config["PortBindings"] = {f"{PORT}/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    return config


def eg_config(
    settings: SpecSettings, session: Session, kernel_names: list[str], kernels_dir: str
) -> dict[str, Any]:
    """The Enterprise Gateway container, offering ``kernel_names`` from ``kernels_dir``."""
    env = {
        "EG_DOCKER_NETWORK": session.network,
        "EG_ALLOWED_KERNELS": ",".join(kernel_names),
        "EG_DEFAULT_KERNEL_NAME": "python3" if "python3" in kernel_names else kernel_names[0],
        "EG_AUTH_TOKEN": session.gateway_token,
        "EG_MIRROR_WORKING_DIRS": "True",
        "EG_INHERITED_ENVS": "PATH",
        "EG_LIST_KERNELS": "True",
        "EG_KERNEL_LAUNCH_TIMEOUT": str(int(settings.kernel_launch_timeout)),
        "EG_IP": "0.0.0.0",
        "EG_PORT": str(PORT),
    }
    if settings.uid == 0:
        env["EG_PROHIBITED_UIDS"] = ""
    if settings.gid == 0:
        env["EG_PROHIBITED_GIDS"] = ""
    if settings.kernel_username == "root":
        env["EG_UNAUTHORIZED_USERS"] = ""
    env.update(settings.eg_env)
    binds = [f"{settings.docker_socket}:{EG_DOCKER_SOCKET}", f"{kernels_dir}:{EG_KERNELS_DIR}:ro"]
    return {
        "Image": settings.eg_image,
        "Env": [f"{key}={value}" for key, value in env.items()],
        "Labels": labels(settings, session, EG),
        "ExposedPorts": {f"{PORT}/tcp": {}},
        "HostConfig": host_config(settings, session, binds),
    }


def server_config(settings: SpecSettings, session: Session) -> dict[str, Any]:
    """The session's jupyter-server container, running its kernels through EG."""
    env = {
        "JUPYTER_TOKEN": session.server_token,
        "JUPYTER_GATEWAY_AUTH_TOKEN": session.gateway_token,
        "KERNEL_USERNAME": settings.kernel_username,
        "KERNEL_UID": str(settings.uid),
        "KERNEL_GID": str(settings.gid),
        "KERNEL_LAUNCH_TIMEOUT": str(int(settings.kernel_launch_timeout)),
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
        "Image": settings.server_image,
        "Cmd": command,
        "Env": [f"{key}={value}" for key, value in env.items()],
        "User": f"{settings.uid}:{settings.gid}",
        "WorkingDir": session.mount_path,
        "Labels": labels(settings, session, SERVER),
        "ExposedPorts": {f"{PORT}/tcp": {}},
        "HostConfig": host_config(
            settings, session, [f"{session.host_dir}:{session.mount_path}:rw"]
        ),
    }


def service_config(settings: SpecSettings, config: dict[str, Any], name: str) -> dict[str, Any]:
    """Keyword arguments of ``services.create`` for a session container's ``config``: a
    one-task service (restart none) on this server's node, reached at its task's address
    (``dnsrr``: this kernel has no IPVS for virtual IPs), publishing nothing."""
    host = config["HostConfig"]
    container: dict[str, Any] = {
        "Image": config["Image"],
        "Env": dict(item.split("=", 1) for item in config["Env"]),
        "Labels": config["Labels"],
        "Mounts": [bind_mount(bind) for bind in host["Binds"]],
        "Init": True,
    }
    if "Cmd" in config:
        container["Args"] = config["Cmd"]
    for source, target in (("User", "User"), ("WorkingDir", "Dir")):
        if source in config:
            container[target] = config[source]
    return {
        "task_template": {
            "ContainerSpec": container,
            "RestartPolicy": {"Condition": "none", "MaxAttempts": 0},
            "Placement": {"Constraints": [f"node.id=={settings.node_id}"]},
            "Networks": [{"Target": host["NetworkMode"]}],
        },
        "name": name,
        "labels": config["Labels"],
        "mode": {"Replicated": {"Replicas": 1}},
        "endpoint_spec": {"Mode": "dnsrr"},
    }


def launcher_env(settings: SpecSettings, session: Session) -> dict[str, str]:
    """The ``ORCHEST_LAUNCH_*`` settings of orchest_ext.kernel_launcher."""
    env = {
        "HOST_DIR": str(session.host_dir),
        "MOUNT_PATH": session.mount_path,
        "LABELS": json.dumps(labels(settings, session, KERNEL)),
        "NAME_PREFIX": session.container_name(KERNEL),
    }
    if settings.kernel_cpu_limit:
        env["CPUS"] = str(settings.kernel_cpu_limit)
    if settings.kernel_memory_limit:
        env["MEMORY"] = str(parse_memory(settings.kernel_memory_limit))
    if settings.kernel_constraints:
        env["CONSTRAINTS"] = json.dumps(list(settings.kernel_constraints))
    return {SETTINGS_PREFIX + key: value for key, value in env.items()}


def kernel_image(settings: SpecSettings, spec: dict[str, Any]) -> str:
    """The image of a kernelspec's kernels: that of its language, else ``kernel_image``."""
    language = str(spec.get("language") or "python").lower()
    return settings.kernel_images.get(language, settings.kernel_image)


def session_kernelspec(
    settings: SpecSettings, session: Session, spec: dict[str, Any]
) -> dict[str, Any]:
    """A shipped kernelspec made the session's: its kernel image and launcher settings."""
    spec = json.loads(json.dumps(spec))
    proxy = spec.setdefault("metadata", {}).setdefault("process_proxy", {})
    if settings.backend == "swarm":
        proxy["class_name"] = SWARM_PROXY
    proxy.setdefault("config", {})["image_name"] = kernel_image(settings, spec)
    spec["env"] = {**spec.get("env", {}), **launcher_env(settings, session)}
    return spec
