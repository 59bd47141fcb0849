"""Orchest environments: ``.orchest/environments/<uuid>/`` of a project (``properties.json``
and ``setup_script.sh``) built into docker images on top of the step image.

An environment's image is tagged ``orchest-ext/environment-<uuid>:<hash>``, the hash of
its properties, its setup script, the base image's id and this module's Dockerfile, so an
unchanged environment is not rebuilt and a changed one is never run from a stale image.
The build context is the project directory (without ``.orchest`` runs and jobs), and the
setup script runs at build time in it, as Orchest ran it.

Usage: ``jupyter orchest environments build [PROJECT_DIR] [--only UUID] [--base-image
IMAGE] [--force]``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiodocker

if TYPE_CHECKING:
    from docker import DockerClient

ENVIRONMENTS_SUBDIR = Path(".orchest") / "environments"
IMAGE_PREFIX = "orchest-ext/environment-"
ENVIRONMENT_LABEL = "orchest_ext.environment"
HASH_LABEL = "orchest_ext.environment_hash"
DEFAULT_BASE_IMAGE = "orchest-ext/step:latest"
PROJECT_MOUNT = "/project-dir"
LANGUAGE_PACKAGES = {
    "python": "",
    "r": "r-base-core r-cran-irkernel r-cran-jsonlite",
}
"""Debian packages an environment's image adds to the step image, by language (R: R,
IRkernel with its kernelspec ``ir``, and jsonlite for the orchest R package). Julia is in
none of the registries the project's images are built from."""
_APT_INSTALL = """\
RUN apt-get update \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {packages} \\
    && rm -rf /var/lib/apt/lists/*
"""
DOCKERFILE = f"""\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
USER root
{{language_layer}}COPY project {PROJECT_MOUNT}
ARG SETUP_SCRIPT
RUN cd {PROJECT_MOUNT} && if [ -f "$SETUP_SCRIPT" ]; then bash -e "$SETUP_SCRIPT"; fi \\
    && rm -rf {PROJECT_MOUNT}
WORKDIR /tmp
"""


def dockerfile(language: str) -> str:
    """The Dockerfile of an environment of ``language``; ``OrchestEnvironmentError`` for a
    language no image can be built for."""
    packages = LANGUAGE_PACKAGES.get(language.lower())
    if packages is None:
        raise OrchestEnvironmentError(
            f"Language {language!r} is not supported: environments are Python or R "
            "(Julia is not installable from the registries the images are built from)."
        )
    layer = _APT_INSTALL.format(packages=packages) if packages else ""
    return DOCKERFILE.replace("{language_layer}", layer)


class OrchestEnvironmentError(RuntimeError):
    """An environment that cannot be read or built, or is not built."""


@dataclass(frozen=True)
class Environment:
    """One environment of a project."""

    uuid: str
    name: str
    language: str
    directory: Path
    project_dir: Path

    @property
    def setup_script(self) -> Path:
        return self.directory / "setup_script.sh"

    def inputs_hash(self, base_image_id: str) -> str:
        """The hash of what the image is built from (blocking: reads the files)."""
        digest = hashlib.sha256()
        for part in (
            (self.directory / "properties.json").read_bytes(),
            self.setup_script.read_bytes() if self.setup_script.exists() else b"",
            base_image_id.encode(),
            dockerfile(self.language).encode(),
        ):
            digest.update(hashlib.sha256(part).digest())
        return digest.hexdigest()[:16]

    def tag(self, base_image_id: str) -> str:
        return f"{IMAGE_PREFIX}{self.uuid}:{self.inputs_hash(base_image_id)}"


