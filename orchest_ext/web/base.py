"""The base of every REST handler: authentication, JSON errors, requests checked against
``openapi.yaml``, paths kept under the server's root dir."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from http.client import responses
from pathlib import Path
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..infra.disk import StorageError
from ..pipeline import Pipeline, PipelineError, load_pipeline, parse_pipeline, short
from ..runs.secrets import is_secret_ref
from .contract import BodyTooLarge, RequestInvalid, parse_json, parse_query, validate_body

Ready = Callable[[], Awaitable[None]]

API = r"/orchest/api"


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
    masks_env = False
    """Whether ``env`` values in this handler's answers are masked (see ``finish``)."""

    def initialize(
        self,
        max_request_body: int,
        ready: Ready | None = None,
        show_env_values: Callable[[], bool] = lambda: False,
    ) -> None:
        self.max_request_body = max_request_body
        self.ready = ready
        self.show_env_values = show_env_values
        self.env_visible = False

    async def prepare(self) -> None:
        await super().prepare()
        if self.masks_env and self.show_env_values() and self.current_user is not None:
            self.env_visible = await self.may_execute()
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

    async def may_execute(self) -> bool:
        """Whether the user may ``execute`` (only then do tokens, and env values with
        ``show_env_values``, reach them)."""
        return bool(
            await ensure_async(
                self.authorizer.is_authorized(
                    self, self.current_user, "execute", self.auth_resource
                )
            )
        )

    def finish(self, chunk: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Answers of a ``masks_env`` handler show ``env`` names but not their values, unless
        the user may ``execute`` and the server's ``show_env_values`` is set."""
        if self.masks_env and not self.env_visible and isinstance(chunk, (dict, list)):
            chunk = mask_env_values(chunk)
        return super().finish(chunk, *args, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = responses.get(status_code, "Unknown HTTP Error")
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        elif isinstance(exc, StorageError):
            status_code, message = storage_status(exc), storage_message(exc)
            self.set_status(status_code)
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
        if isinstance(value, StorageError):
            self.log.warning(
                "orchest_ext: %d %s: %s", storage_status(value), self.request.path, value
            )
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

    def root_relative(self, recorded: str | None) -> str | None:
        """A path as the engine records it (absolute) relative to the server's root dir, the
        way requests give paths; None for none, or for one outside the root."""
        if recorded is None:
            return None
        root = Path(self.serverapp.root_dir).resolve()
        try:
            return Path(recorded).relative_to(root).as_posix()
        except ValueError:
            return None

    def shown_run(self, run: dict[str, Any]) -> dict[str, Any]:
        """A run (or a job) as answers show it: ``pipeline_path`` relative to the root dir."""
        if "pipeline_path" not in run:
            return run
        return {**run, "pipeline_path": self.root_relative(run["pipeline_path"])}

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
            raise pipeline_issues(err) from None


def pipeline_issues(err: PipelineError) -> ApiError:
    """The 422 of an invalid pipeline, with its issues."""
    return ApiError(
        422,
        f"The pipeline has {len(err.issues)} issue(s): {err}",
        [issue.to_dict() for issue in err.issues],
    )


MASKED_VALUE = "***"


def mask_env_values(data: Any) -> Any:
    """``data`` with the value of every ``env`` entry (at any depth) replaced by ``***``;
    secret references ``{"secret": NAME}`` name no value and stay."""
    if isinstance(data, list):
        return [mask_env_values(item) for item in data]
    if not isinstance(data, dict):
        return data
    masked = {}
    for key, value in data.items():
        if key == "env" and isinstance(value, dict):
            masked[key] = {
                name: item if is_secret_ref(item) else MASKED_VALUE for name, item in value.items()
            }
        else:
            masked[key] = mask_env_values(value)
    return masked


def storage_status(err: StorageError) -> int:
    """507 Insufficient Storage for a full filesystem, else 503."""
    return 507 if err.full else 503


def storage_message(err: StorageError) -> str:
    """What a client is told when the server cannot store what it asked for."""
    advice = "free space there and retry" if err.full else "retry later"
    return f"The server cannot store this now: {err}; {advice}."
