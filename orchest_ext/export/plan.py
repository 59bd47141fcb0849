"""A parsed pipeline as a neutral export plan: its steps, their images, commands, parameters,
dependencies, retries and timeouts, which each target (Airflow, KFP, Argo) writes in its own
terms. Every step runs ``python -m orchest_ext.export.step_main`` in its step image, the entry
point that runs it as the docker backend does (``container_main``)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from croniter import croniter

from ..executors.containers.docker import DockerExecutor
from ..executors.containers.spec import PACKAGE_DIR, RUNNER_MOUNT
from ..infra.docker_engine import parse_memory
from ..infra.environments import OrchestEnvironmentError, find_environment
from ..pipeline import Pipeline, build_graph, topological_order

TARGETS = ("airflow", "kfp", "argo")
DOCKER = "docker"
KUBERNETES = "kubernetes"
DEFAULT_IMAGE = DockerExecutor.default_image.default_value
DEFAULT_DATA_PATH = "/orchest/pipeline"
"""Where the pipeline directory is mounted in a Kubernetes step's container, by default."""
MAX_SECONDS = 366 * 24 * 3600
"""Longest step timeout and retry delay (a year): every engine's duration holds it."""
GPU_RESOURCE = "nvidia.com/gpu"
"""The Kubernetes resource of a GPU (NVIDIA's device plugin)."""
PIPELINE_SCOPE = "pipeline"
STEP_MAIN = ["python", "-m", "orchest_ext.export.step_main"]


