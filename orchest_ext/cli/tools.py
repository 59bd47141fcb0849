"""Subcommands with parsers of their own (`images`, `environments`, `jobs`): each hands its
arguments to its module's ``main(argv, prog)``."""

from __future__ import annotations

from importlib import import_module

from .base import CLIApp


class ToolApp(CLIApp):
    """A subcommand whose arguments its own ``main`` parses (``target``: ``module:function``)."""

    target = ""
    command = ""
    """The words after `jupyter orchest` (the tool's ``prog``)."""

    def parse_command_line(self, argv: list[str] | None = None) -> None:
        """Keep every argument for the tool's own parser."""
        self.extra_args = list(argv or [])

    def start(self) -> None:
        module, function = self.target.split(":")
        main = getattr(import_module(module), function)
        self.exit(main(self.extra_args, prog=f"jupyter orchest {self.command}"))


class ImagesApp(ToolApp):
    """The project's Docker images: `jupyter orchest images build|distribute [options]`."""

    name = "jupyter-orchest-images"
    description = (
        "build: build the orchest_ext Docker images (step, eg, server, kernel) from the "
        "Dockerfiles shipped in the package and a wheelhouse the host's pip downloads. "
        "distribute: copy them to other Docker engines (swarm nodes without a registry). "
        "`jupyter orchest images build --help` (or distribute --help) lists the options."
    )
    tools = {
        "build": "orchest_ext.infra.images:main",
        "distribute": "orchest_ext.infra.distribute:main",
    }

    def start(self) -> None:
        if not self.extra_args or self.extra_args[0] not in self.tools:
            self.print_help()
            self.exit(0 if self.extra_args[:1] in (["-h"], ["--help"]) else 2)
        self.target = self.tools[self.extra_args[0]]
        self.command = f"images {self.extra_args[0]}"
        self.extra_args = self.extra_args[1:]
        super().start()


class EnvironmentsApp(ToolApp):
    """Orchest environments: `jupyter orchest environments build [options]`."""

    name = "jupyter-orchest-environments"
    description = "Build the images of Orchest environments (`... environments --help`)."
    target = "orchest_ext.infra.environments:main"
    command = "environments"


class JobsApp(ToolApp):
    """Jobs of a running server: `jupyter orchest jobs create|list|show|pause|resume|delete`."""

    name = "jupyter-orchest-jobs"
    description = (
        "Jobs of a running server: create, list, show, pause, resume, delete "
        "(`jupyter orchest jobs --help`)."
    )
    target = "orchest_ext.cli.jobs:main"
    command = "jobs"
