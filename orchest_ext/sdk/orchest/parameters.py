"""Step and pipeline parameters: in a run with the run's overrides already applied by the
runner; outside a run, as the step's pipeline file has them now."""

from __future__ import annotations

import json
import os
from typing import Any

from .interactive import developed_step
from .utils import in_run, json_context

PARAMETERS_FILE_VARIABLE = "ORCHEST_PARAMETERS_FILE"
"""Names the file of parameters too long for the environment (``{"step", "pipeline"}``)."""


def _parameters(variable: str, key: str) -> dict[str, Any]:
    """Parameters from the environment, or from the parameters file when they were too long."""
    if variable not in os.environ and os.environ.get(PARAMETERS_FILE_VARIABLE):
        with open(os.environ[PARAMETERS_FILE_VARIABLE], encoding="utf-8") as f:
            return json.load(f)[key]
    return json_context(variable, {})


def _step_parameters() -> dict[str, Any]:
    if in_run():
        return _parameters("ORCHEST_STEP_PARAMETERS", "step")
    return developed_step().parameters


def _pipeline_parameters() -> dict[str, Any]:
    if in_run():
        return _parameters("ORCHEST_PIPELINE_PARAMETERS", "pipeline")
    return developed_step().pipeline_parameters


def get_step_param(name: str, default: Any = None) -> Any:
    return _step_parameters().get(name, default)


def get_pipeline_param(name: str, default: Any = None) -> Any:
    return _pipeline_parameters().get(name, default)


def get_params() -> tuple[dict[str, Any], dict[str, Any]]:
    """``(step_parameters, pipeline_parameters)``, as in Orchest."""
    if in_run():
        return _step_parameters(), _pipeline_parameters()
    step = developed_step()
    return step.parameters, step.pipeline_parameters
