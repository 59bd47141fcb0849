"""Files in a step's directory that the host and a step container both read or write: the
step's result, its spec, its parameters, and the tail of its log. Standard library only."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

RESULT_FILE = "container-result.json"
SPEC_FILE = "spec.json"
PARAMETERS_FILE = "parameters.json"
PARAMETERS_FILE_VARIABLE = "ORCHEST_PARAMETERS_FILE"
"""Set in a step's environment when its parameters are too long for the environment; the
step API then reads them (``{"step": ..., "pipeline": ...}``) from this file."""
_TAIL_BYTES = 2048
_TAIL_LINES = 10


def result_file(step_dir: str | os.PathLike[str]) -> str:
    return os.path.join(step_dir, RESULT_FILE)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON atomically (blocking)."""
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, default=str)
    os.replace(tmp, path)


def write_result(step_dir: str | os.PathLike[str], status: str, message: str | None) -> None:
    """Write a step's result atomically into its step directory."""
    write_json(result_file(step_dir), {"status": status, "message": message})


def read_result(step_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``{"status", "message"}`` written by ``write_result``, if any."""
    try:
        with open(result_file(step_dir), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "status" in data else None


def write_parameters(
    env: dict[str, str], parameters: dict[str, Any], pipeline_parameters: dict[str, Any]
) -> None:
    """Write the parameters file a step's environment names, if it names one (blocking)."""
    path = env.get(PARAMETERS_FILE_VARIABLE)
    if path:
        write_json(path, {"step": parameters, "pipeline": pipeline_parameters})


def log_tail(path: str | os.PathLike[str]) -> str:
    """The last lines of a step log (as ``LocalExecutor`` quotes them in failures)."""
    try:
        with open(path, "rb") as f:
            start = max(0, f.seek(0, os.SEEK_END) - _TAIL_BYTES)
            f.seek(start)
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[1 if start else 0 :][-_TAIL_LINES:])


def describe_exit(returncode: int) -> str:
    """How a process ended, from its return code as Python reports it (negative: the signal
    that killed it; the exit code is then given as a shell reports it, 128 + signal)."""
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = str(-returncode)
    return f"killed by signal {name} (exit code {128 - returncode})"
