"""Export Pipeline in a real JupyterLab and headless Chromium: the command of the open
pipeline asks for the target and volume, writes the files next to the pipeline and says which;
what a target cannot do is shown, not written."""

from __future__ import annotations

import yaml
from conftest import open_in_lab, write_pipeline
from playwright.sync_api import Page

from tests.server import ServerProcess


def run_export_command(page: Page) -> None:
    """Run "Export Pipeline…" from the command palette."""
    page.keyboard.press("Control+Shift+C")
    palette = page.locator("#modal-command-palette input")
    palette.fill("Export Pipeline to Airflow")
    page.locator('#modal-command-palette [data-command="orchest:export-pipeline"]').click()


def test_export_the_open_pipeline_to_argo(page: Page, lab: ServerProcess, lab_root):
    name, _ = write_pipeline(lab_root / "exported", {"Echo": ("echo.sh", "echo hi\n", [])})
    open_in_lab(page, lab, f"exported/{name}")
    page.wait_for_selector("[data-step-uuid]")
    run_export_command(page)
    form = page.locator(".jp-Dialog:has([data-field='target'])")
    form.locator('[data-field="target"]').select_option("kfp")
    form.locator('[data-field="schedule"]').wait_for(state="detached")
    form.locator('[data-field="target"]').select_option("argo")
    form.locator('[data-field="namespace"]').fill("ml")
    form.locator(".jp-Dialog-button.jp-mod-accept").click()
    refused = page.locator(".jp-Dialog:has-text('Cannot export the pipeline')")
    refused.locator("text=volume:").wait_for()
    refused.locator(".jp-Dialog-button").first.click()

    # the form comes back with what was entered
    form.locator('[data-field="volume"]').fill("pipelines")
    assert form.locator('[data-field="namespace"]').input_value() == "ml"
    form.locator(".jp-Dialog-button.jp-mod-accept").click()
    page.locator(".Toastify__toast:has-text('Exported for argo')").wait_for()
    written = sorted(p.name for p in (lab_root / "exported" / "export" / "argo").iterdir())
    assert written == ["pipeline.workflow-template.yaml", "pipeline.workflow.yaml"]
    workflow = yaml.safe_load(
        (lab_root / "exported/export/argo/pipeline.workflow.yaml").read_text()
    )
    assert workflow["metadata"]["namespace"] == "ml"
