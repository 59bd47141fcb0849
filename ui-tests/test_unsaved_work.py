"""Unsaved work in JupyterLab and runs: unsaved step files are asked about (from the pipeline
view and from the file browser's Run Pipeline), unsaved pipeline edits run without writing
the pipeline file."""

from __future__ import annotations

import json

from conftest import node, open_in_lab, write_pipeline
from playwright.sync_api import Browser, Page

from tests.helpers import notebook
from tests.server import ServerProcess

DIRTY_TAB = ".lm-TabBar-tab.jp-mod-dirty"


def open_beside(page: Page, path: str) -> None:
    """Open ``path`` with its default editor in a split to the right."""
    page.evaluate(
        """path => window.jupyterapp.commands.execute('docmanager:open',
            {path, options: {mode: 'split-right'}}).then(() => null)""",
        path,
    )


def view_run_id(page: Page) -> str:
    return page.locator(".jp-orchest-view").get_attribute("data-run-id") or ""


def click_run_all(page: Page) -> None:
    page.locator('.jp-orchest-view [data-command="orchest:run-all"]').click()


def wait_for_new_finished_run(page: Page, lab: ServerProcess, before: str) -> dict:
    page.wait_for_function(
        "before => { const id = document.querySelector('.jp-orchest-view').dataset.runId;"
        " return id && id !== before; }",
        arg=before,
    )
    return lab.wait_for_run(view_run_id(page))


def step_log(lab: ServerProcess, run: dict, title: str) -> str:
    step = next(s for s in run["steps"] if s["title"] == title)
    code, log = lab.request("GET", f"/orchest/api/runs/{run['id']}/steps/{step['uuid']}/log")
    assert code == 200, log
    return log["text"]


def answer_unsaved_dialog(page: Page, button: str, file_name: str = "step.py") -> None:
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    assert file_name in dialog.inner_text()
    labels = [b.inner_text() for b in dialog.locator(".jp-Dialog-button").all()]
    assert labels == ["Cancel", "Run saved versions", "Save and run"], labels
    dialog.locator(".jp-Dialog-button", has_text=button).click()
    dialog.wait_for(state="detached")


