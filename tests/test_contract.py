"""The OpenAPI document as the server's validator: bad requests of every kind get a 4xx that
names the field (never a 500), limits, short quotes of bad values, and logging once."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .helpers import make_pipeline, notebook, wait_for_run

MAX_BODY = 100_000
LONG_NAME = "x" * 300


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    config = json.loads(json.dumps(jp_server_config))
    config["OrchestApp"]["max_request_body"] = MAX_BODY
    return config


@pytest.fixture
def pipeline(jp_root_dir: Path) -> dict[str, str]:
    """``p/pipeline.orchest`` with one step "A"; returns title -> uuid."""
    return make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "echo a\n", [])})[1]


BODY_ROUTES = [("runs",), ("pipelines", "validate"), ("launches",)]


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize(
    ("body", "word"),
    [
        (b"\x80", "not UTF-8"),
        (b"[" * 2000 + b"]" * 2000, "nested too deeply"),
        # Parses within Python's recursion limit, which libraries may raise anyway.
        (b'{"a": ' * 100 + b"1" + b"}" * 100, "nested too deeply"),
        (b'{"uuids": [' + b"1" * 5000 + b"]}", "not usable JSON"),
        (b'{"pipeline_path": NaN}', "not usable JSON"),
        (b"{not json", "not valid JSON"),
    ],
    ids=["not-utf8", "nested-2000", "nested-100", "huge-integer", "nan", "not-json"],
)
async def test_unreadable_bodies_are_400(api, path, body, word):
    code, reply = await api("POST", *path, body=body)
    assert code == 400, reply
    assert word in reply["message"]


async def test_a_body_over_the_limit_is_413(api, pipeline):
    body = {"pipeline_path": "p/pipeline.orchest", "env": {"BIG": "x" * MAX_BODY}}
    code, reply = await api("POST", "runs", body=body)
    assert code == 413, reply
    assert "max_request_body" in reply["message"]
    code, reply = await api("GET", "runs")
    assert reply["total"] == 0


@pytest.mark.parametrize(
    ("path", "body", "word"),
    [
        (("runs",), {"pipeline_path": "p/pipeline.orchest", "failure_polcy": "x"}, "failure_polcy"),
        (("pipelines", "validate"), {"pipeline_path": "p/pipeline.orchest", "dir": "x"}, "'dir'"),
        (("launches",), {"pipeline_uuid": "u", "pipeline_dir": "p", "image": "x"}, "'image'"),
    ],
)
async def test_unknown_fields_are_refused_naming_them(api, pipeline, path, body, word):
    code, reply = await api("POST", *path, body=body)
    assert code == 400, reply
    assert "unknown field" in reply["message"] and word in reply["message"]


RUN = {"pipeline_path": "p/pipeline.orchest"}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({**RUN, "uuids": ["A"]}, ["uuids", "run_type"]),
        ({**RUN, "run_type": "full", "uuids": ["A"]}, ["uuids", "run_type"]),
        ({**RUN, "run_type": "descendants", "uuids": []}, ["uuids"]),
        ({**RUN, "run_type": ""}, ["run_type", "one of"]),
        ({**RUN, "failure_policy": ""}, ["failure_policy", "one of"]),
        ({**RUN, "backend": ""}, ["backend", "one of"]),
        ({"pipeline_path": ""}, ["pipeline_path", "1-4096"]),
        ({"pipeline_description": {}}, ["pipeline_description with pipeline_dir"]),
        ({**RUN, "pipeline_dir": "p"}, ["either pipeline_path"]),
        ({**RUN, "inclusive": "yes"}, ["inclusive must be true or false"]),
        ({**RUN, "env": {"A=B": "x"}}, ["'A=B' in env", "identifier"]),
        ({**RUN, "env": {"": "x"}}, ["'' in env", "identifier"]),
        ({**RUN, "env": {"A": "a\u0000b"}}, ["env.A", "NUL"]),
        ({**RUN, "env": {"A": "x" * 40_000}}, ["env.A", "32768"]),
        ({**RUN, "env": {"ORCHEST_RUN_UUID": "x"}}, ["ORCHEST_RUN_UUID", "reserved"]),
        ({**RUN, "parameters": {"A": {"not-a-name": 1}}}, ["'not-a-name'", "identifier"]),
        ({**RUN, "parameters": {"A": 3}}, ["parameters.A must be an object"]),
    ],
)
async def test_run_requests_are_checked_against_the_document(api, pipeline, body, words):
    code, reply = await api("POST", "runs", body=body)
    assert code == 400, reply
    for word in words:
        assert word in reply["message"], reply["message"]


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"status": "BOGUS"}, "status must be one of"),
        ({"limit": "many"}, "limit must be an integer"),
        ({"limit": "0"}, "limit must be at least 1"),
        ({"offset": "-1"}, "offset must be at least 0"),
        ({"pipeline_path": ""}, "pipeline_path"),
    ],
)
async def test_query_parameters_are_checked_against_the_document(api, params, word):
    code, reply = await api("GET", "runs", **params)
    assert code == 400, reply
    assert word in reply["message"]


async def test_long_path_segments_are_4xx_naming_the_field(api, jp_root_dir, pipeline):
    for path, body, field in [
        (("runs",), {"pipeline_path": f"p/{LONG_NAME}.orchest"}, "pipeline_path"),
        (("pipelines", "validate"), {"pipeline_path": f"{LONG_NAME}/x.orchest"}, "pipeline_path"),
        (("runs",), {"pipeline_description": {}, "pipeline_dir": LONG_NAME}, "pipeline_dir"),
        (("launches",), {"pipeline_uuid": "u", "pipeline_dir": LONG_NAME}, "pipeline_dir"),
    ]:
        code, reply = await api("POST", *path, body=body)
        assert code == 400, reply
        assert field in reply["message"] and "File name too long" in reply["message"]
        assert len(reply["message"]) < 300

    description = json.loads((jp_root_dir / "p" / "pipeline.orchest").read_text())
    description["steps"][pipeline["A"]]["file_path"] = f"{LONG_NAME}.sh"
    (jp_root_dir / "p" / "long.orchest").write_text(json.dumps(description))
    code, reply = await api("POST", "runs", body={"pipeline_path": "p/long.orchest"})
    assert code == 422, reply
    assert reply["issues"][0]["field"] == "file_path"
    assert "File name too long" in reply["issues"][0]["message"]
    code, reply = await api(
        "POST", "pipelines", "validate", body={"pipeline_path": "p/long.orchest"}
    )
    assert code == 200 and not reply["valid"]
    assert "File name too long" in reply["issues"][0]["message"]


async def test_pipeline_env_and_titles_are_checked_up_front(api, jp_root_dir, pipeline):
    description = json.loads((jp_root_dir / "p" / "pipeline.orchest").read_text())
    step = description["steps"][pipeline["A"]]
    step["env_variables"] = {"NUL": "a\u0000b", "BIG": "x" * 40_000}
    step["title"] = "t" * 300
    code, reply = await api(
        "POST", "runs", body={"pipeline_description": description, "pipeline_dir": "p"}
    )
    assert code == 422, reply
    messages = [issue["message"] for issue in reply["issues"]]
    assert any("'NUL'" in m and "NUL characters" in m for m in messages), messages
    assert any("'BIG'" in m for m in messages), messages
    assert any("more than 256" in m for m in messages), messages


async def test_bad_values_are_quoted_by_a_short_prefix_only(api, pipeline, caplog):
    caplog.set_level(logging.DEBUG)
    huge = "u" * 50_000
    many = [f"{i:0>60}" for i in range(1000)]
    for method, path, body in [
        ("POST", ("runs",), {**RUN, "run_type": "selection", "uuids": [huge]}),
        ("POST", ("runs",), {**RUN, "run_type": "selection", "uuids": ["no-" + huge[:200]]}),
        ("POST", ("runs",), {"pipeline_path": huge}),
        ("POST", ("runs",), {**RUN, "env": {huge: "x"}}),
        ("GET", ("runs", huge[:5000]), None),
        ("POST", ("runs",), {**RUN, "run_type": "selection", "uuids": many}),
        ("POST", ("runs",), {**RUN, "parameters": {name: {} for name in many}}),
    ]:
        code, reply = await api(method, *path, body=body)
        assert 400 <= code < 500, reply
        assert len(json.dumps(reply)) < 1000, reply
    assert max(len(record.getMessage()) for record in caplog.records) < 6000


async def test_a_4xx_is_logged_once_with_percent_signs_intact(api, pipeline, caplog):
    caplog.set_level(logging.INFO)
    code, reply = await api("POST", "runs", body={"pipeline_path": "p/50%.orchest"})
    assert code == 400
    assert "'p/50%.orchest' is not a file" in reply["message"]
    logged = [r for r in caplog.records if "/orchest/api/runs" in r.getMessage()]
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert logged[0].levelno == logging.WARNING and "400" in logged[0].getMessage()


async def test_validate_and_run_agree_on_empty_pipelines_and_shared_titles(api, jp_root_dir):
    _, uuids = make_pipeline(
        jp_root_dir / "p",
        {"A": ("a.sh", "echo a\n", []), "B": ("b.sh", "echo b\n", [])},
    )
    description = json.loads((jp_root_dir / "p" / "pipeline.orchest").read_text())
    description["steps"][uuids["B"]]["title"] = "A"
    empty = {**description, "steps": {}}
    both = ["same title", f"'A' (a.sh, {uuids['A']})", f"'A' (b.sh, {uuids['B']})"]
    for broken, words in [(description, both), (empty, ["no steps"])]:
        source = {"pipeline_description": broken, "pipeline_dir": "p"}
        code, validated = await api("POST", "pipelines", "validate", body=source)
        assert code == 200 and not validated["valid"]
        code, refused = await api("POST", "runs", body=source)
        assert code == 422, refused
        assert refused["issues"] == validated["issues"]
        assert all(word in validated["issues"][0]["message"] for word in words)


async def test_openapi_document_is_served_as_yaml(jp_fetch):
    from openapi_spec_validator import validate

    response = await jp_fetch("orchest", "api", "openapi.yaml")
    assert response.headers["Content-Type"] == "application/yaml"
    spec = yaml.safe_load(response.body)
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                assert "403" in operation["responses"], (method, path)


async def test_parameters_with_names_that_are_not_identifiers_are_issues(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"N": ("n.ipynb", notebook("x = 1"), [])})
    description = json.loads((jp_root_dir / "p" / "pipeline.orchest").read_text())
    description["parameters"] = {"two words": 1}
    code, reply = await api(
        "POST", "runs", body={"pipeline_description": description, "pipeline_dir": "p"}
    )
    assert code == 422, reply
    assert "'two words' is not an identifier" in reply["issues"][0]["message"]


async def test_other_methods_are_405_naming_the_allowed_ones(jp_fetch):
    for method, path, allowed in [
        ("PUT", ("runs",), "GET, POST, OPTIONS"),
        ("PATCH", ("runs", "some-run"), "GET, DELETE, OPTIONS"),
        ("DELETE", ("openapi.yaml",), "GET, OPTIONS"),
    ]:
        response = await jp_fetch(
            "orchest",
            "api",
            *path,
            method=method,
            body="{}" if method != "DELETE" else None,
            raise_error=False,
        )
        assert response.code == 405
        assert response.headers["Allow"] == allowed


def test_the_cli_reports_a_too_long_file_path_as_an_issue(tmp_path: Path) -> None:
    pipeline_file, uuids = make_pipeline(tmp_path / "p", {"A": ("a.sh", "echo a\n", [])})
    description = json.loads(pipeline_file.read_text())
    description["steps"][uuids["A"]]["file_path"] = f"{LONG_NAME}.sh"
    pipeline_file.write_text(json.dumps(description))
    for command in ("validate", "run"):
        result = subprocess.run(
            [sys.executable, "-m", "orchest_ext.cli", command, str(pipeline_file)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode != 0
        assert "File name too long" in result.stdout + result.stderr
        assert "Traceback" not in result.stdout + result.stderr


def answer_schema(path: str, method: str, code: str):
    """A validator of the document's JSON answer ``code`` to ``method path``."""
    from orchest_ext.web.contract import _escape, _validator

    pointer = f"/paths/{_escape(path)}/{method}/responses/{code}/content/application~1json/schema"
    return _validator(pointer)


