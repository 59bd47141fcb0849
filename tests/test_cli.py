"""`jupyter orchest ...` as a user runs it: a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from orchest_ext.cli.app import configurable_classes

from .docker_support import require_image
from .helpers import make_pipeline
from .server import ServerProcess

EXAMPLE = Path(__file__).parent.parent / "examples" / "quickstart"
JUPYTER = Path(sys.executable).parent / "jupyter"


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch) -> Path:
    """A Jupyter config dir of the test's own (the subprocesses inherit it)."""
    path = tmp_path / "jupyter-config"
    path.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """A Jupyter data dir of the test's own: `run` records runs in the store there."""
    path = tmp_path / "jupyter-data"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(path))
    return path


def orchest(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchest_ext.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
        env=os.environ.copy(),
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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_aborts_the_run_and_its_processes(tmp_path, signum):
    sleeper = 'echo $$ > "$ORCHEST_STEP_DIR/pid"\nexec sleep 300\n'
    pipeline, uuids = make_pipeline(
        tmp_path / "p",
        {"Sleeper": ("sleeper.sh", sleeper, []), "After": ("after.sh", "true\n", ["Sleeper"])},
    )
    cli = subprocess.Popen(
        [sys.executable, "-m", "orchest_ext.cli", "run", str(pipeline)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    runs = tmp_path / "p" / ".orchest" / "runs"
    deadline = time.monotonic() + 60
    while not (pid_files := list(runs.glob(f"*/steps/{uuids['Sleeper']}/pid"))) or not (
        pid_files[0].read_text().strip()
    ):
        assert cli.poll() is None and time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    step = psutil.Process(int(pid_files[0].read_text()))

    cli.send_signal(signum)
    output, _ = cli.communicate(timeout=60)

    assert cli.returncode == 128 + signum
    assert "Sleeper: ABORTED" in output and "After: ABORTED" in output
    assert not step.is_running() or step.status() == psutil.STATUS_ZOMBIE


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
        "--RunApp.failure_policy",
    ):
        assert setting in result.stdout


def test_every_option_has_a_description():
    undescribed = [
        f"{cls.__name__}.{name}"
        for cls in configurable_classes()
        for name, trait in cls.class_own_traits(config=True).items()
        if not (trait.help or "").strip()
    ]
    assert not undescribed
    result = orchest("run", "--help")
    assert result.returncode == 0
    for option in ("--steps", "--run-type", "--max-parallel", "--env", "--backend", "--inclusive"):
        assert option in result.stdout


def test_generate_config_writes_the_extension_config_file(config_dir):
    result = orchest("--generate-config", "-y")
    assert result.returncode == 0, result.stderr
    text = (config_dir / "jupyter_orchest_ext_config.py").read_text()
    for setting in (
        "c.OrchestApp.max_parallel",
        "c.DockerExecutor.memory_limit",
        "c.LocalExecutor.cell_timeout",
        "c.RunApp.failure_policy",
    ):
        assert f"# {setting} = " in text


def test_max_parallel_0_and_reserved_env_keys_are_refused(tmp_path):
    pipeline, _ = make_pipeline(tmp_path / "p", {"A": ("a.sh", "echo a\n", [])})
    result = orchest("run", str(pipeline), "--max-parallel", "0")
    assert result.returncode != 0
    assert "--max-parallel must be at least 1, got 0." in result.stderr
    result = orchest("run", str(pipeline), "--env", "ORCHEST_RUN_UUID=mine")
    assert result.returncode == 2
    assert "env keys starting with ORCHEST_ are reserved for the runner: ORCHEST_RUN_UUID" in (
        result.stderr
    )
    result = orchest("run", str(pipeline), "--env", "NO_VALUE")
    assert result.returncode != 0 and "--env expects KEY=VALUE, got 'NO_VALUE'" in result.stderr
    assert not (tmp_path / "p" / ".orchest").exists()


def test_server_config_files_apply_to_run(tmp_path, config_dir):
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\nexport VIA="$VIA wrapper"\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    (config_dir / "jupyter_server_config.py").write_text(
        f"c.LocalExecutor.python_interpreter = {str(wrapper)!r}\n"
    )
    (config_dir / "jupyter_orchest_ext_config.json").write_text(
        json.dumps({"OrchestApp": {"step_timeout": 5}})
    )
    step = "import os, time\nprint('via' + os.environ.get('VIA', ' nothing'))\ntime.sleep(60)\n"
    pipeline, _ = make_pipeline(tmp_path / "p", {"A": ("a.py", step, [])})
    result = orchest("run", str(pipeline))
    assert result.returncode == 1
    assert "A: FAILURE (timed out after 5 s" in result.stdout
    log = next((tmp_path / "p" / ".orchest" / "runs").glob("*/steps/*/step.log"))
    assert log.read_text().startswith("via wrapper\n")
    result = orchest("run", str(pipeline), "--step-timeout", "6.5")
    assert result.returncode == 1 and "A: FAILURE (timed out after 6.5 s" in result.stdout


@pytest.mark.docker
def test_docker_executor_config_applies_to_run(tmp_path, config_dir):
    require_image()
    (config_dir / "jupyter_orchest_ext_config.py").write_text(
        "c.DockerExecutor.memory_limit = '96m'\n"
    )
    script = (
        "cat /sys/fs/cgroup/memory.max 2>/dev/null"
        " || cat /sys/fs/cgroup/memory/memory.limit_in_bytes\n"
    )
    pipeline, _ = make_pipeline(tmp_path / "p", {"Limit": ("limit.sh", script, [])})
    result = orchest("run", str(pipeline), "--backend", "docker")
    assert result.returncode == 0, result.stdout + result.stderr
    log = next((tmp_path / "p" / ".orchest" / "runs").glob("*/steps/*/step.log"))
    assert log.read_text().strip() == str(96 * 1024 * 1024)
    result = orchest(
        "run", str(pipeline), "--backend", "docker", "--DockerExecutor.memory_limit=128m"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    logs = sorted((tmp_path / "p" / ".orchest" / "runs").glob("*/steps/*/step.log"))
    assert {log.read_text().strip() for log in logs} == {str(96 << 20), str(128 << 20)}


def test_jupyter_orchest_is_a_jupyter_subcommand(tmp_path):
    pipeline, _ = make_pipeline(tmp_path / "p", {"A": ("a.sh", "echo a\n", [])})
    result = subprocess.run(
        [str(JUPYTER), "orchest", "validate", str(pipeline)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and result.stdout == f"{pipeline}: OK\n", result.stderr
    result = subprocess.run(
        [str(JUPYTER), "orchest", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == orchest_version()


def orchest_version() -> str:
    from orchest_ext import __version__

    return __version__


def test_notebooks_without_cell_ids_run_without_nbformat_warnings(tmp_path):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "source": "print('ran')"}
    old = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    pipeline, _ = make_pipeline(tmp_path / "p", {"Old": ("old.ipynb", json.dumps(old), [])})
    result = orchest("run", str(pipeline))
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stdout + result.stderr
    log = next((tmp_path / "p" / ".orchest" / "runs").glob("*/steps/*/step.log"))
    assert log.read_text() == "ran\n"


HEAVY = ("networkx", "nbformat", "nbclient", "jsonschema", "jupyter_server", "jupyter_events")


def imported_heavy(*args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the CLI with ``args``; return the result and which of ``HEAVY`` it imported."""
    report = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print('HEAVY', json.dumps(sorted({m.split('.')[0] for m in"
        f" sys.modules}} & set({HEAVY!r}))), file=sys.stderr))\n"
        "from orchest_ext.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", report, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("HEAVY "), result.stderr
    return result, json.loads(last.removeprefix("HEAVY "))


def test_validate_imports_nothing_heavy(tmp_path):
    """`validate` of a pipeline without cycles loads none of the slow-to-import libraries
    (its speed is measured in bench/bench_cli.py)."""
    pipeline, _ = make_pipeline(
        tmp_path / "p",
        {"A": ("a.ipynb", "{}", []), "B": ("b.py", "", ["A"]), "C": ("c.sh", "", ["A", "B"])},
    )
    result, heavy = imported_heavy("validate", str(pipeline))
    assert result.returncode == 0 and result.stdout == f"{pipeline}: OK\n", result.stderr
    assert heavy == []


def test_a_run_without_notebooks_imports_no_notebook_machinery(tmp_path):
    pipeline, _ = make_pipeline(tmp_path / "p", {"A": ("a.sh", "echo a\n", [])})
    result, heavy = imported_heavy("run", str(pipeline))
    assert result.returncode == 0, result.stderr
    assert heavy == ["networkx"]


def test_cache_use_reruns_only_what_changed(tmp_path):
    pipeline, _ = make_pipeline(
        tmp_path / "p",
        {
            "First": ("first.sh", "echo first\n", []),
            "Second": ("second.sh", "echo second\n", ["First"]),
        },
    )
    first = orchest("run", str(pipeline), "--cache", "use")
    assert first.returncode == 0, first.stderr
    assert "First [SUCCESS] ran: no earlier key" in first.stdout
    first_id = first.stdout.split("\nRun ")[1].split(":")[0]

    (tmp_path / "p" / "second.sh").write_text("echo changed\n")
    second = orchest("run", str(pipeline), "--cache", "use")
    assert second.returncode == 0, second.stderr
    assert f"First: SUCCESS (cached: reused the result of run {first_id})" in second.stdout
    assert "First: STARTED" not in second.stdout
    assert f"First [SUCCESS] cached from run {first_id}" in second.stdout
    assert "Second [SUCCESS] ran: key changed (code)" in second.stdout
    assert orchest("run", str(pipeline), "--cache", "sometimes").returncode != 0


def run_id_of(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.split("\nRun ")[1].split(":")[0]


def test_runs_from_the_terminal_are_in_the_servers_history(tmp_path, data_dir):
    root = tmp_path / "root"
    pipeline, uuids = make_pipeline(
        root / "p",
        {
            "Show": (
                "show.py",
                "import orchest\nprint(orchest.get_step_param('x'), "
                "orchest.get_pipeline_param('seed'), orchest.get_step_param('name'))\n",
                [],
            ),
        },
    )
    server_db = data_dir / "orchest_ext" / "orchest.db"  # the server's default db_path
    server = ServerProcess(root, tmp_path / "state", db_path=server_db).start()
    try:
        result = orchest(
            "run",
            str(pipeline),
            "--param",
            "Show.x=[1, 2]",
            "--param",
            "Show.name=plain text",
            "--pipeline-param",
            'seed={"a": 1}',
        )
        assert result.returncode == 0, result.stderr
        run_id = run_id_of(result)
        log = next((root / "p" / ".orchest" / "runs" / run_id).glob("steps/*/step.log"))
        assert log.read_text() == "[1, 2] {'a': 1} plain text\n"

        code, listing = server.request("GET", "/orchest/api/runs")
        assert code == 200 and [r["id"] for r in listing["runs"]] == [run_id], listing
        code, shown = server.request("GET", f"/orchest/api/runs/{run_id}")
        assert code == 200 and shown["status"] == "SUCCESS", shown
        ran = shown["pipeline"]
        assert ran["steps"][uuids["Show"]]["parameters"] == {"x": [1, 2], "name": "plain text"}
        assert ran["parameters"] == {"seed": {"a": 1}}

        in_memory = orchest("run", str(pipeline), "--db", ":memory:")
        assert in_memory.returncode == 0, in_memory.stderr
        code, listing = server.request("GET", "/orchest/api/runs")
        assert [r["id"] for r in listing["runs"]] == [run_id]
        assert server.process is not None and server.process.poll() is None
    finally:
        server.stop()


def test_run_uses_the_servers_configured_db_path(tmp_path, config_dir):
    db = tmp_path / "elsewhere" / "runs.db"
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"OrchestApp": {"db_path": str(db)}})
    )
    pipeline, _ = make_pipeline(tmp_path / "p", {"A": ("a.sh", "echo a\n", [])})
    result = orchest("run", str(pipeline))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM runs")]
    assert ids == [run_id_of(result)]


def test_bad_parameter_options_say_what_they_expect(tmp_path):
    pipeline, _ = make_pipeline(tmp_path / "p", {"A": ("a.sh", "echo a\n", [])})
    result = orchest("run", str(pipeline), "--param", "nodot=1")
    assert result.returncode != 0
    assert "--param expects STEP.NAME=JSON, got 'nodot=1'" in result.stderr
    result = orchest("run", str(pipeline), "--pipeline-param", "=1")
    assert result.returncode != 0 and "--pipeline-param expects NAME=JSON" in result.stderr
    result = orchest("run", str(pipeline), "--param", "Ghost.x=1")
    assert result.returncode == 2
    assert "Cannot run: parameters name no step of the pipeline: 'Ghost'" in result.stderr
