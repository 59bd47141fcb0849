"""Developing a step in JupyterLab: the step's notebook, opened as any notebook, reads its
parents' outputs from their latest successful run with `import orchest`."""

from __future__ import annotations

import nbformat
from conftest import open_in_lab, write_pipeline
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Page, expect

from tests.server import ServerProcess

LOAD = "import orchest\norchest.output({'rows': [1, 2, 3]}, name='data')\n"


def test_a_steps_notebook_reads_its_parents_outputs(page: Page, lab: ServerProcess, lab_root):
    explore = new_notebook(cells=[new_code_cell("import orchest; orchest.get_inputs()")])
    explore.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    pipeline_file, _ = write_pipeline(
        lab_root / "develop",
        {
            "Load": ("load.py", LOAD, []),
            "Explore": ("explore.ipynb", nbformat.writes(explore), ["Load"]),
        },
    )
    code, run = lab.request(
        "POST", "/orchest/api/runs", {"pipeline_path": f"develop/{pipeline_file}"}
    )
    assert code == 202, run
    assert lab.wait_for_run(run["id"])["status"] == "SUCCESS"

    open_in_lab(page, lab, "develop/explore.ipynb")
    cell = page.locator(".jp-Notebook .jp-Cell").first
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-OutputArea-output")
    expect(output).to_contain_text("{'unnamed': [], 'data': {'rows': [1, 2, 3]}}", timeout=60_000)
