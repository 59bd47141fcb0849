"""Two swarm nodes on one machine: a second Docker engine in its own network namespace joins
the test engine's swarm as a worker (``swarm_nodes``); its images come from
``jupyter orchest images distribute``. Steps run on the node they are constrained to, write
into the shared pipeline directory, and a run spreads over both nodes."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchest_ext.executors.base import ExecutorUnavailable
from orchest_ext.executors.containers.swarm import SwarmExecutor
from orchest_ext.sessions import PipelineSessionManager

from . import swarm_nodes
from .docker_support import STEP_IMAGE, _unavailable, docker, require_swarm
from .helpers import assert_no_step_containers, make_pipeline, wait_for_run
from .test_environments import write_environment

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


@pytest.fixture
def copies_to_node2(node2, jp_server_config: dict) -> dict:
    """Steps on node2, with the images of their environments copied to its engine."""
    jp_server_config["SwarmExecutor"] = {
        "constraints": [f"node.hostname=={swarm_nodes.NODE_NAME}"],
        "node_engines": [node2.url],
    }
    return jp_server_config


@pytest.fixture
def environments_on_both(node2) -> Iterator[list[str]]:
    """Environment uuids whose images are removed from both engines afterwards."""
    uuids: list[str] = []
    yield uuids
    for env_uuid in uuids:
        for prefix in ([], ["-H", node2.url]):
            label = f"label=orchest_ext.environment={env_uuid}"
            ids = docker(*prefix, "images", "-q", "--filter", label).stdout.split()
            if ids:
                docker(*prefix, "rmi", "-f", *ids)


async def test_an_environment_built_on_demand_is_copied_to_the_node_of_its_step(
    node2, copies_to_node2, environments_on_both, api, jp_root_dir
) -> None:
    """A swarm run builds its step's environment on this engine, copies the image to node2's
    engine (no registry) before the step's service is created, and the step runs there in it."""
    project = jp_root_dir / "p"
    mark = uuidlib.uuid4().hex
    env_uuid = write_environment(project, "tiny", f"echo {mark} > /environment-mark\n")
    environments_on_both.append(env_uuid)
    pipeline_file, uuids = make_pipeline(
        project, {"Env": ("env.sh", 'cat /environment-mark\necho "on $ORCHEST_NODE"\n', [])}
    )
    data = json.loads(pipeline_file.read_text())
    data["steps"][uuids["Env"]]["environment"] = env_uuid
    pipeline_file.write_text(json.dumps(data))

    code, run = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": "swarm"}
    )
    assert code == 202, run
    finished = await wait_for_run(api, run["id"], timeout=600)
    assert finished["status"] == "SUCCESS", finished["steps"]
    _, log = await api("GET", "runs", run["id"], "steps", uuids["Env"], "log")
    text = log["text"]
    assert f"Building the image of environment 'tiny' ({env_uuid})" in text
    tag = text.split("Copying image ", 1)[1].split(" ", 1)[0]
    assert tag.startswith(f"orchest-ext/environment-{env_uuid}:")
    assert f"Image {tag} on {node2.url}: copied" in text
    assert text.endswith(f"{mark}\non {node2.hostname}\n"), text
    ids = {
        docker(*prefix, "image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
        for prefix in ([], ["-H", node2.url])
    }
    assert len(ids) == 1 and "" not in ids
