"""Pipeline files: validate one, list those under the root dir with their newest run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..pipeline import parse_pipeline, short, validate_pipeline
from ..pipeline.discovery import PipelineFinder
from ..runs import RunManager
from .base import ApiError, OrchestHandler
from .runs import RunsBaseHandler


class ValidateHandler(OrchestHandler):
    spec_path = "/pipelines/validate"

    @web.authenticated
    @authorized(action="read")
    async def post(self) -> None:
        body = await self.json_body()
        if "pipeline_path" in body:
            path = await self.existing(body["pipeline_path"], "pipeline_path", "file")
            data: Any = await asyncio.to_thread(_read_or_none, path)
            directory = path.parent
        else:
            directory = await self.existing(body["pipeline_dir"], "pipeline_dir", "directory")
            data, path = body["pipeline_description"], None
        if data is None:
            raise ApiError(400, f"pipeline_path {short(body['pipeline_path'])} cannot be read.")
        issues = await asyncio.to_thread(validate_pipeline, data, directory, path)
        reply: dict[str, Any] = {
            "valid": not issues,
            "issues": [issue.to_dict() for issue in issues],
            "pipeline": None,
        }
        if not issues:
            pipeline = await asyncio.to_thread(parse_pipeline, data, directory, path)
            reply["pipeline"] = {"uuid": pipeline.uuid, "name": pipeline.name}
        self.finish(reply)


class PipelinesHandler(RunsBaseHandler):
    """The pipeline files under the root dir, each with its newest run."""

    spec_path = "/pipelines"

    def initialize(self, runs: RunManager, finder: PipelineFinder, **common: Any) -> None:
        super().initialize(runs, **common)
        self.finder = finder

    @web.authenticated
    @authorized
    async def get(self) -> None:
        pipelines, truncated = await asyncio.to_thread(self.finder.find)
        root = self.finder.root
        latest = await self.runs.latest_by_path(
            [str(root / pipeline["path"]) for pipeline in pipelines]
        )
        for pipeline in pipelines:
            last_run = latest.get(str(root / pipeline["path"]))
            pipeline["last_run"] = self.shown_run(last_run) if last_run else None
        self.finish({"pipelines": pipelines, "truncated": truncated})


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
