"""The export plan, what targets refuse, the in-container entry point run on this machine, and
`jupyter orchest export` as a user runs it."""

from __future__ import annotations

import json
import uuid as uuidlib
from pathlib import Path

import pytest
import yaml

from orchest_ext.export.plan import ExportError, ExportOptions, build_plan
from orchest_ext.export.step_main import main as step_main
from orchest_ext.pipeline import load_pipeline

from .export_support import data_pipeline, set_fields
from .test_cli import orchest


def plan_of(pipeline_file: Path, **options):
    return build_plan(load_pipeline(pipeline_file), ExportOptions(**options))


def test_plan_has_the_steps_in_order_with_parents_parameters_retries(tmp_path):
    pipeline_file, uuids = data_pipeline(tmp_path)
    plan = plan_of(pipeline_file, target="argo", volume="claim", step_timeout=60, retries=3)
    steps = {step.task_id: step for step in plan.steps}
    assert [step.task_id for step in plan.steps] == ["load", "double", "report"]
    assert steps["report"].parents == ("load", "double")
    assert (steps["load"].retries, steps["load"].retry_delay) == (1, 1)
    assert (steps["double"].retries, steps["double"].timeout) == (3, 60)
    assert {p.name: p.default for p in plan.parameters} == {
        "pipeline__scale": 2,
        "load__count": 3,
        "report__label": "first",
    }
    assert plan.pipeline_file == "/orchest/pipeline/pipeline.orchest"
    command = steps["report"].command(plan, "RUN", lambda p: f"<{p.name}>")
    assert command == [
        *("python", "-m", "orchest_ext.export.step_main"),
        *("--pipeline", "/orchest/pipeline/pipeline.orchest", "--step", uuids["Report"]),
        *("--run-id", "RUN"),
        *("--param-text", "step.label=<report__label>"),
        *("--param", "pipeline.scale=<pipeline__scale>"),
    ]


def test_images_follow_the_docker_backends_rules_with_a_registry_prefix(tmp_path):
    pipeline_file, uuids = data_pipeline(tmp_path)
    set_fields(
        pipeline_file,
        uuids,
        pipeline={"settings": {"default_image": "team/pipeline:1"}},
        Load={"image": "team/load:2"},
        Double={"environment": "gpu"},
    )
    plan = plan_of(
        pipeline_file,
        target="kfp",
        volume="claim",
        registry="registry.example.com/",
        environment_images={"gpu": "team/gpu:3"},
    )
    assert [step.image for step in plan.steps] == [
        "registry.example.com/team/load:2",
        "registry.example.com/team/gpu:3",
        "registry.example.com/team/pipeline:1",
    ]


def test_docker_steps_mount_the_pipeline_directory_at_its_own_path(tmp_path):
    pipeline_file, _ = data_pipeline(tmp_path)
    plan = plan_of(pipeline_file, target="airflow")
    assert plan.volume == plan.data_path == str(tmp_path)
    assert plan.user is not None and plan.runner_mount is None


@pytest.mark.parametrize(
    ("options", "message", "field"),
    [
        ({"target": "kfp", "volume": "c", "schedule": "0 3 * * *"}, "has no schedule", "schedule"),
        (
            {"target": "kfp", "volume": "c", "step_timeout": 60},
            "cannot limit a task's run time",
            "step_timeout",
        ),
        ({"target": "kfp", "volume": "c", "namespace": "ml"}, "has no namespace", "namespace"),
        ({"target": "airflow", "namespace": "ml"}, "Airflow with Docker has none", "namespace"),
        ({"target": "argo"}, "give --volume CLAIM", "volume"),
        ({"target": "airflow", "airflow_operator": "kubernetes"}, "give --volume CLAIM", "volume"),
        (
            {"target": "argo", "volume": "c", "mount_runner": True},
            "Airflow with Docker only",
            "mount_runner",
        ),
        ({"target": "airflow", "schedule": "every day"}, "is not a cron expression", "schedule"),
        ({"target": "airflow", "step_timeout": 1e12}, "at most 31622400", "step_timeout"),
        ({"target": "airflow", "cpu_limit": 2}, "cannot limit CPUs", "cpu_limit"),
        ({"target": "argo", "volume": "c", "memory_limit": "lots"}, "not a size", "memory_limit"),
        ({"target": "argo", "volume": "c", "gpus": 0}, "at least 1", "gpus"),
        ({"target": "airflow", "retry_delay": -1}, "retry_delay must be", "retry_delay"),
        (
            {"target": "argo", "volume": "c", "data_path": "data"},
            "must be an absolute path",
            "data_path",
        ),
        ({"target": "spark"}, "Unknown target 'spark'", "target"),
    ],
)
def test_what_a_target_cannot_do_is_refused_saying_why(tmp_path, options, message, field):
    pipeline_file, _ = data_pipeline(tmp_path)
    with pytest.raises(ExportError, match=message) as refused:
        plan_of(pipeline_file, **options)
    assert refused.value.field == field


def test_a_project_environment_must_be_mapped_to_an_image(tmp_path):
    pipeline_file, uuids = data_pipeline(tmp_path)
    env_uuid = str(uuidlib.uuid4())
    environment = tmp_path / ".orchest" / "environments" / env_uuid
    environment.mkdir(parents=True)
    (environment / "properties.json").write_text(json.dumps({"name": "gpu"}))
    set_fields(pipeline_file, uuids, Double={"environment": env_uuid})
    with pytest.raises(ExportError, match=f"--environment-image {env_uuid}=IMAGE"):
        plan_of(pipeline_file, target="airflow")