def test_a_run_asks_about_a_step_file_with_unsaved_changes(
    page: Page, lab: ServerProcess, lab_root
):
    name, _ = write_pipeline(
        lab_root / "unsaved-step", {"Step": ("step.py", "print('saved version')\n", [])}
    )
    source = lab_root / "unsaved-step" / "step.py"
    open_in_lab(page, lab, f"unsaved-step/{name}")
    page.wait_for_selector("[data-step-uuid]")
    open_beside(page, "unsaved-step/step.py")
    editor = page.locator(".jp-FileEditor .cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("print('edited version')")
    page.wait_for_selector(DIRTY_TAB)

    click_run_all(page)
    answer_unsaved_dialog(page, "Cancel")
    code, runs = lab.request("GET", f"/orchest/api/runs?pipeline_path=unsaved-step/{name}")
    assert code == 200 and runs["total"] == 0, runs
    assert page.locator(DIRTY_TAB).count() == 1

    click_run_all(page)
    answer_unsaved_dialog(page, "Run saved versions")
    run = wait_for_new_finished_run(page, lab, "")
    assert run["status"] == "SUCCESS", run
    assert "saved version" in step_log(lab, run, "Step")
    assert page.locator(DIRTY_TAB).count() == 1
    assert source.read_text() == "print('saved version')\n"

    before = run["id"]
    click_run_all(page)
    answer_unsaved_dialog(page, "Save and run")
    run = wait_for_new_finished_run(page, lab, before)
    assert run["status"] == "SUCCESS", run
    assert "edited version" in step_log(lab, run, "Step")
    assert "edited version" in source.read_text()
    assert page.locator(DIRTY_TAB).count() == 0


def test_a_run_of_unsaved_pipeline_edits_leaves_the_file_alone(
    page: Page, lab: ServerProcess, lab_root, browser: Browser
):
    name, uuids = write_pipeline(lab_root / "unsaved-pipeline", {"A": ("a.sh", "echo a\n", [])})
    path = lab_root / "unsaved-pipeline" / name
    on_disk = path.read_bytes()
    other = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    other.set_default_timeout(60_000)
    try:
        open_in_lab(other, lab, f"unsaved-pipeline/{name}")
        node(other, uuids["A"]).wait_for()
        open_in_lab(page, lab, f"unsaved-pipeline/{name}")
        node(page, uuids["A"]).click()
        page.locator(f'[data-step-editor="{uuids["A"]}"] [data-field="title"]').fill("Edited")
        page.click('[data-action="apply-step"]')
        page.wait_for_selector(DIRTY_TAB)

        click_run_all(page)
        run = wait_for_new_finished_run(page, lab, "")
        assert run["status"] == "SUCCESS", run
        assert [s["title"] for s in run["steps"]] == ["Edited"]
        assert run["pipeline_path"] == f"unsaved-pipeline/{name}"
        assert path.read_bytes() == on_disk
        assert page.locator(DIRTY_TAB).count() == 1
        page.locator('.jp-orchest-tabs [data-tab="runs"]').click()
        page.wait_for_selector(f'.jp-orchest-side [data-run-id="{run["id"]}"]')

        # The other tab's save meets the file as it opened it: no "File Changed" question.
        node(other, uuids["A"]).click()
        other.locator(f'[data-step-editor="{uuids["A"]}"] [data-field="title"]').fill("Other")
        other.click('[data-action="apply-step"]')
        other.wait_for_selector(DIRTY_TAB)
        other.locator(".jp-orchest-graph").click(position={"x": 5, "y": 5})
        other.keyboard.press("Control+s")
        other.wait_for_function(
            "() => document.querySelector('.jp-Dialog')"
            " || !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')"
        )
        assert other.locator(".jp-Dialog").count() == 0
        saved = json.loads(path.read_text())
        assert saved["steps"][uuids["A"]]["title"] == "Other"
    finally:
        other.context.close()


def test_undoing_back_to_the_saved_state_clears_the_unsaved_mark(
    page: Page, lab: ServerProcess, lab_root
):
    name, uuids = write_pipeline(
        lab_root / "undo-saved", {"A": ("a.sh", "true\n", []), "B": ("b.sh", "true\n", ["A"])}
    )
    open_in_lab(page, lab, f"undo-saved/{name}")
    node(page, uuids["B"]).click()
    page.keyboard.press("Delete")
    page.wait_for_selector(DIRTY_TAB)
    page.keyboard.press("Control+z")
    node(page, uuids["B"]).wait_for()
    page.wait_for_selector(DIRTY_TAB, state="detached")
    page.keyboard.press("Control+Shift+z")
    node(page, uuids["B"]).wait_for(state="detached")
    page.wait_for_selector(DIRTY_TAB)

    page.keyboard.press("Control+s")
    page.wait_for_selector(DIRTY_TAB, state="detached")
    page.keyboard.press("Control+z")
    node(page, uuids["B"]).wait_for()
    page.wait_for_selector(DIRTY_TAB)
    page.keyboard.press("Control+Shift+z")
    node(page, uuids["B"]).wait_for(state="detached")
    page.wait_for_selector(DIRTY_TAB, state="detached")


def test_run_pipeline_from_the_file_browser_asks_about_an_unsaved_notebook(
    page: Page, lab: ServerProcess, lab_root
):
    name, uuids = write_pipeline(
        lab_root / "unsaved-browser",
        {"Note": ("note.ipynb", notebook("print('saved version')"), [])},
    )
    source = lab_root / "unsaved-browser" / "note.ipynb"
    open_in_lab(page, lab, "unsaved-browser/note.ipynb")
    cell = page.locator(".jp-Notebook .jp-Cell .cm-content").first
    cell.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("print('edited version')")
    page.wait_for_selector(DIRTY_TAB)

    def run_from_the_file_browser(button: str) -> None:
        page.click(
            f'.jp-DirListing-item[data-file-type="orchest-pipeline"][title*="{name}"]',
            button="right",
        )
        page.click('.lm-Menu-item:has-text("Run Pipeline")')
        answer_unsaved_dialog(page, button, "note.ipynb")

    run_from_the_file_browser("Cancel")
    code, runs = lab.request("GET", f"/orchest/api/runs?pipeline_path=unsaved-browser/{name}")
    assert code == 200 and runs["total"] == 0, runs
    assert page.locator(DIRTY_TAB).count() == 1

    run_from_the_file_browser("Save and run")
    # the run opens its pipeline and shows itself there
    page.wait_for_selector(f'[data-step-uuid="{uuids["Note"]}"][data-status="SUCCESS"]')
    run = lab.wait_for_run(view_run_id(page))
    assert run["status"] == "SUCCESS", run
    code, executed = lab.request(
        "GET", f"/orchest/api/runs/{run['id']}/steps/{uuids['Note']}/notebook"
    )
    assert code == 200, executed
    assert "edited version" in "".join(executed["cells"][0]["outputs"][0]["text"])
    assert "edited version" in source.read_text()
