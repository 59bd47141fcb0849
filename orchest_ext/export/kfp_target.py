"""Kubeflow Pipelines target: a container component per step, built with the kfp SDK and
compiled to its IR YAML. The steps share a PersistentVolumeClaim (kfp-kubernetes) that holds
the pipeline directory and its runs; pipeline and step parameters are pipeline inputs."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .plan import GPU_RESOURCE, ExportError, Limits, Plan, PlanParameter, PlanStep

RUN_ID = "run_id"
KFP_TYPES: dict[type, type] = {bool: bool, int: int, float: float, str: str, list: list, dict: dict}
MISSING = (
    "Kubeflow Pipelines export needs kfp and kfp-kubernetes: pip install 'orchest_ext[export]'"
)


def _sdk() -> tuple[Any, Any, Any]:
    try:
        from kfp import compiler, dsl, kubernetes
    except ImportError as err:
        raise ExportError(f"{MISSING} ({err}).") from None
    return compiler, dsl, kubernetes


def kfp_type(parameter: PlanParameter) -> type:
    """The input's type: the default's, or JSON text (``str``) for a null default."""
    return KFP_TYPES.get(type(parameter.default), str)


def kfp_default(parameter: PlanParameter) -> Any:
    return "null" if parameter.default is None else parameter.default


def _signed(
    function: Callable[..., Any], name: str, parameters: list[inspect.Parameter]
) -> Callable[..., Any]:
    """Give ``function`` the name and signature the kfp decorators read."""
    function.__name__ = function.__qualname__ = name
    function.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return function


def _component(plan: Plan, step: PlanStep, dsl: Any) -> Any:
    """The step's container component: inputs ``run_id`` and its parameters."""
    names = [RUN_ID, *(p.name for p in step.parameters)]

    def container(*placeholders: Any) -> Any:
        values = dict(zip(names, placeholders, strict=True))
        command = step.command(plan, str(values[RUN_ID]), lambda p: str(values[p.name]))
        return dsl.ContainerSpec(image=step.image, command=command[:1], args=command[1:])

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = [inspect.Parameter(RUN_ID, kind, annotation=str)]
    signature += [inspect.Parameter(p.name, kind, annotation=kfp_type(p)) for p in step.parameters]
    container.__doc__ = f"Step {step.title!r} ({step.uuid})."
    return dsl.container_component(_signed(container, step.task_id.replace("-", "_"), signature))


def _task(plan: Plan, step: PlanStep, component: Any, values: dict[str, Any], sdk: tuple) -> Any:
    _, dsl, kubernetes = sdk
    inputs = {p.name: values[p.name] for p in step.parameters}
    task = component(run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER, **inputs)
    task.set_display_name(step.title)
    task.set_caching_options(False)
    if step.retries:
        task.set_retry(step.retries, backoff_duration=f"{int(step.retry_delay)}s")
    for key, value in plan.env.items():
        task.set_env_variable(key, value)
    _limit(task, plan.limits)
    kubernetes.mount_pvc(task, pvc_name=plan.volume, mount_path=plan.data_path)
    return task


def _limit(task: Any, limits: Limits) -> None:
    """Set the task's CPU, memory and GPU limits."""
    if limits.cpu:
        task.set_cpu_limit(f"{limits.cpu:g}")
    if limits.memory:
        task.set_memory_limit(str(limits.memory))
    if limits.gpus:
        task.set_accelerator_type(GPU_RESOURCE).set_accelerator_limit(limits.gpus)


def pipeline(plan: Plan) -> Any:
    """The kfp pipeline (a graph component) of the plan."""
    sdk = _sdk()
    dsl = sdk[1]
    components = {step.task_id: _component(plan, step, dsl) for step in plan.steps}
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = [
        inspect.Parameter(p.name, kind, default=kfp_default(p), annotation=kfp_type(p))
        for p in plan.parameters
    ]

    def graph(*args: Any, **kwargs: Any) -> None:
        values = inspect.signature(graph).bind(*args, **kwargs).arguments
        tasks: dict[str, Any] = {}
        for step in plan.steps:
            task = _task(plan, step, components[step.task_id], values, sdk)
            if step.parents:
                task.after(*(tasks[parent] for parent in step.parents))
            tasks[step.task_id] = task

    graph.__doc__ = f"orchest_ext pipeline {plan.pipeline_name} ({plan.pipeline_uuid})."
    return dsl.pipeline(name=plan.name)(_signed(graph, plan.name.replace("-", "_"), signature))


def write(plan: Plan, output: Path) -> list[Path]:
    """Compile ``<name>.yaml`` into ``output``; return it."""
    compiler = _sdk()[0]
    path = output / f"{plan.name}.yaml"
    compiler.Compiler().compile(pipeline_func=pipeline(plan), package_path=str(path))
    return [path]
