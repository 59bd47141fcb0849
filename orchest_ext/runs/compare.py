"""Two runs side by side (``GET runs/compare``): what differs in the pipelines they ran (steps
by uuid, connections, parameters, environments, each step's code by content hash) and, per
step, statuses, durations, metrics and output summaries. Pure: built from what each run
stored when it ran (``RunRecord``), never from today's files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..pipeline import step_kind

SIDES = ("a", "b")
RUN_FIELDS = (
    "id",
    "status",
    "pipeline_uuid",
    "pipeline_name",
    "pipeline_path",
    "run_type",
    "created_time",
    "started_time",
    "finished_time",
)
STEP_SETTINGS = ("title", "file_path", "environment", "image")
"""Step settings compared value for value (besides kernel, parameters, env names, code)."""


@dataclass
class RunRecord:
    """What one run stored: the run as ``GET runs/{id}`` shows it (its ``pipeline`` as it
    ran), each step's code digest (the ``code`` part of its cache key) and, where recorded,
    each step's output summaries."""

    run: dict[str, Any]
    code: dict[str, str | None] = field(default_factory=dict)
    outputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def compare_runs(a: RunRecord, b: RunRecord) -> dict[str, Any]:
    """The comparison of run ``a`` with run ``b`` (``b`` is the later one by convention; the
    comparison does not depend on it)."""
    pipelines = (a.run["pipeline"], b.run["pipeline"])
    return {
        "a": _summary(a.run),
        "b": _summary(b.run),
        "same_pipeline": a.run["pipeline_uuid"] == b.run["pipeline_uuid"],
        "pipeline": pipeline_changes(*pipelines),
        "steps": [_step(uuid, a, b) for uuid in step_order(*pipelines)],
    }


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    return {
        **{name: run.get(name) for name in RUN_FIELDS},
        "duration": duration(run.get("started_time"), run.get("finished_time")),
    }


