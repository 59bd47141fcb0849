"""The pipeline layer, a leaf package (no tornado, docker or store): the issue list, the model,
its graph, Elyra conversion, and parsing on top of them."""

from .graph import (
    RUN_TYPES,
    UnknownStepsError,
    build_graph,
    find_cycle_issues,
    select_steps,
    topological_order,
)
from .issues import Issue, PipelineError
from .model import STEP_KINDS, SUPPORTED_SUFFIXES, Pipeline, Step, step_kind
from .parse import load_pipeline, parse_pipeline, validate_pipeline

__all__ = [
    "RUN_TYPES",
    "STEP_KINDS",
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
