"""Kernels started ahead of need, on the local backend: a chain of 10 one-cell notebooks and
8 notebooks fanning out from one root (each waiting 1 s), from ``submit`` to SUCCESS through
RunManager + LocalExecutor, against papermill's API running the same notebooks one after the
other (alternated, same run); the same runs with kernels started as plain processes (not
forked from a template) and without kernels ahead, for reference; and the median gap
between a parent's SUCCESS and its child's STARTED in the chain."""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime
from pathlib import Path

import nbformat
import papermill
from _common import (
    median,
    pipeline_dict,
    print_json,
    print_table,
    run_manager,
    temp_dir,
    write_pipeline,
)
from bench_notebooks import KERNELSPEC, _fresh, quiet_stderr
from nbformat.v4 import new_code_cell, new_notebook

from orchest_ext.executors.local import LocalExecutor
from orchest_ext.pipeline import Pipeline, load_pipeline
from orchest_ext.runs.state import RunState

TARGETS = {"chain": 0.40, "fan_out": 0.35}
RUNNERS = {
    "ahead": (8, True),
    "ahead_plain": (8, False),
    "no_ahead": (0, True),
    "no_ahead_plain": (0, False),
}
"""Label -> (kernels_ahead, LocalExecutor.fork_kernels); ``*_plain``: kernels start as a
plain process (the state before forked kernels)."""
GAP_TARGET_MS = 20.0


def write_notebooks(directory: Path, sources: list[str]) -> list[str]:
    names = [f"nb{index:02d}.ipynb" for index in range(len(sources))]
    for name, source in zip(names, sources, strict=True):
        nb = new_notebook(cells=[new_code_cell(source)])
        nb.metadata["kernelspec"] = KERNELSPEC
        nbformat.write(nb, directory / name)
    return names


def shapes(directory: Path, chain_length: int, fan: int) -> dict[str, tuple[Pipeline, list[str]]]:
    """The two pipelines, each in a directory of its own, with their notebooks."""
    result = {}
    for shape, sources, parents in [
        ("chain", ["x = 1"] * chain_length, [[i - 1] if i else [] for i in range(chain_length)]),
        ("fan_out", ["x = 1"] + ["import time\ntime.sleep(1)"] * fan, [[]] + [[0]] * fan),
    ]:
        where = directory / shape
        where.mkdir()
        names = write_notebooks(where, sources)
        result[shape] = (load_pipeline(write_pipeline(where, pipeline_dict(parents, names))), names)
    return result


def papermill_loop(pipeline: Pipeline, names: list[str], out: Path) -> float:
    """``papermill.execute_notebook`` on each notebook in turn, in this process."""
    start = time.perf_counter()
    for name in names:
        papermill.execute_notebook(
            str(pipeline.directory / name),
            str(out / name),
            progress_bar=False,
            cwd=str(pipeline.directory),
        )
    return time.perf_counter() - start


async def orchest_run(
    pipeline: Pipeline, db: Path, ahead: int, parallel: int, fork: bool
) -> RunState:
    executor = LocalExecutor(fork_kernels=fork)
    try:
        async with run_manager(db, executor, max_parallel=parallel, kernels_ahead=ahead) as manager:
            run = await manager.submit(pipeline)
            await manager.wait(run.id)
    finally:
        await executor.close()
    assert run.status == "SUCCESS", [(s.title, s.message) for s in run.steps.values() if s.message]
    return run


def gaps_ms(run: RunState) -> list[float]:
    """Milliseconds from each parent's SUCCESS to its child's STARTED."""

    def at(value: str | None) -> datetime:
        return datetime.fromisoformat(value or "")

    return [
        (at(step.started_time) - at(run.steps[parent].finished_time)).total_seconds() * 1000
        for step in run.steps.values()
        for parent in step.parents
    ]


def bench(repeats: int, directory: Path, chain_length: int, fan: int) -> dict:
    pipelines = shapes(directory, chain_length, fan)
    parallel = {"chain": 1, "fan_out": fan}
    samples: dict = {
        shape: {"papermill_api": [], **{label: [] for label in RUNNERS}} for shape in pipelines
    }
    samples["gap_ms"] = {label: [] for label in RUNNERS}
    counter = iter(range(1_000_000))
    with quiet_stderr():
        warm, warm_names = pipelines["chain"]
        papermill_loop(warm, warm_names[:1], _fresh(directory / "out" / str(next(counter))))
        for _ in range(repeats):
            for shape, (pipeline, names) in pipelines.items():
                out = _fresh(directory / "out" / str(next(counter)))
                samples[shape]["papermill_api"].append(papermill_loop(pipeline, names, out))
                for label, (ahead, fork) in RUNNERS.items():
                    start = time.perf_counter()
                    run = asyncio.run(
                        orchest_run(pipeline, out / f"{label}.db", ahead, parallel[shape], fork)
                    )
                    samples[shape][label].append(time.perf_counter() - start)
                    if shape == "chain":
                        samples["gap_ms"][label].extend(gaps_ms(run))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chain", type=int, default=10)
    parser.add_argument("--fan", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    with temp_dir("bench-ahead-") as directory:
        samples = bench(args.repeats, directory, args.chain, args.fan)
    rows = []
    summary = {}
    for shape in ("chain", "fan_out"):
        base = median(samples[shape]["papermill_api"])
        for label in ("papermill_api", *RUNNERS):
            value = median(samples[shape][label])
            summary[f"{shape}/{label}"] = {"median_s": value, "ratio": value / base}
            rows.append([shape, label, value, value / base, *samples[shape][label]])
    gaps = {label: median(values) for label, values in samples["gap_ms"].items()}
    if args.json:
        print_json({"summary": summary, "gap_median_ms": gaps, "samples": samples})
        return
    runs = [f"run{i + 1}_s" for i in range(args.repeats)]
    print(f"median of {args.repeats} alternated runs; baseline: papermill API, one after another")
    print_table(["pipeline", "runner", "median_s", "ratio", *runs], rows)
    for shape, target in TARGETS.items():
        ratio = summary[f"{shape}/ahead"]["ratio"]
        print(f"{shape}: kernels ahead / papermill API = {ratio:.3f} (target <= {target})")
    print(
        f"parent SUCCESS -> child STARTED, median: {gaps['ahead']:.1f} ms with kernels ahead, "
        f"{gaps['no_ahead']:.1f} ms without (target <= {GAP_TARGET_MS:g} ms)"
    )


if __name__ == "__main__":
    main()
