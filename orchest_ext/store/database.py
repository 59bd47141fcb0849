"""Durable run state in SQLite; every database call runs on one worker thread, off the IOLoop."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..infra.disk import StorageError
from . import job_rows, run_rows
from .health import WriteHealth
from .migrations import migrate
from .notify_store import WebhookRows
from .result_store import StepResultRows
from .rows import JOB_JSON_FIELDS, encode
from .run_rows import CacheEntries


class Store(WebhookRows, StepResultRows):
    """Runs and their steps. Updates are queued, merged per row and written in batches (one
    transaction each) shortly after they are made; ``flush`` waits for what came before it.

    A batch that cannot be written (a full disk) is never dropped: it is retried until it is
    written; meanwhile the store is unhealthy (``failure``, ``health()``), writes that must
    follow it raise ``StorageError`` and reads answer at once (runs with the changes not
    written yet, whose events wait until they are)."""

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
        self._writing: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._health = WriteHealth(self.path)

    async def _call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def _sql(self, fn, *args):
        """``fn(connection, *args)`` on the store's thread; a failed statement raises
        ``StorageError`` naming the database file."""
        try:
            return await self._call(fn, self._db, *args)
        except (sqlite3.Error, OSError) as err:
            raise StorageError(self.path, err) from err

    @property
    def failure(self) -> StorageError | None:
        """Why the queued updates cannot be written now (None: the store is healthy)."""
        return self._health.failure

    def health(self) -> dict[str, Any]:
        """Whether every queued update could be written, and if not why and since when."""
        return self._health.to_dict(self._queued - self._written)

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
        # deleted rows (env values of ended runs, deleted runs) are zeroed in the file
        self._db.execute("PRAGMA secure_delete=ON")
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
        durably, before the caller answers; ``StorageError`` while the store cannot write."""
        await self._durable_or_raise()
        await self._sql(run_rows.insert_run, run, steps, pipeline_json)

    def update_run(self, run_id: str, fields: dict[str, Any]) -> None:
        """Queue an update of a run row."""
        self._queue(("run", run_id, ""), fields)

    def update_step(self, run_id: str, uuid: str, fields: dict[str, Any]) -> None:
        """Queue an update of a step row."""
        self._queue(("step", run_id, uuid), fields)

    def queue_outbox(self, row: dict[str, Any]) -> None:
        """Queue a webhook delivery: written in the batch (the transaction) that writes the
        updates queued before it, so it exists exactly when the change it reports does."""
        self._queue(("outbox", row["id"], ""), row)

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
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                written = self._queued
                self._writing = batch
                try:
                    await self._sql(run_rows.write_batch, batch)
                except StorageError as err:
                    for key, fields in batch.items():
                        self._pending[key] = {**fields, **self._pending.get(key, {})}
                    await self._failed(err)
                    continue
                finally:
                    self._writing = {}
                self._health.succeeded()
                self._written = written
                self._wake_flushers()
        finally:
            self._writer = None
            self._wake_flushers()

    async def _failed(self, err: StorageError) -> None:
        """A batch was not written: be unhealthy, tell who waits, wait before the retry."""
        delay = self._health.failed(err)
        self._wake_flushers()
        await asyncio.sleep(delay)

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

    async def _durable_or_raise(self) -> None:
        """Before a write that must follow the queued ones: write them, or raise the
        ``StorageError`` that keeps them from being written."""
        if not await self._written_up_to(self._queued, start=True, unless_failing=True):
            assert self.failure is not None
            raise self.failure

    async def _read_durable(self) -> None:
        """Before a read: write what is queued, unless the store cannot write now (then the
        read answers what is durable, which is what events have announced)."""
        await self._written_up_to(self._queued, start=True, unless_failing=True)

    async def _written_up_to(self, target: int, start: bool, unless_failing: bool = False) -> bool:
        """Wait until update ``target`` is written (True); with ``unless_failing``, False as
        soon as the store cannot write."""
        while self._written < target:
            if unless_failing and self.failure is not None:
                return False
            batch_written = self._batch_written
            if start or (self._scheduled is None and self._writer is None):
                self._start_writer()
            await batch_written.wait()
        return True

    async def get_run(self, run_id: str, pipeline: bool = True) -> dict[str, Any] | None:
        """The run with its steps (and, with ``pipeline``, its ``pipeline_json``); while the
        store cannot write, with the changes it has not written yet."""
        if any(key[1] == run_id for key in self._pending):
            await self._read_durable()
        run = await self._sql(run_rows.get_run, run_id, pipeline)
        if run is not None and self.failure is not None:
            run.update(self._unwritten(("run", run_id, "")))
            for step in run["steps"]:
                step.update(self._unwritten(("step", run_id, step["uuid"])))
        return run

    def _unwritten(self, key: tuple[str, str, str]) -> dict[str, Any]:
        """The fields queued for a row and not written yet."""
        return {**self._writing.get(key, {}), **self._pending.get(key, {})}

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
            await self._read_durable()
        runs, total = await self._sql(
            run_rows.list_runs,
            pipeline_uuid,
            status,
            limit,
            offset,
            pipeline_path,
            job_id,
            root_dir,
        )
        if self.failure is not None:
            for run in runs:
                run.update(self._unwritten(("run", run["id"], "")))
        return runs, total

    async def latest_runs(self, pipeline_paths: list[str]) -> dict[str, dict[str, Any]]:
        """The newest run (without steps) of each of these pipeline files that has one."""
        await self._read_durable()
        return await self._sql(run_rows.latest_runs, pipeline_paths)

    async def cache_entries(self, pipeline_uuid: str, keys: dict[str, str]) -> CacheEntries:
        """For each step uuid -> cache key: the runs of the pipeline in which the step ran
        with that key and succeeded (not reusing another run's result), newest first."""
        await self._read_durable()
        return await self._sql(run_rows.cache_entries, pipeline_uuid, keys)

    async def unfinished_runs(self) -> list[dict[str, Any]]:
        """``id``, ``owner`` and ``pipeline_dir`` of the runs left PENDING or STARTED, oldest
        first."""
        await self._read_durable()
        return await self._sql(run_rows.unfinished_runs)

    async def claim_run(self, run_id: str, owner: str | None, new_owner: str) -> bool:
        """Make ``new_owner`` the owner of a run if ``owner`` still is (atomic: of two servers
        claiming the same run, one wins)."""
        await self._durable_or_raise()
        return await self._sql(run_rows.claim, "runs", run_id, owner, new_owner)

    # -- owners: the server processes sharing this store ----------------------------------------

    async def save_owner(self, owner: dict[str, Any]) -> None:
        """Insert or replace an owner row (``id``, ``host``, ``pid``, ``identity``,
        ``root_dir``, ``heartbeat``), durably."""
        await self._sql(job_rows.save_owner, owner)

    async def heartbeat(self, owner_id: str, time: float) -> None:
        """Record that an owner is alive at ``time`` (seconds since the epoch)."""
        await self._sql(job_rows.heartbeat, owner_id, time)

    async def owners(self) -> dict[str, dict[str, Any]]:
        """Every owner row, by id."""
        return await self._sql(job_rows.owners)

    async def remove_owner(self, owner_id: str) -> None:
        await self._sql(job_rows.remove_owner, owner_id)

    # -- jobs ---------------------------------------------------------------------------------

    async def save_job(self, job: dict[str, Any], outbox: list[dict[str, Any]] = ()) -> None:
        """Insert or replace a job row, durably (with the webhook deliveries reporting the
        change, in the same transaction)."""
        await self._sql(job_rows.save_job, encode(job, JOB_JSON_FIELDS), list(outbox))

    async def list_jobs(self) -> list[dict[str, Any]]:
        """Every job, oldest first."""
        return await self._sql(job_rows.list_jobs)

    async def get_job(self, job_id: str) -> dict[str, Any] | None:
        """A job's row, or None."""
        return await self._sql(job_rows.get_job, job_id)

    async def claim_job(self, job_id: str, owner: str | None, new_owner: str) -> bool:
        """Make ``new_owner`` the owner of a job if ``owner`` still is (atomic)."""
        return await self._sql(run_rows.claim, "jobs", job_id, owner, new_owner)

    async def delete_job(self, job_id: str) -> None:
        await self._sql(job_rows.delete_job, job_id)

    async def add_job_run(
        self, job_id: str, run_id: str, fire_time: str, parameters: dict[str, Any]
    ) -> None:
        """Record that a run belongs to a job (after the run's own row is written)."""
        await self._sql(job_rows.add_job_run, job_id, run_id, fire_time, json.dumps(parameters))

    async def job_runs(self, job_id: str) -> list[dict[str, Any]]:
        """The runs of a job, newest first: id, status, run_dir, fire_time, parameters."""
        await self._read_durable()
        return await self._sql(job_rows.job_runs, job_id)

    async def delete_runs(self, run_ids: list[str]) -> None:
        """Delete runs with their steps (and job links), durably."""
        await self._durable_or_raise()
        await self._sql(run_rows.delete_runs, run_ids)
