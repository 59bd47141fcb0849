"""REST handlers under ``<base_url>/orchest/api/``: input validation and error mapping only.
Their dependencies come through ``initialize()`` keyword arguments (see ``handlers``)."""

from __future__ import annotations

import asyncio
import codecs
import json
from collections.abc import Awaitable, Callable, Mapping
from http.client import responses
from pathlib import Path
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .contract import (
    BodyTooLarge,
    RequestInvalid,
    parse_json,
    parse_query,
    spec_text,
    validate_body,
)
from .discovery import PipelineFinder
from .executors.base import Executor, ExecutorUnavailable, unavailable_reason
from .jobs import JobManager, JobRequestError
from .jobs.request import job_settings
from .pipeline import (
    Pipeline,
    PipelineError,
    UnknownStepsError,
    load_pipeline,
    parse_pipeline,
    short,
    validate_pipeline,
)
from .runs import TERMINAL, OwnedElsewhere, RunManager, RunRequestError, step_files
from .runs.spec import attempt_log_path
from .sessions import PipelineSessionManager, SessionExists

Ready = Callable[[], Awaitable[None]]

API = r"/orchest/api"
LOG_CHUNK_LIMIT = 1 << 20


class ApiError(web.HTTPError):
    """An HTTP error whose JSON body also carries a list of pipeline issues."""

    def __init__(self, status: int, message: str, issues: list[dict] | None = None) -> None:
        super().__init__(status, "%s", message)
        self.issues = issues


class OrchestHandler(APIHandler):
    """Base of every route: JSON errors, requests validated against ``openapi.yaml``."""

    auth_resource = "orchest"
    spec_path = ""
    """The handler's path in ``openapi.yaml``, whose schemas its requests must match."""
    ready: Ready | None = None
    """What must have started before the handler answers (None: nothing)."""

    def initialize(self, max_request_body: int, ready: Ready | None = None) -> None:
        self.max_request_body = max_request_body
        self.ready = ready

    async def prepare(self) -> None:
        await super().prepare()
        if self.ready is None:
            return
        try:
            await self.ready()
        except Exception as err:
            raise ApiError(
                503,
                f"orchest_ext could not start: {str(err) or type(err).__name__} "
                "(the server log has the details).",
            ) from None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = responses.get(status_code, "Unknown HTTP Error")
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        reply: dict[str, Any] = {"status": status_code, "message": message}
        if getattr(exc, "issues", None):
            reply["issues"] = exc.issues
        self.finish(json.dumps(reply))

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The HTTP methods this handler answers."""
        return [
            method
            for method in cls.SUPPORTED_METHODS
            if getattr(cls, method.lower()) is not getattr(web.RequestHandler, method.lower())
        ]

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """A refused request is logged once, by the server's request log; its message (which
        the client gets) only at debug level. Anything else as tornado logs it."""
        if isinstance(value, web.HTTPError) and value.status_code < 500:
            message = value.log_message % value.args if value.log_message else ""
            self.log.debug("orchest_ext: %d %s: %s", value.status_code, self.request.path, message)
            return
        super().log_exception(typ, value, tb)

    async def json_body(self) -> dict[str, Any]:
        """The request body, checked (in a thread) against the operation's schema in
        ``openapi.yaml``."""
        try:
            body = await asyncio.to_thread(parse_json, self.request.body, self.max_request_body)
            await asyncio.to_thread(validate_body, self.spec_path, self.request.method, body)
        except BodyTooLarge as err:
            raise ApiError(413, str(err)) from None
        except RequestInvalid as err:
            raise ApiError(400, str(err)) from None
        return body

    def query(self) -> dict[str, Any]:
        """The query parameters ``openapi.yaml`` documents, converted, checked, defaulted."""
        try:
            return parse_query(self.spec_path, self.request.method, self.request.query_arguments)
        except RequestInvalid as err:
            raise ApiError(400, str(err)) from None

    def resolve_in_root(self, relative: str, what: str) -> Path:
        """A path below the server's root dir; 400 if it is absolute or leaves the root."""
        root = Path(self.serverapp.root_dir).resolve()
        if Path(relative).is_absolute():
            raise ApiError(400, f"{what} must be relative to the server's root dir, not absolute.")
        try:
            resolved = (root / relative).resolve()
        except (ValueError, OSError) as err:
            reason = getattr(err, "strerror", None) or str(err)
            raise ApiError(
                400, f"{what} {short(relative)} is not a usable path: {reason}."
            ) from None
        if resolved != root and root not in resolved.parents:
            raise ApiError(400, f"{what} {short(relative)} leaves the server's root dir.")
        return resolved

    async def existing(self, relative: str, what: str, kind: str) -> Path:
        """``resolve_in_root`` that must name an existing ``file`` or ``directory``."""
        path = self.resolve_in_root(relative, what)
        try:
            found = await asyncio.to_thread(path.is_file if kind == "file" else path.is_dir)
        except OSError as err:
            reason = err.strerror or str(err)
            raise ApiError(
                400, f"{what} {short(relative)} is not a usable path: {reason}."
            ) from None
        if not found:
            raise ApiError(400, f"{what} {short(relative)} is not a {kind}.")
        return path

    async def load_request_pipeline(self, body: dict[str, Any]) -> Pipeline:
        """The pipeline of a request: ``pipeline_path`` or ``pipeline_description`` + dir."""
        try:
            if "pipeline_path" in body:
                path = await self.existing(body["pipeline_path"], "pipeline_path", "file")
                return await asyncio.to_thread(load_pipeline, path)
            directory = await self.existing(body["pipeline_dir"], "pipeline_dir", "directory")
            edited = body.get("unsaved_edit_of")
            path = self.resolve_in_root(edited, "unsaved_edit_of") if edited else None
            return await asyncio.to_thread(
                parse_pipeline, body["pipeline_description"], directory, path
            )
        except PipelineError as err:
            raise ApiError(
                422,
                f"The pipeline has {len(err.issues)} issue(s): {err}",
                [issue.to_dict() for issue in err.issues],
            ) from None


