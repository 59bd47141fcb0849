"""What a step passed on, recorded when it ends: the summaries of its outputs and its metrics,
read from its step directory (written there by the ``orchest`` step API) and stored with the
run, so they outlive the run directory."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store import Store
from .state import RunState

OUTPUT_DIR = "output"
SUMMARY_FILE = "summary.json"
META_FILE = "meta.json"
METRICS_FILE = "metrics.json"
MAX_SUMMARY_BYTES = 256 * 1024
"""A summary file larger than this is not read (the step API writes at most 64 KB)."""
MAX_METRICS_BYTES = 1 << 20


@dataclass
class StepResults:
    """A step's output summaries and metrics, as found in its step directory."""

    outputs: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, int | float] = field(default_factory=dict)


async def record_results(
    store: Store, run: RunState, uuid: str, step_dir: Path, log: logging.Logger
) -> None:
    """Read what a step that ended left in ``step_dir`` (off the IOLoop) and keep it: its
    metrics on the step's state (stored and emitted with its end), its output summaries in
    the store. A file that cannot be read is logged and left out."""
    try:
        results = await asyncio.to_thread(read_results, step_dir)
    except OSError as err:
        log.warning("Cannot read the outputs and metrics of the step in %s: %s", step_dir, err)
        return
    run.steps[uuid].metrics = results.metrics
    if results.outputs:
        store.save_outputs(run.id, uuid, results.outputs)


def read_results(step_dir: Path) -> StepResults:
    """The output summaries and metrics in a step directory (blocking)."""
    return StepResults(outputs=_outputs(step_dir / OUTPUT_DIR), metrics=_metrics(step_dir))


def _outputs(directory: Path) -> list[dict[str, Any]]:
    """The summary of the output in ``directory``; one the step API wrote without a summary
    (R, or an older ``orchest``) is described from its ``meta.json``."""
    summary = _json_file(directory / SUMMARY_FILE, MAX_SUMMARY_BYTES)
    if isinstance(summary, dict) and "type" in summary:
        return [summary]
    meta = _json_file(directory / META_FILE, MAX_SUMMARY_BYTES)
    if not isinstance(meta, dict):
        return []
    stored = [path for path in directory.glob("data.*") if not path.name.endswith(".partial")]
    return [
        {
            "name": meta.get("name"),
            "type": "unknown",
            "bytes": sum(path.stat().st_size for path in stored),
            "preview": None,
            "preview_error": "the step API that wrote this output wrote no summary of it",
        }
    ]


def _metrics(step_dir: Path) -> dict[str, int | float]:
    """The metrics file's finite numbers by name (anything else in it is left out)."""
    found = _json_file(step_dir / METRICS_FILE, MAX_METRICS_BYTES)
    if not isinstance(found, dict):
        return {}
    return {
        str(name): value
        for name, value in found.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    }


def _json_file(path: Path, limit: int) -> Any:
    """The JSON in ``path``; None when it is missing, larger than ``limit`` or not JSON."""
    try:
        with path.open("rb") as handle:
            content = handle.read(limit + 1)
    except FileNotFoundError:
        return None
    if len(content) > limit:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None
