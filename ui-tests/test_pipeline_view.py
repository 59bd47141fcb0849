"""The Pipeline view in a real JupyterLab and headless Chromium: open, run, watch, inspect."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

import psutil
from conftest import node, open_in_lab, statuses, wait_for_statuses, write_pipeline
from playwright.sync_api import Page, WebSocketRoute

from tests.server import ServerProcess

QUICKSTART = "quickstart/quickstart.orchest"
SCREENSHOTS = os.environ.get("ORCHEST_SCREENSHOTS")


def is_runs_url(url: str) -> bool:
    return urlparse(url).path.endswith("/orchest/api/runs")


def quickstart_uuids(lab_root: Path) -> dict[str, str]:
    description = json.loads((lab_root / QUICKSTART).read_text())
    return {step["title"]: uuid for uuid, step in description["steps"].items()}


def shown_run(page: Page) -> str:
    page.wait_for_function(
        "() => document.querySelector('.jp-orchest-view')?.dataset.runId", timeout=60_000
    )
    return page.locator(".jp-orchest-view").get_attribute("data-run-id")


def run_all_and_wait_for_the_new_run(page: Page, command: str = "orchest:run-all") -> str:
    """Click "Run all" (or another run ``command``) and wait until the view shows the run it
    started (not the last one)."""
    before = page.locator(".jp-orchest-view").get_attribute("data-run-id")
    page.click(f'[data-command="{command}"]')
    page.wait_for_function(
        "before => { const id = document.querySelector('.jp-orchest-view').dataset.runId;"
        " return id && id !== before; }",
        arg=before,
    )
    return shown_run(page)


def screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.locator(".jp-orchest-PipelineView").screenshot(path=f"{SCREENSHOTS}/{name}.png")


def test_quickstart_opens_with_every_step_and_arrow(page: Page, lab: ServerProcess, lab_root):
    uuids = quickstart_uuids(lab_root)
    open_in_lab(page, lab, QUICKSTART)
    page.wait_for_selector("[data-step-uuid]")
    drawn = page.locator("[data-step-uuid]")
    assert sorted(drawn.evaluate_all("els => els.map(e => e.dataset.stepUuid)")) == sorted(
        uuids.values()
    )
    for title, uuid in uuids.items():
        assert title in node(page, uuid).inner_text()
    assert "Notebook" in node(page, uuids["Statistics"]).inner_text()
    assert "Python" in node(page, uuids["Load data"]).inner_text()
    assert "Shell" in node(page, uuids["Count bytes"]).inner_text()
    assert page.locator(".react-flow__edge").count() == 6
    screenshot(page, "pipeline-idle")


def test_run_all_turns_every_node_to_success(page: Page, lab: ServerProcess, lab_root):
    uuids = quickstart_uuids(lab_root)
    open_in_lab(page, lab, QUICKSTART)
    page.wait_for_selector("[data-step-uuid]")
    run_all_and_wait_for_the_new_run(page)
    if SCREENSHOTS:
        page.wait_for_selector('[data-step-uuid][data-status="STARTED"]')
        screenshot(page, "pipeline-running")
    wait_for_statuses(page, dict.fromkeys(uuids.values(), "SUCCESS"))
    run_id = shown_run(page)
    code, run = lab.request("GET", f"/orchest/api/runs/{run_id}")
    assert code == 200 and run["status"] == "SUCCESS" and run["run_type"] == "full"
    page.wait_for_selector(f'tr[data-run-id="{run_id}"]')
    screenshot(page, "pipeline-finished")


def test_run_descendants_of_one_step_changes_only_them(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(
        lab_root / "chain",
        {
            "A": ("a.sh", "echo a\n", []),
            "B": ("b.sh", "echo b\n", ["A"]),
            "C": ("c.sh", "echo c\n", ["B"]),
            "D": ("d.sh", "echo d\n", ["A"]),
        },
    )
    open_in_lab(page, lab, f"chain/{name}")
    node(page, uuids["B"]).click()
    page.wait_for_selector('[data-command="orchest:run-descendants"]:not([disabled])')
    page.click('[data-command="orchest:run-descendants"]')
    wait_for_statuses(
        page, {uuids["A"]: "", uuids["B"]: "SUCCESS", uuids["C"]: "SUCCESS", uuids["D"]: ""}
    )
    code, run = lab.request("GET", f"/orchest/api/runs/{shown_run(page)}")
    assert code == 200 and run["run_type"] == "descendants"
    assert {step["uuid"] for step in run["steps"]} == {uuids["B"], uuids["C"]}


def test_failing_step_fails_its_descendants_while_a_branch_finishes(
    page: Page, lab: ServerProcess, lab_root
):
    name, uuids = write_pipeline(
        lab_root / "failing",
        {
            "Root": ("root.sh", "echo root\n", []),
            "Broken": ("broken.py", "raise SystemExit(3)\n", ["Root"]),
            "After broken": ("after.sh", "echo after\n", ["Broken"]),
            "Independent": ("slow.sh", "sleep 1\necho independent\n", ["Root"]),
        },
    )
    open_in_lab(page, lab, f"failing/{name}")
    page.wait_for_selector("[data-step-uuid]")
    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(
        page,
        {
            uuids["Root"]: "SUCCESS",
            uuids["Broken"]: "FAILURE",
            uuids["After broken"]: "ABORTED",
            uuids["Independent"]: "SUCCESS",
        },
    )
    page.wait_for_selector('.jp-orchest-view[data-run-status="FAILURE"]')


def test_abort_stops_a_sleeping_step(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(
        lab_root / "sleepy",
        {
            "Sleeper": ("sleeper.sh", "echo sleeping\nsleep 300\n", []),
            "Next": ("next.sh", "echo next\n", ["Sleeper"]),
        },
    )
    open_in_lab(page, lab, f"sleepy/{name}")
    page.wait_for_selector("[data-step-uuid]")
    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(page, {uuids["Sleeper"]: "STARTED"})
    page.click('[data-command="orchest:abort"]')
    wait_for_statuses(page, {uuids["Sleeper"]: "ABORTED", uuids["Next"]: "ABORTED"})
    page.wait_for_selector('.jp-orchest-view[data-run-status="ABORTED"]')
    directory = str(lab_root / "sleepy")
    sleepers = [  # this pipeline's own sleep only: other work on the machine may sleep too
        p
        for p in psutil.process_iter(["cmdline", "cwd"])
        if p.info["cmdline"] == ["sleep", "300"] and (p.info["cwd"] or "").startswith(directory)
    ]
    assert sleepers == []


def test_log_panel_follows_a_running_step(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(
        lab_root / "talker",
        {"Talker": ("talk.sh", 'for i in $(seq 1 30); do echo "line $i"; sleep 0.2; done\n', [])},
    )
    talker = uuids["Talker"]
    open_in_lab(page, lab, f"talker/{name}")
    node(page, talker).click()
    page.wait_for_selector(f'[data-step-details="{talker}"]')
    page.click('[data-command="orchest:run-all"]')
    page.wait_for_function(
        """uuid => {
            const log = document.querySelector(`[data-step-log="${uuid}"]`);
            const el = document.querySelector(`[data-step-uuid="${uuid}"]`);
            return log && log.textContent.includes('line 3\\n') && el.dataset.status === 'STARTED';
        }""",
        arg=talker,
    )
    wait_for_statuses(page, {talker: "SUCCESS"})
    page.wait_for_function(
        'uuid => document.querySelector(`[data-step-log="${uuid}"]`)'
        ".textContent.includes('line 30')",
        arg=talker,
    )
    log = page.locator(f'[data-step-log="{talker}"]').text_content()
    assert log.count("line 1\n") == 1


def test_log_panel_shows_the_end_of_a_long_log(page: Page, lab: ServerProcess, lab_root):
    # about 2 MB of output, more than one log chunk (1 MiB) and than the panel keeps
    loud = "import sys\nfor i in range(20_000):\n    print(f'line {i:05d} ' + 'x' * 90)\n"
    name, uuids = write_pipeline(
        lab_root / "loud", {"Loud": ("loud.py", loud + "sys.exit('the end')\n", [])}
    )
    step = uuids["Loud"]
    open_in_lab(page, lab, f"loud/{name}")
    page.wait_for_selector("[data-step-uuid]")
    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(page, {step: "FAILURE"})
    node(page, step).click()
    page.wait_for_function(
        'uuid => document.querySelector(`[data-step-log="${uuid}"]`)'
        ".textContent.endsWith('the end\\n')",
        arg=step,
    )
    log = page.locator(f'[data-step-log="{step}"]').text_content()
    assert log.startswith("[… earlier output not shown")
    assert "line 19999" in log and "line 00000" not in log


def test_a_malformed_step_shows_its_schema_issue_without_the_server(
    page: Page, lab: ServerProcess, lab_root
):
    name, uuids = write_pipeline(lab_root / "malformed", {"Load": ("load.sh", "true\n", [])})
    path = lab_root / "malformed" / name
    description = json.loads(path.read_text())
    description["steps"][uuids["Load"]]["retries"] = -1
    path.write_text(json.dumps(description))
    # the server's validation never answers: what shows is the view's own schema check
    refused = []
    page.route(
        "**/orchest/api/pipelines/validate*",
        lambda route: refused.append(route.request.url) or route.abort(),
    )
    open_in_lab(page, lab, f"malformed/{name}")
    page.wait_for_selector('[data-banner="issues"]')
    banner = page.locator('[data-banner="issues"]').inner_text()
    assert 'field "retries" must be at least 0, got -1.' in banner
    page.wait_for_selector(f'[data-step-uuid="{uuids["Load"]}"].jp-orchest-node-invalid')
    assert refused, "the view asked the server to validate"


def test_broken_pipeline_shows_its_issues(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(
        lab_root / "broken",
        {
            "Present": ("present.sh", "true\n", []),
            "Missing": ("missing.sh", "true\n", ["Present"]),
        },
    )
    (lab_root / "broken" / "missing.sh").unlink()
    open_in_lab(page, lab, f"broken/{name}")
    page.wait_for_selector('[data-banner="issues"]')
    banner = page.locator('[data-banner="issues"]').inner_text()
    assert "missing.sh" in banner
    missing = node(page, uuids["Missing"])
    page.wait_for_selector(f'[data-step-uuid="{uuids["Missing"]}"].jp-orchest-node-invalid')
    assert "missing.sh" in missing.inner_text()
    assert "jp-orchest-node-invalid" not in node(page, uuids["Present"]).get_attribute("class")
    page.click('[data-command="orchest:run-all"]')
    page.wait_for_selector('[data-banner="error"]')
    assert "issue" in page.locator('[data-banner="error"]').inner_text()

    (lab_root / "broken" / "not-a-pipeline.orchest").write_text("hello, I am text\n")
    open_in_lab(page, lab, "broken/not-a-pipeline.orchest")
    page.wait_for_selector('[data-banner="format-error"]')
    assert "not valid JSON" in page.locator('[data-banner="format-error"]').inner_text()


def test_pipelines_panel_lists_the_examples(page: Page, lab: ServerProcess, lab_root):
    open_in_lab(page, lab)
    page.click('.jp-SideBar [data-id="orchest-pipelines"]')
    page.wait_for_selector(f'[data-pipeline-path="{QUICKSTART}"]')
    page.wait_for_selector('[data-pipeline-path="elyra/hello.pipeline"]')
    page.click('[data-pipeline-path="elyra/hello.pipeline"]')
    page.wait_for_selector(".jp-orchest-view [data-step-uuid]")
    assert page.locator(".jp-orchest-view [data-step-uuid]").count() == 3


def test_elyra_files_open_in_the_pipeline_view_by_default(page: Page, lab: ServerProcess):
    open_in_lab(page, lab, "elyra/hello.pipeline")
    page.wait_for_selector(".jp-orchest-view [data-step-uuid]")
    assert page.locator(".jp-orchest-view [data-step-uuid]").count() == 3


def test_second_tab_shows_the_current_run(page: Page, lab: ServerProcess, lab_root, browser):
    uuids = quickstart_uuids(lab_root)
    open_in_lab(page, lab, QUICKSTART)
    page.wait_for_selector("[data-step-uuid]")
    run_all_and_wait_for_the_new_run(page)
    run_id = shown_run(page)
    other = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    try:
        open_in_lab(other, lab, QUICKSTART)
        other.wait_for_selector(f'.jp-orchest-view[data-run-id="{run_id}"]')
        wait_for_statuses(other, dict.fromkeys(uuids.values(), "SUCCESS"))
        wait_for_statuses(page, dict.fromkeys(uuids.values(), "SUCCESS"))
    finally:
        other.context.close()


def test_lost_events_are_resynced_by_seq(page: Page, lab: ServerProcess, lab_root):
    """A proxy between the page and the event websocket drops every third event."""
    steps = {f"S{i}": (f"s{i}.sh", f"echo {i}\n", []) for i in range(12)}
    steps["Last"] = ("last.sh", "echo last\n", list(steps))
    name, uuids = write_pipeline(lab_root / "lossy", steps)
    dropped = []

    def lossy(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        count = 0

        def forward(message: str | bytes) -> None:
            nonlocal count
            count += 1
            if count % 3 == 0:
                dropped.append(message)
            else:
                ws.send(message)

        server.on_message(forward)

    page.route_web_socket("**/api/events/subscribe**", lossy)
    open_in_lab(page, lab, f"lossy/{name}")
    page.wait_for_selector("[data-step-uuid]")
    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(page, dict.fromkeys(uuids.values(), "SUCCESS"))
    code, run = lab.request("GET", f"/orchest/api/runs/{shown_run(page)}")
    assert code == 200 and run["status"] == "SUCCESS"
    page.wait_for_selector('.jp-orchest-view[data-run-status="SUCCESS"]')
    assert statuses(page) == {step["uuid"]: step["status"] for step in run["steps"]}
    assert dropped


def test_executed_notebook_opens_read_only(page: Page, lab: ServerProcess, lab_root):
    uuids = quickstart_uuids(lab_root)
    source = (lab_root / "quickstart" / "report.ipynb").read_text()
    open_in_lab(page, lab, QUICKSTART)
    page.wait_for_selector("[data-step-uuid]")
    run_all_and_wait_for_the_new_run(page)
    wait_for_statuses(page, dict.fromkeys(uuids.values(), "SUCCESS"))
    node(page, uuids["Report"]).click()
    page.click('[data-action="open-notebook"]')
    page.wait_for_selector(".jp-orchest-NotebookViewer")
    page.wait_for_function(
        "() => document.querySelector('.jp-orchest-NotebookViewer')"
        ".textContent.includes('mean=25.25')"
    )
    assert page.locator(".jp-orchest-NotebookViewer [contenteditable=true]").count() == 0
    # A tab beside the pipeline's, not a split squeezing the canvas.
    assert page.locator("#jp-main-dock-panel .lm-DockPanel-tabBar").count() == 1
    assert (lab_root / "quickstart" / "report.ipynb").read_text() == source


def test_api_errors_show_in_the_panel_and_the_page_keeps_working(
    page: Page, lab: ServerProcess, lab_root
):
    name, uuids = write_pipeline(lab_root / "errors", {"Only": ("only.sh", "echo ok\n", [])})
    pipeline_file = lab_root / "errors" / name
    before = pipeline_file.read_bytes()

    def refuse_runs(route) -> None:
        if route.request.method == "POST":
            route.fulfill(
                status=503,
                content_type="application/json",
                body=json.dumps({"status": 503, "message": "The Docker engine is unreachable."}),
            )
        else:
            route.continue_()

    page.route(is_runs_url, refuse_runs)
    open_in_lab(page, lab, f"errors/{name}")
    page.wait_for_selector("[data-step-uuid]")
    page.click('[data-command="orchest:run-all"]')
    page.wait_for_selector('[data-banner="error"]')
    assert "Docker engine is unreachable" in page.locator('[data-banner="error"]').inner_text()
    page.unroute(is_runs_url)
    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(page, {uuids["Only"]: "SUCCESS"})
    assert page.locator('[data-banner="error"]').count() == 0
    assert pipeline_file.read_bytes() == before


def test_huge_pipeline_file_gets_a_message(page: Page, lab: ServerProcess, lab_root):
    huge = lab_root / "huge"
    huge.mkdir(exist_ok=True)
    (huge / "huge.orchest").write_text(
        json.dumps({"name": "huge", "steps": {}, "padding": "x" * (11 << 20)})
    )
    open_in_lab(page, lab, "huge/huge.orchest")
    page.wait_for_selector('[data-banner="format-error"]')
    assert "too large" in page.locator('[data-banner="format-error"]').inner_text()


def test_palette_and_file_browser_run_pipelines(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(lab_root / "commands", {"Step": ("step.sh", "echo hi\n", [])})
    open_in_lab(page, lab, f"commands/{name}")
    page.wait_for_selector("[data-step-uuid]")
    page.keyboard.press("Control+Shift+C")
    page.fill(".lm-CommandPalette-input", "Run All Steps")
    page.keyboard.press("Enter")
    wait_for_statuses(page, {uuids["Step"]: "SUCCESS"})
    first = shown_run(page)

    page.click(
        f'.jp-DirListing-item[data-file-type="orchest-pipeline"][title*="{name}"]', button="right"
    )
    page.click('.lm-Menu-item:has-text("Run Pipeline")')
    page.wait_for_function(
        "first => { const id = document.querySelector('.jp-orchest-view').dataset.runId;"
        " return id && id !== first; }",
        arg=first,
    )
    wait_for_statuses(page, {uuids["Step"]: "SUCCESS"})


def test_session_starts_and_stops_from_the_toolbar(page: Page, lab: ServerProcess, lab_root):
    """Needs the Docker engine and the session images (.ci/setup-docker.sh)."""
    open_in_lab(page, lab, QUICKSTART)
    page.wait_for_selector('[data-command="orchest:start-session"]:not([disabled])')
    page.click('[data-command="orchest:start-session"]')
    try:
        page.wait_for_selector('[data-session-status="RUNNING"]', timeout=120_000)
        page.click('[data-command="orchest:stop-session"]')
        page.wait_for_selector('[data-session-status=""]', timeout=120_000)
    finally:
        uuid = json.loads((lab_root / QUICKSTART).read_text())["uuid"]
        lab.request("DELETE", f"/orchest/api/launches/{uuid}")
    code, body = lab.request("GET", "/orchest/api/launches")
    assert code == 200 and body["launches"] == []


def test_run_changed_reruns_only_a_changed_step_and_marks_the_others_cached(
    page: Page, lab: ServerProcess, lab_root
):
    name, uuids = write_pipeline(
        lab_root / "cached",
        {
            "A": ("a.sh", "echo a\n", []),
            "B": ("b.sh", "echo b\n", ["A"]),
            "C": ("c.sh", "echo c\n", []),
        },
    )
    open_in_lab(page, lab, f"cached/{name}")
    page.wait_for_selector("[data-step-uuid]")

    def run_changed() -> dict:
        run_id = run_all_and_wait_for_the_new_run(page, "orchest:run-changed")
        wait_for_statuses(page, dict.fromkeys(uuids.values(), "SUCCESS"))
        code, run = lab.request("GET", f"/orchest/api/runs/{run_id}")
        assert code == 200 and run["cache"] == "use", run
        return run

    first = run_changed()
    assert page.locator('[data-cached="true"]').count() == 0
    (lab_root / "cached" / "b.sh").write_text("echo changed\n")
    second = run_changed()
    page.wait_for_selector(f'[data-step-uuid="{uuids["A"]}"][data-cached="true"]')
    cached = page.locator('[data-cached="true"]')
    assert sorted(cached.evaluate_all("els => els.map(e => e.dataset.stepUuid)")) == sorted(
        [uuids["A"], uuids["C"]]
    )
    badge = node(page, uuids["C"]).locator(".jp-orchest-node-cached-badge")
    assert badge.is_visible() and badge.inner_text() == "cached"
    assert first["id"] in badge.get_attribute("title")
    assert node(page, uuids["B"]).get_attribute("data-cached") is None
    assert {s["uuid"]: s["cached"] for s in second["steps"]} == {
        uuids["A"]: True,
        uuids["B"]: False,
        uuids["C"]: True,
    }
