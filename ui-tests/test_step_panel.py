"""The step panel in a real JupyterLab and headless Chromium: picking the file and the
kernel, the step's environment variables, the full log, the source notebook."""

from __future__ import annotations

import json

import nbformat
from conftest import node, open_in_lab, wait_for_statuses, write_pipeline
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Page

from tests.server import ServerProcess


def notebook_text(source: str) -> str:
    nb = new_notebook(cells=[new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nbformat.writes(nb)


def field(page: Page, step_uuid: str, name: str):
    return page.locator(f'[data-step-editor="{step_uuid}"] [data-field="{name}"]')


def options(page: Page, step_uuid: str, name: str) -> list[str]:
    return (
        field(page, step_uuid, name).locator("option").evaluate_all("els => els.map(e => e.value)")
    )


def save(page: Page) -> None:
    page.locator(".jp-orchest-graph").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty", state="detached")


def test_the_file_field_picks_from_the_pipelines_files(page: Page, lab: ServerProcess, lab_root):
    directory = lab_root / "picker"
    name, uuids = write_pipeline(directory, {"Step": ("a.py", "print('a')\n", [])})
    (directory / "b.py").write_text("print('b')\n")
    (directory / "sub").mkdir()
    (directory / "sub" / "c.ipynb").write_text(notebook_text("1"))
    (directory / "data.csv").write_text("x\n1\n")
    (directory / ".hidden").mkdir()
    (directory / ".hidden" / "x.py").write_text("")
    open_in_lab(page, lab, f"picker/{name}")
    node(page, uuids["Step"]).click()
    select = field(page, uuids["Step"], "file_path")
    page.wait_for_function(
        "id => document.querySelectorAll("
        "`[data-step-editor='${id}'] [data-field='file_path'] option`).length >= 3",
        arg=uuids["Step"],
    )
    listed = options(page, uuids["Step"], "file_path")
    assert {"a.py", "b.py", "sub/c.ipynb"} <= set(listed), listed
    assert "data.csv" not in listed and ".hidden/x.py" not in listed
    assert select.input_value() == "a.py"
    select.select_option("sub/c.ipynb")
    page.click('[data-action="apply-step"]')
    page.wait_for_selector(f'[data-step-uuid="{uuids["Step"]}"][data-kind="notebook"]')
    save(page)
    saved = json.loads((directory / name).read_text())
    assert saved["steps"][uuids["Step"]]["file_path"] == "sub/c.ipynb"


def test_the_kernel_field_lists_installed_kernels_for_notebooks_only(
    page: Page, lab: ServerProcess, lab_root
):
    directory = lab_root / "kernels"
    name, uuids = write_pipeline(
        directory,
        {"Notebook": ("nb.ipynb", notebook_text("1"), []), "Script": ("s.py", "", [])},
    )
    open_in_lab(page, lab, f"kernels/{name}")
    node(page, uuids["Notebook"]).click()
    kernel = field(page, uuids["Notebook"], "kernel")
    page.wait_for_function(
        "id => [...document.querySelectorAll("
        "`[data-step-editor='${id}'] [data-field='kernel'] option`)]"
        ".some(o => o.value === 'python3')",
        arg=uuids["Notebook"],
    )
    assert kernel.evaluate("el => el.tagName") == "SELECT"
    code, specs = lab.request("GET", "/api/kernelspecs")
    assert code == 200
    assert set(options(page, uuids["Notebook"], "kernel")) == {"", *specs["kernelspecs"]}
    kernel.select_option("python3")
    page.click('[data-action="apply-step"]')
    node(page, uuids["Script"]).click()
    page.wait_for_selector(f'[data-step-editor="{uuids["Script"]}"]')
    assert field(page, uuids["Script"], "kernel").count() == 0
    save(page)
    saved = json.loads((directory / name).read_text())
    assert saved["steps"][uuids["Notebook"]]["kernel"]["name"] == "python3"


def test_the_steps_environment_variables_are_edited_and_used(
    page: Page, lab: ServerProcess, lab_root
):
    directory = lab_root / "envvars"
    name, uuids = write_pipeline(
        directory, {"Greet": ("greet.sh", 'echo "greeting=$GREETING"\n', [])}
    )
    open_in_lab(page, lab, f"envvars/{name}")
    node(page, uuids["Greet"]).click()
    env = field(page, uuids["Greet"], "env_variables")
    env.fill("not a variable")
    page.wait_for_selector('[data-field-error="env_variables"]')
    assert page.locator('[data-action="apply-step"]').is_disabled()
    env.fill("GREETING=hello world\nEMPTY=")
    page.click('[data-action="apply-step"]')
    save(page)
    saved = json.loads((directory / name).read_text())
    assert saved["steps"][uuids["Greet"]]["env_variables"] == {
        "GREETING": "hello world",
        "EMPTY": "",
    }
    node(page, uuids["Greet"]).click()
    assert env.input_value() == "GREETING=hello world\nEMPTY="
    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(page, {uuids["Greet"]: "SUCCESS"})
    page.wait_for_selector(f'[data-step-log="{uuids["Greet"]}"]:has-text("greeting=hello world")')


def test_open_full_log_shows_what_the_panel_cuts(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(lab_root / "fulllog", {"Loud": ("loud.sh", "seq 1 200000\n", [])})
    open_in_lab(page, lab, f"fulllog/{name}")
    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(page, {uuids["Loud"]: "SUCCESS"})
    node(page, uuids["Loud"]).click()
    page.wait_for_selector(f'[data-step-log="{uuids["Loud"]}"]:has-text("earlier output")')
    page.click('[data-action="open-full-log"]')
    viewer = page.locator("pre.jp-orchest-StepLogViewer")
    viewer.wait_for()
    page.wait_for_function(
        "() => document.querySelector('pre.jp-orchest-StepLogViewer')"
        ".textContent.trimEnd().endsWith('\\n200000')"
    )
    text = viewer.text_content()
    assert text.startswith("1\n2\n3\n") and text.split() == [str(i) for i in range(1, 200001)]
    assert page.locator(".lm-TabBar-tab.lm-mod-current:has-text('Loud')").count() == 1


def test_open_notebook_opens_the_editable_source(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(
        lab_root / "source", {"Explore": ("explore.ipynb", notebook_text("x = 41"), [])}
    )
    open_in_lab(page, lab, f"source/{name}")
    node(page, uuids["Explore"]).click()
    page.click('[data-action="open-source-notebook"]')
    panel = page.locator(".jp-NotebookPanel:visible")
    panel.locator('.jp-Cell:has-text("x = 41")').wait_for()
    page.wait_for_selector(".lm-TabBar-tab.lm-mod-current:has-text('explore.ipynb')")
    editor = panel.locator(".jp-Cell .cm-content").first
    assert editor.get_attribute("contenteditable") == "true"
