"""One pipeline session as this server knows it: statuses, names, and how the API shows it."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

LAUNCHING = "LAUNCHING"
RUNNING = "RUNNING"
STOPPING = "STOPPING"
STOPPED = "STOPPED"
"""Only in events: a stopped session is gone from the API."""
FAILED = "FAILED"
EG, SERVER, KERNEL = "eg", "server", "kernel"
ROLE_NAMES = {EG: "Enterprise Gateway", SERVER: "jupyter-server", KERNEL: "kernel"}


def now() -> str:
    """The current UTC time in ISO 8601."""
    return datetime.now(timezone.utc).isoformat()


def session_network(session_id: str) -> str:
    """The name of a session's own network (when no shared network is configured)."""
    return f"orchest-{session_id}"


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
    """One pipeline's session."""

    pipeline_uuid: str
    session_id: str
    pipeline_dir: str
    """The pipeline directory relative to the server's root dir."""
    host_dir: Path
    mount_path: str
    network: str
    backend: str = "docker"
    """``docker`` (containers) or ``swarm`` (services)."""
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
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def container_name(self, role: str) -> str:
        return f"orchest-{self.session_id}-{role}"

    def to_dict(self) -> dict[str, Any]:
        running = self.status == RUNNING
        return {
            "pipeline_uuid": self.pipeline_uuid,
            "session_id": self.session_id,
            "pipeline_dir": self.pipeline_dir,
            "backend": self.backend,
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
