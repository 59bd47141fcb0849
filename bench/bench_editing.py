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
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from pathlib import Path

from bench_frontend import write_pipeline
from playwright.sync_api import Page, sync_playwright

from orchest_ext.testing import CHROMIUM_ARGS, ServerProcess

SPANS = """() => {
    const [release, edit, drawn] = ['orchest-pointerup', 'orchest-edit', 'orchest-drawn']
        .map(name => performance.getEntriesByName(name).pop());
    if (!release || !edit || !drawn || release.startTime > edit.startTime ||
        drawn.startTime <= edit.startTime) return null;
    return [drawn.startTime - release.startTime, drawn.startTime - edit.startTime];
}"""


def measure(page: Page) -> tuple[float, float]:
    """(release → drawn, edit → drawn) of the last edit, in ms."""
    page.wait_for_function(SPANS)
    return tuple(page.evaluate(SPANS))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-editing-"))
    root = work / "root"
    name = write_pipeline(root / "p", args.steps, args.seed, positions=True)
    server = ServerProcess(
        root, work / "state", extra_args=["--LabApp.news_url=None"], app_module="jupyterlab"
    )
    results: dict[str, list[float]] = {
        "move_ms": [],
        "move_edit_ms": [],
        "connect_ms": [],
        "connect_edit_ms": [],
    }
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
                release, edit = measure(page)
                results["move_ms"].append(release)
                results["move_edit_ms"].append(edit)
            sources = reachable(page, ".react-flow__handle.source", 4 * args.repeats)
            targets = reachable(page, ".react-flow__handle.target", 4 * args.repeats)
            for source, target in zip(sources, reversed(targets), strict=False):
                if len(results["connect_ms"]) == args.repeats:
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
                    release, edit = measure(page)
                    results["connect_ms"].append(release)
                    results["connect_edit_ms"].append(edit)
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"editing a {args.steps}-step pipeline, headless Chromium (target < 50 ms)")
    labels = (
        ("move_ms", "move a node, release → drawn"),
        ("move_edit_ms", "move a node, edit → drawn"),
        ("connect_ms", "add a connection, release → drawn"),
        ("connect_edit_ms", "add a connection, edit → drawn"),
    )
    for key, label in labels:
        samples = results[key]
        if samples:
            print(
                f"  {label}: median {statistics.median(samples):.1f} ms "
                f"(min {min(samples):.1f}, max {max(samples):.1f}, n={len(samples)})"
            )
        else:
            print(f"  {label}: no sample")


if __name__ == "__main__":
    main()
