"""Helpers of the export tests: pipelines that pass data and fail, Argo manifest checks, and
the Airflow virtualenv (``.ci/setup-airflow.sh``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .helpers import make_pipeline, notebook

ROOT = Path(__file__).resolve().parent.parent
SETUP_AIRFLOW = ROOT / ".ci" / "setup-airflow.sh"
ARGO_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
"""What Argo accepts as a template or DAG task name (a DNS-1123 label)."""

LOAD = """\
import orchest
count = orchest.get_step_param("count")
scale = orchest.get_pipeline_param("scale")
orchest.output([i * scale for i in range(count)], name="numbers")
print("loaded", count, "numbers")
"""
DOUBLE = notebook(
    "import orchest",
    "numbers = orchest.get_inputs()['numbers']",
    "orchest.output([2 * n for n in numbers], name='doubled')",
)
REPORT = notebook(
    "import json, orchest",
    "inputs = orchest.get_inputs()\n"
    "label = orchest.get_step_param('label')\n"
    "report = {'label': label, 'numbers': inputs['numbers'], 'doubled': inputs['doubled'],\n"
    "          'run': orchest.get_run_uuid()}\n"
    "open('report.json', 'w').write(json.dumps(report))\n"
    "print('report', report)",
)


def set_fields(pipeline_file: Path, uuids: dict[str, str], **by_title: dict[str, Any]) -> None:
    """Set step fields (``Title={"parameters": ...}``) and ``pipeline=`` fields in the file."""
    data = json.loads(pipeline_file.read_text())
    data.update(by_title.pop("pipeline", {}))
    for title, fields in by_title.items():
        data["steps"][uuids[title]].update(fields)
    pipeline_file.write_text(json.dumps(data, indent=2))


def data_pipeline(directory: Path) -> tuple[Path, dict[str, str]]:
    """Load (script) -> Double (notebook) -> Report (notebook, also reads Load): step and
    pipeline parameters, data passing with the orchest SDK; Report writes report.json."""
    pipeline_file, uuids = make_pipeline(
        directory,
        {
            "Load": ("load.py", LOAD, []),
            "Double": ("double.ipynb", DOUBLE, ["Load"]),
            "Report": ("report.ipynb", REPORT, ["Load", "Double"]),
        },
        name="Export data",
    )
    set_fields(
        pipeline_file,
        uuids,
        pipeline={"parameters": {"scale": 2}},
        Load={"parameters": {"count": 3}, "retries": 1, "retry_delay": 1},
        Report={"parameters": {"label": "first"}},
    )
    return pipeline_file, uuids


def branching_pipeline(directory: Path) -> tuple[Path, dict[str, str]]:
    """Fan-out and join: Start -> (Left, Fails) -> Join; Fails exits 1 and retries twice."""
    pipeline_file, uuids = make_pipeline(
        directory,
        {
            "Start": ("start.py", "print('start')\n", []),
            "Left": ("left.py", "print('left')\n", ["Start"]),
            "Fails": ("fails.py", "raise SystemExit(1)\n", ["Start"]),
            "Join": ("join.py", "print('join')\n", ["Left", "Fails"]),
        },
        name="Branching",
    )
    set_fields(pipeline_file, uuids, Fails={"retries": 2, "retry_delay": 5})
    return pipeline_file, uuids


def argo_issues(document: dict[str, Any]) -> list[str]:
    """Why an Argo manifest is invalid ([] when valid): against Argo's models (hera's, which
    are generated from Argo's schema; an unknown or mistyped field is an issue), then the
    references Argo's controller checks (entrypoint, DAG tasks, parameters)."""
    from hera.workflows import models
    from pydantic import ValidationError

    kind = document.get("kind")
    model = {
        "Workflow": models.Workflow,
        "WorkflowTemplate": models.WorkflowTemplate,
        "CronWorkflow": models.CronWorkflow,
    }.get(kind)
    if model is None:
        return [f"unknown kind {kind!r}"]
    try:
        parsed = model.model_validate(document)
    except ValidationError as err:
        return [str(err)]
    if parsed.model_dump(by_alias=True, exclude_none=True, mode="json") != document:
        return ["fields Argo does not know (dropped by its model)"]
    spec = document["spec"]["workflowSpec"] if kind == "CronWorkflow" else document["spec"]
    return _reference_issues(spec)


def _reference_issues(spec: dict[str, Any]) -> list[str]:
    templates = {template["name"]: template for template in spec["templates"]}
    arguments = {p["name"] for p in spec.get("arguments", {}).get("parameters", [])}
    issues = [f"template name {name!r}" for name in templates if not ARGO_NAME.fullmatch(name)]
    if spec["entrypoint"] not in templates:
        issues.append(f"entrypoint {spec['entrypoint']!r} is no template")
    for template in templates.values():
        tasks = {task["name"] for task in template.get("dag", {}).get("tasks", [])}
        for task in template.get("dag", {}).get("tasks", []):
            if task["template"] not in templates:
                issues.append(f"task {task['name']} names no template")
            issues += [
                f"{task['name']} waits for unknown {d}"
                for d in task.get("dependencies", [])
                if d not in tasks
            ]
        text = json.dumps(template.get("container", {}))
        for name in re.findall(r"\{\{workflow\.parameters\.([^}]+)\}\}", text):
            if name not in arguments:
                issues.append(f"template {template['name']} uses undeclared parameter {name}")
    return issues


def dag_of(spec: dict[str, Any]) -> dict[str, list[str]]:
    """Task name -> the tasks it depends on, from the entrypoint's DAG."""
    entry = next(t for t in spec["templates"] if t["name"] == spec["entrypoint"])
    return {task["name"]: task.get("dependencies", []) for task in entry["dag"]["tasks"]}


def airflow_venv() -> Path:
    """The Airflow virtualenv (made once by ``.ci/setup-airflow.sh``, then cached); the test
    skips (fails in CI) when it cannot be made."""
    proc = subprocess.run(
        ["bash", str(SETUP_AIRFLOW)], capture_output=True, text=True, timeout=900, check=False
    )
    if proc.returncode:
        reason = f"cannot make the Airflow virtualenv: {proc.stderr.strip()[-800:]}"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return Path(proc.stdout.strip().splitlines()[-1])
