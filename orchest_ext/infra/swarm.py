"""Docker Swarm helpers the swarm executor and swarm sessions share: the manager check and
service mounts."""

from __future__ import annotations

from typing import Any

from .docker_engine import ENGINE_ERRORS, DockerEngine, engine_error_reason
from .unavailable import ExecutorUnavailable


def bind_mount(bind: str) -> dict[str, Any]:
    """A ``host:container[:ro|rw]`` bind as a service mount."""
    source, target, *mode = bind.split(":")
    return {"Type": "bind", "Source": source, "Target": target, "ReadOnly": mode == ["ro"]}


async def swarm_manager_node(engine: DockerEngine, setting: str) -> str:
    """The swarm node id of ``engine``; ``ExecutorUnavailable`` saying why unless it is a
    manager (``setting`` names the configuration that points at it)."""
    try:
        info = await engine.client().system.info()
    except ENGINE_ERRORS as err:
        raise ExecutorUnavailable(
            f"Docker engine {engine.address}: {engine_error_reason(err)}"
        ) from None
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active":
        raise ExecutorUnavailable(
            f"the Docker engine at {engine.address} is not part of a swarm "
            "(run `docker swarm init` on it)"
        )
    if not swarm.get("ControlAvailable"):
        raise ExecutorUnavailable(
            f"the Docker engine at {engine.address} is not a swarm manager "
            f"(point {setting} at a manager)"
        )
    return swarm["NodeID"]
