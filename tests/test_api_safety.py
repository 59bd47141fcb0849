"""Authentication, bad input and path safety of the REST API."""

from __future__ import annotations

import json
import os

import pytest

from .helpers import make_pipeline

ROUTES = [
    ("GET", ("runs",)),
    ("POST", ("runs",)),
    ("GET", ("runs", "compare")),
    ("GET", ("runs", "compare", "notebook")),
    ("GET", ("runs", "some-run")),
    ("DELETE", ("runs", "some-run")),
    ("GET", ("runs", "some-run", "steps", "some-step", "log")),
    ("GET", ("runs", "some-run", "steps", "some-step", "notebook")),
    ("GET", ("runs", "some-run", "steps", "some-step", "outputs")),
    ("POST", ("pipelines", "validate")),
    ("GET", ("backends",)),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("authorization", ["", "token not-the-token"])
async def test_every_route_needs_a_token(jp_fetch, method, path, authorization):
    response = await jp_fetch(
        "orchest",
        "api",
        *path,
        method=method,
        body="{}" if method == "POST" else None,
        headers={"Authorization": authorization},
        raise_error=False,
    )
    assert response.code == 403


async def test_validate_reports_issues_naming_the_step(api, jp_root_dir):
    pipeline_file, uuids = make_pipeline(
        jp_root_dir / "p", {"A": ("a.sh", "echo a\n", []), "B": ("b.sh", "echo b\n", ["A"])}
    )
    description = json.loads(pipeline_file.read_text())
    description["steps"][uuids["A"]]["incoming_connections"] = [uuids["B"]]
    code, reply = await api(
        "POST",
        "pipelines",
        "validate",
        body={"pipeline_description": description, "pipeline_dir": "p"},
    )
    assert code == 200
    assert not reply["valid"]
    assert any("cycle" in i["message"].lower() and '"A"' in i["message"] for i in reply["issues"])

    code, reply = await api(
        "POST", "pipelines", "validate", body={"pipeline_path": "p/pipeline.orchest"}
    )
    assert code == 200 and reply["valid"] and reply["issues"] == []
    assert reply["pipeline"]["name"] == "test-pipeline"


def _break(description: dict, uuids: dict, kind: str) -> tuple[dict, str]:
    """Apply one class of damage to a valid pipeline; returns it and a word the issue must name."""
    a, b = description["steps"][uuids["A"]], description["steps"][uuids["B"]]
    if kind == "missing_field":
        del a["file_path"]
        return description, "file_path"
    if kind == "mistyped_field":
        a["incoming_connections"] = "not-a-list"
        return description, "incoming_connections"
    if kind == "key_differs_from_uuid":
        description["steps"]["other-key"] = description["steps"].pop(uuids["A"])
        b["incoming_connections"] = []
        return description, "other-key"
    if kind == "unknown_connection":
        b["incoming_connections"] = ["no-such-step"]
        return description, "no-such-step"
    if kind == "self_loop":
        a["incoming_connections"] = [uuids["A"]]
        return description, '"A"'
    if kind == "cycle":
        a["incoming_connections"] = [uuids["B"]]
        return description, '"B"'
    if kind == "absolute_path":
        a["file_path"] = "/etc/passwd"
        return description, "absolute"
    if kind == "parent_escape":
        a["file_path"] = "../outside.sh"
        return description, "outside"
    if kind == "missing_file":
        a["file_path"] = "missing.sh"
        return description, "missing.sh"
    if kind == "path_like_uuid":
        step = description["steps"].pop(uuids["B"])
        step["uuid"] = "../../escape"
        description["steps"]["../../escape"] = step
        return description, "../../escape"
    if kind == "unsupported_kind":
        a["file_path"] = "data.csv"
        return description, ".ipynb"
    raise AssertionError(kind)


DAMAGE = [
    "missing_field",
    "mistyped_field",
    "key_differs_from_uuid",
    "unknown_connection",
    "self_loop",
    "cycle",
    "absolute_path",
    "parent_escape",
    "missing_file",
    "unsupported_kind",
    "path_like_uuid",
]


@pytest.mark.parametrize("kind", DAMAGE)
async def test_bad_pipelines_get_422_naming_the_problem(api, jp_root_dir, kind):
    pipeline_file, uuids = make_pipeline(
        jp_root_dir / "p", {"A": ("a.sh", "echo a\n", []), "B": ("b.sh", "echo b\n", ["A"])}
    )
    (jp_root_dir / "p" / "data.csv").write_text("x\n1\n")
    description, word = _break(json.loads(pipeline_file.read_text()), uuids, kind)
    code, reply = await api(
        "POST", "runs", body={"pipeline_description": description, "pipeline_dir": "p"}
    )
    assert code == 422, reply
    assert reply["issues"], reply
    assert any(word in issue["message"] for issue in reply["issues"]), reply["issues"]
    assert all(issue["message"] for issue in reply["issues"])
    code, _ = await api("GET", "runs")
    assert code == 200


async def test_symlink_escaping_the_pipeline_dir_is_rejected(api, jp_root_dir, tmp_path):
    pipeline_file, uuids = make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "echo a\n", [])})
    outside = tmp_path / "outside.sh"
    outside.write_text("echo escaped\n")
    os.symlink(outside, jp_root_dir / "p" / "link.sh")
    description = json.loads(pipeline_file.read_text())
    description["steps"][uuids["A"]]["file_path"] = "link.sh"
    code, reply = await api(
        "POST", "runs", body={"pipeline_description": description, "pipeline_dir": "p"}
    )
    assert code == 422
    assert "symlink" in json.dumps(reply["issues"]).lower() or "outside" in reply["message"]


