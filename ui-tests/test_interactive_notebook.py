"""Developing a step in JupyterLab: the step's notebook, opened as any notebook, reads its
parents' outputs from their latest successful run with `import orchest`."""

from __future__ import annotations

import time

import nbformat
from conftest import open_in_lab, write_pipeline
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Page, expect

from tests.server import ServerProcess

LOAD = "import orchest\norchest.output({'rows': [1, 2, 3]}, name='data')\n"


def wait_for_kernel_session(lab: ServerProcess, path: str, timeout: float = 60) -> None:
    """Until the server has a session with a kernel for the notebook at ``path``."""
    deadline = time.monotonic() + timeout
    while True:
        _, sessions = lab.request("GET", "/api/sessions")
        if any(s["path"] == path and s.get("kernel") for s in sessions):
            return
        assert time.monotonic() < deadline, f"no kernel session for {path}: {sessions}"
        time.sleep(0.1)


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

    # JupyterLab may ask which kernel to start (a run in a notebook without one asks too)
    select_kernel = page.locator(".jp-Dialog").filter(has_text="Select Kernel")
    page.add_locator_handler(
        select_kernel, lambda dialog: dialog.get_by_role("button", name="Select").click()
    )
    open_in_lab(page, lab, "develop/explore.ipynb")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator')]
            .some(el => el.dataset.status === 'idle')"""
    )
    wait_for_kernel_session(lab, "develop/explore.ipynb")
    cell = page.locator(".jp-Notebook .jp-Cell").first
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-OutputArea-output")
    expect(output).to_contain_text("{'unnamed': [], 'data': {'rows': [1, 2, 3]}}", timeout=60_000)
