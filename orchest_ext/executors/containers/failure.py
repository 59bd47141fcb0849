"""How a step's container ended, in words: its exit (code or signal), the engine stopping
under it, running out of memory, what the step reported, its last output; or the engine
refusing or losing it."""

from __future__ import annotations

import asyncio
import signal

from aiodocker.containers import DockerContainer

from ...infra.docker_engine import (
    ENGINE_ERRORS,
    ENGINE_STOP_EXITS,
    ENGINE_STOP_GRACE,
    DockerEngine,
    engine_error_reason,
)
from ..base import StepResult, StepSpec
from ..results import log_tail
from .spec import SCRIPT_INTERPRETERS, stored_result


def exit_message(code: int) -> str:
    """How a step container ended, in ``LocalExecutor``'s words (its init reports 128+signal)."""
    if code > 128:
        try:
            return f"killed by signal {signal.Signals(code - 128).name}"
        except ValueError:
            pass
    return f"exited with code {code}"


def engine_stopped_message(how: str, code: int) -> str:
    """The failure of a step whose container the engine stopped as it shut down."""
    return (
        "the Docker engine stopped (restarted or shut down) while the step ran and stopped its "
        f"container ({how}, exit code {code})"
    )


async def container_failure(
    engine: DockerEngine,
    container: DockerContainer,
    spec: StepSpec,
    code: int,
    memory_limit: str | None,
) -> str:
    """Why the step's container exited with ``code``: what ``container_main`` reported, else
    the exit and the last output (``memory_limit``: the one it ran out of, if it did)."""
    try:
        out_of_memory = (await container.show())["State"].get("OOMKilled")
    except ENGINE_ERRORS:
        out_of_memory = False
    if (
        not out_of_memory
        and code in ENGINE_STOP_EXITS
        and await engine.stops_answering(ENGINE_STOP_GRACE)
    ):
        return engine_stopped_message(exit_message(code), code)
    result = await asyncio.to_thread(stored_result, spec)
    reported = result.message if result is not None and result.message else None
    if out_of_memory:
        return (
            f"the step ran out of memory (memory_limit={memory_limit}) and was killed "
            f"(OOMKilled, {exit_message(code)}, exit code {code})"
            + (f": {reported}" if reported else "")
        )
    if reported:
        return reported
    if spec.kind in SCRIPT_INTERPRETERS:
        output = await asyncio.to_thread(log_tail, spec.log_path)
    else:
        output = "".join(await container.log(stdout=True, stderr=True, tail=10)).strip()
    return exit_message(code) + (f"; last output:\n{output}" if output else "")


def engine_failure(name: str, started: bool, engine: str, err: BaseException) -> StepResult:
    """A step that failed because the engine (at ``engine``) refused or lost its container."""
    reason = engine_error_reason(err)
    if started:
        return StepResult(
            "FAILURE",
            f"Lost the Docker engine ({engine}) while step container {name} ran: {reason}",
        )
    return StepResult(
        "FAILURE", f"Docker could not start step container {name} ({engine}): {reason}"
    )
