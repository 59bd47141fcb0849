"""Whether a server can run pipelines: its store writes what it is given, and the
filesystems of the store, the root dir and new runs have room (``min_free_space``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ..infra.disk import check_space, format_bytes, space_report
from ..store import Store

SETTING = "RunManager.min_free_space"


def store_dir(store: Store) -> list[str]:
    """The directory of the store's database file (none for an in-memory store)."""
    return [] if store.path == ":memory:" else [str(Path(store.path).parent)]


async def check_room(store: Store, directory: str | Path, minimum: int) -> None:
    """``StorageError`` if the filesystem of ``directory`` or of the store has less than
    ``minimum`` bytes free."""
    await asyncio.to_thread(check_space, [directory, *store_dir(store)], minimum, SETTING)


async def server_health(store: Store, root_dir: str | None, minimum: int) -> dict[str, Any]:
    """The health report: ``healthy``, the ``reasons`` it is not, the store's and the
    filesystems' state."""
    written = store.health()
    paths = [*store_dir(store), *([root_dir] if root_dir else [])]
    disks = await asyncio.to_thread(space_report, paths, minimum)
    reasons = [written["reason"]] if written["reason"] else []
    reasons += [
        f"only {format_bytes(disk['free_bytes'])} free on {disk['path']}, less than "
        f"{SETTING} = {format_bytes(minimum)}"
        for disk in disks
        if disk["low"]
    ]
    return {"healthy": not reasons, "reasons": reasons, "store": written, "disks": disks}
