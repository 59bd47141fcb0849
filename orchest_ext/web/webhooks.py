"""Webhooks: register, list, show, change, delete; their deliveries; a test delivery."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..notify import ConfiguredWebhook, Notifier, WebhookRequestError
from ..pipeline import short
from .base import API, ApiError, OrchestHandler


class WebhooksBaseHandler(OrchestHandler):
    def initialize(self, notifier: Notifier, **common: Any) -> None:
        super().initialize(**common)
        self.notifier = notifier

    def checked_path(self, body: dict[str, Any]) -> dict[str, Any]:
        """``pipeline_path`` must stay under the server's root dir (it need not exist)."""
        if isinstance(body.get("pipeline_path"), str):
            self.resolve_in_root(body["pipeline_path"], "pipeline_path")
        return body

    def not_found(self, webhook_id: str) -> ApiError:
        return ApiError(404, f"No webhook with id {short(webhook_id)}.")


class WebhooksHandler(WebhooksBaseHandler):
    spec_path = "/webhooks"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish({"webhooks": self.notifier.list()})

    @web.authenticated
    @authorized(action="write")
    async def post(self) -> None:
        body = self.checked_path(await self.json_body())
        try:
            webhook = await self.notifier.create(body)
        except WebhookRequestError as err:
            raise ApiError(400, str(err)) from None
        self.set_status(201)
        self.set_header("Location", f"{self.base_url.rstrip('/')}{API}/webhooks/{webhook['id']}")
        self.finish(webhook)


class WebhookHandler(WebhooksBaseHandler):
    spec_path = "/webhooks/{webhook_id}"

    @web.authenticated
    @authorized
    async def get(self, webhook_id: str) -> None:
        webhook = self.notifier.get(webhook_id)
        if webhook is None:
            raise self.not_found(webhook_id)
        self.finish(webhook)

    @web.authenticated
    @authorized(action="write")
    async def patch(self, webhook_id: str) -> None:
        body = self.checked_path(await self.json_body())
        try:
            webhook = await self.notifier.update(webhook_id, body)
        except ConfiguredWebhook as err:
            raise ApiError(409, str(err)) from None
        except WebhookRequestError as err:
            raise ApiError(400, str(err)) from None
        if webhook is None:
            raise self.not_found(webhook_id)
        self.finish(webhook)

    @web.authenticated
    @authorized(action="write")
    async def delete(self, webhook_id: str) -> None:
        try:
            webhook = await self.notifier.delete(webhook_id)
        except ConfiguredWebhook as err:
            raise ApiError(409, str(err)) from None
        if webhook is None:
            raise self.not_found(webhook_id)
        self.finish(webhook)


class WebhookDeliveriesHandler(WebhooksBaseHandler):
    spec_path = "/webhooks/{webhook_id}/deliveries"

    @web.authenticated
    @authorized
    async def get(self, webhook_id: str) -> None:
        query = self.query()
        found = await self.notifier.deliveries(webhook_id, query["limit"], query["offset"])
        if found is None:
            raise self.not_found(webhook_id)
        deliveries, total = found
        self.finish({"deliveries": deliveries, "total": total})


class WebhookTestHandler(WebhooksBaseHandler):
    spec_path = "/webhooks/{webhook_id}/test"

    @web.authenticated
    @authorized(action="write")
    async def post(self, webhook_id: str) -> None:
        delivery_id = await self.notifier.send_test(webhook_id)
        if delivery_id is None:
            raise self.not_found(webhook_id)
        self.set_status(202)
        self.finish({"delivery_id": delivery_id})
