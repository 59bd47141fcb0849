"""Jobs: create, list, show, pause, resume, delete; a grid job's runs as one table."""

from __future__ import annotations

import re
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..jobs import JobManager, JobRequestError
from ..jobs.matrix import load_job_matrix, matrix_csv
from ..jobs.request import job_settings
from ..pipeline import short
from ..runs import OwnedElsewhere
from .base import API, ApiError, OrchestHandler


class JobsBaseHandler(OrchestHandler):
    masks_env = True

    def initialize(self, jobs: JobManager, **common: Any) -> None:
        super().initialize(**common)
        self.jobs = jobs

    def shown_job(self, job: dict[str, Any]) -> dict[str, Any]:
        """A job, and the runs it lists, with paths relative to the root dir."""
        shown = self.shown_run(job)
        if "runs" in shown:
            shown["runs"] = [self.shown_run(run) for run in shown["runs"]]
        return shown


class JobsHandler(JobsBaseHandler):
    spec_path = "/jobs"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish({"jobs": [self.shown_job(job) for job in await self.jobs.list()]})

    @web.authenticated
    @authorized(action="execute")
    async def post(self) -> None:
        body = await self.json_body()
        pipeline = await self.load_request_pipeline(body)
        try:
            job = await self.jobs.create(pipeline, body, job_settings(body))
        except JobRequestError as err:
            raise ApiError(400, str(err)) from None
        self.set_status(201)
        self.set_header("Location", f"{self.base_url.rstrip('/')}{API}/jobs/{job['id']}")
        self.finish(self.shown_job(job))


class JobHandler(JobsBaseHandler):
    spec_path = "/jobs/{job_id}"

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        query = self.query()
        job = await self.jobs.get(job_id, query["limit"], query["offset"])
        if job is None:
            raise ApiError(404, f"No job with id {short(job_id)}.")
        self.finish(self.shown_job(job))

    @web.authenticated
    @authorized(action="execute")
    async def patch(self, job_id: str) -> None:
        body = await self.json_body()
        try:
            job = await self.jobs.update(job_id, body)
        except JobRequestError as err:
            raise ApiError(400, str(err)) from None
        except OwnedElsewhere as err:
            raise ApiError(409, str(err)) from None
        if job is None:
            raise ApiError(404, f"No job with id {short(job_id)}.")
        self.finish(self.shown_job(job))

    @web.authenticated
    @authorized(action="execute")
    async def delete(self, job_id: str) -> None:
        remove_runs = self.query()["remove_runs"]
        try:
            job = await self.jobs.delete(job_id, remove_runs=remove_runs == "true")
        except OwnedElsewhere as err:
            raise ApiError(409, str(err)) from None
        if job is None:
            raise ApiError(404, f"No job with id {short(job_id)}.")
        self.finish(self.shown_job(job))


class JobMatrixHandler(JobsBaseHandler):
    spec_path = "/jobs/{job_id}/matrix"

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        matrix = await load_job_matrix(self.jobs, job_id)
        if matrix is None:
            raise ApiError(404, f"No job with id {short(job_id)}.")
        if self.query()["format"] == "json":
            self.finish(matrix)
            return
        name = re.sub(r"[^\w.-]+", "-", matrix["job_name"]).strip("-") or "job"
        self.set_header("Content-Disposition", f'attachment; filename="{name}-matrix.csv"')
        self.finish(matrix_csv(matrix), set_content_type="text/csv; charset=UTF-8")
