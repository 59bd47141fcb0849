"""Readiness probing: where a session's containers answer, and waiting until both do."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from .session import EG, ROLE_NAMES, SERVER, LaunchFailed
from .specs import PORT

POLL_INTERVAL = 0.1


def container_url(info: dict[str, Any], publish: str, network: str) -> str:
    """A container's HTTP URL as reachable from this server (``info``: docker inspect)."""
    settings = info["NetworkSettings"]
    if publish == "loopback":
        port = settings["Ports"][f"{PORT}/tcp"][0]["HostPort"]
        return f"http://127.0.0.1:{port}/"
    address = settings["Networks"][network]["IPAddress"]
    return f"http://{address}:{PORT}/"


async def probe(url: str, token: str) -> bool:
    """Whether ``url`` answers 200 to a request authorized with ``token``."""
    request = HTTPRequest(
        url, headers={"Authorization": f"token {token}"}, connect_timeout=2, request_timeout=3
    )
    try:
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
    except (OSError, HTTPClientError):
        return False
    return response.code == 200


def probes(gateway_url: str, gateway_token: str, server_url: str, server_token: str) -> dict:
    """What answers when a session is ready, by role: (url, token)."""
    return {
        EG: (f"{gateway_url}api/kernelspecs", gateway_token),
        SERVER: (f"{server_url}api/status", server_token),
    }


def raise_if_exited(infos: dict[str, dict[str, Any]]) -> None:
    """LaunchFailed naming the first container (by role) that is no longer running."""
    for role, info in infos.items():
        state = info["State"]
        if not state.get("Running"):
            raise LaunchFailed(
                f"The {ROLE_NAMES[role]} container exited with code "
                f"{state.get('ExitCode')} before it was ready.",
                role,
            )


async def wait_ready(
    pending: dict[str, tuple[str, str]],
    inspect: Callable[[], Awaitable[dict[str, dict[str, Any]]]],
    timeout: float,
    still_wanted: Callable[[], bool],
) -> None:
    """Probe every role in ``pending`` (concurrently) until all answer; ``LaunchFailed`` when
    a container exits (``inspect`` gives their state by role) or ``timeout`` passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pending and still_wanted():
        answers = await asyncio.gather(*(probe(url, token) for url, token in pending.values()))
        pending = {
            role: target
            for (role, target), ok in zip(pending.items(), answers, strict=True)
            if not ok
        }
        if not pending:
            return
        raise_if_exited(await inspect())
        if loop.time() > deadline:
            role = next(iter(pending))
            raise LaunchFailed(
                f"The {ROLE_NAMES[role]} did not answer within {timeout:g} s "
                "(PipelineSessionManager.readiness_timeout).",
                role,
            )
        await asyncio.sleep(POLL_INTERVAL)
