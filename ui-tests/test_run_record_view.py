"""A past run shown as it ran, in a real JupyterLab and headless Chromium: its own pipeline
(a step deleted since keeps its failure), its parameters, what made a step run, and a banner
saying the file changed since; opened from the Runs tab and with `orchest:open-run`, and
back after a page reload."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from conftest import open_in_lab, save_screenshot, wait_for_statuses, write_pipeline
from playwright.sync_api import Page

from tests.server import ServerProcess

RUN_VIEW = ".jp-orchest-RunView:not(.lm-mod-hidden)"


def run_view_node(page: Page, step_uuid: str):
    return page.locator(f'{RUN_VIEW} [data-step-uuid="{step_uuid}"]')


def run_with(page: Page, command: str, before: str | None) -> str:
    """Start a run of the saved file with a toolbar command; its id once the view shows it."""
    page.click(f'[data-command="{command}"]')
    page.wait_for_function(
        "before => { const id = document.querySelector('.jp-orchest-view').dataset.runId;"
        " return id && id !== before; }",
        arg=before,
    )
    return page.locator(".jp-orchest-view").first.get_attribute("data-run-id")


def set_parameters(path: Path, description: dict, step: str, parameters: dict) -> None:
    description["steps"][step]["parameters"] = parameters
    path.write_text(json.dumps(description, indent=2))


def wait_until_saved(lab: ServerProcess, workspace: str, key: str) -> None:
    """Wait until JupyterLab has saved (debounced) a workspace whose main area holds the
    widget that the layout restorer reopens from ``key``."""
    deadline = time.monotonic() + 60
    while True:
        code, saved = lab.request("GET", f"/lab/api/workspaces/{workspace}")
        assert code == 200, saved
        main = json.dumps(saved["data"].get("layout-restorer:data", {}).get("main", {}))
        if key in saved["data"] and key in main:
            return
        assert time.monotonic() < deadline, f"workspace {workspace} never saved {key}"
        time.sleep(0.1)


def test_a_past_run_shows_its_own_pipeline(page: Page, lab: ServerProcess, lab_root):
    directory = lab_root / "record"
    name, uuids = write_pipeline(
        directory,
        {
            "Prepare": ("prepare.sh", "true\n", []),
            "Fail": ("fail.sh", "exit 3\n", ["Prepare"]),
        },
    )
    pipeline_file = directory / name
    description = json.loads(pipeline_file.read_text())
    set_parameters(pipeline_file, description, uuids["Prepare"], {"n": 1})

    open_in_lab(page, lab, f"record/{name}")
    page.wait_for_selector("[data-step-uuid]")
    first = run_with(page, "orchest:run-all", None)
    wait_for_statuses(page, {uuids["Prepare"]: "SUCCESS", uuids["Fail"]: "FAILURE"})
    # the run to look back at: Prepare ran with n=2, because its parameters changed (the
    # run reuses unchanged results, so it records what changed)
    set_parameters(pipeline_file, description, uuids["Prepare"], {"n": 2})
    run_id = run_with(page, "orchest:run-changed", first)
    wait_for_statuses(page, {uuids["Prepare"]: "SUCCESS", uuids["Fail"]: "FAILURE"})

    # today: the failed step is deleted and the parameter changed again
    del description["steps"][uuids["Fail"]]
    set_parameters(pipeline_file, description, uuids["Prepare"], {"n": 3})

    page.click('.jp-orchest-tabs [data-tab="runs"]')
    page.click(f'tr[data-run-id="{run_id}"] [data-action="open-run"]')
    page.wait_for_selector(f'{RUN_VIEW} [data-run-id="{run_id}"]')
    # the deleted step is drawn with its failure; nodes cannot be dragged
    page.wait_for_selector(f'{RUN_VIEW} [data-step-uuid="{uuids["Fail"]}"][data-status="FAILURE"]')
    assert run_view_node(page, uuids["Prepare"]).get_attribute("data-status") == "SUCCESS"
    assert "draggable" not in (
        page.locator(f"{RUN_VIEW} .react-flow__node").first.get_attribute("class") or ""
    )
    banner = page.locator(f'{RUN_VIEW} [data-banner="run-changed"]')
    banner.wait_for()
    assert "removed: Fail" in banner.inner_text()
    assert "changed: Prepare" in banner.inner_text()

    # the step panel shows the parameter the run ran with
    run_view_node(page, uuids["Prepare"]).click()
    params = page.locator(f"{RUN_VIEW} .jp-orchest-params")
    params.wait_for()
    assert json.loads(params.inner_text()) == {"n": 2}
    because = page.locator(f"{RUN_VIEW} [data-ran-because]")
    assert because.get_attribute("data-ran-because") == "parameters"
    if os.environ.get("ORCHEST_SCREENSHOTS"):
        page.add_style_tag(content=".Toastify { display: none; }")  # the runs' notifications
        save_screenshot(page.locator(RUN_VIEW), "run-record")

    # the command opens the same record (one tab per run)
    page.evaluate(
        """runId => window.jupyterapp.commands.execute('orchest:open-run', {runId})
            .then(() => null)""",
        run_id,
    )
    assert page.locator(".jp-orchest-RunView").count() == 1
    assert (
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
        .filter(has_text=f"pipeline · run {run_id[:8]}")
        .count()
        == 1
    )

    # and its way back opens the editable pipeline
    page.click(f'{RUN_VIEW} [data-action="open-pipeline"]')
    page.wait_for_selector(".jp-orchest-PipelineView:not(.lm-mod-hidden) [data-step-uuid]")


def test_open_run_command_on_a_file_gone_since(page: Page, lab: ServerProcess, lab_root):
    directory = lab_root / "record-gone"
    name, uuids = write_pipeline(directory, {"Only": ("only.sh", "true\n", [])})
    open_in_lab(page, lab, f"record-gone/{name}")
    page.wait_for_selector("[data-step-uuid]")
    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(page, {uuids["Only"]: "SUCCESS"})
    run_id = page.locator(".jp-orchest-view").get_attribute("data-run-id")
    (directory / name).unlink()

    page.evaluate(
        """runId => window.jupyterapp.commands.execute('orchest:open-run', {runId})
            .then(() => null)""",
        run_id,
    )
    page.wait_for_selector(f'{RUN_VIEW} [data-banner="run-file-gone"]')
    page.wait_for_selector(f'{RUN_VIEW} [data-step-uuid="{uuids["Only"]}"][data-status="SUCCESS"]')
    assert page.locator(f'{RUN_VIEW} [data-action="open-pipeline"]').count() == 0


def test_a_job_run_opens_from_the_jobs_panel(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(lab_root / "record-job", {"Echo": ("echo.sh", "echo hi\n", [])})
    code, job = lab.request(
        "POST",
        "/orchest/api/jobs",
        {
            "pipeline_path": f"record-job/{name}",
            "name": "record job",
            "parameter_grid": {"pipeline_parameters": {"n": [7]}},
        },
    )
    assert code == 201, job
    open_in_lab(page, lab)
    page.click('.jp-SideBar [data-id="orchest-jobs"]')
    row = page.locator(f'li[data-job-id="{job["id"]}"]')
    row.click()
    run = page.locator(f'[data-job-runs="{job["id"]}"] tr[data-job-run-id][data-status="SUCCESS"]')
    run.wait_for()
    run_id = run.get_attribute("data-job-run-id")
    run.locator('[data-action="open-run"]').click()
    page.wait_for_selector(f'{RUN_VIEW} [data-step-uuid="{uuids["Echo"]}"][data-status="SUCCESS"]')
    params = page.locator(f'{RUN_VIEW} [data-pipeline-params="{run_id}"]')
    assert json.loads(params.inner_text()) == {"n": 7}


def test_a_running_run_updates_live_in_its_tab(page: Page, lab: ServerProcess, lab_root):
    release = lab_root / "record-live" / "release"
    name, uuids = write_pipeline(
        lab_root / "record-live",
        {"Wait": ("wait.sh", f"while [ ! -f '{release}' ]; do sleep 0.05; done\n", [])},
    )
    open_in_lab(page, lab, f"record-live/{name}")
    page.wait_for_selector("[data-step-uuid]")
    run_id = run_with(page, "orchest:run-all", None)
    wait_for_statuses(page, {uuids["Wait"]: "STARTED"})
    page.evaluate(
        """runId => window.jupyterapp.commands.execute('orchest:open-run', {runId})
            .then(() => null)""",
        run_id,
    )
    page.wait_for_selector(f'{RUN_VIEW} [data-step-uuid="{uuids["Wait"]}"][data-status="STARTED"]')
    release.write_text("")
    page.wait_for_selector(f'{RUN_VIEW} [data-step-uuid="{uuids["Wait"]}"][data-status="SUCCESS"]')
    page.wait_for_selector(f'{RUN_VIEW} [data-run-id="{run_id}"][data-run-status="SUCCESS"]')
    assert page.locator(f'{RUN_VIEW} [data-banner="run-view"]').count() == 1


def test_a_run_tab_is_back_after_a_reload(page: Page, lab: ServerProcess, lab_root):
    directory = lab_root / "record-reload"
    name, uuids = write_pipeline(
        directory, {"Keep": ("keep.sh", "true\n", []), "Drop": ("drop.sh", "exit 1\n", ["Keep"])}
    )
    code, run = lab.request("POST", "/orchest/api/runs", {"pipeline_path": f"record-reload/{name}"})
    assert code == 202, run
    lab.wait_for_run(run["id"])
    # today's file no longer has the failed step: the restored tab draws the stored run
    description = json.loads((directory / name).read_text())
    del description["steps"][uuids["Drop"]]
    (directory / name).write_text(json.dumps(description, indent=2))

    open_in_lab(page, lab)
    page.evaluate(
        """runId => window.jupyterapp.commands.execute('orchest:open-run', {runId})
            .then(() => null)""",
        run["id"],
    )
    page.wait_for_selector(f'{RUN_VIEW} [data-step-uuid="{uuids["Drop"]}"][data-status="FAILURE"]')
    workspace = page.url.split("/lab/workspaces/")[1].split("?")[0].split("/")[0]
    wait_until_saved(lab, workspace, f"orchest-run:{run['id']}")
    page.goto(f"{lab.url}/lab/workspaces/{workspace}?token={lab.token}")
    page.wait_for_selector(f'{RUN_VIEW} [data-run-id="{run["id"]}"][data-run-status="FAILURE"]')
    page.wait_for_selector(f'{RUN_VIEW} [data-step-uuid="{uuids["Drop"]}"][data-status="FAILURE"]')
    assert (
        page.locator(f'{RUN_VIEW} [data-step-uuid="{uuids["Keep"]}"]').get_attribute("data-status")
        == "SUCCESS"
    )
    page.wait_for_selector(f'{RUN_VIEW} [data-banner="run-changed"]')
    assert page.locator(".jp-orchest-RunView").count() == 1
