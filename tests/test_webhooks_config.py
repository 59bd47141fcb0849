"""Webhooks of the whole server (``OrchestApp.webhooks``): listed by the API as configured,
read-only there, and delivered like the others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .helpers import make_pipeline, wait_for_run
from .webhook_support import Receiver

RECEIVER = Receiver()


@pytest.fixture(scope="module", autouse=True)
def receiver():
    RECEIVER.start()
    yield RECEIVER
    RECEIVER.stop()


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    config = json.loads(json.dumps(jp_server_config))
    config["OrchestApp"]["webhooks"] = [
        {"url": RECEIVER.url, "events": ["run.failed"], "secret": "admin", "format": "slack"}
    ]
    return config


async def test_configured_webhooks_are_listed_read_only_and_delivered(
    api, receiver, jp_root_dir: Path
):
    code, listed = await api("GET", "webhooks")
    assert code == 200
    (webhook,) = listed["webhooks"]
    assert webhook["origin"] == "config" and webhook["has_secret"] is True
    assert webhook["id"].startswith("config-") and "admin" not in json.dumps(listed)
    code, reply = await api("PATCH", "webhooks", webhook["id"], body={"events": ["run.aborted"]})
    assert code == 409 and "OrchestApp.webhooks" in reply["message"]
    code, reply = await api("DELETE", "webhooks", webhook["id"])
    assert code == 409

    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "exit 1\n", [])})
    code, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, run
    await wait_for_run(api, run["id"])
    (delivery,) = await receiver.arrived("run.failed")
    assert delivery.signed_with("admin") and "text" in delivery.body
