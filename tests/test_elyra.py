"""Elyra ``.pipeline`` files loaded into the pipeline model (orchest_ext.pipeline.elyra)."""

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
    load_pipeline,
    parse_pipeline,
    select_steps,
    topological_order,
    validate_pipeline,
)

EXAMPLE = Path(__file__).parent.parent / "examples" / "elyra" / "hello.pipeline"
PRIMARY = "9d1e2f3a-4b5c-4d6e-8f70-a1b2c3d4e5f6"
LOAD, CLEAN, TRAIN, REPORT = (f"0000000{n}-aaaa-4bbb-8ccc-dddddddddddd" for n in range(1, 5))


def node(
    node_id: str,
    op: str,
    filename: str | None,
    label: str = "",
    parents: tuple[str, ...] = (),
    **parameters: Any,
) -> dict[str, Any]:
    """A node as Elyra 3.x saves it (parameters under ``component_parameters``)."""
    component_parameters = {
        "dependencies": [],
        "include_subdirectories": False,
        "outputs": [],
        "env_vars": [],
        "kubernetes_secrets": [],
        "mounted_volumes": [],
        **parameters,
    }
    if filename is not None:
        component_parameters["filename"] = filename
    in_port: dict[str, Any] = {
        "id": "inPort",
        "app_data": {"ui_data": {"cardinality": {"min": 0, "max": -1}, "label": "Input Port"}},
    }
    if parents:
        in_port["links"] = [
            {"id": f"link-{parent}", "node_id_ref": parent, "port_id_ref": "outPort"}
            for parent in parents
        ]
    return {
        "id": node_id,
        "type": "execution_node",
        "op": op,
        "app_data": {
            "component_parameters": component_parameters,
            "label": label,
            "ui_data": {
                "label": filename or "Component",
                "image": "/static/elyra/notebook.svg",
                "x_pos": 120,
                "y_pos": 80.5,
                "description": "Run notebook file",
            },
        },
        "inputs": [in_port],
        "outputs": [{"id": "outPort", "app_data": {"ui_data": {"label": "Output Port"}}}],
    }


def document(*nodes: dict[str, Any], **properties: Any) -> dict[str, Any]:
    """An Elyra pipeline-flow v3 document with one (primary) pipeline."""
    return {
        "doc_type": "pipeline",
        "version": "3.0",
        "json_schema": "http://api.dataplatform.ibm.com/schemas/common-pipeline/"
        "pipeline-flow/pipeline-flow-v3-schema.json",
        "id": "elyra-auto-generated-pipeline",
        "primary_pipeline": PRIMARY,
        "pipelines": [
            {
                "id": PRIMARY,
                "nodes": list(nodes),
                "app_data": {
                    "ui_data": {"comments": []},
                    "version": 8,
                    "runtime_type": "LOCAL",
                    "properties": properties,
                },
                "runtime_ref": "",
            }
        ],
        "schemas": [],
    }


def realistic() -> dict[str, Any]:
    """Notebooks, a script and an R script; a fan-in; env vars; images; pipeline defaults."""
    old_style_train = {
        "id": TRAIN,
        "type": "execution_node",
        "op": "execute-r-node",
        "app_data": {
            "filename": "train.r",
            "runtime_image": "r-base:4.3.1",
            "env_vars": ["MODE=fast", "EMPTY=", ""],
            "ui_data": {"label": "train.r", "x_pos": 300, "y_pos": 200},
        },
        "inputs": [{"id": "inPort", "links": [{"id": "l2", "node_id_ref": LOAD}]}],
        "outputs": [{"id": "outPort"}],
    }
    return document(
        node(
            LOAD,
            "execute-python-node",
            "load.py",
            runtime_image="python:3.11-slim",
            env_vars=[
                {"env_var": "SOURCE", "value": "local"},
                {"env_var": "UNSET"},
                {"env_var": "GREETING", "value": " hi "},
            ],
        ),
        node(CLEAN, "execute-notebook-node", "notebooks/clean.ipynb", "Clean", (LOAD,)),
        old_style_train,
        node(REPORT, "execute-notebook-node", "report.ipynb", "", (TRAIN, CLEAN)),
        name="training",
        runtime="Generic",
        pipeline_defaults={
            "runtime_image": "orchest-ext/step:latest",
            "env_vars": [
                {"env_var": "GREETING", "value": "hello"},
                {"env_var": "MODE", "value": "slow"},
            ],
            "kubernetes_secrets": [],
            "mounted_volumes": [],
        },
    )


