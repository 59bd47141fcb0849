"""The store's versioned schema: a database at any earlier version (or written before the
schema had one) opens, keeps its rows and ends with the schema of a new database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path

import pytest

from orchest_ext.store import MIGRATIONS, SchemaTooNew, Store
from orchest_ext.store.migrations import migrate

BEFORE_RETRIES_CACHING_AND_OWNERS = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, pipeline_uuid TEXT NOT NULL, pipeline_name TEXT NOT NULL,
    pipeline_path TEXT, pipeline_dir TEXT NOT NULL, run_type TEXT NOT NULL,
    uuids TEXT NOT NULL, inclusive INTEGER NOT NULL, backend TEXT NOT NULL,
    failure_policy TEXT NOT NULL, parameters TEXT NOT NULL, env TEXT NOT NULL,
    write_back INTEGER NOT NULL, run_dir TEXT NOT NULL, status TEXT NOT NULL, message TEXT,
    seq INTEGER NOT NULL, created_time TEXT NOT NULL, started_time TEXT, finished_time TEXT
);
CREATE INDEX runs_by_pipeline ON runs (pipeline_uuid, created_time);
CREATE INDEX runs_by_status ON runs (status);
CREATE TABLE run_pipelines (
    run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    pipeline_json TEXT NOT NULL
);
CREATE TABLE steps (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, uuid TEXT NOT NULL,
    position INTEGER NOT NULL, title TEXT NOT NULL, file_path TEXT NOT NULL,
    parents TEXT NOT NULL, status TEXT NOT NULL, message TEXT, handle TEXT,
    started_time TEXT, finished_time TEXT, PRIMARY KEY (run_id, uuid)
);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, spec TEXT NOT NULL,
    pipeline_uuid TEXT NOT NULL, pipeline_name TEXT NOT NULL, pipeline_json TEXT NOT NULL,
    pipeline_path TEXT, pipeline_dir TEXT NOT NULL, job_dir TEXT NOT NULL, fires TEXT NOT NULL,
    next_fire_time TEXT, last_fire_time TEXT, message TEXT, created_time TEXT NOT NULL,
    updated_time TEXT NOT NULL
);
CREATE TABLE job_runs (
    run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE, job_id TEXT NOT NULL,
    fire_time TEXT NOT NULL, parameters TEXT NOT NULL
);
INSERT INTO runs VALUES ('r1', 'p', 'P', NULL, '/p', 'full', '[]', 0, 'local', 'continue',
    '{}', '{}', 0, '/p/.orchest/runs/r1', 'SUCCESS', NULL, 3, '2026-01-01T00:00:00Z', NULL, NULL);
INSERT INTO run_pipelines VALUES ('r1', '{}');
INSERT INTO steps VALUES ('r1', 's1', 0, 'A', 'a.sh', '[]', 'SUCCESS', NULL, NULL, NULL, NULL);
"""
"""A database of the first releases with jobs (written before schema versions existed)."""


