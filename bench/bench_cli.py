"""`jupyter orchest` from the outside, as a user calls it (a new process each time):

- ``validate`` on the quickstart, call to exit (target <= 0.3 s);
- ``run``, call to its first step's STARTED line, with a shell root step and with a notebook
  root step (target <= 0.5 s; the notebook's kernel starts after that);
- ``run`` of a chain of 10 one-cell notebooks, call to exit, against papermill's API running
  the same notebooks one after the other in this (warm) process (target <= 0.50x).

Baselines are measured in the same run: ``python -c pass`` for a process start, papermill's
API for the chain; runners alternate."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill
from _common import REPO_ROOT, chain, median, pipeline_dict, print_table, temp_dir, write_pipeline
from bench_notebooks import quiet_stderr, write_notebooks

JUPYTER = str(Path(sys.executable).parent / "jupyter")
QUICKSTART = REPO_ROOT / "examples" / "quickstart" / "quickstart.orchest"
TARGETS = {"validate_s": 0.3, "first_step_started_s": 0.5, "chain_ratio": 0.50}


def call_seconds(argv: list[str], cwd: Path | None = None) -> float:
    """Seconds from starting ``argv`` to its exit (which must be 0)."""
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def first_started_seconds(pipeline: Path, title: str) -> tuple[float, float]:
    """Seconds from calling `jupyter orchest run` to the STARTED line of step ``title``, and
    to its exit."""
    start = time.perf_counter()
    with subprocess.Popen(
        [JUPYTER, "orchest", "run", str(pipeline)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdout is not None
        started = None
        for line in process.stdout:
            if started is None and line.rstrip().endswith(f"{title}: STARTED"):
                started = time.perf_counter() - start
    assert process.returncode == 0 and started is not None, process.returncode
    return started, time.perf_counter() - start


def one_step_pipeline(directory: Path, file_name: str, content: str) -> Path:
    directory.mkdir(parents=True)
    (directory / file_name).write_text(content)
    return write_pipeline(directory, pipeline_dict([[]], [file_name]))


def papermill_chain(directory: Path, names: list[str], out: Path) -> float:
    """Seconds for papermill's API to run the notebooks one after the other."""
    out.mkdir(parents=True)
    start = time.perf_counter()
    for name in names:
        papermill.execute_notebook(
            str(directory / name), str(out / name), progress_bar=False, cwd=str(directory)
        )
    return time.perf_counter() - start


def bench(repeats: int, chain_repeats: int, directory: Path) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {
        name: []
        for name in (
            "python_start_s",
            "validate_s",
            "sh_first_started_s",
            "sh_run_s",
            "nb_first_started_s",
            "nb_run_s",
            "chain_orchest_s",
            "chain_papermill_api_s",
        )
    }
    shell = one_step_pipeline(directory / "sh", "step.sh", "echo hi\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook = one_step_pipeline(directory / "nb", "step.ipynb", nbformat.writes(nb))
    for _ in range(repeats):
        samples["python_start_s"].append(call_seconds([sys.executable, "-c", "pass"]))
        samples["validate_s"].append(
            call_seconds([JUPYTER, "orchest", "validate", str(QUICKSTART)])
        )
        started, total = first_started_seconds(shell, "step-0")
        samples["sh_first_started_s"].append(started)
        samples["sh_run_s"].append(total)
        started, total = first_started_seconds(notebook, "step-0")
        samples["nb_first_started_s"].append(started)
        samples["nb_run_s"].append(total)
        shutil.rmtree(shell.parent / ".orchest")
        shutil.rmtree(notebook.parent / ".orchest")

    chain_dir = directory / "chain"
    chain_dir.mkdir()
    names = write_notebooks(chain_dir, 10)
    pipeline = write_pipeline(chain_dir, pipeline_dict(chain(10), names))
    outputs = iter(directory / "papermill" / str(index) for index in range(1_000_000))
    with quiet_stderr():
        papermill_chain(chain_dir, names[:1], next(outputs))  # warm papermill's imports
        for _ in range(chain_repeats):
            samples["chain_papermill_api_s"].append(
                papermill_chain(chain_dir, names, next(outputs))
            )
            samples["chain_orchest_s"].append(
                call_seconds([JUPYTER, "orchest", "run", str(pipeline)])
            )
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs of the one-step commands")
    parser.add_argument("--chain-repeats", type=int, default=3, help="runs of the chain")
    args = parser.parse_args()
    with temp_dir("bench-cli-") as directory:
        samples = bench(args.repeats, args.chain_repeats, directory)
    rows = [[name, median(values), min(values), max(values)] for name, values in samples.items()]
    print(f"median, min and max of {args.repeats} runs ({args.chain_repeats} for the chain)")
    print_table(["measure", "median", "min", "max"], rows)
    ratio = median(samples["chain_orchest_s"]) / median(samples["chain_papermill_api_s"])
    validate = median(samples["validate_s"])
    started = max(median(samples["sh_first_started_s"]), median(samples["nb_first_started_s"]))
    print(f"validate on the quickstart: {validate:.3f} s (target <= {TARGETS['validate_s']} s)")
    print(
        f"run, call to first step STARTED: {started:.3f} s "
        f"(target <= {TARGETS['first_step_started_s']} s)"
    )
    print(
        f"10-notebook chain, jupyter orchest run / papermill API loop: {ratio:.2f}x "
        f"(target <= {TARGETS['chain_ratio']}x)"
    )


if __name__ == "__main__":
    main()
