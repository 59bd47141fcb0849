"""DockerExecutor: run each pipeline step in its own Docker container (aiodocker).

The pipeline directory is bind-mounted at the same absolute path, so paths in the
``StepSpec`` need no translation. Notebooks run through ``LocalExecutor`` inside the
container (``container_main``); scripts are exec'd directly with the interpreter
``LocalExecutor`` would use, appending to the same log, because a Python start-up per
container would dominate short steps. Logs and executed notebooks land in the run
directory while the step runs. Containers carry labels so a restarted server can follow
or remove them.

Ahead of need (``start_ahead``), a step's container is created and started while its
parents run: it waits on a FIFO in its step directory (``release``), a notebook's with its
kernel already started, until its step starts and releases it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiodocker
from aiodocker.containers import DockerContainer
from traitlets import Bool, Dict, Float, Int, List, TraitError, Unicode, Union, validate

from ...infra.docker_engine import (
    BUILD_HINT,
    ENGINE_ERRORS,
    ENGINE_STOP_EXITS,
    ENGINE_STOP_GRACE,
    PIPELINE_LABEL,
    PROJECT,
    PROJECT_LABEL,
    DockerEngine,
    checked_memory,
    engine_error_reason,
    parse_memory,
)
from ...infra.environment_builds import EnvironmentBuilds
from ...infra.environments import Environment, OrchestEnvironmentError, environment_image
from ..base import (
    STEP_SDK_PATH,
    Executor,
    ExecutorUnavailable,
    StepResult,
    StepSpec,
    spec_to_json,
    without_secrets,
)
from ..masking import MASKED_ENV_VARIABLE, masked_command
from ..results import (
    SPEC_FILE,
    log_tail,
    read_result,
    result_file,
    write_json,
    write_parameters,
    write_result,
)
from .ahead import ContainerAhead
from .build_events import build_watcher
from .release import make_release_fifo, release_path, try_release

RUN_LABEL = "orchest_ext.run_id"
STEP_LABEL = "orchest_ext.step_uuid"
RELEASE_POLL = 0.01
"""Seconds between attempts to release a container whose FIFO has no reader yet."""
SDK_MOUNT = "/opt/orchest-ext/sdk"
"""Where the host's step API (``import orchest``) is mounted read-only and put on PYTHONPATH."""
RUNNER_MOUNT = "/opt/orchest-ext/runner"
"""Where this server's ``orchest_ext`` is mounted read-only for notebook steps, first on their
PYTHONPATH: the in-container runner is always the code that wrote the step's spec, whatever
version the image has installed (the image provides the dependencies)."""
PACKAGE_DIR = Path(__file__).resolve().parents[2]
MASKING_MOUNT = "/opt/orchest-ext/masking.py"
"""Where the host's masking filter is mounted read-only for script steps with secrets (it
needs only the image's Python)."""
SCRIPT_INTERPRETERS = {"python": "python", "shell": "bash"}
"""Interpreter (looked up on the image's PATH) per script kind, as ``LocalExecutor`` runs them.
R scripts run through ``container_main``, which installs the orchest R package first."""


def step_label_filter(run_id: str | None = None, step_uuid: str | None = None) -> list[str]:
    """The label filter of this project's step containers (services), optionally of one
    run and step."""
    labels = [f"{PROJECT_LABEL}={PROJECT}", STEP_LABEL]
    if run_id:
        labels.append(f"{RUN_LABEL}={run_id}")
    if step_uuid:
        labels.append(f"{STEP_LABEL}={step_uuid}")
    return labels


def container_name(run_id: str, step_uuid: str) -> str:
    """``orchest-<run>-<step>-<digest>``: readable prefixes, unique through a digest of both ids."""
    digest = hashlib.sha256(f"{run_id}\0{step_uuid}".encode()).hexdigest()[:8]
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", f"orchest-{run_id[:12]}-{step_uuid[:12]}-{digest}")


def exit_message(code: int) -> str:
    """How a step container ended, in ``LocalExecutor``'s words (its init reports 128+signal)."""
    if code > 128:
        try:
            return f"killed by signal {signal.Signals(code - 128).name}"
        except ValueError:
            pass
    return f"exited with code {code}"


DISCARD_RETRY_WINDOW = 90.0
"""Seconds a finished step's container removal is retried while the engine is away."""
DISCARD_RETRY_DELAY = 1.0


