"""What this server offers: its backends (and whether each can run steps now), its health
and the OpenAPI description of its API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..executors.base import Executor, unavailable_reason
from .base import OrchestHandler
from .contract import spec_text


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


class HealthHandler(OrchestHandler):
    """200 when the server can run pipelines, else 503; either way the report says why."""

    spec_path = "/health"

    def initialize(self, health: Callable[[], Awaitable[dict[str, Any]]], **common: Any) -> None:
        super().initialize(**common)
        self.health = health

    @web.authenticated
    @authorized
    async def get(self) -> None:
        report = await self.health()
        self.set_status(200 if report["healthy"] else 503)
        self.finish(report)


class OpenAPIHandler(OrchestHandler):
    spec_path = "/openapi.yaml"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(await asyncio.to_thread(spec_text), set_content_type="application/yaml")
