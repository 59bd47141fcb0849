"""Metrics: named numbers a step records (``orchest.log_metric``), kept in ``metrics.json`` in
its step directory (``{name: value}``, the last value of a name wins) and stored with the
run when the step ends."""

from __future__ import annotations

import json
import math
import numbers
import os
from pathlib import Path
from typing import Any

from .interactive import developed_step
from .utils import OrchestError, context, in_run

METRICS_FILE = "metrics.json"
MAX_NAME = 200


def log_metric(name: str, value: int | float) -> None:
    """Record ``value`` (a finite number) as metric ``name`` of this step; logging a name again
    replaces its value."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
        raise OrchestError(
            f"A metric's name must be a text of 1 to {MAX_NAME} characters, got {name!r:.80}."
        )
    path = _step_dir() / METRICS_FILE
    metrics = _read(path)
    metrics[name] = _number(name, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(metrics, allow_nan=False), encoding="utf-8")
    os.replace(partial, path)


def _number(name: str, value: Any) -> int | float:
    """``value`` as a plain int or float (numpy's numbers too); booleans, NaN and infinities
    are refused naming the metric."""
    boolean = isinstance(value, bool) or type(value).__name__ == "bool_"
    if isinstance(value, numbers.Real) and not boolean:
        number = int(value) if isinstance(value, numbers.Integral) else float(value)
        if math.isfinite(number):
            return number
        raise OrchestError(f"Metric {name!r} must be a finite number, got {value!r}.")
    raise OrchestError(
        f"Metric {name!r} must be a number (int or float), got {type(value).__name__} "
        f"{value!r:.80}."
    )


def _step_dir() -> Path:
    """The step directory of this run's step, or of the step being developed."""
    if in_run():
        return Path(context("ORCHEST_STEP_DIR"))
    return developed_step().output_dir.parent


def _read(path: Path) -> dict[str, Any]:
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return metrics if isinstance(metrics, dict) else {}
