"""The only writer of run state: numbers each change (``seq``), persists it, then emits it.

The webhook deliveries a change makes are queued with the change itself, so the store writes
them in the same transaction: a delivery exists exactly when the change it reports does.

A change's ``seq`` and row fields are queued in the store at once; its event is emitted only
after the store has committed them. So a client never sees a ``seq`` that a server killed a
moment later had not made durable, and the resumed run after a restart continues the
sequence without reusing or skipping a number. Events wait for the store's normal batches
(one transaction every ``Store.flush_delay``, 20 ms), so this costs latency, not throughput.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any

from ..events import RUN_STATUS, STEP_STATUS, Emit
from ..notify import Notifier
from ..store import Store
from .notices import notify_change
from .state import Change, RunState


class Journal:
    """Records the changes of runs: store first, events once the store has them."""

    def __init__(
        self, store: Store, emit: Emit, log: logging.Logger, notifier: Notifier | None = None
    ) -> None:
        self.store = store
        self.emit = emit
        self.log = log
        self.notifier = notifier
        """Queues the webhook deliveries of a change with it (in the store's same batch)."""
        self._outbox: list[tuple[str, dict[str, Any]]] = []
        self._emitter: asyncio.Task[None] | None = None

    async def insert(self, run: RunState, owner: str | None = None) -> None:
        """Write a new run with its steps and its ``owner`` (the server process driving it)
        durably, before the API answers for it."""
        pipeline = run.pipeline
        await self.store.insert_run(
            {**run.to_dict(with_steps=False), "owner": owner},
            [step.to_row() for step in run.steps.values()],
            lambda: json.dumps(pipeline.to_dict()),
        )

    def record(self, run: RunState, changes: Iterable[Change]) -> None:
        """Number, persist and (once persisted) emit ``changes`` of ``run``, in order."""
        for change in changes:
            if change.step is None:
                self.store.update_run(run.id, change.fields)
            else:
                self.store.update_step(run.id, change.step, change.fields)
            if not change.emit:
                continue
            run.seq += 1
            self.store.update_run(run.id, {"seq": run.seq})
            if self.notifier is not None:
                notify_change(self.notifier, run, change)
            self._outbox.append(_event(run, change))
        if self._outbox and self._emitter is None:
            self._emitter = asyncio.get_running_loop().create_task(self._emit_durable())

    def write(self, run_id: str, changes: Iterable[Change]) -> None:
        """Persist changes of a run that cannot be rebuilt (no seq, no events)."""
        for change in changes:
            if change.step is None:
                self.store.update_run(run_id, change.fields)
            else:
                self.store.update_step(run_id, change.step, change.fields)

    async def drain(self) -> None:
        """Wait until every recorded change is written and its event emitted."""
        while self._emitter is not None:
            await asyncio.shield(self._emitter)
        await self.store.flush()

    async def _emit_durable(self) -> None:
        try:
            while self._outbox:
                batch, self._outbox = self._outbox, []
                await self.store.written()
                for schema_id, data in batch:
                    try:
                        self.emit(schema_id, data)
                    except Exception:
                        self.log.exception("Could not emit %s event %s", schema_id, data)
        finally:
            self._emitter = None


def _event(run: RunState, change: Change) -> tuple[str, dict[str, Any]]:
    """The event of a change: its fields as they were when it happened."""
    fields = change.fields
    common = {"run_id": run.id, "pipeline_uuid": run.pipeline.uuid}
    if change.step is None:
        return RUN_STATUS, {
            **common,
            "status": fields["status"],
            "seq": run.seq,
            "message": fields["message"],
            "created_time": run.created_time,
            "started_time": fields["started_time"],
            "finished_time": fields["finished_time"],
        }
    return STEP_STATUS, {
        **common,
        "step_uuid": change.step,
        "title": run.steps[change.step].title,
        "status": fields["status"],
        "seq": run.seq,
        "message": fields["message"],
        "started_time": fields["started_time"],
        "finished_time": fields["finished_time"],
        "attempt": fields.get("attempt", 1),
        "cached": fields.get("cached", False),
        "cached_from": fields.get("cached_from"),
        "run_reason": fields.get("run_reason"),
        "metrics": fields.get("metrics", {}),
    }
