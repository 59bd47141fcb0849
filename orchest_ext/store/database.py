"""Durable run state in SQLite; every database call runs on one worker thread, off the IOLoop."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .migrations import migrate

CacheEntries = dict[str, tuple[list[tuple[str, str]], bool]]
"""Step uuid -> (runs that executed it with the key asked for, newest first: (run id, run
dir); whether any run recorded a key for it at all)."""
JOB_JSON_FIELDS = ("spec", "fires")

RUN_JSON_FIELDS = ("uuids", "parameters", "env")
WRITE_RETRIES = 5
WRITE_RETRY_DELAY = 0.2
log = logging.getLogger(__name__)
RUN_BOOL_FIELDS = ("inclusive", "write_back")
STEP_JSON_FIELDS = ("parents", "handle")
STEP_BOOL_FIELDS = ("cached",)


def _encode(row: dict[str, Any], json_fields: Iterable[str]) -> dict[str, Any]:
    encoded = dict(row)
    for name in json_fields:
        if name in encoded and encoded[name] is not None:
            encoded[name] = json.dumps(encoded[name])
    return encoded


def _decode(row: sqlite3.Row, json_fields: Iterable[str], bool_fields: Iterable[str] = ()) -> dict:
    decoded = dict(row)
    for name in json_fields:
        if decoded.get(name) is not None:
            decoded[name] = json.loads(decoded[name])
    for name in bool_fields:
        decoded[name] = bool(decoded[name])
    return decoded


class Store:
    """Runs and their steps. Updates are queued, merged per row and written in batches (one
    transaction each) shortly after they are made; ``flush`` waits for what came before it."""

    def __init__(self, path: str | Path, flush_delay: float = 0.02) -> None:
        self.path = str(path)
        self.flush_delay = flush_delay
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orchest-store")
        self._db: sqlite3.Connection | None = None
        self._pending: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._queued = 0
        self._written = 0
        self._scheduled: asyncio.TimerHandle | None = None
        self._writer: asyncio.Task | None = None
        self._batch_written = asyncio.Event()

    async def _call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def open(self) -> None:
        await self._call(self._open)

    def _open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        migrate(self._db)

    async def close(self) -> None:
        await self.flush()
        if self._db is not None:
            await self._call(self._db.close)
            self._db = None
        self._thread.shutdown(wait=True)

    async def insert_run(
        self, run: dict[str, Any], steps: list[dict[str, Any]], pipeline_json: Callable[[], str]
    ) -> None:
        """Write a new run, its steps and its pipeline (serialized on the store's thread),
        durably, before the caller answers."""
        await self.flush()
        await self._call(self._insert_run, run, steps, pipeline_json)

    def _insert_run(self, run, steps, pipeline_json: Callable[[], str]) -> None:
        run_row = _encode(run, RUN_JSON_FIELDS)
        step_rows = [_encode({"run_id": run["id"], **step}, STEP_JSON_FIELDS) for step in steps]
        with self._transaction() as db:
            db.execute(_insert_sql("runs", run_row), run_row)
            db.execute(
                "INSERT INTO run_pipelines (run_id, pipeline_json) VALUES (?, ?)",
                (run["id"], pipeline_json()),
            )
            if step_rows:
                db.executemany(_insert_sql("steps", step_rows[0]), step_rows)

    def update_run(self, run_id: str, fields: dict[str, Any]) -> None:
        """Queue an update of a run row."""
        self._queue(("run", run_id, ""), fields)

    def update_step(self, run_id: str, uuid: str, fields: dict[str, Any]) -> None:
        """Queue an update of a step row."""
        self._queue(("step", run_id, uuid), fields)

    def _queue(self, key: tuple[str, str, str], fields: dict[str, Any]) -> None:
        self._pending.setdefault(key, {}).update(fields)
        self._queued += 1
        if self._scheduled is None and self._writer is None:
            self._scheduled = asyncio.get_running_loop().call_later(
                self.flush_delay, self._start_writer
            )

    def _start_writer(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_pending())

    async def _write_pending(self) -> None:
        failures = 0
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                written = self._queued
                try:
                    await self._call(self._write_batch, batch)
                except Exception as err:
                    failures += 1
                    if failures <= WRITE_RETRIES:
                        log.warning("Could not write run state (retry %d): %s", failures, err)
                        for key, fields in batch.items():
                            self._pending[key] = {**fields, **self._pending.get(key, {})}
                        await asyncio.sleep(WRITE_RETRY_DELAY * failures)
                        continue
                    log.error("Giving up writing %d run state updates: %s", len(batch), err)
                failures = 0
                self._written = written
                self._wake_flushers()
        finally:
            self._writer = None
            self._wake_flushers()

    def _wake_flushers(self) -> None:
        self._batch_written.set()
        self._batch_written = asyncio.Event()

    async def flush(self) -> None:
        """Wait until every update queued before this call is written (writing them now)."""
        await self._written_up_to(self._queued, start=True)

    async def written(self) -> None:
        """Wait until every update queued before this call is written by the batches the
        store writes anyway (at most ``flush_delay`` after an update is queued)."""
        await self._written_up_to(self._queued, start=False)

    async def _written_up_to(self, target: int, start: bool) -> None:
        while self._written < target:
            batch_written = self._batch_written
            if start or (self._scheduled is None and self._writer is None):
                self._start_writer()
            await batch_written.wait()

    def _write_batch(self, batch: dict[tuple[str, str, str], dict[str, Any]]) -> None:
        with self._transaction() as db:
            for (kind, run_id, uuid), fields in batch.items():
                if kind == "run":
                    encoded = _encode(fields, RUN_JSON_FIELDS)
                    sets = ", ".join(f"{k} = :{k}" for k in encoded)
                    db.execute(
                        f"UPDATE runs SET {sets} WHERE id = :_id", {**encoded, "_id": run_id}
                    )
                else:
                    encoded = _encode(fields, STEP_JSON_FIELDS)
                    sets = ", ".join(f"{k} = :{k}" for k in encoded)
                    db.execute(
                        f"UPDATE steps SET {sets} WHERE run_id = :_run AND uuid = :_uuid",
                        {**encoded, "_run": run_id, "_uuid": uuid},
                    )

    def _transaction(self):
        assert self._db is not None, "Store.open() was not awaited"
        return _Transaction(self._db)

    async def get_run(self, run_id: str, pipeline: bool = True) -> dict[str, Any] | None:
        """The run with its steps (and, with ``pipeline``, its ``pipeline_json``)."""
        if any(key[1] == run_id for key in self._pending):
            await self.flush()
        return await self._call(self._get_run, run_id, pipeline)

    def _get_run(self, run_id: str, pipeline: bool) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        run = _decode(row, RUN_JSON_FIELDS, RUN_BOOL_FIELDS)
        if pipeline:
            run["pipeline_json"] = self._db.execute(
                "SELECT pipeline_json FROM run_pipelines WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
        steps = self._db.execute(
            "SELECT * FROM steps WHERE run_id = ? ORDER BY position", (run_id,)
        ).fetchall()
        run["steps"] = [_decode(step, STEP_JSON_FIELDS, STEP_BOOL_FIELDS) for step in steps]
        return run

    async def list_runs(
        self,
        pipeline_uuid: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
        pipeline_path: str | None = None,
        job_id: str | None = None,
        root_dir: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Runs newest first (without their steps) and the total count matching the filters
        (``root_dir``: runs of pipelines in that directory or below)."""
        if any(key[0] == "run" for key in self._pending):
            await self.flush()
        return await self._call(
            self._list_runs, pipeline_uuid, status, limit, offset, pipeline_path, job_id, root_dir
        )

    def _list_runs(self, pipeline_uuid, status, limit, offset, pipeline_path, job_id, root_dir):
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
        total = self._db.execute(f"SELECT COUNT(*) FROM runs {where}", args).fetchone()[0]
        rows = self._db.execute(
            f"SELECT * FROM runs {where} ORDER BY created_time DESC, rowid DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        return [_decode(row, RUN_JSON_FIELDS, RUN_BOOL_FIELDS) for row in rows], total

    async def latest_runs(self, pipeline_paths: list[str]) -> dict[str, dict[str, Any]]:
        """The newest run (without steps) of each of these pipeline files that has one."""
        await self.flush()
        return await self._call(self._latest_runs, pipeline_paths)

    def _latest_runs(self, pipeline_paths: list[str]) -> dict[str, dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for start in range(0, len(pipeline_paths), 500):
            chunk = pipeline_paths[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self._db.execute(
                "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY pipeline_path "
                "ORDER BY created_time DESC, rowid DESC) AS newest FROM runs "
                f"WHERE pipeline_path IN ({marks})) WHERE newest = 1",
                chunk,
            ).fetchall()
            for row in rows:
                run = _decode(row, RUN_JSON_FIELDS, RUN_BOOL_FIELDS)
                run.pop("newest", None)
                latest[run["pipeline_path"]] = run
        return latest

    async def cache_entries(self, pipeline_uuid: str, keys: dict[str, str]) -> CacheEntries:
        """For each step uuid -> cache key: the runs of the pipeline in which the step ran
        with that key and succeeded (not reusing another run's result), newest first."""
        await self.flush()
        return await self._call(self._cache_entries, pipeline_uuid, keys)

    def _cache_entries(self, pipeline_uuid: str, keys: dict[str, str]) -> CacheEntries:
        entries: CacheEntries = {}
        for uuid, key in keys.items():
            matches = self._db.execute(
                "SELECT runs.id, runs.run_dir FROM steps JOIN runs ON runs.id = steps.run_id "
                "WHERE steps.cache_key = ? AND steps.uuid = ? AND runs.pipeline_uuid = ? "
                "AND steps.status = 'SUCCESS' AND steps.cached = 0 "
                "ORDER BY runs.created_time DESC, runs.rowid DESC LIMIT 20",
                (key, uuid, pipeline_uuid),
            ).fetchall()
            had_key = bool(matches) or (
                self._db.execute(
                    "SELECT 1 FROM steps JOIN runs ON runs.id = steps.run_id "
                    "WHERE steps.uuid = ? AND runs.pipeline_uuid = ? "
                    "AND steps.cache_key IS NOT NULL AND steps.status = 'SUCCESS' LIMIT 1",
                    (uuid, pipeline_uuid),
                ).fetchone()
                is not None
            )
            entries[uuid] = ([(row[0], row[1]) for row in matches], had_key)
        return entries

    async def unfinished_runs(self) -> list[dict[str, Any]]:
        """``id``, ``owner`` and ``pipeline_dir`` of the runs left PENDING or STARTED, oldest
        first."""
        await self.flush()
        return await self._call(self._unfinished_runs)

    def _unfinished_runs(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT id, owner, pipeline_dir FROM runs WHERE status IN ('PENDING', 'STARTED') "
            "ORDER BY created_time"
        ).fetchall()
        return [dict(row) for row in rows]

    async def claim_run(self, run_id: str, owner: str | None, new_owner: str) -> bool:
        """Make ``new_owner`` the owner of a run if ``owner`` still is (atomic: of two servers
        claiming the same run, one wins)."""
        await self.flush()
        return await self._call(self._claim_run, run_id, owner, new_owner)

    def _claim_run(self, run_id: str, owner: str | None, new_owner: str) -> bool:
        return self._claim("runs", run_id, owner, new_owner)

    def _claim(self, table: str, row_id: str, owner: str | None, new_owner: str) -> bool:
        """Set the owner of a row of ``table`` if it still is ``owner`` (atomic)."""
        with self._transaction() as db:
            cursor = db.execute(
                f"UPDATE {table} SET owner = ? WHERE id = ? AND owner IS ?",
                (new_owner, row_id, owner),
            )
        return cursor.rowcount == 1

    # -- owners: the server processes sharing this store ----------------------------------------

    async def save_owner(self, owner: dict[str, Any]) -> None:
        """Insert or replace an owner row (``id``, ``host``, ``pid``, ``identity``,
        ``root_dir``, ``heartbeat``), durably."""
        await self._call(self._save_owner, owner)

    def _save_owner(self, row: dict[str, Any]) -> None:
        with self._transaction() as db:
            db.execute(_insert_sql("owners", row).replace("INSERT", "INSERT OR REPLACE", 1), row)

    async def heartbeat(self, owner_id: str, time: float) -> None:
        """Record that an owner is alive at ``time`` (seconds since the epoch)."""
        await self._call(self._heartbeat, owner_id, time)

    def _heartbeat(self, owner_id: str, time: float) -> None:
        with self._transaction() as db:
            db.execute("UPDATE owners SET heartbeat = ? WHERE id = ?", (time, owner_id))

    async def owners(self) -> dict[str, dict[str, Any]]:
        """Every owner row, by id."""
        return await self._call(self._owners)

    def _owners(self) -> dict[str, dict[str, Any]]:
        return {row["id"]: dict(row) for row in self._db.execute("SELECT * FROM owners")}

    async def remove_owner(self, owner_id: str) -> None:
        await self._call(self._remove_owner, owner_id)

    def _remove_owner(self, owner_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM owners WHERE id = ?", (owner_id,))

    # -- jobs ---------------------------------------------------------------------------------

    async def save_job(self, job: dict[str, Any]) -> None:
        """Insert or replace a job row, durably."""
        await self._call(self._save_job, _encode(job, JOB_JSON_FIELDS))

    def _save_job(self, row: dict[str, Any]) -> None:
        with self._transaction() as db:
            db.execute(_insert_sql("jobs", row).replace("INSERT", "INSERT OR REPLACE", 1), row)

    async def list_jobs(self) -> list[dict[str, Any]]:
        """Every job, oldest first."""
        return await self._call(self._list_jobs)

    def _list_jobs(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM jobs ORDER BY created_time, rowid").fetchall()
        return [_decode(row, JOB_JSON_FIELDS) for row in rows]

    async def claim_job(self, job_id: str, owner: str | None, new_owner: str) -> bool:
        """Make ``new_owner`` the owner of a job if ``owner`` still is (atomic)."""
        return await self._call(self._claim, "jobs", job_id, owner, new_owner)

    async def delete_job(self, job_id: str) -> None:
        await self._call(self._delete_job, job_id)

    def _delete_job(self, job_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM job_runs WHERE job_id = ?", (job_id,))
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    async def add_job_run(
        self, job_id: str, run_id: str, fire_time: str, parameters: dict[str, Any]
    ) -> None:
        """Record that a run belongs to a job (after the run's own row is written)."""
        await self._call(self._add_job_run, job_id, run_id, fire_time, json.dumps(parameters))

    def _add_job_run(self, job_id, run_id, fire_time, parameters) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO job_runs (run_id, job_id, fire_time, parameters) VALUES (?, ?, ?, ?)",
                (run_id, job_id, fire_time, parameters),
            )

    async def job_runs(self, job_id: str) -> list[dict[str, Any]]:
        """The runs of a job, newest first: id, status, run_dir, fire_time, parameters."""
        await self.flush()
        return await self._call(self._job_runs, job_id)

    def _job_runs(self, job_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT runs.id, runs.status, runs.run_dir, job_runs.fire_time, job_runs.parameters "
            "FROM job_runs JOIN runs ON runs.id = job_runs.run_id WHERE job_runs.job_id = ? "
            "ORDER BY runs.created_time DESC, runs.rowid DESC",
            (job_id,),
        ).fetchall()
        return [_decode(row, ("parameters",)) for row in rows]

    async def delete_runs(self, run_ids: list[str]) -> None:
        """Delete runs with their steps (and job links), durably."""
        await self.flush()
        await self._call(self._delete_runs, run_ids)

    def _delete_runs(self, run_ids: list[str]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM runs WHERE id = ?", [(run_id,) for run_id in run_ids])


def _insert_sql(table: str, row: dict[str, Any]) -> str:
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    return f"INSERT INTO {table} ({columns}) VALUES ({values})"


class _Transaction:
    """``with`` block that wraps statements in BEGIN/COMMIT (ROLLBACK on error)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
