"""REST handlers under ``<base_url>/orchest/api/``: input validation and error mapping only.
Their dependencies come through ``initialize()`` keyword arguments (see ``handlers``)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from http.client import responses
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .discovery import PipelineFinder
from .executors.base import ExecutorUnavailable
from .jobs import JobManager, JobRequestError
from .jobs.request import job_settings
from .pipeline import (
    RUN_TYPES,
    Pipeline,
    PipelineError,
    UnknownStepsError,
    load_pipeline,
    parse_pipeline,
    validate_pipeline,
)
from .runs import CACHE_MODES, TERMINAL, OwnedElsewhere, RunManager, RunRequestError, step_files
from .runs.spec import attempt_log_path
from .sessions import PipelineSessionManager, SessionExists

Ready = Callable[[], Awaitable[None]]

API = r"/orchest/api"
OPENAPI_SPEC = Path(__file__).parent / "openapi.yaml"
LOG_CHUNK_LIMIT = 1 << 20
PIPELINE_UUID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
LAUNCH_FIELDS = {"pipeline_uuid": str, "pipeline_dir": str}
RUN_FIELDS = {
    "pipeline_path": str,
    "pipeline_description": (dict, str),
    "pipeline_dir": str,
    "run_type": str,
    "uuids": list,
    "inclusive": bool,
    "env": dict,
    "parameters": dict,
    "failure_policy": str,
    "write_back": bool,
    "backend": str,
    "retries": int,
    "retry_delay": (int, float),
    "cache": str,
}
JOB_FIELDS = {
    **RUN_FIELDS,
    "name": str,
    "schedule": dict,
    "parameter_grid": dict,
    "max_parallel": int,
    "overlap_policy": str,
    "missed_fire_policy": str,
    "max_retained_runs": int,
    "snapshot": bool,
}


class ApiError(web.HTTPError):
    """An HTTP error whose JSON body also carries a list of pipeline issues."""

    def __init__(self, status: int, message: str, issues: list[dict] | None = None) -> None:
        super().__init__(status, message.replace("%", "%%"))
        self.issues = issues


class OrchestHandler(APIHandler):
    auth_resource = "orchest"
    ready: Ready | None = None
    """What must have started before the handler answers (None: nothing)."""

    async def prepare(self) -> None:
        await super().prepare()
        if self.ready is not None:
            await self.ready()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = responses.get(status_code, "Unknown HTTP Error")
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        reply: dict[str, Any] = {"status": status_code, "message": message}
        if getattr(exc, "issues", None):
            reply["issues"] = exc.issues
        self.finish(json.dumps(reply))

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, or a 400 saying what is wrong with it."""
        try:
            body = json.loads(self.request.body or b"{}")
        except json.JSONDecodeError as err:
            raise ApiError(400, f"The request body is not valid JSON: {err}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object.")
        return body

    def page(self) -> tuple[int, int]:
        """The ``limit`` (1-1000, default 50) and ``offset`` query arguments of a list."""
        try:
            limit = int(self.get_argument("limit", "50"))
            offset = int(self.get_argument("offset", "0"))
        except ValueError:
            raise ApiError(400, "limit and offset must be integers.") from None
        if not 1 <= limit <= 1000 or not 0 <= offset < 2**63:
            raise ApiError(400, "limit must be between 1 and 1000 and offset at least 0.")
        return limit, offset

    def resolve_in_root(self, relative: str, what: str) -> Path:
        """A path below the server's root dir; 400 if it is absolute or leaves the root."""
        if not isinstance(relative, str):
            raise ApiError(400, f"{what} must be a path (a string) relative to the root dir.")
        root = Path(self.serverapp.root_dir).resolve()
        if Path(relative).is_absolute():
            raise ApiError(400, f"{what} must be relative to the server's root dir, not absolute.")
        try:
            resolved = (root / relative).resolve()
        except (ValueError, OSError) as err:
            raise ApiError(400, f"{what} {relative!r} is not a usable path: {err}") from None
        if resolved != root and root not in resolved.parents:
            raise ApiError(400, f"{what} {relative!r} leaves the server's root dir.")
        return resolved

    async def load_request_pipeline(self, body: dict[str, Any]) -> Pipeline:
        """The pipeline of a request: ``pipeline_path`` or ``pipeline_description`` + dir."""
        has_path = "pipeline_path" in body
        has_description = "pipeline_description" in body
        if has_path == has_description:
            raise ApiError(
                400,
                "Give either pipeline_path (a pipeline file relative to the server's root dir) "
                "or pipeline_description with pipeline_dir.",
            )
        try:
            if has_path:
                path = self.resolve_in_root(body["pipeline_path"], "pipeline_path")
                if not path.is_file():
                    raise ApiError(400, f"pipeline_path {body['pipeline_path']!r} is not a file.")
                return await asyncio.to_thread(load_pipeline, path)
            directory = self.resolve_in_root(body.get("pipeline_dir", ""), "pipeline_dir")
            if not directory.is_dir():
                raise ApiError(
                    400, f"pipeline_dir {body.get('pipeline_dir', '')!r} is not a directory."
                )
            return await asyncio.to_thread(parse_pipeline, body["pipeline_description"], directory)
        except PipelineError as err:
            raise ApiError(
                422,
                f"The pipeline has {len(err.issues)} issue(s): {err}",
                [issue.to_dict() for issue in err.issues],
            ) from None


