"""Elyra pipelines (pipeline-flow v3 ``.pipeline`` JSON) converted into Orchest pipeline JSON.

Notebook, Python and R nodes become steps; any other node is an issue naming it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from .issues import Checker, json_type

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

    Issues go to ``checker``; nodes that cannot become steps are left out, links to them dropped.
    """
    _check_version(doc, checker)
    pipeline = _primary_pipeline(doc, checker)
    if pipeline is None:
        return None
    app_data = checker.get(pipeline, "app_data", dict, {}, _WHERE)
    properties = checker.get(app_data, "properties", dict, {}, f"{_WHERE} app_data")
    defaults = checker.get(properties, "pipeline_defaults", dict, {}, f"{_WHERE} properties")
    image = checker.get(defaults, "runtime_image", str, "", "Elyra pipeline_defaults")
    env = _env_vars(defaults.get("env_vars"), "Elyra pipeline_defaults", None, checker)
    name = checker.get(properties, "name", str, "", f"{_WHERE} properties")
    nodes = checker.get(pipeline, "nodes", list, [], _WHERE, required=True)
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
    if version is None:
        return
    if not isinstance(version, (str, int, float)) or isinstance(version, bool):
        checker.add(
            f'{_WHERE}: field "version" must be a string such as "3.0", got {json_type(version)}.',
            None,
            "version",
        )
    elif str(version).split(".")[0] != "3":
        checker.add(
            f"{_WHERE}: version {version!r} is not supported; expected pipeline-flow 3.x.",
            None,
            "version",
        )


def _primary_pipeline(doc: dict[str, Any], checker: Checker) -> dict[str, Any] | None:
    """The entry of ``pipelines`` whose id is ``primary_pipeline``."""
    pipelines = checker.get(doc, "pipelines", list, None, _WHERE, required=True)
    primary = checker.get(doc, "primary_pipeline", str, None, _WHERE, required=True)
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
    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            checker.add(
                f"{_WHERE}: nodes[{index}] must be a JSON object, got {json_type(node)}.",
                None,
                "nodes",
            )
            continue
        where = f'Node "{_title(node) or "untitled"}"'
        node_id = checker.get(node, "id", str, None, f"{where} (nodes[{index}])", required=True)
        if node_id is None:
            continue
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
    app_data = checker.get(node, "app_data", dict, {}, where, node_id)
    filename = _parameter(app_data, "filename")
    if not isinstance(filename, str) or not filename:
        problem = "has no filename" if filename in (None, "") else "has a filename that is not text"
        checker.add(
            f"{where}: {problem} (app_data.component_parameters.filename).", node_id, "filename"
        )
        return None
    step = {
        "uuid": node_id,
        "title": _title(node),
        "file_path": filename,
        "incoming_connections": _links(node, where, node_id, checker),
        "image": _parameter(app_data, "runtime_image") or None,
        "meta_data": _meta_data(app_data),
    }
    env = _env_vars(_parameter(app_data, "env_vars"), where, node_id, checker)
    return {**step, "env_variables": env} if env else step


def _parameter(app_data: dict[str, Any], name: str) -> Any:
    """A node setting from ``component_parameters`` (Elyra 3) or ``app_data`` (older files)."""
    parameters = app_data.get("component_parameters")
    if isinstance(parameters, dict) and name in parameters:
        return parameters[name]
    return app_data.get(name)


def _title(node: dict[str, Any]) -> str:
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


def _links(node: dict[str, Any], where: str, node_id: str, checker: Checker) -> list[str]:
    """Parent node ids from ``inputs[].links[].node_id_ref``, in link order, without repeats."""
    parents: list[str] = []
    for port in checker.get(node, "inputs", list, [], where, node_id):
        links = port.get("links", []) if isinstance(port, dict) else None
        for link in links if isinstance(links, list) else [None]:
            parent = link.get("node_id_ref") if isinstance(link, dict) else None
            if isinstance(parent, str) and parent:
                parents.append(parent)
            else:
                checker.add(
                    f"{where}: malformed input link; each link needs a node_id_ref (a node id).",
                    node_id,
                    "links",
                )
    return list(dict.fromkeys(parents))


def _meta_data(app_data: dict[str, Any]) -> dict[str, Any]:
    """Orchest's step meta_data: the node's position on the canvas, when it has one."""
    ui_data = app_data.get("ui_data")
    if not isinstance(ui_data, dict):
        return {}
    position = [ui_data.get("x_pos"), ui_data.get("y_pos")]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position):
        return {}
    return {"hidden": False, "position": position}


def _env_vars(value: Any, where: str, step: str | None, checker: Checker) -> dict[str, str]:
    """Elyra ``env_vars`` as a dict; as in Elyra, entries without a value are ignored."""
    if value is None:
        return {}
    if not isinstance(value, list):
        message = f"{where}: env_vars must be an array, got {json_type(value)}."
        checker.add(message, step, "env_vars")
        return {}
    env: dict[str, str] = {}
    for index, entry in enumerate(value):
        pair = _env_pair(entry)
        if pair is None:
            checker.add(
                f'{where}: env_vars[{index}] must be {{"env_var": NAME, "value": VALUE}} '
                f'or "NAME=VALUE", got {json.dumps(entry, default=str)}.',
                step,
                "env_vars",
            )
        elif pair[1]:
            env[pair[0]] = pair[1]
    return env


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
