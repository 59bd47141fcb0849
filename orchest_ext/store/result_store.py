"""The store's record of what steps passed on: the summaries of their outputs (a part of
``Store``; metrics are a column of the steps' rows)."""

from __future__ import annotations

from typing import Any

from . import run_rows


class StepResultRows:
    """The summaries of steps' outputs; ``Store`` provides the queue and ``_sql``."""

    _pending: dict[tuple[str, str, str], dict[str, Any]]
    failure: Any

    async def _sql(self, fn, *args): ...

    async def _read_durable(self) -> None: ...

    def _queue(self, key: tuple[str, str, str], fields: dict[str, Any]) -> None: ...

    def _unwritten(self, key: tuple[str, str, str]) -> dict[str, Any]: ...

    def save_outputs(self, run_id: str, uuid: str, outputs: list[dict[str, Any]]) -> None:
        """Queue the summaries of a step's outputs (replacing any it had), to be written with
        the step's next change."""
        self._queue(("outputs", run_id, uuid), {"outputs": outputs})

    async def step_outputs(self, run_id: str, uuid: str) -> list[dict[str, Any]]:
        """The summaries of a step's outputs as stored when it ended ([]: none, or not yet)."""
        key = ("outputs", run_id, uuid)
        if key in self._pending:
            await self._read_durable()
        outputs = await self._sql(run_rows.step_outputs, run_id, uuid)
        if self.failure is not None:
            return self._unwritten(key).get("outputs", outputs)
        return outputs

    async def runs_with_results(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Runs by id with their steps' metrics and output summaries (each step's
        ``outputs``), read in one go; while the store cannot write, with what it has not
        written yet. Ids not stored are left out."""
        wanted = set(run_ids)
        if any(key[1] in wanted for key in self._pending):
            await self._read_durable()
        runs = await self._sql(run_rows.runs_with_results, run_ids)
        if self.failure is not None:
            for run_id, run in runs.items():
                run.update(self._unwritten(("run", run_id, "")))
                for step in run["steps"]:
                    step.update(self._unwritten(("step", run_id, step["uuid"])))
                    step.update(self._unwritten(("outputs", run_id, step["uuid"])))
        return runs
