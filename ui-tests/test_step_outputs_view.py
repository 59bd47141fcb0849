"""What a step passed on, in a real JupyterLab and headless Chromium: hovering the arrow
from a step shows its DataFrame's columns and first rows, the step panel its outputs and
metrics, and a past run's read-only tab shows the same from that run's record."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import node, open_in_lab, wait_for_statuses, write_pipeline
from playwright.sync_api import Page

from tests.server import ServerProcess

SCREENSHOTS = os.environ.get("ORCHEST_SCREENSHOTS")
LOAD = (
    "import orchest, pandas as pd\n"
    "frame = pd.DataFrame({'city': ['Delft', 'Utrecht', 'Gouda'], 'temp': [12.5, 14.0, 9.75]})\n"
    "orchest.output(frame, name='weather')\n"
    "orchest.log_metric('rows', len(frame))\n"
)
REPORT = "import orchest\nprint(orchest.get_inputs())\n"


def hover_edge(page: Page, source: str, target: str) -> None:
    """Move the pointer onto the arrow (its middle: a straight one between nodes in a row)."""
    edge = page.locator(f'.react-flow__edge[data-id="{source}->{target}"] path').first
    box = edge.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def assert_weather_preview(page: Page, preview: str) -> None:
    columns = page.locator(f"{preview} th[data-column]")
    assert columns.evaluate_all("els => els.map(e => e.dataset.column)") == ["city", "temp"]
    text = page.locator(preview).inner_text()
    assert "weather" in text and "DataFrame" in text and "3 rows" in text
    assert "float64" in text and "Delft" in text and "9.75" in text


def test_an_edge_shows_the_dataframe_its_parent_passed_and_the_step_panel_its_results(
    page: Page, lab: ServerProcess, lab_root
):
    name, uuids = write_pipeline(
        lab_root / "passing",
        {"Load": ("load.py", LOAD, []), "Report": ("report.py", REPORT, ["Load"])},
    )
    load, report = uuids["Load"], uuids["Report"]
    open_in_lab(page, lab, f"passing/{name}")
    page.wait_for_selector("[data-step-uuid]")
    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(page, {load: "SUCCESS", report: "SUCCESS"})
    run_id = page.locator(".jp-orchest-view").get_attribute("data-run-id")

    preview = f'.jp-orchest-edge-preview[data-edge-preview="{load}->{report}"]'
    hover_edge(page, load, report)
    page.wait_for_selector(f'{preview} [data-preview="table"]')
    assert_weather_preview(page, preview)
    assert run_id[:8] in page.locator(preview).inner_text()
    page.mouse.move(5, 5)
    page.wait_for_selector(preview, state="detached")

    hover_edge(page, load, report)
    page.mouse.down()
    page.mouse.up()
    page.wait_for_selector(f'{preview}[data-pinned="true"] [data-preview="table"]')
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.locator(".jp-orchest-PipelineView").screenshot(path=f"{SCREENSHOTS}/edge-preview.png")
    page.click(f'{preview} [data-action="close-edge-preview"]')
    page.wait_for_selector(preview, state="detached")

    node(page, load).click()
    page.click('[data-tab="step"]')
    results = f'[data-step-results="{load}"]'
    page.wait_for_selector(f'{results} [data-preview="table"]')
    assert_weather_preview(page, results)
    assert page.locator(f'{results} dd[data-metric="rows"]').inner_text() == "3"

    page.evaluate(
        "runId => window.jupyterapp.commands.execute('orchest:open-run', {runId})", run_id
    )
    past = f'.jp-orchest-view[data-read-only="true"][data-run-id="{run_id}"]'
    page.wait_for_selector(f'{past} [data-step-uuid="{report}"][data-status="SUCCESS"]')
    edge = page.locator(f'{past} .react-flow__edge[data-id="{load}->{report}"] path').first
    box = edge.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(f'{past} {preview} [data-preview="table"]')
    assert_weather_preview(page, f"{past} {preview}")