@pytest.fixture
def pipeline_dir(tmp_path: Path) -> Path:
    (tmp_path / "notebooks").mkdir()
    for name in ("load.py", "notebooks/clean.ipynb", "train.r", "report.ipynb"):
        (tmp_path / name).write_text("")
    return tmp_path


def write(directory: Path, doc: Any, name: str = "training.pipeline") -> Path:
    path = directory / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
    return path


def issues_of(doc: Any, directory: Path) -> list[Issue]:
    return validate_pipeline(doc, directory, directory / "p.pipeline")


def only_issue(doc: Any, directory: Path) -> Issue:
    issues = issues_of(doc, directory)
    assert len(issues) == 1, issues
    return issues[0]


def test_realistic_document_converts_field_by_field(pipeline_dir: Path) -> None:
    path = write(pipeline_dir, realistic())
    pipeline = load_pipeline(path)
    assert (pipeline.name, pipeline.uuid, pipeline.version) == ("training", PRIMARY, None)
    assert (pipeline.path, pipeline.directory) == (path, pipeline_dir.resolve())
    assert pipeline.default_image == "orchest-ext/step:latest"
    assert pipeline.settings == {"default_image": "orchest-ext/step:latest"}
    assert pipeline.env_variables == {"GREETING": "hello", "MODE": "slow"}
    assert pipeline.parameters == {}
    assert list(pipeline.steps) == [LOAD, CLEAN, TRAIN, REPORT]

    load, clean, train, report = pipeline.steps.values()
    assert (load.title, load.file_path, load.kind) == ("load.py", "load.py", "python")
    assert load.image == "python:3.11-slim"
    assert load.env_variables == {"SOURCE": "local", "GREETING": "hi"}
    assert load.incoming_connections == []
    assert load.meta_data == {"hidden": False, "position": [120, 80.5]}
    assert (clean.title, clean.file_path, clean.kind) == (
        "Clean",
        "notebooks/clean.ipynb",
        "notebook",
    )
    assert (clean.image, clean.env_variables) == (None, {})
    assert clean.incoming_connections == [LOAD]
    assert (train.title, train.file_path, train.kind) == ("train.r", "train.r", "r")
    assert (train.image, train.env_variables) == ("r-base:4.3.1", {"MODE": "fast"})
    assert train.incoming_connections == [LOAD]
    assert (report.title, report.kind, report.incoming_connections) == (
        "report.ipynb",
        "notebook",
        [TRAIN, CLEAN],
    )
    for step in pipeline.steps.values():
        assert (step.kernel, step.environment, step.parameters, step.extra) == ({}, None, {}, {})


def test_node_env_overrides_the_pipeline_defaults(pipeline_dir: Path) -> None:
    pipeline = load_pipeline(write(pipeline_dir, realistic()))
    load = pipeline.steps[LOAD]
    effective = {**pipeline.env_variables, **load.env_variables}
    assert effective == {"GREETING": "hi", "MODE": "slow", "SOURCE": "local"}


@pytest.mark.parametrize("parents", [(LOAD, CLEAN), (CLEAN, LOAD)])
def test_incoming_connections_follow_link_order(
    parents: tuple[str, ...], pipeline_dir: Path
) -> None:
    doc = document(
        node(LOAD, "execute-python-node", "load.py"),
        node(CLEAN, "execute-notebook-node", "notebooks/clean.ipynb"),
        node(REPORT, "execute-notebook-node", "report.ipynb", parents=parents),
    )
    doc["pipelines"][0]["nodes"][2]["inputs"].append(
        {"id": "second", "links": [{"id": "again", "node_id_ref": parents[0]}]}
    )
    pipeline = parse_pipeline(doc, pipeline_dir)
    assert pipeline.steps[REPORT].incoming_connections == list(parents)
    order = topological_order(select_steps(pipeline, "full"))
    assert order[-1] == REPORT


def test_run_order_of_a_fan_in(pipeline_dir: Path) -> None:
    pipeline = load_pipeline(write(pipeline_dir, realistic()))
    order = topological_order(select_steps(pipeline, "full"))
    assert order[0] == LOAD and order[-1] == REPORT
    assert set(select_steps(pipeline, "incoming", [REPORT])) == {LOAD, CLEAN, TRAIN}


SUPERNODE = {
    "id": "super-1",
    "type": "super_node",
    "subflow_ref": {"pipeline_id_ref": "sub"},
    "app_data": {"ui_data": {"label": "Supernode"}},
    "inputs": [],
    "outputs": [],
}
MODEL_NODE = {"id": "model-1", "type": "model_node", "app_data": {"label": "Scorer"}}