@pytest.mark.parametrize(
    ("body", "status", "word"),
    [
        ("not json", 400, "not valid JSON"),
        ("[1, 2]", 400, "must be an object"),
        ({}, 400, "pipeline_path"),
        ({"pipeline_path": "../elsewhere.orchest"}, 400, "leaves"),
        ({"pipeline_path": "/etc/passwd"}, 400, "relative"),
        ({"pipeline_path": "p/missing.orchest"}, 400, "not a file"),
        ({"pipeline_path": "p/pipeline.orchest", "run_type": "sideways"}, 400, "run_type"),
        (
            {"pipeline_path": "p/pipeline.orchest", "run_type": "selection", "uuids": ["ghost"]},
            400,
            "uuids: Unknown steps: 'ghost'",
        ),
        ({"pipeline_path": "p/pipeline.orchest", "run_type": "selection"}, 400, "uuids"),
        ({"pipeline_path": "p/pipeline.orchest", "uuids": "A"}, 400, "uuids"),
        ({"pipeline_path": "p/pipeline.orchest", "env": {"X": 1}}, 400, "env"),
        (
            {"pipeline_path": "p/pipeline.orchest", "env": {"ORCHEST_RUN_UUID": "x"}},
            400,
            "reserved",
        ),
        (
            {"pipeline_path": "p/pipeline.orchest", "failure_policy": "sometimes"},
            400,
            "failure_policy",
        ),
        ({"pipeline_path": "p/pipeline.orchest", "backend": "mainframe"}, 400, "mainframe"),
        (
            {"pipeline_path": "p/pipeline.orchest", "run_type": "incoming", "uuids": ["A"]},
            400,
            "inclusive",
        ),
        ({"pipeline_path": "p/bad.orchest"}, 422, "JSON"),
        ({"pipeline_path": None}, 400, "a string"),
        ({"pipeline_path": "p/a\u0000b.orchest"}, 400, "without NUL"),
    ],
)
async def test_bad_run_requests_get_a_clear_4xx(api, jp_root_dir, body, status, word):
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "echo a\n", [])})
    (jp_root_dir / "p" / "bad.orchest").write_text("{ not json")
    code, reply = await api("POST", "runs", body=body)
    assert code == status, reply
    assert word.lower() in json.dumps(reply).lower(), reply
    code, _ = await api("GET", "runs")
    assert code == 200


async def test_bad_query_arguments_get_400(api):
    code, reply = await api("GET", "runs", limit="many")
    assert code == 400 and "limit" in reply["message"]
    code, reply = await api("GET", "runs", limit="0")
    assert code == 400
    code, reply = await api("GET", "runs", offset=str(10**20))
    assert code == 400


async def test_openapi_document_is_served_and_valid(jp_fetch):
    import yaml
    from openapi_spec_validator import validate

    response = await jp_fetch("orchest", "api", "openapi.yaml")
    spec = yaml.safe_load(response.body)
    validate(spec)
    paths = set(spec["paths"])
    assert {"/runs", "/runs/{run_id}", "/pipelines/validate", "/launches"} <= paths


async def test_step_routes_accept_only_get(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "echo a\n", [])})
    _, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    uuid = run["steps"][0]["uuid"]
    for leaf in ("log", "notebook", "outputs"):
        code, _ = await api("DELETE", "runs", run["id"], "steps", uuid, leaf)
        assert code == 405
