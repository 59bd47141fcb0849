"""Webhooks: registration through the API (secrets never shown, bad events and URLs refused
naming them), deliveries to real receivers on loopback, signed with HMAC-SHA256, retried
with backoff when the receiver fails, bounded by a timeout when it hangs, never holding up
a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .helpers import make_pipeline, until, wait_for_run
from .webhook_support import Receiver

SECRET = "s3cret"
ALL_RUN_EVENTS = ["run.started", "run.succeeded", "run.failed", "run.aborted", "step.failed"]


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    config = json.loads(json.dumps(jp_server_config))
    config["WebhookDelivery"] = {"retry_delay": 0.2, "timeout": 2.0, "max_attempts": 3}
    return config


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def failing_pipeline(jp_root_dir: Path) -> dict[str, str]:
    """``p/pipeline.orchest``: A succeeds, B fails with a message, C (after A) succeeds."""
    return make_pipeline(
        jp_root_dir / "p",
        {
            "A": ("a.sh", "echo a\n", []),
            "B": ("b.sh", "echo broken >&2; exit 3\n", []),
            "C": ("c.sh", "echo c\n", ["A"]),
        },
    )[1]


async def register(api, url: str, events: list[str], **fields: Any) -> dict[str, Any]:
    code, webhook = await api("POST", "webhooks", body={"url": url, "events": events, **fields})
    assert code == 201, webhook
    return webhook


async def test_a_webhook_is_registered_listed_changed_and_deleted_without_its_secret(api):
    webhook = await register(api, "https://example.org/hook", ["run.failed"], secret=SECRET)
    assert webhook["has_secret"] is True and "secret" not in webhook
    assert webhook["format"] == "json" and webhook["origin"] == "api"
    code, listed = await api("GET", "webhooks")
    assert code == 200 and [w["id"] for w in listed["webhooks"]] == [webhook["id"]]
    assert SECRET not in json.dumps(listed)
    body = {"events": ["run.failed", "job.paused"], "secret": None, "format": "slack"}
    code, changed = await api("PATCH", "webhooks", webhook["id"], body=body)
    assert code == 200, changed
    assert changed["events"] == ["run.failed", "job.paused"]
    assert changed["has_secret"] is False and changed["format"] == "slack"
    code, shown = await api("GET", "webhooks", webhook["id"])
    assert code == 200 and shown == changed
    code, _ = await api("DELETE", "webhooks", webhook["id"])
    assert code == 200
    code, reply = await api("GET", "webhooks", webhook["id"])
    assert code == 404 and webhook["id"][:8] in reply["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"url": "https://x.org", "events": ["run.failed", "run.exploded"]}, ["run.exploded"]),
        ({"url": "ftp://x.org/hook", "events": ["run.failed"]}, ["url", "http or https"]),
        ({"url": "file:///etc/passwd", "events": ["run.failed"]}, ["url", "http or https"]),
        ({"url": "https://x.org", "events": []}, ["events"]),
        ({"url": "https://x.org", "events": ["run.failed"], "format": "xml"}, ["format"]),
        ({"events": ["run.failed"]}, ["url"]),
        ({"url": "https://x.org", "events": ["run.failed"], "colour": 1}, ["colour"]),
        (
            {"url": "https://x.org", "events": ["run.failed"], "pipeline_path": "../out"},
            ["pipeline_path"],
        ),
    ],
    ids=["unknown-event", "ftp", "file", "no-events", "format", "no-url", "unknown", "outside"],
)
async def test_bad_webhooks_are_400_naming_what_is_wrong(api, body, words):
    code, reply = await api("POST", "webhooks", body=body)
    assert code == 400, reply
    for word in words:
        assert word in reply["message"]
    code, listed = await api("GET", "webhooks")
    assert listed["webhooks"] == []


async def test_a_run_is_reported_signed_with_its_failed_steps(api, receiver, failing_pipeline):
    await register(api, receiver.url, ALL_RUN_EVENTS, secret=SECRET)
    code, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, run
    assert (await wait_for_run(api, run["id"]))["status"] == "FAILURE"
    (failed,) = await receiver.arrived("run.failed")
    (step_failed,) = await receiver.arrived("step.failed")
    (started,) = await receiver.arrived("run.started")
    for delivery in (failed, step_failed, started):
        assert delivery.signed_with(SECRET)
        assert not delivery.signed_with("another secret")
        assert delivery.headers["X-Orchest-Delivery"] == delivery.body["delivery_id"]
    body = failed.body
    assert body["event"] == "run.failed" and body["run_id"] == run["id"]
    assert body["status"] == "FAILURE" and body["job_id"] is None
    assert body["pipeline"]["name"] == "test-pipeline"
    assert body["pipeline"]["path"].endswith("p/pipeline.orchest")
    assert body["started_time"] and body["finished_time"]
    assert [(s["title"], s["uuid"]) for s in body["failed_steps"]] == [("B", failing_pipeline["B"])]
    assert body["failed_steps"][0]["message"]
    assert step_failed.body["step"]["title"] == "B"
    assert receiver.received("run.succeeded") == []


async def test_a_receiver_that_fails_first_gets_the_delivery_again(api, failing_pipeline):
    receiver = Receiver(fail_first=1).start()
    try:
        webhook = await register(api, receiver.url, ["run.failed"])
        code, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
        await wait_for_run(api, run["id"])
        await receiver.arrived("run.failed")
        assert [d.status for d in receiver.deliveries] == [500, 200]
        first, second = receiver.deliveries
        assert (
            first.raw == second.raw
            and first.headers["X-Orchest-Delivery"] == (second.headers["X-Orchest-Delivery"])
        )
        code, page = await api("GET", "webhooks", webhook["id"], "deliveries")
        assert code == 200 and page["total"] == 1
        (delivery,) = page["deliveries"]
        assert delivery["state"] == "delivered" and delivery["event"] == "run.failed"
        attempts = delivery["attempts"]
        assert [a["status_code"] for a in attempts] == [500, 200]
        assert "500" in attempts[0]["error"] and attempts[1]["error"] is None
        assert all(a["duration_ms"] >= 0 and a["time"] for a in attempts)
    finally:
        receiver.stop()


async def test_a_hanging_receiver_times_out_and_holds_up_nothing(
    api, jp_root_dir, failing_pipeline
):
    hanging = Receiver(hang=True).start()
    try:
        webhook = await register(api, hanging.url, ALL_RUN_EVENTS)
        code, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
        assert (await wait_for_run(api, run["id"]))["status"] == "FAILURE"
        code, _ = await api("GET", "runs")
        assert code == 200

        # Each attempt ends at the 2 s timeout; after 3 attempts a delivery has failed.
        async def all_failed() -> dict | None:
            _, page = await api("GET", "webhooks", webhook["id"], "deliveries")
            failed = page["deliveries"] and all(d["state"] == "failed" for d in page["deliveries"])
            return page if failed else None

        page = await until(all_failed, "every delivery to give up")
        attempts = [a for d in page["deliveries"] for a in d["attempts"]]
        assert attempts and all(a["status_code"] is None for a in attempts)
        assert all("imeout" in a["error"] for a in attempts), attempts
    finally:
        hanging.stop()


async def test_slack_format_posts_text(api, receiver, failing_pipeline):
    await register(api, receiver.url, ["run.failed"], format="slack")
    code, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, run
    await wait_for_run(api, run["id"])
    (delivery,) = await receiver.arrived("run.failed")
    assert list(delivery.body) == ["text"]
    assert "test-pipeline" in delivery.body["text"] and "B" in delivery.body["text"]
    assert "X-Orchest-Signature" not in delivery.headers


async def test_filters_and_the_test_event(api, receiver, jp_root_dir, failing_pipeline):
    make_pipeline(jp_root_dir / "q", {"A": ("a.sh", "exit 1\n", [])})
    mine = await register(api, receiver.url, ["run.failed"], pipeline_path="q/pipeline.orchest")
    code, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, run
    await wait_for_run(api, run["id"])
    code, other = await api("POST", "runs", body={"pipeline_path": "q/pipeline.orchest"})
    await wait_for_run(api, other["id"])
    (delivery,) = await receiver.arrived("run.failed")
    assert delivery.body["run_id"] == other["id"]
    code, reply = await api("POST", "webhooks", mine["id"], "test")
    assert code == 202, reply
    (test,) = await receiver.arrived("webhook.test")
    assert test.body["delivery_id"] == reply["delivery_id"]
    code, _ = await api("POST", "webhooks", "nope", "test")
    assert code == 404


async def test_job_events(api, receiver, failing_pipeline):
    webhook = await register(api, receiver.url, ["job.run_failed", "job.paused"])
    code, job = await api("POST", "jobs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code == 201, job
    (failed,) = await receiver.arrived("job.run_failed")
    assert failed.body["job_id"] == job["id"] and failed.body["status"] == "FAILURE"
    code, later = await api(
        "POST",
        "jobs",
        body={"pipeline_path": "p/pipeline.orchest", "schedule": {"cron": "0 3 * * *"}},
    )
    code, _ = await api("PATCH", "jobs", later["id"], body={"paused": True})
    assert code == 200
    (paused,) = await receiver.arrived("job.paused")
    assert paused.body["job_id"] == later["id"] and paused.body["status"] == "PAUSED"
    code, page = await api("GET", "webhooks", webhook["id"], "deliveries")
    assert {d["event"] for d in page["deliveries"]} == {"job.run_failed", "job.paused"}
