"""The webhook outbox is durable: a delivery that failed before the server was killed with
SIGKILL is sent by the next server process on the same store (at least once)."""

from __future__ import annotations

import time
from pathlib import Path

from .helpers import make_pipeline
from .server import ServerProcess, free_port
from .webhook_support import Receiver

SECRET = "restart-secret"
ARGS = ["--WebhookDelivery.retry_delay=0.3", "--WebhookDelivery.max_attempts=100"]


def wait_for_attempts(server: ServerProcess, webhook_id: str, timeout: float = 60) -> dict:
    """The webhook's only delivery once at least one attempt of it failed."""
    deadline = time.monotonic() + timeout
    while True:
        code, page = server.request("GET", f"/orchest/api/webhooks/{webhook_id}/deliveries")
        assert code == 200, page
        if page["deliveries"] and page["deliveries"][0]["attempts"]:
            return page["deliveries"][0]
        assert time.monotonic() < deadline, page
        time.sleep(0.1)


def test_a_delivery_that_failed_before_kill_9_is_sent_after_the_restart(tmp_path: Path):
    root = tmp_path / "root"
    make_pipeline(root / "p", {"A": ("a.sh", "echo failing >&2; exit 1\n", [])})
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"  # nothing listens yet: every attempt fails
    server = ServerProcess(root, tmp_path / "state", ARGS).start()
    receiver = Receiver()
    try:
        code, webhook = server.request(
            "POST",
            "/orchest/api/webhooks",
            {"url": url, "events": ["run.failed"], "secret": SECRET},
        )
        assert code == 201, webhook
        code, run = server.request(
            "POST", "/orchest/api/runs", {"pipeline_path": "p/pipeline.orchest"}
        )
        assert code == 202, run
        assert server.wait_for_run(run["id"])["status"] == "FAILURE"
        before = wait_for_attempts(server, webhook["id"])
        assert before["state"] == "pending" and before["attempts"][0]["status_code"] is None
        server.kill()

        receiver.start(port)
        server = ServerProcess(root, tmp_path / "state", ARGS).start()
        (delivery,) = receiver.wait_for("run.failed")
        assert delivery.signed_with(SECRET)
        assert delivery.body["run_id"] == run["id"]
        assert delivery.body["delivery_id"] == before["id"]
        assert [s["title"] for s in delivery.body["failed_steps"]] == ["A"]
        deadline = time.monotonic() + 30
        while True:
            code, page = server.request("GET", f"/orchest/api/webhooks/{webhook['id']}/deliveries")
            (after,) = page["deliveries"]
            if after["state"] == "delivered":
                break
            assert time.monotonic() < deadline, page
            time.sleep(0.1)
        assert after["attempts"][-1]["status_code"] == 200
        assert all(a["error"] for a in after["attempts"][:-1])
    finally:
        server.stop()
        receiver.stop()
