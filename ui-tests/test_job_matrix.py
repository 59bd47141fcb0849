"""A grid job's results matrix in a real JupyterLab and headless Chromium: one row per
combination, kept current while the job runs, with its metrics and outputs, sorted by a
click on a column, metric columns chosen, a click on a row opens that run as it ran."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import open_in_lab, write_pipeline
from playwright.sync_api import Page

from tests.server import ServerProcess

PARAM_STEP = (
    "import orchest\n"
    "n, m = orchest.get_pipeline_param('n'), orchest.get_step_param('m')\n"
    "orchest.log_metric('score', n * 10 + (m == 'y'))\n"
    "orchest.log_metric('loss', 1 / n)\n"
    "orchest.output([n, m], name='pair')\n"
)
MATRIX = ".jp-orchest-JobMatrix"
SCREENSHOTS = os.environ.get("ORCHEST_SCREENSHOTS")


def column_texts(page: Page, column: str) -> list[str]:
    return page.locator(f'{MATRIX} tbody td[data-column="{column}"]').all_inner_texts()


def test_a_grid_jobs_matrix_has_a_row_per_combination_sorts_and_opens_runs(
    page: Page, lab: ServerProcess, lab_root
):
    name, uuids = write_pipeline(lab_root / "matrixjob", {"Echo": ("echo.py", PARAM_STEP, [])})
    grid = {"pipeline_parameters": {"n": [3, 1, 2]}, "Echo": {"m": ["x", "y"]}}
    code, job = lab.request(
        "POST",
        "/orchest/api/jobs",
        {
            "pipeline_path": f"matrixjob/{name}",
            "name": "matrix sweep",
            "parameter_grid": grid,
            "max_parallel": 3,
        },
    )
    assert code == 201, job
    open_in_lab(page, lab)
    page.click('.jp-SideBar [data-id="orchest-jobs"]')
    page.click(f'li[data-job-id="{job["id"]}"] [data-command="orchest:open-job-matrix"]')

    rows = page.locator(f'{MATRIX} tbody tr[data-status="SUCCESS"]')
    page.wait_for_function(
        "selector => document.querySelectorAll(selector).length === 6",
        arg=f'{MATRIX} tbody tr[data-status="SUCCESS"]',
        timeout=120_000,
    )
    assert page.locator(f"{MATRIX} tbody tr").count() == 6
    assert column_texts(page, "parameter:n") == ["3", "3", "1", "1", "2", "2"]
    assert column_texts(page, "parameter:Echo.m") == ["x", "y"] * 3
    headers = page.locator(f"{MATRIX} thead th").all_inner_texts()
    assert headers == ["n", "Echo.m", "Status", "Duration", "loss", "score", "Echo.pair"]
    assert column_texts(page, "metric:score")[:2] == ["30", "31"]
    assert column_texts(page, "output:Echo.pair")[:2] == ['[3, "x"]', '[3, "y"]']

    page.click(f'{MATRIX} th[data-column="parameter:n"] button')
    assert column_texts(page, "parameter:n") == ["1", "1", "2", "2", "3", "3"]
    sorted_header = page.locator(f'{MATRIX} th[data-column="parameter:n"]')
    assert sorted_header.get_attribute("aria-sort") == "ascending"
    page.click(f'{MATRIX} th[data-column="parameter:n"] button')
    assert column_texts(page, "parameter:n") == ["3", "3", "2", "2", "1", "1"]
    assert sorted_header.get_attribute("aria-sort") == "descending"
    page.click(f'{MATRIX} th[data-column="metric:score"] button')
    page.click(f'{MATRIX} th[data-column="metric:score"] button')
    assert column_texts(page, "metric:score") == ["31", "30", "21", "20", "11", "10"]
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.locator(MATRIX).screenshot(path=f"{SCREENSHOTS}/job-matrix.png")

    page.uncheck(f'{MATRIX} input[data-metric="loss"]')
    assert page.locator(f'{MATRIX} [data-column="metric:loss"]').count() == 0
    assert page.locator(f'{MATRIX} th[data-column="metric:score"]').count() == 1

    top = rows.first
    run_id = top.get_attribute("data-run-id")
    code, run = lab.request("GET", f"/orchest/api/runs/{run_id}")
    assert code == 200 and run["job_id"] == job["id"]
    code, stored = lab.request("GET", f"/orchest/api/jobs/{job['id']}")
    combination = next(r["job_parameters"] for r in stored["runs"] if r["id"] == run_id)
    assert combination["pipeline_parameters"]["n"] == 3
    assert (
        combination["Echo"]["m"] == top.locator('td[data-column="parameter:Echo.m"]').inner_text()
    )
    top.click()
    page.wait_for_selector(f'.jp-orchest-view[data-read-only="true"][data-run-id="{run_id}"]')
    page.wait_for_selector(f'[data-step-uuid="{uuids["Echo"]}"][data-status="SUCCESS"]')
