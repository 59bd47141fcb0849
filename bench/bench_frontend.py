"""The pipeline view in headless Chromium: open a generated 500-step pipeline (layout + draw)
and follow a run of it that emits ~1,000 status events.

A real `jupyter lab` with orchest_ext serves the page; Chromium is Debian's (`--chromium`).
Opening is timed in the page, from `docmanager:open` until every node is in the DOM,
measured by React Flow (visible) and painted (two animation frames). The run is followed
over the event bus; at its end every node's `data-status` must equal `GET runs/{id}`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts this checkout first on sys.path)
from _common import pipeline_dict, random_dag
from playwright.sync_api import sync_playwright

from tests.server import CHROMIUM_ARGS, ServerProcess

OPEN_AND_DRAW = """async ({path, count}) => {
    const t0 = performance.now();
    await window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Pipeline'});
    const drawn = () => {
        const nodes = document.querySelectorAll('.react-flow__node');
        return nodes.length === count &&
            [...nodes].every(n => getComputedStyle(n).visibility !== 'hidden');
    };
    await new Promise(resolve => {
        const check = () => drawn() ? resolve() : requestAnimationFrame(check);
        check();
    });
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    return performance.now() - t0;
}"""


def write_pipeline(directory: Path, steps: int, seed: int, positions: bool) -> str:
    """A random DAG of no-op `.sh` steps; without positions the view lays it out."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "noop.sh").write_text(":\n")
    description = pipeline_dict(random_dag(steps, seed), ["noop.sh"] * steps)
    for index, step in enumerate(description["steps"].values()):
        if positions:
            step["meta_data"] = {"position": [(index // 20) * 260, (index % 20) * 100]}
        else:
            step.pop("meta_data", None)
    name = f"bench-{steps}-{'positioned' if positions else 'layout'}.orchest"
    (directory / name).write_text(json.dumps(description))
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-parallel", type=int, default=2)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-frontend-"))
    root = work / "root"
    files = {
        "layout": write_pipeline(root / "p", args.steps, args.seed, positions=False),
        "positioned": write_pipeline(root / "p", args.steps, args.seed, positions=True),
    }
    server = ServerProcess(
        root,
        work / "state",
        extra_args=[
            f"--OrchestApp.max_parallel={args.max_parallel}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
        ],
        app_module="jupyterlab",
    )
    results: dict[str, object] = {"steps": args.steps}
    try:
        server.start(timeout=120)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"{server.url}/lab/workspaces/bench?reset&token={server.token}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
            page.wait_for_selector("#jp-main-dock-panel")
            for kind, name in files.items():
                samples = []
                for _ in range(args.repeats):
                    samples.append(
                        page.evaluate(OPEN_AND_DRAW, {"path": f"p/{name}", "count": args.steps})
                    )
                    page.evaluate(
                        "() => window.jupyterapp.commands.execute('application:close-all')"
                    )
                    page.wait_for_function(
                        "() => !document.querySelector('.jp-orchest-PipelineView')"
                    )
                results[f"open_{kind}_ms"] = samples
            results.update(follow_run(page, server, f"p/{files['layout']}", args.steps))
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"pipeline view, {args.steps} steps, headless Chromium")
    for kind in ("layout", "positioned"):
        samples = results[f"open_{kind}_ms"]
        print(
            f"  open + {'automatic layout' if kind == 'layout' else 'stored positions'} + draw: "
            f"median {statistics.median(samples):.0f} ms (min {min(samples):.0f}, "
            f"max {max(samples):.0f}; target < 2000 ms)"
        )
    print(
        f"  run: {results['events']} status events in {results['run_s']:.1f} s; "
        f"view settled {results['settle_ms']:.0f} ms after the server finished; "
        f"nodes matching GET runs/{{id}}: {results['matching']}/{args.steps}"
    )
    if results["matching"] != args.steps:
        sys.exit(1)


def follow_run(page, server: ServerProcess, path: str, steps: int) -> dict[str, object]:
    """Open the pipeline, run it from the toolbar, compare the nodes with the server."""
    page.evaluate(
        "path => window.jupyterapp.commands.execute("
        "'docmanager:open', {path, factory: 'Pipeline'})",
        path,
    )
    page.wait_for_selector("[data-step-uuid]")
    started = time.monotonic()
    page.click('[data-command="orchest:run-all"]')
    page.wait_for_function("() => document.querySelector('.jp-orchest-view').dataset.runId")
    run_id = page.locator(".jp-orchest-view").get_attribute("data-run-id")
    run = server.wait_for_run(run_id, timeout=600)
    server_done = time.monotonic()
    page.wait_for_function(
        "n => document.querySelectorAll('[data-step-uuid][data-status=SUCCESS]').length === n",
        arg=steps,
    )
    settled = time.monotonic()
    shown = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll(
            '[data-step-uuid]')].map(el => [el.dataset.stepUuid, el.dataset.status]))"""
    )
    _, run = server.request("GET", f"/orchest/api/runs/{run_id}")
    matching = sum(shown.get(step["uuid"]) == step["status"] for step in run["steps"])
    return {
        "events": run["seq"],
        "run_s": server_done - started,
        "settle_ms": (settled - server_done) * 1000,
        "matching": matching,
    }


if __name__ == "__main__":
    main()
