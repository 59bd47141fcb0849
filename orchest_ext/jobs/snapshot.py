"""Snapshots: a job's copy of its pipeline directory, taken when the job is created."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..pipeline import Pipeline

JOBS_SUBDIR = Path(".orchest") / "jobs"
SNAPSHOT = "snapshot"
SKIPPED = (".orchest", ".ipynb_checkpoints", ".git")
"""Not copied: run and job directories, checkpoints, version control."""


def job_dir(pipeline: Pipeline, job_id: str) -> Path:
    """Where a job keeps its snapshot (and its snapshot's runs)."""
    return pipeline.directory / JOBS_SUBDIR / job_id


class SnapshotError(Exception):
    """The pipeline's directory cannot be copied (too big, unreadable, disk full)."""


def take_snapshot(pipeline: Pipeline, directory: Path, max_bytes: int) -> Path:
    """Copy the pipeline's directory to ``directory/snapshot`` (blocking); returns the copy.
    Nothing is copied when the files to copy are more than ``max_bytes``."""
    size = _size(pipeline.directory)
    if size > max_bytes:
        raise SnapshotError(
            f"the pipeline's directory {pipeline.directory} holds {size / 2**20:.0f} MiB, more "
            f"than the {max_bytes / 2**20:.0f} MiB a snapshot may copy "
            "(OrchestApp.job_snapshot_max_bytes); use snapshot: false or a smaller directory"
        )
    target = directory / SNAPSHOT
    try:
        shutil.copytree(
            pipeline.directory, target, ignore=shutil.ignore_patterns(*SKIPPED), symlinks=True
        )
    except (OSError, shutil.Error) as err:
        shutil.rmtree(directory, ignore_errors=True)
        raise SnapshotError(f"could not copy {pipeline.directory}: {err}") from None
    return target


def _size(directory: Path) -> int:
    """Bytes of the regular files a snapshot of ``directory`` copies."""
    total = 0
    for parent, dirs, files in os.walk(directory):
        dirs[:] = [name for name in dirs if name not in SKIPPED]
        for name in files:
            path = Path(parent) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total
