"""Airflow target: one DAG file, a ``DockerOperator`` (or ``KubernetesPodOperator``) task per
step, the steps' retries and timeouts, the schedule as the DAG's, parameters as DAG params.

Airflow has no SDK that writes DAG files (a DAG *is* Python), so the file is generated:
its data (steps, commands, params) as Python literals, and a few lines that make the tasks.
"""

from __future__ import annotations

import pprint
from pathlib import Path
from typing import Any

from .plan import DOCKER, Plan, PlanParameter

VOLUME_NAME = "orchest-data"
PARAM_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}
PARAM_TYPES.update({list: "array", dict: "object", type(None): "null"})

HEADER = '''\
"""Airflow DAG of the orchest_ext pipeline {pipeline_name!r} ({pipeline_uuid}).

Exported by `jupyter orchest export --to airflow`. Each task runs one step in its step image
through `python -m orchest_ext.export.step_main`, the entry point orchest_ext's docker backend
uses: notebooks are executed with their parameters injected, and steps pass data with the
`orchest` SDK through the run directory {data_path}/.orchest/runs/<run_id>, on {storage}.
Params are the pipeline's parameters (pipeline__KEY) and each step's (<task>__KEY).
"""

from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, Param
'''

DOCKER_IMPORTS = """\
from airflow.providers.docker.operators.docker import DockerOperator
from docker.types import DeviceRequest, Mount
"""

KUBERNETES_IMPORTS = """\
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s
"""

DOCKER_TASK = """\
def step_task(step):
    return DockerOperator(
        task_id=step["task_id"],
        doc=step["title"],
        image=step["image"],
        command=step["command"],
        environment=ENVIRONMENT,
        user=USER,
        mounts=[Mount(**mount) for mount in MOUNTS],
        mem_limit=MEMORY_LIMIT,
        device_requests=[DeviceRequest(count=GPUS, capabilities=[["gpu"]])] if GPUS else None,
        docker_url=DOCKER_URL,
        mount_tmp_dir=False,
        auto_remove="success",
        retries=step["retries"],
        retry_delay=timedelta(seconds=step["retry_delay"]),
        execution_timeout=step["timeout"] and timedelta(seconds=step["timeout"]),
    )
"""

KUBERNETES_TASK = """\
def step_task(step):
    return KubernetesPodOperator(
        task_id=step["task_id"],
        doc=step["title"],
        name=step["task_id"],
        namespace=NAMESPACE,
        image=step["image"],
        cmds=step["command"],
        env_vars=ENVIRONMENT,
        volumes=[
            k8s.V1Volume(
                name=VOLUME_NAME,
                persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=CLAIM),
            )
        ],
        volume_mounts=[k8s.V1VolumeMount(name=VOLUME_NAME, mount_path=DATA_PATH)],
        container_resources=k8s.V1ResourceRequirements(limits=LIMITS) if LIMITS else None,
        get_logs=True,
        on_finish_action="delete_succeeded_pod",
        retries=step["retries"],
        retry_delay=timedelta(seconds=step["retry_delay"]),
        execution_timeout=step["timeout"] and timedelta(seconds=step["timeout"]),
    )
"""

DAG_BODY = """\
with DAG(
    dag_id=DAG_ID,
    description=DESCRIPTION,
    schedule=SCHEDULE,
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={name: Param(default, type=kind) for name, (default, kind) in PARAMS.items()},
    tags=["orchest"],
) as dag:
    tasks = {step["task_id"]: step_task(step) for step in STEPS}
    for step in STEPS:
        for parent in step["parents"]:
            tasks[parent] >> tasks[step["task_id"]]
"""


def template(parameter: PlanParameter) -> str:
    """The Jinja template of a parameter's value in a task's command."""
    if parameter.is_text:
        return f"{{{{ params.{parameter.name} }}}}"
    return f"{{{{ params.{parameter.name} | tojson }}}}"


def param_type(value: Any) -> str:
    return PARAM_TYPES.get(type(value), "object")


def _steps(plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "task_id": step.task_id,
            "title": step.title,
            "image": step.image,
            "command": step.command(plan, "{{ run_id }}", template),
            "parents": list(step.parents),
            "retries": step.retries,
            "retry_delay": step.retry_delay,
            "timeout": step.timeout,
        }
        for step in plan.steps
    ]


def _mounts(plan: Plan) -> list[dict[str, Any]]:
    mounts = [{"source": plan.volume, "target": plan.data_path, "type": "bind"}]
    if plan.runner_mount:
        source, target = plan.runner_mount
        mounts.append({"source": source, "target": target, "type": "bind", "read_only": True})
    return mounts


def _constants(plan: Plan) -> dict[str, Any]:
    options = plan.options
    constants: dict[str, Any] = {
        "DAG_ID": plan.name,
        "DESCRIPTION": f"orchest_ext pipeline {plan.pipeline_name} ({plan.pipeline_uuid})",
        "SCHEDULE": options.schedule,
        "DATA_PATH": plan.data_path,
        "ENVIRONMENT": plan.env,
        "PARAMS": {p.name: (p.default, param_type(p.default)) for p in plan.parameters},
    }
    if options.airflow_operator == DOCKER:
        constants |= {
            "DOCKER_URL": "unix://var/run/docker.sock",
            "USER": plan.user,
            "MOUNTS": _mounts(plan),
            "MEMORY_LIMIT": plan.limits.memory,
            "GPUS": plan.limits.gpus,
        }
    else:
        constants |= {
            "NAMESPACE": options.namespace or "default",
            "CLAIM": plan.volume,
            "VOLUME_NAME": VOLUME_NAME,
            "LIMITS": plan.limits.kubernetes(),
        }
    constants["STEPS"] = _steps(plan)
    return constants


def dag_source(plan: Plan) -> str:
    """The DAG file's Python source."""
    docker = plan.options.airflow_operator == DOCKER
    storage = f"the bind-mounted {plan.volume}" if docker else f"the volume claim {plan.volume}"
    parts = [
        HEADER.format(
            pipeline_name=plan.pipeline_name,
            pipeline_uuid=plan.pipeline_uuid,
            data_path=plan.data_path,
            storage=storage,
        ),
        DOCKER_IMPORTS if docker else KUBERNETES_IMPORTS,
        "\n",
    ]
    for name, value in _constants(plan).items():
        parts.append(f"{name} = {pprint.pformat(value, width=96, sort_dicts=False)}\n")
    parts += ["\n\n", DOCKER_TASK if docker else KUBERNETES_TASK, "\n\n", DAG_BODY]
    return "".join(parts)


def write(plan: Plan, output: Path) -> list[Path]:
    """Write ``<dag_id>.py`` into ``output``; return it."""
    path = output / f"{plan.name.replace('-', '_')}.py"
    path.write_text(dag_source(plan), encoding="utf-8")
    return [path]
