"""Runs and their steps: submit, list, look up, abort, step logs, executed notebooks and what
steps passed on (output summaries)."""

from __future__ import annotations

import asyncio
import codecs
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..executors.base import ExecutorUnavailable
from ..executors.masking import mask, secret_prefix_length
from ..pipeline import UnknownStepsError, short
from ..runs import TERMINAL, OwnedElsewhere, RunManager, RunRequestError, step_files
from ..runs.secrets import SecretError
from ..runs.spec import attempt_log_path
from .base import API, ApiError, OrchestHandler

LOG_CHUNK_LIMIT = 1 << 20


class RunsBaseHandler(OrchestHandler):
    masks_env = True

    def initialize(self, runs: RunManager, **common: Any) -> None:
        super().initialize(**common)
        self.runs = runs


class RunsHandler(RunsBaseHandler):
    spec_path = "/runs"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.query()
        pipeline_path = query.get("pipeline_path")
        if pipeline_path is not None:
            pipeline_path = str(self.resolve_in_root(pipeline_path, "pipeline_path"))
        runs, total = await self.runs.list(
            pipeline_uuid=query.get("pipeline_uuid"),
            pipeline_path=pipeline_path,
            status=query.get("status"),
            limit=query["limit"],
            offset=query["offset"],
        )
        self.finish(
            {
                "runs": [self.shown_run(run) for run in runs],
                "total": total,
                "limit": query["limit"],
                "offset": query["offset"],
            }
        )

    @web.authenticated
    @authorized(action="execute")
    async def post(self) -> None:
        body = await self.json_body()
        pipeline = await self.load_request_pipeline(body)
        try:
            run = await self.runs.submit(
                pipeline,
                run_type=body.get("run_type", "full"),
                uuids=body.get("uuids", []),
                inclusive=body.get("inclusive", False),
                env=body.get("env", {}),
                parameters=body.get("parameters", {}),
                failure_policy=body.get("failure_policy", "continue"),
                write_back=body.get("write_back", False),
                backend=body.get("backend"),
                retries=body.get("retries"),
                retry_delay=body.get("retry_delay"),
                cache=body.get("cache", "off"),
            )
        except UnknownStepsError as err:
            raise ApiError(400, f"uuids: {err}") from None
        except (RunRequestError, ValueError) as err:
            raise ApiError(400, str(err)) from None
        except ExecutorUnavailable as err:
            raise ApiError(503, str(err)) from None
        self.set_status(202)
        self.set_header("Location", f"{self.base_url.rstrip('/')}{API}/runs/{run.id}")
        self.finish(self.shown_run(run.to_dict()))


class RunLookupHandler(RunsBaseHandler):
    """Looks up runs and their steps, answering 404 for unknown ones; defines no verbs."""

    async def run_or_404(self, run_id: str) -> dict[str, Any]:
        run = await self.runs.get(run_id)
        if run is None:
            raise ApiError(404, f"No run with id {short(run_id)}.")
        return run

    async def secret_values(self, run: dict[str, Any]) -> list[bytes]:
        """The values of the secrets the run references, to mask in its output."""
        try:
            return await asyncio.to_thread(self.runs.secrets.masked_values, run["env"])
        except SecretError as err:
            raise ApiError(503, f"The run's output cannot be shown safely: {err}.") from None

    async def step_or_404(self, run_id: str, step_uuid: str) -> tuple[dict, dict]:
        run = await self.run_or_404(run_id)
        for step in run["steps"]:
            if step["uuid"] == step_uuid:
                return run, step
        raise ApiError(404, f"Run {short(run_id)} has no step {short(step_uuid)}.")


class RunHandler(RunLookupHandler):
    spec_path = "/runs/{run_id}"

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.finish(self.shown_run(await self.run_or_404(run_id)))

    @web.authenticated
    @authorized(action="execute")
    async def delete(self, run_id: str) -> None:
        try:
            run = await self.runs.abort(run_id, wait=False)
        except OwnedElsewhere as err:
            raise ApiError(409, str(err)) from None
        if run is None:
            raise ApiError(404, f"No run with id {short(run_id)}.")
        if run["status"] not in TERMINAL:
            self.set_status(202)  # its steps are being stopped in the background
        self.finish(self.shown_run(run))


