"""How runs are shown in a real JupyterLab and headless Chromium: node text that fits,
durations that tick, back edges drawn around the nodes, the run history past one page."""

from __future__ import annotations

import json
import time

import nbformat
from conftest import node, open_in_lab, wait_for_statuses, write_pipeline
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Page

from tests.server import ServerProcess

OVERFLOWING = """() => [...document.querySelectorAll('[data-step-uuid]')].flatMap(n => {
    const box = n.getBoundingClientRect();
    return [...n.querySelectorAll('*:not(.react-flow__handle)')]
        .filter(el => el.getClientRects().length)
        .filter(el => { const b = el.getBoundingClientRect();
                        return b.right > box.right + 0.5 || b.bottom > box.bottom + 0.5; })
        .map(el => `${n.dataset.stepUuid}: ${el.className} "${el.textContent}"`);
})"""


def notebook_text(source: str) -> str:
    nb = new_notebook(cells=[new_code_cell(source)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nbformat.writes(nb)


def run_with(page: Page, command: str) -> str:
    before = page.locator(".jp-orchest-view").get_attribute("data-run-id")
    page.click(f'[data-command="{command}"]')
    page.wait_for_function(
        "before => { const id = document.querySelector('.jp-orchest-view').dataset.runId;"
        " return id && id !== before; }",
        arg=before,
    )
    return page.locator(".jp-orchest-view").get_attribute("data-run-id")


def test_cached_nodes_keep_their_text_inside(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(
        lab_root / "fits",
        {
            "Explore the data": ("explore.ipynb", notebook_text("x = 1"), []),
            "Shell": ("shell.sh", "true\n", ["Explore the data"]),
            "Python": ("python.py", "pass\n", []),
        },
    )
    open_in_lab(page, lab, f"fits/{name}")
    page.wait_for_selector("[data-step-uuid]")
    for _ in range(2):
        run_with(page, "orchest:run-changed")
        wait_for_statuses(page, dict.fromkeys(uuids.values(), "SUCCESS"))
    page.wait_for_function(
        "n => document.querySelectorAll('[data-cached=\"true\"]').length === n", arg=len(uuids)
    )
    assert page.evaluate(OVERFLOWING) == []


def test_a_running_step_shows_its_duration_ticking(page: Page, lab: ServerProcess, lab_root):
    release = lab_root / "ticking" / "release"
    name, uuids = write_pipeline(
        lab_root / "ticking",
        {"Wait": ("wait.sh", f"while [ ! -f '{release}' ]; do sleep 0.05; done\n", [])},
    )
    open_in_lab(page, lab, f"ticking/{name}")
    page.wait_for_selector("[data-step-uuid]")
    run_with(page, "orchest:run-all")
    wait_for_statuses(page, {uuids["Wait"]: "STARTED"})
    duration = node(page, uuids["Wait"]).locator(".jp-orchest-node-duration")
    duration.wait_for()
    first = duration.inner_text()
    page.wait_for_function(
        "([id, first]) => document.querySelector("
        "`[data-step-uuid='${id}'] .jp-orchest-node-duration`).textContent !== first",
        arg=[uuids["Wait"], first],
    )
    release.write_text("go")
    wait_for_statuses(page, {uuids["Wait"]: "SUCCESS"})
    final = duration.inner_text()
    assert final.endswith(" s") or final.endswith(" ms"), final


PATH_INSIDE = """([edgeId, nodeId]) => {
    const path = document.querySelector(`.react-flow__edge[data-id="${edgeId}"] path`);
    const el = document.querySelector(`.react-flow__node[data-id="${nodeId}"]`);
    const m = /translate\\(\\s*(-?[\\d.]+)px,\\s*(-?[\\d.]+)px\\)/.exec(el.style.transform);
    const [x, y, w, h] = [Number(m[1]), Number(m[2]), el.offsetWidth, el.offsetHeight];
    const length = path.getTotalLength();
    const inside = [];
    for (let i = 0; i <= 200; i++) {
        const p = path.getPointAtLength(length * i / 200);
        if (p.x > x && p.x < x + w && p.y > y && p.y < y + h) inside.push([p.x, p.y]);
    }
    return inside;
}"""


def test_a_back_edge_is_drawn_around_the_nodes_between(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(
        lab_root / "loop",
        {"A": ("a.sh", "", ["C"]), "B": ("b.sh", "", ["A"]), "C": ("c.sh", "", ["B"])},
    )
    path = lab_root / "loop" / name
    description = json.loads(path.read_text())
    for title, x in (("A", 0), ("B", 300), ("C", 600)):
        description["steps"][uuids[title]]["meta_data"] = {"hidden": False, "position": [x, 0]}
    path.write_text(json.dumps(description))
    open_in_lab(page, lab, f"loop/{name}")
    back = f"{uuids['C']}->{uuids['A']}"
    page.wait_for_selector(f'.react-flow__edge[data-id="{back}"] path', state="attached")
    for title in ("A", "B", "C"):
        assert page.evaluate(PATH_INSIDE, [back, uuids[title]]) == [], title
    forward = f"{uuids['A']}->{uuids['B']}"
    assert page.evaluate(PATH_INSIDE, [forward, uuids["C"]]) == []


def test_the_runs_tab_pages_past_fifty_runs(page: Page, lab: ServerProcess, lab_root):
    name, _ = write_pipeline(lab_root / "many", {"Quick": ("quick.sh", "true\n", [])})
    run_ids = []
    for _ in range(55):
        code, run = lab.request("POST", "/orchest/api/runs", {"pipeline_path": f"many/{name}"})
        assert code == 202, run
        run_ids.append(run["id"])
    deadline = time.monotonic() + 120
    while True:
        code, listed = lab.request(
            "GET", f"/orchest/api/runs?pipeline_path=many/{name}&status=SUCCESS&limit=1"
        )
        if listed["total"] == 55:
            break
        assert time.monotonic() < deadline, listed
        time.sleep(0.2)
    open_in_lab(page, lab, f"many/{name}")
    page.wait_for_selector("[data-step-uuid]")
    page.click('[data-tab="runs"]')
    rows = page.locator("tr[data-run-id]")
    rows.nth(49).wait_for()
    assert rows.count() == 50
    more = page.locator('[data-action="load-more-runs"]')
    assert "5 more" in more.inner_text()
    more.click()
    rows.nth(54).wait_for()
    shown = rows.evaluate_all("els => els.map(e => e.dataset.runId)")
    assert sorted(shown) == sorted(run_ids)
    assert more.count() == 0


COUNT_TICKERS = """() => {
    // Counts the live one-second intervals (the running steps' duration ticker is one).
    window.orchestTickers = new Set();
    const set = window.setInterval, clear = window.clearInterval;
    window.setInterval = function (fn, ms, ...rest) {
        const id = set.call(window, fn, ms, ...rest);
        if (ms === 1000) window.orchestTickers.add(id);
        return id;
    };
    window.clearInterval = function (id) {
        window.orchestTickers.delete(id);
        return clear.call(window, id);
    };
}"""


def test_the_duration_ticker_stops_with_the_run_and_with_the_view(
    page: Page, lab: ServerProcess, lab_root
):
    directory = lab_root / "ticker"
    release = directory / "release"
    name, uuids = write_pipeline(
        directory,
        {"Wait": ("wait.sh", f"while [ ! -f '{release}' ]; do sleep 0.05; done\n", [])},
    )
    page.add_init_script(f"({COUNT_TICKERS})()")
    open_in_lab(page, lab, f"ticker/{name}")
    page.wait_for_selector("[data-step-uuid]")
    idle = page.evaluate("() => window.orchestTickers.size")
    run_with(page, "orchest:run-all")
    wait_for_statuses(page, {uuids["Wait"]: "STARTED"})
    page.wait_for_function("n => window.orchestTickers.size === n + 1", arg=idle)
    release.write_text("go")
    wait_for_statuses(page, {uuids["Wait"]: "SUCCESS"})
    page.wait_for_function("n => window.orchestTickers.size === n", arg=idle)

    release.unlink()
    run_with(page, "orchest:run-all")
    wait_for_statuses(page, {uuids["Wait"]: "STARTED"})
    page.wait_for_function("n => window.orchestTickers.size === n + 1", arg=idle)
    page.locator(".jp-orchest-view").click(position={"x": 5, "y": 5})
    page.keyboard.press("Alt+w")
    page.wait_for_selector(".jp-orchest-view", state="detached")
    page.wait_for_function("n => window.orchestTickers.size === n", arg=idle)
    release.write_text("go")
