"""The docker backend through a real `jupyter server`: per-step overhead and a 100-step run.

1. A 20-step chain of trivial ``.sh`` steps (``backend: docker``), makespan from the run's
   ``created_time`` to its ``finished_time``, against 20 sequential
   ``docker run --rm IMAGE true`` in the same session (alternating, medians). Target <= 0.70x
   (each step's container is created and started while its parent runs, and waits to be
   released). Also reported: the same chain on a second server with
   ``--DockerExecutor.start_containers_ahead=False`` (containers only created ahead) and on
   a third with ``--OrchestApp.kernels_ahead=0`` (nothing made ahead).
2. A chain of 10 one-cell notebooks on the docker backend against the same pipeline on the
   local backend of the same server (alternating, medians). Target <= 1.5x. Also reported:
   the docker chain on the second server (no kernel ahead in the containers).
3. A 100-step random DAG of trivial ``.sh`` steps: wall time and the server's peak memory
   (VmHWM of the server process).

Needs a Docker engine and the step image: ``jupyter orchest images build``.
Usage: ``python bench/bench_docker.py [--rounds 3] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from _common import chain, median, pipeline_dict, print_json, print_table, random_dag, temp_dir
from _common import write_pipeline as write_pipeline_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.server import ServerProcess

IMAGE = "orchest-ext/step:latest"
TARGET_RATIO = 0.70
TARGET_NOTEBOOK_RATIO = 1.5


def write_pipeline(directory: Path, parents: list[list[int]]) -> str:
    """A pipeline of ``len(parents)`` trivial shell steps; returns its path below the root."""
    directory.mkdir(parents=True)
    (directory / "noop.sh").write_text("true\n")
    write_pipeline_file(directory, pipeline_dict(parents, ["noop.sh"] * len(parents)))
    return f"{directory.name}/pipeline.orchest"


def write_notebooks(directory: Path, count: int) -> str:
    """A chain of ``count`` notebooks with the one cell ``x = 1``; its path below the root."""
    directory.mkdir(parents=True)
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "source": "x = 1"}
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = {"cells": [cell], "metadata": {"kernelspec": kernelspec}, "nbformat": 4}
    names = [f"nb{index:02d}.ipynb" for index in range(count)]
    for name in names:
        (directory / name).write_text(json.dumps({**nb, "nbformat_minor": 4}))
    write_pipeline_file(directory, pipeline_dict(chain(count), names))
    return f"{directory.name}/pipeline.orchest"


def run_makespan(server: ServerProcess, pipeline_path: str, backend: str = "docker") -> float:
    """Seconds from the run's creation to its end, as the server recorded them."""
    code, run = server.request(
        "POST", "/orchest/api/runs", {"pipeline_path": pipeline_path, "backend": backend}
    )
    assert code == 202, run
    run = server.wait_for_run(run["id"], timeout=600)
    assert run["status"] == "SUCCESS", run
    created = datetime.fromisoformat(run["created_time"])
    finished = datetime.fromisoformat(run["finished_time"])
    return (finished - created).total_seconds()


