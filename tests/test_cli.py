"""`jupyter orchest ...` as a user runs it: a real subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from .helpers import make_pipeline

EXAMPLE = Path(__file__).parent.parent / "examples" / "quickstart"


def orchest(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchest_ext.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )


def test_run_example_shows_progress_and_outputs(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "quickstart")
    result = orchest("run", str(tmp_path / "quickstart" / "quickstart.orchest"))
    assert result.returncode == 0, result.stderr
    assert "Report: STARTED" in result.stdout and "Report: SUCCESS" in result.stdout
    assert "\nRun " in result.stdout and ": SUCCESS\nRun directory:" in result.stdout
    run_dir = next((tmp_path / "quickstart" / ".orchest" / "runs").iterdir())
    assert f"Run directory: {run_dir}" in result.stdout
    assert "report.ipynb" in result.stdout and "step.log" in result.stdout


def test_run_selected_steps_by_title_with_env(tmp_path):
    pipeline, _ = make_pipeline(
        tmp_path / "p",
        {
            "First": ("first.sh", "echo first\n", []),
            "Greet": ("greet.sh", 'echo "hello $WHO"\n', ["First"]),
        },
    )
    result = orchest("run", str(pipeline), "--steps", "Greet", "--env", "WHO=world")
    assert result.returncode == 0, result.stderr
    assert "First" not in result.stdout
    log = next((tmp_path / "p" / ".orchest" / "runs").glob("*/steps/*/step.log"))
    assert log.read_text() == "hello world\n"


def test_failed_run_exits_non_zero(tmp_path):
    pipeline, _ = make_pipeline(tmp_path / "p", {"Broken": ("broken.sh", "exit 4\n", [])})
    result = orchest("run", str(pipeline))
    assert result.returncode == 1
    assert "Broken: FAILURE (exited with code 4" in result.stdout


def test_validate_prints_issues(tmp_path):
    pipeline, uuids = make_pipeline(tmp_path / "p", {"A": ("a.sh", "echo a\n", [])})
    assert orchest("validate", str(pipeline)).returncode == 0
    description = json.loads(pipeline.read_text())
    description["steps"][uuids["A"]]["file_path"] = "missing.sh"
    pipeline.write_text(json.dumps(description))
    result = orchest("validate", str(pipeline))
    assert result.returncode == 1
    assert '"A"' in result.stdout and "missing.sh" in result.stdout
    result = orchest("run", str(pipeline))
    assert result.returncode == 2 and "missing.sh" in result.stderr


def test_unknown_step_is_a_clear_error(tmp_path):
    pipeline, _ = make_pipeline(tmp_path / "p", {"A": ("a.sh", "echo a\n", [])})
    result = orchest("run", str(pipeline), "--steps", "Nope")
    assert result.returncode == 2 and "Nope" in result.stderr


def test_help_all_lists_every_setting():
    result = orchest("--help-all")
    assert result.returncode == 0
    for setting in (
        "--OrchestApp.max_parallel",
        "--LocalExecutor.python_interpreter",
        "--DockerExecutor.memory_limit",
        "--PipelineSessionManager.readiness_timeout",
    ):
        assert setting in result.stdout


def test_notebooks_without_cell_ids_run_without_nbformat_warnings(tmp_path):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "source": "print('ran')"}
    old = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    pipeline, _ = make_pipeline(tmp_path / "p", {"Old": ("old.ipynb", json.dumps(old), [])})
    result = orchest("run", str(pipeline))
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stdout + result.stderr
    log = next((tmp_path / "p" / ".orchest" / "runs").glob("*/steps/*/step.log"))
    assert log.read_text() == "ran\n"
