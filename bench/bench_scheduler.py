"""The scheduler alone: a 10,000-step random DAG through RunManager and a real SQLite Store,
with an in-process executor whose steps do nothing. Target: submit to completion < 1 s.

Each measurement runs in a fresh child process (``--child``) that exits right after the run
completes, so a slow store backlog does not stretch the benchmark; the very first child also
waits for every queued store write and reports how long that took (``store_drain_s``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    make_emit,
    median,
    pipeline_dict,
    print_json,
    print_table,
    random_dag,
    temp_dir,
)

from orchest_ext.executors.base import Executor, StepResult, StepSpec
from orchest_ext.pipeline import Pipeline, parse_pipeline
from orchest_ext.runs import RunManager
from orchest_ext.store import Store

TARGET_SECONDS = 1.0
CONFIGS = [(8, "noop"), (1, "noop"), (8, "jupyter_events"), (8, "listener")]
RUN_TIMEOUT = 120.0


class NoopExecutor(Executor):
    """Every step succeeds at once, after yielding to the loop once."""

    name = "local"

    async def run(self, spec: StepSpec, on_started: Any = None) -> StepResult:
        await asyncio.sleep(0)
        return StepResult("SUCCESS")


def build_pipeline(n: int, seed: int, directory: Path) -> Pipeline:
    """A random ``n``-step DAG of ``.sh`` steps (the files need not exist)."""
    description = pipeline_dict(random_dag(n, seed), [f"s{i}.sh" for i in range(n)])
    return parse_pipeline(description, directory, check_files=False)


async def measure(
    pipeline: Pipeline, db: Path, max_parallel: int, events: str, drain: bool
) -> dict[str, float]:
    """Seconds for submit alone and submit to completion (and the store drain, if asked)."""
    store = Store(db)
    await store.open()
    manager = RunManager(
        store=store,
        executors={"local": NoopExecutor()},
        emit=make_emit(events),
        max_parallel=max_parallel,
    )
    start = time.perf_counter()
    run = await manager.submit(pipeline)
    submitted = time.perf_counter()
    await asyncio.wait_for(manager.wait(run.id), RUN_TIMEOUT)
    finished = time.perf_counter()
    assert run.status == "SUCCESS", (run.status, run.message)
    result = {"submit_s": submitted - start, "total_s": finished - start}
    if drain:
        await store.close()
        result["store_drain_s"] = time.perf_counter() - finished
    return result


def child(args: argparse.Namespace) -> None:
    """One measurement in this process; prints JSON and exits without draining the store."""
    with temp_dir("bench-scheduler-") as directory:
        pipeline = build_pipeline(args.steps, args.seed, directory)
        result = asyncio.run(
            measure(pipeline, directory / "orchest.db", args.max_parallel, args.events, args.drain)
        )
    print(json.dumps(result), flush=True)
    os._exit(0)


def run_child(args: argparse.Namespace, max_parallel: int, events: str, drain: bool) -> dict:
    """Run one measurement in a fresh interpreter and return its JSON result."""
    argv = [sys.executable, __file__, "--child", "--steps", str(args.steps)]
    argv += ["--seed", str(args.seed), "--max-parallel", str(max_parallel), "--events", events]
    out = subprocess.run(argv + (["--drain"] if drain else []), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def mkdir_floor(n: int) -> float:
    """Seconds to create ``n`` step directories (what the runner does once per step)."""
    with temp_dir("bench-mkdir-") as directory:
        start = time.perf_counter()
        for index in range(n):
            (directory / "runs" / "r" / "steps" / f"{index:036d}").mkdir(parents=True)
        return time.perf_counter() - start


def summarize(samples: dict[tuple[int, str], list[dict]], n: int) -> list[dict[str, Any]]:
    """Median submit and total per configuration, per-step cost and ratio to the target."""
    rows = []
    for (max_parallel, events), runs in samples.items():
        total = median([r["total_s"] for r in runs])
        rows.append(
            {
                "max_parallel": max_parallel,
                "events": events,
                "submit_s": median([r["submit_s"] for r in runs]),
                "total_s": total,
                "per_step_us": total / n * 1e6,
                "vs_target": total / TARGET_SECONDS,
            }
        )
    return rows


def parent(args: argparse.Namespace) -> None:
    """Alternate the configurations ``repeats`` times; the first child also waits for the store."""
    samples: dict[tuple[int, str], list[dict]] = {config: [] for config in CONFIGS}
    drain: dict[str, float] = {}
    for repeat in range(args.repeats):
        for config in CONFIGS:
            wait_drain = repeat == 0 and config == CONFIGS[0] and not args.skip_drain
            result = run_child(args, *config, wait_drain)
            drain = drain or result
            samples[config].append(result)
    floor = mkdir_floor(args.steps)
    rows = summarize(samples, args.steps)
    extra = {
        "store_drain_after_completion_s": drain.get("store_drain_s"),
        "mkdir_floor_s": floor,
    }
    if args.json:
        print_json({"steps": args.steps, "target_s": TARGET_SECONDS, "results": rows, **extra})
        return
    print(f"{args.steps}-step random DAG (seed {args.seed}), no-op executor, real SQLite store;")
    print(f"median of {args.repeats} alternated runs, each in a fresh process")
    print_table(list(rows[0]), [list(row.values()) for row in rows])
    for key, value in extra.items():
        print(f"{key}: {value:.3f}" if value is not None else f"{key}: skipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--skip-drain", action="store_true", help="skip the store drain run")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--max-parallel", type=int, default=8, help=argparse.SUPPRESS)
    parser.add_argument("--events", default="noop", help=argparse.SUPPRESS)
    parser.add_argument("--drain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
