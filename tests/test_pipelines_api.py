"""GET pipelines (the pipeline files under the root) and the pipeline_path filter of GET runs."""

from __future__ import annotations

import shutil
from pathlib import Path

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
