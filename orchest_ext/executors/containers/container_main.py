"""Entry point inside a step container: ``python -m
orchest_ext.executors.containers.container_main --spec-file PATH [--release-fifo FIFO]``.

``PATH`` holds the ``StepSpec`` as JSON (a file, since a spec with large parameters does not
fit in one command-line argument); the step runs through ``LocalExecutor``, so its log and
executed notebook are written exactly as on the host. With ``--release-fifo`` the container
was started ahead of need: it starts the step's kernel at once (``LocalExecutor.start_ahead``)
and runs the step on it once the host releases it through the FIFO (see ``release``). Exits 0
on SUCCESS, 1 otherwise, after writing the result to ``<step_dir>/container-result.json`` for
the host.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
import traceback
from pathlib import Path

from ..base import StepSpec, spec_from_json, with_secrets
from ..local import LocalExecutor
from ..results import write_result
from .release import wait_for_release


class NotReleased(Exception):
    """The container cannot wait for its release: it must not run the step."""


async def released(fifo: Path) -> None:
    """Wait until the host releases the container, on a daemon thread: a container stopped
    meanwhile exits without joining it. ``NotReleased`` if the FIFO cannot be opened."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def wait() -> None:
        try:
            wait_for_release(fifo)
        except OSError as err:
            outcome = err
        else:
            outcome = None
        with contextlib.suppress(RuntimeError):  # the loop closed: the step was stopped
            loop.call_soon_threadsafe(settle, outcome)

    def settle(outcome: OSError | None) -> None:
        if not done.done():
            done.set_result(outcome)

    threading.Thread(target=wait, name="release", daemon=True).start()
    failure = await done
    if failure is not None:
        raise NotReleased(f"cannot wait on {fifo}: {failure}")


async def run_step(spec: StepSpec, release_fifo: Path | None = None) -> tuple[str, str | None]:
    """Run the step with ``LocalExecutor`` (its kernel started while waiting for release, if
    any); SIGTERM cancels it so its kernel is shut down."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    # one kernel per container: a fork template would only add a process start (measured:
    # a 10-notebook chain 8.0 s without, 9.6 s with, medians of 3 alternated, load 5-6)
    executor = LocalExecutor(fork_kernels=False)
    ahead = None
    try:
        if release_fifo is not None:
            ahead = executor.start_ahead(spec)
            try:
                await released(release_fifo)
            except BaseException:
                if ahead is not None:
                    await ahead.discard()
                raise
        result = await executor.run(spec, ahead=ahead)
    except asyncio.CancelledError:
        return "FAILURE", "the step's container was stopped"
    return result.status, result.message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchest_ext.executors.containers.container_main"
    )
    parser.add_argument("--spec-file", required=True, type=Path, help="the StepSpec as JSON")
    parser.add_argument(
        "--release-fifo", type=Path, help="start the kernel, then wait until released"
    )
    args = parser.parse_args(argv)
    spec = with_secrets(spec_from_json(args.spec_file.read_text(encoding="utf-8")), os.environ)
    try:
        status, message = asyncio.run(run_step(spec, args.release_fifo))
    except NotReleased as err:
        print(err, file=sys.stderr)
        return 125
    except Exception as err:
        traceback.print_exc()
        status, message = "FAILURE", f"{type(err).__name__}: {err}"
    write_result(spec.step_dir, status, message)
    return 0 if status == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main())