def test_step_main_runs_steps_passing_data_with_overridden_parameters(tmp_path, capsys):
    """The in-container entry point, run here (the local executor is what runs in the step
    container): the run directory is shared, parameters override the pipeline's."""
    pipeline_file, uuids = data_pipeline(tmp_path)
    common = ["--pipeline", str(pipeline_file), "--run-id", "run-1"]
    assert step_main([*common, "--step", uuids["Load"], "--param", "step.count=4"]) == 0
    assert "loaded 4 numbers" in capsys.readouterr().out
    assert step_main([*common, "--step", uuids["Double"]]) == 0
    report = [*common, "--step", uuids["Report"], "--param-text", "step.label=42"]
    assert step_main([*report, "--param", "pipeline.scale=10"]) == 0
    result = json.loads((tmp_path / "report.json").read_text())
    assert result == {
        "label": "42",
        "numbers": [0, 2, 4, 6],
        "doubled": [0, 4, 8, 12],
        "run": "run-1",
    }
    step_dir = tmp_path / ".orchest" / "runs" / "run-1" / "steps" / uuids["Report"]
    assert (step_dir / "report.ipynb").exists() and (step_dir / "step.log").exists()


def test_a_retried_step_keeps_the_earlier_attempts_log(tmp_path, capsys):
    pipeline_file, uuids = data_pipeline(tmp_path)
    load = tmp_path / "load.py"
    original = load.read_text()
    load.write_text("print('first attempt'); raise SystemExit(1)\n")
    args = ["--pipeline", str(pipeline_file), "--run-id", "r", "--step", uuids["Load"]]
    assert step_main(args) == 1
    load.write_text(original)
    assert step_main(args) == 0
    output = capsys.readouterr().out
    assert output.index("first attempt") < output.index("loaded 3 numbers")
    step_dir = tmp_path / ".orchest" / "runs" / "r" / "steps" / uuids["Load"]
    assert "first attempt" in (step_dir / "step.attempt-1.log").read_text()
    assert "loaded 3 numbers" in (step_dir / "step.log").read_text()


def test_step_main_refuses_a_malformed_parameter(tmp_path, capsys):
    pipeline_file, uuids = data_pipeline(tmp_path)
    args = ["--pipeline", str(pipeline_file), "--run-id", "r", "--step", uuids["Load"]]
    assert step_main([*args, "--param", "step.count=four"]) == 2
    assert "step.count: 'four' is not JSON" in capsys.readouterr().err
    assert step_main([*args, "--param", "count=4"]) == 2
    assert "is not step.KEY=VALUE or pipeline.KEY=VALUE" in capsys.readouterr().err


def test_a_failing_step_exits_non_zero_naming_the_failure(tmp_path, capsys):
    pipeline_file, uuids = data_pipeline(tmp_path)
    (tmp_path / "load.py").write_text("raise SystemExit(3)\n")
    args = ["--pipeline", str(pipeline_file), "--run-id", "r", "--step", uuids["Load"]]
    assert step_main(args) == 1
    captured = capsys.readouterr()
    assert "orchest step 'Load': FAILURE" in captured.out
    assert "exited with code 3" in captured.err


def test_cli_writes_the_files_and_prints_them(tmp_path):
    pipeline_file, _ = data_pipeline(tmp_path / "p")
    out = tmp_path / "out"
    args = ["--output", str(out), "--volume", "pipelines", "--schedule", "0 3 * * *"]
    proc = orchest("export", "--to", "argo", str(pipeline_file), *args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [
        str(out / f"export-data.{kind}.yaml")
        for kind in ("workflow", "workflow-template", "cron-workflow")
    ]


def test_cli_refuses_what_the_target_cannot_do(tmp_path):
    pipeline_file, _ = data_pipeline(tmp_path)
    proc = orchest(
        "export", "--to", "kfp", str(pipeline_file), "--volume", "c", "--schedule", "@daily"
    )
    assert proc.returncode == 1
    assert "Cannot export" in proc.stderr and "has no schedule" in proc.stderr
    assert not list(tmp_path.glob("*.yaml"))
    missing = orchest("export", str(pipeline_file))
    assert missing.returncode == 2 and "--to is required" in missing.stderr


def test_cli_takes_images_from_the_docker_backends_config(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_server_config.py").write_text(
        "c.DockerExecutor.default_image = 'team/step:2'\n"
        "c.DockerExecutor.environment_images = {'gpu': 'team/gpu:1'}\n"
    )
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config))
    pipeline_file, uuids = data_pipeline(tmp_path / "p")
    set_fields(pipeline_file, uuids, Double={"environment": "gpu"})
    out = tmp_path / "out"
    args = ["--output", str(out), "--volume", "c", "--registry", "registry.example.com"]
    proc = orchest("export", "--to", "argo", str(pipeline_file), *args)
    assert proc.returncode == 0, proc.stderr
    workflow = yaml.safe_load((out / "export-data.workflow.yaml").read_text())
    images = {t["name"]: t["container"]["image"] for t in workflow["spec"]["templates"][:-1]}
    assert images == {
        "load": "registry.example.com/team/step:2",
        "double": "registry.example.com/team/gpu:1",
        "report": "registry.example.com/team/step:2",
    }
