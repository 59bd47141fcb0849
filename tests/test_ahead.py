"""Kernels started ahead of need: used by their own step only, bounded, replaced when they
die while waiting, and shut down at once when their step will not run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from orchest_ext.executors.local import LocalExecutor
from orchest_ext.executors.local.kernel_ahead import KernelAhead
from orchest_ext.pipeline import load_pipeline
from orchest_ext.runs import RunManager
from orchest_ext.store import Store

from .helpers import make_pipeline, notebook, until

WAIT_FOR_FLAG = (
    "import pathlib, time\n"
    "deadline = time.monotonic() + 60\n"
    "while not pathlib.Path({flag!r}).exists() and time.monotonic() < deadline:\n"
    "    time.sleep(0.02)\n"
)
WRITE_PID = "import os, pathlib\npathlib.Path('pid-' + {title!r}).write_text(str(os.getpid()))\n"


def blocked(flag: str, then: str = "") -> str:
    """A notebook step that waits for ``flag`` to exist (at most a minute), then runs ``then``."""
    return notebook(WAIT_FOR_FLAG.format(flag=flag) + then)


def pid_writer(title: str) -> str:
    return notebook(WRITE_PID.format(title=title))


@pytest.fixture
def manager(tmp_path: Path, jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[RunManager]:
    """A run engine on a real store and the local executor, shut down after the test."""
    store = Store(tmp_path / "orchest.db")
    jp_asyncio_loop.run_until_complete(store.open())
    executor = LocalExecutor(kill_grace_seconds=0.5, kernel_shutdown_wait=0.5)
    manager = RunManager(
        store, {"local": executor}, lambda *_: None, max_parallel=2, kernels_ahead=4
    )
    yield manager
    jp_asyncio_loop.run_until_complete(manager.shutdown())
    jp_asyncio_loop.run_until_complete(executor.close())
    jp_asyncio_loop.run_until_complete(store.close())


async def ready_kernels(manager: RunManager, run_id: str, uuids: list[str]) -> dict[str, int]:
    """Wait until each step has a kernel started ahead; their pids by step uuid."""

    def ready() -> dict[str, int] | None:
        waiting = manager.ahead.waiting()
        aheads = [waiting.get((run_id, uuid)) for uuid in uuids]
        if all(isinstance(a, KernelAhead) and a.ready() for a in aheads):
            return {uuid: a.pid for uuid, a in zip(uuids, aheads, strict=True)}  # type: ignore[union-attr]
        return None

    return await until(ready)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def submit(manager: RunManager, pipeline_file: Path, **kw: Any):
    return await manager.submit(await asyncio.to_thread(load_pipeline, pipeline_file), **kw)


async def test_kernel_started_ahead_is_used_by_its_step_and_no_other(
    manager: RunManager, tmp_path: Path
) -> None:
    flag = tmp_path / "go"
    pipeline_file, uuids = make_pipeline(
        tmp_path / "p",
        {
            "A": ("a.ipynb", blocked(str(flag)), []),
            "B": ("b.ipynb", pid_writer("B"), ["A"]),
            "C": ("c.ipynb", pid_writer("C"), ["A"]),
        },
    )
    run = await submit(manager, pipeline_file)
    pids = await ready_kernels(manager, run.id, [uuids["B"], uuids["C"]])
    flag.touch()
    await manager.wait(run.id)
    assert run.status == "SUCCESS", run.to_dict()
    used = {t: int((tmp_path / "p" / f"pid-{t}").read_text()) for t in ("B", "C")}
    assert used == {"B": pids[uuids["B"]], "C": pids[uuids["C"]]}
    assert used["B"] != used["C"]
    assert manager.ahead.waiting() == {}


async def test_descendants_beyond_children_get_kernels_nearest_first(
    manager: RunManager, tmp_path: Path
) -> None:
    manager.kernels_ahead = 2
    flag = tmp_path / "go"
    pipeline_file, uuids = make_pipeline(
        tmp_path / "p",
        {
            "A": ("a.ipynb", blocked(str(flag)), []),
            "S": ("s.sh", "echo s\n", ["A"]),
            "C": ("c.ipynb", pid_writer("C"), ["S"]),
            "D": ("d.ipynb", pid_writer("D"), ["C"]),
            "E": ("e.ipynb", pid_writer("E"), ["D"]),
        },
    )
    run = await submit(manager, pipeline_file)
    pids = await ready_kernels(manager, run.id, [uuids["C"], uuids["D"]])
    assert set(manager.ahead.waiting()) == {(run.id, uuids["C"]), (run.id, uuids["D"])}
    flag.touch()
    await manager.wait(run.id)
    assert run.status == "SUCCESS", run.to_dict()
    used = {t: int((tmp_path / "p" / f"pid-{t}").read_text()) for t in "CD"}
    assert used == {"C": pids[uuids["C"]], "D": pids[uuids["D"]]}
    assert manager.ahead.waiting() == {}


async def test_dead_waiting_kernel_is_replaced(manager: RunManager, tmp_path: Path) -> None:
    flag = tmp_path / "go"
    pipeline_file, uuids = make_pipeline(
        tmp_path / "p",
        {
            "A": ("a.ipynb", blocked(str(flag)), []),
            "B": ("b.ipynb", pid_writer("B"), ["A"]),
        },
    )
    run = await submit(manager, pipeline_file)
    dead = (await ready_kernels(manager, run.id, [uuids["B"]]))[uuids["B"]]
    os.killpg(dead, signal.SIGKILL)
    await until(lambda: gone(dead))
    flag.touch()
    await manager.wait(run.id)
    assert run.status == "SUCCESS", run.to_dict()
    assert int((tmp_path / "p" / "pid-B").read_text()) != dead


@pytest.mark.parametrize("how", ["abort", "failed parent", "fail_fast", "shutdown"])
async def test_no_kernel_started_ahead_outlives_its_step(
    manager: RunManager, tmp_path: Path, how: str
) -> None:
    flag = tmp_path / "go"
    steps = {
        "A": ("a.ipynb", blocked(str(flag), "raise SystemExit('A fails')\n"), []),
        "B": ("b.ipynb", pid_writer("B"), ["A"]),
        # Under fail_fast X (still running when A fails) is stopped and Y never runs.
        "X": ("x.ipynb", blocked(str(tmp_path / "never")), []),
        "Y": ("y.ipynb", pid_writer("Y"), ["X"]),
    }
    pipeline_file, uuids = make_pipeline(tmp_path / "p", steps)
    policy = "fail_fast" if how == "fail_fast" else "continue"
    run = await submit(manager, pipeline_file, failure_policy=policy)
    pids = await ready_kernels(manager, run.id, [uuids["B"], uuids["Y"]])
    if how == "abort":
        await manager.abort(run.id)
    elif how == "shutdown":
        await manager.shutdown()
    else:
        flag.touch()
    if how == "failed parent":
        # B will not run; Y still waits for X, which runs on.
        await until(lambda: gone(pids[uuids["B"]]))
        assert list(manager.ahead.waiting()) == [(run.id, uuids["Y"])]
        assert not gone(pids[uuids["Y"]])
        await manager.abort(run.id)
    elif how == "fail_fast":
        await manager.wait(run.id)
    await until(lambda: all(gone(pid) for pid in pids.values()))
    assert manager.ahead.waiting() == {}
    assert not (tmp_path / "p" / "pid-B").exists()


async def test_bound_on_kernels_waiting_holds(manager: RunManager, tmp_path: Path) -> None:
    manager.kernels_ahead = 1
    flag = tmp_path / "go"
    children = {t: (f"{t}.ipynb", pid_writer(t), ["A"]) for t in "BCD"}
    pipeline_file, _ = make_pipeline(
        tmp_path / "p", {"A": ("a.ipynb", blocked(str(flag)), []), **children}
    )
    run = await submit(manager, pipeline_file)
    most = 0
    await until(lambda: manager.ahead.waiting())
    flag.touch()
    waiter = asyncio.ensure_future(manager.wait(run.id))
    deadline = time.monotonic() + 120
    while not waiter.done():
        assert time.monotonic() < deadline, "run did not finish in time"
        most = max(most, len(manager.ahead.waiting()))
        await asyncio.sleep(0.01)
    assert run.status == "SUCCESS", run.to_dict()
    assert most == 1


async def test_short_memory_starts_nothing_ahead_and_steps_still_run(
    manager: RunManager, tmp_path: Path
) -> None:
    manager.ahead_min_free_memory = float(psutil.virtual_memory().total)  # MiB: never enough
    pipeline_file, _ = make_pipeline(
        tmp_path / "p",
        {"A": ("a.sh", "echo a\n", []), "B": ("b.ipynb", pid_writer("B"), ["A"])},
    )
    run = await submit(manager, pipeline_file)
    started: list[int] = []

    async def watch() -> None:
        while True:
            started.append(len(manager.ahead.waiting()))
            await asyncio.sleep(0.005)

    watcher = asyncio.ensure_future(watch())
    await manager.wait(run.id)
    watcher.cancel()
    assert run.status == "SUCCESS", run.to_dict()
    assert max(started) == 0


def broken_kernelspec(root: Path) -> Path:
    """A kernelspec whose kernel cannot start; returns the JUPYTER_PATH entry holding it."""
    spec_dir = root / "kernels" / "broken"
    spec_dir.mkdir(parents=True)
    argv = ["/nonexistent/kernel-binary", "-f", "{connection_file}"]
    (spec_dir / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Broken", "language": "python"})
    )
    return root


async def test_kernelspec_that_cannot_start_fails_its_step_with_its_own_error(
    manager: RunManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(broken_kernelspec(tmp_path / "jupyter")))
    pipeline_file, uuids = make_pipeline(
        tmp_path / "p",
        {"A": ("a.sh", "echo a\n", []), "B": ("b.ipynb", pid_writer("B"), ["A"])},
    )
    description = json.loads(pipeline_file.read_text())
    description["steps"][uuids["B"]]["kernel"]["name"] = "broken"
    pipeline_file.write_text(json.dumps(description))
    messages = []
    for limit in (4, 0):
        manager.kernels_ahead = limit
        run = await submit(manager, pipeline_file)
        await manager.wait(run.id)
        assert run.steps[uuids["B"]].status == "FAILURE"
        messages.append(run.steps[uuids["B"]].message)
    assert messages[0] == messages[1]
    assert "kernel-binary" in messages[0]


async def test_kernels_ahead_is_configurable(jp_serverapp) -> None:
    (app,) = jp_serverapp.extension_manager.extension_apps["orchest_ext"]
    app.kernels_ahead = 3
    app.ahead_min_free_memory = 64.0
    assert (app.runs.ahead.limit, app.runs.ahead.min_free_mib) == (3, 64.0)
