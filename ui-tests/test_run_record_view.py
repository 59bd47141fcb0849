"""A past run shown as it ran, in a real JupyterLab and headless Chromium: its own pipeline
(a step deleted since keeps its failure), its parameters, and a banner saying the file
changed since; opened from the Runs tab and with `orchest:open-run`."""

from __future__ import annotations

import json

from conftest import open_in_lab, wait_for_statuses, write_pipeline
from playwright.sync_api import Page

from tests.server import ServerProcess

RUN_VIEW = ".jp-orchest-RunView:not(.lm-mod-hidden)"


def run_view_node(page: Page, step_uuid: str):
    return page.locator(f'{RUN_VIEW} [data-step-uuid="{step_uuid}"]')


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
    description["steps"][uuids["Prepare"]]["parameters"] = {"n": 1}
    pipeline_file.write_text(json.dumps(description, indent=2))

    open_in_lab(page, lab, f"record/{name}")
    page.wait_for_selector("[data-step-uuid]")
    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(page, {uuids["Prepare"]: "SUCCESS", uuids["Fail"]: "FAILURE"})
    run_id = page.locator(".jp-orchest-view").get_attribute("data-run-id")
    assert run_id

    # today: the failed step is deleted and the parameter changed
    del description["steps"][uuids["Fail"]]
    description["steps"][uuids["Prepare"]]["parameters"] = {"n": 2}
    pipeline_file.write_text(json.dumps(description, indent=2))

    page.click('.jp-orchest-tabs [data-tab="runs"]')
    page.click(f'tr[data-run-id="{run_id}"] [data-action="open-run"]')
    page.wait_for_selector(f'{RUN_VIEW} [data-run-id="{run_id}"]')
    # the deleted step is drawn with its failure; nodes cannot be dragged
    wait_for_statuses(page, {uuids["Fail"]: "FAILURE"})
    assert run_view_node(page, uuids["Fail"]).get_attribute("data-status") == "FAILURE"
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
    assert json.loads(params.inner_text()) == {"n": 1}

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
    assert run_view_node(page, uuids["Only"]).get_attribute("data-status") == "SUCCESS"
    assert page.locator(f'{RUN_VIEW} [data-action="open-pipeline"]').count() == 0
