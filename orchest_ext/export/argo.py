"""Argo Workflows target, built with hera: a ``Workflow`` (``argo submit``), a
``WorkflowTemplate`` and, with a schedule, a ``CronWorkflow``; each a DAG template whose tasks
are the steps' container templates. The steps share a PersistentVolumeClaim that holds the
pipeline directory and its runs; parameters are workflow arguments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .plan import ExportError, Plan, PlanParameter, PlanStep

ENTRYPOINT = "pipeline"
VOLUME_NAME = "orchest-data"
RUN_ID = "{{workflow.name}}"
"""Unique per submitted workflow (also per CronWorkflow run): names the run directory."""
MISSING = "Argo Workflows export needs hera: pip install 'orchest_ext[export]'"


def _hera() -> Any:
    try:
        import hera.workflows as hera
    except ImportError as err:
        raise ExportError(f"{MISSING} ({err}).") from None
    return hera


def argument_value(parameter: PlanParameter) -> str:
    """A workflow argument's default: the text itself, or JSON."""
    return parameter.default if parameter.is_text else json.dumps(parameter.default)


def reference(parameter: PlanParameter) -> str:
    return f"{{{{workflow.parameters.{parameter.name}}}}}"


def _template(plan: Plan, step: PlanStep, hera: Any) -> Any:
    """The step's container template."""
    m = hera.models
    limits = plan.limits.kubernetes()
    retry = None
    if step.retries:
        backoff = m.Backoff(duration=f"{int(step.retry_delay)}s") if step.retry_delay else None
        retry = hera.RetryStrategy(limit=step.retries, backoff=backoff)
    return hera.Container(
        name=step.task_id,
        image=step.image,
        command=step.command(plan, RUN_ID, reference),
        env=[m.EnvVar(name=key, value=value) for key, value in plan.env.items()],
        volume_mounts=[m.VolumeMount(name=VOLUME_NAME, mount_path=plan.data_path)],
        resources=m.ResourceRequirements(limits=limits) if limits else None,
        retry_strategy=retry,
        active_deadline_seconds=int(step.timeout) if step.timeout else None,
        annotations={"orchest_ext/step-title": step.title, "orchest_ext/step-uuid": step.uuid},
    )


def _spec(plan: Plan, kind: type, **metadata: Any) -> dict[str, Any]:
    """One document of ``kind`` (a hera workflow class) holding the whole pipeline."""
    hera = _hera()
    m = hera.models
    claim = m.PersistentVolumeClaimVolumeSource(claim_name=plan.volume)
    with kind(
        namespace=plan.options.namespace,
        entrypoint=ENTRYPOINT,
        labels={"orchest_ext/pipeline-uuid": plan.pipeline_uuid},
        annotations={"orchest_ext/pipeline": plan.pipeline_name},
        arguments=[
            hera.Parameter(name=p.name, value=argument_value(p), description=_describe(plan, p))
            for p in plan.parameters
        ],
        volumes=[m.Volume(name=VOLUME_NAME, persistent_volume_claim=claim)],
        **metadata,
    ) as workflow:
        templates = {step.task_id: _template(plan, step, hera) for step in plan.steps}
        # continue: a failed step stops its descendants only, as a run's default policy here
        with hera.DAG(name=ENTRYPOINT, fail_fast=False):
            for step in plan.steps:
                hera.Task(
                    name=step.task_id,
                    template=templates[step.task_id],
                    dependencies=list(step.parents) or None,
                )
    return workflow.to_dict()


def _describe(plan: Plan, parameter: PlanParameter) -> str:
    if parameter.scope == "pipeline":
        return f"pipeline parameter {parameter.key}"
    title = next(step.title for step in plan.steps if step.uuid == parameter.scope)
    return f"parameter {parameter.key} of step {title}"


def documents(plan: Plan) -> dict[str, dict[str, Any]]:
    """The manifests by file name suffix."""
    hera = _hera()
    docs = {
        "workflow": _spec(plan, hera.Workflow, generate_name=f"{plan.name}-"),
        "workflow-template": _spec(plan, hera.WorkflowTemplate, name=plan.name),
    }
    if plan.options.schedule:
        docs["cron-workflow"] = _spec(
            plan, hera.CronWorkflow, name=plan.name, schedules=[plan.options.schedule]
        )
    return docs


def write(plan: Plan, output: Path) -> list[Path]:
    """Write ``<name>.<kind>.yaml`` per manifest into ``output``; return them."""
    written = []
    for suffix, document in documents(plan).items():
        path = output / f"{plan.name}.{suffix}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written
