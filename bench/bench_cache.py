"""Step caching. (1) A fully cached 100-step pipeline (a seeded random DAG of `.sh` steps,
each its own file) through a real `jupyter server`: seconds from `POST runs` (`cache: use`)
until `GET runs/{id}` says SUCCESS with every step cached, against the same pipeline running
every step (`cache: off`) on the same server. (2) Hashing a 100 MB declared input
(`cache.inputs`): a cached one-step run through `RunManager` in this process, the IOLoop's
longest stall meanwhile (a task waking every millisecond), against `hashlib.file_digest` of
the same file with no loop.

Run it from two checkouts to compare them: it measures the one it lives in."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import time
from pathlib import Path

from _common import (
    StallMeter,
    median,
    pipeline_dict,
    print_json,
    print_table,
    random_dag,
    run_manager,
    temp_dir,
    write_pipeline,
)

from orchest_ext.executors.local import LocalExecutor
from orchest_ext.pipeline import load_pipeline
from tests.server import ServerProcess

TARGET_S = 1.0
INPUT_MB = 100


def dag_pipeline(directory: Path, steps: int) -> str:
    """A ``steps``-step random DAG of one-line shell steps; its path below the root."""
    directory.mkdir(parents=True)
    files = [f"step-{index}.sh" for index in range(steps)]
    for index, name in enumerate(files):
        (directory / name).write_text(f"echo {index}\n")
    write_pipeline(directory, pipeline_dict(random_dag(steps, seed=15), files))
    return f"{directory.name}/pipeline.orchest"


def post_to_success(server: ServerProcess, path: str, cache: str) -> tuple[float, dict]:
    """Seconds from POST runs until GET runs/{id} answers SUCCESS (polled every 5 ms)."""
    started = time.perf_counter()
    code, run = server.request("POST", "/orchest/api/runs", {"pipeline_path": path, "cache": cache})
    assert code == 202, run
    deadline = started + 600
    while run["status"] not in ("SUCCESS", "FAILURE", "ABORTED"):
        assert time.perf_counter() < deadline, run
        time.sleep(0.005)
        code, run = server.request("GET", f"/orchest/api/runs/{run['id']}")
    elapsed = time.perf_counter() - started
    assert run["status"] == "SUCCESS", run
    return elapsed, run


def fully_cached(rounds: int, steps: int) -> dict:
    with temp_dir("bench-cache-") as tmp:
        root = tmp / "root"
        root.mkdir()
        path = dag_pipeline(root / "dag", steps)
        server = ServerProcess(root, tmp / "state", ["--OrchestApp.max_parallel=2"]).start()
        try:
            post_to_success(server, path, "use")
            cached, uncached = [], []
            for _ in range(rounds):
                seconds, run = post_to_success(server, path, "use")
                assert all(step["cached"] for step in run["steps"]), run
                cached.append(seconds)
                uncached.append(post_to_success(server, path, "off")[0])
        finally:
            server.stop()
    return {"steps": steps, "cached_s": median(cached), "uncached_s": median(uncached)}


async def hashed_input_run(pipeline_path: Path, db: Path) -> tuple[float, float]:
    """Seconds of a cached run of the one-step pipeline (its input hashed again) and the
    IOLoop's longest stall meanwhile."""
    pipeline = load_pipeline(pipeline_path)
    async with run_manager(db, LocalExecutor(), max_parallel=1) as manager:
        run = await manager.submit(pipeline, cache="use")
        await manager.wait(run.id)
        async with StallMeter() as stalls:
            started = time.perf_counter()
            run = await manager.submit(pipeline, cache="use")
            await manager.wait(run.id)
            elapsed = time.perf_counter() - started
        assert run.status == "SUCCESS" and all(s.cached for s in run.steps.values())
    return elapsed, stalls.worst


def hashed_input(rounds: int) -> dict:
    with temp_dir("bench-cache-input-") as tmp:
        directory = tmp / "p"
        (directory / "data").mkdir(parents=True)
        data = directory / "data" / "big.bin"
        with data.open("wb") as handle:
            for _ in range(INPUT_MB):
                handle.write(os.urandom(1 << 20))
        (directory / "read.sh").write_text("true\n")
        description = pipeline_dict([[]], ["read.sh"])
        next(iter(description["steps"].values()))["cache"] = {"inputs": ["data/*.bin"]}
        pipeline_path = write_pipeline(directory, description)
        runs, stalls, plain = [], [], []
        for index in range(rounds):
            seconds, stall = asyncio.run(hashed_input_run(pipeline_path, tmp / f"{index}.db"))
            runs.append(seconds)
            stalls.append(stall)
            started = time.perf_counter()
            with data.open("rb") as handle:
                hashlib.file_digest(handle, "sha256")
            plain.append(time.perf_counter() - started)
    return {"run_s": median(runs), "stall_s": max(stalls), "sha256_s": median(plain)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    dag = fully_cached(args.rounds, args.steps)
    big = hashed_input(args.rounds)
    result = {
        "steps": dag["steps"],
        "fully_cached_post_to_success_s": dag["cached_s"],
        "uncached_post_to_success_s": dag["uncached_s"],
        "cached_ratio": dag["cached_s"] / dag["uncached_s"],
        "target_s": TARGET_S,
        "input_mb": INPUT_MB,
        "cached_run_with_input_s": big["run_s"],
        "sha256_of_input_s": big["sha256_s"],
        "input_ratio": big["run_s"] / big["sha256_s"],
        "longest_ioloop_stall_s": big["stall_s"],
    }
    if args.json:
        print_json(result)
        return
    print_table(
        ["measure", "value"],
        [
            (f"{dag['steps']}-step DAG, fully cached, POST -> SUCCESS (s)", dag["cached_s"]),
            ("same, cache off: every step runs (s)", dag["uncached_s"]),
            ("ratio cached / off", result["cached_ratio"]),
            (f"cached 1-step run hashing a {INPUT_MB} MB input (s)", big["run_s"]),
            ("hashlib.file_digest of that file, no loop (s)", big["sha256_s"]),
            ("ratio", result["input_ratio"]),
            ("longest IOLoop stall during the cached run (s)", big["stall_s"]),
        ],
    )


if __name__ == "__main__":
    main()
