"""A grid job's results matrix in headless Chromium: open the matrix of a 500-combination
grid (every run finished, each with metrics and an output) and sort it by a column.

A real `jupyter lab` with orchest_ext serves the page; Chromium is Debian's (`--chromium`).
The job runs for real (a Python step logging three metrics and passing a value, per
combination). Opening is timed in the page, from `orchest:open-job-matrix` until every row
is in the DOM and painted (two animation frames), so it includes `GET jobs/{id}/matrix`;
that request alone is also timed from the bench process, and in the page the open is split
into the request (its resource timing) and the drawing after its answer. With
``--baseline CHECKOUT`` the request alone is then timed on the same job's store by servers
running that checkout's orchest_ext and this one's, in alternating rounds (a before/after
pair on a loaded machine). Sorting is timed
from the click on a column's header until the rows are in the new order and painted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

import _common  # puts this checkout first on sys.path
from _common import pipeline_dict
from playwright.sync_api import sync_playwright

from tests.server import CHROMIUM_ARGS, ServerProcess

STEP = (
    "import orchest\n"
    "a, b = orchest.get_pipeline_param('a'), orchest.get_pipeline_param('b')\n"
    "orchest.log_metric('accuracy', 1 - 1 / (a + b + 2))\n"
    "orchest.log_metric('loss', 1 / (a + b + 2))\n"
    "orchest.log_metric('epochs', a)\n"
    "orchest.output(a * b, name='score')\n"
)

OPEN_AND_DRAW = """async ({jobId, count}) => {
    const t0 = performance.now();
    await window.jupyterapp.commands.execute('orchest:open-job-matrix', {jobId});
    await new Promise(resolve => {
        const check = () =>
            document.querySelectorAll('.jp-orchest-JobMatrix tbody tr').length === count
                ? resolve() : requestAnimationFrame(check);
        check();
    });
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const drawn = performance.now();
    const fetched = performance.getEntriesByType('resource')
        .filter(e => e.name.includes(`/jobs/${jobId}/matrix`)).pop();
    return {total: drawn - t0, request: fetched.responseEnd - fetched.startTime,
            draw: drawn - fetched.responseEnd};
}"""

SORT_AND_DRAW = """async ({column, direction, first}) => {
    const t0 = performance.now();
    const header = document.querySelector(`.jp-orchest-JobMatrix th[data-column="${column}"]`);
    header.querySelector('button').click();
    await new Promise(resolve => {
        const check = () => {
            const cell = document.querySelector(
                `.jp-orchest-JobMatrix tbody tr td[data-column="${column}"]`);
            header.getAttribute('aria-sort') === direction && cell.textContent === first
                ? resolve() : requestAnimationFrame(check);
        };
        check();
    });
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    return performance.now() - t0;
}"""


def write_job_pipeline(directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "step.py").write_text(STEP)
    description = pipeline_dict([[]], ["step.py"])
    description["parameters"] = {"a": 0, "b": 0}
    (directory / "grid.orchest").write_text(json.dumps(description))
    return "p/grid.orchest"


def run_grid_job(server: ServerProcess, path: str, a: int, b: int, parallel: int) -> str:
    """Create the job and wait until all its runs finished; its id."""
    grid = {"pipeline_parameters": {"a": list(range(a)), "b": list(range(b))}}
    code, job = server.request(
        "POST",
        "/orchest/api/jobs",
        {"pipeline_path": path, "parameter_grid": grid, "max_parallel": parallel},
    )
    assert code == 201, job
    deadline = time.monotonic() + 3600
    while True:
        code, current = server.request("GET", f"/orchest/api/jobs/{job['id']}?limit=1")
        if current["status"] == "DONE":
            return job["id"]
        assert time.monotonic() < deadline, current
        time.sleep(1)


def time_get_matrix(server: ServerProcess, job_id: str) -> float:
    request = urllib.request.Request(
        f"{server.url}/orchest/api/jobs/{job_id}/matrix",
        headers={"Authorization": f"token {server.token}"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        matrix = json.loads(response.read())
    elapsed = (time.perf_counter() - started) * 1000
    assert all(row["status"] == "SUCCESS" for row in matrix["rows"]), "a run did not succeed"
    return elapsed


def paired_get_matrix(
    server: ServerProcess, job_id: str, baseline: str, rounds: int, repeats: int
) -> dict[str, list[float]]:
    """``GET jobs/{id}/matrix`` served by ``baseline``'s code and by this checkout's, a round
    of each in turn on the same store (the server restarted with its ``PYTHONPATH``)."""
    checkouts = {"baseline_get_matrix_ms": baseline, "paired_get_matrix_ms": str(_common.REPO_ROOT)}
    samples: dict[str, list[float]] = {key: [] for key in checkouts}
    before = os.environ.get("PYTHONPATH")
    try:
        for _ in range(rounds):
            for key, checkout in checkouts.items():
                os.environ["PYTHONPATH"] = checkout
                server.start(timeout=120)
                try:
                    time_get_matrix(server, job_id)  # the first request after a start warms up
                    samples[key] += [time_get_matrix(server, job_id) for _ in range(repeats)]
                finally:
                    server.stop()
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before
    return samples


def measure(page, job_id: str, count: int, repeats: int) -> dict[str, list[float]]:
    opened, requested, drawn, sorted_ms = [], [], [], []
    for _ in range(repeats):
        page.evaluate("() => performance.clearResourceTimings()")
        times = page.evaluate(OPEN_AND_DRAW, {"jobId": job_id, "count": count})
        opened.append(times["total"])
        requested.append(times["request"])
        drawn.append(times["draw"])
        # by a metric, ascending then descending
        column = "metric:accuracy"
        values = page.locator(f'.jp-orchest-JobMatrix td[data-column="{column}"]')
        best = max(values.all_inner_texts(), key=float)
        lowest = min(values.all_inner_texts(), key=float)
        for direction, first in (("ascending", lowest), ("descending", best)):
            sorted_ms.append(
                page.evaluate(
                    SORT_AND_DRAW, {"column": column, "direction": direction, "first": first}
                )
            )
        page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
        page.wait_for_function("() => !document.querySelector('.jp-orchest-JobMatrix')")
    return {
        "open_ms": opened,
        "open_request_ms": requested,
        "open_draw_ms": drawn,
        "sort_ms": sorted_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=int, default=20, help="values of parameter a")
    parser.add_argument("--b", type=int, default=25, help="values of parameter b")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-parallel", type=int, default=4)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument(
        "--baseline",
        help="a checkout (e.g. `git worktree add /tmp/base main`) to time the request against",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating --baseline rounds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    count = args.a * args.b

    work = Path(tempfile.mkdtemp(prefix="bench-job-matrix-"))
    path = write_job_pipeline(work / "root" / "p")
    server = ServerProcess(
        work / "root",
        work / "state",
        extra_args=[
            f"--OrchestApp.max_parallel={args.max_parallel}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
        ],
        app_module="jupyterlab",
    )
    results: dict[str, object] = {"combinations": count}
    try:
        server.start(timeout=120)
        started = time.monotonic()
        job_id = run_grid_job(server, path, args.a, args.b, args.max_parallel)
        results["job_s"] = time.monotonic() - started
        results["get_matrix_ms"] = [time_get_matrix(server, job_id) for _ in range(args.repeats)]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"{server.url}/lab/workspaces/bench?reset&token={server.token}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
            page.wait_for_selector("#jp-main-dock-panel")
            results.update(measure(page, job_id, count, args.repeats))
            browser.close()
        server.stop()
        if args.baseline:
            results.update(
                paired_get_matrix(server, job_id, args.baseline, args.rounds, args.repeats * 2)
            )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"job matrix, {count} combinations (3 metrics, 1 output), headless Chromium")
    print(f"  the job's {count} runs took {results['job_s']:.0f} s (not part of the target)")
    for key, label in (
        ("get_matrix_ms", "GET jobs/{id}/matrix alone"),
        ("open_ms", "open: command -> every row drawn (target < 1000 ms)"),
        ("open_request_ms", "  of which the request (in the page)"),
        ("open_draw_ms", "  of which the answer -> every row drawn"),
        ("sort_ms", "sort by a metric: click -> rows redrawn"),
        ("baseline_get_matrix_ms", "paired: GET jobs/{id}/matrix by --baseline"),
        ("paired_get_matrix_ms", "paired: GET jobs/{id}/matrix by this checkout"),
    ):
        samples = results.get(key)
        if not samples:
            continue
        print(
            f"  {label}: median {statistics.median(samples):.0f} ms "
            f"(min {min(samples):.0f}, max {max(samples):.0f})"
        )


if __name__ == "__main__":
    main()
