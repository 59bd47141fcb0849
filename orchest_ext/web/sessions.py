"""Interactive pipeline sessions: launch, list, look up, stop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..executors.base import ExecutorUnavailable
from ..pipeline import short
from ..sessions import PipelineSessionManager, SessionExists
from .base import API, ApiError, OrchestHandler


class SessionsBaseHandler(OrchestHandler):
    def initialize(self, sessions: PipelineSessionManager, **common: Any) -> None:
        super().initialize(**common)
        self.sessions = sessions

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
        launches = [await self.shown(launch) for launch in self.sessions.list()]
        try:
            await self.sessions.check_available(self.sessions.backend)
        except ExecutorUnavailable as err:
            reason: str | None = str(err)
        else:
            reason = None
        self.finish({"launches": launches, "available": reason is None, "reason": reason})

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
