"""Watching a running docker session: its EG and jupyter-server containers must keep running
(a restarted Docker engine, an OOM kill or ``docker kill`` ends them)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import aiodocker

from ..infra.docker_engine import ENGINE_ERRORS, DockerEngine
from ..infra.unavailable import ExecutorUnavailable


async def first_stopped_container(
    engine: DockerEngine,
    containers: Mapping[str, str],
    interval: float,
    watching: Callable[[], bool],
) -> tuple[str, str] | None:
    """Check ``containers`` (role -> container name) every ``interval`` seconds while
    ``watching()``; the first one that is gone or not running, with why, else None. While the
    engine does not answer, nothing is concluded (it may be restarting)."""
    while watching():
        await asyncio.sleep(interval)
        if not watching():
            return None
        for role, name in containers.items():
            try:
                state = (await engine.client().containers.container(name).show())["State"]
            except aiodocker.DockerError as err:
                if err.status == 404:
                    return name, f"the session's {role} container {name} is gone"
                break
            except (*ENGINE_ERRORS, ExecutorUnavailable):
                break
            if not state.get("Running"):
                how = "was OOM-killed" if state.get("OOMKilled") else "exited"
                return name, (
                    f"the session's {role} container {name} {how} (exit code "
                    f"{state.get('ExitCode')}{', ' + state['Error'] if state.get('Error') else ''})"
                    "; a restart of the Docker engine stops every container"
                )
    return None