@pytest.mark.parametrize(
    ("unsupported", "label", "kind"),
    [
        (SUPERNODE, "Supernode", "node type 'super_node'"),
        (MODEL_NODE, "Scorer", "node type 'model_node'"),
        (
            node("kfp-1", "elyra-kfp-examples-catalog:a08014f9252f", None, "Download data"),
            "Download data",
            "op 'elyra-kfp-examples-catalog:a08014f9252f'",
        ),
        (
            node("af-1", "url-catalog:1d2a3b4c", None, "", url="x"),
            "Component",
            "op 'url-catalog:1d2a3b4c'",
        ),
        (
            {**node("op-1", "x", "load.py", "No op"), "op": None},
            "No op",
            "op None",
        ),
    ],
)
def test_unsupported_node_is_an_issue_naming_it(
    unsupported: dict[str, Any], label: str, kind: str, pipeline_dir: Path
) -> None:
    unsupported = copy.deepcopy(unsupported)
    doc = document(
        node(LOAD, "execute-python-node", "load.py"),
        unsupported,
        node(REPORT, "execute-notebook-node", "report.ipynb", parents=(LOAD, unsupported["id"])),
    )
    issue = only_issue(doc, pipeline_dir)
    assert (issue.step, issue.field) == (unsupported["id"], "op")
    assert f'Node "{label}" ({unsupported["id"]})' in issue.message
    assert kind in issue.message
    assert "execute-notebook-node" in issue.message


def test_unsupported_node_without_op(pipeline_dir: Path) -> None:
    bare = {"id": "n1", "type": "execution_node", "app_data": {"label": "Bare"}}
    issue = only_issue(document(bare), pipeline_dir)
    assert 'Node "Bare" (n1): a node without op cannot run here' in issue.message


@pytest.mark.parametrize("filename", [None, ""])
def test_node_without_filename(filename: str | None, pipeline_dir: Path) -> None:
    doc = document(node(LOAD, "execute-python-node", filename, "Load"))
    issue = only_issue(doc, pipeline_dir)
    assert (issue.step, issue.field) == (LOAD, "filename")
    assert f'Node "Load" ({LOAD}): has no filename' in issue.message


def test_filename_not_text(pipeline_dir: Path) -> None:
    issue = only_issue(document(node(LOAD, "execute-python-node", 3, "Load")), pipeline_dir)
    assert "filename that is not text" in issue.message


def test_link_to_unknown_node(pipeline_dir: Path) -> None:
    doc = document(node(REPORT, "execute-notebook-node", "report.ipynb", "Report", ("ghost",)))
    issue = only_issue(doc, pipeline_dir)
    assert (issue.step, issue.field) == (REPORT, "incoming_connections")
    assert '"ghost"' in issue.message and f'"Report" ({REPORT})' in issue.message


def test_cycle(pipeline_dir: Path) -> None:
    doc = document(
        node(LOAD, "execute-python-node", "load.py", "Load", (REPORT,)),
        node(REPORT, "execute-notebook-node", "report.ipynb", "Report", (LOAD,)),
    )
    issue = only_issue(doc, pipeline_dir)
    assert issue.field == "incoming_connections"
    assert f'"Load" ({LOAD}) -> "Report" ({REPORT}) -> "Load" ({LOAD})' in issue.message


def test_invalid_json(tmp_path: Path) -> None:
    path = write(tmp_path, '{"doc_type": "pipeline",\n "pipelines": [,]}')
    with pytest.raises(PipelineError, match="line 2, column 16") as info:
        load_pipeline(path)
    assert [issue.field for issue in info.value.issues] == ["json"]


@pytest.mark.parametrize(
    ("file_path", "text"),
    [
        ("missing.py", "does not exist"),
        ("../outside.py", "leaves the pipeline directory"),
        ("/abs/load.py", "is absolute"),
        ("data.csv", "unsupported file type"),
    ],
)
def test_file_issues_are_the_orchest_ones(file_path: str, text: str, pipeline_dir: Path) -> None:
    (pipeline_dir / "data.csv").write_text("")
    doc = document(node(LOAD, "execute-python-node", file_path, "Load"))
    issue = only_issue(doc, pipeline_dir)
    assert (issue.step, issue.field) == (LOAD, "file_path")
    assert f'"Load" ({LOAD})' in issue.message and text in issue.message


def without(key: str) -> dict[str, Any]:
    doc = document()
    del doc[key]
    return doc


