"""Server processes sharing one store: each is an owner (a row with a heartbeat) and drives
only the runs it owns; a run's owner is gone when its row is missing, its process on this
host has ended, or (elsewhere) its heartbeat is older than the lease."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from ..executors.local.process import process_identity


class OwnedElsewhere(Exception):
    """The run (or job) is driven by another live server process sharing the store."""

    def __init__(self, what: str, owner: dict[str, Any], action: str = "abort it") -> None:
        super().__init__(
            f"{what} is driven by another server process (pid {owner['pid']} on "
            f"{owner['host']}, root dir {owner['root_dir']}); {action} through that server."
        )


def owner_row(owner_id: str, root_dir: str | None) -> dict[str, Any]:
    """The owner row of this process."""
    return {
        "id": owner_id,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "identity": process_identity(os.getpid()),
        "root_dir": root_dir,
        "heartbeat": time.time(),
    }


def is_gone(owner: dict[str, Any] | None, lease: float, now: float | None = None) -> bool:
    """Whether the server process of an owner row is gone (None: no row, it stopped)."""
    if owner is None:
        return True
    if owner["host"] == socket.gethostname() and owner["identity"]:
        return process_identity(owner["pid"]) != owner["identity"]
    return (time.time() if now is None else now) - owner["heartbeat"] > lease


def in_root(pipeline_dir: str, root_dir: str | None) -> bool:
    """Whether a pipeline directory is ``root_dir`` or below it (always, without a root)."""
    if not root_dir:
        return True
    root = root_dir.rstrip("/")
    return pipeline_dir == root or pipeline_dir.startswith(root + "/")
