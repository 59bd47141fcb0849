"""Server-wide limits: step timeout and max_parallel across runs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from .helpers import make_pipeline, steps_by_title, wait_for_run


@pytest.fixture
def jp_server_config(tmp_path: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"orchest_ext": True}},
        "OrchestApp": {
            "db_path": str(tmp_path / "state" / "orchest.db"),
            "max_parallel": 2,
            "step_timeout": 10.0,
        },
    }


async def test_a_step_over_the_timeout_fails_and_is_killed(api, jp_root_dir):
    make_pipeline(
        jp_root_dir / "p",
        {
            "Slow": ("slow.sh", "sleep 60\n", []),
            "Quick": ("quick.sh", "echo quick\n", []),
            "After": ("after.sh", "echo after\n", ["Slow"]),
        },
    )
    _, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    run = await wait_for_run(api, run["id"])
    steps = steps_by_title(run)
    assert steps["Slow"]["status"] == "FAILURE"
    assert steps["Slow"]["message"] == "timed out after 10 s"
    assert steps["Quick"]["status"] == "SUCCESS"
    assert steps["After"]["status"] == "ABORTED"


async def test_max_parallel_holds_across_runs(api, jp_root_dir):
    for name in ("p1", "p2"):
        make_pipeline(
            jp_root_dir / name,
            {"A": ("a.sh", "sleep 1\n", []), "B": ("b.sh", "sleep 1\n", [])},
        )
    started = time.monotonic()
    runs = [
        (await api("POST", "runs", body={"pipeline_path": f"{name}/pipeline.orchest"}))[1]
        for name in ("p1", "p2")
    ]
    finished = await asyncio.gather(*(wait_for_run(api, run["id"]) for run in runs))
    elapsed = time.monotonic() - started
    assert all(run["status"] == "SUCCESS" for run in finished)
    assert elapsed >= 2.0, "four 1 s steps with max_parallel 2 cannot end in under 2 s"
