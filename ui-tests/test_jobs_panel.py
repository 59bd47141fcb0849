"""The Jobs panel in a real JupyterLab and headless Chromium: create a job of the open
pipeline with a grid, watch its runs, open a step's log; pause, resume and delete a job."""

from __future__ import annotations

import json

from conftest import open_in_lab, write_pipeline
from playwright.sync_api import Page

from tests.server import ServerProcess

PARAM_STEP = "import orchest\nprint('n =', orchest.get_pipeline_param('n'))\n"


def open_jobs_panel(page: Page) -> None:
    page.click('.jp-SideBar [data-id="orchest-jobs"]')
    page.wait_for_selector(".jp-orchest-JobsPanel-body")


def test_create_a_grid_job_from_the_pipeline_view_and_open_its_runs(
    page: Page, lab: ServerProcess, lab_root
):
    name, _ = write_pipeline(lab_root / "gridjob", {"Echo": ("echo.py", PARAM_STEP, [])})
    open_in_lab(page, lab, f"gridjob/{name}")
    page.wait_for_selector("[data-step-uuid]")
    open_jobs_panel(page)
    page.click('[data-command="orchest:create-job"]')
    dialog = page.locator(".jp-Dialog")
    dialog.locator('[data-field="name"]').fill("grid from the view")
    dialog.locator('[data-field="when"]').select_option("now")
    dialog.locator('[data-field="grid"]').fill(json.dumps({"pipeline_parameters": {"n": [1, 2]}}))
    dialog.locator('[data-field="maxParallel"]').fill("2")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()

    job = page.locator('li[data-job-id]:has-text("grid from the view")')
    job.wait_for()
    page.wait_for_selector('li[data-job-id][data-status="DONE"]:has-text("grid from the view")')
    job_id = job.get_attribute("data-job-id")
    code, stored = lab.request("GET", f"/orchest/api/jobs/{job_id}")
    assert code == 200 and stored["pipeline_path"] == f"gridjob/{name}"
    assert sorted(r["job_parameters"]["pipeline_parameters"]["n"] for r in stored["runs"]) == [1, 2]

    job.click()
    runs = page.locator(f'[data-job-runs="{job_id}"] tr[data-job-run-id][data-status="SUCCESS"]')
    runs.nth(1).wait_for()
    assert runs.count() == 2
    runs.first.click()
    step = page.locator('tr[data-job-step][data-status="SUCCESS"]')
    step.wait_for()
    step.click()
    page.wait_for_selector('.jp-orchest-JobStepLog pre:has-text("n = ")')


def test_pause_resume_and_delete_a_scheduled_job(page: Page, lab: ServerProcess, lab_root):
    name, _ = write_pipeline(lab_root / "nightly", {"Echo": ("echo.sh", "echo hi\n", [])})
    code, job = lab.request(
        "POST",
        "/orchest/api/jobs",
        {"pipeline_path": f"nightly/{name}", "name": "nightly", "schedule": {"cron": "0 3 * * *"}},
    )
    assert code == 201, job
    open_in_lab(page, lab)
    open_jobs_panel(page)
    row = f'li[data-job-id="{job["id"]}"]'
    page.wait_for_selector(f'{row}[data-status="ACTIVE"]:has-text("cron 0 3 * * *")')
    page.click(f'{row} [data-command="orchest:pause-job"]')
    page.wait_for_selector(f'{row}[data-status="PAUSED"]')
    assert "next" not in page.locator(row).inner_text(), "a paused job has no next fire"
    assert lab.request("GET", f"/orchest/api/jobs/{job['id']}")[1]["status"] == "PAUSED"
    page.click(f'{row} [data-command="orchest:resume-job"]')
    page.wait_for_selector(f'{row}[data-status="ACTIVE"]')
    page.click(f'{row} [data-command="orchest:delete-job"]')
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-warn").click()
    page.wait_for_selector(row, state="detached")
    assert lab.request("GET", f"/orchest/api/jobs/{job['id']}")[0] == 404
