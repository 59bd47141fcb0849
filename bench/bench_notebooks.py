"""A chain of 10 trivial notebooks (one cell ``x = 1``): orchest_ext (RunManager + LocalExecutor,
a real kernel per step) against papermill running them one after the other. Target <= 1.1x the
papermill API loop; the papermill CLI loop is a second baseline.

Besides whole-chain times it reports per-notebook medians and "stalls": notebooks that took
``STALL_SECONDS`` longer than the runner's median notebook, because the kernel did not exit on
its shutdown request and jupyter_client waited ``shutdown_wait_time / 2`` before signalling it
(an upstream effect that hits every runner now and then and dominates run-to-run variance)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import nbformat
import papermill
from _common import (
    chain,
    median,
    pipeline_dict,
    print_json,
    print_table,
    run_manager,
    temp_dir,
    write_pipeline,
)
from nbformat.v4 import new_code_cell, new_notebook

from orchest_ext.executors.local import LocalExecutor
from orchest_ext.pipeline import Pipeline, load_pipeline

TARGET_RATIO = 1.1
STALL_SECONDS = 2.0
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
Runner = Callable[[list[str], Pipeline, Path], list[float]]


def write_notebooks(directory: Path, n: int) -> list[str]:
    """Write ``n`` notebooks with the single cell ``x = 1``; return their file names."""
    names = [f"nb{index:02d}.ipynb" for index in range(n)]
    for name in names:
        nb = new_notebook(cells=[new_code_cell("x = 1")])
        nb.metadata["kernelspec"] = KERNELSPEC
        nbformat.write(nb, directory / name)
    return names


def timed_each(items: list[str], fn: Callable[[str], object]) -> list[float]:
    """Seconds ``fn(item)`` took, for each item in turn."""
    durations = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        durations.append(time.perf_counter() - start)
    return durations


def papermill_api(names: list[str], _: Pipeline, out: Path) -> list[float]:
    """``papermill.execute_notebook`` on each notebook in turn, in this process."""
    src = out.parent.parent

    def execute(name: str) -> None:
        papermill.execute_notebook(
            str(src / name), str(out / name), progress_bar=False, cwd=str(src)
        )

    return timed_each(names, execute)


def papermill_cli(names: list[str], _: Pipeline, out: Path) -> list[float]:
    """``papermill in.ipynb out.ipynb`` on each notebook in turn, one process each."""
    exe = shutil.which("papermill") or "papermill"
    src = out.parent.parent

    def execute(name: str) -> None:
        argv = [exe, name, str(out / name)]
        subprocess.run(argv, cwd=src, check=True, capture_output=True)

    return timed_each(names, execute)


def orchest(_: list[str], pipeline: Pipeline, out: Path) -> list[float]:
    """The whole chain as one orchest_ext run; per-step durations from the step timestamps."""
    return asyncio.run(orchest_run(pipeline, out / "orchest.db"))


async def orchest_run(pipeline: Pipeline, db: Path) -> list[float]:
    async with run_manager(db, LocalExecutor(), max_parallel=1) as manager:
        run = await manager.submit(pipeline)
        await manager.wait(run.id)
        assert run.status == "SUCCESS", (run.status, run.message)
    return [
        (_time(step.finished_time) - _time(step.started_time)).total_seconds()
        for step in run.steps.values()
    ]


def _time(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null (papermill's kernels inherit it and log to it)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def bench(n: int, repeats: int, directory: Path) -> dict[str, dict[str, list[float]]]:
    """Warm up each runner on one notebook, then alternate the three ``repeats`` times."""
    names = write_notebooks(directory, n)
    pipeline = load_pipeline(write_pipeline(directory, pipeline_dict(chain(n), names)))
    warm = load_pipeline(write_pipeline(directory, pipeline_dict(chain(1), names[:1])))
    runners: dict[str, Runner] = {
        "papermill_api": papermill_api,
        "orchest_ext": orchest,
        "papermill_cli": papermill_cli,
    }
    samples = {name: {"total_s": [], "per_notebook_s": []} for name in runners}
    outputs = iter(directory / "out" / str(index) for index in range(1_000_000))
    with quiet_stderr():
        for runner in runners.values():
            runner(names[:1], warm, _fresh(next(outputs)))
        for _ in range(repeats):
            for name, runner in runners.items():
                start = time.perf_counter()
                each = runner(names, pipeline, _fresh(next(outputs)))
                samples[name]["total_s"].append(time.perf_counter() - start)
                samples[name]["per_notebook_s"].extend(each)
    return samples


def _fresh(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def summarize(samples: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    """Median total, median per notebook and stall count per runner, and orchest's ratios."""
    orchest_total = median(samples["orchest_ext"]["total_s"])
    summary = {}
    for name, values in samples.items():
        total = median(values["total_s"])
        per_nb = median(values["per_notebook_s"])
        summary[name] = {
            "median_total_s": total,
            "median_per_nb_s": per_nb,
            "stalls": sum(d > per_nb + STALL_SECONDS for d in values["per_notebook_s"]),
            "orchest_over_this": orchest_total / total,
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    with temp_dir("bench-notebooks-") as directory:
        samples = bench(args.notebooks, args.repeats, directory)
    summary = summarize(samples)
    ratio = summary["papermill_api"]["orchest_over_this"]
    per_nb = summary["orchest_ext"]["median_per_nb_s"] / summary["papermill_api"]["median_per_nb_s"]
    if args.json:
        print_json(
            {"notebooks": args.notebooks, "target_ratio_vs_papermill_api": TARGET_RATIO}
            | {"summary": summary, "samples": samples}
        )
        return
    print(f"chain of {args.notebooks} one-cell notebooks, median of {args.repeats} alternated runs")
    rows = [[name, *row.values(), *samples[name]["total_s"]] for name, row in summary.items()]
    runs = [f"run{i + 1}_s" for i in range(args.repeats)]
    print_table(["runner", *next(iter(summary.values())), *runs], rows)
    print(f"ratio orchest/papermill API, whole chain: {ratio:.3f} (target <= {TARGET_RATIO})")
    print(f"ratio orchest/papermill API, median notebook: {per_nb:.3f}")
    print(f"stalls: notebooks {STALL_SECONDS:g} s over the median (kernel slow to shut down)")


if __name__ == "__main__":
    main()