def check_fields(body: dict[str, Any], fields: dict[str, Any]) -> None:
    """400 naming every field with a wrong JSON type."""
    problems = []
    for name, expected in fields.items():
        if name in body and body[name] is not None and not isinstance(body[name], expected):
            kinds = expected if isinstance(expected, tuple) else (expected,)
            names = " or ".join(_JSON_TYPES[k] for k in kinds)
            problems.append(f"{name} must be {names}")
    if problems:
        raise ApiError(400, "Invalid request: " + "; ".join(problems) + ".")


_JSON_TYPES = {
    str: "a string",
    list: "a list",
    dict: "an object",
    bool: "true or false",
    int: "an integer",
    float: "a number",
}


def check_run_options(body: dict[str, Any]) -> None:
    check_fields(body, RUN_FIELDS)
    run_type = body.get("run_type") or "full"
    if run_type not in RUN_TYPES:
        raise ApiError(400, f"Unknown run_type {run_type!r}; use one of {', '.join(RUN_TYPES)}.")
    if not all(isinstance(u, str) for u in body.get("uuids") or []):
        raise ApiError(400, "uuids must be a list of step uuids (strings).")
    env = body.get("env") or {}
    bad = [k for k, v in env.items() if not isinstance(v, str)]
    if bad:
        raise ApiError(400, f"env values must be strings; fix: {', '.join(sorted(bad))}.")
    reserved = [k for k in env if k.startswith("ORCHEST_")]
    if reserved:
        raise ApiError(
            400,
            f"env keys starting with ORCHEST_ are reserved for the runner: {', '.join(reserved)}.",
        )
    for name in ("retries", "retry_delay"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or value < 0):
            raise ApiError(400, f"{name} must be a number of at least 0, got {value!r}.")
    cache = body.get("cache")
    if cache is not None and cache not in CACHE_MODES:
        raise ApiError(400, f"Unknown cache {cache!r}; use one of {', '.join(CACHE_MODES)}.")


class RunsBaseHandler(OrchestHandler):
    def initialize(self, runs: RunManager, ready: Ready) -> None:
        self.runs = runs
        self.ready = ready


