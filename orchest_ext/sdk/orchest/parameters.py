"""Step and pipeline parameters, with the run's overrides already applied by the runner."""

from __future__ import annotations

import json
import os
from typing import Any

from .utils import json_context

PARAMETERS_FILE_VARIABLE = "ORCHEST_PARAMETERS_FILE"
"""Names the file of parameters too long for the environment (``{"step", "pipeline"}``)."""


def _parameters(variable: str, key: str) -> dict[str, Any]:
    """Parameters from the environment, or from the parameters file when they were too long."""
    if variable not in os.environ and os.environ.get(PARAMETERS_FILE_VARIABLE):
        with open(os.environ[PARAMETERS_FILE_VARIABLE], encoding="utf-8") as f:
            return json.load(f)[key]
    return json_context(variable, {})


def get_step_param(name: str, default: Any = None) -> Any:
    return _parameters("ORCHEST_STEP_PARAMETERS", "step").get(name, default)


def get_pipeline_param(name: str, default: Any = None) -> Any:
    return _parameters("ORCHEST_PIPELINE_PARAMETERS", "pipeline").get(name, default)


def get_params() -> tuple[dict[str, Any], dict[str, Any]]:
    """``(step_parameters, pipeline_parameters)``, as in Orchest."""
    return (
        _parameters("ORCHEST_STEP_PARAMETERS", "step"),
        _parameters("ORCHEST_PIPELINE_PARAMETERS", "pipeline"),
    )
