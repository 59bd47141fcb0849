"""One step on its executor: run it (or follow it after a restart) within its time limit,
and turn every way it can end into a ``StepResult``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from ..executors.base import Ahead, Executor, StepResult, StepSpec
from ..executors.masking import mask
from ..infra.disk import nearly_full
from .state import ABORTED, FAILURE

RESUME_GRACE = 1.0
"""Seconds a resumed step gets at least, to report a result it reached while no server ran."""


def time_left(started_time: str | None, step_timeout: float | None) -> float | None:
    """What is left of ``step_timeout`` for a step started at ``started_time`` (ISO 8601)."""
    if step_timeout is None or started_time is None:
        return step_timeout
    elapsed = (datetime.now(timezone.utc) - datetime.fromisoformat(started_time)).total_seconds()
    return max(step_timeout - elapsed, min(step_timeout, RESUME_GRACE))


async def execute_step(
    executor: Executor,
    spec: StepSpec,
    *,
    handle: dict[str, Any] | None,
    timeout: float | None,
    step_timeout: float | None,
    on_handle: Callable[[dict[str, Any]], None],
    log: logging.Logger,
    ahead: Ahead | None = None,
) -> StepResult:
    """Run the step (with what ``ahead`` started for it), or with ``handle`` follow the one a
    previous server started, for at most ``timeout`` seconds (what is left of
    ``step_timeout``). Cancellation gives ABORTED; a failure on a full filesystem says so.
    Secret values in the message (a failing step quotes its output) are masked."""
    result = await _execute(executor, spec, handle, timeout, step_timeout, on_handle, log, ahead)
    if result.message and spec.masked_env:
        masked = mask(result.message.encode(), spec.masked_values).decode("utf-8", "replace")
        result = replace(result, message=masked)
    if result.status == FAILURE and await asyncio.to_thread(nearly_full, spec.step_dir):
        return replace(result, message=f"no space left on {spec.step_dir}: {result.message}")
    return result


async def _execute(
    executor: Executor,
    spec: StepSpec,
    handle: dict[str, Any] | None,
    timeout: float | None,
    step_timeout: float | None,
    on_handle: Callable[[dict[str, Any]], None],
    log: logging.Logger,
    ahead: Ahead | None,
) -> StepResult:
    try:
        return await asyncio.wait_for(
            _run_or_follow(executor, spec, handle, on_handle, ahead), timeout
        )
    except asyncio.TimeoutError:
        return StepResult(FAILURE, f"timed out after {step_timeout:g} s")
    except asyncio.CancelledError:
        return StepResult(ABORTED)
    except Exception as err:
        log.exception("Step %s of run %s crashed", spec.step_uuid, spec.run_id)
        return StepResult(FAILURE, f"{type(err).__name__}: {err}")
    finally:
        if ahead is not None:
            await ahead.discard()


async def _run_or_follow(
    executor: Executor,
    spec: StepSpec,
    handle: dict[str, Any] | None,
    on_handle: Callable[[dict[str, Any]], None],
    ahead: Ahead | None,
) -> StepResult:
    if handle is not None:
        result = await executor.reattach(spec, handle)
        if result is not None:
            return result
    if ahead is not None:
        return await executor.run(spec, on_handle, ahead=ahead)
    return await executor.run(spec, on_handle)
