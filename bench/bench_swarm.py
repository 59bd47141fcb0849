"""The swarm backend against the docker backend on the same machine, through a real server.

1. A 20-step chain and a 40-step fan-out (one root, 39 children) of trivial ``.sh`` steps,
   makespan (the run's ``created_time`` to ``finished_time``) on ``swarm`` and on ``docker``,
   alternating, medians; the ratio swarm / docker.
2. Per-step overhead: a one-task service (``true``, restart policy ``none``) from create to
   task running to complete to removed, against ``docker run --rm IMAGE true``
   (aiodocker for both, alternating, medians).

Needs a Docker engine that is a swarm manager (``bash .ci/setup-swarm.sh init``) and the step
image. Usage: ``python bench/bench_swarm.py [--rounds 3] [--max-parallel 2] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import datetime
from pathlib import Path

import aiodocker
from _common import chain, median, pipeline_dict, print_json, print_table, temp_dir
from _common import write_pipeline as write_pipeline_file

from tests.server import ServerProcess

IMAGE = "orchest-ext/step:latest"
LABEL = "orchest_ext.bench"


def fan_out(n: int) -> list[list[int]]:
    """Parents of one root step and ``n - 1`` children of it."""
    return [[] if index == 0 else [0] for index in range(n)]


def write_pipeline(directory: Path, parents: list[list[int]]) -> str:
    directory.mkdir(parents=True)
    (directory / "noop.sh").write_text("true\n")
    write_pipeline_file(directory, pipeline_dict(parents, ["noop.sh"] * len(parents)))
    return f"{directory.name}/pipeline.orchest"


def run_makespan(server: ServerProcess, pipeline_path: str, backend: str) -> float:
    code, run = server.request(
        "POST", "/orchest/api/runs", {"pipeline_path": pipeline_path, "backend": backend}
    )
    assert code == 202, run
    run = server.wait_for_run(run["id"], timeout=900)
    assert run["status"] == "SUCCESS", run
    created = datetime.fromisoformat(run["created_time"])
    return (datetime.fromisoformat(run["finished_time"]) - created).total_seconds()


async def service_phases(docker: aiodocker.Docker) -> dict[str, float]:
    """Seconds from service create to its task running, to complete, and to removed."""
    bench_id = uuid.uuid4().hex[:12]
    started = time.perf_counter()
    service = await docker.services.create(
        {
            "ContainerSpec": {"Image": IMAGE, "Args": ["true"], "Labels": {LABEL: bench_id}},
            "RestartPolicy": {"Condition": "none"},
        },
        name=f"orchest-bench-{bench_id}",
        labels={LABEL: bench_id},
        mode={"Replicated": {"Replicas": 1}},
    )
    phases: dict[str, float] = {}
    while "complete" not in phases:
        tasks = await docker.tasks.list(filters={"service": service["ID"]})
        state = tasks[0]["Status"]["State"] if tasks else "new"
        if state in ("running", "complete") and "running" not in phases:
            phases["running"] = time.perf_counter() - started
        if state == "complete":
            phases["complete"] = time.perf_counter() - started
        elif state in ("failed", "rejected"):
            raise RuntimeError(f"bench service {state}: {tasks[0]['Status']}")
        await asyncio.sleep(0.02)
    await docker.services.delete(service["ID"])
    while await docker.containers.list(all=True, filters={"label": [f"{LABEL}={bench_id}"]}):
        await asyncio.sleep(0.02)
    phases["removed"] = time.perf_counter() - started
    return phases


async def docker_run(docker: aiodocker.Docker) -> float:
    """Seconds for the equivalent of ``docker run --rm IMAGE true``."""
    started = time.perf_counter()
    container = await docker.containers.run({"Image": IMAGE, "Cmd": ["true"]})
    await container.wait()
    await container.delete(force=True)
    return time.perf_counter() - started


async def overhead(rounds: int) -> dict[str, float]:
    docker = aiodocker.Docker()
    try:
        await service_phases(docker)
        await docker_run(docker)
        phases, runs = [], []
        for _ in range(rounds):
            phases.append(await service_phases(docker))
            runs.append(await docker_run(docker))
    finally:
        await docker.close()
    return {
        "service_running_s": median([p["running"] for p in phases]),
        "service_complete_s": median([p["complete"] for p in phases]),
        "service_removed_s": median([p["removed"] for p in phases]),
        "docker_run_s": median(runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-parallel", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with temp_dir("bench-swarm-") as tmp:
        root = tmp / "root"
        root.mkdir()
        pipelines = {
            "20-step chain": write_pipeline(root / "chain", chain(20)),
            "40-step fan-out": write_pipeline(root / "fan", fan_out(40)),
        }
        server = ServerProcess(
            root, tmp / "state", [f"--OrchestApp.max_parallel={args.max_parallel}"]
        ).start()
        makespans: dict[tuple[str, str], list[float]] = {}
        try:
            run_makespan(server, pipelines["20-step chain"], "swarm")
            for _ in range(args.rounds):
                for name, path in pipelines.items():
                    for backend in ("docker", "swarm"):
                        makespans.setdefault((name, backend), []).append(
                            run_makespan(server, path, backend)
                        )
        finally:
            server.stop()
    steps = asyncio.run(overhead(max(5, args.rounds * 3)))
    result: dict[str, float] = {"max_parallel": args.max_parallel}
    rows = []
    for name in pipelines:
        docker_s = median(makespans[(name, "docker")])
        swarm_s = median(makespans[(name, "swarm")])
        key = name.replace(" ", "_").replace("-", "_")
        result |= {f"{key}_docker_s": docker_s, f"{key}_swarm_s": swarm_s}
        result[f"{key}_ratio"] = swarm_s / docker_s
        rows += [
            [f"{name}, docker backend (s, median)", docker_s],
            [f"{name}, swarm backend (s, median)", swarm_s],
            [f"{name}: ratio swarm / docker", swarm_s / docker_s],
        ]
    result |= steps
    result["per_step_ratio"] = steps["service_removed_s"] / steps["docker_run_s"]
    rows += [
        ["one service: create -> task running (s, median)", steps["service_running_s"]],
        ["one service: create -> task complete (s, median)", steps["service_complete_s"]],
        ["one service: create -> removed (s, median)", steps["service_removed_s"]],
        ["docker run --rm IMAGE true (s, median)", steps["docker_run_s"]],
        ["per-step ratio: service removed / docker run", result["per_step_ratio"]],
    ]
    if args.json:
        print_json(result)
    else:
        print_table(["measure", "value"], rows)


if __name__ == "__main__":
    main()
