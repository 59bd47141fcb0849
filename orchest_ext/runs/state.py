"""Run and step state, and the pure transitions between states.

Every transition checks the run's invariants (a step becomes terminal once; a finished run
never changes again) and returns a ``Transition``: the changes it made, in order, for the
journal to number, persist and emit, plus what the caller must do next (steps that became
ready, running steps to cancel). Nothing here does I/O or knows about executors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from ..pipeline import Pipeline
from .secrets import SecretStore

PENDING, STARTED, SUCCESS, FAILURE, ABORTED = "PENDING", "STARTED", "SUCCESS", "FAILURE", "ABORTED"
TERMINAL = frozenset({SUCCESS, FAILURE, ABORTED})
FAILURE_POLICIES = ("continue", "fail_fast")
CACHE_MODES = ("off", "use", "refresh")


def now() -> str:
    """The current UTC time in ISO 8601."""
    return datetime.now(timezone.utc).isoformat()


@dataclass(frozen=True)
class CacheDecision:
    """Whether a step reuses an earlier result: its key, and the run (and step directory) to
    reuse, or why it runs."""

    key: str | None
    reason: str | None = None
    source_run: str | None = None
    source_dir: Path | None = None
    parts: dict[str, Any] | None = None
    """What the key is made of, in parts (``cache_key.key_parts``)."""
    changed: list[str] | None = None
    """With ``key_changed``: which parts differ from the step's last successful run."""
    changed_parents: list[str] | None = None
    """With ``key_changed``: the parents whose results differ from that run's."""


@dataclass
class StepState:
    uuid: str
    title: str
    file_path: str
    position: int
    parents: list[str]
    status: str = PENDING
    message: str | None = None
    started_time: str | None = None
    finished_time: str | None = None
    handle: dict[str, Any] | None = None
    attempt: int = 1
    """Which run of the step this is: 1, then one more per retry."""
    retries: int = 0
    """Times a failed attempt is followed by another before the step counts as failed."""
    retry_delay: float = 0.0
    cache_key: str | None = None
    """The step's cache key, recorded whatever the run's ``cache`` (None: it opted out)."""
    run_reason: str | None = None
    """Why the step ran instead of reusing an earlier result (None: not decided, or cached)."""
    cached: bool = False
    cached_from: str | None = None
    """The run whose result a cached step reused."""
    cache_parts: dict[str, Any] | None = None
    """What ``cache_key`` is made of, in parts: stored, so a later run can say what changed."""
    changed: list[str] | None = None
    """Why a ``key_changed`` step ran: ``code``, ``parameters``, ``environment``, ``parents``,
    ``inputs`` (those that differ from the step's last successful run)."""
    changed_parents: list[str] | None = None
    """The parents (uuids) whose results differ from those of that run."""
    metrics: dict[str, int | float] = field(default_factory=dict)
    """What the step recorded with ``orchest.log_metric`` (read when it ended)."""
    reuse: CacheDecision | None = field(default=None, repr=False)
    """The earlier result this step is to reuse (a cache hit not acted on yet)."""

    def to_dict(self) -> dict[str, Any]:
        """The step as the API shows it."""
        return {
            "uuid": self.uuid,
            "title": self.title,
            "file_path": self.file_path,
            "parents": self.parents,
            "status": self.status,
            "message": self.message,
            "started_time": self.started_time,
            "finished_time": self.finished_time,
            "attempt": self.attempt,
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "cache_key": self.cache_key,
            "run_reason": self.run_reason,
            "cached": self.cached,
            "cached_from": self.cached_from,
            "changed": self.changed,
            "changed_parents": self.changed_parents,
            "metrics": self.metrics,
        }

    def to_row(self) -> dict[str, Any]:
        """The step as the store keeps it."""
        return {
            **self.to_dict(),
            "position": self.position,
            "handle": self.handle,
            "cache_parts": self.cache_parts,
        }

    def can_retry(self, run: RunState) -> bool:
        """Whether a failed attempt gets another one: retries left and the run not stopping
        (aborts and fail_fast stops are never retried)."""
        return self.attempt <= self.retries and not run.stopping and run.status not in TERMINAL

    @property
    def undecided(self) -> bool:
        """A PENDING step of a caching run whose cache decision is not made yet."""
        return self.status == PENDING and self.run_reason is None and self.reuse is None


