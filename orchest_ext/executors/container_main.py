"""Entry point inside a step container: ``python -m orchest_ext.executors.container_main SPEC``.

``SPEC`` is a ``StepSpec`` as JSON; the step runs through ``LocalExecutor``, so its log and
executed notebook are written exactly as on the host. Exits 0 on SUCCESS, 1 otherwise,
after writing the result to ``<step_dir>/container-result.json`` for the host. The result
helpers here are also used by the host, so module-level imports stay light.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import StepSpec

RESULT_FILE = "container-result.json"
_TAIL_BYTES = 2048
_TAIL_LINES = 10


def spec_to_json(spec: StepSpec) -> str:
    """Serialize a ``StepSpec`` (paths become strings)."""
    import dataclasses

    return json.dumps(dataclasses.asdict(spec), default=str)


def spec_from_json(text: str) -> StepSpec:
    """Rebuild a ``StepSpec`` from ``spec_to_json`` output, ignoring unknown fields."""
    import dataclasses
    from pathlib import Path

    from .base import StepSpec

    fields = {f.name: str(f.type) for f in dataclasses.fields(StepSpec)}
    return StepSpec(
        **{
            key: Path(value) if "Path" in fields[key] and value is not None else value
            for key, value in json.loads(text).items()
            if key in fields
        }
    )


def result_file(step_dir: str | os.PathLike[str]) -> str:
    return os.path.join(step_dir, RESULT_FILE)


def write_result(step_dir: str | os.PathLike[str], status: str, message: str | None) -> None:
    """Write a step's result atomically into its step directory."""
    path = result_file(step_dir)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump({"status": status, "message": message}, f)
    os.replace(path + ".tmp", path)


def read_result(step_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``{"status", "message"}`` written by ``write_result``, if any."""
    try:
        with open(result_file(step_dir), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "status" in data else None


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


async def run_step(spec: StepSpec) -> tuple[str, str | None]:
    """Run the step with ``LocalExecutor``; SIGTERM cancels it so its kernel is shut down."""
    import asyncio
    import signal

    from .local import LocalExecutor

    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        result = await LocalExecutor().run(spec)
    except asyncio.CancelledError:
        return "FAILURE", "the step's container was stopped"
    return result.status, result.message


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m orchest_ext.executors.container_main SPEC_JSON", file=sys.stderr)
        return 2
    import asyncio

    spec = spec_from_json(args[0])
    try:
        status, message = asyncio.run(run_step(spec))
    except Exception as err:
        import traceback

        traceback.print_exc()
        status, message = "FAILURE", f"{type(err).__name__}: {err}"
    write_result(spec.step_dir, status, message)
    return 0 if status == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main())
