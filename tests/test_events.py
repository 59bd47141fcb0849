"""Run and step status events over the Jupyter event bus websocket."""

from __future__ import annotations

import asyncio
import json
import time

from orchest_ext.events import RUN_STATUS, STEP_STATUS

from .helpers import assert_no_step_containers, make_pipeline, wait_for_run


async def collect_run_events(ws, run_id: str, timeout: float = 60) -> list[dict]:
    """Read events of ``run_id`` until its run_status event is terminal."""
    events = []
    deadline = time.monotonic() + timeout
    while True:
        message = await asyncio.wait_for(ws.read_message(), deadline - time.monotonic())
        assert message is not None, "the events websocket closed"
        event = json.loads(message)
        if event.get("run_id") != run_id:
            continue
        events.append(event)
        if event["schema_id"] == RUN_STATUS and event["status"] in (
            "SUCCESS",
            "FAILURE",
            "ABORTED",
        ):
            return events


async def test_events_arrive_in_order_without_gaps(api, backend, jp_ws_fetch, jp_root_dir):
    make_pipeline(
        jp_root_dir / "p",
        {
            "A": ("a.sh", "echo a\n", []),
            "B": ("b.sh", "echo b\n", ["A"]),
            "C": ("c.py", "print('c')\n", ["A"]),
            "D": ("d.sh", "exit 2\n", ["B", "C"]),
        },
    )
    ws = await jp_ws_fetch("api", "events", "subscribe")
    code, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": backend}
    )
    assert code == 202
    events = await collect_run_events(ws, run["id"])
    ws.close()

    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["schema_id"] == RUN_STATUS and events[0]["status"] == "PENDING"
    assert events[-1]["status"] == "FAILURE"
    by_step: dict[str, list[str]] = {}
    for event in events:
        if event["schema_id"] == STEP_STATUS:
            assert event["run_id"] == run["id"]
            assert event["pipeline_uuid"] == run["pipeline_uuid"]
            by_step.setdefault(event["title"], []).append(event["status"])
    assert by_step == {
        "A": ["STARTED", "SUCCESS"],
        "B": ["STARTED", "SUCCESS"],
        "C": ["STARTED", "SUCCESS"],
        "D": ["STARTED", "FAILURE"],
    }
    final = await wait_for_run(api, run["id"])
    assert final["seq"] == events[-1]["seq"]


async def test_aborted_steps_emit_events(api, backend, jp_ws_fetch, jp_root_dir):
    make_pipeline(
        jp_root_dir / "p",
        {"Slow": ("slow.sh", "sleep 60\n", []), "Next": ("next.sh", "echo next\n", ["Slow"])},
    )
    ws = await jp_ws_fetch("api", "events", "subscribe")
    _, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": backend}
    )
    deadline = time.monotonic() + 60
    while (await api("GET", "runs", run["id"]))[1]["status"] != "STARTED":
        assert time.monotonic() < deadline, "the run never started"
        await asyncio.sleep(0.05)
    await api("DELETE", "runs", run["id"])
    events = await collect_run_events(ws, run["id"])
    ws.close()
    statuses = [(e.get("title"), e["status"]) for e in events]
    assert ("Slow", "ABORTED") in statuses and ("Next", "ABORTED") in statuses
    assert statuses[-1] == (None, "ABORTED")
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    # An abort landing while a container is being created (the step's own, or its child's
    # created ahead) removes it once the create returns; nothing of the run is left, in any
    # state (containers created ahead are removed in the background: wait for it).
    await assert_no_step_containers({**run, "backend": backend})
