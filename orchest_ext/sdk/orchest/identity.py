"""Which step, pipeline and run this is: in a run from the runner's environment, outside one
from the step being developed."""

from __future__ import annotations

from .interactive import developed_step
from .utils import OrchestError, context, in_run


def get_step_uuid() -> str:
    return context("ORCHEST_STEP_UUID") if in_run() else developed_step().uuid


def get_pipeline_uuid() -> str:
    return context("ORCHEST_PIPELINE_UUID") if in_run() else developed_step().pipeline_uuid


def get_run_uuid() -> str:
    if not in_run():
        raise OrchestError("No run: this step is being developed outside a run.")
    return context("ORCHEST_RUN_UUID")
