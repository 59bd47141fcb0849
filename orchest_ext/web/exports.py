"""Exports: write a pipeline for Airflow, Kubeflow Pipelines or Argo Workflows next to it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..executors.base import Executor
from ..export.plan import ExportError, ExportOptions
from ..export.write import export_next_to
from ..pipeline import PipelineError
from .base import ApiError, OrchestHandler, pipeline_issues


class ExportHandler(OrchestHandler):
    """``POST pipelines/export``: the files written, relative to the root dir."""

    spec_path = "/pipelines/export"

    def initialize(self, backends: Mapping[str, Executor], **common: Any) -> None:
        super().initialize(**common)
        self.backends = backends

    def export_options(self, body: dict[str, Any]) -> ExportOptions:
        """The request's options; images default to the docker backend's settings."""
        defaults: dict[str, Any] = {}
        docker = self.backends.get("docker")
        for name in ("default_image", "environment_images"):
            if docker is not None and hasattr(docker, name):
                defaults[name] = getattr(docker, name)
        fields = {key: value for key, value in body.items() if key != "pipeline_path"}
        if "image" in fields:
            defaults["default_image"] = fields.pop("image")
        return ExportOptions(**defaults, **fields)

    @web.authenticated
    @authorized(action="write")
    async def post(self) -> None:
        body = await self.json_body()
        path = await self.existing(body["pipeline_path"], "pipeline_path", "file")
        try:
            written = await asyncio.to_thread(export_next_to, path, self.export_options(body))
        except PipelineError as err:
            raise pipeline_issues(err) from None
        except ExportError as err:
            raise ApiError(400, f"{err.field}: {err}" if err.field else str(err)) from None
        except OSError as err:
            raise ApiError(400, f"Cannot write the export: {err.strerror or err}.") from None
        root = Path(self.serverapp.root_dir).resolve()
        files = [file.relative_to(root).as_posix() for file in written]
        self.finish({"target": body["target"], "files": files})
