"""A new run from a request: its options checked, its steps selected, every step PENDING."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..pipeline import Pipeline, select_steps
from .spec import RunRequestError, check_env, resolve_parameter_overrides, run_dir
from .state import CACHE_MODES, FAILURE_POLICIES, RunState, StepState


@dataclass(frozen=True)
class RunOptions:
    """What a run request asks for, besides the pipeline (see ``RunManager.submit``)."""

    run_type: str = "full"
    uuids: tuple[str, ...] = ()
    inclusive: bool = False
    env: dict[str, str] | None = None
    parameters: dict[str, Any] | None = None
    failure_policy: str = "continue"
    write_back: bool = False
    backend: str = "local"
    retries: int | None = None
    retry_delay: float | None = None
    cache: str = "off"
    job_id: str | None = None

    def check(self, backends: Iterable[str]) -> None:
        """``RunRequestError`` naming the first option that is not valid (``backends``: the
        names of the backends there are)."""
        if self.cache not in CACHE_MODES:
            raise RunRequestError(
                f"Unknown cache {self.cache!r}; use one of {', '.join(CACHE_MODES)}."
            )
        for name, value in (("retries", self.retries), ("retry_delay", self.retry_delay)):
            if value is not None and (isinstance(value, bool) or value < 0):
                raise RunRequestError(f"{name} must be a number of at least 0, got {value!r}.")
        if self.backend not in backends:
            raise RunRequestError(
                f"Unknown backend {self.backend!r}; available: {', '.join(sorted(backends))}."
            )
        if self.failure_policy not in FAILURE_POLICIES:
            raise RunRequestError(
                f"Unknown failure_policy {self.failure_policy!r}; "
                f"use one of {', '.join(FAILURE_POLICIES)}."
            )
        check_env(self.env or {})


def new_run(pipeline: Pipeline, options: RunOptions, retries: int, retry_delay: float) -> RunState:
    """The run ``options`` ask for, every step PENDING (``RunRequestError`` if it would run
    nothing). A step's retries come from the pipeline file, else from ``options``, else from
    ``retries`` and ``retry_delay`` (the server's defaults)."""
    graph = select_steps(pipeline, options.run_type, options.uuids, options.inclusive)
    if not graph:
        hint = " (set inclusive: true to run the selection itself)"
        raise RunRequestError(
            f"The {options.run_type!r} run of the selected steps has no steps to run"
            + (hint if options.run_type == "incoming" else "")
            + "."
        )
    retries = _first(options.retries, retries)
    retry_delay = _first(options.retry_delay, retry_delay)
    run_id = str(uuidlib.uuid4())
    steps = {
        uuid: StepState(
            uuid=uuid,
            title=pipeline.steps[uuid].title,
            file_path=pipeline.steps[uuid].file_path,
            position=position,
            parents=[p for p in pipeline.steps[uuid].incoming_connections if p in graph],
            retries=_first(pipeline.steps[uuid].retries, retries),
            retry_delay=float(_first(pipeline.steps[uuid].retry_delay, retry_delay)),
        )
        for position, uuid in enumerate(graph)
    }
    return RunState(
        id=run_id,
        pipeline=pipeline,
        run_type=options.run_type,
        uuids=list(options.uuids),
        inclusive=options.inclusive,
        backend=options.backend,
        failure_policy=options.failure_policy,
        parameters=resolve_parameter_overrides(pipeline, options.parameters or {}),
        env=options.env or {},
        write_back=options.write_back,
        run_dir=run_dir(pipeline, run_id),
        steps=steps,
        cache=options.cache,
        job_id=options.job_id,
    )


def _first(*values: Any) -> Any:
    """The first value that is not None."""
    return next(value for value in values if value is not None)
