"""Test helpers: small pipelines of real files, waiting for runs."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from orchest_ext.executors.base import StepSpec
from orchest_ext.pipeline import STEP_KINDS

TERMINAL = {"SUCCESS", "FAILURE", "ABORTED"}


def notebook(*sources: str, tags: dict[int, list[str]] | None = None) -> str:
    """Notebook JSON with one code cell per source (cells indexed in ``tags`` get those tags)."""
    cells = [new_code_cell(source) for source in sources]
    for index, cell_tags in (tags or {}).items():
        cells[index].metadata["tags"] = cell_tags
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nbformat.writes(nb)


def make_pipeline(
    directory: Path,
    steps: dict[str, tuple[str, str, list[str]]],
    name: str = "test-pipeline",
    file_name: str = "pipeline.orchest",
) -> tuple[Path, dict[str, str]]:
    """Write ``steps`` (title -> (file name, content, parent titles)) and a pipeline file.

    Returns the pipeline file and a map from title to step uuid."""
    directory.mkdir(parents=True, exist_ok=True)
    uuids = {title: str(uuidlib.uuid4()) for title in steps}
    description = {
        "name": name,
        "uuid": str(uuidlib.uuid4()),
        "version": "1.0",
        "settings": {},
        "parameters": {},
        "steps": {},
    }
    for title, (file_name_, content, parents) in steps.items():
        path = directory / file_name_
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        description["steps"][uuids[title]] = {
            "uuid": uuids[title],
            "title": title,
            "file_path": file_name_,
            "incoming_connections": [uuids[p] for p in parents],
            "kernel": {"name": "python", "display_name": "Python 3"},
            "environment": "",
            "parameters": {},
            "meta_data": {"position": [0, 0], "hidden": False},
        }
    pipeline_file = directory / file_name
    pipeline_file.write_text(json.dumps(description, indent=2))
    return pipeline_file, uuids


async def until(
    condition: Callable[[], Any], what: str = "the condition", timeout: float = 120.0
) -> Any:
    """Poll ``condition`` (a function or a coroutine function) until it returns something
    truthy, and return that; fail naming ``what`` once ``timeout`` seconds have passed (a
    deadline for a state that must come, generous on a loaded machine, not a timing claim)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, f"still waiting for {what} after {timeout:g} s"
        await asyncio.sleep(0.02)


async def wait_for_run(api, run_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll GET runs/{id} until the run is in a terminal state."""
    deadline = time.monotonic() + timeout
    while True:
        code, run = await api("GET", "runs", run_id)
        assert code == 200, run
        if run["status"] in TERMINAL:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {run['status']} after {timeout} s: {run}")
        await asyncio.sleep(0.05)


def steps_by_title(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["title"]: step for step in run["steps"]}


def _step_containers_left(run: dict[str, Any]) -> list[Any]:
    from .docker_support import project_containers, project_services

    label = f"orchest_ext.run_id={run['id']}"
    return [c["Names"] for c in project_containers(label)] + project_services(label)


async def assert_no_step_containers(run: dict[str, Any], timeout: float = 30) -> None:
    """No step container (nor, on swarm, service) of ``run`` is left (docker and swarm),
    once what is removed in the background (finished steps' containers, containers made
    ahead) is gone."""
    if run.get("backend") not in ("docker", "swarm"):
        return
    deadline = time.monotonic() + timeout
    while left := await asyncio.to_thread(_step_containers_left, run):
        assert time.monotonic() < deadline, f"containers or services left behind: {left}"
        await asyncio.sleep(0.1)


def step_spec(
    tmp_path: Path,
    filename: str,
    content: str | nbformat.NotebookNode,
    run_id: str = "run-1",
    run_dir: Path | None = None,
    **kw: Any,
) -> StepSpec:
    """A StepSpec for ``steps/<filename>`` in a pipeline dir, as the runner lays it out (the run
    dir defaults to ``<pipeline>/.orchest/runs/<run_id>``); step uuid ``step-1``."""
    pipeline_dir = tmp_path / "pipeline"
    source = pipeline_dir / "steps" / filename
    source.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        source.write_text(content)
    else:
        nbformat.write(content, source)
    run_dir = run_dir or pipeline_dir / ".orchest" / "runs" / run_id
    step_dir = run_dir / "steps" / "step-1"
    return StepSpec(
        run_id=run_id,
        step_uuid="step-1",
        pipeline_uuid="pipeline-1",
        title=filename,
        file_path=f"steps/{filename}",
        kind=STEP_KINDS[source.suffix.lower()],
        pipeline_dir=pipeline_dir,
        pipeline_path=None,
        step_dir=step_dir,
        log_path=step_dir / "step.log",
        output_notebook_path=step_dir / filename,
        env={
            "USER_VAR": "from-user",
            "ORCHEST_STEP_UUID": "step-1",
            "ORCHEST_RUN_DIR": str(run_dir),
        },
        **kw,
    )
