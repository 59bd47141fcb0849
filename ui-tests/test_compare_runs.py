"""Two runs side by side in a real JupyterLab and headless Chromium: a pipeline run twice, with
a step parameter and a notebook's code changed in between, compared from the Runs tab and with
`orchest:compare-runs`; the changed parameter and step are shown, and the notebook step's
executed notebooks are diffed with nbdime."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
from conftest import open_in_lab, wait_for_statuses, write_pipeline
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Page

from tests.server import ServerProcess

COMPARE = ".jp-orchest-CompareView:not(.lm-mod-hidden)"
SCREENSHOTS = os.environ.get("ORCHEST_SCREENSHOTS")
METRIC = (
    "import orchest\norchest.log_metric('loss', 1 - lr)\norchest.output({'lr': lr}, name='config')"
)


def train_notebook(last: str) -> str:
    """A notebook with a parameter ``lr`` (its tagged cell), a metric of it, then ``last``."""
    cells = [new_code_cell(source) for source in ("lr = 0.1", METRIC, last)]
    cells[0].metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nbformat.writes(nb)


def run_all(page: Page, before: str | None) -> str:
    """Run the saved file with "Run all"; the new run's id once the view shows it."""
    page.click('[data-command="orchest:run-all"]')
    page.wait_for_function(
        "before => { const id = document.querySelector('.jp-orchest-view').dataset.runId;"
        " return id && id !== before; }",
        arg=before,
    )
    return page.locator(".jp-orchest-view").first.get_attribute("data-run-id")


def assert_comparison_shows_the_changes(page: Page, train: str, prepare: str) -> None:
    row = page.locator(f'{COMPARE} tr[data-step-uuid="{train}"]')
    row.wait_for()
    assert row.get_attribute("data-difference") == "changed"
    parameter = row.locator('[data-setting="parameters"] [data-name="lr"]')
    assert parameter.inner_text() == "lr: 0.1 → 0.5"
    assert row.locator('[data-setting="code"]').count() == 1
    assert row.locator('[data-metric="loss"]').inner_text() == "loss: 0.9 → 0.5 -0.4"
    output = row.locator('details[data-output="config"]')
    assert output.get_attribute("data-same") == "false"
    output.locator("summary").click()
    for side, value in (("a", "0.1"), ("b", "0.5")):
        assert value in output.locator(f'[data-side="{side}"] .jp-orchest-output').inner_text()
    for side in ("a", "b"):
        assert row.locator(f'td[data-side="{side}"]').inner_text().startswith("SUCCESS")
    changed = page.locator(f'{COMPARE} [data-pipeline-change="steps-changed"]')
    assert changed.inner_text() == "Steps changed: Train"
    same = page.locator(f'{COMPARE} tr[data-step-uuid="{prepare}"]')
    assert same.get_attribute("data-difference") == "same"


def screenshot(page: Page, selector: str, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.locator(selector).screenshot(path=f"{SCREENSHOTS}/{name}.png")


def test_two_runs_compared_from_the_runs_tab_and_the_command(
    page: Page, lab: ServerProcess, lab_root
):
    directory = lab_root / "compare"
    name, uuids = write_pipeline(
        directory,
        {
            "Prepare": ("prepare.sh", "echo ready\n", []),
            "Train": ("train.ipynb", train_notebook("print('lr', lr)"), ["Prepare"]),
        },
    )
    pipeline_file = directory / name
    description = json.loads(pipeline_file.read_text())
    description["steps"][uuids["Train"]]["parameters"] = {"lr": 0.1}
    pipeline_file.write_text(json.dumps(description, indent=2))
    done = {uuids["Prepare"]: "SUCCESS", uuids["Train"]: "SUCCESS"}

    open_in_lab(page, lab, f"compare/{name}")
    page.wait_for_selector("[data-step-uuid]")
    first = run_all(page, None)
    wait_for_statuses(page, done)
    page.wait_for_selector(f'.jp-orchest-view[data-run-id="{first}"][data-run-status="SUCCESS"]')
    description["steps"][uuids["Train"]]["parameters"] = {"lr": 0.5}
    pipeline_file.write_text(json.dumps(description, indent=2))
    (directory / "train.ipynb").write_text(train_notebook("print('lr is', lr * 2)"))
    second = run_all(page, first)
    page.wait_for_selector(f'.jp-orchest-view[data-run-id="{second}"][data-run-status="SUCCESS"]')

    # the Runs tab: tick both, Compare (the older run is A)
    page.click('.jp-orchest-tabs [data-tab="runs"]')
    compare = page.locator('[data-action="compare-runs"]')
    assert compare.is_disabled()
    for run_id in (second, first):
        page.check(f'tr[data-run-id="{run_id}"] [data-action="choose-run"]')
    compare.click()
    page.wait_for_selector(COMPARE)
    assert_comparison_shows_the_changes(page, uuids["Train"], uuids["Prepare"])
    header = page.locator(f"{COMPARE} .jp-orchest-compare-header").inner_text()
    assert header.index(f"run {first[:8]}") < header.index(f"run {second[:8]}")
    screenshot(page, f"{COMPARE} .jp-orchest-compare", "compare-runs")

    # its notebook step's executed notebooks, diffed by nbdime
    page.click(f'{COMPARE} tr[data-step-uuid="{uuids["Train"]}"] [data-action="diff-notebooks"]')
    diff = page.locator(".jp-orchest-NotebookDiff:not(.lm-mod-hidden)")
    diff.locator(".jp-Cell-diff").first.wait_for()
    text = diff.inner_text()
    assert "print('lr is', lr * 2)" in text and "print('lr', lr)" in text
    screenshot(page, ".jp-orchest-NotebookDiff:not(.lm-mod-hidden)", "compare-notebook-diff")

    # the command opens a comparison too (of the same runs: the tab already open)
    page.evaluate(
        """runIds => window.jupyterapp.commands.execute('orchest:compare-runs', {runIds})
            .then(() => null)""",
        [first, second],
    )
    assert page.locator(".jp-orchest-CompareView").count() == 1
    page.locator(COMPARE).wait_for()
    page.evaluate(
        """() => { for (const w of [...window.jupyterapp.shell.widgets('main')])
                     if (w.id.startsWith('orchest-compare-')) w.close(); }"""
    )
    page.locator(".jp-orchest-CompareView").wait_for(state="detached")
    page.evaluate(
        """runIds => window.jupyterapp.commands.execute('orchest:compare-runs', {runIds})
            .then(() => null)""",
        [first, second],
    )
    assert_comparison_shows_the_changes(page, uuids["Train"], uuids["Prepare"])