@dataclass(frozen=True)
class Change:
    """One status change: of the run (``step`` None) or of one of its steps."""

    fields: dict[str, Any]
    """The row fields after the change (written to the store; a snapshot for its event)."""
    step: str | None = None
    emit: bool = True
    """Whether the change is a status change clients see as an event."""


@dataclass
class Transition:
    """What a transition changed and what the caller must do about it."""

    changes: list[Change] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)
    """PENDING steps whose parents all succeeded: to be scheduled."""
    cancel: list[str] = field(default_factory=list)
    """STARTED steps to stop."""
    finished: bool = False
    """The run became terminal."""

    def then(self, other: Transition) -> Transition:
        """This transition followed by ``other``, as one."""
        self.changes += other.changes
        self.ready += other.ready
        self.cancel += other.cancel
        self.finished = self.finished or other.finished
        return self


@dataclass
class RunState:
    id: str
    pipeline: Pipeline
    run_type: str
    uuids: list[str]
    inclusive: bool
    backend: str
    failure_policy: str
    parameters: dict[str, Any]
    env: dict[str, Any]
    """Values are strings or secret references ``{"secret": NAME}`` (never their values)."""
    write_back: bool
    run_dir: Path
    steps: dict[str, StepState]
    cache: str = "off"
    """``off``, ``use`` (reuse earlier results of unchanged steps) or ``refresh``."""
    job_id: str | None = None
    """The job whose fire made the run (None: a run of its own)."""
    status: str = PENDING
    message: str | None = None
    seq: int = 0
    """The number of the last change the journal recorded."""
    created_time: str = field(default_factory=now)
    started_time: str | None = None
    finished_time: str | None = None
    abort_requested: bool = False
    stopping: bool = False
    """The run is being stopped (abort, fail_fast, shutdown): no step starts or retries."""
    secrets: SecretStore | None = field(default=None, repr=False, compare=False)
    """Where the run's secret references resolve (None: it has none to resolve)."""
    _sorter: TopologicalSorter = field(init=False, repr=False)
    _children: dict[str, list[str]] = field(init=False, repr=False)
    _unfinished: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._children = {uuid: [] for uuid in self.steps}
        for step in self.steps.values():
            for parent in step.parents:
                self._children[parent].append(step.uuid)
        self._unfinished = sum(1 for s in self.steps.values() if s.status not in TERMINAL)
        self._sorter = TopologicalSorter({uuid: s.parents for uuid, s in self.steps.items()})
        self._sorter.prepare()

    def to_dict(self, with_steps: bool = True) -> dict[str, Any]:
        """The run as the API shows it (and, without steps, as the store keeps it)."""
        data = {
            "id": self.id,
            "pipeline_uuid": self.pipeline.uuid,
            "pipeline_name": self.pipeline.name,
            "pipeline_path": str(self.pipeline.path) if self.pipeline.path else None,
            "pipeline_dir": str(self.pipeline.directory),
            "run_type": self.run_type,
            "uuids": self.uuids,
            "inclusive": self.inclusive,
            "backend": self.backend,
            "failure_policy": self.failure_policy,
            "parameters": self.parameters,
            "env": self.env,
            "write_back": self.write_back,
            "cache": self.cache,
            "job_id": self.job_id,
            "run_dir": str(self.run_dir),
            "status": self.status,
            "message": self.message,
            "seq": self.seq,
            "created_time": self.created_time,
            "started_time": self.started_time,
            "finished_time": self.finished_time,
        }
        if with_steps:
            data["steps"] = [step.to_dict() for step in self.steps.values()]
        return data

    # -- transitions ------------------------------------------------------------------------

    def children(self, uuid: str) -> list[str]:
        """The steps of the run that ``uuid`` is a parent of."""
        return self._children[uuid]

    def begin(self) -> Transition:
        """A new run (or one restored after a restart): announce it if new, and find the steps
        that can run. Steps still STARTED are not ready: the caller follows them."""
        transition = Transition()
        if self.seq == 0:
            transition.changes.append(self._run_change())
        transition.ready = self._take_ready()
        self._finish_if_done(transition)
        return transition

    def announce(self) -> Transition:
        """A new run's first event, before ``begin`` finds its ready steps."""
        return Transition([self._run_change()] if self.seq == 0 else [])

    def decide_cache(self, decisions: dict[str, CacheDecision]) -> Transition:
        """Record the cache decisions of PENDING steps (stored, not events)."""
        transition = Transition()
        for uuid, decision in decisions.items():
            step = self.steps[uuid]
            if step.status != PENDING:
                continue
            step.cache_key, step.run_reason = decision.key, decision.reason
            step.cache_parts = decision.parts
            step.changed, step.changed_parents = decision.changed, decision.changed_parents
            step.reuse = decision if decision.source_dir else None
            fields = {
                "cache_key": step.cache_key,
                "run_reason": step.run_reason,
                "cache_parts": step.cache_parts,
                "changed": step.changed,
                "changed_parents": step.changed_parents,
            }
            transition.changes.append(Change(fields, uuid, emit=False))
        return transition

    def start_step(self, uuid: str) -> Transition:
        """A PENDING step starts (and with it the run, if it had not)."""
        transition = Transition()
        step = self.steps[uuid]
        if step.status != PENDING or self.status in TERMINAL:
            return transition
        self._start_run(transition)
        step.status, step.started_time = STARTED, now()
        transition.changes.append(_step_change(step))
        return transition

    def reuse_step(self, uuid: str) -> Transition:
        """A PENDING step reuses an earlier run's result: SUCCESS at once, ``cached``."""
        transition = Transition()
        step = self.steps[uuid]
        if step.status != PENDING or self.status in TERMINAL or step.reuse is None:
            return transition
        self._start_run(transition)
        step.cached, step.cached_from = True, step.reuse.source_run
        step.reuse, step.started_time = None, now()
        message = f"cached: reused the result of run {step.cached_from}"
        return transition.then(self.finish_step(uuid, SUCCESS, message))

    def retry_step(self, uuid: str, message: str) -> Transition:
        """A STARTED step's attempt failed and it gets another: still STARTED, one attempt
        further (an event, so clients see each attempt)."""
        step = self.steps[uuid]
        if step.status != STARTED:
            return Transition()
        step.attempt += 1
        step.message, step.started_time, step.handle = message, now(), None
        return Transition([_step_change(step)])

    def record_handle(self, uuid: str, handle: dict[str, Any]) -> Transition:
        """What the executor needs to find the step again after a restart (not an event)."""
        self.steps[uuid].handle = handle
        return Transition([Change({"handle": handle}, uuid, emit=False)])

    def finish_step(self, uuid: str, status: str, message: str | None) -> Transition:
        """A step ended: its children may become ready, or a failure aborts what follows."""
        transition = Transition()
        if not self._set_terminal(uuid, status, message, transition):
            return transition
        step = self.steps[uuid]
        if status == SUCCESS:
            self._sorter.done(uuid)
            if self.status not in TERMINAL and not self.abort_requested:
                transition.ready = self._take_ready()
        elif status == FAILURE:
            if self.failure_policy == "fail_fast":
                self._stop(f"stopped because step {step.title!r} failed", transition)
            else:
                reason = f"not run because step {step.title!r} failed"
                for descendant in self._descendants(uuid):
                    self._set_terminal(descendant, ABORTED, reason, transition)
        self._finish_if_done(transition)
        return transition

    def stop(self, reason: str, abort: bool = False) -> Transition:
        """Abort the PENDING steps and ask for the STARTED ones to be cancelled; the run ends
        when they have ended. ``abort`` marks a user's abort (the run ends ABORTED)."""
        transition = Transition()
        if self.status in TERMINAL:
            return transition
        self.abort_requested = self.abort_requested or abort
        self._stop(reason, transition)
        self._finish_if_done(transition)
        return transition

    def settle_orphaned(self) -> Transition:
        """The server running this run died: what ran failed, what waited is aborted."""
        transition = Transition()
        self.message = "the server process running this run stopped before the run finished"
        for step in self.steps.values():
            if step.status == STARTED:
                self._set_terminal(
                    step.uuid, FAILURE, "the server stopped while this step ran", transition
                )
            elif step.status == PENDING:
                self._set_terminal(
                    step.uuid, ABORTED, "the server stopped before this step ran", transition
                )
        self._finish_if_done(transition)
        return transition

    # -- helpers ----------------------------------------------------------------------------

    def _take_ready(self) -> list[str]:
        """Steps that became ready; SUCCESS ones (restored runs) are marked done on the way."""
        ready: list[str] = []
        batch = list(self._sorter.get_ready())
        while batch:
            succeeded = [uuid for uuid in batch if self.steps[uuid].status == SUCCESS]
            ready.extend(uuid for uuid in batch if self.steps[uuid].status == PENDING)
            if not succeeded:
                break
            self._sorter.done(*succeeded)
            batch = list(self._sorter.get_ready())
        return ready

    def _start_run(self, transition: Transition) -> None:
        if self.status == PENDING:
            self.status, self.started_time = STARTED, now()
            transition.changes.append(self._run_change())

    def _set_terminal(
        self, uuid: str, status: str, message: str | None, transition: Transition
    ) -> bool:
        """Move a step to a terminal status once; False if it already was terminal."""
        step = self.steps[uuid]
        if step.status in TERMINAL:
            return False
        step.status, step.message, step.finished_time = status, message, now()
        self._unfinished -= 1
        transition.changes.append(_step_change(step))
        return True

    def _stop(self, reason: str, transition: Transition) -> None:
        self.stopping = True
        if self.message is None:
            self.message = reason
        for step in self.steps.values():
            if step.status == PENDING:
                self._set_terminal(step.uuid, ABORTED, reason, transition)
            elif step.status == STARTED:
                transition.cancel.append(step.uuid)

    def _descendants(self, uuid: str) -> Iterable[str]:
        seen: dict[str, None] = {}
        stack = list(self._children[uuid])
        while stack:
            child = stack.pop()
            if child not in seen:
                seen[child] = None
                stack.extend(self._children[child])
        return seen

    def _finish_if_done(self, transition: Transition) -> None:
        if self._unfinished > 0 or self.status in TERMINAL:
            return
        if self.abort_requested:
            status = ABORTED
        elif all(s.status == SUCCESS for s in self.steps.values()):
            status, self.message = SUCCESS, None
        else:
            status = FAILURE
            failed = [s.title for s in self.steps.values() if s.status == FAILURE]
            if failed and self.message is None:
                self.message = f"failed step(s): {', '.join(failed)}"
        if self.started_time is None:
            self.started_time = now()
        self.status, self.finished_time = status, now()
        transition.changes.append(self._run_change())
        transition.finished = True

    def _run_change(self) -> Change:
        return Change(
            {
                "status": self.status,
                "message": self.message,
                "started_time": self.started_time,
                "finished_time": self.finished_time,
            }
        )


def _step_change(step: StepState) -> Change:
    """A step's status change with a snapshot of the fields its event shows."""
    return Change(
        {
            "status": step.status,
            "message": step.message,
            "started_time": step.started_time,
            "finished_time": step.finished_time,
            "attempt": step.attempt,
            "cached": step.cached,
            "cached_from": step.cached_from,
            "run_reason": step.run_reason,
            "metrics": step.metrics,
        },
        step.uuid,
    )
