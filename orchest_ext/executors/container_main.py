"""Entry point inside a step container: ``python -m orchest_ext.executors.container_main SPEC``.

``SPEC`` is a ``StepSpec`` as JSON. Notebooks run through ``LocalExecutor``; scripts run
the way ``LocalExecutor`` runs them (same interpreter choice, log file and messages) but
without importing asyncio, traitlets or nbclient, because a Python start-up is paid per
step container. Exits 0 on SUCCESS, 1 otherwise, after writing the result to
``<step_dir>/container-result.json`` for the host.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import StepSpec

RESULT_FILE = "container-result.json"
SCRIPT_KINDS = frozenset({"python", "shell", "r"})
_TAIL_BYTES = 2048
_TAIL_LINES = 10


def spec_to_json(spec: StepSpec) -> str:
    """Serialize a ``StepSpec`` (paths become strings)."""
    import dataclasses

    return json.dumps(dataclasses.asdict(spec), default=str)


def spec_from_dict(data: dict[str, Any]) -> StepSpec:
    """Rebuild a ``StepSpec`` from its JSON form, ignoring unknown fields."""
    import dataclasses
    from pathlib import Path

    from .base import StepSpec

    fields = {f.name: str(f.type) for f in dataclasses.fields(StepSpec)}
    return StepSpec(
        **{
            key: Path(value) if "Path" in fields[key] and value is not None else value
            for key, value in data.items()
            if key in fields
        }
    )


def result_file(step_dir: str | os.PathLike[str]) -> str:
    return os.path.join(step_dir, RESULT_FILE)


def write_result(step_dir: str, status: str, message: str | None) -> None:
    """Write the step's result atomically where the host looks for it."""
    path = result_file(step_dir)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump({"status": status, "message": message}, f)
    os.replace(path + ".tmp", path)


def read_result(step_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``{"status", "message"}`` a step container wrote, if any."""
    try:
        with open(result_file(step_dir), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "status" in data else None


def exit_message(code: int) -> str:
    if code >= 0:
        return f"exited with code {code}"
    try:
        return f"killed by signal {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def log_tail(path: str) -> str:
    """The last lines of a log file."""
    try:
        with open(path, "rb") as f:
            start = max(0, f.seek(0, os.SEEK_END) - _TAIL_BYTES)
            f.seek(start)
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[1 if start else 0 :][-_TAIL_LINES:])


def script_argv(kind: str, path: str) -> list[str]:
    """The command ``LocalExecutor`` would run a script step with; ``ValueError`` if none."""
    if kind == "python":
        return [sys.executable, path]
    if kind == "shell":
        return ["bash", path]
    import shutil

    rscript = shutil.which("Rscript")
    if rscript is None:
        raise ValueError("Rscript is not installed; install R to run .R steps")
    return [rscript, path]


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def run_script(data: dict[str, Any]) -> tuple[str, str | None]:
    """Run a script step as a child process logging to the step log; SIGTERM is forwarded."""
    source = os.path.join(data["pipeline_dir"], data["file_path"])
    if not os.path.isfile(source):
        return "FAILURE", f"Step file not found: {data['file_path']}"
    try:
        argv = script_argv(data["kind"], source)
    except ValueError as err:
        return "FAILURE", str(err)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **data.get("env", {})}
    with open(data["log_path"], "ab") as log:
        proc = subprocess.Popen(
            argv,
            cwd=os.path.dirname(source),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    signal.signal(signal.SIGTERM, lambda *_: _signal_group(proc.pid, signal.SIGTERM))
    code = proc.wait()
    if code == 0:
        return "SUCCESS", None
    tail = log_tail(data["log_path"])
    return "FAILURE", exit_message(code) + (f"; last output:\n{tail}" if tail else "")


def run_with_local_executor(data: dict[str, Any]) -> tuple[str, str | None]:
    """Run the step through ``LocalExecutor``; SIGTERM cancels it so its kernel is shut down."""
    import asyncio

    from .local import LocalExecutor

    async def run() -> tuple[str, str | None]:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            result = await LocalExecutor().run(spec_from_dict(data))
        except asyncio.CancelledError:
            return "FAILURE", "the step's container was stopped"
        return result.status, result.message

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m orchest_ext.executors.container_main SPEC_JSON", file=sys.stderr)
        return 2
    data = json.loads(args[0])
    try:
        if data["kind"] in SCRIPT_KINDS:
            status, message = run_script(data)
        else:
            status, message = run_with_local_executor(data)
    except Exception as err:
        import traceback

        traceback.print_exc()
        status, message = "FAILURE", f"{type(err).__name__}: {err}"
    write_result(data["step_dir"], status, message)
    return 0 if status == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main())
