"""One notebook cell that emits many outputs (``display(i)`` N times, 2,000 by default), run by
``LocalExecutor`` with every output streamed into the step log, against the papermill API
running the same notebook (same process, alternated). Also reports the IOLoop's longest stall
while the step ran, seen by a task that wakes every millisecond: the step log is appended on a
worker thread in batches, not written and flushed on the loop per output.

Run it from two checkouts to compare them: it measures the one it lives in."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import nbformat
import papermill
from _common import StallMeter, median, print_json, print_table, temp_dir
from nbformat.v4 import new_code_cell, new_notebook

from orchest_ext.executors.base import StepSpec
from orchest_ext.executors.local import LocalExecutor

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def write_notebook(directory: Path, outputs: int) -> Path:
    nb = new_notebook(cells=[new_code_cell(f"for i in range({outputs}):\n    display(i)")])
    nb.metadata["kernelspec"] = KERNELSPEC
    path = directory / "outputs.ipynb"
    nbformat.write(nb, path)
    return path


def spec_for(notebook: Path, step_dir: Path) -> StepSpec:
    return StepSpec(
        run_id="bench",
        step_uuid="step",
        pipeline_uuid="bench",
        title=notebook.name,
        file_path=notebook.name,
        kind="notebook",
        pipeline_dir=notebook.parent,
        pipeline_path=None,
        step_dir=step_dir,
        log_path=step_dir / "step.log",
        output_notebook_path=step_dir / notebook.name,
        env={},
    )


async def orchest_step(notebook: Path, step_dir: Path) -> tuple[float, float]:
    """Seconds the step took and the longest IOLoop stall meanwhile."""
    async with StallMeter() as stalls:
        start = time.perf_counter()
        result = await LocalExecutor().run(spec_for(notebook, step_dir))
        elapsed = time.perf_counter() - start
    assert result.status == "SUCCESS", result.message
    return elapsed, stalls.worst


def papermill_api(notebook: Path, out: Path) -> float:
    start = time.perf_counter()
    papermill.execute_notebook(str(notebook), str(out), progress_bar=False, cwd=str(out.parent))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {"orchest_s": [], "papermill_s": [], "stall_s": []}
    with temp_dir("bench-outputs-") as directory:
        notebook = write_notebook(directory, args.outputs)
        for index in range(args.repeats + 1):
            step_dir = directory / "steps" / str(index)
            elapsed, stall = asyncio.run(orchest_step(notebook, step_dir))
            baseline = papermill_api(notebook, directory / f"papermill-{index}.ipynb")
            if index:  # the first round warms both up
                samples["orchest_s"].append(elapsed)
                samples["stall_s"].append(stall)
                samples["papermill_s"].append(baseline)
    summary = {name: median(values) for name, values in samples.items()}
    summary["ratio"] = summary["orchest_s"] / summary["papermill_s"]
    if args.json:
        print_json({"outputs": args.outputs, "summary": summary, "samples": samples})
        return
    print(f"one cell with {args.outputs} outputs, median of {args.repeats} alternated runs")
    print_table(["measure", "median"], [[name, value] for name, value in summary.items()])


if __name__ == "__main__":
    main()
