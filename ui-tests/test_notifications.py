"""Notifications of finished runs in a real JupyterLab and headless Chromium: a run started
here that fails raises JupyterLab's notification (pipeline, status, duration), whose *Show
run* opens the pipeline showing that run, even when a newer run exists."""

from __future__ import annotations

from conftest import node, open_in_lab, save_screenshot, wait_for_statuses, write_pipeline
from playwright.sync_api import Page

from tests.server import ServerProcess

TOAST = ".Toastify__toast"


def test_a_failed_run_notifies_and_show_run_opens_it(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(
        lab_root / "notified",
        {"Breaks": ("breaks.sh", "echo 'no rows' >&2; exit 1\n", [])},
        name="nightly-report",
    )
    path = f"notified/{name}"
    open_in_lab(page, lab, path)
    page.wait_for_selector("[data-step-uuid]")
    page.click('[data-command="orchest:run-all"]')
    page.wait_for_function("() => document.querySelector('.jp-orchest-view').dataset.runId")
    mine = page.locator(".jp-orchest-view").get_attribute("data-run-id")
    wait_for_statuses(page, {uuids["Breaks"]: "FAILURE"})

    toast = page.locator(TOAST, has_text="nightly-report")
    toast.wait_for()
    text = toast.inner_text()
    assert "FAILURE" in text and " after " in text, text
    assert toast.get_by_role("button", name="Show log").count() == 1
    # (once it has slid in: JupyterLab's toasts animate)
    page.wait_for_function(
        "el => el.getAnimations({subtree: true}).every(a => a.playState === 'finished')",
        arg=toast.element_handle(),
    )
    save_screenshot(toast, "notification-failure")

    # A newer run, not started from this JupyterLab: it raises no notification, and a
    # freshly opened view shows it (the newest) until Show run asks for the other.
    code, newer = lab.request("POST", "/orchest/api/runs", {"pipeline_path": path})
    assert code == 202, newer
    assert lab.wait_for_run(newer["id"])["status"] == "FAILURE"
    page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
    page.wait_for_selector(".jp-orchest-view", state="detached")

    toast.get_by_role("button", name="Show run").click()
    page.wait_for_selector(f'.jp-orchest-view[data-run-id="{mine}"]')
    assert node(page, uuids["Breaks"]).get_attribute("data-status") == "FAILURE"
    assert page.locator(TOAST, has_text="nightly-report").count() <= 1
