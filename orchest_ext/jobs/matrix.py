"""A job's runs as one table: a row per parameter combination of its grid (one row without a
grid), with the combination's values, the newest run of it (status, duration), the metrics
its steps logged and a short preview of each output they passed; as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..runs.owners import in_root
from .grid import combinations

if TYPE_CHECKING:
    from . import JobManager

PIPELINE_PARAMETERS = "pipeline_parameters"
TIMES = "\u00d7"
RunsOf = Callable[[list[str]], Awaitable[dict[str, dict[str, Any]]]]
"""Runs by id, each with its steps, a step with its ``metrics`` and the summaries of the
outputs it passed (``outputs``); runs that cannot be shown are left out."""


def parameter_columns(grid: dict[str, dict[str, list[Any]]]) -> list[dict[str, str]]:
    """A column per grid parameter: ``a`` for a pipeline parameter, ``Step.a`` for a step's."""
    return [
        {"key": key, "name": name, "label": name if key == PIPELINE_PARAMETERS else f"{key}.{name}"}
        for key, params in grid.items()
        for name in params
    ]


def combination_key(overrides: dict[str, Any] | None) -> str:
    """A combination's identity: its overrides as canonical JSON."""
    return json.dumps(overrides or {}, sort_keys=True, default=str)


def duration(run: dict[str, Any]) -> float | None:
    """Seconds from a run's start to its end; None while it has not ended."""
    start, end = run.get("started_time"), run.get("finished_time")
    if not start or not end:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)


def output_preview(summary: dict[str, Any]) -> str:
    """An output in a few characters: a table's shape, an array's dtype and shape, a value."""
    preview = summary.get("preview") or {}
    kind = preview.get("kind")
    if kind == "table":
        rows, cols = preview.get("shape", ["?", "?"])
        return f"{rows}{TIMES}{cols} table"
    if kind == "array":
        shape = TIMES.join(str(n) for n in preview.get("shape", []))
        return f"{preview.get('dtype', '')} array {shape}".strip()
    if kind == "value":
        return short_text(json.dumps(preview.get("value"), default=str))
    if kind == "text":
        return short_text(str(preview.get("text", "")))
    if kind == "image":
        return "image"
    return str(summary.get("type") or "").rsplit(".", 1)[-1]


def short_text(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _step_metrics(run: dict[str, Any] | None) -> list[tuple[str, str, float]]:
    """``(step title, name, value)`` of every metric the run's steps logged."""
    return [
        (step.get("title") or step["uuid"], name, value)
        for step in (run or {}).get("steps") or []
        for name, value in (step.get("metrics") or {}).items()
    ]


def _metric_labels(runs: list[dict[str, Any] | None]) -> dict[tuple[str, str], str]:
    """A metric's column: its name, or ``Step.name`` when several steps log that name."""
    logged = sorted({(title, name) for run in runs for title, name, _ in _step_metrics(run)})
    steps_per_name: dict[str, int] = {}
    for _, name in logged:
        steps_per_name[name] = steps_per_name.get(name, 0) + 1
    return {
        (title, name): name if steps_per_name[name] == 1 else f"{title}.{name}"
        for title, name in logged
    }


def _outputs(run: dict[str, Any] | None) -> dict[str, str]:
    """``{"Step.name": preview}`` of every output the run's steps passed."""
    shown: dict[str, str] = {}
    for step in (run or {}).get("steps") or []:
        for summary in step.get("outputs") or []:
            title = step.get("title") or step["uuid"]
            label = f"{title}.{summary['name']}" if summary.get("name") else title
            shown[label] = output_preview(summary)
    return shown


async def job_matrix(
    job: dict[str, Any],
    linked: list[dict[str, Any]],
    runs_of: RunsOf,
) -> dict[str, Any]:
    """The matrix of ``job`` (as ``GET jobs/{id}`` shows it) from its ``linked`` runs (newest
    first, each with its ``parameters``): each combination with its newest run."""
    grid = job.get("parameter_grid") or {}
    columns = parameter_columns(grid)
    newest: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for link in linked:
        key = combination_key(link.get("parameters"))
        newest.setdefault(key, link)
        counts[key] = counts.get(key, 0) + 1
    combos = combinations(grid, job.get("parameters") or {})
    keys = list(dict.fromkeys([combination_key(c) for c in combos] + list(newest)))
    overrides = {combination_key(c): c for c in combos}
    overrides.update({key: link.get("parameters") or {} for key, link in newest.items()})
    found = await runs_of([link["id"] for link in newest.values()])
    runs = [found.get(newest[key]["id"]) if key in newest else None for key in keys]
    metric_labels = _metric_labels(runs)
    rows = []
    for key, run in zip(keys, runs, strict=True):
        values = overrides[key]
        rows.append(
            {
                "parameters": {
                    c["label"]: values.get(c["key"], {}).get(c["name"]) for c in columns
                },
                "run_id": run["id"] if run else None,
                "runs": counts.get(key, 0),
                "fire_time": newest[key].get("fire_time") if key in newest else None,
                "status": run["status"] if run else None,
                "duration": duration(run) if run else None,
                "metrics": {
                    metric_labels[(title, name)]: value for title, name, value in _step_metrics(run)
                },
                "outputs": _outputs(run),
            }
        )
    outputs = sorted({label for row in rows for label in row["outputs"]})
    return {
        "job_id": job["id"],
        "job_name": job["name"],
        "parameters": [c["label"] for c in columns],
        "metrics": sorted(set(metric_labels.values())),
        "outputs": outputs,
        "rows": rows,
    }


async def load_job_matrix(jobs: JobManager, job_id: str) -> dict[str, Any] | None:
    """The matrix of a job under the server's root dir, its runs' outputs as stored when
    their steps ended; None if there is no such job."""
    job = await jobs.get(job_id, limit=1)
    if job is None:
        return None
    linked = await jobs.store.job_runs(job_id)
    return await job_matrix(job, linked, lambda ids: _runs_with_results(jobs, ids))


async def _runs_with_results(jobs: JobManager, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The runs under the root dir with their steps' results, read from the store in one go;
    a run still going as it is now, with the outputs its steps have stored."""
    stored = await jobs.store.runs_with_results(run_ids)
    runs = {}
    for run_id, run in stored.items():
        if not in_root(run["pipeline_dir"], jobs.runs.root_dir):
            continue
        live = await jobs.runs.get(run_id) if jobs.runs.is_active(run_id) else None
        if live is not None:
            outputs = {step["uuid"]: step["outputs"] for step in run["steps"]}
            live["steps"] = [
                {**step, "outputs": outputs.get(step["uuid"], [])} for step in live["steps"]
            ]
            run = live
        runs[run_id] = run
    return runs


def matrix_csv(matrix: dict[str, Any]) -> str:
    """The matrix as CSV: run id, a column per parameter, status, duration in seconds, a
    column per metric and per output (parameter values that are not text as JSON)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "run_id",
            *matrix["parameters"],
            "status",
            "duration_s",
            *matrix["metrics"],
            *matrix["outputs"],
        ]
    )
    for row in matrix["rows"]:
        writer.writerow(
            [
                row["run_id"] or "",
                *(_cell(row["parameters"].get(label)) for label in matrix["parameters"]),
                row["status"] or "",
                _cell(row["duration"]),
                *(_cell(row["metrics"].get(label)) for label in matrix["metrics"]),
                *(row["outputs"].get(label, "") for label in matrix["outputs"]),
            ]
        )
    return out.getvalue()


def _cell(value: Any) -> str:
    """A CSV cell: text as it is, numbers as Python writes them, other values as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return json.dumps(value, default=str)
    return repr(value)
