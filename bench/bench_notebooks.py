"""A chain of 10 trivial notebooks (one cell ``x = 1``): orchest_ext (RunManager + LocalExecutor,
a real kernel per step) against papermill running them one after the other. Target <= 1.1x the
papermill API loop; the papermill CLI loop is a second baseline."""

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
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def write_notebooks(directory: Path, n: int) -> list[str]:
    """Write ``n`` notebooks with the single cell ``x = 1``; return their file names."""
    names = [f"nb{index:02d}.ipynb" for index in range(n)]
    for name in names:
        nb = new_notebook(cells=[new_code_cell("x = 1")])
        nb.metadata["kernelspec"] = KERNELSPEC
        nbformat.write(nb, directory / name)
    return names


def papermill_api(directory: Path, names: list[str], out: Path) -> None:
    """``papermill.execute_notebook`` on each notebook in turn, in this process."""
    for name in names:
        papermill.execute_notebook(
            str(directory / name), str(out / name), progress_bar=False, cwd=str(directory)
        )


def papermill_cli(directory: Path, names: list[str], out: Path) -> None:
    """``papermill in.ipynb out.ipynb`` on each notebook in turn, one process each."""
    papermill_exe = shutil.which("papermill") or "papermill"
    for name in names:
        subprocess.run(
            [papermill_exe, name, str(out / name)],
            cwd=directory,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


async def orchest_run(pipeline: Pipeline, db: Path) -> None:
    """Submit the whole chain to a RunManager with a LocalExecutor and wait for it."""
    async with run_manager(db, LocalExecutor(), max_parallel=1) as manager:
        run = await manager.submit(pipeline)
        await manager.wait(run.id)
        assert run.status == "SUCCESS", (run.status, run.message)


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null (papermill's kernels inherit it and log to it)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def timed(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of ``fn()``, with log noise silenced."""
    with quiet_stderr(), contextlib.redirect_stderr(io.StringIO()):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start


def bench(n: int, repeats: int, directory: Path) -> dict[str, list[float]]:
    """Warm up each runner on one notebook, then alternate the three ``repeats`` times."""
    names = write_notebooks(directory, n)
    pipeline = load_pipeline(write_pipeline(directory, pipeline_dict(chain(n), names)))
    warm = load_pipeline(write_pipeline(directory, pipeline_dict(chain(1), names[:1])))
    runs = iter(range(1_000_000))

    def out_dir() -> Path:
        path = directory / "out" / str(next(runs))
        path.mkdir(parents=True)
        return path

    runners: dict[str, Callable[[list[str], Pipeline], None]] = {
        "papermill_api": lambda nbs, _: papermill_api(directory, nbs, out_dir()),
        "orchest_ext": lambda _, p: asyncio.run(orchest_run(p, out_dir() / "orchest.db")),
        "papermill_cli": lambda nbs, _: papermill_cli(directory, nbs, out_dir()),
    }
    for runner in runners.values():
        timed(lambda runner=runner: runner(names[:1], warm))
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, runner in runners.items():
            samples[name].append(timed(lambda runner=runner: runner(names, pipeline)))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    with temp_dir("bench-notebooks-") as directory:
        samples = bench(args.notebooks, args.repeats, directory)
    medians = {name: median(values) for name, values in samples.items()}
    ratios = {name: medians["orchest_ext"] / value for name, value in medians.items()}
    if args.json:
        print_json(
            {"notebooks": args.notebooks, "medians_s": medians, "orchest_ratio_to": ratios}
            | {"target_ratio_vs_papermill_api": TARGET_RATIO, "samples": samples}
        )
        return
    print(f"chain of {args.notebooks} one-cell notebooks, median of {args.repeats} alternated runs")
    rows = [
        [name, medians[name], medians[name] / args.notebooks, ratios[name], *values]
        for name, values in samples.items()
    ]
    headers = ["runner", "median_s", "per_nb_s", "orchest/this"]
    print_table(headers + [f"run{i + 1}" for i in range(args.repeats)], rows)
    ratio = ratios["papermill_api"]
    print(f"ratio orchest/papermill API: {ratio:.3f} (target <= {TARGET_RATIO})")


if __name__ == "__main__":
    main()