class StepLogHandler(RunLookupHandler):
    spec_path = "/runs/{run_id}/steps/{step_uuid}/log"

    @web.authenticated
    @authorized
    async def get(self, run_id: str, step_uuid: str) -> None:
        query = self.query()
        offset = query["offset"]
        run, step = await self.step_or_404(run_id, step_uuid)
        path = step_files(run["run_dir"], step_uuid, step["file_path"]).log_path
        attempt = query.get("attempt", step["attempt"])
        if attempt > step["attempt"]:
            raise ApiError(400, f"attempt must be an attempt of the step (1 to {step['attempt']}).")
        if attempt < step["attempt"]:
            path = attempt_log_path(path, attempt)
        finished = step["status"] in TERMINAL or attempt < step["attempt"]
        secrets = await self.secret_values(run)
        text, read, size = await asyncio.to_thread(
            _read_text_chunk, path, offset, LOG_CHUNK_LIMIT, finished, secrets
        )
        next_offset = offset + read
        self.finish(
            {
                "run_id": run_id,
                "step_uuid": step_uuid,
                "status": step["status"],
                "offset": offset,
                "next_offset": next_offset,
                "size": size,
                "text": text,
                "attempt": attempt,
                "complete": finished and next_offset >= size,
            }
        )


class StepNotebookHandler(RunLookupHandler):
    spec_path = "/runs/{run_id}/steps/{step_uuid}/notebook"

    @web.authenticated
    @authorized
    async def get(self, run_id: str, step_uuid: str) -> None:
        run, step = await self.step_or_404(run_id, step_uuid)
        title = short(step["title"])
        if not step["file_path"].lower().endswith(".ipynb"):
            raise ApiError(404, f"Step {title} is not a notebook; read its log instead.")
        path = step_files(run["run_dir"], step_uuid, step["file_path"]).notebook_path
        secrets = await self.secret_values(run)
        try:
            content = mask(await asyncio.to_thread(path.read_bytes), secrets)
        except FileNotFoundError:
            status = step["status"]
            when = f"it ended {status} before running" if status in TERMINAL else f"it is {status}"
            raise ApiError(404, f"Step {title} has no executed notebook ({when}).") from None
        self.finish(content, set_content_type="application/x-ipynb+json")


class StepOutputsHandler(RunLookupHandler):
    spec_path = "/runs/{run_id}/steps/{step_uuid}/outputs"

    @web.authenticated
    @authorized
    async def get(self, run_id: str, step_uuid: str) -> None:
        await self.step_or_404(run_id, step_uuid)
        self.finish({"outputs": await self.runs.store.step_outputs(run_id, step_uuid)})


def _read_text_chunk(
    path: Path, offset: int, limit: int, finished: bool, secrets: list[bytes]
) -> tuple[str, int, int]:
    """At most ``limit`` bytes of a log from ``offset``, as text: the text, the bytes it used
    and the log's size (blocking). A UTF-8 character cut by ``limit`` or by a write in progress
    is left for the next read, unless the log is ``finished`` and the chunk ends it. Secret
    values are masked (read with a margin, so one cut by the chunk's edges is masked too); the
    start of one still being written is left for the next read."""
    margin = max((len(secret) for secret in secrets), default=1) - 1
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            start = min(offset, size)
            handle.seek(max(0, start - margin))
            data = mask(handle.read(start - max(0, start - margin) + limit + margin), secrets)
    except FileNotFoundError:
        return "", 0, 0
    data = data[start - max(0, start - margin) :][:limit]
    if not finished and start + len(data) >= size:
        data = data[: len(data) - secret_prefix_length(data, secrets)]
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data, final=finished and offset + len(data) >= size)
    return text, len(data) - len(decoder.getstate()[0]), size
