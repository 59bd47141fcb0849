"""`jupyter orchest environments build`: build the images of a project's Orchest
environments."""

from __future__ import annotations

import sys
from pathlib import Path

from traitlets import Bool, List, Unicode

from ..infra.environments import (
    DEFAULT_BASE_IMAGE,
    ENVIRONMENTS_SUBDIR,
    OrchestEnvironmentError,
    build_environment,
    project_environments,
)
from .base import CLIApp, CommandGroup


class BuildEnvironmentsApp(CLIApp):
    """Build the images of a project's environments."""

    name = "jupyter-orchest-environments-build"
    description = (
        "Build the image of every Orchest environment of a project directory (default: the "
        f"current one), from {ENVIRONMENTS_SUBDIR}/<uuid>/; an unchanged one is left as it is."
    )
    examples = "jupyter orchest environments build my-project --only 1f2e...  --force"
    only = List(
        Unicode(), help="Build only this environment (uuid; repeat the option for several)."
    ).tag(config=True)
    base_image = Unicode(
        DEFAULT_BASE_IMAGE,
        help=f"Image to build on (default {DEFAULT_BASE_IMAGE}, the step image).",
    ).tag(config=True)
    force = Bool(False, help="Rebuild even if unchanged.").tag(config=True)

    aliases = {
        **CLIApp.aliases,
        "only": "BuildEnvironmentsApp.only",
        "base-image": "BuildEnvironmentsApp.base_image",
    }
    flags = {**CLIApp.flags, "force": ({"BuildEnvironmentsApp": {"force": True}}, force.help)}

    def start(self) -> None:
        if len(self.extra_args) > 1:
            self.log.critical("environments build takes one project directory at most")
            self.exit(2)
        project_dir = Path(self.extra_args[0] if self.extra_args else ".")
        self.exit(self.build(project_dir))

    def build(self, project_dir: Path) -> int:
        """Build the environments of ``project_dir``; return the exit code."""
        import docker

        try:
            environments = project_environments(project_dir.resolve())
            unknown = set(self.only) - {env.uuid for env in environments}
            if unknown or not environments:
                where = project_dir / ENVIRONMENTS_SUBDIR
                missing = ", ".join(sorted(unknown)) or "any environment"
                raise OrchestEnvironmentError(f"No {missing} in {where}.")
            client = docker.from_env()
            for environment in environments:
                if self.only and environment.uuid not in self.only:
                    continue
                tag, built = build_environment(client, environment, self.base_image, self.force)
                state = "built" if built else "up to date"
                print(f"{environment.name} ({environment.uuid}): {tag} {state}", flush=True)
        except OrchestEnvironmentError as err:
            print(err, file=sys.stderr)
            return 1
        except docker.errors.DockerException as err:
            print(f"Docker engine unreachable: {err}", file=sys.stderr)
            return 1
        return 0


class EnvironmentsApp(CommandGroup):
    """Orchest environments: `jupyter orchest environments build [options]`."""

    name = "jupyter-orchest-environments"
    description = "Build the images of Orchest environments (`... environments build --help`)."
    subcommands = {"build": (BuildEnvironmentsApp, BuildEnvironmentsApp.__doc__)}
