"""Retention: which finished runs of a job to delete, and deleting their directories."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..runs import TERMINAL


def runs_to_remove(
    runs: list[dict[str, Any]], keep: int | None, is_active: Callable[[str], bool]
) -> list[dict[str, Any]]:
    """The finished runs beyond the ``keep`` newest finished ones (``runs`` newest first);
    never a run that is still active."""
    if keep is None:
        return []
    finished = [run for run in runs if run["status"] in TERMINAL and not is_active(run["id"])]
    return finished[keep:]


def remove_run_dirs(run_dirs: list[str]) -> None:
    """Delete run directories (blocking); ones already gone are fine."""
    for run_dir in run_dirs:
        shutil.rmtree(Path(run_dir), ignore_errors=True)
