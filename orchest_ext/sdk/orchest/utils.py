"""The step's context, read from the ``ORCHEST_*`` environment the runner sets."""

from __future__ import annotations

import json
import os
from typing import Any

RUN_VARIABLE = "ORCHEST_STEP_UUID"
"""Set by the runner for every step it runs: its presence means this is a run."""


class OrchestError(RuntimeError):
    """The step API cannot do what was asked."""


def in_run() -> bool:
    """Whether this process is a step of a run (not a notebook developed outside one)."""
    return RUN_VARIABLE in os.environ


def context(name: str) -> str:
    """An ``ORCHEST_*`` variable; a clear error outside a step run by orchest_ext."""
    value = os.environ.get(name)
    if value is None:
        raise OrchestError(
            f"{name} is not set: the orchest step API works inside steps run by orchest_ext"
        )
    return value


def json_context(name: str, default: Any) -> Any:
    value = os.environ.get(name)
    return default if value is None else json.loads(value)