@pytest.mark.parametrize(
    ("doc", "field", "text"),
    [
        (without("pipelines"), "pipelines", 'field "pipelines" is required'),
        (without("primary_pipeline"), "primary_pipeline", 'field "primary_pipeline" is required'),
        ({**document(), "pipelines": {}}, "pipelines", "must be an array, got an object"),
        ({**document(), "pipelines": []}, "primary_pipeline", "is not the id of an entry"),
        ({**document(), "primary_pipeline": "other"}, "primary_pipeline", '"other" is not'),
        ({**document(), "version": "2.0"}, "version", "'2.0' is not supported"),
        ({**document(), "version": 2}, "version", "2 is not supported; expected pipeline-flow"),
        ({**document(), "version": [3]}, "version", 'must be a string such as "3.0", got an'),
    ],
)
def test_document_structure_issues(doc: dict, field: str, text: str, tmp_path: Path) -> None:
    issue = only_issue(doc, tmp_path)
    assert (issue.step, issue.field) == (None, field)
    assert text in issue.message


@pytest.mark.parametrize("version", ["3.0", "3", 3, 3.0])
def test_version_3_as_a_string_or_a_number_is_read(version: Any, tmp_path: Path) -> None:
    doc = {**document(node(LOAD, "execute-python-node", "load.py")), "version": version}
    assert validate_pipeline(doc, tmp_path, check_files=False) == []


def pipeline_with(**fields: Any) -> dict[str, Any]:
    doc = document()
    doc["pipelines"][0].update(fields)
    return doc


def node_with(**fields: Any) -> dict[str, Any]:
    return document({**node(LOAD, "execute-python-node", "load.py", "Load"), **fields})


@pytest.mark.parametrize(
    ("doc", "step", "field", "text"),
    [
        (pipeline_with(nodes={}), None, "nodes", '"nodes" must be an array'),
        (pipeline_with(nodes=["load.py"]), None, "nodes", "nodes[0] must be a JSON object"),
        (pipeline_with(nodes=[{"op": "x"}]), None, "id", 'Node "untitled" (nodes[0])'),
        (pipeline_with(app_data=[]), None, "app_data", '"app_data" must be an object'),
        (node_with(inputs={}), LOAD, "inputs", '"inputs" must be an array'),
        (node_with(inputs=[{"links": [{}]}]), LOAD, "links", "node_id_ref"),
        (node_with(inputs=[{"links": "x"}]), LOAD, "links", "node_id_ref"),
    ],
)
def test_node_structure_issues(
    doc: dict, step: str | None, field: str, text: str, pipeline_dir: Path
) -> None:
    issue = only_issue(doc, pipeline_dir)
    assert (issue.step, issue.field) == (step, field)
    assert text in issue.message


def test_duplicate_node_ids(pipeline_dir: Path) -> None:
    doc = document(
        node(LOAD, "execute-python-node", "load.py", "Load"),
        node(LOAD, "execute-notebook-node", "report.ipynb", "Report"),
    )
    issue = only_issue(doc, pipeline_dir)
    assert (issue.step, issue.field) == (LOAD, "id")
    assert f'Node "Report" ({LOAD}): another node has the same id' in issue.message


@pytest.mark.parametrize(
    ("env_vars", "text"),
    [
        ("A=1", "env_vars must be an array, got a string"),
        (["NO_EQUALS"], 'env_vars[0] must be {"env_var": NAME, "value": VALUE} or "NAME=VALUE"'),
        ([{"env_var": 1, "value": "x"}], "env_vars[0]"),
        ([{"env_var": "A", "value": 2}], "env_vars[0]"),
    ],
)
def test_malformed_env_vars(env_vars: Any, text: str, pipeline_dir: Path) -> None:
    doc = document(node(LOAD, "execute-python-node", "load.py", "Load", env_vars=env_vars))
    issue = only_issue(doc, pipeline_dir)
    assert (issue.step, issue.field) == (LOAD, "env_vars")
    assert f'Node "Load" ({LOAD})' in issue.message and text in issue.message


def test_invalid_env_var_names_use_the_orchest_check(pipeline_dir: Path) -> None:
    doc = document(
        node(LOAD, "execute-python-node", "load.py", "Load", env_vars=["1BAD=x"]),
        pipeline_defaults={"env_vars": [{"env_var": "ALSO BAD", "value": "y"}]},
    )
    issues = issues_of(doc, pipeline_dir)
    assert [(issue.step, issue.field) for issue in issues] == [
        (None, "env_variables"),
        (LOAD, "env_variables"),
    ]
    assert "'ALSO BAD' is not a valid" in issues[0].message
    assert "'1BAD' is not a valid" in issues[1].message


