"""Airflow export, run by a real Airflow (its own virtualenv, ``.ci/setup-airflow.sh``):
``airflow dags test`` runs the exported DAG's DockerOperator tasks on the local engine; the
KubernetesPodOperator flavour is loaded by Airflow (no Kubernetes API server can run here)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from orchest_ext.export.plan import ExportOptions
from orchest_ext.export.write import export_pipeline

from .docker_support import require_image
from .export_support import airflow_venv, branching_pipeline, data_pipeline, set_fields

DAG_FACTS = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(sys.argv[1])
dag = bag.dags[sys.argv[2]]
print(json.dumps({
    "errors": {path: str(error) for path, error in bag.import_errors.items()},
    "schedule": str(dag.schedule),
    "params": {name: dag.params[name] for name in dag.params},
    "tasks": {
        task.task_id: {
            "operator": type(task).__name__,
            "upstream": sorted(task.upstream_task_ids),
            "retries": task.retries,
            "retry_delay": task.retry_delay.total_seconds(),
            "timeout": task.execution_timeout and task.execution_timeout.total_seconds(),
            "limits": task.container_resources and task.container_resources.limits,
        }
        for task in dag.tasks
    },
}))
"""


LIMITS = {"cpu": "0.5", "memory": str(256 * 2**20)}


def airflow_env(home: Path, dags: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": "",
    }


def run(venv: Path, env: dict[str, str], *args: str, timeout: float = 600):
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.docker
def test_airflow_dags_test_runs_the_dag_passing_data_and_parameters(tmp_path):
    require_image()
    venv = airflow_venv()
    pipeline_file, uuids = data_pipeline(tmp_path / "p")
    dags = tmp_path / "dags"
    options = ExportOptions(
        target="airflow", mount_runner=True, step_timeout=300, memory_limit="1g"
    )
    [dag_file] = export_pipeline(pipeline_file, dags, options)
    env = airflow_env(tmp_path / "airflow", dags)
    migrate = run(venv, env, "airflow", "db", "migrate")
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    conf = json.dumps({"load__count": 5, "report__label": "from airflow"})
    proc = run(venv, env, "airflow", "dags", "test", "export-data", "-c", conf)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    assert "state=success" in output
    for title in ("Load", "Double", "Report"):
        assert f"orchest step '{title}': SUCCESS" in output
    report = json.loads((pipeline_file.parent / "report.json").read_text())
    assert report["label"] == "from airflow"
    assert (report["numbers"], report["doubled"]) == ([0, 2, 4, 6, 8], [0, 4, 8, 12, 16])
    run_dir = pipeline_file.parent / ".orchest" / "runs" / report["run"]
    assert (run_dir / "steps" / uuids["Report"] / "report.ipynb").exists()
    assert dag_file.name == "export_data.py"


def test_the_kubernetes_pod_operator_dag_loads_with_its_schedule_retries_and_params(tmp_path):
    venv = airflow_venv()
    pipeline_file, _ = data_pipeline(tmp_path / "p")
    dags = tmp_path / "dags"
    options = ExportOptions(
        target="airflow",
        airflow_operator="kubernetes",
        volume="pipelines",
        namespace="ml",
        schedule="0 3 * * *",
        step_timeout=120,
        cpu_limit=0.5,
        memory_limit="256m",
    )
    export_pipeline(pipeline_file, dags, options)
    env = airflow_env(tmp_path / "airflow", dags)
    proc = run(venv, env, "python", "-c", DAG_FACTS, str(dags), "export-data")
    assert proc.returncode == 0, proc.stderr[-3000:]
    facts = json.loads(proc.stdout.splitlines()[-1])
    assert facts["errors"] == {}
    assert "0 3 * * *" in facts["schedule"]
    assert facts["params"] == {"pipeline__scale": 2, "load__count": 3, "report__label": "first"}
    assert facts["tasks"] == {
        "load": {
            "operator": "KubernetesPodOperator",
            "upstream": [],
            "retries": 1,
            "retry_delay": 1.0,
            "timeout": 120.0,
            "limits": LIMITS,
        },
        "double": {
            "operator": "KubernetesPodOperator",
            "upstream": ["load"],
            "retries": 0,
            "retry_delay": 0.0,
            "timeout": 120.0,
            "limits": LIMITS,
        },
        "report": {
            "operator": "KubernetesPodOperator",
            "upstream": ["double", "load"],
            "retries": 0,
            "retry_delay": 0.0,
            "timeout": 120.0,
            "limits": LIMITS,
        },
    }


@pytest.mark.docker
def test_a_failing_step_is_retried_then_stops_only_its_descendants(tmp_path):
    require_image()
    venv = airflow_venv()
    pipeline_file, uuids = branching_pipeline(tmp_path / "p")
    set_fields(pipeline_file, uuids, Fails={"retries": 1, "retry_delay": 0})
    dags = tmp_path / "dags"
    export_pipeline(pipeline_file, dags, ExportOptions(target="airflow", mount_runner=True))
    env = airflow_env(tmp_path / "airflow", dags)
    assert run(venv, env, "airflow", "db", "migrate").returncode == 0
    proc = run(venv, env, "airflow", "dags", "test", "branching")
    assert proc.returncode != 0 and "state=failed" in proc.stdout + proc.stderr
    runs = run(venv, env, "airflow", "dags", "list-runs", "branching", "-o", "json")
    [dag_run] = json.loads(runs.stdout.splitlines()[-1])
    states = run(
        venv,
        env,
        "airflow",
        "tasks",
        "states-for-dag-run",
        "branching",
        dag_run["run_id"],
        "-o",
        "json",
    )
    assert states.returncode == 0, states.stderr[-3000:]
    by_task = {row["task_id"]: row["state"] for row in json.loads(states.stdout.splitlines()[-1])}
    assert by_task == {
        "start": "success",
        "left": "success",
        "fails": "failed",
        "join": "upstream_failed",
    }
    step_dir = pipeline_file.parent / ".orchest" / "runs" / dag_run["run_id"] / "steps"
    assert (step_dir / uuids["Fails"] / "step.attempt-1.log").exists(), "no retry happened"
