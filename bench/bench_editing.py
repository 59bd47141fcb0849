"""Editing a 500-step pipeline in headless Chromium: how long moving a node and adding a
connection take to re-render.

A real `jupyter lab` with orchest_ext serves the page; Chromium is Debian's (`--chromium`).
Each edit is made with the mouse, as a user makes it. The time is measured in the page,
from the user's action, the release of the mouse button that ends the drag (performance
mark `orchest-pointerup`, set by a capture-phase listener before React Flow handles the
release), to the first animation frame after the graph the edit changed was committed to
the DOM (mark `orchest-drawn`): React Flow ending the drag, serialising, parsing, layout
and React Flow's render included. The span from the edit's start (mark `orchest-edit`, set
when the view applies it to the file's JSON) to the same frame is reported too.

`--baseline DIR` measures another build of the extension as well (for example main's,
built in another checkout), alternating the two builds `--rounds` times, each invocation
with its own server and browser; `jupyter lab` serves it through
`--LabApp.extra_labextensions_path`, which is searched before the installed extensions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from bench_frontend import write_pipeline
from playwright.sync_api import Page, sync_playwright

from tests.server import CHROMIUM_ARGS, ServerProcess

SPANS = """() => {
    const [release, edit, drawn] = ['orchest-pointerup', 'orchest-edit', 'orchest-drawn']
        .map(name => performance.getEntriesByName(name).pop());
    if (!edit || !drawn || drawn.startTime <= edit.startTime) return null;
    const released = release && release.startTime <= edit.startTime;
    return [released ? drawn.startTime - release.startTime : null,
            drawn.startTime - edit.startTime];
}"""


def measure(page: Page) -> tuple[float | None, float]:
    """(release → drawn, edit → drawn) of the last edit, in ms; builds older than the
    release mark give None for the first."""
    page.wait_for_function(SPANS)
    return tuple(page.evaluate(SPANS))


def record(results: dict[str, list[float]], kind: str, spans: tuple[float | None, float]) -> None:
    release, edit = spans
    if release is not None:
        results[f"{kind}_ms"].append(release)
    results[f"{kind}_edit_ms"].append(edit)


REACHABLE = """([selector, count]) => {
    const found = [];
    for (const el of document.querySelectorAll(selector)) {
        const box = el.getBoundingClientRect();
        const x = box.x + box.width / 2, y = box.y + box.height / 2;
        const hit = document.elementFromPoint(x, y);
        if (hit && (hit === el || el.contains(hit))) {
            found.push(el.closest('.react-flow__node').dataset.id);
        }
        if (found.length === count) break;
    }
    return found;
}"""


def reachable(page: Page, selector: str, count: int) -> list[str]:
    """Ids of nodes whose element (``selector``) is on screen and not covered at its center."""
    return page.evaluate(REACHABLE, [selector, count])


def center(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.evaluate("() => performance.clearMarks()")
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 10, start[1] + 10, steps=3)
    page.mouse.move(*end, steps=8)
    page.mouse.up()


KINDS = ("move_ms", "move_edit_ms", "connect_ms", "connect_edit_ms")
LABELS = {
    "move_ms": "move a node, release → drawn",
    "move_edit_ms": "move a node, edit → drawn",
    "connect_ms": "add a connection, release → drawn",
    "connect_edit_ms": "add a connection, edit → drawn",
}


def edit_once(
    args: argparse.Namespace, root: Path, name: str, state: Path, extra_args: list[str]
) -> dict[str, list[float]]:
    """One `jupyter lab`, one page: the moves and connections, in ms."""
    server = ServerProcess(
        root, state, extra_args=["--LabApp.news_url=None", *extra_args], app_module="jupyterlab"
    )
    results: dict[str, list[float]] = {kind: [] for kind in KINDS}
    try:
        server.start(timeout=120)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"{server.url}/lab/workspaces/bench/tree/p/{name}?reset&token={server.token}")
            page.wait_for_function(
                "n => document.querySelectorAll('[data-step-uuid]').length === n", arg=args.steps
            )
            page.wait_for_timeout(500)  # let the first layout settle before measuring
            for uuid in reachable(page, ".react-flow__node", args.repeats):
                x, y = center(page, f'.react-flow__node[data-id="{uuid}"]')
                drag(page, (x, y), (x + 6, y + 6))
                record(results, "move", measure(page))
            sources = reachable(page, ".react-flow__handle.source", 4 * args.repeats)
            targets = reachable(page, ".react-flow__handle.target", 4 * args.repeats)
            for source, target in zip(sources, reversed(targets), strict=False):
                if len(results["connect_edit_ms"]) == args.repeats:
                    break
                if source == target:
                    continue
                page.evaluate("() => performance.clearMarks()")
                drag(
                    page,
                    center(page, f'.react-flow__node[data-id="{source}"] .source'),
                    center(page, f'.react-flow__node[data-id="{target}"] .target'),
                )
                if page.evaluate("() => performance.getEntriesByName('orchest-edit').length"):
                    record(results, "connect", measure(page))
            browser.close()
    finally:
        server.stop()
    return results


def serving(extension: Path, work: Path) -> list[str]:
    """Server arguments that make `jupyter lab` serve this build of the extension."""
    directory = work / "baseline-labextensions"
    directory.mkdir()
    (directory / "orchest-ext").symlink_to(extension.resolve())
    return [f"--LabApp.extra_labextensions_path={directory}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another build of the extension (a directory holding its package.json, e.g. "
        "another checkout's orchest_ext/labextension): measured too, alternating with the "
        "installed one",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="invocations of each build (one server each)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-editing-"))
    root = work / "root"
    name = write_pipeline(root / "p", args.steps, args.seed, positions=True)
    builds = {"installed": []}
    if args.baseline:
        if not (args.baseline / "package.json").is_file():
            parser.error(f"--baseline: no package.json in {args.baseline}")
        builds = {"baseline": serving(args.baseline, work), "installed": []}
    # Per build: one list of samples per invocation, and the load average before each.
    runs: dict[str, list[dict[str, list[float]]]] = {build: [] for build in builds}
    loads: list[float] = []
    try:
        for round_ in range(args.rounds):
            for build, extra_args in builds.items():
                loads.append(os.getloadavg()[0])
                state = work / f"state-{build}-{round_}"
                runs[build].append(edit_once(args, root, name, state, extra_args))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps({"runs": runs, "load_average": loads}, indent=2))
        return
    print(
        f"editing a {args.steps}-step pipeline, headless Chromium (target < 50 ms), "
        f"load average {min(loads):.1f}-{max(loads):.1f}"
    )
    for build, samples in runs.items():
        if len(runs) > 1:
            print(f" {build}:")
        for kind in KINDS:
            medians = [statistics.median(run[kind]) for run in samples if run[kind]]
            if not medians:
                print(f"  {LABELS[kind]}: no sample")
            elif len(medians) == 1:
                values = samples[0][kind]
                print(
                    f"  {LABELS[kind]}: median {medians[0]:.1f} ms "
                    f"(min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"
                )
            else:
                each = ", ".join(f"{m:.1f}" for m in medians)
                print(
                    f"  {LABELS[kind]}: median of medians {statistics.median(medians):.1f} ms "
                    f"({each})"
                )
    if args.baseline:
        print(" ratio installed / baseline (medians of the invocations' medians):")
        for kind in KINDS:
            medians = [
                [statistics.median(run[kind]) for run in runs[build] if run[kind]]
                for build in ("installed", "baseline")
            ]
            if all(medians):
                ratio = statistics.median(medians[0]) / statistics.median(medians[1])
                print(f"  {LABELS[kind]}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
