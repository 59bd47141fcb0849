"""Argo Workflows export: every manifest valid against Argo's models (hera's, generated from
Argo's schema) and references; the DAG of a fan-out, a join and a failing step. No Argo
controller can run here (no Kubernetes API server can be installed), so nothing is run."""

from __future__ import annotations

import copy

import yaml

from orchest_ext.export.plan import ExportOptions
from orchest_ext.export.write import export_pipeline

from .export_support import argo_issues, branching_pipeline, dag_of, data_pipeline


def export(pipeline_file, out, **options):
    options = {"target": "argo", "volume": "pipelines", **options}
    return {
        path.name.split(".")[1]: yaml.safe_load(path.read_text())
        for path in export_pipeline(pipeline_file, out, ExportOptions(**options))
    }


def test_every_manifest_validates_against_argos_schema(tmp_path):
    pipeline_file, _ = data_pipeline(tmp_path / "p")
    docs = export(
        pipeline_file,
        tmp_path / "out",
        namespace="ml",
        schedule="0 3 * * *",
        step_timeout=600,
        registry="registry.example.com/team",
        cpu_limit=1.5,
        memory_limit="512m",
        gpus=1,
    )
    assert {name: doc["kind"] for name, doc in docs.items()} == {
        "workflow": "Workflow",
        "workflow-template": "WorkflowTemplate",
        "cron-workflow": "CronWorkflow",
    }
    for doc in docs.values():
        assert argo_issues(doc) == []
        assert doc["metadata"]["namespace"] == "ml"
    assert docs["workflow"]["metadata"]["generateName"] == "export-data-"
    assert docs["cron-workflow"]["spec"]["schedules"] == ["0 3 * * *"]
    spec = docs["workflow"]["spec"]
    assert {p["name"]: p["value"] for p in spec["arguments"]["parameters"]} == {
        "pipeline__scale": "2",
        "load__count": "3",
        "report__label": "first",
    }
    load = next(t for t in spec["templates"] if t["name"] == "load")
    assert load["container"]["image"] == "registry.example.com/team/orchest-ext/step:latest"
    assert load["activeDeadlineSeconds"] == 600
    assert load["container"]["resources"] == {
        "limits": {"cpu": "1.5", "memory": str(512 * 2**20), "nvidia.com/gpu": "1"}
    }
    assert load["retryStrategy"] == {"limit": 1, "backoff": {"duration": "1s"}}
    assert load["container"]["volumeMounts"] == [
        {"name": "orchest-data", "mountPath": "/orchest/pipeline"}
    ]
    assert spec["volumes"] == [
        {"name": "orchest-data", "persistentVolumeClaim": {"claimName": "pipelines"}}
    ]


def test_the_validator_catches_what_argo_would_refuse(tmp_path):
    pipeline_file, _ = data_pipeline(tmp_path / "p")
    workflow = export(pipeline_file, tmp_path / "out")["workflow"]
    unknown_field = copy.deepcopy(workflow)
    unknown_field["spec"]["templates"][0]["container"]["imageName"] = "x"
    wrong_type = copy.deepcopy(workflow)
    wrong_type["spec"]["templates"][0]["activeDeadlineSeconds"] = {"seconds": 1}
    missing_task = copy.deepcopy(workflow)
    missing_task["spec"]["templates"][-1]["dag"]["tasks"][0]["dependencies"] = ["nowhere"]
    for broken in (unknown_field, wrong_type, missing_task):
        assert argo_issues(broken)


def test_fan_out_join_and_failing_step_make_the_expected_dag(tmp_path):
    pipeline_file, _ = branching_pipeline(tmp_path / "p")
    workflow = export(pipeline_file, tmp_path / "out")["workflow"]
    assert argo_issues(workflow) == []
    spec = workflow["spec"]
    assert dag_of(spec) == {
        "start": [],
        "left": ["start"],
        "fails": ["start"],
        "join": ["left", "fails"],
    }
    entry = next(t for t in spec["templates"] if t["name"] == spec["entrypoint"])
    # a failing step stops its descendants only (Join), not Left: the `continue` policy
    assert entry["dag"]["failFast"] is False
    fails = next(t for t in spec["templates"] if t["name"] == "fails")
    assert fails["retryStrategy"] == {"limit": 2, "backoff": {"duration": "5s"}}
    assert "retryStrategy" not in next(t for t in spec["templates"] if t["name"] == "left")
