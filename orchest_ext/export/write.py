"""Export a pipeline file: build its plan, then let the target's module write its files."""

from __future__ import annotations

import importlib
from pathlib import Path

from ..pipeline import load_pipeline
from .plan import ExportOptions, Plan, build_plan

EXPORT_SUBDIR = "export"
"""Where exports next to a pipeline go: ``<pipeline dir>/export/<target>/``."""
MODULES = {"airflow": "airflow", "kfp": "kfp_target", "argo": "argo"}
"""The module that writes each target (imported when used: kfp and hera are optional)."""


def write_plan(plan: Plan, output: Path) -> list[Path]:
    """Write the plan's files for its target into ``output`` (created); return them."""
    module = importlib.import_module(f"{__package__}.{MODULES[plan.options.target]}")
    output.mkdir(parents=True, exist_ok=True)
    return module.write(plan, output)


def export_pipeline(
    pipeline_file: Path | str, output: Path | str, options: ExportOptions
) -> list[Path]:
    """Export the pipeline file for ``options.target`` into ``output``; return the files
    written. ``PipelineError`` for an invalid pipeline, ``ExportError`` for what the target
    cannot do (or a missing optional dependency)."""
    plan = build_plan(load_pipeline(pipeline_file), options)
    return write_plan(plan, Path(output))


def export_next_to(pipeline_file: Path, options: ExportOptions) -> list[Path]:
    """``export_pipeline`` into ``<pipeline dir>/export/<target>/``."""
    output = Path(pipeline_file).parent / EXPORT_SUBDIR / options.target
    return export_pipeline(pipeline_file, output, options)