class RunsBaseHandler(OrchestHandler):
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
            {"runs": runs, "total": total, "limit": query["limit"], "offset": query["offset"]}
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
        self.finish(run.to_dict())


class RunLookupHandler(RunsBaseHandler):
    """Looks up runs and their steps, answering 404 for unknown ones; defines no verbs."""

    async def run_or_404(self, run_id: str) -> dict[str, Any]:
        run = await self.runs.get(run_id)
        if run is None:
            raise ApiError(404, f"No run with id {short(run_id)}.")
        return run

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
        self.finish(await self.run_or_404(run_id))

    @web.authenticated
    @authorized(action="execute")
    async def delete(self, run_id: str) -> None:
        try:
            run = await self.runs.abort(run_id)
        except OwnedElsewhere as err:
            raise ApiError(409, str(err)) from None
        if run is None:
            raise ApiError(404, f"No run with id {short(run_id)}.")
        self.finish(run)


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
        text, read, size = await asyncio.to_thread(
            _read_text_chunk, path, offset, LOG_CHUNK_LIMIT, finished
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
        try:
            content = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            status = step["status"]
            when = f"it ended {status} before running" if status in TERMINAL else f"it is {status}"
            raise ApiError(404, f"Step {title} has no executed notebook ({when}).") from None
        self.finish(content, set_content_type="application/x-ipynb+json")


class JobsBaseHandler(OrchestHandler):
    def initialize(self, jobs: JobManager, **common: Any) -> None:
        super().initialize(**common)
        self.jobs = jobs


class JobsHandler(JobsBaseHandler):
    spec_path = "/jobs"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish({"jobs": self.jobs.list()})

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
        self.finish(job)


class JobHandler(JobsBaseHandler):
    spec_path = "/jobs/{job_id}"

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        query = self.query()
        job = await self.jobs.get(job_id, query["limit"], query["offset"])
        if job is None:
            raise ApiError(404, f"No job with id {short(job_id)}.")
        self.finish(job)

    @web.authenticated
    @authorized(action="execute")
    async def patch(self, job_id: str) -> None:
        body = await self.json_body()
        try:
            job = await self.jobs.update(job_id, body)
        except JobRequestError as err:
            raise ApiError(400, str(err)) from None
        if job is None:
            raise ApiError(404, f"No job with id {short(job_id)}.")
        self.finish(job)

    @web.authenticated
    @authorized(action="execute")
    async def delete(self, job_id: str) -> None:
        remove_runs = self.query()["remove_runs"]
        job = await self.jobs.delete(job_id, remove_runs=remove_runs == "true")
        if job is None:
            raise ApiError(404, f"No job with id {short(job_id)}.")
        self.finish(job)


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
            pipeline["last_run"] = latest.get(str(root / pipeline["path"]))
        self.finish({"pipelines": pipelines, "truncated": truncated})


class BackendsHandler(OrchestHandler):
    spec_path = "/backends"

    def initialize(
        self,
        backends: Mapping[str, Executor],
        default_backend: Callable[[], str],
        **common: Any,
    ) -> None:
        super().initialize(**common)
        self.backends = backends
        self.default_backend = default_backend

    @web.authenticated
    @authorized
    async def get(self) -> None:
        names = sorted(self.backends)
        reasons = await asyncio.gather(*(unavailable_reason(self.backends[n]) for n in names))
        availability = {
            name: {"available": reason is None, "reason": reason}
            for name, reason in zip(names, reasons, strict=True)
        }
        self.finish(
            {"default": self.default_backend(), "backends": names, "availability": availability}
        )


class OpenAPIHandler(OrchestHandler):
    spec_path = "/openapi.yaml"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(await asyncio.to_thread(spec_text), set_content_type="application/yaml")


class SessionsBaseHandler(OrchestHandler):
    def initialize(self, sessions: PipelineSessionManager, **common: Any) -> None:
        super().initialize(**common)
        self.sessions = sessions

    async def may_execute(self) -> bool:
        """Whether the user may ``execute``: only then do session tokens reach them."""
        return await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "execute", self.auth_resource)
        )

    async def shown(self, launch: dict[str, Any]) -> dict[str, Any]:
        """A launch as this user may see it: without tokens unless they may ``execute``."""
        if await self.may_execute():
            return launch
        return {
            **launch,
            **{
                name: {k: v for k, v in launch[name].items() if k != "token"}
                for name in ("server_info", "gateway_info")
                if launch.get(name)
            },
        }


