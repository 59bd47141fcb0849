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
DOCKERFILE = f"""\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
USER root
COPY project {PROJECT_MOUNT}
ARG SETUP_SCRIPT
RUN cd {PROJECT_MOUNT} && if [ -f "$SETUP_SCRIPT" ]; then bash -e "$SETUP_SCRIPT"; fi \\
    && rm -rf {PROJECT_MOUNT}
WORKDIR /tmp
"""


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
            DOCKERFILE.encode(),
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


async def environment_image(docker: Any, start: Path, uuid: str, base_image: str) -> str | None:
    """The built image of environment ``uuid`` for a step in ``start`` (aiodocker client);
    None when no such environment is defined; ``OrchestEnvironmentError`` when it is defined but
    not built as it is now."""
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
        raise OrchestEnvironmentError(
            f"Environment {environment.name!r} ({uuid}) is not built as it is now: {hint}."
        ) from None
    return tag


def build_environment(
    client: DockerClient, environment: Environment, base_image: str, force: bool = False
) -> tuple[str, bool]:
    """Build an environment's image unless an image of the same inputs exists (``force``
    rebuilds); returns its tag and whether it was built. A failing setup script raises
    ``OrchestEnvironmentError`` with the build log."""
    import docker

    if environment.language.lower() != "python":
        raise OrchestEnvironmentError(
            f"Environment {environment.name!r}: language {environment.language!r} is not "
            "supported (the step image is Python)."
        )
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
        (context / "Dockerfile").write_text(DOCKERFILE)
        shutil.copytree(
            environment.project_dir,
            context / "project",
            ignore=_context_filter(environment.project_dir),
            symlinks=True,
        )
        script = environment.setup_script.relative_to(environment.project_dir).as_posix()
        _build(client, context, tag, environment, base_image, script, base_id)
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
    base_id: str,
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
        if "error" in chunk:
            raise OrchestEnvironmentError(
                f"Building environment {environment.name!r} ({environment.uuid}) failed: "
                f"{chunk['error'].strip()}\n--- build log ---\n{''.join(log)[-6000:]}"
            )