def engine_stopped_message(how: str, code: int) -> str:
    """The failure of a step whose container the engine stopped as it shut down."""
    return (
        "the Docker engine stopped (restarted or shut down) while the step ran and stopped its "
        f"container ({how}, exit code {code})"
    )


def spec_file(spec: StepSpec) -> Path:
    """Where ``container_main`` finds the spec of a notebook step (inside the step dir)."""
    return spec.step_dir / SPEC_FILE


def step_command(spec: StepSpec, released: bool = False) -> list[str]:
    """The container command: the script's interpreter, or ``container_main`` for notebooks;
    with ``released``, it first waits until the host releases it (``release``)."""
    fifo = str(release_path(spec.step_dir))
    interpreter = SCRIPT_INTERPRETERS.get(spec.kind)
    if interpreter is None:
        main = ["python", "-m", "orchest_ext.executors.containers.container_main"]
        main += ["--spec-file", str(spec_file(spec))]
        return [*main, "--release-fifo", fifo] if released else main
    redirect = 'log="$1"; shift; exec "$@" >>"$log" 2>&1'
    if released:
        redirect = ': <"$0" || exit 125; ' + redirect
    command = [interpreter, str(spec.source_path)]
    if spec.masked_env:
        command = masked_command("python", spec.log_path, command, MASKING_MOUNT)
    return ["/bin/sh", "-c", redirect, fifo if released else "sh", str(spec.log_path), *command]


def _stored_result(spec: StepSpec) -> StepResult | None:
    """The result the step's container wrote into its step directory, if any."""
    data = read_result(spec.step_dir)
    return None if data is None else StepResult(data["status"], data.get("message"))


def prepare_step_files(spec: StepSpec, released: bool = False) -> bool:
    """Make the step directory, drop an old result, write the spec (notebooks) and the
    parameters file, and with ``released`` the release FIFO; False if the step file is
    missing (blocking)."""
    spec.step_dir.mkdir(parents=True, exist_ok=True)
    if not spec.source_path.is_file():
        return False
    Path(result_file(spec.step_dir)).unlink(missing_ok=True)
    if released:
        make_release_fifo(spec.step_dir)
    if spec.kind not in SCRIPT_INTERPRETERS:
        write_json(spec_file(spec), json.loads(spec_to_json(without_secrets(spec))))
    write_parameters(spec.env, spec.parameters, spec.pipeline_parameters)
    return True


