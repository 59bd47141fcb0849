"""Kubeflow Pipelines export: the compiled IR YAML loads back with the kfp SDK, and runs for
real with kfp.local's DockerRunner on the local engine (the pipeline directory bind-mounted
where the exported pipeline mounts its volume claim)."""

from __future__ import annotations

import json

import pytest
import yaml

from orchest_ext.executors.containers.spec import PACKAGE_DIR, RUNNER_MOUNT
from orchest_ext.export.plan import DEFAULT_DATA_PATH, ExportOptions
from orchest_ext.export.write import export_pipeline

from .docker_support import require_image
from .export_support import data_pipeline


def export(pipeline_file, out, **limits):
    options = ExportOptions(target="kfp", volume="pipelines", **limits)
    [path] = export_pipeline(pipeline_file, out, options)
    return path


def test_the_package_loads_back_with_its_tasks_parameters_retries_and_volume(tmp_path):
    from kfp import components

    pipeline_file, _ = data_pipeline(tmp_path / "p")
    path = export(pipeline_file, tmp_path / "out", cpu_limit=2, memory_limit="1g", gpus=1)
    component = components.load_component_from_file(str(path))
    assert component.name == "export-data"
    assert set(component.component_spec.inputs) == {
        "pipeline__scale",
        "load__count",
        "report__label",
    }
    pipeline_spec, platform_spec = yaml.safe_load_all(path.read_text())
    tasks = pipeline_spec["root"]["dag"]["tasks"]
    assert {name: sorted(task.get("dependentTasks", [])) for name, task in tasks.items()} == {
        "load": [],
        "double": ["load"],
        "report": ["double", "load"],
    }
    assert tasks["load"]["retryPolicy"]["maxRetryCount"] == 1
    assert tasks["report"]["taskInfo"]["name"] == "Report"
    resources = pipeline_spec["deploymentSpec"]["executors"]["exec-load"]["container"]["resources"]
    assert resources["resourceCpuLimit"] == "2"
    assert resources["resourceMemoryLimit"] == str(2**30)
    assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
    assert resources["accelerator"]["resourceCount"] == "1"
    executors = platform_spec["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for executor in executors.values():
        assert executor["pvcMount"][0]["mountPath"] == DEFAULT_DATA_PATH
        assert executor["pvcMount"][0]["constant"] == "pipelines"


@pytest.mark.docker
def test_kfp_local_docker_runner_runs_the_package_passing_data(tmp_path):
    require_image()
    import docker.types
    from kfp import components, local

    pipeline_file, _ = data_pipeline(tmp_path / "p")
    path = export(pipeline_file, tmp_path / "out")
    mounts = [
        docker.types.Mount(DEFAULT_DATA_PATH, str(pipeline_file.parent), type="bind"),
        # the step image may predate the export: run this checkout's entry point
        docker.types.Mount(
            f"{RUNNER_MOUNT}/orchest_ext", str(PACKAGE_DIR), type="bind", read_only=True
        ),
    ]
    runner = local.DockerRunner(mounts=mounts, environment={"PYTHONPATH": RUNNER_MOUNT})
    local.init(runner=runner, pipeline_root=str(tmp_path / "root"), raise_on_error=True)
    pipeline = components.load_component_from_file(str(path))
    pipeline(load__count=4, report__label="from kfp")
    report = json.loads((pipeline_file.parent / "report.json").read_text())
    assert report["label"] == "from kfp"
    assert (report["numbers"], report["doubled"]) == ([0, 2, 4, 6], [0, 4, 8, 12])
