"""Starting and stopping the extension: runs never wait for sessions, sessions are probed at
once, and stopping closes every part, even after a failed start, within a time limit."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from orchest_ext.executors.local import LocalExecutor
from orchest_ext.sessions import PipelineSessionManager
from orchest_ext.sessions.reconcile import reconcile_all


class GatedSessions(PipelineSessionManager):
    """Sessions whose restart reconciliation waits until the test opens the gate: stands in
    for a Docker engine that answers slowly, which cannot be provoked on demand."""

    entered = asyncio.Event()
    gate = asyncio.Event()

    async def reconcile(self) -> None:
        self.entered.set()
        await self.gate.wait()


class ClosingExecutor(LocalExecutor):
    """A local executor that records being closed, or never finishes closing if told to."""

    closed = 0
    hang = False

    async def close(self) -> None:
        type(self).closed += 1
        if self.hang:
            await asyncio.Event().wait()


@pytest.fixture
def jp_server_config(tmp_path: Path, request) -> dict[str, Any]:
    ClosingExecutor.closed, ClosingExecutor.hang = 0, False
    GatedSessions.entered, GatedSessions.gate = asyncio.Event(), asyncio.Event()
    orchest = {
        "db_path": str(tmp_path / "state" / "orchest.db"),
        "local_executor_class": "tests.test_startup.ClosingExecutor",
        "session_manager_class": "tests.test_startup.GatedSessions",
        "shutdown_timeout": 2.0,
    }
    orchest.update(getattr(request, "param", {}))
    return {"ServerApp": {"jpserver_extensions": {"orchest_ext": True}}, "OrchestApp": orchest}


def extension(jp_serverapp):
    (app,) = jp_serverapp.extension_manager.extension_apps["orchest_ext"]
    return app


async def test_runs_answer_while_sessions_are_still_reconciled(api, jp_serverapp):
    app = extension(jp_serverapp)
    assert isinstance(app.sessions, GatedSessions)
    code, runs = await api("GET", "runs")
    assert code == 200 and runs["total"] == 0
    launches = asyncio.ensure_future(api("GET", "launches"))
    await asyncio.wait_for(GatedSessions.entered.wait(), 60)
    code, runs = await api("GET", "runs")
    assert code == 200 and not launches.done()
    GatedSessions.gate.set()
    code, reply = await launches
    assert code == 200 and reply["launches"] == []


@pytest.mark.parametrize("jp_server_config", [{"db_path": "/"}], indirect=True)
async def test_a_failed_start_answers_503_and_still_closes_executors_and_the_store(
    api, jp_serverapp
):
    app = extension(jp_serverapp)
    with pytest.raises(sqlite3.OperationalError):
        await app.runs_ready()
    for path in ("runs", "jobs"):
        code, reply = await api("GET", path)
        assert code == 503, (path, code, reply)
        assert "orchest_ext could not start" in reply["message"], reply
        assert "unable to open database" in reply["message"], reply
    GatedSessions.gate.set()
    await app.stop_extension()
    assert ClosingExecutor.closed == 1
    assert app.store._thread._shutdown


async def test_stopping_is_bounded_and_closes_what_it_can(jp_serverapp):
    app = extension(jp_serverapp)
    await app.runs_ready()
    GatedSessions.gate.set()
    ClosingExecutor.hang = True
    # The app's own logger: whether it propagates to caplog depends on the other server
    # extensions installed (JupyterLab's changes it).
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append
    app.log.addHandler(handler)
    try:
        await app.stop_extension()
    finally:
        app.log.removeHandler(handler)
    assert any("stopping the local executor timed out" in r.getMessage() for r in records)
    assert app.store._thread._shutdown


async def test_sessions_are_reconciled_concurrently():
    running = 0
    most = 0
    release = asyncio.Event()

    async def reconcile_one(session_id: str, group: list) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        if most == 3:
            release.set()
        await release.wait()
        running -= 1
        if session_id == "b":
            raise RuntimeError("one session failing does not stop the others")

    groups = {"a": [], "b": [], "c": []}
    await reconcile_all(groups, reconcile_one, logging.getLogger(__name__))
    assert most == 3
