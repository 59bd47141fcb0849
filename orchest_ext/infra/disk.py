"""A full filesystem, recognised: which errors mean that no space is left, how much is free,
and ``StorageError`` naming the path a write could not reach and why."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
SQLITE_FULL = 13
NEARLY_FULL_BYTES = 64 * 1024
"""Free bytes below which a filesystem counts as full when a write there failed."""


class StorageError(Exception):
    """Using ``path`` failed (``full``: its filesystem has no space left for a write)."""

    def __init__(self, path: str | Path, cause: BaseException | str, full: bool | None = None):
        self.path = str(path)
        self.cause = describe(cause)
        self.full = is_no_space(cause) if full is None else full
        what = "no space left on" if self.full else "cannot use"
        super().__init__(f"{what} {self.path} ({self.cause})")


def is_no_space(err: BaseException | str) -> bool:
    """Whether an error says the filesystem (or the user's quota) is full."""
    if isinstance(err, OSError):
        return err.errno in NO_SPACE_ERRNOS
    if isinstance(err, sqlite3.Error):
        return getattr(err, "sqlite_errorcode", None) == SQLITE_FULL or "disk is full" in str(err)
    return False


def describe(err: BaseException | str) -> str:
    """What went wrong, without the path (the message names it)."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def free_bytes(path: str | Path) -> int:
    """Bytes free for unprivileged writes on the filesystem of ``path`` (or of its nearest
    existing ancestor), blocking."""
    candidate = Path(path)
    while not candidate.exists() and candidate != candidate.parent:
        candidate = candidate.parent
    return shutil.disk_usage(candidate).free


def nearly_full(path: str | Path, limit: int = NEARLY_FULL_BYTES) -> bool:
    """Whether the filesystem of ``path`` has less than ``limit`` bytes free (blocking)."""
    try:
        return free_bytes(path) < limit
    except OSError:
        return False


def check_space(paths: list[str | Path], minimum: int, setting: str) -> None:
    """``StorageError`` naming the first of ``paths`` whose filesystem has less than
    ``minimum`` bytes free (``setting``: where the minimum is configured), blocking."""
    for path in paths:
        free = free_bytes(path)
        if free < minimum:
            cause = f"{format_bytes(free)} free, less than {setting} = {format_bytes(minimum)}"
            raise StorageError(path, cause, full=True)


def space_report(paths: list[str | Path], minimum: int) -> list[dict[str, object]]:
    """For each path: the bytes free on its filesystem and whether that is below ``minimum``
    (blocking)."""
    report: list[dict[str, object]] = []
    for path in paths:
        try:
            free: int | None = free_bytes(path)
        except OSError:
            free = None
        report.append(
            {"path": str(path), "free_bytes": free, "low": free is not None and free < minimum}
        )
    return report


def format_bytes(size: int) -> str:
    """``size`` in B, KiB, MiB or GiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