class LaunchesHandler(SessionsBaseHandler):
    spec_path = "/launches"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish({"launches": [await self.shown(launch) for launch in self.sessions.list()]})

    @web.authenticated
    @authorized(action="execute")
    async def post(self) -> None:
        body = await self.json_body()
        pipeline_uuid = body["pipeline_uuid"]
        directory = await self.existing(body["pipeline_dir"], "pipeline_dir", "directory")
        relative = directory.relative_to(Path(self.serverapp.root_dir).resolve()).as_posix()
        try:
            launch = await self.sessions.launch(
                pipeline_uuid, directory, relative, body.get("backend")
            )
        except SessionExists as err:
            raise ApiError(409, str(err)) from None
        except ExecutorUnavailable as err:
            raise ApiError(503, str(err)) from None
        self.set_status(202)
        self.set_header("Location", f"{self.base_url.rstrip('/')}{API}/launches/{pipeline_uuid}")
        self.finish(launch)


class LaunchHandler(SessionsBaseHandler):
    spec_path = "/launches/{pipeline_uuid}"

    @web.authenticated
    @authorized
    async def get(self, pipeline_uuid: str) -> None:
        launch = self.sessions.get(pipeline_uuid)
        if launch is None:
            raise ApiError(404, f"Pipeline {short(pipeline_uuid)} has no session.")
        self.finish(await self.shown(launch))

    @web.authenticated
    @authorized(action="execute")
    async def delete(self, pipeline_uuid: str) -> None:
        try:
            launch = await self.sessions.stop(pipeline_uuid)
        except ExecutorUnavailable as err:
            raise ApiError(503, str(err)) from None
        if launch is None:
            raise ApiError(404, f"Pipeline {short(pipeline_uuid)} has no session.")
        self.set_status(202)
        self.finish(launch)


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _read_text_chunk(path: Path, offset: int, limit: int, finished: bool) -> tuple[str, int, int]:
    """At most ``limit`` bytes of a log from ``offset``, as text: the text, the bytes it used
    and the log's size (blocking). A UTF-8 character cut by ``limit`` or by a write in progress
    is left for the next read, unless the log is ``finished`` and the chunk ends it."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(min(offset, size))
            data = handle.read(limit)
    except FileNotFoundError:
        return "", 0, 0
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data, final=finished and offset + len(data) >= size)
    return text, len(data) - len(decoder.getstate()[0]), size


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
    backends: Mapping[str, Executor],
    default_backend: Callable[[], str],
    root_dir: str,
    max_request_body: int,
) -> list[tuple[str, type[OrchestHandler], dict[str, Any]]]:
    """The routes, each handler with what it needs."""
    common = {"max_request_body": max_request_body}
    run_deps = {"runs": runs, "ready": runs_ready, **common}
    session_deps = {"sessions": sessions, "ready": sessions_ready, **common}
    job_deps = {"jobs": jobs, "ready": runs_ready, **common}
    return [
        (rf"{API}/runs", RunsHandler, run_deps),
        (rf"{API}/runs/{RUN_ID}", RunHandler, run_deps),
        (rf"{API}/runs/{RUN_ID}/steps/{STEP_UUID}/log", StepLogHandler, run_deps),
        (rf"{API}/runs/{RUN_ID}/steps/{STEP_UUID}/notebook", StepNotebookHandler, run_deps),
        (rf"{API}/jobs", JobsHandler, job_deps),
        (rf"{API}/jobs/{JOB_ID}", JobHandler, job_deps),
        (rf"{API}/pipelines", PipelinesHandler, {**run_deps, "finder": PipelineFinder(root_dir)}),
        (rf"{API}/pipelines/validate", ValidateHandler, common),
        (
            rf"{API}/backends",
            BackendsHandler,
            {"backends": backends, "default_backend": default_backend, **common},
        ),
        (rf"{API}/openapi.yaml", OpenAPIHandler, common),
        (rf"{API}/launches", LaunchesHandler, session_deps),
        (rf"{API}/launches/{PIPELINE_UUID_ARG}", LaunchHandler, session_deps),
    ]
