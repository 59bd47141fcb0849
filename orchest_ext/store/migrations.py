"""The store's schema, versioned with SQLite's ``PRAGMA user_version``.

``MIGRATIONS[n]`` brings a database from version ``n`` to ``n + 1``; a new database runs them
all, an existing one those after its version, each in one transaction with the version it
reaches (so a crash leaves the database at the version before or after a migration, never
between). Version 0 is a new database or one written before the schema had a version: the
first migration (``unversioned_to_1``) brings any of those to version 1.

To change the schema (a table, a column, an index), add one step:

1. write ``def add_<what>(db: sqlite3.Connection) -> None`` running the DDL (and any data
   change) with ``db.execute``, one statement a call (``executescript`` would commit);
2. append it to ``MIGRATIONS``. Never edit, remove or reorder a migration that has been
   released: databases in the field are at its version.

``tests/test_store_migrations.py`` then opens a database at every earlier version and checks
it ends with the schema of a new one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from . import run_env

Migration = Callable[[sqlite3.Connection], None]


class SchemaTooNew(RuntimeError):
    """The database was written by a newer orchest_ext (its version is past ``MIGRATIONS``)."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    pipeline_uuid TEXT NOT NULL,
    pipeline_name TEXT NOT NULL,
    pipeline_path TEXT,
    pipeline_dir TEXT NOT NULL,
    run_type TEXT NOT NULL,
    uuids TEXT NOT NULL,
    inclusive INTEGER NOT NULL,
    backend TEXT NOT NULL,
    failure_policy TEXT NOT NULL,
    parameters TEXT NOT NULL,
    env TEXT NOT NULL,
    write_back INTEGER NOT NULL,
    run_dir TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    seq INTEGER NOT NULL,
    created_time TEXT NOT NULL,
    started_time TEXT,
    finished_time TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_pipeline ON runs (pipeline_uuid, created_time);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status);
