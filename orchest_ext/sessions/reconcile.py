"""Adoption after a restart: the sessions docker still runs for this scope, rebuilt from their
containers, probed all at once; what cannot be adopted is for the manager to remove."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from aiodocker.containers import DockerContainer

from ..infra.docker_engine import PIPELINE_LABEL
from .readiness import probe, probes
from .session import EG, LAUNCHING, SERVER, Session, now
from .specs import CREATED_LABEL, DIR_LABEL, ROLE_LABEL, SESSION_LABEL


def group_by_session(
    containers: Iterable[DockerContainer], networks: Iterable[dict[str, Any]]
) -> dict[str, list[DockerContainer]]:
    """The containers of each session id found (a leftover network alone is a session too)."""
    groups: dict[str, list[DockerContainer]] = defaultdict(list)
    for container in containers:
        groups[container["Labels"][SESSION_LABEL]].append(container)
    for network in networks:
        groups.setdefault(network["Labels"][SESSION_LABEL], [])
    return dict(groups)


async def adoptable(
    session_id: str,
    group: list[DockerContainer],
    url_of: Callable[[dict[str, Any], str], Awaitable[str]],
) -> Session | None:
    """The session of ``group`` if its EG and server run and both answer (at ``url_of(docker
    inspect, network)``); else None."""
    by_role = {c["Labels"].get(ROLE_LABEL): c for c in group}
    if any(role not in by_role or by_role[role]["State"] != "running" for role in (EG, SERVER)):
        return None
    eg, server = await asyncio.gather(by_role[EG].show(), by_role[SERVER].show())
    session = rebuild(session_id, eg, server)
    try:
        session.server_url = await url_of(server, session.network)
        session.gateway_url = await url_of(eg, session.network)
    except (KeyError, IndexError, TypeError):
        return None
    targets = probes(
        session.gateway_url, session.gateway_token, session.server_url, session.server_token
    )
    ready = await asyncio.gather(*(probe(url, token) for url, token in targets.values()))
    return session if all(ready) else None


def rebuild(session_id: str, eg: dict[str, Any], server: dict[str, Any]) -> Session:
    """A session from its EG's and server's ``docker inspect``."""
    labels = server["Config"]["Labels"]
    return Session(
        pipeline_uuid=labels[PIPELINE_LABEL],
        session_id=session_id,
        pipeline_dir=labels.get(DIR_LABEL, ""),
        host_dir=Path(_bind_source(server)),
        mount_path=server["Config"].get("WorkingDir") or "/",
        network=next(iter(eg["NetworkSettings"]["Networks"]), ""),
        status=LAUNCHING,
        created_time=labels.get(CREATED_LABEL) or now(),
        started_time=server["State"].get("StartedAt"),
        server_token=_env(server).get("JUPYTER_TOKEN", ""),
        gateway_token=_env(eg).get("EG_AUTH_TOKEN", ""),
    )


async def reconcile_all(
    groups: dict[str, list[DockerContainer]],
    reconcile_one: Callable[[str, list[DockerContainer]], Awaitable[None]],
    log: logging.Logger,
) -> None:
    """Reconcile every session concurrently; one failing does not stop the others."""
    results = await asyncio.gather(
        *(reconcile_one(session_id, group) for session_id, group in groups.items()),
        return_exceptions=True,
    )
    for session_id, result in zip(groups, results, strict=True):
        if isinstance(result, Exception):
            log.error("Could not adopt or remove session %s: %s", session_id, result)
        elif isinstance(result, BaseException):
            raise result


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
