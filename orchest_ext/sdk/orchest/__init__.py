"""Orchest's step API: data passing between steps, parameters and metrics.

Inside a step run by orchest_ext it reads the run's context; in a notebook developed outside
a run (any Jupyter kernel), it reads the step's pipeline file and its parents' latest outputs.
"""

from .identity import get_pipeline_uuid, get_run_uuid, get_step_uuid
from .interactive import use_pipeline
from .metrics import log_metric
from .parameters import get_params, get_pipeline_param, get_step_param
from .transfer import OrchestError, OutputError, get_inputs, output

__all__ = [
    "OrchestError",
    "OutputError",
    "get_inputs",
    "get_params",
    "get_pipeline_param",
    "get_pipeline_uuid",
    "get_run_uuid",
    "get_step_param",
    "get_step_uuid",
    "log_metric",
    "output",
    "use_pipeline",
]
