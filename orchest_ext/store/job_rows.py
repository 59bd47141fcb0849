"""The SQL of jobs, the runs they fired, and owners (the server processes sharing the
store). Each function runs on the store's thread with its connection."""

from __future__ import annotations

import sqlite3
from typing import Any

from .notify_rows import insert_outbox
from .rows import JOB_JSON_FIELDS, decode, insert_sql, transaction


def save_owner(db: sqlite3.Connection, row: dict[str, Any]) -> None:
    with transaction(db):
        db.execute(insert_sql("owners", row).replace("INSERT", "INSERT OR REPLACE", 1), row)


def heartbeat(db: sqlite3.Connection, owner_id: str, time: float) -> None:
    with transaction(db):
        db.execute("UPDATE owners SET heartbeat = ? WHERE id = ?", (time, owner_id))


def owners(db: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    return {row["id"]: dict(row) for row in db.execute("SELECT * FROM owners")}


def remove_owner(db: sqlite3.Connection, owner_id: str) -> None:
    with transaction(db):
        db.execute("DELETE FROM owners WHERE id = ?", (owner_id,))


def save_job(db: sqlite3.Connection, row: dict[str, Any], outbox: list[dict[str, Any]]) -> None:
    with transaction(db):
        db.execute(insert_sql("jobs", row).replace("INSERT", "INSERT OR REPLACE", 1), row)
        for delivery in outbox:
            insert_outbox(db, delivery)


def get_job(db: sqlite3.Connection, job_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else decode(row, JOB_JSON_FIELDS)


def list_jobs(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute("SELECT * FROM jobs ORDER BY created_time, rowid").fetchall()
    return [decode(row, JOB_JSON_FIELDS) for row in rows]


def delete_job(db: sqlite3.Connection, job_id: str) -> None:
    with transaction(db):
        db.execute("DELETE FROM job_runs WHERE job_id = ?", (job_id,))
        db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


def add_job_run(db: sqlite3.Connection, job_id, run_id, fire_time, parameters) -> None:
    with transaction(db):
        db.execute(
            "INSERT INTO job_runs (run_id, job_id, fire_time, parameters) VALUES (?, ?, ?, ?)",
            (run_id, job_id, fire_time, parameters),
        )


def job_runs(db: sqlite3.Connection, job_id: str) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT runs.id, runs.status, runs.run_dir, job_runs.fire_time, job_runs.parameters "
        "FROM job_runs JOIN runs ON runs.id = job_runs.run_id WHERE job_runs.job_id = ? "
        "ORDER BY runs.created_time DESC, runs.rowid DESC",
        (job_id,),
    ).fetchall()
    return [decode(row, ("parameters",)) for row in rows]
