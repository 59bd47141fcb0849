"""A step's outcome file: how the step ended, kept in its step directory beside its output,
so that the step API outside a run (``sdk/orchest/interactive.py``) reads the outputs of
successful steps only."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from ..executors.results import write_json

OUTCOME_FILE = "outcome.json"


async def record_outcome(step_dir: Path, status: str, log: logging.Logger) -> None:
    """Write ``{"status": status}`` into the step directory (off the IOLoop); a failure is
    logged, the step's status stays what it is."""
    try:
        await asyncio.to_thread(write_json, step_dir / OUTCOME_FILE, {"status": status})
    except OSError as err:
        log.warning("Cannot record the outcome of the step in %s: %s", step_dir, err)
