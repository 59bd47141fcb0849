"""Kernel launcher of pipeline sessions: Enterprise Gateway runs it once per kernel.

It works like gateway-provisioners' docker launcher (``launch_docker.py``): it starts a
detached container of the kernel image (or, when EG's ``DockerSwarmProcessProxy`` runs it,
``EG_DOCKER_MODE=swarm``, a one-task swarm service), whose bootstrap script connects back to
EG at ``--response-address``; EG then finds the container (service) by its ``kernel_id``
label. On top of that it mounts the pipeline directory at the path the session's
jupyter-server sees, starts the kernel in the notebook's directory (``KERNEL_WORKING_DIR``),
labels the container (service) with the session and applies the session's resource limits
(and, on swarm, its placement constraints).

The session's kernelspecs pass the launcher's settings as ``ORCHEST_LAUNCH_*``
variables. It runs inside the EG image, so it imports only the standard library and
the docker SDK (an EG dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SETTINGS_PREFIX = "ORCHEST_LAUNCH_"
NOT_FORWARDED = {"PATH", "HOME", "HOSTNAME", "PWD", "SHLVL", "_"}
"""Variables of EG's process that must not leak into the kernel container."""
SERVICE_NAME_LIMIT = 63
"""Longest swarm service name."""
DEFAULT_UID = "1000"
DEFAULT_GID = "100"


class LaunchError(Exception):
    """The kernel container cannot be started with the given settings."""


@dataclass(frozen=True)
class LaunchSettings:
    """Where and how to start a session's kernel containers."""

    image: str
    network: str
    host_dir: str
    """The pipeline directory on the Docker host (the bind mount's source)."""
    mount_path: str
    """The pipeline directory as the session's jupyter-server sees it."""
    labels: dict[str, str]
    name_prefix: str
    cpus: float | None = None
    memory: int | None = None
    constraints: tuple[str, ...] = ()
    """Placement constraints of a swarm kernel service."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LaunchSettings:
        """Read the settings EG passes: kernelspec env (``ORCHEST_LAUNCH_*``) and its own."""

        def setting(name: str) -> str:
            return env.get(SETTINGS_PREFIX + name) or ""

        required = ("KERNEL_IMAGE", SETTINGS_PREFIX + "HOST_DIR", SETTINGS_PREFIX + "MOUNT_PATH")
        missing = [name for name in required if not env.get(name)]
        if missing:
            raise LaunchError(f"missing environment variable(s): {', '.join(missing)}")
        if not posixpath.isabs(setting("MOUNT_PATH")):
            raise LaunchError(
                f"{SETTINGS_PREFIX}MOUNT_PATH must be absolute: {setting('MOUNT_PATH')}"
            )
        try:
            labels = json.loads(setting("LABELS") or "{}")
            cpus = float(setting("CPUS")) if setting("CPUS") else None
            memory = int(setting("MEMORY")) if setting("MEMORY") else None
            constraints = json.loads(setting("CONSTRAINTS") or "[]")
        except ValueError as err:
            raise LaunchError(f"invalid {SETTINGS_PREFIX}* setting: {err}") from None
        return cls(
            image=env["KERNEL_IMAGE"],
            network=env.get("EG_DOCKER_NETWORK") or "bridge",
            host_dir=setting("HOST_DIR"),
            mount_path=posixpath.normpath(setting("MOUNT_PATH")),
            labels={str(key): str(value) for key, value in labels.items()},
            name_prefix=setting("NAME_PREFIX") or "kernel",
            cpus=cpus,
            memory=memory,
            constraints=tuple(str(constraint) for constraint in constraints),
        )


def working_dir(requested: str | None, mount_path: str) -> str:
    """The kernel's working directory: ``requested`` if inside the mount, else the mount."""
    if requested and posixpath.isabs(requested):
        path = posixpath.normpath(requested)
        if path == mount_path or path.startswith(mount_path.rstrip("/") + "/"):
            return path
    return mount_path


def kernel_env(env: Mapping[str, str], args: argparse.Namespace) -> dict[str, str]:
    """The kernel container's environment: EG's kernel env and what the bootstrap needs."""
    forwarded = {
        key: value
        for key, value in env.items()
        if key not in NOT_FORWARDED and not key.startswith(SETTINGS_PREFIX)
    }
    extra = {
        "KERNEL_ID": args.kernel_id,
        "PORT_RANGE": args.port_range,
        "RESPONSE_ADDRESS": args.response_address,
        "PUBLIC_KEY": args.public_key,
        "KERNEL_SPARK_CONTEXT_INIT_MODE": args.spark_context_init_mode,
        "KERNEL_CLASS_NAME": args.kernel_class_name,
        "TRANSPORT_ENCRYPTION": args.transport_encryption,
    }
    return {**forwarded, **{key: value for key, value in extra.items() if value}}


