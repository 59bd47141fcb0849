"""GET pipelines (the pipeline files under the root) and the pipeline_path filter of GET runs."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from orchest_ext.pipeline.discovery import PipelineFinder

from .helpers import make_pipeline, wait_for_run

EXAMPLES = Path(__file__).parent.parent / "examples"


async def test_lists_pipeline_files_with_their_newest_run(api, jp_root_dir):
    shutil.copytree(EXAMPLES / "quickstart", jp_root_dir / "quickstart")
    shutil.copytree(EXAMPLES / "elyra", jp_root_dir / "nested" / "elyra")
    make_pipeline(jp_root_dir / "hidden" / ".secret", {"A": ("a.sh", "true\n", [])})
    make_pipeline(jp_root_dir / "node_modules" / "x", {"A": ("a.sh", "true\n", [])})
    (jp_root_dir / "broken.orchest").write_text("{not json")

    code, body = await api("GET", "pipelines")
    assert code == 200, body
    listed = {p["path"]: p for p in body["pipelines"]}
    assert sorted(listed) == [
        "broken.orchest",
        "nested/elyra/hello.pipeline",
        "quickstart/quickstart.orchest",
    ]
    assert not body["truncated"]
    quickstart = listed["quickstart/quickstart.orchest"]
    assert quickstart["format"] == "orchest" and quickstart["name"] == "quickstart"
    assert quickstart["steps"] == 5 and quickstart["issues"] == 0
    assert quickstart["last_run"] is None
    assert listed["nested/elyra/hello.pipeline"]["format"] == "elyra"
    assert listed["broken.orchest"]["error"] and listed["broken.orchest"]["uuid"] is None

    first = (await api("POST", "runs", body={"pipeline_path": "quickstart/quickstart.orchest"}))[1]
    await wait_for_run(api, first["id"])
    second = (
        await api(
            "POST",
            "runs",
            body={
                "pipeline_path": "quickstart/quickstart.orchest",
                "run_type": "selection",
                "uuids": ["Load data"],
            },
        )
    )[1]
    _, body = await api("GET", "pipelines")
    last_run = {p["path"]: p for p in body["pipelines"]}["quickstart/quickstart.orchest"][
        "last_run"
    ]
    assert last_run["id"] == second["id"] and last_run["run_type"] == "selection"
    assert "steps" not in last_run
    await wait_for_run(api, second["id"])


async def test_runs_filtered_by_pipeline_path(api, jp_root_dir):
    make_pipeline(jp_root_dir / "a", {"A": ("a.sh", "true\n", [])})
    make_pipeline(jp_root_dir / "b", {"B": ("b.sh", "true\n", [])})
    run_a = (await api("POST", "runs", body={"pipeline_path": "a/pipeline.orchest"}))[1]
    run_b = (await api("POST", "runs", body={"pipeline_path": "b/pipeline.orchest"}))[1]
    await wait_for_run(api, run_a["id"])
    await wait_for_run(api, run_b["id"])

    code, body = await api("GET", "runs", pipeline_path="a/pipeline.orchest")
    assert code == 200 and [r["id"] for r in body["runs"]] == [run_a["id"]]
    assert body["total"] == 1
    code, body = await api("GET", "runs", pipeline_path="./b/../b/pipeline.orchest")
    assert [r["id"] for r in body["runs"]] == [run_b["id"]]
    code, body = await api("GET", "runs", pipeline_path="../outside.orchest")
    assert code == 400 and "pipeline_path" in body["message"]


async def test_validate_names_the_valid_pipeline(api, jp_root_dir):
    shutil.copytree(EXAMPLES / "quickstart", jp_root_dir / "quickstart")
    code, body = await api(
        "POST", "pipelines/validate", body={"pipeline_path": "quickstart/quickstart.orchest"}
    )
    assert code == 200 and body["valid"]
    assert body["pipeline"] == {
        "uuid": "3f6d1c0e-8a7b-4e55-a0f1-5d3c1e2b9a10",
        "name": "quickstart",
    }
    code, body = await api(
        "POST",
        "pipelines/validate",
        body={"pipeline_description": {"name": "x", "steps": 3}, "pipeline_dir": ""},
    )
    assert code == 200 and not body["valid"] and body["pipeline"] is None


async def test_concurrent_listings_while_files_change(api, jp_root_dir):
    """Many GET pipelines at once while another thread writes, rewrites and deletes pipeline
    files: every answer is a 200 with a consistent list, and a new file shows up."""
    for index in range(5):
        make_pipeline(jp_root_dir / f"p{index}", {"A": ("a.sh", "true\n", [])})
    stop = threading.Event()

    def churn() -> None:
        round_ = 0
        while not stop.is_set():
            directory = jp_root_dir / f"churn{round_ % 4}"
            if directory.exists():
                shutil.rmtree(directory, ignore_errors=True)
            else:
                make_pipeline(directory, {"A": ("a.sh", "true\n", [])}, name=f"n{round_}")
            pipeline = jp_root_dir / f"p{round_ % 5}" / "pipeline.orchest"
            pipeline.write_text(pipeline.read_text())
            round_ += 1

    writer = threading.Thread(target=churn, daemon=True)
    writer.start()
    try:
        for _ in range(10):
            answers = await asyncio.gather(*(api("GET", "pipelines") for _ in range(10)))
            for code, body in answers:
                assert code == 200, body
                paths = [p["path"] for p in body["pipelines"]]
                assert paths == sorted(paths) and len(paths) == len(set(paths))
                assert {f"p{i}/pipeline.orchest" for i in range(5)} <= set(paths)
    finally:
        stop.set()
        writer.join(timeout=10)

    make_pipeline(jp_root_dir / "late", {"A": ("a.sh", "true\n", [])})
    deadline = time.monotonic() + 30
    while True:
        code, body = await api("GET", "pipelines")
        if "late/pipeline.orchest" in {p["path"] for p in body["pipelines"]}:
            break
        assert time.monotonic() < deadline, "a new pipeline file never showed up"
        await asyncio.sleep(0.2)


def test_finder_shared_between_threads(tmp_path):
    """The finder itself, called from 8 threads while files come and go, never raises (a file
    deleted between the walk and the read is left out)."""
    for index in range(100):
        make_pipeline(tmp_path / f"s{index}", {"A": ("a.sh", "true\n", [])})
    finder = PipelineFinder(tmp_path, walk_ttl=0)
    stop = threading.Event()

    def churn() -> None:
        round_ = 0
        while not stop.is_set():
            directory = tmp_path / f"d{round_ % 20}"
            if directory.exists():
                shutil.rmtree(directory, ignore_errors=True)
            else:
                make_pipeline(directory, {"A": ("a.sh", "true\n", [])})
            round_ += 1

    def list_many() -> None:
        for _ in range(30):
            summaries, _ = finder.find()
            assert all(s["error"] is None for s in summaries if s["path"].startswith("s"))

    writer = threading.Thread(target=churn, daemon=True)
    writer.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            for future in [pool.submit(list_many) for _ in range(8)]:
                future.result(timeout=120)
    finally:
        stop.set()
        writer.join(timeout=10)
