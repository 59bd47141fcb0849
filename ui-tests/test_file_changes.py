"""Renames, moves and deletes of step files in JupyterLab reach the open pipelines."""

from __future__ import annotations

import json
import re

from conftest import node, open_in_lab, write_pipeline
from playwright.sync_api import Page

from tests.server import ServerProcess

DIRTY_TAB = ".lm-TabBar-tab.jp-mod-dirty"


def contents(page: Page, call: str, *args: str) -> None:
    """Call JupyterLab's contents manager, as the file browser does."""
    page.evaluate(
        f"args => window.jupyterapp.serviceManager.contents.{call}(...args).then(() => null)",
        list(args),
    )


def test_a_renamed_or_moved_step_file_is_followed(page: Page, lab: ServerProcess, lab_root):
    directory = lab_root / "follow"
    name, uuids = write_pipeline(
        directory, {"A": ("a.py", "print(1)\n", []), "B": ("b.sh", "true\n", ["A"])}
    )
    (directory / "sub").mkdir()
    open_in_lab(page, lab, f"follow/{name}")
    node(page, uuids["A"]).wait_for()
    if not page.locator("#filebrowser").is_visible():
        page.click('.jp-SideBar [data-id="filebrowser"]')
    item = page.locator(".jp-DirListing-item").filter(has_text=re.compile(r"^a\.py"))
    item.click(button="right")
    page.locator('.lm-Menu-item[data-command="filebrowser:rename"]').click()
    editor = page.locator(".jp-DirListing-editor")
    editor.fill("renamed.py")
    editor.press("Enter")
    page.wait_for_selector(DIRTY_TAB)
    assert node(page, uuids["A"]).get_attribute("title").endswith("renamed.py")

    contents(page, "rename", "follow/b.sh", "follow/sub/b.sh")
    page.wait_for_function(
        "uuid => document.querySelector(`[data-step-uuid='${uuid}']`).title.endsWith('sub/b.sh')",
        arg=uuids["B"],
    )
    assert page.locator(".jp-orchest-node-invalid").count() == 0

    page.locator(".jp-orchest-graph").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    page.wait_for_selector(DIRTY_TAB, state="detached")
    saved = json.loads((directory / name).read_text())
    assert saved["steps"][uuids["A"]]["file_path"] == "renamed.py"
    assert saved["steps"][uuids["B"]]["file_path"] == "sub/b.sh"

    # Undo takes the paths back (the files stay where they are now).
    page.keyboard.press("Control+z")
    page.wait_for_function(
        "uuid => document.querySelector(`[data-step-uuid='${uuid}']`).title.endsWith('\\nb.sh')",
        arg=uuids["B"],
    )


def test_a_deleted_step_file_marks_its_node_at_once(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(
        lab_root / "follow-delete",
        {"Keep": ("keep.sh", "true\n", []), "Gone": ("gone.sh", "true\n", ["Keep"])},
    )
    open_in_lab(page, lab, f"follow-delete/{name}")
    node(page, uuids["Gone"]).wait_for()
    contents(page, "delete", "follow-delete/gone.sh")
    marked = node(page, uuids["Gone"]).and_(page.locator(".jp-orchest-node-invalid"))
    marked.wait_for()
    text = node(page, uuids["Gone"]).locator(".jp-orchest-node-issues").inner_text()
    assert "gone.sh" in text and uuids["Gone"] not in text, text
    issues = node(page, uuids["Gone"]).locator(".jp-orchest-node-issues")
    assert issues.evaluate("el => el.scrollWidth <= el.clientWidth"), "cut off sideways"
    assert node(page, uuids["Keep"]).get_attribute("class").count("jp-orchest-node-invalid") == 0
    assert page.locator(DIRTY_TAB).count() == 0


def test_the_issue_banners_go_when_the_missing_file_is_created(
    page: Page, lab: ServerProcess, lab_root
):
    name, _ = write_pipeline(
        lab_root / "follow-create",
        {"First": ("first.sh", "true\n", []), "Later": ("later.py", "print(1)\n", ["First"])},
    )
    (lab_root / "follow-create" / "later.py").unlink()
    open_in_lab(page, lab, f"follow-create/{name}")
    page.wait_for_selector('[data-banner="issues"]')
    page.locator('.jp-orchest-view [data-command="orchest:run-all"]').click()
    error = page.locator('[data-banner="error"]')
    error.wait_for()
    assert "1 issue" in error.inner_text()

    page.evaluate(
        """() => window.jupyterapp.serviceManager.contents.save('follow-create/later.py',
            {type: 'file', format: 'text', content: 'print(1)\\n'}).then(() => null)"""
    )
    page.wait_for_selector('[data-banner="issues"]', state="detached")
    error.wait_for(state="detached")
    assert page.locator(".jp-orchest-node-invalid").count() == 0
    code, runs = lab.request("GET", f"/orchest/api/runs?pipeline_path=follow-create/{name}")
    assert code == 200 and runs["total"] == 0, runs
