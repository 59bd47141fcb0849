"""Env values of runs at rest: a run's row and stored pipeline keep env NAMES only (a value
reads as null); the values needed to resume an unfinished run after a restart live in
``run_env`` until the run ends, then they are deleted (``secure_delete`` zeroes them in the
file). Secret references ``{"secret": NAME}`` hold no value: they stay in the run's row and
are resolved from the secret store again when the run resumes."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

TERMINAL = ("SUCCESS", "FAILURE", "ABORTED")

EnvValues = dict[str, Any]
"""``{"run": {name: value}, "pipeline": {name: value}, "steps": {uuid: {name: value}}}``."""


def _names(env: dict[str, Any] | None) -> dict[str, Any]:
    """``env`` with every value but a secret reference replaced by null."""
    return {name: value if isinstance(value, dict) else None for name, value in (env or {}).items()}


def _values(env: dict[str, Any] | None) -> dict[str, str]:
    return {name: value for name, value in (env or {}).items() if isinstance(value, str)}


def split_run(run: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A run row with env names only, and the values taken out."""
    return {**run, "env": _names(run.get("env"))}, _values(run.get("env"))


def split_pipeline(pipeline: dict[str, Any]) -> tuple[dict[str, Any], EnvValues]:
    """An Orchest pipeline JSON with env names only, and the values taken out (by step)."""
    steps, step_values = {}, {}
    for uuid, step in (pipeline.get("steps") or {}).items():
        if isinstance(step, dict) and step.get("env_variables"):
            step_values[uuid] = _values(step["env_variables"])
            step = {**step, "env_variables": _names(step["env_variables"])}
        steps[uuid] = step
    stripped = {**pipeline, "steps": steps} if "steps" in pipeline else dict(pipeline)
    if pipeline.get("env_variables"):
        stripped["env_variables"] = _names(pipeline["env_variables"])
    return stripped, {"pipeline": _values(pipeline.get("env_variables")), "steps": step_values}


def split(run: dict[str, Any], pipeline_json: str) -> tuple[dict[str, Any], str, EnvValues]:
    """The run row and pipeline JSON to store, and the env values taken out of both."""
    run_row, run_values = split_run(run)
    pipeline, values = split_pipeline(json.loads(pipeline_json))
    return run_row, json.dumps(pipeline), {"run": run_values, **values}


def has_values(values: EnvValues) -> bool:
    return bool(values["run"] or values["pipeline"] or any(values["steps"].values()))


def merge(run: dict[str, Any], values: EnvValues) -> None:
    """Put the stored ``values`` back into a run read from the store (and its
    ``pipeline_json``, if read)."""
    run["env"] = {**run["env"], **values.get("run", {})}
    if run.get("pipeline_json") is None:
        return
    pipeline = json.loads(run["pipeline_json"])
    if values.get("pipeline"):
        pipeline["env_variables"] = {**pipeline.get("env_variables", {}), **values["pipeline"]}
    for uuid, step_values in values.get("steps", {}).items():
        step = pipeline.get("steps", {}).get(uuid)
        if step is not None:
            step["env_variables"] = {**step.get("env_variables", {}), **step_values}
    run["pipeline_json"] = json.dumps(pipeline)


def insert_values(db: sqlite3.Connection, run_id: str, values: EnvValues) -> None:
    if has_values(values):
        db.execute("INSERT INTO run_env (run_id, env) VALUES (?, ?)", (run_id, json.dumps(values)))


def read_values(db: sqlite3.Connection, run_id: str) -> EnvValues | None:
    row = db.execute("SELECT env FROM run_env WHERE run_id = ?", (run_id,)).fetchone()
    return None if row is None else json.loads(row[0])


def forget_if_ended(db: sqlite3.Connection, run_id: str, fields: dict[str, Any]) -> None:
    """Delete the env values of a run whose update ends it."""
    if fields.get("status") in TERMINAL:
        db.execute("DELETE FROM run_env WHERE run_id = ?", (run_id,))
