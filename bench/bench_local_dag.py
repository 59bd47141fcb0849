"""A 500-step random DAG of no-op shell steps, max_parallel 2: orchest_ext (RunManager + SQLite
Store + LocalExecutor) against a bare asyncio loop starting the same processes. Target <= 1.15x."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
from collections import deque
from pathlib import Path

from _common import (
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
from orchest_ext.pipeline import Pipeline, load_pipeline

TARGET_RATIO = 1.15
STEP_SCRIPT = ":\n"


def write_steps(directory: Path, n: int) -> list[str]:
    """Write ``n`` no-op shell scripts; return their paths relative to ``directory``."""
    names = [f"steps/s{index:04d}.sh" for index in range(n)]
    (directory / "steps").mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text(STEP_SCRIPT)
    return names


def children_of(parents: list[list[int]]) -> list[list[int]]:
    """Invert a parents list into a children list."""
    children: list[list[int]] = [[] for _ in parents]
    for child, step_parents in enumerate(parents):
        for parent in step_parents:
            children[parent].append(child)
    return children


async def run_script(path: Path, log_path: Path) -> None:
    """Run ``bash path`` in its directory, output to ``log_path``; raise if it fails."""
    with open(log_path, "ab") as log:
        proc = await asyncio.create_subprocess_exec(
            "bash", str(path), cwd=path.parent, stdout=log, stderr=subprocess.STDOUT
        )
    if await proc.wait() != 0:
        raise RuntimeError(f"{path} exited with {proc.returncode}")


async def baseline(
    directory: Path, names: list[str], parents: list[list[int]], limit: int, logs: Path
) -> None:
    """Start each step once its parents finished and one of ``limit`` slots is free; each step
    logs to a new file in ``logs`` (as orchest_ext writes fresh logs for every run)."""
    logs.mkdir()
    children = children_of(parents)
    remaining = [len(p) for p in parents]
    ready = deque(index for index, count in enumerate(remaining) if count == 0)
    running: dict[asyncio.Task, int] = {}
    while ready or running:
        while ready and len(running) < limit:
            index = ready.popleft()
            coro = run_script(directory / names[index], logs / f"{index}.log")
            running[asyncio.create_task(coro)] = index
        done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
            for child in children[running.pop(task)]:
                remaining[child] -= 1
                if remaining[child] == 0:
                    ready.append(child)


async def orchest(pipeline: Pipeline, db: Path, limit: int) -> float:
    """Seconds from submit to the run's completion through RunManager + LocalExecutor."""
    async with run_manager(db, LocalExecutor(), limit) as manager:
        start = time.perf_counter()
        run = await manager.submit(pipeline)
        await manager.wait(run.id)
        elapsed = time.perf_counter() - start
        assert run.status == "SUCCESS", (run.status, run.message)
    return elapsed


async def timed_baseline(
    directory: Path, names: list[str], parents: list[list[int]], limit: int, run: str
) -> float:
    """Seconds the bare asyncio baseline takes, logging to a fresh directory named ``run``."""
    start = time.perf_counter()
    await baseline(directory, names, parents, limit, directory / "baseline" / run)
    return time.perf_counter() - start


async def bench(n: int, seed: int, limit: int, repeats: int, directory: Path) -> dict:
    """Warm up once, then alternate baseline and orchest ``repeats`` times each."""
    parents = random_dag(n, seed)
    names = write_steps(directory, n)
    pipeline = load_pipeline(write_pipeline(directory, pipeline_dict(parents, names)))
    (directory / "baseline").mkdir()
    await timed_baseline(directory, names, parents, limit, "warmup")
    await orchest(pipeline, directory / "warmup.db", limit)
    base, orch = [], []
    for repeat in range(repeats):
        base.append(await timed_baseline(directory, names, parents, limit, str(repeat)))
        orch.append(await orchest(pipeline, directory / f"orchest-{repeat}.db", limit))
    return {"baseline_s": base, "orchest_s": orch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-parallel", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    with temp_dir("bench-local-dag-") as directory:
        samples = asyncio.run(
            bench(args.steps, args.seed, args.max_parallel, args.repeats, directory)
        )
    base, orch = median(samples["baseline_s"]), median(samples["orchest_s"])
    summary = {
        "steps": args.steps,
        "max_parallel": args.max_parallel,
        "baseline_median_s": base,
        "orchest_median_s": orch,
        "ratio": orch / base,
        "target_ratio": TARGET_RATIO,
        "samples": samples,
    }
    if args.json:
        print_json(summary)
        return
    print(f"{args.steps}-step random DAG (seed {args.seed}) of no-op .sh steps,")
    print(f"max_parallel {args.max_parallel}, median of {args.repeats} alternated runs")
    rows = [
        ["bare asyncio", base, *samples["baseline_s"]],
        ["orchest_ext", orch, *samples["orchest_s"]],
    ]
    print_table(["runner", "median_s", *[f"run{i + 1}" for i in range(args.repeats)]], rows)
    print(f"ratio orchest/baseline: {orch / base:.3f} (target <= {TARGET_RATIO})")


if __name__ == "__main__":
    main()
