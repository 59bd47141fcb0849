"""Entry point inside a step container:
``python -m orchest_ext.executors.container_main --spec-file PATH``.

``PATH`` holds the ``StepSpec`` as JSON (a file, since a spec with large parameters does not
fit in one command-line argument); the step runs through ``LocalExecutor``, so its log and
executed notebook are written exactly as on the host. Exits 0 on SUCCESS, 1 otherwise, after
writing the result to ``<step_dir>/container-result.json`` for the host.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import traceback
from pathlib import Path

from .base import StepSpec, spec_from_json
from .local import LocalExecutor
from .results import write_result


async def run_step(spec: StepSpec) -> tuple[str, str | None]:
    """Run the step with ``LocalExecutor``; SIGTERM cancels it so its kernel is shut down."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        result = await LocalExecutor().run(spec)
    except asyncio.CancelledError:
        return "FAILURE", "the step's container was stopped"
    return result.status, result.message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchest_ext.executors.container_main")
    parser.add_argument("--spec-file", required=True, type=Path, help="the StepSpec as JSON")
    args = parser.parse_args(argv)
    spec = spec_from_json(args.spec_file.read_text(encoding="utf-8"))
    try:
        status, message = asyncio.run(run_step(spec))
    except Exception as err:
        traceback.print_exc()
        status, message = "FAILURE", f"{type(err).__name__}: {err}"
    write_result(spec.step_dir, status, message)
    return 0 if status == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main())
