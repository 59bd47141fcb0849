"""Step and pipeline parameters, with the run's overrides already applied by the runner."""

from __future__ import annotations

from typing import Any

from .utils import json_context


def get_step_param(name: str, default: Any = None) -> Any:
    return json_context("ORCHEST_STEP_PARAMETERS", {}).get(name, default)


def get_pipeline_param(name: str, default: Any = None) -> Any:
    return json_context("ORCHEST_PIPELINE_PARAMETERS", {}).get(name, default)


def get_params() -> tuple[dict[str, Any], dict[str, Any]]:
    """``(step_parameters, pipeline_parameters)``, as in Orchest."""
    return (
        json_context("ORCHEST_STEP_PARAMETERS", {}),
        json_context("ORCHEST_PIPELINE_PARAMETERS", {}),
    )
