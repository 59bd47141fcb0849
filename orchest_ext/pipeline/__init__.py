"""The pipeline layer, a leaf package (no tornado, docker or store): the issue list, the model,
its graph, Elyra conversion, and parsing on top of them."""

from typing import Any

from .issues import Issue, PipelineError, short, short_list
from .model import RUN_TYPES, STEP_KINDS, SUPPORTED_SUFFIXES, Pipeline, Step, step_kind
from .parse import load_pipeline, parse_pipeline, validate_pipeline

_GRAPH_NAMES = {
    "UnknownStepsError",
    "build_graph",
    "find_cycle_issues",
    "select_steps",
    "topological_order",
}


def __getattr__(name: str) -> Any:
    """The graph functions, imported on first use: networkx takes a while to import, and
    parsing and validating a pipeline without a cycle does not need it."""
    if name in _GRAPH_NAMES:
        from . import graph

        return getattr(graph, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    "short",
    "short_list",
    "step_kind",
    "topological_order",
    "validate_pipeline",
]
