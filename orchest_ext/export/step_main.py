"""Entry point of an exported step inside its container::

    python -m orchest_ext.export.step_main --pipeline FILE --step UUID --run-id ID \\
        [--param step.KEY=JSON] [--param-text pipeline.KEY=TEXT] ...

It builds the step's ``StepSpec`` exactly as a run here does (``runs.spec.build_spec``: the
same ``ORCHEST_*`` environment, the run directory ``<pipeline dir>/.orchest/runs/<run id>``
that every step of the engine's run shares, so the ``orchest`` SDK passes data between them),
writes the step's files as the docker backend does, and runs it through the docker backend's
in-container entry point (``container_main``): notebooks are executed with their parameters
injected. The step's log is then copied to stdout for the engine's log view. Exits 0 when the
step succeeded.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

from ..executors.base import StepSpec, spec_to_json
from ..executors.containers import container_main
from ..executors.results import SPEC_FILE, read_result, write_json, write_parameters
from ..pipeline import PipelineError, load_pipeline
from ..runs.spec import (
    PIPELINE_PARAMETERS,
    attempt_log_path,
    build_spec,
    keep_attempt_log,
    run_dir,
)
from ..runs.state import RunState, StepState

SCOPES = ("step", "pipeline")
ECHO_INTERVAL = 0.2
"""Seconds between copies of the step's new log lines to stdout."""


def parse_assignment(text: str, as_json: bool) -> tuple[str, str, Any]:
    """``scope.key=value`` -> (scope, key, value); the value decoded from JSON if ``as_json``."""
    target, sep, raw = text.partition("=")
    scope, dot, key = target.partition(".")
    if not sep or not dot or scope not in SCOPES or not key:
        raise ValueError(f"{text!r} is not step.KEY=VALUE or pipeline.KEY=VALUE")
    if not as_json:
        return scope, key, raw
    try:
        return scope, key, json.loads(raw)
    except ValueError as err:
        raise ValueError(f"{target}: {raw!r} is not JSON ({err})") from None


def overrides(step_uuid: str, params: list[str], texts: list[str]) -> dict[str, dict[str, Any]]:
    """The run's parameter overrides as ``build_spec`` takes them."""
    resolved: dict[str, dict[str, Any]] = {step_uuid: {}, PIPELINE_PARAMETERS: {}}
    assignments = [(p, True) for p in params] + [(t, False) for t in texts]
    for text, as_json in assignments:
        scope, key, value = parse_assignment(text, as_json)
        resolved[step_uuid if scope == "step" else PIPELINE_PARAMETERS][key] = value
    return resolved


def run_state(pipeline_file: Path, run_id: str, parameters: dict[str, dict[str, Any]]) -> RunState:
    """A full run of the pipeline, as the engine runs it: every step is in the run."""
    if not run_id or "/" in run_id or run_id in (".", ".."):
        raise ValueError(f"run id {run_id!r} cannot name a directory")
    pipeline = load_pipeline(pipeline_file)
    steps = {
        uuid: StepState(uuid, step.title, step.file_path, position, step.incoming_connections)
        for position, (uuid, step) in enumerate(pipeline.steps.items())
    }
    return RunState(
        id=run_id,
        pipeline=pipeline,
        run_type="full",
        uuids=[],
        inclusive=False,
        backend="export",
        failure_policy="continue",
        parameters=parameters,
        env={},
        write_back=False,
        run_dir=run_dir(pipeline, run_id),
        steps=steps,
    )


class LogEcho:
    """Copies what the step writes to its log to stdout while it runs, for the engine's log
    view (``with LogEcho(path): ...``; the last bytes are copied on exit)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._follow, name="log-echo", daemon=True)

    def __enter__(self) -> LogEcho:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    def _follow(self) -> None:
        while not self.done.wait(ECHO_INTERVAL):
            self._copy()
        self._copy()

    def _copy(self) -> None:
        try:
            with self.path.open("rb") as log:
                log.seek(self.offset)
                data = log.read()
        except FileNotFoundError:
            return
        if data:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            self.offset += len(data)


def write_step_files(spec: StepSpec) -> Path:
    """The step directory with its spec and parameters files, as the docker backend writes
    them (``prepare_step_files``; here for scripts too, which ``container_main`` runs like
    notebooks), an earlier attempt's log moved aside; return the spec file."""
    spec.step_dir.mkdir(parents=True, exist_ok=True)
    log = spec.log_path
    attempt = 1
    while attempt_log_path(log, attempt).exists():
        attempt += 1
    keep_attempt_log(log, attempt)  # the engine retries a failed step in the same directory
    path = spec.step_dir / SPEC_FILE
    write_json(path, json.loads(spec_to_json(spec)))
    write_parameters(spec.env, spec.parameters, spec.pipeline_parameters)
    return path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m orchest_ext.export.step_main")
    p.add_argument("--pipeline", required=True, type=Path, help="the pipeline file")
    p.add_argument("--step", required=True, help="the step's uuid")
    p.add_argument("--run-id", required=True, help="the engine's run id (names the run dir)")
    p.add_argument("--param", action="append", default=[], help="scope.KEY=JSON")
    p.add_argument("--param-text", action="append", default=[], help="scope.KEY=TEXT")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        parameters = overrides(args.step, args.param, args.param_text)
        run = run_state(args.pipeline, args.run_id, parameters)
        if args.step not in run.steps:
            raise ValueError(f"the pipeline has no step {args.step}")
    except (ValueError, PipelineError) as err:
        print(f"orchest step: {err}", file=sys.stderr)
        return 2
    spec = build_spec(run, run.steps[args.step])
    if not spec.source_path.is_file():
        print(f"orchest step: step file not found: {spec.source_path}", file=sys.stderr)
        return 1
    spec_path = write_step_files(spec)
    with LogEcho(spec.log_path):
        code = container_main.main(["--spec-file", str(spec_path)])
    result = read_result(spec.step_dir) or {"status": "FAILURE", "message": f"exit code {code}"}
    print(f"orchest step {spec.title!r}: {result['status']}", flush=True)
    if code != 0 and result.get("message"):
        print(result["message"], file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
