"""Snapshots: a job's copy of its pipeline directory, taken when the job is created."""

from __future__ import annotations

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


def take_snapshot(pipeline: Pipeline, directory: Path) -> Path:
    """Copy the pipeline's directory to ``directory/snapshot`` (blocking); returns the copy."""
    target = directory / SNAPSHOT
    shutil.copytree(
        pipeline.directory,
        target,
        ignore=shutil.ignore_patterns(*SKIPPED),
        symlinks=True,
    )
    return target