class RunsHandler(RunsBaseHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit, offset = self.page()
        pipeline_path = self.get_argument("pipeline_path", None)
        if pipeline_path:
            pipeline_path = str(self.resolve_in_root(pipeline_path, "pipeline_path"))
        runs, total = await self.runs.list(
            pipeline_uuid=self.get_argument("pipeline_uuid", None),
            pipeline_path=pipeline_path,
            status=self.get_argument("status", None),
            limit=limit,
            offset=offset,
        )
        self.finish({"runs": runs, "total": total, "limit": limit, "offset": offset})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        check_run_options(body)
        pipeline = await self.load_request_pipeline(body)
        try:
            run = await self.runs.submit(
                pipeline,
                run_type=body.get("run_type") or "full",
                uuids=body.get("uuids") or [],
                inclusive=bool(body.get("inclusive")),
                env=body.get("env") or {},
                parameters=body.get("parameters") or {},
                failure_policy=body.get("failure_policy") or "continue",
                write_back=bool(body.get("write_back")),
                backend=body.get("backend"),
                retries=body.get("retries"),
                retry_delay=body.get("retry_delay"),
                cache=body.get("cache") or "off",
            )
        except UnknownStepsError as err:
            raise ApiError(400, str(err)) from None
        except (RunRequestError, ValueError) as err:
            raise ApiError(400, str(err)) from None
        except ExecutorUnavailable as err:
            raise ApiError(503, str(err)) from None
        self.set_status(202)
        self.set_header("Location", f"{self.base_url.rstrip('/')}{API}/runs/{run.id}")
        self.finish(run.to_dict())


class RunLookupHandler(RunsBaseHandler):
    """Looks up runs and their steps, answering 404 for unknown ones; defines no verbs."""

    async def run_or_404(self, run_id: str) -> dict[str, Any]:
        run = await self.runs.get(run_id)
        if run is None:
            raise ApiError(404, f"No run with id {run_id!r}.")
        return run

    async def step_or_404(self, run_id: str, step_uuid: str) -> tuple[dict, dict]:
        run = await self.run_or_404(run_id)
        for step in run["steps"]:
            if step["uuid"] == step_uuid:
                return run, step
        raise ApiError(404, f"Run {run_id!r} has no step {step_uuid!r}.")


class RunHandler(RunLookupHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.finish(await self.run_or_404(run_id))

    @web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        try:
            run = await self.runs.abort(run_id)
        except OwnedElsewhere as err:
            raise ApiError(409, str(err)) from None
        if run is None:
            raise ApiError(404, f"No run with id {run_id!r}.")
        self.finish(run)


class StepLogHandler(RunLookupHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str, step_uuid: str) -> None:
        try:
            offset = int(self.get_argument("offset", "0"))
        except ValueError:
            raise ApiError(400, "offset must be a byte offset (an integer).") from None
        if offset < 0:
            raise ApiError(400, "offset must be at least 0.")
        run, step = await self.step_or_404(run_id, step_uuid)
        path = step_files(run["run_dir"], step_uuid, step["file_path"]).log_path
        attempt = step["attempt"]
        if self.get_argument("attempt", None) is not None:
            asked = self.get_argument("attempt")
            if not (asked.isascii() and asked.isdigit()) or not 1 <= int(asked) <= step["attempt"]:
                raise ApiError(
                    400, f"attempt must be an attempt of the step (1 to {step['attempt']})."
                )
            attempt = int(asked)
        if attempt < step["attempt"]:
            path = attempt_log_path(path, attempt)
        finished = step["status"] in TERMINAL or attempt < step["attempt"]
        data, size = await asyncio.to_thread(_read_chunk, path, offset, LOG_CHUNK_LIMIT)
        next_offset = offset + len(data)
        self.finish(
            {
                "run_id": run_id,
                "step_uuid": step_uuid,
                "status": step["status"],
                "offset": offset,
                "next_offset": next_offset,
                "size": size,
                "text": data.decode("utf-8", errors="replace"),
                "attempt": attempt,
                "complete": finished and next_offset >= size,
            }
        )


class StepNotebookHandler(RunLookupHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str, step_uuid: str) -> None:
        run, step = await self.step_or_404(run_id, step_uuid)
        if not step["file_path"].lower().endswith(".ipynb"):
            raise ApiError(404, f"Step {step['title']!r} is not a notebook; read its log instead.")
        path = step_files(run["run_dir"], step_uuid, step["file_path"]).notebook_path
        try:
            content = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise ApiError(
                404,
                f"Step {step['title']!r} has no executed notebook yet (it is {step['status']}).",
            ) from None
        self.set_header("Content-Type", "application/x-ipynb+json")
        self.finish(content)


class JobsBaseHandler(OrchestHandler):
    def initialize(self, jobs: JobManager, ready: Ready) -> None:
        self.jobs = jobs
        self.ready = ready


class JobsHandler(JobsBaseHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish({"jobs": self.jobs.list()})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        check_fields(body, JOB_FIELDS)
        check_run_options(body)
        pipeline = await self.load_request_pipeline(body)
        try:
            job = await self.jobs.create(pipeline, body, job_settings(body))
        except JobRequestError as err:
            raise ApiError(400, str(err)) from None
        self.set_status(201)
        self.set_header("Location", f"{self.base_url.rstrip('/')}{API}/jobs/{job['id']}")
        self.finish(job)


class JobHandler(JobsBaseHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        limit, offset = self.page()
        job = await self.jobs.get(job_id, limit, offset)
        if job is None:
            raise ApiError(404, f"No job with id {job_id!r}.")
        self.finish(job)

    @web.authenticated
    @authorized
    async def patch(self, job_id: str) -> None:
        body = self.json_body()
        check_fields(body, {**JOB_FIELDS, "paused": bool})
        try:
            job = await self.jobs.update(job_id, body)
        except JobRequestError as err:
            raise ApiError(400, str(err)) from None
        if job is None:
            raise ApiError(404, f"No job with id {job_id!r}.")
        self.finish(job)

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        remove_runs = self.get_argument("remove_runs", "false")
        if remove_runs not in ("true", "false"):
            raise ApiError(400, "remove_runs must be true or false.")
        job = await self.jobs.delete(job_id, remove_runs=remove_runs == "true")
        if job is None:
            raise ApiError(404, f"No job with id {job_id!r}.")
        self.finish(job)


class ValidateHandler(OrchestHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        check_fields(body, RUN_FIELDS)
        if "pipeline_path" in body and "pipeline_description" not in body:
            path = self.resolve_in_root(body["pipeline_path"], "pipeline_path")
            if not path.is_file():
                raise ApiError(400, f"pipeline_path {body['pipeline_path']!r} is not a file.")
            data, directory = await asyncio.to_thread(path.read_bytes), path.parent
        elif "pipeline_description" in body:
            directory = self.resolve_in_root(body.get("pipeline_dir", ""), "pipeline_dir")
            data, path = body["pipeline_description"], None
        else:
            raise ApiError(400, "Give pipeline_path or pipeline_description (with pipeline_dir).")
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

    def initialize(self, runs: RunManager, ready: Ready, finder: PipelineFinder) -> None:
        super().initialize(runs, ready)
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
            pipeline["last_run"] = latest.get(str(root / pipeline["path"]))
        self.finish({"pipelines": pipelines, "truncated": truncated})


class BackendsHandler(OrchestHandler):
    def initialize(self, backends: list[str], default_backend: Callable[[], str]) -> None:
        self.backends = backends
        self.default_backend = default_backend

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish({"default": self.default_backend(), "backends": self.backends})


class OpenAPIHandler(OrchestHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.set_header("Content-Type", "application/yaml")
        self.finish(await asyncio.to_thread(OPENAPI_SPEC.read_bytes))


class SessionsBaseHandler(OrchestHandler):
    def initialize(self, sessions: PipelineSessionManager, ready: Ready) -> None:
        self.sessions = sessions
        self.ready = ready


class LaunchesHandler(SessionsBaseHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish({"launches": self.sessions.list()})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        check_fields(body, LAUNCH_FIELDS)
        if not all(isinstance(body.get(name), str) for name in LAUNCH_FIELDS):
            raise ApiError(
                400,
                "Give pipeline_uuid and pipeline_dir (the pipeline's directory, relative to the "
                "server's root dir).",
            )
        pipeline_uuid = body["pipeline_uuid"]
        if not PIPELINE_UUID.match(pipeline_uuid):
            raise ApiError(
                400,
                f"pipeline_uuid {pipeline_uuid!r} must be 1-128 letters, digits, '.', '_' or '-' "
                "and start with a letter or digit.",
            )
        directory = self.resolve_in_root(body["pipeline_dir"], "pipeline_dir")
        if not directory.is_dir():
            raise ApiError(400, f"pipeline_dir {body['pipeline_dir']!r} is not a directory.")
        relative = directory.relative_to(Path(self.serverapp.root_dir).resolve()).as_posix()
        try:
            launch = await self.sessions.launch(pipeline_uuid, directory, relative)
        except SessionExists as err:
            raise ApiError(409, str(err)) from None
        except ExecutorUnavailable as err:
            raise ApiError(503, str(err)) from None
        self.set_status(202)
        self.set_header("Location", f"{self.base_url.rstrip('/')}{API}/launches/{pipeline_uuid}")
        self.finish(launch)


class LaunchHandler(SessionsBaseHandler):
    @web.authenticated
    @authorized
    async def get(self, pipeline_uuid: str) -> None:
        launch = self.sessions.get(pipeline_uuid)
        if launch is None:
            raise ApiError(404, f"Pipeline {pipeline_uuid!r} has no session.")
        self.finish(launch)

    @web.authenticated
    @authorized
    async def delete(self, pipeline_uuid: str) -> None:
        try:
            launch = await self.sessions.stop(pipeline_uuid)
        except ExecutorUnavailable as err:
            raise ApiError(503, str(err)) from None
        if launch is None:
            raise ApiError(404, f"Pipeline {pipeline_uuid!r} has no session.")
        self.set_status(202)
        self.finish(launch)


def _read_chunk(path: Path, offset: int, limit: int) -> tuple[bytes, int]:
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(min(offset, size))
            return handle.read(limit), size
    except FileNotFoundError:
        return b"", 0


RUN_ID = r"(?P<run_id>[^/]+)"
STEP_UUID = r"(?P<step_uuid>[^/]+)"
PIPELINE_UUID_ARG = r"(?P<pipeline_uuid>[^/]+)"
JOB_ID = r"(?P<job_id>[^/]+)"


def handlers(
    runs: RunManager,
    runs_ready: Ready,
    jobs: JobManager,
    sessions: PipelineSessionManager,
    sessions_ready: Ready,
    backends: list[str],
    default_backend: Callable[[], str],
    root_dir: str,
) -> list[tuple[str, type[OrchestHandler], dict[str, Any]]]:
    """The routes, each handler with what it needs."""
    run_deps = {"runs": runs, "ready": runs_ready}
    session_deps = {"sessions": sessions, "ready": sessions_ready}
    job_deps = {"jobs": jobs, "ready": runs_ready}
    return [
        (rf"{API}/runs", RunsHandler, run_deps),
        (rf"{API}/runs/{RUN_ID}", RunHandler, run_deps),
        (rf"{API}/runs/{RUN_ID}/steps/{STEP_UUID}/log", StepLogHandler, run_deps),
        (rf"{API}/runs/{RUN_ID}/steps/{STEP_UUID}/notebook", StepNotebookHandler, run_deps),
        (rf"{API}/jobs", JobsHandler, job_deps),
        (rf"{API}/jobs/{JOB_ID}", JobHandler, job_deps),
        (rf"{API}/pipelines", PipelinesHandler, {**run_deps, "finder": PipelineFinder(root_dir)}),
        (rf"{API}/pipelines/validate", ValidateHandler, {}),
        (
            rf"{API}/backends",
            BackendsHandler,
            {"backends": backends, "default_backend": default_backend},
        ),
        (rf"{API}/openapi.yaml", OpenAPIHandler, {}),
        (rf"{API}/launches", LaunchesHandler, session_deps),
        (rf"{API}/launches/{PIPELINE_UUID_ARG}", LaunchHandler, session_deps),
    ]
