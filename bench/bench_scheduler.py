"""The scheduler alone: a 10,000-step random DAG through RunManager + a real SQLite Store,
with an in-process executor whose steps do nothing. Target: submit to completion < 1 s."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from _common import median, pipeline_dict, print_json, print_table, random_dag, run_manager, temp_dir
from jupyter_events import EventLogger

from orchest_ext.events import emitter, register_schemas
from orchest_ext.executors.base import Executor, StepResult, StepSpec
from orchest_ext.pipeline import Pipeline, parse_pipeline

TARGET_SECONDS = 1.0


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


def real_emit() -> Any:
    """An emit bound to a jupyter_events EventLogger with orchest_ext's schemas, as the app uses."""
    logger = EventLogger()
    register_schemas(logger)
    return emitter(logger)


async def measure(pipeline: Pipeline, db: Path, max_parallel: int, emit: Any) -> dict[str, float]:
    """Seconds for submit alone, submit to completion, and the store flush afterwards."""
    async with run_manager(db, NoopExecutor(), max_parallel, emit) as manager:
        start = time.perf_counter()
        run = await manager.submit(pipeline)
        submitted = time.perf_counter()
        await manager.wait(run.id)
        finished = time.perf_counter()
        await manager.store.flush()
        flushed = time.perf_counter()
        assert run.status == "SUCCESS", run.status
    return {
        "submit": submitted - start,
        "total": finished - start,
        "flush_after": flushed - finished,
    }


async def bench(n: int, seed: int, repeats: int, directory: Path) -> list[dict[str, Any]]:
    """Each configuration ``repeats`` times on a fresh SQLite file; medians per configuration."""
    configs = [(8, "none"), (1, "none"), (8, "jupyter_events"), (1, "jupyter_events")]
    samples: dict[tuple[int, str], list[dict[str, float]]] = {c: [] for c in configs}
    build_start = time.perf_counter()
    pipeline = build_pipeline(n, seed, directory)
    build_seconds = time.perf_counter() - build_start
    for repeat in range(repeats):
        for max_parallel, events in configs:
            emit = real_emit() if events == "jupyter_events" else None
            db = directory / f"store-{max_parallel}-{events}-{repeat}.db"
            samples[(max_parallel, events)].append(await measure(pipeline, db, max_parallel, emit))
    results = []
    for (max_parallel, events), runs in samples.items():
        results.append(
            {
                "max_parallel": max_parallel,
                "events": events,
                "submit_s": median([r["submit"] for r in runs]),
                "total_s": median([r["total"] for r in runs]),
                "flush_after_s": median([r["flush_after"] for r in runs]),
                "per_step_us": median([r["total"] for r in runs]) / n * 1e6,
                "ratio_to_target": median([r["total"] for r in runs]) / TARGET_SECONDS,
            }
        )
    print(f"parse_pipeline of {n} steps: {build_seconds:.3f} s")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    with temp_dir("bench-scheduler-") as directory:
        results = asyncio.run(bench(args.steps, args.seed, args.repeats, directory))
    if args.json:
        print_json({"steps": args.steps, "target_s": TARGET_SECONDS, "results": results})
        return
    print(f"{args.steps}-step random DAG, no-op executor, median of {args.repeats}")
    print_table(list(results[0]), [list(r.values()) for r in results])


if __name__ == "__main__":
    main()