def test_to_dict_round_trip(pipeline_dir: Path) -> None:
    path = write(pipeline_dir, realistic())
    pipeline = load_pipeline(path)
    data = pipeline.to_dict()
    assert "doc_type" not in data and set(data["steps"]) == set(pipeline.steps)
    assert data["settings"] == {"default_image": "orchest-ext/step:latest"}
    assert data["steps"][LOAD]["env_variables"] == {"SOURCE": "local", "GREETING": "hi"}
    assert "env_variables" not in data["steps"][CLEAN]
    again = parse_pipeline(json.dumps(data), pipeline_dir, path, check_files=False)
    assert again == pipeline
    assert again.to_dict() == data


def test_parse_inline_document_without_path(pipeline_dir: Path) -> None:
    doc = realistic()
    del doc["pipelines"][0]["app_data"]["properties"]["name"]
    pipeline = parse_pipeline(doc, pipeline_dir)
    assert (pipeline.name, pipeline.path) == ("", None)
    assert list(pipeline.steps) == [LOAD, CLEAN, TRAIN, REPORT]


def test_name_falls_back_to_the_file_stem(pipeline_dir: Path) -> None:
    doc = realistic()
    del doc["pipelines"][0]["app_data"]["properties"]["name"]
    assert load_pipeline(write(pipeline_dir, doc, "my flow.pipeline")).name == "my flow"


def test_pipeline_suffix_without_doc_type_is_read_as_elyra(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match='"pipelines" is required'):
        load_pipeline(write(tmp_path, {"primary_pipeline": "p"}))


def test_orchest_snapshot_with_a_pipeline_path_is_read_as_orchest(pipeline_dir: Path) -> None:
    path = write(pipeline_dir, realistic())
    snapshot = load_pipeline(path).to_dict()
    assert validate_pipeline(snapshot, pipeline_dir, path) == []


def test_validate_accepts_bytes_and_file_paths(pipeline_dir: Path) -> None:
    path = write(pipeline_dir, realistic())
    assert validate_pipeline(path.read_bytes(), pipeline_dir, path) == []


def test_example_pipeline() -> None:
    pipeline = load_pipeline(EXAMPLE)
    produce, words, consume = pipeline.steps.values()
    assert pipeline.name == "hello"
    assert [step.file_path for step in (produce, words, consume)] == [
        "produce.py",
        "words.ipynb",
        "consume.ipynb",
    ]
    assert consume.incoming_connections == [produce.uuid, words.uuid]
    assert pipeline.env_variables == {"GREETING": "Hello", "SCALE": "1"}
    assert produce.env_variables == {"SCALE": "10"}
    assert consume.env_variables == {"GREETING": "Hello from Elyra"}
    assert pipeline.default_image == "orchest-ext/step:latest"
    assert isinstance(pipeline, Pipeline)


elyra_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)
elyra_nodes = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["a", "b"]) | elyra_values,
        "type": st.sampled_from(["execution_node", "super_node"]) | elyra_values,
        "op": st.sampled_from(["execute-python-node", "x"]) | elyra_values,
        "app_data": st.fixed_dictionaries(
            {},
            optional={
                "filename": st.sampled_from(["a.py", ""]) | elyra_values,
                "env_vars": elyra_values,
                "component_parameters": elyra_values,
                "label": elyra_values,
                "ui_data": elyra_values,
            },
        )
        | elyra_values,
        "inputs": st.lists(
            st.fixed_dictionaries(
                {"links": st.lists(st.fixed_dictionaries({"node_id_ref": elyra_values}))}
            )
            | elyra_values,
            max_size=2,
        )
        | elyra_values,
    },
)


@settings(max_examples=150, deadline=None)
@given(
    nodes=st.lists(elyra_nodes | elyra_values, max_size=3),
    app_data=elyra_values,
    version=elyra_values,
)
def test_validate_never_raises_for_elyra_documents(
    nodes: list, app_data: Any, version: Any
) -> None:
    doc = {**document(), "version": version}
    doc["pipelines"][0].update(nodes=nodes, app_data=app_data)
    issues = validate_pipeline(doc, ".", check_files=False)
    assert all(isinstance(issue, Issue) and issue.message for issue in issues)
    if not issues:
        assert isinstance(parse_pipeline(doc, ".", check_files=False), Pipeline)


def test_generic_primary_id_gets_a_uuid_per_file(pipeline_dir: Path) -> None:
    doc = document(node("n1", "execute-python-node", "load.py"))
    doc["primary_pipeline"] = doc["pipelines"][0]["id"] = "primary"
    first = load_pipeline(write(pipeline_dir, doc, "a.pipeline"))
    again = load_pipeline(pipeline_dir / "a.pipeline")
    other = load_pipeline(write(pipeline_dir, doc, "b.pipeline"))
    assert first.uuid == again.uuid != other.uuid
    assert first.uuid != "primary"
