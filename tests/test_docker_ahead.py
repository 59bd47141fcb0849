"""Containers created ahead of need on the docker backend: started by their own step only,
and removed at once when their step will not run."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchest_ext.executors.container_ahead import ContainerAhead
from orchest_ext.executors.docker import DockerExecutor
from orchest_ext.runs import RunManager
from orchest_ext.store import Store

from .docker_support import STEP_IMAGE, project_containers, remove_containers, require_image
from .helpers import make_pipeline
from .test_ahead import submit, until

pytestmark = pytest.mark.docker

# A shell step that waits for the file ``go`` in its directory (at most a minute), then ``then``.
WAIT_FOR_GO = "for i in $(seq 1200); do [ -e {flag} ] && break; sleep 0.05; done\n{then}\n"


def blocked(flag: str, then: str = "true") -> str:
    return WAIT_FOR_GO.format(flag=flag, then=then)


@pytest.fixture
def manager(tmp_path: Path, jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[RunManager]:
    """A run engine on a real store and the docker executor; the containers of its runs are
    removed afterwards (by their run ids, kept in the store)."""
    require_image(STEP_IMAGE)
    store = Store(tmp_path / "orchest.db")
    jp_asyncio_loop.run_until_complete(store.open())
    executor = DockerExecutor(stop_timeout=1)
    manager = RunManager(
        store, {"docker": executor}, lambda *_: None, max_parallel=2, kernels_ahead=4
    )
    yield manager
    jp_asyncio_loop.run_until_complete(manager.shutdown())
    runs, _ = jp_asyncio_loop.run_until_complete(manager.list(limit=100, offset=0))
    jp_asyncio_loop.run_until_complete(executor.close())
    jp_asyncio_loop.run_until_complete(store.close())
    for run in runs:
        remove_containers(f"orchest_ext.run_id={run['id']}")


def step_containers(run_id: str, uuid: str | None = None) -> list[dict[str, str]]:
    labels = [f"orchest_ext.run_id={run_id}"]
    if uuid:
        labels.append(f"orchest_ext.step_uuid={uuid}")
    return project_containers(*labels)


async def created_ahead(manager: RunManager, run_id: str, uuids: list[str]) -> dict[str, str]:
    """Wait until each step's container was created ahead; their ids by step uuid."""

    def ready() -> bool:
        waiting = manager.ahead.waiting()
        aheads = [waiting.get((run_id, uuid)) for uuid in uuids]
        return all(isinstance(a, ContainerAhead) and a.ready() for a in aheads)

    await until(ready)
    found = {uuid: step_containers(run_id, uuid) for uuid in uuids}
    assert all(len(c) == 1 and c[0]["State"] == "created" for c in found.values()), found
    return {uuid: c[0]["ID"] for uuid, c in found.items()}


async def test_container_created_ahead_is_started_by_its_step_and_no_other(
    manager: RunManager, tmp_path: Path
) -> None:
    pipeline_file, uuids = make_pipeline(
        tmp_path / "p",
        {
            "A": ("a.sh", blocked("go"), []),
            "B": ("b.sh", "hostname > host-B\n", ["A"]),
            "C": ("c.sh", "hostname > host-C\n", ["A"]),
        },
    )
    run = await submit(manager, pipeline_file, backend="docker")
    ids = await created_ahead(manager, run.id, [uuids["B"], uuids["C"]])
    (tmp_path / "p" / "go").touch()
    await manager.wait(run.id)
    assert run.status == "SUCCESS", run.to_dict()
    # A container's hostname is the first 12 characters of its id.
    used = {t: (tmp_path / "p" / f"host-{t}").read_text().strip() for t in ("B", "C")}
    assert used == {"B": ids[uuids["B"]][:12], "C": ids[uuids["C"]][:12]}
    assert manager.ahead.waiting() == {}
    await until(lambda: not step_containers(run.id))


@pytest.mark.parametrize("how", ["abort", "failed parent", "fail_fast", "shutdown"])
async def test_no_container_created_ahead_outlives_its_step(
    manager: RunManager, tmp_path: Path, how: str
) -> None:
    steps = {
        "A": ("a.sh", blocked("go", "exit 1"), []),
        "B": ("b.sh", "touch ran-B\n", ["A"]),
        # Under fail_fast X (still running when A fails) is stopped and Y never runs.
        "X": ("x.sh", blocked("never"), []),
        "Y": ("y.sh", "touch ran-Y\n", ["X"]),
    }
    pipeline_file, uuids = make_pipeline(tmp_path / "p", steps)
    policy = "fail_fast" if how == "fail_fast" else "continue"
    run = await submit(manager, pipeline_file, backend="docker", failure_policy=policy)
    ids = await created_ahead(manager, run.id, [uuids["B"], uuids["Y"]])
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
        # was only created ahead is removed.
        await until(lambda: not any(step_containers(run.id, uuids[t]) for t in ("B", "Y")))
    else:
        await until(lambda: not step_containers(run.id))
    assert manager.ahead.waiting() == {}
    assert not (tmp_path / "p" / "ran-B").exists()
    assert not (tmp_path / "p" / "ran-Y").exists()
