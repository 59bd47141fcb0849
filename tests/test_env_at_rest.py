"""Env values at rest: a run's stored row and pipeline keep env names only; the values an
unfinished run needs to resume are kept apart until it ends, then deleted, so no value is
left in the database file; a run interrupted by a SIGKILLed server resumes with them (and
with its secrets, resolved again)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .docker_support import project_containers, require_image, wait_until_no_containers
from .helpers import make_pipeline
from .server import ServerProcess

VALUES = {
    "RUN_VAR": "run-value-7f3a91c2",
    "PIPE_VAR": "pipeline-value-0b6d44e8",
    "STEP_VAR": "step-value-5e2c19aa",
    "TOKEN": "secret-value-c81d3f07",
}
CHECK = "".join(f'test "${name}" = "{value}" || exit 1\n' for name, value in VALUES.items())


@pytest.fixture
def servers(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_SECRET", VALUES["TOKEN"])
    started: list[ServerProcess] = []

    def start() -> ServerProcess:
        server = ServerProcess(tmp_path / "root", tmp_path / "state").start()
        started.append(server)
        return server

    (tmp_path / "root").mkdir()
    yield start
    for server in started:
        server.stop()


def pipeline_with_env(root: Path, steps: dict, with_env: str) -> dict[str, str]:
    """A pipeline whose file sets PIPE_VAR, and STEP_VAR on step ``with_env``."""
    path, uuids = make_pipeline(root / "p", steps)
    description = json.loads(path.read_text())
    description["env_variables"] = {"PIPE_VAR": VALUES["PIPE_VAR"]}
    description["steps"][uuids[with_env]]["env_variables"] = {"STEP_VAR": VALUES["STEP_VAR"]}
    path.write_text(json.dumps(description))
    return uuids


def submit(server: ServerProcess, backend: str) -> dict:
    body = {
        "pipeline_path": "p/pipeline.orchest",
        "backend": backend,
        "env": {"RUN_VAR": VALUES["RUN_VAR"], "TOKEN": {"secret": "MY_SECRET"}},
    }
    code, run = server.request("POST", "/orchest/api/runs", body)
    assert code == 202, run
    return run


def values_in_database(state: Path) -> list[tuple[str, str]]:
    """(file, variable) for every env value found in the bytes of the store's files."""
    return [
        (path.name, name)
        for path in state.glob("orchest.db*")
        for name, value in VALUES.items()
        if value.encode() in path.read_bytes()
    ]


def test_no_env_value_is_left_in_the_database_after_a_run(servers, tmp_path):
    pipeline_with_env(tmp_path / "root", {"A": ("a.sh", CHECK, [])}, "A")
    server = servers()
    run = submit(server, "local")
    finished = server.wait_for_run(run["id"])
    assert finished["status"] == "SUCCESS", finished["steps"][0]["message"]
    assert finished["env"] == {"RUN_VAR": "***", "TOKEN": {"secret": "MY_SECRET"}}
    assert finished["pipeline"]["env_variable_names"] == ["PIPE_VAR"]
    step = next(iter(finished["pipeline"]["steps"].values()))
    assert step["env_variable_names"] == ["STEP_VAR"]
    server.stop()
    assert values_in_database(tmp_path / "state") == []


def test_a_run_interrupted_by_a_sigkill_resumes_with_its_env_values(servers, tmp_path):
    require_image()
    pipeline_with_env(
        tmp_path / "root",
        {"Slow": ("slow.sh", "sleep 6\n", []), "After": ("after.sh", CHECK, ["Slow"])},
        "After",
    )
    first = servers()
    run = submit(first, "docker")
    deadline = time.monotonic() + 60
    while not project_containers(f"orchest_ext.run_id={run['id']}"):
        assert time.monotonic() < deadline, "the first step's container never appeared"
        time.sleep(0.1)
    first.kill()

    second = servers()
    settled = second.wait_for_run(run["id"])
    assert settled["status"] == "SUCCESS", [s["message"] for s in settled["steps"]]
    wait_until_no_containers(f"orchest_ext.run_id={run['id']}")
    second.stop()
    assert values_in_database(tmp_path / "state") == []
