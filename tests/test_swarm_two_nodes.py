"""Two swarm nodes on one machine: a second Docker engine in its own network namespace joins
the test engine's swarm as a worker (``swarm_nodes``); its images come from
``jupyter orchest images distribute``. Steps run on the node they are constrained to, write
into the shared pipeline directory, and a run spreads over both nodes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchest_ext.executors.base import ExecutorUnavailable
from orchest_ext.executors.containers.swarm import SwarmExecutor
from orchest_ext.sessions import PipelineSessionManager

from . import swarm_nodes
from .docker_support import STEP_IMAGE, _unavailable, docker, require_swarm
from .helpers import assert_no_step_containers, make_pipeline, wait_for_run

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def node2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[swarm_nodes.Node]:
    """The second node, with the step image copied into its engine; removed afterwards."""
    require_swarm()
    problem = swarm_nodes.problem()
    if problem:
        _unavailable(f"no second swarm node: {problem}")
    log = tmp_path_factory.mktemp("node2") / "dockerd.log"
    node = None
    try:
        node = swarm_nodes.start(str(log))
        distributed = subprocess.run(
            [
                sys.executable,
                "-m",
                "orchest_ext.cli",
                "images",
                "distribute",
                "--engine",
                node.url,
                "--image",
                STEP_IMAGE,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert distributed.returncode == 0, distributed.stderr
        assert f"{node.url}: {STEP_IMAGE} copied" in distributed.stdout
        yield node
    finally:
        swarm_nodes.stop(node)


@pytest.fixture
def manager_name() -> str:
    return docker("info", "--format", "{{.Name}}").stdout.strip()


def nodes_seen(directory: Path) -> list[str]:
    return sorted(path.read_text().strip() for path in directory.glob("*.node"))


@pytest.fixture
def on_node2(jp_server_config: dict) -> dict:
    jp_server_config["SwarmExecutor"] = {"constraints": [f"node.hostname=={swarm_nodes.NODE_NAME}"]}
    return jp_server_config


async def test_a_constrained_step_runs_on_its_node_and_writes_the_shared_directory(
    node2, on_node2, api, jp_root_dir
) -> None:
    script = 'echo "$ORCHEST_NODE" > from-node.txt\necho "wrote on $ORCHEST_NODE"\n'
    make_pipeline(jp_root_dir / "p", {"Where": ("where.sh", script, [])})
    code, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": "swarm"}
    )
    assert code == 202, run
    finished = await wait_for_run(api, run["id"])
    assert finished["status"] == "SUCCESS", finished
    assert (jp_root_dir / "p" / "from-node.txt").read_text() == f"{node2.hostname}\n"
    step = finished["steps"][0]["uuid"]
    _, log = await api("GET", "runs", run["id"], "steps", step, "log")
    assert f"wrote on {node2.hostname}" in log["text"]
    await assert_no_step_containers(finished)


@pytest.fixture
def four_at_once(jp_server_config: dict) -> dict:
    jp_server_config["OrchestApp"]["max_parallel"] = 4
    return jp_server_config


async def test_a_run_spreads_over_both_nodes(
    node2, four_at_once, api, jp_root_dir, manager_name
) -> None:
    """Four parallel steps, each holding its node for a second: swarm's spread strategy puts
    them on both nodes."""
    steps = {
        f"S{i}": (f"s{i}.sh", f'sleep 1\necho "$ORCHEST_NODE" > s{i}.node\n', []) for i in range(4)
    }
    make_pipeline(jp_root_dir / "p", steps)
    code, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": "swarm"}
    )
    assert code == 202, run
    finished = await wait_for_run(api, run["id"])
    assert finished["status"] == "SUCCESS", finished
    assert set(nodes_seen(jp_root_dir / "p")) == {manager_name, node2.hostname}


async def test_a_worker_engine_is_not_a_manager(node2) -> None:
    ex = SwarmExecutor(docker_url=node2.url)
    with pytest.raises(ExecutorUnavailable, match="is not a swarm manager"):
        await ex.check_available()
    await ex.close()


async def test_a_swarm_session_needs_a_manager(node2, tmp_path: Path) -> None:
    sessions = PipelineSessionManager(tmp_path, docker_url=node2.url)
    with pytest.raises(ExecutorUnavailable, match="not a swarm manager") as raised:
        await sessions.launch("p", tmp_path, ".", backend="swarm")
    assert "PipelineSessionManager.docker_url" in str(raised.value)
    assert sessions.list() == []
    await sessions.close()


def test_distribute_skips_an_image_the_node_has(node2) -> None:
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchest_ext.cli",
            "images",
            "distribute",
            "--engine",
            node2.url,
            "--image",
            STEP_IMAGE,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert f"{node2.url}: {STEP_IMAGE} up to date" in again.stdout
    ids = {
        docker(*prefix, "image", "inspect", "--format", "{{.Id}}", STEP_IMAGE).stdout.strip()
        for prefix in ([], ["-H", node2.url])
    }
    assert len(ids) == 1
