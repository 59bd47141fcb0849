"""The pipeline model: parse and validate pipeline JSON, and compute run subgraphs."""

from .graph import (
    RUN_TYPES,
    UnknownStepsError,
    build_graph,
    find_cycle_issues,
    select_steps,
    topological_order,
)
from .model import (
    SUPPORTED_SUFFIXES,
    Issue,
    Pipeline,
    PipelineError,
    Step,
    load_pipeline,
    parse_pipeline,
    step_kind,
    validate_pipeline,
)

__all__ = [
    "RUN_TYPES",
    "SUPPORTED_SUFFIXES",
    "Issue",
    "Pipeline",
    "PipelineError",
    "Step",
    "UnknownStepsError",
    "build_graph",
    "find_cycle_issues",
    "load_pipeline",
    "parse_pipeline",
    "select_steps",
    "step_kind",
    "topological_order",
    "validate_pipeline",
]
