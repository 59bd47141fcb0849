"""Whether the store's writes get through: the failure that keeps them from it, since when,
and how long to wait before the next attempt (a write is retried until it is written)."""

from __future__ import annotations

import logging
import time
from typing import Any

from ..infra.disk import StorageError

RETRY_DELAY = 0.2
RETRY_MAX_DELAY = 2.0
log = logging.getLogger(__name__)


class WriteHealth:
    """The state of the store's writes: healthy, or failing since a time for a reason."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.failure: StorageError | None = None
        """Why the queued updates cannot be written now (None: they can)."""
        self._since: float | None = None

    def failed(self, err: StorageError) -> float:
        """Record a failed write; the seconds to wait before the next attempt (longer the
        longer it fails, at most ``RETRY_MAX_DELAY``)."""
        now = time.monotonic()
        if self.failure is None:
            self._since = now
            log.error("Cannot write run state, retrying until it can: %s", err)
        self.failure = err
        return min(RETRY_DELAY + (now - (self._since or now)) / 10, RETRY_MAX_DELAY)

    def succeeded(self) -> None:
        """Record a successful write."""
        if self.failure is not None:
            log.warning(
                "Run state is written again (it failed for %.1f s: %s)",
                time.monotonic() - (self._since or time.monotonic()),
                self.failure,
            )
        self.failure = None
        self._since = None

    def to_dict(self, unwritten_changes: int) -> dict[str, Any]:
        """What ``GET health`` shows of the store."""
        failure = self.failure
        return {
            "healthy": failure is None,
            "path": self.path,
            "reason": str(failure) if failure else None,
            "no_space": bool(failure and failure.full),
            "failing_seconds": (
                round(time.monotonic() - self._since, 3) if self._since is not None else None
            ),
            "unwritten_changes": unwritten_changes,
        }
