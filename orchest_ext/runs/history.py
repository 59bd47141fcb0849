"""The pipeline a run ran, as ``GET runs/{id}`` shows it: built from what was stored when the
run started (the pipeline JSON and the run's parameter overrides), never from today's file.

Parameters are shown with the run's overrides applied; environment variables by name only
(their values stay in the store, for resuming the run, and never reach the API).
"""

from __future__ import annotations

import copy
from typing import Any

from .spec import PIPELINE_PARAMETERS

STEP_FIELDS = ("uuid", "title", "file_path", "incoming_connections", "kernel", "environment")
STEP_OPTIONAL_FIELDS = ("image", "retries", "retry_delay", "cache", "meta_data")


def ran_pipeline(pipeline: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The view of a run's pipeline (Orchest JSON as stored) with the run's ``overrides``
    (``parameters`` as resolved at submission: keyed by step uuid and ``pipeline_parameters``)."""
    return {
        "name": pipeline.get("name", ""),
        "uuid": pipeline.get("uuid", ""),
        "parameters": {
            **pipeline.get("parameters", {}),
            **overrides.get(PIPELINE_PARAMETERS, {}),
        },
        "env_variable_names": sorted(pipeline.get("env_variables") or {}),
        "steps": {
            uuid: _ran_step(step, overrides.get(uuid, {}))
            for uuid, step in pipeline.get("steps", {}).items()
        },
    }


def _ran_step(step: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    view = {name: copy.deepcopy(step.get(name)) for name in STEP_FIELDS}
    view["parameters"] = {**step.get("parameters", {}), **overrides}
    view["env_variable_names"] = sorted(step.get("env_variables") or {})
    for name in STEP_OPTIONAL_FIELDS:
        if step.get(name) is not None:
            view[name] = copy.deepcopy(step[name])
    return view
