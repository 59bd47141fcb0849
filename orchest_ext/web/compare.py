"""Two runs side by side: ``GET runs/compare`` and the nbdime diff of a notebook step's
executed notebooks (``GET runs/compare/notebook``)."""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..executors.masking import mask
from ..pipeline import short
from ..runs import TERMINAL, step_files
from ..runs.compare import SIDES, RunRecord, compare_runs
from ..runs.compare_records import load_record, notebook_diff
from .base import ApiError
from .runs import RunLookupHandler


class CompareBaseHandler(RunLookupHandler):
    """Reads the two runs named by the query parameters ``a`` and ``b``."""

    async def records(self, query: dict[str, Any]) -> dict[str, RunRecord]:
        """Both runs' records; 400 naming the parameter that is missing or names the same run
        as the other, 404 naming the side whose run is unknown."""
        for side in SIDES:
            if side not in query:
                raise ApiError(400, f"Query parameter {side} is required: the id of a run.")
        if query["a"] == query["b"]:
            raise ApiError(400, "Query parameter b must name another run than a.")
        records = {}
        for side in SIDES:
            record = await load_record(self.runs, query[side])
            if record is None:
                raise ApiError(
                    404, f"No run with id {short(query[side])} (query parameter {side})."
                )
            records[side] = record
        return records


class CompareHandler(CompareBaseHandler):
    spec_path = "/runs/compare"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        records = await self.records(self.query())
        compared = compare_runs(records["a"], records["b"])
        self.finish({**compared, **{side: self.shown_run(compared[side]) for side in SIDES}})


class CompareNotebookHandler(CompareBaseHandler):
    spec_path = "/runs/compare/notebook"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.query()
        if "step" not in query:
            raise ApiError(400, "Query parameter step is required: the uuid of a notebook step.")
        records = await self.records(query)
        texts = [
            await self.executed_notebook(records[side].run, side, query["step"]) for side in SIDES
        ]
        try:
            self.finish(await asyncio.to_thread(notebook_diff, *texts))
        except ValueError as err:
            raise ApiError(
                422, f"The executed notebooks cannot be diffed: {short(str(err))}."
            ) from None

    async def executed_notebook(self, run: dict[str, Any], side: str, step_uuid: str) -> bytes:
        """The executed notebook of a step of one side's run, secrets masked; 404 naming the
        side when that run has no such notebook step or no executed notebook of it."""
        step = next((s for s in run["steps"] if s["uuid"] == step_uuid), None)
        where = f"Run {short(run['id'])} (query parameter {side})"
        if step is None:
            raise ApiError(404, f"{where} did not run step {short(step_uuid)}.")
        if not step["file_path"].lower().endswith(".ipynb"):
            raise ApiError(404, f"Step {short(step['title'])} is not a notebook.")
        path = step_files(run["run_dir"], step_uuid, step["file_path"]).notebook_path
        secrets = await self.secret_values(run)
        try:
            return mask(await asyncio.to_thread(path.read_bytes), secrets)
        except FileNotFoundError:
            status = step["status"]
            when = f"it ended {status} before running" if status in TERMINAL else f"it is {status}"
            raise ApiError(
                404, f"{where} has no executed notebook of step {short(step['title'])} ({when})."
            ) from None
