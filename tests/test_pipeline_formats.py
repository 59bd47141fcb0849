"""The pipeline formats' JSON Schemas: the server reads the same files, with the same issues,
as the frontend (src/__tests__/pipelineSchema.spec.ts runs the same cases with ajv)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from orchest_ext.pipeline import validate_pipeline
from orchest_ext.pipeline.schema import SCHEMA_FILES, load_schema, schema_issues

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
