"""The SQL of runs and their steps: insert, batched updates, look-ups, the step cache's
queries, ownership claims. Each function runs on the store's thread with its connection."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any, NamedTuple

from . import run_env
from .notify_rows import insert_outbox
from .rows import (
    RUN_BOOL_FIELDS,
    RUN_JSON_FIELDS,
    STEP_BOOL_FIELDS,
    STEP_JSON_FIELDS,
    decode,
    encode,
    insert_sql,
    transaction,
)


class CacheEntry(NamedTuple):
    """What earlier runs recorded of a step, for a cache look-up of its key."""

    matches: list[tuple[str, str]]
    """The runs that executed it successfully with the key asked for, newest first: (run id,
    run dir)."""
    had_key: bool
    """Whether any successful run of it recorded a key at all."""
    latest_parts: dict[str, Any] | None = None
    """The key parts of its newest successful run with a key (to say what changed)."""


CacheEntries = dict[str, CacheEntry]
"""Step uuid -> what earlier runs recorded of it."""


def insert_run(db: sqlite3.Connection, run, steps, pipeline_json: Callable[[], str]) -> None:
    """The run with env names only; the values it needs to resume go to ``run_env``."""
    run, stored_pipeline, env_values = run_env.split(run, pipeline_json())
    run_row = encode(run, RUN_JSON_FIELDS)
    step_rows = [encode({"run_id": run["id"], **step}, STEP_JSON_FIELDS) for step in steps]
    with transaction(db):
        db.execute(insert_sql("runs", run_row), run_row)
        db.execute(
            "INSERT INTO run_pipelines (run_id, pipeline_json) VALUES (?, ?)",
            (run["id"], stored_pipeline),
        )
        if run["status"] not in run_env.TERMINAL:
            run_env.insert_values(db, run["id"], env_values)
        if step_rows:
            db.executemany(insert_sql("steps", step_rows[0]), step_rows)


def write_batch(db: sqlite3.Connection, batch: dict[tuple[str, str, str], dict[str, Any]]) -> None:
    with transaction(db):
        for (kind, run_id, uuid), fields in batch.items():
            if kind == "outbox":
                insert_outbox(db, fields)
            elif kind == "outputs":
                save_outputs(db, run_id, uuid, fields["outputs"])
            elif kind == "run":
                encoded = encode(fields, RUN_JSON_FIELDS)
                sets = ", ".join(f"{k} = :{k}" for k in encoded)
                db.execute(f"UPDATE runs SET {sets} WHERE id = :_id", {**encoded, "_id": run_id})
                run_env.forget_if_ended(db, run_id, fields)
            else:
                encoded = encode(fields, STEP_JSON_FIELDS)
                sets = ", ".join(f"{k} = :{k}" for k in encoded)
                db.execute(
                    f"UPDATE steps SET {sets} WHERE run_id = :_run AND uuid = :_uuid",
                    {**encoded, "_run": run_id, "_uuid": uuid},
                )


def get_run(db: sqlite3.Connection, run_id: str, pipeline: bool) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        return None
    run = decode(row, RUN_JSON_FIELDS, RUN_BOOL_FIELDS)
    if pipeline:
        run["pipeline_json"] = db.execute(
            "SELECT pipeline_json FROM run_pipelines WHERE run_id = ?", (run_id,)
        ).fetchone()[0]
    steps = db.execute(
        "SELECT * FROM steps WHERE run_id = ? ORDER BY position", (run_id,)
    ).fetchall()
    run["steps"] = [_step(step) for step in steps]
    values = run_env.read_values(db, run_id)
    if values is not None:
        run_env.merge(run, values)
    return run


def _step(row: sqlite3.Row) -> dict[str, Any]:
    step = decode(row, STEP_JSON_FIELDS, STEP_BOOL_FIELDS)
    if step["metrics"] is None:  # a step that recorded none, or ended before v4
        step["metrics"] = {}
    return step


def save_outputs(db: sqlite3.Connection, run_id: str, uuid: str, outputs: list[Any]) -> None:
    db.execute(
        "INSERT OR REPLACE INTO step_outputs (run_id, step_uuid, outputs) VALUES (?, ?, ?)",
        (run_id, uuid, json.dumps(outputs)),
    )


def step_outputs(db: sqlite3.Connection, run_id: str, uuid: str) -> list[Any]:
    row = db.execute(
        "SELECT outputs FROM step_outputs WHERE run_id = ? AND step_uuid = ?", (run_id, uuid)
    ).fetchone()
    return [] if row is None else json.loads(row[0])


def runs_with_results(db: sqlite3.Connection, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Runs by id with their steps, each step with its metrics and the summaries of its
    ``outputs``, in two queries (no pipeline, no env values); ids not stored are left out."""
    ids = (json.dumps(run_ids),)
    rows = db.execute("SELECT * FROM runs WHERE id IN (SELECT value FROM json_each(?))", ids)
    runs = {
        row["id"]: {**decode(row, RUN_JSON_FIELDS, RUN_BOOL_FIELDS), "steps": []} for row in rows
    }
    steps = db.execute(
        "SELECT steps.*, step_outputs.outputs AS outputs FROM steps LEFT JOIN step_outputs"
        " ON step_outputs.run_id = steps.run_id AND step_outputs.step_uuid = steps.uuid"
        " WHERE steps.run_id IN (SELECT value FROM json_each(?)) ORDER BY steps.position",
        ids,
    )
    for row in steps:
        step = _step(row)
        step["outputs"] = [] if step["outputs"] is None else json.loads(step["outputs"])
        runs[step["run_id"]]["steps"].append(step)
    return runs