def read_environment(directory: Path, project_dir: Path) -> Environment:
    """The environment in ``directory`` (blocking)."""
    try:
        properties = json.loads((directory / "properties.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise OrchestEnvironmentError(
            f"Cannot read {directory / 'properties.json'}: {err}"
        ) from None
    if not isinstance(properties, dict):
        raise OrchestEnvironmentError(f"{directory / 'properties.json'} must be a JSON object.")
    return Environment(
        uuid=directory.name,
        name=str(properties.get("name") or directory.name),
        language=str(properties.get("language") or "python"),
        directory=directory,
        project_dir=project_dir,
    )


def project_environments(project_dir: Path) -> list[Environment]:
    """Every environment of a project (blocking)."""
    root = project_dir / ENVIRONMENTS_SUBDIR
    if not root.is_dir():
        return []
    return [
        read_environment(directory, project_dir)
        for directory in sorted(root.iterdir())
        if (directory / "properties.json").is_file()
    ]


def find_environment(start: Path, uuid: str) -> Environment | None:
    """The environment ``uuid`` of the project holding ``start`` (the nearest directory at
    or above it with ``.orchest/environments/<uuid>/``), None if there is none (blocking)."""
    if not uuid or "/" in uuid or uuid in (".", ".."):
        return None
    for directory in (start, *start.parents):
        candidate = directory / ENVIRONMENTS_SUBDIR / uuid
        if (candidate / "properties.json").is_file():
            return read_environment(candidate, directory)
    return None


async def environment_image(
    docker: Any,
    start: Path,
    uuid: str,
    base_image: str,
    build: Callable[[Environment, str], Awaitable[str]] | None = None,
) -> str | None:
    """The built image of environment ``uuid`` for a step in ``start`` (aiodocker client);
    None when no such environment is defined. One not built as it is now is built by
    ``build(environment, tag)``; without it, ``OrchestEnvironmentError``."""
    environment = await asyncio.to_thread(find_environment, start, uuid)
    if environment is None:
        return None
    hint = f"run `jupyter orchest environments build {environment.project_dir}`"
    try:
        base_id = (await docker.images.inspect(base_image))["Id"]
    except aiodocker.DockerError as err:
        if err.status != 404:
            raise
        raise OrchestEnvironmentError(
            f"The base image {base_image} of environment {environment.name!r} is missing: "
            "build it with `jupyter orchest images build`."
        ) from None
    tag = await asyncio.to_thread(environment.tag, base_id)
    try:
        await docker.images.inspect(tag)
    except aiodocker.DockerError as err:
        if err.status != 404:
            raise
        if build is None:
            raise OrchestEnvironmentError(
                f"Environment {environment.name!r} ({uuid}) is not built as it is now: {hint}."
            ) from None
        return await build(environment, tag)
    return tag


def build_environment(
    client: DockerClient,
    environment: Environment,
    base_image: str,
    force: bool = False,
    on_output: Callable[[str], None] | None = None,
) -> tuple[str, bool]:
    """Build an environment's image unless an image of the same inputs exists (``force``
    rebuilds); returns its tag and whether it was built. A failing setup script raises
    ``OrchestEnvironmentError`` with the build log. ``on_output`` gets the build's output as
    it comes."""
    import docker

    try:
        text = dockerfile(environment.language)
    except OrchestEnvironmentError as err:
        raise OrchestEnvironmentError(f"Environment {environment.name!r}: {err}") from None
    try:
        base_id = client.images.get(base_image).id
    except docker.errors.ImageNotFound:
        raise OrchestEnvironmentError(
            f"Base image {base_image} not found: build it with `jupyter orchest images build`."
        ) from None
    tag = environment.tag(base_id)
    if not force:
        try:
            client.images.get(tag)
            return tag, False
        except docker.errors.ImageNotFound:
            pass
    with tempfile.TemporaryDirectory(prefix="orchest-environment-") as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_text(text)
        shutil.copytree(
            environment.project_dir,
            context / "project",
            ignore=_context_filter(environment.project_dir),
            symlinks=True,
        )
        script = environment.setup_script.relative_to(environment.project_dir).as_posix()
        _build(client, context, tag, environment, base_image, script, on_output)
    return tag, True


def _context_filter(project_dir: Path):
    """Skip version control, checkpoints and the project's ``.orchest/runs`` and ``jobs``."""
    orchest_dir = project_dir / ".orchest"

    def ignore(directory: str, names: list[str]) -> list[str]:
        if Path(directory) == orchest_dir:
            return [name for name in names if name in ("runs", "jobs")]
        return [name for name in names if name in (".git", ".ipynb_checkpoints")]

    return ignore


def _build(
    client: DockerClient,
    context: Path,
    tag: str,
    environment: Environment,
    base_image: str,
    script: str,
    on_output: Callable[[str], None] | None,
) -> None:
    log: list[str] = []
    stream = client.api.build(
        path=str(context),
        tag=tag,
        buildargs={"BASE_IMAGE": base_image, "SETUP_SCRIPT": script},
        labels={ENVIRONMENT_LABEL: environment.uuid, HASH_LABEL: tag.rpartition(":")[2]},
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
    )
    for chunk in stream:
        text = chunk.get("stream", "")
        if text:
            log.append(text)
            if on_output is not None:
                on_output(text)
        if "error" in chunk:
            raise OrchestEnvironmentError(
                f"Building environment {environment.name!r} ({environment.uuid}) failed: "
                f"{chunk['error'].strip()}\n--- build log ---\n{''.join(log)[-6000:]}"
            )
