"""The pipeline formats' JSON Schemas: the server reads the same files, with the same issues,
as the frontend (src/__tests__/pipelineSchema.spec.ts runs the same cases with ajv)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from orchest_ext.pipeline import validate_pipeline
from orchest_ext.pipeline.schema import (
    SCHEMA_FILES,
    _fast_check,
    _validator,
    load_schema,
    schema_issues,
)

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((Path(__file__).parent / "pipeline_formats" / "invalid.json").read_text())
PUBLISHED = [
    ("orchest", ROOT / "examples" / "quickstart" / "quickstart.orchest"),
    ("orchest", ROOT / "examples" / "sklearn-quickstart" / "quickstart.orchest"),
    ("elyra", ROOT / "examples" / "elyra" / "hello.pipeline"),
]


@pytest.mark.parametrize("fmt", sorted(SCHEMA_FILES))
def test_the_schemas_are_valid_draft_7(fmt: str) -> None:
    Draft7Validator.check_schema(load_schema(fmt))  # type: ignore[arg-type]


@pytest.mark.parametrize(("fmt", "path"), PUBLISHED, ids=lambda value: str(value))
def test_published_pipelines_pass_the_schema_and_the_checks(fmt: str, path: Path) -> None:
    doc = json.loads(path.read_text())
    assert schema_issues(fmt, doc) == []  # type: ignore[arg-type]
    assert validate_pipeline(doc, path.parent, path) == []


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_invalid_files_get_the_issues_the_frontend_shows(case: dict[str, Any]) -> None:
    issues = schema_issues(case["format"], case["document"])
    assert [issue.to_dict() for issue in issues] == case["issues"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_validation_reports_the_schema_issues(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / ("p.pipeline" if case["format"] == "elyra" else "p.orchest")
    issues = [issue.to_dict() for issue in validate_pipeline(case["document"], tmp_path, path)]
    assert all(expected in issues for expected in case["issues"]), issues


def test_the_schemas_ship_in_the_package() -> None:
    package = ROOT / "orchest_ext" / "pipeline" / "schemas"
    assert sorted(path.name for path in package.glob("*.json")) == sorted(SCHEMA_FILES.values())


def fast_accepts(fmt: str, doc: Any) -> bool:
    try:
        _fast_check(fmt)(doc)  # type: ignore[arg-type]
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_fast_check_refuses_every_invalid_case(case: dict[str, Any]) -> None:
    assert not fast_accepts(case["format"], case["document"])


values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2) | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=2) | st.dictionaries(st.text(max_size=4), children, max_size=2)
    ),
    max_leaves=6,
)
step_fields = st.sampled_from(
    [
        "uuid",
        "title",
        "file_path",
        "incoming_connections",
        "kernel",
        "parameters",
        "env_variables",
        "retries",
        "retry_delay",
        "cache",
        "image",
        "meta_data",
    ]
)
steps = st.dictionaries(
    step_fields, values | st.sampled_from(["s", "a.py", ["s"], 1, {"inputs": ["x"]}])
)
orchest_docs = st.fixed_dictionaries(
    {"uuid": values | st.just("p"), "steps": st.dictionaries(st.sampled_from(["s", "t"]), steps)},
    optional={"settings": values, "env_variables": values, "parameters": values},
)


@settings(max_examples=300, deadline=None)
@given(doc=orchest_docs | values)
def test_the_fast_check_and_jsonschema_agree(doc: Any) -> None:
    """A file the fast check accepts gets no issue list, so the two must agree."""
    assert fast_accepts("orchest", doc) == _validator("orchest").is_valid(doc)