def docker_run_loop(count: int) -> float:
    """Seconds for ``count`` sequential ``docker run --rm IMAGE true``."""
    started = time.perf_counter()
    for _ in range(count):
        subprocess.run(["docker", "run", "--rm", IMAGE, "true"], check=True, capture_output=True)
    return time.perf_counter() - started


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with temp_dir("bench-docker-") as tmp:
        root = tmp / "root"
        root.mkdir()
        chain_path = write_pipeline(root / "chain", chain(args.steps))
        notebooks = write_notebooks(root / "notebooks", 10)
        dag_path = write_pipeline(root / "dag", random_dag(100, seed=7))
        server = ServerProcess(root, tmp / "state", ["--OrchestApp.max_parallel=2"]).start()
        created = ServerProcess(
            root,
            tmp / "state1",
            ["--OrchestApp.max_parallel=2", "--DockerExecutor.start_containers_ahead=False"],
        ).start()
        plain = ServerProcess(
            root, tmp / "state0", ["--OrchestApp.max_parallel=2", "--OrchestApp.kernels_ahead=0"]
        ).start()
        samples: dict[str, list[float]] = {
            "baseline": [],
            "orchest": [],
            "created_ahead": [],
            "no_ahead": [],
            "nb_docker": [],
            "nb_docker_created_ahead": [],
            "nb_local": [],
        }
        try:
            docker_run_loop(2)
            run_makespan(server, chain_path)
            run_makespan(plain, chain_path)
            run_makespan(created, chain_path)
            run_makespan(server, notebooks)
            run_makespan(created, notebooks)
            run_makespan(server, notebooks, "local")
            for _ in range(args.rounds):
                samples["baseline"].append(docker_run_loop(args.steps))
                samples["orchest"].append(run_makespan(server, chain_path))
                samples["created_ahead"].append(run_makespan(created, chain_path))
                samples["no_ahead"].append(run_makespan(plain, chain_path))
                samples["nb_docker"].append(run_makespan(server, notebooks))
                samples["nb_docker_created_ahead"].append(run_makespan(created, notebooks))
                samples["nb_local"].append(run_makespan(server, notebooks, "local"))
            plain.stop()
            created.stop()
            started = time.perf_counter()
            dag_makespan = run_makespan(server, dag_path)
            dag_wall = time.perf_counter() - started
            peak = peak_rss_mib(server.process.pid)
        finally:
            server.stop()
            created.stop()
            plain.stop()
    med = {name: median(values) for name, values in samples.items()}
    ratio = med["orchest"] / med["baseline"]
    nb_ratio = med["nb_docker"] / med["nb_local"]
    result = {
        "chain_steps": args.steps,
        "docker_run_loop_s": med["baseline"],
        "orchest_chain_s": med["orchest"],
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "orchest_chain_created_ahead_s": med["created_ahead"],
        "created_ahead_ratio": med["created_ahead"] / med["baseline"],
        "orchest_chain_no_ahead_s": med["no_ahead"],
        "no_ahead_ratio": med["no_ahead"] / med["baseline"],
        "notebook_chain_docker_s": med["nb_docker"],
        "notebook_chain_docker_created_ahead_s": med["nb_docker_created_ahead"],
        "notebook_chain_local_s": med["nb_local"],
        "notebook_ratio": nb_ratio,
        "target_notebook_ratio": TARGET_NOTEBOOK_RATIO,
        "notebook_created_ahead_ratio": med["nb_docker_created_ahead"] / med["nb_local"],
        "load_average": os.getloadavg(),
        "dag_100_steps_makespan_s": dag_makespan,
        "dag_100_steps_wall_s": dag_wall,
        "server_peak_rss_mib": peak,
        "samples": samples,
    }
    if args.json:
        print_json(result)
        return
    print_table(
        ["measure", "value"],
        [
            [f"{args.steps} x docker run --rm {IMAGE} true (s, median)", med["baseline"]],
            [f"{args.steps}-step .sh chain on the docker backend (s, median)", med["orchest"]],
            [f"ratio (target <= {TARGET_RATIO})", ratio],
            ["same chain, containers only created ahead (s, median)", med["created_ahead"]],
            ["ratio, containers only created ahead", med["created_ahead"] / med["baseline"]],
            ["same chain, kernels_ahead=0 (s, median)", med["no_ahead"]],
            ["ratio without containers ahead", med["no_ahead"] / med["baseline"]],
            ["10-notebook chain, docker backend (s, median)", med["nb_docker"]],
            ["10-notebook chain, local backend (s, median)", med["nb_local"]],
            [f"docker / local (target <= {TARGET_NOTEBOOK_RATIO})", nb_ratio],
            [
                "10-notebook chain, containers only created ahead (s, median)",
                med["nb_docker_created_ahead"],
            ],
            [
                "docker / local, containers only created ahead",
                med["nb_docker_created_ahead"] / med["nb_local"],
            ],
            ["100-step DAG, max_parallel 2: makespan (s)", dag_makespan],
            ["100-step DAG: wall time incl. polling (s)", dag_wall],
            ["server peak RSS (MiB)", peak],
            [
                "load average (1, 5, 15 min) at the end",
                " ".join(f"{x:.1f}" for x in os.getloadavg()),
            ],
        ],
    )


if __name__ == "__main__":
    main()
