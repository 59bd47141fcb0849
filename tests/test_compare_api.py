"""Two runs side by side: GET runs/compare says what differs between the pipelines two runs
ran (steps added and removed, parameters, code by content hash, connections) and how each
step ran in each, from what the runs stored; GET runs/compare/notebook diffs a notebook
step's executed notebooks with nbdime. Answers are what the OpenAPI document describes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from orchest_ext.web.contract import spec

from .helpers import make_pipeline, notebook, wait_for_run


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({**spec(), "$ref": f"#/components/schemas/{name}"})


async def run_to_end(api, body: dict[str, Any]) -> dict[str, Any]:
    code, started = await api("POST", "runs", body=body)
    assert code == 202, started
    finished = await wait_for_run(api, started["id"])
    assert finished["status"] == "SUCCESS", finished
    return finished


RECORD = (
    "import orchest\norchest.log_metric('loss', 1 - lr)\norchest.output({'lr': lr}, name='config')"
)


def train_notebook(last: str) -> str:
    """A notebook whose parameter ``lr`` (tagged cell) sets a metric and an output."""
    return notebook("lr = 0.1", RECORD, last, tags={0: ["parameters"]})


async def run_twice(api, jp_root_dir: Path) -> dict[str, Any]:
    """Run ``p`` (Load -> Train (notebook) -> Report, Extra), then change Train's parameter
    and code, remove Extra, add Plot after Train, change a pipeline parameter, run again."""
    pipeline_file, uuids = make_pipeline(
        jp_root_dir / "p",
        {
            "Load": ("load.sh", "echo load\n", []),
            "Train": ("train.ipynb", train_notebook("print('lr', lr)"), ["Load"]),
            "Report": ("report.sh", "echo report\n", ["Train"]),
            "Extra": ("extra.sh", "echo extra\n", []),
        },
    )
    description = json.loads(pipeline_file.read_text())
    description["parameters"] = {"seed": 1}
    description["steps"][uuids["Train"]]["parameters"] = {"lr": 0.1}
    pipeline_file.write_text(json.dumps(description))
    first = await run_to_end(api, {"pipeline_path": "p/pipeline.orchest"})

    (jp_root_dir / "p" / "train.ipynb").write_text(train_notebook("print('learning rate', lr * 2)"))
    (jp_root_dir / "p" / "plot.sh").write_text("echo plot\n")
    description["parameters"] = {"seed": 2}
    description["steps"][uuids["Train"]]["parameters"] = {"lr": 0.5}
    del description["steps"][uuids["Extra"]]
    plot = {**description["steps"][uuids["Report"]], "uuid": "plot-step", "title": "Plot"}
    description["steps"]["plot-step"] = {**plot, "file_path": "plot.sh"}
    description["steps"]["plot-step"]["incoming_connections"] = [uuids["Train"]]
    pipeline_file.write_text(json.dumps(description))
    second = await run_to_end(api, {"pipeline_path": "p/pipeline.orchest"})
    return {"a": first, "b": second, "uuids": {**uuids, "Plot": "plot-step"}}


async def test_two_runs_show_added_removed_and_changed_steps(api, jp_root_dir):
    two_runs = await run_twice(api, jp_root_dir)
    a, b, uuids = two_runs["a"], two_runs["b"], two_runs["uuids"]
    code, diff = await api("GET", "runs", "compare", a=a["id"], b=b["id"])
    assert code == 200, diff
    validator("Comparison").validate(diff)
    assert diff["same_pipeline"] is True
    assert (diff["a"]["id"], diff["b"]["id"]) == (a["id"], b["id"])
    assert diff["a"]["pipeline_path"] == diff["b"]["pipeline_path"] == "p/pipeline.orchest"
    pipeline = diff["pipeline"]
    assert pipeline["steps"]["added"] == [uuids["Plot"]]
    assert pipeline["steps"]["removed"] == [uuids["Extra"]]
    assert set(pipeline["steps"]["matched"]) == {uuids[t] for t in ("Load", "Train", "Report")}
    assert pipeline["connections"] == {
        "added": [{"from": uuids["Train"], "to": uuids["Plot"]}],
        "removed": [],
    }
    assert pipeline["parameters"] == [{"name": "seed", "change": "changed", "a": 1, "b": 2}]

    steps = {step["title"]: step for step in diff["steps"]}
    assert [s["title"] for s in diff["steps"]][-1] == "Extra"  # only in a: after b's steps
    train = steps["Train"]
    assert train["kind"] == "notebook" and train["in"] == ["a", "b"]
    assert train["changes"]["parameters"] == [
        {"name": "lr", "change": "changed", "a": 0.1, "b": 0.5}
    ]
    assert train["code"]["same"] is False
    assert train["changes"]["code"] == {"a": train["code"]["a"], "b": train["code"]["b"]}
    assert steps["Load"]["kind"] == "shell"
    for title in ("Load", "Report"):
        assert steps[title]["changes"] == {} and steps[title]["code"]["same"] is True
    assert steps["Plot"]["in"] == ["b"] and steps["Plot"]["a"]["ran"] is False
    assert steps["Extra"]["in"] == ["a"] and steps["Extra"]["b"]["status"] is None
    (loss,) = train["metrics"]
    assert (loss["name"], loss["a"], loss["b"]) == ("loss", 0.9, 0.5)
    assert loss["delta"] == pytest.approx(-0.4)
    (config,) = train["outputs"]
    assert config["name"] == "config" and config["same"] is False
    assert config["a"]["preview"] != config["b"]["preview"]
    assert train["a"]["metrics"] == {"loss": 0.9}
    assert train["a"]["outputs"][0]["name"] == "config"
    assert steps["Load"]["metrics"] == [] and steps["Load"]["outputs"] == []
    for side in ("a", "b"):
        assert train[side]["status"] == "SUCCESS"
        assert train[side]["duration"] >= 0


async def test_the_notebook_diff_is_nbdimes_diff_of_the_executed_notebooks(api, jp_root_dir):
    from nbdime import patch
    from nbdime.diff_utils import to_diffentry_dicts

    two_runs = await run_twice(api, jp_root_dir)
    a, b, uuids = two_runs["a"], two_runs["b"], two_runs["uuids"]
    params = {"a": a["id"], "b": b["id"], "step": uuids["Train"]}
    code, reply = await api("GET", "runs", "compare", "notebook", **params)
    assert code == 200, reply
    code, executed_b = await api("GET", "runs", b["id"], "steps", uuids["Train"], "notebook")
    # multiline strings joined, as nbdime's diff positions count them (and its frontend takes)
    assert all(isinstance(cell["source"], str) for cell in reply["base"]["cells"])
    patched = patch(reply["base"], to_diffentry_dicts(reply["diff"]))
    sources = ["".join(cell["source"]) for cell in patched["cells"]]
    assert sources == ["".join(cell["source"]) for cell in executed_b["cells"]]
    assert "print('learning rate', lr * 2)" in sources
    assert "print('lr', lr)" in ["".join(cell["source"]) for cell in reply["base"]["cells"]]

    code, reply = await api(
        "GET", "runs", "compare", "notebook", **{**params, "step": uuids["Load"]}
    )
    assert code == 404 and "not a notebook" in reply["message"]
    code, reply = await api("GET", "runs", "compare", "notebook", **{**params, "step": "plot-step"})
    assert code == 404 and "(query parameter a) did not run step" in reply["message"]
    code, reply = await api("GET", "runs", "compare", "notebook", a=a["id"], b=b["id"])
    assert code == 400 and "step" in reply["message"]


async def test_runs_of_different_pipelines_are_compared_and_flagged(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "echo a\n", [])})
    make_pipeline(jp_root_dir / "q", {"B": ("b.sh", "echo b\n", [])}, name="other")
    first = await run_to_end(api, {"pipeline_path": "p/pipeline.orchest"})
    second = await run_to_end(api, {"pipeline_path": "q/pipeline.orchest"})
    code, diff = await api("GET", "runs", "compare", a=first["id"], b=second["id"])
    assert code == 200, diff
    assert diff["same_pipeline"] is False
    assert diff["pipeline"]["name"] == {"a": "test-pipeline", "b": "other"}
    assert [s["title"] for s in diff["steps"]] == ["B", "A"]


async def test_bad_comparisons_name_the_parameter(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "echo a\n", [])})
    run = await run_to_end(api, {"pipeline_path": "p/pipeline.orchest"})
    unknown = "0" * 8 + "-unknown"
    cases = [
        ({"b": run["id"]}, 400, "a is required"),
        ({"a": run["id"]}, 400, "b is required"),
        ({"a": run["id"], "b": run["id"]}, 400, "b must name another run than a"),
        ({"a": run["id"], "b": "../x"}, 400, "b must be a run id"),
        ({"a": "", "b": run["id"]}, 400, "a must be a run id"),
        ({"a": unknown, "b": run["id"]}, 404, "(query parameter a)"),
        ({"a": run["id"], "b": unknown}, 404, "(query parameter b)"),
    ]
    for params, status, words in cases:
        for path in (("runs", "compare"), ("runs", "compare", "notebook")):
            query = {**params, "step": run["steps"][0]["uuid"]} if len(path) == 3 else params
            code, reply = await api("GET", *path, **query)
            assert code == status, (path, params, reply)
            assert words in reply["message"], (path, params, reply)


async def test_the_compare_routes_accept_only_get(api):
    for path in (("runs", "compare"), ("runs", "compare", "notebook")):
        code, reply = await api("DELETE", *path)
        assert code == 405, reply
