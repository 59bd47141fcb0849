"""Webhook registrations: the events they take, where they post, and how a request for one
is checked."""

from __future__ import annotations

import ast
import hashlib
import json
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from traitlets import Dict, List, TraitError

from ..pipeline import short, short_list

EVENTS = (
    "run.started",
    "run.succeeded",
    "run.failed",
    "run.aborted",
    "step.failed",
    "job.run_failed",
    "job.paused",
)
"""The events a webhook can take."""
TEST_EVENT = "webhook.test"
"""The event ``POST webhooks/{id}/test`` sends (to that webhook only)."""
FORMATS = ("json", "slack")
"""``json``: the event as a JSON document; ``slack``: ``{"text": ...}`` for chat webhooks."""
API, CONFIG = "api", "config"
"""Where a webhook comes from: the REST API, or ``OrchestApp.webhooks`` (read-only)."""
FIELDS = ("url", "events", "secret", "format", "job_uuid", "pipeline_path")


class WebhookRequestError(ValueError):
    """A webhook request that cannot be taken; ``field`` names what is wrong."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass
class Webhook:
    """A registered webhook. ``pipeline_path`` is as given (relative to the server's root
    dir); ``job_uuid`` and ``pipeline_path`` narrow the events to one job or pipeline."""

    id: str
    url: str
    events: list[str]
    secret: str | None = None
    format: str = "json"
    job_uuid: str | None = None
    pipeline_path: str | None = None
    origin: str = API
    created_time: str = ""
    updated_time: str = ""
    matched_path: str | None = field(default=None, compare=False)
    """``pipeline_path`` resolved against the root dir (what run paths are compared with)."""

    def to_row(self) -> dict[str, Any]:
        """The webhook as the store keeps it."""
        return {name: getattr(self, name) for name in ROW_FIELDS}

    def to_public(self) -> dict[str, Any]:
        """The webhook as the API shows it: never its secret, only whether it has one."""
        public = {name: getattr(self, name) for name in ROW_FIELDS if name != "secret"}
        return {**public, "has_secret": bool(self.secret)}

    def wants(self, event: str, pipeline_path: str | None, job_id: str | None) -> bool:
        """Whether an event of this pipeline file (absolute) and job is for this webhook."""
        if event not in self.events:
            return False
        if self.job_uuid is not None and job_id != self.job_uuid:
            return False
        return self.matched_path is None or pipeline_path == self.matched_path


ROW_FIELDS = (
    "id",
    "url",
    "events",
    "secret",
    "format",
    "job_uuid",
    "pipeline_path",
    "origin",
    "created_time",
    "updated_time",
)


def check_fields(body: dict[str, Any], creating: bool) -> dict[str, Any]:
    """The webhook fields of a request, checked (a new webhook needs ``url`` and ``events``)."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise WebhookRequestError(unknown[0], f"unknown field; known: {', '.join(FIELDS)}")
    if creating:
        for name in ("url", "events"):
            if name not in body:
                raise WebhookRequestError(name, "is required")
    if "url" in body:
        check_url(body["url"])
    if "events" in body:
        check_events(body["events"])
    if body.get("format", "json") not in FORMATS:
        raise WebhookRequestError("format", f"must be one of {', '.join(FORMATS)}")
    for name in ("secret", "job_uuid", "pipeline_path"):
        value = body.get(name)
        if value is not None and not (isinstance(value, str) and value):
            raise WebhookRequestError(name, "must be a non-empty string or null")
    return dict(body)


def check_url(url: Any) -> None:
    if not isinstance(url, str):
        raise WebhookRequestError("url", "must be a string")
    try:
        parts = urlsplit(url)
    except ValueError as err:
        raise WebhookRequestError("url", f"{short(url)} is not a URL: {err}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRequestError("url", f"{short(url)} is not an http or https URL with a host")


def check_events(events: Any) -> None:
    if not isinstance(events, list) or not events:
        raise WebhookRequestError("events", "must be a non-empty list of event names")
    unknown = [event for event in events if event not in EVENTS]
    if unknown:
        raise WebhookRequestError(
            "events", f"unknown event {short_list(unknown)}; known: {', '.join(EVENTS)}"
        )


def new_webhook(fields: dict[str, Any], time: str) -> Webhook:
    """A webhook made through the API from checked fields."""
    return Webhook(
        id=uuidlib.uuid4().hex,
        **{name: fields[name] for name in FIELDS if fields.get(name) is not None},
        created_time=time,
        updated_time=time,
    )


def configured_webhook(fields: dict[str, Any], time: str) -> Webhook:
    """A webhook of ``OrchestApp.webhooks``; its id stays the same while its url and events
    do, so its deliveries are kept across restarts."""
    checked = check_fields(fields, creating=True)
    identity = f"{checked['url']} {' '.join(sorted(checked['events']))}"
    webhook_id = "config-" + hashlib.sha256(identity.encode()).hexdigest()[:16]
    return Webhook(
        id=webhook_id,
        **{name: checked[name] for name in FIELDS if checked.get(name) is not None},
        origin=CONFIG,
        created_time=time,
        updated_time=time,
    )


class WebhookList(List):
    """The trait of ``OrchestApp.webhooks``: webhooks of the whole server, each checked like
    a ``POST webhooks`` body."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help",
            "Webhooks of the whole server, for administrators: each a dict like the body of "
            "POST /orchest/api/webhooks ({'url': ..., 'events': [...], 'secret': ..., "
            "'format': 'json' or 'slack', 'job_uuid': ..., 'pipeline_path': ...}). The API "
            "lists them with origin 'config'; they change only here.",
        )
        super().__init__(Dict(), **kwargs)

    def item_from_string(self, s: str, index: int | None = None) -> Any:
        """One webhook on the command line: a Python or JSON dict literal
        (``--OrchestApp.webhooks="{'url': ..., 'events': [...]}"``, once per webhook)."""
        try:
            return ast.literal_eval(s)
        except (ValueError, SyntaxError):
            return json.loads(s)

    def from_string(self, s: str) -> Any:
        """The value of one command-line argument: a webhook, or a list of them."""
        value = self.item_from_string(s)
        return [value] if isinstance(value, dict) else value

    def validate(self, obj: Any, value: Any) -> Any:
        value = super().validate(obj, value)
        for index, fields in enumerate(value):
            try:
                check_fields(fields, creating=True)
            except WebhookRequestError as err:
                raise TraitError(f"OrchestApp.webhooks[{index}]: {err}") from None
        return value
