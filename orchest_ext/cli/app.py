"""`jupyter orchest`: a Jupyter application whose subcommands run and validate pipelines and
build the project's images. It reads the config files the server extension reads."""

from __future__ import annotations

import sys

from .base import CommandGroup


class OrchestCLI(CommandGroup):
    """Runs and validates notebook pipelines, builds the orchest_ext Docker images."""

    name = "jupyter-orchest"
    description = (
        "Run and validate notebook pipelines (Orchest .orchest and Elyra .pipeline files) "
        "and build the orchest_ext Docker images. The subcommands read the same config files "
        "as the orchest_ext server extension (jupyter_server_config.py, "
        "jupyter_orchest_ext_config.py), so c.LocalExecutor.*, c.DockerExecutor.* and "
        "c.OrchestApp.max_parallel, step_timeout and default_backend apply to them too."
    )
    examples = """
jupyter orchest run examples/quickstart/quickstart.orchest
jupyter orchest run my.orchest --steps Report --env WHO=world --max-parallel 2
jupyter orchest validate my.orchest
jupyter orchest export --to argo my.orchest --output out/ --volume pipelines
jupyter orchest images build --base-image orchest-ext/base:bookworm
jupyter orchest --generate-config     # writes jupyter_orchest_ext_config.py
jupyter orchest --help-all            # every option of every configurable class
"""
    subcommands = {
        "run": (
            "orchest_ext.cli.run.RunApp",
            "Run a pipeline in this process and show its progress.",
        ),
        "validate": (
            "orchest_ext.cli.validate.ValidateApp",
            "Print the issues of a pipeline file.",
        ),
        "export": (
            "orchest_ext.cli.export.ExportApp",
            "Write a pipeline as an Airflow DAG, a Kubeflow Pipelines package or Argo "
            "Workflows manifests.",
        ),
        "images": (
            "orchest_ext.cli.images.ImagesApp",
            "Build the project's Docker images or copy them to other engines "
            "(images build|distribute).",
        ),
        "environments": (
            "orchest_ext.cli.environments.EnvironmentsApp",
            "Orchest environments: build their images.",
        ),
        "jobs": (
            "orchest_ext.cli.jobs.JobsApp",
            "Jobs of a running server: create, list, show, pause, resume, delete.",
        ),
    }

    def initialize(self, argv: list[str] | None = None) -> None:
        argv = sys.argv[1:] if argv is None else argv
        if not (argv and argv[0] in self.subcommands) and any(
            arg in ("--help-all", "--generate-config") for arg in argv
        ):
            self.classes = configurable_classes()
        super().initialize(argv)


def configurable_classes() -> list[type]:
    """Every class the extension's config files configure, and the subcommands (imported only
    when listed or written out: some are slow to import)."""
    from ..app import OrchestApp
    from .run import RunApp

    return [*OrchestApp().configurable_classes(), RunApp]


def main(argv: list[str] | None = None) -> None:
    """The `jupyter-orchest` entry point."""
    OrchestCLI.launch_instance(argv)
