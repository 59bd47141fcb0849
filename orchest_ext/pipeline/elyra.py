"""Elyra pipelines (pipeline-flow v3 ``.pipeline`` JSON) converted into Orchest pipeline JSON.

Notebook, Python and R nodes become steps; any other node is an issue naming it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from .issues import Checker, typed

SUFFIX = ".pipeline"
NODE_OPS = ("execute-notebook-node", "execute-python-node", "execute-r-node")
_WHERE = "Elyra pipeline"


def is_elyra(data: dict[str, Any], path: Path | str | None) -> bool:
    """Whether a document is Elyra's: ``doc_type`` "pipeline", or a ``.pipeline`` file without
    Orchest ``steps`` (a stored Orchest snapshot of an Elyra pipeline has them).
    """
    if data.get("doc_type") == "pipeline":
        return True
    return path is not None and Path(path).suffix == SUFFIX and "steps" not in data


def to_orchest(
    doc: dict[str, Any], path: Path | str | None, checker: Checker
) -> dict[str, Any] | None:
    """The Orchest pipeline JSON for an Elyra document, None when it has no usable pipeline.

    The document's structure is checked by its schema (``schema_issues("elyra", doc)``);
    the issues found here are the rest (version, primary pipeline, node ids, runnable nodes),
    and go to ``checker``. Nodes that cannot become steps are left out, links to them dropped.
    """
    _check_version(doc, checker)
    pipeline = _primary_pipeline(doc, checker)
    if pipeline is None:
        return None
    properties = typed(typed(pipeline, "app_data", dict, {}), "properties", dict, {})
    defaults = typed(properties, "pipeline_defaults", dict, {})
    image = typed(defaults, "runtime_image", str, "")
    env = _env_vars(defaults.get("env_vars"))
    name = typed(properties, "name", str, "")
    nodes = typed(pipeline, "nodes", list, [])
    return {
        "name": name or (Path(path).stem if path is not None else ""),
        "uuid": _pipeline_uuid(pipeline["id"], path),
        "settings": {"default_image": image} if image else {},
        "parameters": {},
        "env_variables": env,
        "steps": _steps(nodes, checker),
    }


def _pipeline_uuid(pipeline_id: str, path: Path | str | None) -> str:
    """The pipeline's id, unless it is Elyra's generic ``primary`` (shared by many files):
    then a uuid derived from the file's resolved path, stable across loads."""
    if pipeline_id != "primary" or path is None:
        return pipeline_id
    return str(uuid.uuid5(uuid.NAMESPACE_URL, Path(path).resolve().as_uri()))


def _check_version(doc: dict[str, Any], checker: Checker) -> None:
    """Elyra writes pipeline-flow version "3.0" (3 or 3.0 as a number is read the same);
    other major versions are not understood."""
    version = doc.get("version")
    readable = isinstance(version, (str, int, float)) and not isinstance(version, bool)
    if readable and str(version).split(".")[0] != "3":
        checker.add(
            f"{_WHERE}: version {version!r} is not supported; expected pipeline-flow 3.x.",
            None,
            "version",
        )


def _primary_pipeline(doc: dict[str, Any], checker: Checker) -> dict[str, Any] | None:
    """The entry of ``pipelines`` whose id is ``primary_pipeline``."""
    pipelines = typed(doc, "pipelines", list, None)
    primary = typed(doc, "primary_pipeline", str, None)
    if pipelines is None or primary is None:
        return None
    found = next((p for p in pipelines if isinstance(p, dict) and p.get("id") == primary), None)
    if found is None:
        checker.add(
            f'{_WHERE}: primary_pipeline "{primary}" is not the id of an entry of "pipelines".',
            None,
            "primary_pipeline",
        )
    return found


def _steps(nodes: list[Any], checker: Checker) -> dict[str, dict[str, Any]]:
    """Orchest steps keyed by node id, in node order."""
    steps: dict[str, dict[str, Any]] = {}
    left_out: set[str] = set()
    for node in nodes:
        node_id = typed(node, "id", str, None)
        if node_id is None:
            continue
        where = f'Node "{node_title(node) or "untitled"}"'
        if node_id in steps or node_id in left_out:
            checker.add(
                f"{where} ({node_id}): another node has the same id; node ids must be unique.",
                node_id,
                "id",
            )
            continue
        step = _step(node, node_id, f"{where} ({node_id})", checker)
        if step is None:
            left_out.add(node_id)
        else:
            steps[node_id] = step
    for step in steps.values():
        step["incoming_connections"] = [
            parent for parent in step["incoming_connections"] if parent not in left_out
        ]
    return steps