def schema(path: Path) -> dict[str, object]:
    """Every table's columns and every index's columns, ignoring the order of columns (an
    added column comes last)."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        names = db.execute("SELECT type, name, tbl_name FROM sqlite_master ORDER BY name")
        shape: dict[str, object] = {}
        for kind, name, table in names.fetchall():
            if kind == "table":
                shape[name] = sorted(db.execute(f"PRAGMA table_info({name})").fetchall())
                shape[name] = [row[1:] for row in shape[name]]
            elif kind == "index":
                columns = [row[2] for row in db.execute(f"PRAGMA index_info({name})")]
                shape[f"index {name}"] = (table, columns)
        return shape


def user_version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


async def open_and_close(path: Path) -> None:
    store = Store(path)
    await store.open()
    await store.close()


@pytest.fixture
def new_schema(tmp_path) -> dict[str, object]:
    """The schema of a database the store creates."""
    asyncio.run(open_and_close(tmp_path / "new.db"))
    assert user_version(tmp_path / "new.db") == len(MIGRATIONS)
    return schema(tmp_path / "new.db")


@pytest.mark.parametrize("version", range(len(MIGRATIONS)))
async def test_a_database_at_every_earlier_version_migrates(tmp_path, new_schema, version):
    path = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        assert migrate(db, MIGRATIONS[:version]) == version
    await open_and_close(path)
    assert user_version(path) == len(MIGRATIONS)
    assert schema(path) == new_schema


async def test_a_database_from_before_versions_keeps_its_runs(tmp_path, new_schema):
    path = tmp_path / "unversioned.db"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript(BEFORE_RETRIES_CACHING_AND_OWNERS)
    store = Store(path)
    await store.open()
    try:
        run = await store.get_run("r1")
        assert run is not None and run["status"] == "SUCCESS" and run["cache"] == "off"
        assert [(s["uuid"], s["attempt"], s["cached"]) for s in run["steps"]] == [("s1", 1, False)]
    finally:
        await store.close()
    assert user_version(path) == len(MIGRATIONS)
    assert schema(path) == new_schema


async def test_reopening_a_database_changes_nothing(tmp_path, new_schema):
    await open_and_close(tmp_path / "new.db")
    assert schema(tmp_path / "new.db") == new_schema


async def test_a_database_of_a_newer_release_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / "newer.db"
    newer = len(MIGRATIONS) + 1
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {newer}")
    store = Store(path)
    with pytest.raises(SchemaTooNew, match=f"schema version {newer}, newer than"):
        await store.open()
    await store.close()
    assert user_version(path) == newer
    assert schema(path) == {}


async def test_steps_of_a_database_before_step_results_have_no_metrics_or_outputs(tmp_path):
    path = tmp_path / "v3.db"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        assert migrate(db, MIGRATIONS[:3]) == 3
        db.execute(
            "INSERT INTO runs (id, pipeline_uuid, pipeline_name, pipeline_dir, run_type, uuids, "
            "inclusive, backend, failure_policy, parameters, env, write_back, run_dir, status, "
            "seq, created_time) VALUES ('r1', 'p', 'P', '/p', 'full', '[]', 0, 'local', "
            "'continue', '{}', '{}', 0, '/p/.orchest/runs/r1', 'SUCCESS', 3, '2026-01-01')"
        )
        db.execute("INSERT INTO run_pipelines VALUES ('r1', '{}')")
        db.execute(
            "INSERT INTO steps (run_id, uuid, position, title, file_path, parents, status) "
            "VALUES ('r1', 's1', 0, 'A', 'a.sh', '[]', 'SUCCESS')"
        )
    store = Store(path)
    await store.open()
    try:
        run = await store.get_run("r1")
        assert run is not None and run["steps"][0]["metrics"] == {}
        assert await store.step_outputs("r1", "s1") == []
    finally:
        await store.close()


def insert_v3_run(db: sqlite3.Connection, run_id: str, status: str) -> None:
    """A run as version 3 stored it: env values in its row and in its pipeline."""
    db.execute(
        "INSERT INTO runs (id, pipeline_uuid, pipeline_name, pipeline_dir, run_type, uuids, "
        "inclusive, backend, failure_policy, parameters, env, write_back, run_dir, status, seq, "
        "created_time) VALUES (?, 'p', 'P', '/p', 'full', '[]', 0, 'docker', 'continue', '{}', "
        "?, 0, ?, ?, 1, '2026-01-01T00:00:00Z')",
        (
            run_id,
            json.dumps({"RUN_VAR": f"run-{run_id}-value", "TOKEN": {"secret": "S"}}),
            f"/p/.orchest/runs/{run_id}",
            status,
        ),
    )
    pipeline = {
        "uuid": "p",
        "env_variables": {"PIPE_VAR": f"pipe-{run_id}-value"},
        "steps": {"s1": {"uuid": "s1", "env_variables": {"STEP_VAR": f"step-{run_id}-value"}}},
    }
    db.execute("INSERT INTO run_pipelines VALUES (?, ?)", (run_id, json.dumps(pipeline)))


async def test_env_values_stored_before_run_env_stay_only_for_unfinished_runs(tmp_path):
    path = tmp_path / "v3.db"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        migrate(db, MIGRATIONS[:3])
        insert_v3_run(db, "ended", "SUCCESS")
        insert_v3_run(db, "running", "STARTED")
    store = Store(path)
    await store.open()
    try:
        ended = await store.get_run("ended", pipeline=True)
        running = await store.get_run("running", pipeline=True)
    finally:
        await store.close()
    assert ended["env"] == {"RUN_VAR": None, "TOKEN": {"secret": "S"}}
    assert json.loads(ended["pipeline_json"])["env_variables"] == {"PIPE_VAR": None}
    assert running["env"] == {"RUN_VAR": "run-running-value", "TOKEN": {"secret": "S"}}
    pipeline = json.loads(running["pipeline_json"])
    assert pipeline["env_variables"] == {"PIPE_VAR": "pipe-running-value"}
    assert pipeline["steps"]["s1"]["env_variables"] == {"STEP_VAR": "step-running-value"}
    assert b"ended-value" not in path.read_bytes()
