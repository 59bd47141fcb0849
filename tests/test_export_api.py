"""POST pipelines/export on a real Jupyter server: files next to the pipeline, what a target
cannot do refused with a 400 naming the field, an invalid pipeline a 422 with its issues."""

from __future__ import annotations

import json

import yaml

from .export_support import argo_issues, data_pipeline


async def test_export_writes_the_files_next_to_the_pipeline(api, jp_root_dir):
    data_pipeline(jp_root_dir / "p")
    body = {"pipeline_path": "p/pipeline.orchest", "target": "argo", "volume": "pipelines"}
    code, reply = await api("POST", "pipelines/export", body={**body, "namespace": "ml"})
    assert code == 200, reply
    assert reply == {
        "target": "argo",
        "files": [
            "p/export/argo/export-data.workflow.yaml",
            "p/export/argo/export-data.workflow-template.yaml",
        ],
    }
    workflow = yaml.safe_load((jp_root_dir / reply["files"][0]).read_text())
    assert argo_issues(workflow) == []
    assert workflow["metadata"]["namespace"] == "ml"
    code, reply = await api(
        "POST", "pipelines/export", body={**body, "target": "airflow", "volume": "/data"}
    )
    assert code == 200 and reply["files"] == ["p/export/airflow/export_data.py"]
    assert "'source': '/data'" in (jp_root_dir / reply["files"][0]).read_text()


async def test_what_a_target_cannot_do_is_a_400_naming_the_field(api, jp_root_dir):
    data_pipeline(jp_root_dir / "p")
    body = {"pipeline_path": "p/pipeline.orchest", "target": "kfp", "volume": "c"}
    code, reply = await api("POST", "pipelines/export", body={**body, "schedule": "@daily"})
    assert code == 400 and reply["message"].startswith("schedule: A Kubeflow Pipelines package")
    code, reply = await api(
        "POST", "pipelines/export", body={**body, "target": "argo", "volume": None}
    )
    assert code == 400 and "volume" in reply["message"]
    code, reply = await api("POST", "pipelines/export", body={**body, "target": "spark"})
    assert code == 400 and "target" in reply["message"]
    assert not (jp_root_dir / "p" / "export").exists()


async def test_an_invalid_pipeline_is_a_422_with_its_issues(api, jp_root_dir):
    pipeline_file, _ = data_pipeline(jp_root_dir / "p")
    data = json.loads(pipeline_file.read_text())
    next(iter(data["steps"].values()))["file_path"] = "missing.py"
    pipeline_file.write_text(json.dumps(data))
    body = {"pipeline_path": "p/pipeline.orchest", "target": "airflow"}
    code, reply = await api("POST", "pipelines/export", body=body)
    assert code == 422 and "missing.py" in reply["issues"][0]["message"]
    code, reply = await api("POST", "pipelines/export", body={**body, "pipeline_path": "../x"})
    assert code == 400 and "pipeline_path" in reply["message"]
