"""The step's context, read from the ``ORCHEST_*`` environment the runner sets."""

from __future__ import annotations

import json
import os
from typing import Any


class OrchestError(RuntimeError):
    """The step API cannot do what was asked."""


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


def get_step_uuid() -> str:
    return context("ORCHEST_STEP_UUID")


def get_pipeline_uuid() -> str:
    return context("ORCHEST_PIPELINE_UUID")


def get_run_uuid() -> str:
    return context("ORCHEST_RUN_UUID")