async def test_the_answers_the_frontend_reads_are_what_the_document_says(
    api, jp_root_dir, pipeline
):
    """The frontend's types are generated from the document's answers: the real answers
    must match them (required fields present, types as written)."""
    code, started = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "run_type": "full"}
    )
    assert code == 202, started
    finished = await wait_for_run(api, started["id"])
    _, again = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "run_type": "full"}
    )
    await wait_for_run(api, again["id"])
    _, job = await api("POST", "jobs", body={"pipeline_path": "p/pipeline.orchest"})
    _, job_with_runs = await api("GET", "jobs", job["id"])
    step = pipeline["A"]
    answers = [
        ("/runs", "post", "202", started),
        ("/runs/{run_id}", "get", "200", finished),
        ("/runs", "get", "200", (await api("GET", "runs", pipeline_path="p/pipeline.orchest"))[1]),
        ("/pipelines", "get", "200", (await api("GET", "pipelines"))[1]),
        (
            "/pipelines/validate",
            "post",
            "200",
            (
                await api(
                    "POST", "pipelines", "validate", body={"pipeline_path": "p/pipeline.orchest"}
                )
            )[1],
        ),
        (
            "/runs/{run_id}/steps/{step_uuid}/log",
            "get",
            "200",
            (await api("GET", "runs", started["id"], "steps", step, "log"))[1],
        ),
        ("/backends", "get", "200", (await api("GET", "backends"))[1]),
        ("/launches", "get", "200", (await api("GET", "launches"))[1]),
        ("/jobs", "post", "201", job),
        ("/jobs", "get", "200", (await api("GET", "jobs"))[1]),
        ("/jobs/{job_id}", "get", "200", job_with_runs),
        (
            "/runs/compare",
            "get",
            "200",
            (await api("GET", "runs", "compare", a=started["id"], b=again["id"]))[1],
        ),
        (
            "/runs/{run_id}/steps/{step_uuid}/outputs",
            "get",
            "200",
            (await api("GET", "runs", started["id"], "steps", step, "outputs"))[1],
        ),
    ]
    for path, method, code, answer in answers:
        errors = [error.message for error in answer_schema(path, method, code).iter_errors(answer)]
        assert errors == [], (method, path, errors)