def _is_under(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


class DockerExecutor(Executor):
    """Runs every step in a fresh container of the step image, as the server's user."""

    name = "docker"
    recoverable = True

    docker_url = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Docker engine URL of step containers (unix:///var/run/docker.sock, "
        "tcp://host:2375). None uses the shared DockerEngine (DockerEngine.docker_url).",
    )
    default_image = Unicode(
        "orchest-ext/step:latest",
        config=True,
        help="Image for steps naming neither an image nor a mapped environment. It needs "
        "Python with orchest_ext installed; nothing is pulled.",
    )
    environment_images = Dict(
        value_trait=Unicode(),
        config=True,
        help="Orchest environment UUID/name -> image of the steps that use that environment.",
    )
    network = Unicode(
        None, allow_none=True, config=True, help="Docker network of step containers (None: bridge)."
    )
    cpu_limit = Float(
        None, allow_none=True, config=True, help="CPU cores a step container may use (None: all)."
    )
    memory_limit = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Memory limit of a step container, e.g. '512m' or '2g' (None: unlimited).",
    )
    extra_mounts = List(
        Unicode(),
        config=True,
        help="Extra bind mounts for step containers, each 'host_path:container_path[:ro|rw]'.",
    )
    gpus = Union(
        [Unicode(), Int()],
        default_value=None,
        allow_none=True,
        config=True,
        help="GPUs for step containers: 'all' or a count (None: no GPUs).",
    )
    build_environments_on_demand = Bool(
        True,
        config=True,
        help="Build a step's Orchest environment when its image is missing or out of date, "
        "its build output at the head of the step's log (set by "
        "OrchestApp.build_environments_on_demand); False fails the step instead.",
    )
    start_containers_ahead = Bool(
        True,
        config=True,
        help="Start the containers made ahead of need (OrchestApp.kernels_ahead): they wait "
        "for their step, a notebook's with its kernel started. False only creates them.",
    )
    release_timeout = Float(
        10.0,
        min=0.0,
        config=True,
        help="Seconds a step waits for its container started ahead to wait on its FIFO. Past "
        "it, the step runs in a fresh container and containers are no longer started ahead: "
        "the engine does not share the step directory's FIFOs with this server (e.g. an "
        "engine in a VM).",
    )
    keep_failed_containers = Bool(
        False, config=True, help="Keep the containers of failed steps for inspection."
    )
    stop_timeout = Float(
        5.0,
        config=True,
        help="Seconds a cancelled step's container gets between SIGTERM and SIGKILL.",
    )
    connect_timeout = Float(
        None,
        allow_none=True,
        config=True,
        help="Seconds to wait for the Docker engine to answer a health check (None: "
        "DockerEngine.connect_timeout).",
    )

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
        self._removing: dict[str, asyncio.Task[None]] = {}
        self._builds: EnvironmentBuilds | None = None
        """Containers of finished steps being removed, by container name."""

    @validate("memory_limit")
    def _valid_memory_limit(self, proposal: dict[str, Any]) -> str | None:
        return checked_memory(proposal)

    @validate("cpu_limit")
    def _valid_cpu_limit(self, proposal: dict[str, Any]) -> float | None:
        value = proposal["value"]
        if value is not None and value <= 0:
            raise TraitError(f"DockerExecutor.cpu_limit must be positive, not {value}.")
        return value

    @validate("gpus")
    def _valid_gpus(self, proposal: dict[str, Any]) -> str | int | None:
        value = proposal["value"]
        if isinstance(value, str) and value != "all" and not value.isdigit():
            raise TraitError(f"DockerExecutor.gpus must be 'all' or a count, not {value!r}.")
        return value

    @validate("extra_mounts")
    def _valid_extra_mounts(self, proposal: dict[str, Any]) -> list[str]:
        for mount in proposal["value"]:
            parts = mount.split(":")
            if not (
                2 <= len(parts) <= 3
                and parts[0]
                and parts[1].startswith("/")
                and parts[2:] in ([], ["ro"], ["rw"])
            ):
                raise TraitError(
                    f"DockerExecutor.extra_mounts: {mount!r} is not 'host:container[:ro|rw]'."
                )
        return proposal["value"]

    # -- engine ------------------------------------------------------------------------------

    async def check_available(self) -> None:
        await self.engine.check_available()

    async def close(self) -> None:
        await self.removed()
        await self.engine.close()

    async def removed(self) -> None:
        """Wait until the containers of the steps that ended so far are removed."""
        while self._removing:
            await asyncio.gather(*self._removing.values(), return_exceptions=True)

    # -- container configuration -------------------------------------------------------------

    def image_for(self, spec: StepSpec, built: str | None = None) -> str:
        """The step's image, its environment's mapped image, its environment's ``built``
        image, the pipeline's, or the default."""
        if spec.image:
            return spec.image
        if spec.environment and spec.environment in self.environment_images:
            return self.environment_images[spec.environment]
        return built or spec.pipeline_image or self.default_image

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

    def _binds(self, spec: StepSpec) -> list[str]:
        """The pipeline and run directories, the step API, and ``extra_mounts``."""
        pipeline_dir = spec.pipeline_dir.absolute()
        run_dir = Path(spec.env.get("ORCHEST_RUN_DIR") or spec.step_dir.parent)
        mounted = [pipeline_dir]
        for path in (
            run_dir,
            spec.step_dir,
            spec.log_path.parent,
            spec.output_notebook_path.parent,
        ):
            path = path.absolute()
            if not any(_is_under(path, m) for m in mounted):
                mounted.append(path)
        binds = [f"{path}:{path}:rw" for path in mounted]
        if spec.pipeline_path and not _is_under(spec.pipeline_path.absolute(), pipeline_dir):
            binds.append(f"{spec.pipeline_path.absolute()}:{spec.pipeline_path.absolute()}:ro")
        binds.append(f"{STEP_SDK_PATH}:{SDK_MOUNT}:ro")
        if spec.kind not in SCRIPT_INTERPRETERS:
            binds.append(f"{PACKAGE_DIR}:{RUNNER_MOUNT}/orchest_ext:ro")
        elif spec.masked_env:
            binds.append(f"{PACKAGE_DIR / 'executors' / 'masking.py'}:{MASKING_MOUNT}:ro")
        return [*binds, *self.extra_mounts]

    def _host_config(self, spec: StepSpec) -> dict[str, Any]:
        config: dict[str, Any] = {"Binds": self._binds(spec), "Init": True}
        if self.network:
            config["NetworkMode"] = self.network
        if self.cpu_limit:
            config["NanoCpus"] = int(self.cpu_limit * 1e9)
        if self.memory_limit:
            config["Memory"] = parse_memory(self.memory_limit)
        if self.gpus is not None:
            count = -1 if self.gpus == "all" else int(self.gpus)
            config["DeviceRequests"] = [{"Driver": "", "Count": count, "Capabilities": [["gpu"]]}]
        return config

    def container_config(
        self, spec: StepSpec, built: str | None = None, released: bool = False
    ) -> dict[str, Any]:
        """The ``POST /containers/create`` body for a step (``built``: its environment's
        image; ``released``: it waits until its step releases it)."""
        env = {"HOME": "/tmp", "PYTHONUNBUFFERED": "1", **spec.env}
        if spec.masked_env:
            env[MASKED_ENV_VARIABLE] = ",".join(spec.masked_env)
        runner = RUNNER_MOUNT if spec.kind not in SCRIPT_INTERPRETERS else None
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [runner, SDK_MOUNT, env.get("PYTHONPATH")])
        )
        return {
            "Image": self.image_for(spec, built),
            "Cmd": step_command(spec, released),
            "Env": [f"{key}={value}" for key, value in env.items()],
            "WorkingDir": str(spec.working_dir.absolute()),
            "User": f"{os.getuid()}:{os.getgid()}",
            "Labels": {
                PROJECT_LABEL: PROJECT,
                RUN_LABEL: spec.run_id,
                STEP_LABEL: spec.step_uuid,
                PIPELINE_LABEL: spec.pipeline_uuid,
            },
            "StopTimeout": int(self.stop_timeout),
            "HostConfig": self._host_config(spec),
        }

    # -- running -----------------------------------------------------------------------------

    def start_ahead(self, spec: StepSpec) -> ContainerAhead:
        """Create the step's container now, and start it if ``start_containers_ahead``: then
        it waits for ``run`` to release it, else ``run`` starts it."""
        started = self.start_containers_ahead
        return ContainerAhead(self._create_ahead(spec, started), self._discard, self.log, started)

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
                await asyncio.shield(self._discard(container.id))
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
        await self._discard(container.id)
        return None

    async def _release(self, container: DockerContainer, spec: StepSpec) -> bool:
        """Let a container started ahead run its step, once it waits on its FIFO; False if
        it is no longer running (or was released before)."""
        fifo = release_path(spec.step_dir)
        deadline = asyncio.get_running_loop().time() + self.release_timeout
        attempts = 0
        while (outcome := await asyncio.to_thread(try_release, fifo)) is False:
            attempts += 1
            if attempts % 10 == 0 and not await self._running(container):
                return False
            if asyncio.get_running_loop().time() > deadline:
                self.log.warning(
                    "Step container %s never waited on %s: not starting containers ahead any "
                    "more (does the engine see this server's files?)",
                    container.id[:12],
                    fifo,
                )
                self.start_containers_ahead = False
                return False
            await asyncio.sleep(RELEASE_POLL)
        return bool(outcome)

    async def _running(self, container: DockerContainer) -> bool:
        try:
            return (await container.show())["State"]["Status"] == "running"
        except aiodocker.DockerError as err:
            if err.status == 404:
                return False
            raise

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
        if (removing := self._removing.get(name)) is not None:
            await asyncio.wait({removing})
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
                await self._discard((await create).id)
            raise

    async def _follow(self, container: DockerContainer, spec: StepSpec) -> StepResult:
        """Wait for the container to exit, then turn its exit into a result and clean up."""
        code = (await container.wait()).get("StatusCode", -1)
        if code == 0:
            result = StepResult("SUCCESS")
        else:
            result = StepResult("FAILURE", await self._failure_message(container, spec, code))
        await asyncio.to_thread(write_result, spec.step_dir, result.status, result.message)
        if code == 0 or not self.keep_failed_containers:
            self._remove_soon(container.id, container_name(spec.run_id, spec.step_uuid))
        return result

    def _remove_soon(self, container_id: str, name: str) -> None:
        """Remove a finished step's container in the background: its result does not wait
        for it (``removed`` and ``close`` do)."""
        task = asyncio.get_running_loop().create_task(self._discard(container_id))
        self._removing[name] = task

        def done(_: asyncio.Task[None]) -> None:
            if self._removing.get(name) is task:
                del self._removing[name]

        task.add_done_callback(done)

    async def _failure_message(self, container: DockerContainer, spec: StepSpec, code: int) -> str:
        """What ``container_main`` reported, else the exit and the last output."""
        try:
            out_of_memory = (await container.show())["State"].get("OOMKilled")
        except ENGINE_ERRORS:
            out_of_memory = False
        if (
            not out_of_memory
            and code in ENGINE_STOP_EXITS
            and await self.engine.stops_answering(ENGINE_STOP_GRACE)
        ):
            return engine_stopped_message(exit_message(code), code)
        result = await asyncio.to_thread(_stored_result, spec)
        reported = result.message if result is not None and result.message else None
        if out_of_memory:
            return (
                f"the step ran out of memory (memory_limit={self.memory_limit}) and was killed "
                f"(OOMKilled, {exit_message(code)}, exit code {code})"
                + (f": {reported}" if reported else "")
            )
        if reported:
            return reported
        if spec.kind in SCRIPT_INTERPRETERS:
            output = await asyncio.to_thread(log_tail, spec.log_path)
        else:
            output = "".join(await container.log(stdout=True, stderr=True, tail=10)).strip()
        return exit_message(code) + (f"; last output:\n{output}" if output else "")

    async def _engine_failure(
        self, container: DockerContainer | None, name: str, started: bool, err: BaseException
    ) -> StepResult:
        """A step that failed because the engine refused or lost it; its container is removed
        in the background once the engine answers."""
        if container is not None and not self.keep_failed_containers:
            self._remove_soon(container.id, name)
        reason = engine_error_reason(err)
        engine = self.engine.address
        if started:
            return StepResult(
                "FAILURE",
                f"Lost the Docker engine ({engine}) while step container {name} ran: {reason}",
            )
        return StepResult(
            "FAILURE", f"Docker could not start step container {name} ({engine}): {reason}"
        )

    async def _discard(self, ref: str) -> None:
        """Remove a finished step's container, retrying while the engine is away (restarting)
        for up to ``DISCARD_RETRY_WINDOW`` seconds; failing does not change the step's result."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DISCARD_RETRY_WINDOW
        while True:
            try:
                await asyncio.wait_for(
                    self.engine.remove_container(ref),
                    self.stop_timeout + self.engine.connect_timeout,
                )
                return
            except (*ENGINE_ERRORS, ExecutorUnavailable) as err:
                if loop.time() > deadline:
                    self.log.warning("Could not remove step container %s: %s", ref, err)
                    return
            await asyncio.sleep(DISCARD_RETRY_DELAY)

    async def _stop_and_remove(self, ref: str) -> None:
        """Give a cancelled step ``stop_timeout`` seconds to end, then remove its container."""
        await self.engine.stop_container(ref, self.stop_timeout)
        await self._discard(ref)

    # -- recovery ----------------------------------------------------------------------------

    async def reattach(self, spec: StepSpec, handle: dict[str, Any]) -> StepResult | None:
        ref = handle.get("container_id") or handle.get("container_name")
        if ref is None:
            found = await self.find_step_containers(spec.run_id, spec.step_uuid)
            if not found:
                return await asyncio.to_thread(_stored_result, spec)
            ref = found[0]["container_id"]
        container = self.engine.client().containers.container(ref)
        try:
            state = (await container.show())["State"]
        except aiodocker.DockerError as err:
            if err.status != 404:
                raise
            return await asyncio.to_thread(_stored_result, spec) or StepResult(
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
        return [
            {
                "container_id": c["Id"],
                "container_name": c["Names"][0].lstrip("/") if c["Names"] else "",
                "run_id": c["Labels"].get(RUN_LABEL),
                "step_uuid": c["Labels"].get(STEP_LABEL),
                "pipeline_uuid": c["Labels"].get(PIPELINE_LABEL),
                "state": c["State"],
            }
            for c in found
        ]