def container_options(
    settings: LaunchSettings, env: Mapping[str, str], kernel_id: str
) -> dict[str, Any]:
    """Keyword arguments of ``DockerClient.containers.run`` for the kernel's container."""
    user = f"{env.get('KERNEL_UID') or DEFAULT_UID}:{env.get('KERNEL_GID') or DEFAULT_GID}"
    options: dict[str, Any] = {
        "name": f"{settings.name_prefix}-{kernel_id}",
        "environment": dict(env),
        "labels": {
            **settings.labels,
            "kernel_id": kernel_id,
            "component": "kernel",
            "app": "gateway-provisioners",
        },
        "user": user,
        "working_dir": working_dir(env.get("KERNEL_WORKING_DIR"), settings.mount_path),
        "network": settings.network,
        "volumes": {settings.host_dir: {"bind": settings.mount_path, "mode": "rw"}},
        "detach": True,
        "auto_remove": True,
        "init": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
    }
    if settings.cpus:
        options["nano_cpus"] = int(settings.cpus * 1e9)
    if settings.memory:
        options["mem_limit"] = settings.memory
    return options


def service_options(
    settings: LaunchSettings, env: Mapping[str, str], kernel_id: str
) -> dict[str, Any]:
    """Keyword arguments of ``DockerClient.services.create`` for the kernel's swarm service:
    the container's settings as a one-task service (restart none) that EG reaches at its
    task's address on the session's overlay network (``dnsrr``: no virtual IP)."""
    from docker.types import EndpointSpec, Mount, Resources, RestartPolicy

    container = container_options(settings, env, kernel_id)
    limits = {
        "cpu_limit": container.get("nano_cpus"),
        "mem_limit": container.get("mem_limit"),
    }
    return {
        "name": f"{settings.name_prefix}-{kernel_id.replace('-', '')}"[:SERVICE_NAME_LIMIT],
        "env": container["environment"],
        "labels": container["labels"],
        "container_labels": container["labels"],
        "user": container["user"],
        "workdir": container["working_dir"],
        "networks": [settings.network],
        "mounts": [Mount(settings.mount_path, settings.host_dir, type="bind")],
        "init": True,
        "cap_drop": container["cap_drop"],
        "endpoint_spec": EndpointSpec(mode="dnsrr"),
        "restart_policy": RestartPolicy(condition="none"),
        "resources": Resources(**{key: value for key, value in limits.items() if value}),
        "constraints": list(settings.constraints),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments EG fills in from the kernelspec's ``argv`` placeholders."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel-id", dest="kernel_id", required=True)
    parser.add_argument("--port-range", dest="port_range", default="0..0")
    parser.add_argument("--response-address", dest="response_address", required=True)
    parser.add_argument("--public-key", dest="public_key", required=True)
    parser.add_argument(
        "--spark-context-initialization-mode", dest="spark_context_init_mode", default="none"
    )
    parser.add_argument("--kernel-class-name", dest="kernel_class_name")
    parser.add_argument("--transport-encryption", dest="transport_encryption")
    return parser.parse_args(argv)


def launch(args: argparse.Namespace, env: Mapping[str, str], client: Any) -> str:
    """Start the kernel's container (on swarm, service) with ``client`` (a docker SDK client);
    return its id."""
    settings = LaunchSettings.from_env(env)
    container_env = kernel_env(env, args)
    if env.get("EG_DOCKER_MODE") == "swarm":
        options = service_options(settings, container_env, args.kernel_id)
        return client.services.create(settings.image, **options).id
    options = container_options(settings, container_env, args.kernel_id)
    container = client.containers.run(settings.image, **options)
    return container.id


def main(argv: Sequence[str] | None = None) -> int:
    """Launch one kernel container; EG logs what this prints."""
    import docker

    args = parse_args(argv)
    try:
        container_id = launch(args, os.environ, docker.from_env())
    except (LaunchError, docker.errors.DockerException) as err:
        print(f"orchest_ext kernel launcher: kernel {args.kernel_id}: {err}", file=sys.stderr)
        return 1
    where = "service" if os.environ.get("EG_DOCKER_MODE") == "swarm" else "container"
    print(f"orchest_ext kernel launcher: kernel {args.kernel_id} in {where} {container_id[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