class ExportError(ValueError):
    """The pipeline cannot be exported as asked; the message says why and what to do, and
    ``field`` names the option (``ExportOptions``) at fault, if one is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ExportOptions:
    """How to export: the target and where its steps find images, files and schedule."""

    target: str
    name: str | None = None
    """DAG id / pipeline / workflow name (default: from the pipeline's name)."""
    registry: str | None = None
    """Prefix of every image name, e.g. ``registry.example.com/team``."""
    default_image: str = DEFAULT_IMAGE
    environment_images: dict[str, str] = field(default_factory=dict)
    namespace: str | None = None
    schedule: str | None = None
    """A cron expression: the DAG's schedule, a CronWorkflow; KFP refuses it."""
    volume: str | None = None
    """Docker: host directory bind-mounted (default: the pipeline directory). Kubernetes: the
    PersistentVolumeClaim holding the pipeline directory and its runs."""
    data_path: str | None = None
    """Where the pipeline directory is inside step containers (default: the same path as on
    this machine for Docker, ``DEFAULT_DATA_PATH`` on Kubernetes)."""
    step_timeout: float | None = None
    retries: int = 0
    """Retries of steps that set none."""
    retry_delay: float = 0.0
    airflow_operator: str = DOCKER
    """``docker`` (DockerOperator) or ``kubernetes`` (KubernetesPodOperator)."""
    cpu_limit: float | None = None
    """CPU cores a step may use (None: no limit)."""
    memory_limit: str | None = None
    """Memory a step may use, docker-style (``512m``, ``2g``; None: no limit)."""
    gpus: int | None = None
    """GPUs of each step (None: none)."""
    mount_runner: bool = False
    """Docker only: mount this machine's ``orchest_ext`` into step containers (as the docker
    backend does for notebooks), for images older than the export."""

    @property
    def runs_on(self) -> str:
        """``docker`` or ``kubernetes``: what starts the step containers."""
        if self.target == "airflow" and self.airflow_operator == DOCKER:
            return DOCKER
        return KUBERNETES


@dataclass(frozen=True)
class Limits:
    """What a step container may use, each None when unlimited."""

    cpu: float | None = None
    memory: int | None = None
    """Bytes."""
    gpus: int | None = None

    def kubernetes(self) -> dict[str, str]:
        """The limits as Kubernetes container resource limits."""
        limits = {"cpu": f"{self.cpu:g}"} if self.cpu else {}
        if self.memory:
            limits["memory"] = str(self.memory)
        if self.gpus:
            limits[GPU_RESOURCE] = str(self.gpus)
        return limits


@dataclass(frozen=True)
class PlanParameter:
    """One pipeline or step parameter, under a name every target accepts."""

    name: str
    """Unique identifier: ``pipeline__<key>`` or ``<task_id>__<key>``."""
    scope: str
    """``pipeline`` or the step's uuid."""
    key: str
    default: Any

    @property
    def is_text(self) -> bool:
        """A string value: passed as text (targets that type parameters keep it a string)."""
        return isinstance(self.default, str)

    def flag(self) -> str:
        """The ``step_main`` option that takes its value: ``--param`` (JSON) or ``--param-text``."""
        return "--param-text" if self.is_text else "--param"

    def argument(self, value: str) -> str:
        """``<scope>.<key>=<value>`` as ``step_main`` reads it."""
        scope = PIPELINE_SCOPE if self.scope == PIPELINE_SCOPE else "step"
        return f"{scope}.{self.key}={value}"


@dataclass(frozen=True)
class PlanStep:
    """One step: what runs, in which image, after which steps, how often and how long."""

    uuid: str
    title: str
    task_id: str
    """Unique, ``[a-z0-9][a-z0-9-]*``: an Airflow task id, KFP task and Argo task name."""
    kind: str
    image: str
    parents: tuple[str, ...]
    """``task_id`` of the steps it waits for."""
    parameters: tuple[PlanParameter, ...]
    """Its own parameters, then the pipeline's."""
    retries: int
    retry_delay: float
    timeout: float | None

    def command(self, plan: Plan, run_id: str, value: Callable[[PlanParameter], str]) -> list[str]:
        """The container command; ``value`` gives each parameter's value as the target
        spells it (a template, a placeholder)."""
        command = [*STEP_MAIN, "--pipeline", plan.pipeline_file, "--step", self.uuid]
        command += ["--run-id", run_id]
        for parameter in self.parameters:
            command += [parameter.flag(), parameter.argument(value(parameter))]
        return command


@dataclass(frozen=True)
class Plan:
    """The whole pipeline as the targets write it."""

    name: str
    pipeline_name: str
    pipeline_uuid: str
    steps: tuple[PlanStep, ...]
    """In topological order."""
    parameters: tuple[PlanParameter, ...]
    """Every parameter of the pipeline and its steps, each once."""
    data_path: str
    """The pipeline directory inside step containers."""
    pipeline_file: str
    """The pipeline file inside step containers."""
    volume: str | None
    env: dict[str, str]
    """Container environment of every step (the step's own variables come from the
    pipeline file, as in a run here)."""
    user: str | None
    """``uid:gid`` step containers run as (Docker: the exporting user, as the docker backend)."""
    runner_mount: tuple[str, str] | None
    """(host ``orchest_ext`` directory, container path) when ``mount_runner``."""
    limits: Limits
    options: ExportOptions


def slug(text: str, separator: str = "-") -> str:
    """Lower-case letters, digits and ``separator``, starting with a letter."""
    cleaned = re.sub(r"[^a-z0-9]+", separator, text.lower()).strip(separator)
    return cleaned if cleaned[:1].isalpha() else f"p{separator}{cleaned}".rstrip(separator)


def unique_task_ids(pipeline: Pipeline, order: list[str]) -> dict[str, str]:
    """A task id per step uuid, from its title, made unique with a counter."""
    taken: set[str] = set()
    ids = {}
    for uuid in order:
        base = slug(pipeline.steps[uuid].title)[:50] or "step"
        candidate, counter = base, 2
        while candidate in taken:
            candidate, counter = f"{base}-{counter}", counter + 1
        taken.add(candidate)
        ids[uuid] = candidate
    return ids


def _parameters(scope: str, prefix: str, values: dict[str, Any]) -> list[PlanParameter]:
    plan = []
    for key, default in values.items():
        if "=" in key:
            raise ExportError(f"Parameter {key!r} ({scope}): names with '=' cannot be exported.")
        name = f"{prefix}__{slug(key, '_')}"
        plan.append(PlanParameter(name, scope, key, default))
    return plan


def _checked_unique(parameters: list[PlanParameter]) -> None:
    names: dict[str, PlanParameter] = {}
    for parameter in parameters:
        other = names.setdefault(parameter.name, parameter)
        if other is not parameter:
            raise ExportError(
                f"Parameters {other.key!r} and {parameter.key!r} both export as "
                f"{parameter.name!r}; rename one."
            )


def step_image(pipeline: Pipeline, uuid: str, options: ExportOptions) -> str:
    """The docker backend's image rule: the step's image, its environment's mapped image,
    the pipeline's, the default; a project environment must be mapped (it is built here)."""
    step = pipeline.steps[uuid]
    image = step.image
    if image is None and step.environment:
        image = options.environment_images.get(step.environment)
        if image is None and _defined(pipeline, step.environment):
            raise ExportError(
                f"{step.label} uses environment {step.environment}, whose image is built on "
                "this machine: push it to a registry and map it with --environment-image "
                f"{step.environment}=IMAGE.",
                "environment_images",
            )
    image = image or pipeline.default_image or options.default_image
    return f"{options.registry.rstrip('/')}/{image}" if options.registry else image


def _defined(pipeline: Pipeline, environment: str) -> bool:
    """Whether the pipeline's project defines the Orchest environment."""
    try:
        return find_environment(pipeline.directory, environment) is not None
    except OrchestEnvironmentError as err:
        raise ExportError(str(err)) from None


def _data_location(pipeline: Pipeline, options: ExportOptions) -> tuple[str, str | None]:
    """(pipeline directory inside containers, volume)."""
    if options.runs_on == DOCKER:
        volume = str(Path(options.volume or pipeline.directory).absolute())
        return options.data_path or str(pipeline.directory), volume
    if options.volume is None:
        raise ExportError(
            f"{options.target} steps read the pipeline's files and pass data through a shared "
            "volume: give --volume CLAIM, a ReadWriteMany PersistentVolumeClaim holding the "
            f"pipeline directory (mounted at --data-path, default {DEFAULT_DATA_PATH}).",
            "volume",
        )
    return options.data_path or DEFAULT_DATA_PATH, options.volume


def _checked_options(options: ExportOptions) -> None:
    if options.target not in TARGETS:
        raise ExportError(
            f"Unknown target {options.target!r}; choose one of {', '.join(TARGETS)}.", "target"
        )
    if options.airflow_operator not in (DOCKER, KUBERNETES):
        raise ExportError("airflow_operator must be 'docker' or 'kubernetes'.", "airflow_operator")
    if options.schedule is not None and not croniter.is_valid(options.schedule):
        raise ExportError(f"schedule {options.schedule!r} is not a cron expression.", "schedule")
    if options.mount_runner and options.runs_on != DOCKER:
        raise ExportError(
            "mount_runner mounts a local directory: Airflow with Docker only.", "mount_runner"
        )
    if options.step_timeout is not None and not 0 < options.step_timeout <= MAX_SECONDS:
        raise ExportError(
            f"step_timeout must be a positive number of seconds, at most {MAX_SECONDS}.",
            "step_timeout",
        )
    if not 0 <= options.retry_delay <= MAX_SECONDS:
        raise ExportError(f"retry_delay must be 0 to {MAX_SECONDS} seconds.", "retry_delay")
    if options.data_path is not None and not PurePosixPath(options.data_path).is_absolute():
        raise ExportError(f"data_path {options.data_path!r} must be an absolute path.", "data_path")
    if options.namespace and options.runs_on == DOCKER:
        raise ExportError(
            "A namespace is for Kubernetes: Airflow with Docker has none.", "namespace"
        )
    if options.target == "kfp":
        _checked_for_kfp(options)


def _checked_for_kfp(options: ExportOptions) -> None:
    """Refuse what a Kubeflow Pipelines package cannot express."""
    if options.schedule:
        raise ExportError(
            "A Kubeflow Pipelines package has no schedule: upload it and create a recurring "
            "run with the cron expression (KFP UI, or kfp.Client().create_recurring_run); "
            "export without a schedule.",
            "schedule",
        )
    if options.step_timeout:
        raise ExportError(
            "Kubeflow Pipelines (v2) cannot limit a task's run time: export without a step "
            "timeout.",
            "step_timeout",
        )
    if options.namespace:
        raise ExportError(
            "A Kubeflow Pipelines package has no namespace: choose it when creating the run "
            "(kfp.Client(namespace=...)); export without a namespace.",
            "namespace",
        )


def build_plan(pipeline: Pipeline, options: ExportOptions) -> Plan:
    """The export plan of a parsed pipeline (``pipeline.path`` set); ``ExportError`` if the
    target cannot do what is asked."""
    _checked_options(options)
    if pipeline.path is None:
        raise ExportError("Only a pipeline read from a file can be exported.")
    order = topological_order(build_graph(pipeline))
    ids = unique_task_ids(pipeline, order)
    data_path, volume = _data_location(pipeline, options)
    pipeline_parameters = _parameters(PIPELINE_SCOPE, PIPELINE_SCOPE, pipeline.parameters)
    steps, every = [], list(pipeline_parameters)
    for uuid in order:
        step = pipeline.steps[uuid]
        own = _parameters(uuid, ids[uuid].replace("-", "_"), step.parameters)
        every += own
        steps.append(
            PlanStep(
                uuid=uuid,
                title=step.title,
                task_id=ids[uuid],
                kind=step.kind,
                image=step_image(pipeline, uuid, options),
                parents=tuple(ids[parent] for parent in step.incoming_connections),
                parameters=(*own, *pipeline_parameters),
                retries=options.retries if step.retries is None else step.retries,
                retry_delay=options.retry_delay if step.retry_delay is None else step.retry_delay,
                timeout=options.step_timeout,
            )
        )
    _checked_unique(every)
    relative = pipeline.path.relative_to(pipeline.directory).as_posix()
    return Plan(
        name=slug(options.name or pipeline.name)[:63].rstrip("-") or "pipeline",
        pipeline_name=pipeline.name,
        pipeline_uuid=pipeline.uuid,
        steps=tuple(steps),
        parameters=tuple(every),
        data_path=data_path,
        pipeline_file=str(PurePosixPath(data_path) / relative),
        volume=volume,
        env=_container_env(options),
        user=f"{os.getuid()}:{os.getgid()}" if options.runs_on == DOCKER else None,
        runner_mount=_runner_mount(options),
        limits=_limits(options),
        options=options,
    )


def _limits(options: ExportOptions) -> Limits:
    """The step containers' limits; ``ExportError`` for one the target cannot set."""
    if options.cpu_limit is not None and not options.cpu_limit > 0:
        raise ExportError("cpu_limit must be a positive number of cores.", "cpu_limit")
    if options.cpu_limit and options.runs_on == DOCKER:
        raise ExportError(
            "Airflow's DockerOperator cannot limit CPUs (its cpus are relative shares): "
            "export without a CPU limit, or with the kubernetes operator.",
            "cpu_limit",
        )
    if options.gpus is not None and options.gpus < 1:
        raise ExportError("gpus must be a count of at least 1.", "gpus")
    memory = None
    if options.memory_limit is not None:
        try:
            memory = parse_memory(options.memory_limit)
        except ValueError:
            raise ExportError(
                f"memory_limit {options.memory_limit!r} is not a size like '512m' or '2g'.",
                "memory_limit",
            ) from None
    return Limits(options.cpu_limit, memory, options.gpus)


def _runner_mount(options: ExportOptions) -> tuple[str, str] | None:
    return (str(PACKAGE_DIR), f"{RUNNER_MOUNT}/orchest_ext") if options.mount_runner else None


def _container_env(options: ExportOptions) -> dict[str, str]:
    """What the docker backend sets in every step container (``DockerExecutor``)."""
    env = {"HOME": "/tmp", "PYTHONUNBUFFERED": "1"}
    if options.mount_runner:
        env["PYTHONPATH"] = RUNNER_MOUNT
    return env
