"""DockerExecutor: run each pipeline step in its own Docker container (aiodocker).

The pipeline directory is bind-mounted at the same absolute path, so paths in the
``StepSpec`` need no translation. Notebooks run through ``LocalExecutor`` inside the
container (``container_main``); scripts are exec'd directly with the interpreter
``LocalExecutor`` would use, appending to the same log, because a Python start-up per
container would dominate short steps. Logs and executed notebooks land in the run
directory while the step runs. Containers carry labels so a restarted server can follow
or remove them.

Its options are in ``config.py`` (``DockerExecutorConfig``), the step container's spec in
``spec.py``, the words for how it ended in ``failure.py``.

Ahead of need (``start_ahead``), a step's container is created and started while its
parents run: it waits on a FIFO in its step directory (``release``), a notebook's with its
kernel already started, until its step starts and releases it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable
from typing import Any

import aiodocker
from aiodocker.containers import DockerContainer

from ...infra.docker_engine import BUILD_HINT, ENGINE_ERRORS, DockerEngine
from ...infra.environment_builds import EnvironmentBuilds
from ...infra.environments import Environment, OrchestEnvironmentError, environment_image
from ..base import Executor, StepResult, StepSpec
from ..results import write_result
from .ahead import ContainerAhead, release_started
from .build_events import build_watcher
from .config import DockerExecutorConfig
from .failure import container_failure, engine_failure
from .removal import ContainerRemoval
from .spec import (
    container_config,
    container_handle,
    container_name,
    prepare_step_files,
    step_label_filter,
    stored_result,
)


class DockerExecutor(Executor, DockerExecutorConfig):
    """Runs every step in a fresh container of the step image, as the server's user."""

    name = "docker"
    recoverable = True

    _detached = False
    on_environment_build: Callable[[dict[str, Any]], None] | None = None
    """Told of each step's on-demand environment build (``build_events.build_watcher``)."""

    def __init__(self, engine: DockerEngine | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if engine is None or self.docker_url or self.connect_timeout is not None:
            overrides = {"docker_url": self.docker_url} if self.docker_url else {}
            if self.connect_timeout is not None:
                overrides["connect_timeout"] = self.connect_timeout
            engine = DockerEngine(parent=self, log=self.log, **overrides)
        self.engine = engine
        self.removal = ContainerRemoval(self.engine, self, self.log)
        self._builds: EnvironmentBuilds | None = None

    # -- engine ------------------------------------------------------------------------------

    async def check_available(self) -> None:
        await self.engine.check_available()

    async def close(self) -> None:
        await self.removed()
        await self.engine.close()

    async def removed(self) -> None:
        """Wait until the containers of the steps that ended so far are removed."""
        await self.removal.all()

    # -- container configuration -------------------------------------------------------------

    async def environment_image(self, spec: StepSpec, build: bool = False) -> str | None:
        """The image of the step's Orchest environment (None: the step names no environment
        defined in its project, or one mapped in ``environment_images``). One not built as it
        is now is built with ``build`` and ``build_environments_on_demand`` (its output going
        to the step's log); else ``OrchestEnvironmentError``."""
        if spec.image or not spec.environment or spec.environment in self.environment_images:
            return None
        builder = None
        if build and self.build_environments_on_demand:
            if self._builds is None:
                self._builds = EnvironmentBuilds(self.docker_url or self.engine.address)
            builds = self._builds

            async def builder(environment: Environment, tag: str) -> str:
                watch = build_watcher(self.on_environment_build, spec, environment, tag)
                return await builds.build(
                    environment, self.default_image, tag, spec.log_path, watch
                )

        return await environment_image(
            self.engine.client(), spec.pipeline_dir, spec.environment, self.default_image, builder
        )

    async def image_identity(self, spec: StepSpec) -> str | None:
        """The step's image by name and id, so a rebuilt image changes the step's cache key
        (the name alone when the image cannot be looked up: the step fails when it runs)."""
        try:
            image = self.image_for(spec, await self.environment_image(spec))
        except (OrchestEnvironmentError, *ENGINE_ERRORS):
            return f"{spec.environment or self.image_for(spec)} (not built)"
        try:
            return f"{image}@{(await self.engine.client().images.inspect(image))['Id']}"
        except ENGINE_ERRORS:
            return image

    def container_config(
        self, spec: StepSpec, built: str | None = None, released: bool = False
    ) -> dict[str, Any]:
        """The ``POST /containers/create`` body for a step (``built``: its environment's
        image; ``released``: it waits until its step releases it)."""
        return container_config(spec, self, self.image_for(spec, built), released)

    # -- running -----------------------------------------------------------------------------

    def start_ahead(self, spec: StepSpec) -> ContainerAhead:
        """Create the step's container now, and start it if ``start_containers_ahead``: then
        it waits for ``run`` to release it, else ``run`` starts it."""
        started = self.start_containers_ahead
        return ContainerAhead(
            self._create_ahead(spec, started), self.removal.discard, self.log, started
        )

    async def _create_ahead(self, spec: StepSpec, start: bool) -> DockerContainer | None:
        """Prepare the step's files and create (and ``start``) its container; None if its file
        is missing."""
        if not await asyncio.to_thread(prepare_step_files, spec, start):
            return None
        config = self.container_config(spec, await self.environment_image(spec), start)
        name = container_name(spec.run_id, spec.step_uuid)
        container = await self._create(self.engine.client(), config, name)
        if start:
            try:
                await container.start()
            except BaseException:
                await asyncio.shield(self.removal.discard(container.id))
                raise
        return container

    async def _take_ahead(self, ahead: ContainerAhead, spec: StepSpec) -> DockerContainer | None:
        """The container made ahead for the step, released if it was started; None if there
        is none or it ended before it could be released (it is removed then)."""
        container = await ahead.take()
        if container is None or not ahead.started:
            return container
        try:
            if await self._release(container, spec):
                return container
            self.log.info("Container started ahead for step %s ended early", spec.step_uuid)
        except ENGINE_ERRORS as err:
            self.log.warning("Could not release the container of step %s: %s", spec.step_uuid, err)
        await self.removal.discard(container.id)
        return None

    async def _release(self, container: DockerContainer, spec: StepSpec) -> bool:
        """Let a container started ahead run its step (``release_started``); one that never
        waits on its FIFO stops the starting of containers ahead."""
        outcome = await release_started(container, spec, self.release_timeout, self.log)
        if outcome is None:
            self.start_containers_ahead = False
        return bool(outcome)

    async def run(
        self, spec: StepSpec, on_started: Any = None, ahead: ContainerAhead | None = None
    ) -> StepResult:
        """Run the step in its container (the one ``ahead`` made, else a new one)."""
        docker = self.engine.client()
        name = container_name(spec.run_id, spec.step_uuid)
        container = None
        started = False
        config: dict[str, Any] = {}
        try:
            if ahead is not None:
                container = await self._take_ahead(ahead, spec)
                started = container is not None and ahead.started
            if container is None:
                if not await asyncio.to_thread(prepare_step_files, spec):
                    return StepResult("FAILURE", f"Step file not found: {spec.file_path}")
                try:
                    built = await self.environment_image(spec, build=True)
                    config = self.container_config(spec, built)
                except OrchestEnvironmentError as err:
                    return StepResult("FAILURE", str(err))
                except ENGINE_ERRORS as err:
                    return StepResult(
                        "FAILURE", f"Docker could not look up the step's image: {err}"
                    )
                container = await self._create_or_remove(docker, config, name)
            if not started:
                await container.start()
                started = True
            handle = {"container_id": container.id, "container_name": name}
            if on_started is not None and inspect.isawaitable(outcome := on_started(handle)):
                await outcome
            return await self._follow(container, spec)
        except asyncio.CancelledError:
            if not self._detached:
                await asyncio.shield(self._stop_and_remove(container.id if container else name))
            raise
        except aiodocker.DockerError as err:
            if container is None and err.status == 404 and "image" in err.message.lower():
                return StepResult(
                    "FAILURE",
                    f"Docker image {config['Image']!r} not found: {BUILD_HINT} "
                    "(or configure DockerExecutor.default_image/environment_images).",
                )
            return await self._engine_failure(container, name, started, err)
        except ENGINE_ERRORS as err:
            return await self._engine_failure(container, name, started, err)

    async def _create(
        self, docker: aiodocker.Docker, config: dict[str, Any], name: str
    ) -> DockerContainer:
        """Create the container (once a finished one of the same name is removed), replacing
        a stale one of the same name."""
        await self.removal.of(name)
        try:
            return await docker.containers.create(config, name=name)
        except aiodocker.DockerError as err:
            if err.status != 409:
                raise
        self.log.warning("Removing stale container %s before re-running its step", name)
        await self.engine.remove_container(name)
        return await docker.containers.create(config, name=name)

    async def _create_or_remove(
        self, docker: aiodocker.Docker, config: dict[str, Any], name: str
    ) -> DockerContainer:
        """Create the container; if cancelled meanwhile (an abort), let the engine finish the
        create, remove the container, then re-raise: it is never left behind unstarted."""
        create = asyncio.ensure_future(self._create(docker, config, name))
        try:
            return await asyncio.shield(create)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self.removal.discard((await create).id)
            raise

    async def _follow(self, container: DockerContainer, spec: StepSpec) -> StepResult:
        """Wait for the container to exit, then turn its exit into a result and clean up."""
        code = (await container.wait()).get("StatusCode", -1)
        if code == 0:
            result = StepResult("SUCCESS")
        else:
            message = await container_failure(self.engine, container, spec, code, self.memory_limit)
            result = StepResult("FAILURE", message)
        await asyncio.to_thread(write_result, spec.step_dir, result.status, result.message)
        if code == 0 or not self.keep_failed_containers:
            self.removal.soon(container.id, container_name(spec.run_id, spec.step_uuid))
        return result

    async def _engine_failure(
        self, container: DockerContainer | None, name: str, started: bool, err: BaseException
    ) -> StepResult:
        """A step that failed because the engine refused or lost it; its container is removed
        in the background once the engine answers."""
        if container is not None and not self.keep_failed_containers:
            self.removal.soon(container.id, name)
        return engine_failure(name, started, self.engine.address, err)

    async def _stop_and_remove(self, ref: str) -> None:
        """Give a cancelled step ``stop_timeout`` seconds to end, then remove its container."""
        await self.engine.stop_container(ref, self.stop_timeout)
        await self.removal.discard(ref)

    # -- recovery ----------------------------------------------------------------------------

    async def reattach(self, spec: StepSpec, handle: dict[str, Any]) -> StepResult | None:
        ref = handle.get("container_id") or handle.get("container_name")
        if ref is None:
            found = await self.find_step_containers(spec.run_id, spec.step_uuid)
            if not found:
                return await asyncio.to_thread(stored_result, spec)
            ref = found[0]["container_id"]
        container = self.engine.client().containers.container(ref)
        try:
            state = (await container.show())["State"]
        except aiodocker.DockerError as err:
            if err.status != 404:
                raise
            return await asyncio.to_thread(stored_result, spec) or StepResult(
                "FAILURE", f"the step's container {ref} disappeared without a result"
            )
        if state.get("Status") == "created":
            await self.engine.remove_container(ref)
            return None
        try:
            # started ahead and never released: the previous server died as its step started
            await self._release(container, spec)
            return await self._follow(container, spec)
        except asyncio.CancelledError:
            if not self._detached:
                await asyncio.shield(self._stop_and_remove(ref))
            raise

    def detach(self) -> None:
        self._detached = True

    async def cleanup_orphan(self, handle: dict[str, Any]) -> None:
        ref = handle.get("container_id") or handle.get("container_name")
        if ref:
            await self.engine.remove_container(ref)

    async def remove_unstarted(self, run_id: str, step_uuids: list[str]) -> None:
        for uuid in step_uuids:
            for handle in await self.find_step_containers(run_id, uuid):
                await self.engine.remove_container(handle["container_id"])

    async def find_step_containers(
        self, run_id: str | None = None, step_uuid: str | None = None
    ) -> list[dict[str, Any]]:
        """Step containers of this project (optionally of one run/step), as handles."""
        labels = step_label_filter(run_id, step_uuid)
        found = await self.engine.client().containers.list(all=True, filters={"label": labels})
        return [container_handle(c) for c in found]