def _step(
    node: dict[str, Any], node_id: str, where: str, checker: Checker
) -> dict[str, Any] | None:
    """One Orchest step for a runnable node; None (and an issue) for any other node."""
    if node.get("type", "execution_node") != "execution_node" or node.get("op") not in NODE_OPS:
        checker.add(
            f"{where}: {_kind(node)} cannot run here; only execution nodes with op "
            f"{', '.join(NODE_OPS)} can.",
            node_id,
            "op",
        )
        return None
    app_data = typed(node, "app_data", dict, {})
    filename = _parameter(app_data, "filename")
    if not isinstance(filename, str) or not filename:
        problem = "has no filename" if filename in (None, "") else "has a filename that is not text"
        checker.add(
            f"{where}: {problem} (app_data.component_parameters.filename).", node_id, "filename"
        )
        return None
    step = {
        "uuid": node_id,
        "title": node_title(node),
        "file_path": filename,
        "incoming_connections": _links(node),
        "image": _parameter(app_data, "runtime_image") or None,
        "meta_data": _meta_data(app_data),
    }
    env = _env_vars(_parameter(app_data, "env_vars"))
    return {**step, "env_variables": env} if env else step


def _parameter(app_data: dict[str, Any], name: str) -> Any:
    """A node setting from ``component_parameters`` (Elyra 3) or ``app_data`` (older files)."""
    parameters = app_data.get("component_parameters")
    if isinstance(parameters, dict) and name in parameters:
        return parameters[name]
    return app_data.get(name)


def node_title(node: dict[str, Any]) -> str:
    """``app_data.label``, else ``app_data.ui_data.label``, else the filename; "" if none."""
    app_data = node.get("app_data")
    app_data = app_data if isinstance(app_data, dict) else {}
    ui_data = app_data.get("ui_data")
    ui_label = ui_data.get("label") if isinstance(ui_data, dict) else None
    names = (app_data.get("label"), ui_label, _parameter(app_data, "filename"))
    return next((name for name in names if isinstance(name, str) and name.strip()), "")


def _kind(node: dict[str, Any]) -> str:
    """How an unsupported node is named in its issue."""
    node_type = node.get("type", "execution_node")
    if node_type != "execution_node":
        return f"node type {node_type!r}"
    return f"op {node['op']!r}" if "op" in node else "a node without op"


def _links(node: dict[str, Any]) -> list[str]:
    """Parent node ids from ``inputs[].links[].node_id_ref``, in link order, without repeats."""
    parents = [
        link.get("node_id_ref")
        for port in typed(node, "inputs", list, [])
        for link in typed(port, "links", list, [])
        if isinstance(link, dict)
    ]
    return list(dict.fromkeys(p for p in parents if isinstance(p, str) and p))


def _meta_data(app_data: dict[str, Any]) -> dict[str, Any]:
    """Orchest's step meta_data: the node's position on the canvas, when it has one."""
    ui_data = app_data.get("ui_data")
    if not isinstance(ui_data, dict):
        return {}
    position = [ui_data.get("x_pos"), ui_data.get("y_pos")]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position):
        return {}
    return {"hidden": False, "position": position}


def _env_vars(value: Any) -> dict[str, str]:
    """Elyra ``env_vars`` as a dict; as in Elyra, entries without a value are ignored (and
    malformed ones, which the schema reports)."""
    pairs = [_env_pair(entry) for entry in value] if isinstance(value, list) else []
    return {pair[0]: pair[1] for pair in pairs if pair is not None and pair[1]}


def _env_pair(entry: Any) -> tuple[str, str] | None:
    """(name, value) of one ``env_vars`` entry, stripped; None when it is malformed."""
    if entry == "":
        return "", ""
    if isinstance(entry, str) and "=" in entry:
        name, value = entry.split("=", 1)
    elif (
        isinstance(entry, dict)
        and isinstance(entry.get("env_var", ""), str)
        and isinstance(entry.get("value") or "", str)
    ):
        name, value = entry.get("env_var", ""), entry.get("value") or ""
    else:
        return None
    return name.strip(), value.strip()
