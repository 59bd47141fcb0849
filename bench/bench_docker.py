"""The docker backend through a real `jupyter server`: per-step overhead and a 100-step run.

1. A 20-step chain of trivial ``.sh`` steps (``backend: docker``), makespan from the run's
   ``created_time`` to its ``finished_time``, against 20 sequential
   ``docker run --rm IMAGE true`` in the same session (alternating, medians). Target <= 1.15x.
2. A 100-step random DAG of trivial ``.sh`` steps: wall time and the server's peak memory
   (VmHWM of the server process).

Needs a Docker engine and the step image: ``jupyter orchest images build``.
Usage: ``python bench/bench_docker.py [--rounds 3] [--json]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from _common import chain, median, pipeline_dict, print_json, print_table, random_dag, temp_dir
from _common import write_pipeline as write_pipeline_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from orchest_ext.testing import ServerProcess

IMAGE = "orchest-ext/step:latest"
TARGET_RATIO = 1.15


def write_pipeline(directory: Path, parents: list[list[int]]) -> str:
    """A pipeline of ``len(parents)`` trivial shell steps; returns its path below the root."""
    directory.mkdir(parents=True)
    (directory / "noop.sh").write_text("true\n")
    write_pipeline_file(directory, pipeline_dict(parents, ["noop.sh"] * len(parents)))
    return f"{directory.name}/pipeline.orchest"


def run_makespan(server: ServerProcess, pipeline_path: str) -> float:
    """Seconds from the run's creation to its end, as the server recorded them."""
    code, run = server.request(
        "POST", "/orchest/api/runs", {"pipeline_path": pipeline_path, "backend": "docker"}
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
        dag_path = write_pipeline(root / "dag", random_dag(100, seed=7))
        server = ServerProcess(root, tmp / "state", ["--OrchestApp.max_parallel=2"]).start()
        try:
            docker_run_loop(2)
            run_makespan(server, chain_path)
            baseline, orchest = [], []
            for _ in range(args.rounds):
                baseline.append(docker_run_loop(args.steps))
                orchest.append(run_makespan(server, chain_path))
            started = time.perf_counter()
            dag_makespan = run_makespan(server, dag_path)
            dag_wall = time.perf_counter() - started
            peak = peak_rss_mib(server.process.pid)
        finally:
            server.stop()
    ratio = median(orchest) / median(baseline)
    result = {
        "chain_steps": args.steps,
        "docker_run_loop_s": median(baseline),
        "orchest_chain_s": median(orchest),
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "dag_100_steps_makespan_s": dag_makespan,
        "dag_100_steps_wall_s": dag_wall,
        "server_peak_rss_mib": peak,
    }
    if args.json:
        print_json(result)
        return
    print_table(
        ["measure", "value"],
        [
            [f"{args.steps} x docker run --rm {IMAGE} true (s, median)", median(baseline)],
            [f"{args.steps}-step .sh chain on the docker backend (s, median)", median(orchest)],
            ["ratio (target <= 1.15)", ratio],
            ["100-step DAG, max_parallel 2: makespan (s)", dag_makespan],
            ["100-step DAG: wall time incl. polling (s)", dag_wall],
            ["server peak RSS (MiB)", peak],
        ],
    )


if __name__ == "__main__":
    main()