def list_runs(
    db: sqlite3.Connection, pipeline_uuid, status, limit, offset, pipeline_path, job_id, root_dir
):
    clauses, args = [], []
    if root_dir:
        below = root_dir.rstrip("/") + "/"
        clauses.append("(pipeline_dir = ? OR substr(pipeline_dir, 1, ?) = ?)")
        args.extend([root_dir, len(below), below])
    if job_id:
        clauses.append("id IN (SELECT run_id FROM job_runs WHERE job_id = ?)")
        args.append(job_id)
    if pipeline_uuid:
        clauses.append("pipeline_uuid = ?")
        args.append(pipeline_uuid)
    if pipeline_path:
        clauses.append("pipeline_path = ?")
        args.append(pipeline_path)
    if status:
        clauses.append("status = ?")
        args.append(status)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    total = db.execute(f"SELECT COUNT(*) FROM runs {where}", args).fetchone()[0]
    rows = db.execute(
        f"SELECT * FROM runs {where} ORDER BY created_time DESC, rowid DESC LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return [decode(row, RUN_JSON_FIELDS, RUN_BOOL_FIELDS) for row in rows], total


def latest_runs(db: sqlite3.Connection, pipeline_paths: list[str]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for start in range(0, len(pipeline_paths), 500):
        chunk = pipeline_paths[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = db.execute(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY pipeline_path "
            "ORDER BY created_time DESC, rowid DESC) AS newest FROM runs "
            f"WHERE pipeline_path IN ({marks})) WHERE newest = 1",
            chunk,
        ).fetchall()
        for row in rows:
            run = decode(row, RUN_JSON_FIELDS, RUN_BOOL_FIELDS)
            run.pop("newest", None)
            latest[run["pipeline_path"]] = run
    return latest


def cache_entries(db: sqlite3.Connection, pipeline_uuid: str, keys: dict[str, str]) -> CacheEntries:
    entries: CacheEntries = {}
    for uuid, key in keys.items():
        matches = db.execute(
            "SELECT runs.id, runs.run_dir FROM steps JOIN runs ON runs.id = steps.run_id "
            "WHERE steps.cache_key = ? AND steps.uuid = ? AND runs.pipeline_uuid = ? "
            "AND steps.status = 'SUCCESS' AND steps.cached = 0 "
            "ORDER BY runs.created_time DESC, runs.rowid DESC LIMIT 20",
            (key, uuid, pipeline_uuid),
        ).fetchall()
        latest = db.execute(
            "SELECT steps.cache_parts FROM steps JOIN runs ON runs.id = steps.run_id "
            "WHERE steps.uuid = ? AND runs.pipeline_uuid = ? AND steps.cache_key IS NOT NULL "
            "AND steps.status = 'SUCCESS' ORDER BY runs.created_time DESC, runs.rowid DESC LIMIT 1",
            (uuid, pipeline_uuid),
        ).fetchone()
        entries[uuid] = CacheEntry(
            [(row[0], row[1]) for row in matches],
            had_key=bool(matches) or latest is not None,
            latest_parts=json.loads(latest[0]) if latest and latest[0] else None,
        )
    return entries


def unfinished_runs(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT id, owner, pipeline_dir FROM runs WHERE status IN ('PENDING', 'STARTED') "
        "ORDER BY created_time"
    ).fetchall()
    return [dict(row) for row in rows]


def claim(
    db: sqlite3.Connection, table: str, row_id: str, owner: str | None, new_owner: str
) -> bool:
    """Set the owner of a row of ``table`` if it still is ``owner`` (atomic)."""
    with transaction(db):
        cursor = db.execute(
            f"UPDATE {table} SET owner = ? WHERE id = ? AND owner IS ?",
            (new_owner, row_id, owner),
        )
    return cursor.rowcount == 1


def delete_runs(db: sqlite3.Connection, run_ids: list[str]) -> None:
    with transaction(db):
        db.executemany("DELETE FROM runs WHERE id = ?", [(run_id,) for run_id in run_ids])