def step_order(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Every step uuid of either pipeline: ``b``'s in its order, then those only in ``a``."""
    return [*b["steps"], *(uuid for uuid in a["steps"] if uuid not in b["steps"])]


def pipeline_changes(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """What differs between two ran pipelines (``GET runs/{id}``'s ``pipeline``)."""
    steps_a, steps_b = set(a["steps"]), set(b["steps"])
    edges_a, edges_b = _edges(a), _edges(b)
    return {
        "name": None if a["name"] == b["name"] else {"a": a["name"], "b": b["name"]},
        "parameters": value_changes(a["parameters"], b["parameters"]),
        "env_variable_names": name_changes(a["env_variable_names"], b["env_variable_names"]),
        "steps": {
            "added": [uuid for uuid in b["steps"] if uuid not in steps_a],
            "removed": [uuid for uuid in a["steps"] if uuid not in steps_b],
            "matched": [uuid for uuid in b["steps"] if uuid in steps_a],
        },
        "connections": {
            "added": [_edge(edge) for edge in edges_b if edge not in edges_a],
            "removed": [_edge(edge) for edge in edges_a if edge not in edges_b],
        },
    }


def _edges(pipeline: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (parent, uuid)
        for uuid, step in pipeline["steps"].items()
        for parent in step["incoming_connections"]
    ]


def _edge(edge: tuple[str, str]) -> dict[str, str]:
    return {"from": edge[0], "to": edge[1]}


def value_changes(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """The names whose values differ (or that only one side has), sorted: ``{name, change:
    added|removed|changed, a, b}`` (a missing side's value is null)."""
    changes = []
    for name in sorted(set(a) | set(b)):
        if name in a and name in b and a[name] == b[name]:
            continue
        change = "changed" if name in a and name in b else "added" if name in b else "removed"
        changes.append({"name": name, "change": change, "a": a.get(name), "b": b.get(name)})
    return changes


def name_changes(a: list[str], b: list[str]) -> dict[str, list[str]]:
    return {
        "added": sorted(set(b) - set(a)),
        "removed": sorted(set(a) - set(b)),
    }


def _step(uuid: str, a: RunRecord, b: RunRecord) -> dict[str, Any]:
    """One step of either run: how its settings differ and how it ran on each side."""
    defined = {"a": a.run["pipeline"]["steps"].get(uuid), "b": b.run["pipeline"]["steps"].get(uuid)}
    shown = defined["b"] or defined["a"]
    code = {"a": a.code.get(uuid), "b": b.code.get(uuid)}
    ran = {"a": _ran(a, uuid), "b": _ran(b, uuid)}
    return {
        "uuid": uuid,
        "title": shown["title"],
        "file_path": shown["file_path"],
        "kind": step_kind(shown["file_path"]),
        "in": [side for side in SIDES if defined[side] is not None],
        "changes": step_changes(defined["a"], defined["b"], code),
        "code": {**code, "same": None if None in code.values() else code["a"] == code["b"]},
        **ran,
        "metrics": value_changes_all(ran["a"]["metrics"], ran["b"]["metrics"]),
        "outputs": output_changes(ran["a"]["outputs"] or [], ran["b"]["outputs"] or []),
    }


def step_changes(
    a: dict[str, Any] | None, b: dict[str, Any] | None, code: dict[str, str | None]
) -> dict[str, Any]:
    """How a step's definition differs (empty for a step only one pipeline has)."""
    if a is None or b is None:
        return {}
    changes: dict[str, Any] = {
        name: {"a": a.get(name), "b": b.get(name)}
        for name in STEP_SETTINGS
        if a.get(name) != b.get(name)
    }
    kernels = ((a.get("kernel") or {}).get("name"), (b.get("kernel") or {}).get("name"))
    if kernels[0] != kernels[1]:
        changes["kernel"] = {"a": kernels[0], "b": kernels[1]}
    if parameters := value_changes(a["parameters"], b["parameters"]):
        changes["parameters"] = parameters
    env_names = name_changes(a["env_variable_names"], b["env_variable_names"])
    if env_names["added"] or env_names["removed"]:
        changes["env_variable_names"] = env_names
    parents = name_changes(a["incoming_connections"], b["incoming_connections"])
    if parents["added"] or parents["removed"]:
        changes["incoming_connections"] = parents
    if None not in code.values() and code["a"] != code["b"]:
        changes["code"] = dict(code)
    return changes


def _ran(record: RunRecord, uuid: str) -> dict[str, Any]:
    """How step ``uuid`` ran in ``record``'s run (``ran`` false: the run did not run it)."""
    step = next((s for s in record.run.get("steps", []) if s["uuid"] == uuid), None)
    if step is None:
        return {"ran": False, "status": None, "duration": None, "metrics": {}, "outputs": None}
    return {
        "ran": True,
        "status": step["status"],
        "started_time": step.get("started_time"),
        "finished_time": step.get("finished_time"),
        "duration": duration(step.get("started_time"), step.get("finished_time")),
        "cached": step.get("cached", False),
        "metrics": step.get("metrics") or {},
        "outputs": record.outputs.get(uuid),
    }


def value_changes_all(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Every name of either side, sorted, with both values (null where missing) and, for
    two numbers, ``delta`` (b - a)."""
    rows = []
    for name in sorted(set(a) | set(b)):
        row = {"name": name, "a": a.get(name), "b": b.get(name), "delta": None}
        if _number(row["a"]) and _number(row["b"]):
            row["delta"] = row["b"] - row["a"]
        rows.append(row)
    return rows


def output_changes(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every output name of either side (``b``'s order, then ``a``'s), with both summaries
    (null where missing) and whether they are the same (type, size and preview)."""
    by_name = {"a": {o["name"]: o for o in a}, "b": {o["name"]: o for o in b}}
    names = [*by_name["b"], *(name for name in by_name["a"] if name not in by_name["b"])]
    return [
        {
            "name": name,
            "a": by_name["a"].get(name),
            "b": by_name["b"].get(name),
            "same": by_name["a"].get(name) == by_name["b"].get(name),
        }
        for name in names
    ]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def duration(started: str | None, finished: str | None) -> float | None:
    """Seconds from ``started`` to ``finished`` (ISO 8601); None unless both are known."""
    if not started or not finished:
        return None
    try:
        return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        return None
