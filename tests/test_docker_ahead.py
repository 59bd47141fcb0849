"""Containers made ahead of need on the docker backend: created and started while their
step's parents run, waiting (a notebook's with its kernel started) until their own step
releases them; removed at once when their step will not run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from orchest_ext.executors.containers.ahead import ContainerAhead
from orchest_ext.executors.containers.docker import DockerExecutor
from orchest_ext.runs import RunManager
from orchest_ext.store import Store

from .docker_support import (
    STEP_IMAGE,
    docker,
    project_containers,
    remove_containers,
    require_image,
)
from .helpers import make_pipeline, notebook, step_spec, until
from .test_ahead import broken_kernelspec, submit

pytestmark = pytest.mark.docker

# A shell step that waits for the file ``go`` in its directory (at most a minute), then ``then``.
WAIT_FOR_GO = "for i in $(seq 1200); do [ -e {flag} ] && break; sleep 0.05; done\n{then}\n"

# A notebook cell writing when its kernel process started (wall clock, from its age since
# boot, exact to a clock tick) and the container it runs in.
KERNEL_STARTED = """\
import os, pathlib, time
ticks = os.sysconf("SC_CLK_TCK")
started = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19]) / ticks
age = float(open("/proc/uptime").read().split()[0]) - started
pathlib.Path("kernel-" + {title!r}).write_text(f"{{time.time() - age}} {{os.uname().nodename}}")
"""


WRITE_HOSTNAME = "import socket\nopen('host-C', 'w').write(socket.gethostname())\n"


def blocked(flag: str, then: str = "true") -> str:
    return WAIT_FOR_GO.format(flag=flag, then=then)


def kernel_started(title: str) -> str:
    return notebook(KERNEL_STARTED.format(title=title))


@pytest.fixture
def executor(jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[DockerExecutor]:
    require_image(STEP_IMAGE)
    executor = DockerExecutor(stop_timeout=1)
    yield executor
    jp_asyncio_loop.run_until_complete(executor.close())


@pytest.fixture
def manager(
    tmp_path: Path, jp_asyncio_loop: asyncio.AbstractEventLoop, executor: DockerExecutor
) -> Iterator[RunManager]:
    """A run engine on a real store and the docker executor; the containers of its runs are
    removed afterwards (by their run ids, kept in the store)."""
    store = Store(tmp_path / "orchest.db")
    jp_asyncio_loop.run_until_complete(store.open())
    manager = RunManager(
        store, {"docker": executor}, lambda *_: None, max_parallel=2, kernels_ahead=4
    )
    yield manager
    jp_asyncio_loop.run_until_complete(manager.shutdown())
    runs, _ = jp_asyncio_loop.run_until_complete(manager.list(limit=100, offset=0))
    jp_asyncio_loop.run_until_complete(store.close())
    for run in runs:
        remove_containers(f"orchest_ext.run_id={run['id']}")


def step_containers(run_id: str, uuid: str | None = None) -> list[dict[str, str]]:
    labels = [f"orchest_ext.run_id={run_id}"]
    if uuid:
        labels.append(f"orchest_ext.step_uuid={uuid}")
    return project_containers(*labels)


async def made_ahead(
    manager: RunManager, run_id: str, uuids: list[str], state: str = "running"
) -> dict[str, str]:
    """Wait until each step's container was made ahead (and is in ``state``); their ids by
    step uuid."""

    def ready() -> bool:
        waiting = manager.ahead.waiting()
        aheads = [waiting.get((run_id, uuid)) for uuid in uuids]
        return all(isinstance(a, ContainerAhead) and a.ready() for a in aheads)

    await until(ready)
    found = {uuid: step_containers(run_id, uuid) for uuid in uuids}
    assert all(len(c) == 1 and c[0]["State"] == state for c in found.values()), found
    return {uuid: c[0]["ID"] for uuid, c in found.items()}


def container_processes(container_id: str) -> dict[int, str]:
    """Host pid -> command line of the processes running in a container."""
    top = docker("top", container_id, "-eo", "pid,args")
    assert top.returncode == 0, top.stderr
    lines = [line.split(None, 1) for line in top.stdout.splitlines()[1:]]
    return {int(pid): args for pid, args in lines}


def kernel_pids(container_id: str) -> list[int]:
    """Host pids of the kernels running in a container."""
    return [pid for pid, args in container_processes(container_id).items() if "ipykernel" in args]


def waits_on_a_fifo(container_id: str) -> bool:
    """Whether a process of the container is blocked opening a FIFO (Linux: in the kernel's
    ``wait_for_partner``)."""
    for pid in container_processes(container_id):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/wchan").read_text() == "wait_for_partner":
                return True
    return False


def started_time(run, uuid: str) -> float:
    return datetime.fromisoformat(run.steps[uuid].started_time).timestamp()


@pytest.mark.parametrize("start", [True, False], ids=["started", "created"])
async def test_container_made_ahead_is_used_by_its_step_and_no_other(
    manager: RunManager, executor: DockerExecutor, tmp_path: Path, start: bool
) -> None:
    executor.start_containers_ahead = start
    pipeline_file, uuids = make_pipeline(
        tmp_path / "p",
        {
            "A": ("a.sh", blocked("go"), []),
            "B": ("b.sh", "hostname > host-B\n", ["A"]),
            "C": ("c.py", WRITE_HOSTNAME, ["A"]),
        },
    )
    run = await submit(manager, pipeline_file, backend="docker")
    state = "running" if start else "created"
    ids = await made_ahead(manager, run.id, [uuids["B"], uuids["C"]], state)
    if start:
        await until(lambda: all(waits_on_a_fifo(ids[uuids[t]]) for t in ("B", "C")))
    assert not (tmp_path / "p" / "host-B").exists()
    (tmp_path / "p" / "go").touch()
    await manager.wait(run.id)
    assert run.status == "SUCCESS", run.to_dict()
    # A container's hostname is the first 12 characters of its id.
    used = {t: (tmp_path / "p" / f"host-{t}").read_text().strip() for t in ("B", "C")}
    assert used == {"B": ids[uuids["B"]][:12], "C": ids[uuids["C"]][:12]}
    assert manager.ahead.waiting() == {}
    await until(lambda: not step_containers(run.id))


async def test_notebook_in_a_container_runs_on_the_kernel_started_ahead(
    manager: RunManager, tmp_path: Path
) -> None:
    pipeline_file, uuids = make_pipeline(
        tmp_path / "p",
        {"A": ("a.sh", blocked("go"), []), "B": ("b.ipynb", kernel_started("B"), ["A"])},
    )
    run = await submit(manager, pipeline_file, backend="docker")
    container = (await made_ahead(manager, run.id, [uuids["B"]]))[uuids["B"]]
    await until(lambda: kernel_pids(container))
    (tmp_path / "p" / "go").touch()
    await manager.wait(run.id)
    assert run.status == "SUCCESS", run.to_dict()
    kernel_start, host = (tmp_path / "p" / "kernel-B").read_text().split()
    assert host == container[:12]
    # The step ran on a kernel that was up before the step started: the one started ahead.
    assert float(kernel_start) < started_time(run, uuids["B"])
    await until(lambda: not step_containers(run.id))


async def test_step_timeout_counts_from_the_release_not_from_the_container_start(
    manager: RunManager, tmp_path: Path
) -> None:
    """B's container waits through both attempts of A and the delay between them, longer
    than the step timeout; B itself is quick and succeeds."""
    manager.step_timeout = 10
    fail_once = "[ -e tried ] && exit 0\ntouch tried\nexit 1\n"
    pipeline_file, uuids = make_pipeline(
        tmp_path / "p",
        {"A": ("a.sh", fail_once, []), "B": ("b.sh", "hostname > host-B\n", ["A"])},
    )
    run = await submit(manager, pipeline_file, backend="docker", retries=1, retry_delay=12)
    container = (await made_ahead(manager, run.id, [uuids["B"]]))[uuids["B"]]
    await manager.wait(run.id)
    assert run.status == "SUCCESS", run.to_dict()
    assert run.steps[uuids["A"]].attempt == 2
    assert (tmp_path / "p" / "host-B").read_text().strip() == container[:12]


@pytest.mark.parametrize("what", ["kernel", "container"])
async def test_what_died_while_waiting_is_replaced_not_reported(
    manager: RunManager, tmp_path: Path, what: str
) -> None:
    pipeline_file, uuids = make_pipeline(
        tmp_path / "p",
        {"A": ("a.sh", blocked("go"), []), "B": ("b.ipynb", kernel_started("B"), ["A"])},
    )
    run = await submit(manager, pipeline_file, backend="docker")
    container = (await made_ahead(manager, run.id, [uuids["B"]]))[uuids["B"]]
    (pid,) = await until(lambda: kernel_pids(container))
    if what == "kernel":
        os.kill(pid, signal.SIGKILL)
    else:
        assert docker("kill", container).returncode == 0
    (tmp_path / "p" / "go").touch()
    await manager.wait(run.id)
    assert run.status == "SUCCESS", run.to_dict()
    kernel_start, host = (tmp_path / "p" / "kernel-B").read_text().split()
    assert (host == container[:12]) == (what == "kernel")
    assert float(kernel_start) > started_time(run, uuids["B"])
    await until(lambda: not step_containers(run.id))


@pytest.mark.parametrize("how", ["abort", "failed parent", "fail_fast", "shutdown"])
async def test_no_container_made_ahead_outlives_its_step(
    manager: RunManager, tmp_path: Path, how: str
) -> None:
    steps = {
        "A": ("a.sh", blocked("go", "exit 1"), []),
        "B": ("b.ipynb", notebook("open('ran-B', 'w').close()"), ["A"]),
        # Under fail_fast X (still running when A fails) is stopped and Y never runs.
        "X": ("x.sh", blocked("never"), []),
        "Y": ("y.sh", "touch ran-Y\n", ["X"]),
    }
    pipeline_file, uuids = make_pipeline(tmp_path / "p", steps)
    policy = "fail_fast" if how == "fail_fast" else "continue"
    run = await submit(manager, pipeline_file, backend="docker", failure_policy=policy)
    ids = await made_ahead(manager, run.id, [uuids["B"], uuids["Y"]])
    await until(lambda: kernel_pids(ids[uuids["B"]]))
    if how == "abort":
        await manager.abort(run.id)
    elif how == "shutdown":
        await manager.shutdown()
    else:
        (tmp_path / "p" / "go").touch()
    if how == "failed parent":
        # B will not run; Y still waits for X, which runs on.
        await until(lambda: not step_containers(run.id, uuids["B"]))
        assert list(manager.ahead.waiting()) == [(run.id, uuids["Y"])]
        assert [c["ID"] for c in step_containers(run.id, uuids["Y"])] == [ids[uuids["Y"]]]
        await manager.abort(run.id)
    elif how == "fail_fast":
        await manager.wait(run.id)
    if how == "shutdown":
        # The running steps are left to the next server (docker runs are recoverable); what
        # was made ahead is removed.
        await until(lambda: not any(step_containers(run.id, uuids[t]) for t in ("B", "Y")))
    else:
        await until(lambda: not step_containers(run.id))
    assert manager.ahead.waiting() == {}
    assert not (tmp_path / "p" / "ran-B").exists()
    assert not (tmp_path / "p" / "ran-Y").exists()


async def test_kernelspec_that_cannot_start_in_a_container_fails_its_step_with_its_error(
    manager: RunManager, executor: DockerExecutor, tmp_path: Path
) -> None:
    jupyter_path = broken_kernelspec(tmp_path / "p" / "jupyter")
    pipeline_file, uuids = make_pipeline(
        tmp_path / "p",
        {"A": ("a.sh", "echo a\n", []), "B": ("b.ipynb", kernel_started("B"), ["A"])},
    )
    description = json.loads(pipeline_file.read_text())
    description["env_variables"] = {"JUPYTER_PATH": str(jupyter_path)}
    description["steps"][uuids["B"]]["kernel"]["name"] = "broken"
    pipeline_file.write_text(json.dumps(description))
    messages = []
    for start, limit in ((True, 4), (False, 0)):
        executor.start_containers_ahead = start
        manager.kernels_ahead = limit
        run = await submit(manager, pipeline_file, backend="docker")
        await manager.wait(run.id)
        assert run.steps[uuids["B"]].status == "FAILURE", run.to_dict()
        messages.append(run.steps[uuids["B"]].message)
    assert messages[0] == messages[1]
    assert "kernel-binary" in messages[0]


@pytest.mark.parametrize("kind", ["sh", "ipynb"])
async def test_reattach_releases_a_container_started_ahead_and_never_released(
    executor: DockerExecutor, tmp_path: Path, kind: str
) -> None:
    """What a server leaves that died as the step started, before releasing its container:
    the container made ahead is left waiting (here: the object that made it is dropped)."""
    run_id = f"test-{os.getpid()}-{time.monotonic_ns()}"
    content = "echo released\n" if kind == "sh" else notebook("print('released')")
    spec = step_spec(tmp_path, f"a.{kind}", content, run_id=run_id)
    try:
        ahead = executor.start_ahead(spec)
        await until(ahead.ready)
        (found,) = await executor.find_step_containers(run_id)
        assert found["state"] == "running"
        result = await executor.reattach(spec, {})
        assert result is not None and result.status == "SUCCESS", result
        assert "released" in spec.log_path.read_text()
        await executor.removed()
        assert not step_containers(run_id)
    finally:
        remove_containers(f"orchest_ext.run_id={run_id}")


@pytest.mark.parametrize("fifo", ["another", "none"])
async def test_container_that_cannot_wait_for_release_never_runs_its_step_ahead(
    tmp_path: Path, fifo: str
) -> None:
    """The container's step directory is not the server's (an engine that does not see this
    server's files; here a directory mounted over it): with ``another`` FIFO there it waits
    on that one and is never released, with ``none`` it cannot wait. Either way the step
    runs once, in a fresh container, and only when it starts."""
    require_image(STEP_IMAGE)
    run_id = f"test-{os.getpid()}-{time.monotonic_ns()}"
    spec = step_spec(tmp_path, "a.sh", "echo ran >> runs\n", run_id=run_id)
    other = tmp_path / "other"
    other.mkdir()
    if fifo == "another":
        os.mkfifo(other / "release.fifo")
    mount = f"{other}:{spec.step_dir}"
    executor = DockerExecutor(stop_timeout=1, release_timeout=1, extra_mounts=[mount])
    try:
        ahead = executor.start_ahead(spec)
        await until(ahead.ready)
        (container,) = step_containers(run_id)
        if fifo == "none":
            await until(lambda: step_containers(run_id)[0]["State"] == "exited")
        else:
            await until(lambda: waits_on_a_fifo(container["ID"]))
        assert not (spec.working_dir / "runs").exists()
        result = await executor.run(spec, ahead=ahead)
        assert result.status == "SUCCESS", result
        assert (spec.working_dir / "runs").read_text() == "ran\n"
        assert executor.start_containers_ahead is (fifo == "none")
        await executor.removed()
        assert not step_containers(run_id)
    finally:
        remove_containers(f"orchest_ext.run_id={run_id}")
        await executor.close()
