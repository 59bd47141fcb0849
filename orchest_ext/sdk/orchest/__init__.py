"""Orchest's step API for steps run by orchest_ext: data passing between steps and parameters.

Importable inside steps only: orchest_ext puts this directory on the step's PYTHONPATH.
"""

from .parameters import get_params, get_pipeline_param, get_step_param
from .transfer import OrchestError, OutputError, get_inputs, output
from .utils import get_pipeline_uuid, get_run_uuid, get_step_uuid

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
    "output",
]