CREATE INDEX IF NOT EXISTS runs_by_path ON runs (pipeline_path, created_time);
CREATE TABLE IF NOT EXISTS run_pipelines (
    run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    pipeline_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    file_path TEXT NOT NULL,
    parents TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    handle TEXT,
    started_time TEXT,
    finished_time TEXT,
    PRIMARY KEY (run_id, uuid)
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    spec TEXT NOT NULL,
    pipeline_uuid TEXT NOT NULL,
    pipeline_name TEXT NOT NULL,
    pipeline_json TEXT NOT NULL,
    pipeline_path TEXT,
    pipeline_dir TEXT NOT NULL,
    job_dir TEXT NOT NULL,
    fires TEXT NOT NULL,
    next_fire_time TEXT,
    last_fire_time TEXT,
    message TEXT,
    created_time TEXT NOT NULL,
    updated_time TEXT NOT NULL,
    owner TEXT
);
CREATE TABLE IF NOT EXISTS job_runs (
    run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    job_id TEXT NOT NULL,
    fire_time TEXT NOT NULL,
    parameters TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_runs_by_job ON job_runs (job_id);
CREATE TABLE IF NOT EXISTS owners (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    identity TEXT,
    root_dir TEXT,
    heartbeat REAL NOT NULL
);
"""
STEP_COLUMNS_ADDED = {
    "attempt": "INTEGER NOT NULL DEFAULT 1",
    "retries": "INTEGER NOT NULL DEFAULT 0",
    "retry_delay": "REAL NOT NULL DEFAULT 0",
    "cache_key": "TEXT",
    "run_reason": "TEXT",
    "cached": "INTEGER NOT NULL DEFAULT 0",
    "cached_from": "TEXT",
}
"""Step columns newer than the first schema: added to older databases on open."""
RUN_COLUMNS_ADDED = {"owner": "TEXT", "cache": "TEXT NOT NULL DEFAULT 'off'"}
"""Run columns newer than the first schema (``owner``: the id of the server process driving
the run, see ``owners``; ``cache``: the run's cache option)."""
INDEXES_ON_ADDED = """
CREATE INDEX IF NOT EXISTS steps_by_cache_key ON steps (cache_key);
CREATE INDEX IF NOT EXISTS steps_by_uuid ON steps (uuid);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created_time);
"""
JOB_COLUMNS_ADDED = {"owner": "TEXT"}
"""Job columns newer than the first jobs schema (``owner``: the server process that fires
the job)."""


def statements(script: str) -> list[str]:
    """The SQL statements of a script of DDL (no triggers: ``;`` ends every statement)."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def unversioned_to_1(db: sqlite3.Connection) -> None:
    """Version 1: the tables of runs, steps, jobs, job runs and owners. A database written
    before versions existed gains the tables and columns it lacks."""
    for statement in statements(SCHEMA):
        db.execute(statement)
    for table, added in (
        ("steps", STEP_COLUMNS_ADDED),
        ("runs", RUN_COLUMNS_ADDED),
        ("jobs", JOB_COLUMNS_ADDED),
    ):
        existing = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, declaration in added.items():
            if name not in existing:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")
    for statement in statements(INDEXES_ON_ADDED):
        db.execute(statement)


def add_step_changes(db: sqlite3.Connection) -> None:
    """Version 2: what a step's cache key is made of (``cache_parts``), and why a step whose
    key changed ran (``changed``: the kinds of change; ``changed_parents``: which parents)."""
    for name in ("cache_parts", "changed", "changed_parents"):
        db.execute(f"ALTER TABLE steps ADD COLUMN {name} TEXT")


WEBHOOKS_SCHEMA = """
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT,
    format TEXT NOT NULL,
    job_uuid TEXT,
    pipeline_path TEXT,
    origin TEXT NOT NULL,
    created_time TEXT NOT NULL,
    updated_time TEXT NOT NULL
);
CREATE TABLE webhook_outbox (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    created_time TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt REAL NOT NULL
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt);
CREATE INDEX webhook_outbox_by_webhook ON webhook_outbox (webhook_id, created_time);
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    time TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms REAL NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
ALTER TABLE runs ADD COLUMN job_id TEXT
"""
"""Webhooks, their outbox (a delivery per row, written in the transaction of the change it
reports; no foreign key, so a webhook deleted meanwhile never fails that transaction) and
each delivery's attempts; and the job a run belongs to."""


def add_webhooks(db: sqlite3.Connection) -> None:
    """Version 3: webhooks, their outbox and delivery attempts; ``runs.job_id``."""
    for statement in statements(WEBHOOKS_SCHEMA):
        db.execute(statement)


STEP_RESULTS_SCHEMA = """
ALTER TABLE steps ADD COLUMN metrics TEXT;
CREATE TABLE step_outputs (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_uuid TEXT NOT NULL,
    outputs TEXT NOT NULL,
    PRIMARY KEY (run_id, step_uuid)
)
"""
"""What a step recorded when it ended: its metrics (``{name: number}``) on its row, and the
summaries of its outputs (a JSON list) in a table of their own, read only when asked for."""


def add_step_results(db: sqlite3.Connection) -> None:
    """Version 4: steps' metrics and the summaries of their outputs."""
    for statement in statements(STEP_RESULTS_SCHEMA):
        db.execute(statement)


def add_run_env(db: sqlite3.Connection) -> None:
    """Version 5: env values at rest. ``run_env`` holds the values an unfinished run needs to
    resume; runs and their stored pipelines keep env names only (values already stored are
    moved there for unfinished runs, dropped for ended ones)."""
    db.execute(
        "CREATE TABLE run_env (run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE, "
        "env TEXT NOT NULL)"
    )
    rows = db.execute(
        "SELECT runs.id, runs.status, runs.env, run_pipelines.pipeline_json FROM runs "
        "LEFT JOIN run_pipelines ON run_pipelines.run_id = runs.id"
    ).fetchall()
    for run_id, status, env, pipeline_json in rows:
        run_row, run_values = run_env.split_run({"env": json.loads(env)})
        values: run_env.EnvValues = {"run": run_values, "pipeline": {}, "steps": {}}
        if pipeline_json is not None:
            pipeline, pipeline_values = run_env.split_pipeline(json.loads(pipeline_json))
            values.update(pipeline_values)
            db.execute(
                "UPDATE run_pipelines SET pipeline_json = ? WHERE run_id = ?",
                (json.dumps(pipeline), run_id),
            )
        db.execute("UPDATE runs SET env = ? WHERE id = ?", (json.dumps(run_row["env"]), run_id))
        if status not in run_env.TERMINAL:
            run_env.insert_values(db, run_id, values)


MIGRATIONS: list[Migration] = [
    unversioned_to_1,
    add_step_changes,
    add_webhooks,
    add_step_results,
    add_run_env,
]
"""The ordered migrations: ``MIGRATIONS[n]`` takes a database from version n to n + 1."""


def version(db: sqlite3.Connection) -> int:
    """The schema version of ``db``."""
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite3.Connection, migrations: list[Migration] = MIGRATIONS) -> int:
    """Bring ``db`` (opened with ``isolation_level=None``) to the latest version; return it.
    Each migration runs in an immediate transaction, so two servers opening one database
    migrate it once."""
    latest = len(migrations)
    while True:
        db.execute("BEGIN IMMEDIATE")
        try:
            current = version(db)
            if current > latest:
                raise SchemaTooNew(
                    f"the database is at schema version {current}, newer than this "
                    f"orchest_ext knows ({latest}): upgrade orchest_ext or use another db_path"
                )
            if current == latest:
                db.execute("COMMIT")
                return current
            migrations[current](db)
            db.execute(f"PRAGMA user_version = {current + 1}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
