"""Parsing and validating pipeline JSON (orchest_ext.pipeline.model)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchest_ext.pipeline import (
    Issue,
    Pipeline,
    PipelineError,
    Step,
    load_pipeline,
    parse_pipeline,
    validate_pipeline,
)


def make_step(uuid: str, title: str, file_path: str, parents: list[str] | None = None) -> dict:
    return {
        "uuid": uuid,
        "title": title,
        "file_path": file_path,
        "incoming_connections": parents or [],
        "kernel": {"name": "python", "display_name": "Python 3"},
        "environment": "c56ab762-539c-4cce-9b1e-c4b00300ec6f",
        "parameters": {},
        "meta_data": {"position": [0, 0], "hidden": False},
    }


def make_pipeline(*steps: dict, **fields: Any) -> dict:
    return {
        "name": "p",
        "uuid": "0915b350-b929-4cbd-b0d4-763cac0bb69f",
        "version": "1.2",
        "settings": {"auto_eviction": False},
        "parameters": {"a": 1},
        "steps": {step["uuid"]: step for step in steps},
        **fields,
    }


@pytest.fixture
def pipeline_dir(tmp_path: Path) -> Path:
    for name in ("load.py", "train.ipynb", "report.sh", "plot.R"):
        (tmp_path / name).write_text("")
    return tmp_path


def only_issue(data: Any, directory: Path, **kwargs: Any) -> Issue:
    issues = validate_pipeline(data, directory, **kwargs)
    assert len(issues) == 1, issues
    return issues[0]


def test_parse_valid_pipeline(pipeline_dir: Path) -> None:
    data = make_pipeline(
        make_step("uuid-1", "Load", "load.py"),
        make_step("uuid-2", "Train", "train.ipynb", ["uuid-1"]),
    )
    pipeline = parse_pipeline(data, pipeline_dir)
    assert pipeline.name == "p"
    assert pipeline.uuid == data["uuid"]
    assert pipeline.version == "1.2"
    assert pipeline.parameters == {"a": 1}
    assert pipeline.settings == {"auto_eviction": False}
    assert pipeline.env_variables == {}
    assert pipeline.directory == pipeline_dir.resolve()
    assert pipeline.path is None
    assert list(pipeline.steps) == ["uuid-1", "uuid-2"]
    train = pipeline.steps["uuid-2"]
    assert train.title == "Train"
    assert train.incoming_connections == ["uuid-1"]
    assert train.kernel == {"name": "python", "display_name": "Python 3"}
    assert train.kind == "notebook"
    assert train.image is None


def test_defaults_for_optional_fields(pipeline_dir: Path) -> None:
    data = {"uuid": "p", "steps": {"s": {"uuid": "s", "file_path": "load.py"}}}
    pipeline = parse_pipeline(data, pipeline_dir)
    assert (pipeline.name, pipeline.version, pipeline.parameters) == ("", None, {})
    step = pipeline.steps["s"]
    assert step.title == "load.py"
    assert (step.incoming_connections, step.kernel, step.environment) == ([], {}, None)
    assert (step.parameters, step.meta_data, step.extra) == ({}, {}, {})
    assert (step.env_variables, pipeline.default_image) == ({}, None)


def test_swarm_constraints_from_settings(pipeline_dir: Path) -> None:
    constraints = ["node.labels.gpu==true", "node.role != manager"]
    data = make_pipeline(
        make_step("a", "A", "load.py"), settings={"swarm": {"constraints": constraints}}
    )
    pipeline = parse_pipeline(data, pipeline_dir)
    assert pipeline.swarm_constraints == constraints


def test_default_image_from_settings(pipeline_dir: Path) -> None:
    data = make_pipeline(make_step("a", "A", "load.py"), settings={"default_image": "step:1"})
    pipeline = parse_pipeline(data, pipeline_dir)
    assert pipeline.default_image == "step:1"
    assert pipeline.to_dict() == data


@pytest.mark.parametrize(
    ("file_path", "kind"),
    [
        ("a.ipynb", "notebook"),
        ("a.py", "python"),
        ("a.PY", "python"),
        ("a.sh", "shell"),
        ("a.R", "r"),
        ("a.r", "r"),
    ],
)
def test_step_kind(file_path: str, kind: str) -> None:
    assert Step(uuid="s", title="S", file_path=file_path).kind == kind


def test_step_kind_unsupported_raises() -> None:
    with pytest.raises(ValueError, match=r"\.ipynb, \.py, \.sh, \.R"):
        _ = Step(uuid="s", title="S", file_path="a.txt").kind


def test_parse_json_text_and_bytes(pipeline_dir: Path) -> None:
    data = make_pipeline(make_step("uuid-1", "Load", "load.py"))
    text = json.dumps(data)
    assert parse_pipeline(text, pipeline_dir).to_dict() == data
    assert parse_pipeline(text.encode(), pipeline_dir).to_dict() == data


def test_round_trip_keeps_unknown_fields(pipeline_dir: Path) -> None:
    step = {
        **make_step("uuid-1", "Load", "load.py"),
        "custom": {"x": [1, 2]},
        "image": "img:1",
        "env_variables": {"B": "2"},
    }
    data = make_pipeline(step, services={"db": {"image": "postgres"}}, env_variables={"A": "1"})
    pipeline = parse_pipeline(copy.deepcopy(data), pipeline_dir)
    assert pipeline.extra == {"services": {"db": {"image": "postgres"}}}
    assert pipeline.steps["uuid-1"].extra == {"custom": {"x": [1, 2]}}
    assert pipeline.steps["uuid-1"].image == "img:1"
    assert pipeline.steps["uuid-1"].env_variables == {"B": "2"}
    assert pipeline.env_variables == {"A": "1"}
    assert pipeline.to_dict() == data
    assert parse_pipeline(json.dumps(pipeline.to_dict()), pipeline_dir) == pipeline


def test_to_dict_is_a_copy(pipeline_dir: Path) -> None:
    pipeline = parse_pipeline(make_pipeline(make_step("uuid-1", "Load", "load.py")), pipeline_dir)
    out = pipeline.to_dict()
    out["parameters"]["a"] = 2
    out["steps"]["uuid-1"]["meta_data"]["hidden"] = True
    assert pipeline.parameters == {"a": 1}
    assert pipeline.steps["uuid-1"].meta_data["hidden"] is False


def test_load_pipeline(pipeline_dir: Path) -> None:
    path = pipeline_dir / "p.orchest"
    path.write_text(json.dumps(make_pipeline(make_step("uuid-1", "Load", "load.py"))))
    pipeline = load_pipeline(path)
    assert pipeline.path == path
    assert pipeline.directory == pipeline_dir.resolve()
    assert isinstance(pipeline, Pipeline)


def test_load_pipeline_unreadable(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="Cannot read pipeline file") as info:
        load_pipeline(tmp_path / "missing.orchest")
    assert info.value.issues[0].field == "path"


def test_load_pipeline_invalid_json_reports_position(tmp_path: Path) -> None:
    path = tmp_path / "p.orchest"
    path.write_text('{"uuid": "p",\n  "steps": {,}}')
    with pytest.raises(PipelineError, match="line 2, column 13") as info:
        load_pipeline(path)
    assert info.value.issues[0].field == "json"


def test_invalid_utf8(tmp_path: Path) -> None:
    issue = only_issue(b'{"uuid": "\xff"}', tmp_path)
    assert "UTF-8" in issue.message


def test_duplicate_json_keys(pipeline_dir: Path) -> None:
    step = json.dumps(make_step("uuid-1", "Load", "load.py"))
    text = f'{{"uuid": "p", "steps": {{"uuid-1": {step}, "uuid-1": {step}}}}}'
    issue = only_issue(text, pipeline_dir)
    assert 'Duplicate key "uuid-1"' in issue.message


@pytest.mark.parametrize("data", [[], "[1, 2]", "3", "null", b'"text"'])
def test_top_level_not_an_object(data: Any, tmp_path: Path) -> None:
    issue = only_issue(data, tmp_path)
    assert "must be a JSON object" in issue.message
    assert issue.step is None


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"steps": {}}, "uuid", '"uuid" is required'),
        ({"uuid": "", "steps": {}}, "uuid", "must not be empty"),
        ({"uuid": 3, "steps": {}}, "uuid", "must be a string, got a number"),
        ({"uuid": "p"}, "steps", '"steps" is required'),
        ({"uuid": "p", "steps": []}, "steps", "must be an object, got an array"),
        ({"uuid": "p", "steps": {}, "name": None}, "name", "must be a string, got null"),
        ({"uuid": "p", "steps": {}, "version": 1}, "version", "a string or null"),
        ({"uuid": "p", "steps": {}, "parameters": []}, "parameters", "must be an object"),
        ({"uuid": "p", "steps": {}, "settings": "x"}, "settings", "must be an object"),
        ({"uuid": "p", "steps": {}, "settings": {"default_image": 3}}, "default_image", "string"),
        ({"uuid": "p", "steps": {}, "settings": {"swarm": []}}, "swarm", "must be an object"),
        (
            {"uuid": "p", "steps": {}, "settings": {"swarm": {"constraints": "node.role==worker"}}},
            "constraints",
            "must be an array",
        ),
        (
            {"uuid": "p", "steps": {}, "settings": {"swarm": {"constraints": ["gpu"]}}},
            "constraints",
            "constraints[0] 'gpu' is not a placement constraint",
        ),
        (
            {"uuid": "p", "steps": {}, "settings": {"swarm": {"constraints": [3]}}},
            "constraints",
            "constraints[0] 3 is not a placement constraint",
        ),
        ({"uuid": "p", "steps": {}, "env_variables": []}, "env_variables", "must be an object"),
        ({"uuid": "p", "steps": {}, "env_variables": {"A": 1}}, "env_variables", "string"),
        ({"uuid": "p", "steps": {}, "env_variables": {"1A": "x"}}, "env_variables", "name"),
    ],
)
def test_pipeline_field_issues(data: dict, field: str, text: str, tmp_path: Path) -> None:
    issue = only_issue(data, tmp_path)
    assert issue.field == field
    assert issue.step is None
    assert text in issue.message


def test_step_not_an_object(tmp_path: Path) -> None:
    issue = only_issue({"uuid": "p", "steps": {"s1": ["load.py"]}}, tmp_path)
    assert issue.step == "s1"
    assert '"s1"' in issue.message
    assert "must be a JSON object" in issue.message


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("uuid", 5, '"uuid" must be a string'),
        ("title", 5, '"title" must be a string'),
        ("file_path", "", '"file_path" must not be empty'),
        ("file_path", None, '"file_path" must be a string'),
        ("incoming_connections", "uuid-0", '"incoming_connections" must be an array'),
        ("incoming_connections", [1], "incoming_connections[0] must be a step uuid"),
        ("parameters", [], '"parameters" must be an object'),
        ("environment", 1, '"environment" must be a string or null'),
        ("image", [], '"image" must be a string or null'),
        ("kernel", "python", '"kernel" must be an object'),
        ("kernel", {"name": 3}, 'field "kernel.name" must be a string'),
        ("meta_data", None, '"meta_data" must be an object'),
        ("env_variables", [], '"env_variables" must be an object'),
        ("env_variables", {"1A": "x"}, "env_variables name '1A' is not a valid"),
        ("env_variables", {"A": 1}, 'field "env_variables.A" must be a string'),
    ],
)
def test_step_field_issues(field: str, value: Any, text: str, pipeline_dir: Path) -> None:
    step = make_step("uuid-1", "Load", "load.py")
    step[field] = value
    issue = only_issue({"uuid": "p", "steps": {"uuid-1": step}}, pipeline_dir)
    assert issue.step == "uuid-1"
    assert "uuid-1" in issue.message
    assert issue.field == field
    assert text in issue.message
    if field != "title":
        assert '"Load"' in issue.message


@pytest.mark.parametrize("field", ["uuid", "file_path"])
def test_step_required_fields(field: str, pipeline_dir: Path) -> None:
    step = make_step("uuid-1", "Load", "load.py")
    del step[field]
    issue = only_issue({"uuid": "p", "steps": {"uuid-1": step}}, pipeline_dir)
    assert (issue.step, issue.field) == ("uuid-1", field)
    assert f'"{field}" is required' in issue.message
    assert '"Load"' in issue.message


def test_step_key_differs_from_uuid(pipeline_dir: Path) -> None:
    issue = only_issue(
        {"uuid": "p", "steps": {"key-1": make_step("uuid-1", "Load", "load.py")}}, pipeline_dir
    )
    assert (issue.step, issue.field) == ("key-1", "uuid")
    assert all(part in issue.message for part in ('"Load"', "uuid-1", "key-1"))


def test_duplicate_uuids(pipeline_dir: Path) -> None:
    data = {
        "uuid": "p",
        "steps": {
            "uuid-1": make_step("uuid-1", "Load", "load.py"),
            "uuid-2": make_step("uuid-1", "Train", "train.ipynb"),
        },
    }
    issues = validate_pipeline(data, pipeline_dir)
    duplicate = [issue for issue in issues if "same uuid" in issue.message]
    assert len(duplicate) == 1
    assert duplicate[0].step == "uuid-2"
    assert '"Load"' in duplicate[0].message and '"Train"' in duplicate[0].message


def test_connection_to_unknown_step(pipeline_dir: Path) -> None:
    data = make_pipeline(make_step("uuid-1", "Load", "load.py", ["nope"]))
    issue = only_issue(data, pipeline_dir)
    assert (issue.step, issue.field) == ("uuid-1", "incoming_connections")
    assert '"nope"' in issue.message and '"Load" (uuid-1)' in issue.message


def test_self_loop(pipeline_dir: Path) -> None:
    issue = only_issue(
        make_pipeline(make_step("uuid-1", "Load", "load.py", ["uuid-1"])), pipeline_dir
    )
    assert (issue.step, issue.field) == ("uuid-1", "incoming_connections")
    assert '"Load" (uuid-1)' in issue.message and "itself" in issue.message


def test_cycle_names_the_steps_on_it(pipeline_dir: Path) -> None:
    data = make_pipeline(
        make_step("u0", "Start", "load.py"),
        make_step("u1", "Load", "load.py", ["u0", "u3"]),
        make_step("u2", "Train", "train.ipynb", ["u1"]),
        make_step("u3", "Report", "report.sh", ["u2"]),
    )
    issue = only_issue(data, pipeline_dir)
    assert (issue.step, issue.field) == ("u1", "incoming_connections")
    assert '"Load" (u1) -> "Train" (u2) -> "Report" (u3) -> "Load" (u1)' in issue.message
    assert "Start" not in issue.message


@pytest.mark.parametrize(
    ("file_path", "text"),
    [
        ("/etc/passwd.py", "is absolute"),
        ("../outside.py", "leaves the pipeline directory"),
        ("sub/../../outside.py", "leaves the pipeline directory"),
        ("data.csv", "unsupported file type; supported: .ipynb, .py, .sh, .R"),
        ("missing.py", "does not exist"),
        ("folder.py", "is not a regular file"),
    ],
)
def test_file_path_issues(file_path: str, text: str, pipeline_dir: Path) -> None:
    (pipeline_dir / "folder.py").mkdir()
    (pipeline_dir / "data.csv").write_text("")
    issue = only_issue(make_pipeline(make_step("uuid-1", "Load", file_path)), pipeline_dir)
    assert (issue.step, issue.field) == ("uuid-1", "file_path")
    assert '"Load" (uuid-1)' in issue.message
    assert text in issue.message


def test_file_path_symlink_outside(tmp_path: Path) -> None:
    directory = tmp_path / "pipeline"
    directory.mkdir()
    (tmp_path / "secret.py").write_text("")
    (directory / "link.py").symlink_to(tmp_path / "secret.py")
    (directory / "linkdir").symlink_to(tmp_path)
    data = make_pipeline(
        make_step("uuid-1", "Link", "link.py"), make_step("uuid-2", "Dir", "linkdir/secret.py")
    )
    issues = validate_pipeline(data, directory)
    assert [(issue.step, issue.field) for issue in issues] == [
        ("uuid-1", "file_path"),
        ("uuid-2", "file_path"),
    ]
    assert all("through a symlink" in issue.message for issue in issues)


def test_paths_inside_the_directory_are_fine(pipeline_dir: Path) -> None:
    (pipeline_dir / "sub").mkdir()
    (pipeline_dir / "sub" / "step.py").write_text("")
    (pipeline_dir / "alias.py").symlink_to(pipeline_dir / "load.py")
    data = make_pipeline(
        make_step("uuid-1", "A", "sub/../load.py"),
        make_step("uuid-2", "B", "./sub/step.py"),
        make_step("uuid-3", "C", "alias.py"),
    )
    assert validate_pipeline(data, pipeline_dir) == []


def test_check_files_false_skips_existence(tmp_path: Path) -> None:
    data = make_pipeline(make_step("uuid-1", "Load", "missing.py"))
    assert parse_pipeline(data, tmp_path, check_files=False).steps["uuid-1"].kind == "python"
    assert validate_pipeline(data, tmp_path, check_files=False) == []
    issue = only_issue(
        make_pipeline(make_step("uuid-1", "X", "a.txt")), tmp_path, check_files=False
    )
    assert "unsupported file type" in issue.message


def test_all_issues_are_reported_at_once(pipeline_dir: Path) -> None:
    data = {
        "uuid": 1,
        "steps": {
            "a": make_step("a", "A", "missing.py", ["zzz"]),
            "b": make_step("b", "B", "../b.py", ["b"]),
        },
    }
    with pytest.raises(PipelineError) as info:
        parse_pipeline(data, pipeline_dir)
    issues = info.value.issues
    assert [(issue.step, issue.field) for issue in issues] == [
        (None, "uuid"),
        ("a", "file_path"),
        ("b", "file_path"),
        ("a", "incoming_connections"),
        ("b", "incoming_connections"),
    ]
    assert str(info.value) == "; ".join(issue.message for issue in issues)


def test_pipeline_error_message_is_bounded() -> None:
    error = PipelineError([Issue(f"problem {i}") for i in range(8)])
    assert str(error).endswith("problem 4 (and 3 more)")
    assert error.issues[7].to_dict() == {"message": "problem 7", "step": None, "field": None}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
step_fields = st.sampled_from(
    ["uuid", "title", "file_path", "incoming_connections", "kernel", "parameters", "meta_data"]
)
raw_steps = st.dictionaries(step_fields, json_values | st.sampled_from(["s", "a.py", ["s"]]))


@settings(max_examples=150, deadline=None)
@given(
    data=json_values
    | st.fixed_dictionaries(
        {"uuid": json_values, "steps": st.dictionaries(st.sampled_from(["s", "t"]), raw_steps)},
        optional={"env_variables": json_values, "name": json_values},
    )
)
def test_validate_never_raises(data: Any) -> None:
    issues = validate_pipeline(data, ".", check_files=False)
    assert all(isinstance(issue, Issue) and issue.message for issue in issues)
    if not issues:
        assert isinstance(parse_pipeline(data, ".", check_files=False), Pipeline)
