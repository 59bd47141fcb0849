"""StepSpec building: where a step's files go, its parameters and its environment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..executors.base import StepSpec
from ..executors.results import PARAMETERS_FILE, PARAMETERS_FILE_VARIABLE
from ..pipeline import Pipeline, short_list
from .secrets import SecretStore, is_secret_ref
from .state import RunState, StepState

RUNS_SUBDIR = Path(".orchest") / "runs"
PIPELINE_PARAMETERS = "pipeline_parameters"
PARAMETERS_ENV_LIMIT = 32 * 1024
"""Parameters whose JSON is longer than this reach the step only through the parameters
file (``PARAMETERS_FILE_VARIABLE``, written by the executor): Linux refuses a process an
environment string over 128 KiB."""


class RunRequestError(ValueError):
    """A run request that cannot be honoured as asked (maps to a 4xx)."""


@dataclass(frozen=True)
class StepFiles:
    """Where a step's log and executed notebook live inside its run directory."""

    step_dir: Path
    log_path: Path
    notebook_path: Path


def step_files(run_dir: Path | str, step_uuid: str, file_path: str) -> StepFiles:
    step_dir = Path(run_dir) / "steps" / step_uuid
    return StepFiles(step_dir, step_dir / "step.log", step_dir / Path(file_path).name)


def attempt_log_path(log_path: Path, attempt: int) -> Path:
    """Where the log of an earlier attempt of a step is kept: ``step.attempt-<n>.log``."""
    return log_path.with_name(f"{log_path.stem}.attempt-{attempt}{log_path.suffix}")


def keep_attempt_log(log_path: Path, attempt: int) -> None:
    """Move a failed attempt's log aside, so the next attempt starts its own (blocking)."""
    if log_path.exists():
        log_path.replace(attempt_log_path(log_path, attempt))


def check_env(env: dict[str, str]) -> None:
    """Refuse user environment variables that the runner sets itself (``ORCHEST_*``)."""
    reserved = [key for key in env if key.startswith("ORCHEST_")]
    if reserved:
        raise RunRequestError(
            f"env keys starting with ORCHEST_ are reserved for the runner: {', '.join(reserved)}."
        )


def run_dir(pipeline: Pipeline, run_id: str) -> Path:
    return pipeline.directory / RUNS_SUBDIR / run_id


def resolve_parameter_overrides(
    pipeline: Pipeline, overrides: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Orchest's run parameters: ``pipeline_parameters`` and step uuids (or unique titles)
    mapped to parameter objects; returned keyed by step uuid."""
    by_title: dict[str, list[str]] = {}
    for uuid, step in pipeline.steps.items():
        by_title.setdefault(step.title, []).append(uuid)
    resolved: dict[str, dict[str, Any]] = {}
    unknown = []
    for key, values in overrides.items():
        if not isinstance(values, dict):
            raise RunRequestError(f"parameters[{key!r}] must be an object of parameter values.")
        if key == PIPELINE_PARAMETERS or key in pipeline.steps:
            resolved[key] = values
        elif len(by_title.get(key, [])) == 1:
            resolved[by_title[key][0]] = values
        else:
            unknown.append(key)
    if unknown:
        raise RunRequestError(
            f"parameters name no step of the pipeline: {short_list(unknown)}; "
            f"use step uuids, unique step titles or {PIPELINE_PARAMETERS!r}."
        )
    return resolved


def step_parameters(run: RunState, uuid: str) -> dict[str, Any]:
    """A step's parameters with the run's overrides applied."""
    return {**run.pipeline.steps[uuid].parameters, **run.parameters.get(uuid, {})}


def pipeline_parameters(run: RunState) -> dict[str, Any]:
    """The pipeline's parameters with the run's overrides applied."""
    return {**run.pipeline.parameters, **run.parameters.get(PIPELINE_PARAMETERS, {})}


def user_env(run: RunState, uuid: str) -> dict[str, str]:
    """A step's user environment: the pipeline's, the step's, then the run's variables (secret
    references resolved; blocking when the secret store is a file)."""
    secrets = run.secrets or SecretStore()
    env = secrets.resolve_env(run.env)
    return {**run.pipeline.env_variables, **run.pipeline.steps[uuid].env_variables, **env}


def build_spec(run: RunState, step: StepState) -> StepSpec:
    """Everything an executor needs to run ``step`` of ``run``."""
    pipeline = run.pipeline
    model = pipeline.steps[step.uuid]
    files = step_files(run.run_dir, step.uuid, model.file_path)
    step_params = step_parameters(run, step.uuid)
    pipeline_params = pipeline_parameters(run)
    parents = [
        {"uuid": parent, "in_run": parent in run.steps} for parent in model.incoming_connections
    ]
    internal = {
        "ORCHEST_RUN_UUID": run.id,
        "ORCHEST_STEP_UUID": step.uuid,
        "ORCHEST_PIPELINE_UUID": pipeline.uuid,
        "ORCHEST_PIPELINE_PATH": str(pipeline.path) if pipeline.path else "",
        "ORCHEST_PIPELINE_DIR": str(pipeline.directory),
        "ORCHEST_RUN_DIR": str(run.run_dir),
        "ORCHEST_STEP_DIR": str(files.step_dir),
        "ORCHEST_STEP_PARENTS": json.dumps(parents),
    }
    for name, values in (
        ("ORCHEST_STEP_PARAMETERS", step_params),
        ("ORCHEST_PIPELINE_PARAMETERS", pipeline_params),
    ):
        encoded = json.dumps(values)
        if len(encoded) <= PARAMETERS_ENV_LIMIT:
            internal[name] = encoded
        else:
            internal[PARAMETERS_FILE_VARIABLE] = str(files.step_dir / PARAMETERS_FILE)
    return StepSpec(
        run_id=run.id,
        step_uuid=step.uuid,
        pipeline_uuid=pipeline.uuid,
        title=step.title,
        file_path=model.file_path,
        kind=model.kind,
        pipeline_dir=pipeline.directory,
        pipeline_path=pipeline.path,
        step_dir=files.step_dir,
        log_path=files.log_path,
        output_notebook_path=files.notebook_path,
        env={**user_env(run, step.uuid), **internal},
        parameters=step_params,
        pipeline_parameters=pipeline_params,
        kernel_name=(model.kernel or {}).get("name"),
        image=model.image,
        pipeline_image=pipeline.default_image,
        environment=model.environment,
        placement_constraints=pipeline.swarm_constraints,
        write_back=run.write_back,
        masked_env=secret_names(run),
    )


def secret_names(run: RunState) -> list[str]:
    """The run's ``env`` names whose values come from the secret store (masked in output)."""
    return sorted(name for name, value in run.env.items() if is_secret_ref(value))


def make_step_dirs(run: RunState) -> None:
    """Create every step directory of ``run``, in the order the steps will run (blocking)."""
    for step in run.steps.values():
        step_files(run.run_dir, step.uuid, step.file_path).step_dir.mkdir(
            parents=True, exist_ok=True
        )
