"""Keyboard shortcuts act only on the focused pipeline view (JupyterLab keybindings scoped
to the view), never on another open pipeline or from elsewhere on the page."""

from __future__ import annotations

import re

from conftest import node, open_beside, open_in_lab, write_pipeline
from playwright.sync_api import Page

from tests.server import ServerProcess

STEPS = {"A": ("a.sh", "true\n", []), "B": ("b.sh", "true\n", ["A"])}


def view_of(page: Page, step_uuid: str):
    return page.locator(".jp-orchest-PipelineView").filter(has=node(page, step_uuid))


def selected(page: Page, view) -> set[str]:
    return {
        element.get_attribute("data-id")
        for element in view.locator(".react-flow__node.selected").all()
    }


def open_two_side_by_side(page: Page, lab: ServerProcess, lab_root, directory: str):
    first, one = write_pipeline(lab_root / directory, STEPS, name="one")
    second, two = write_pipeline(lab_root / directory, STEPS, name="two")
    open_in_lab(page, lab, f"{directory}/{first}")
    node(page, one["A"]).wait_for()
    open_beside(page, f"{directory}/{second}")
    node(page, two["A"]).wait_for()
    box_one = view_of(page, one["A"]).bounding_box()
    box_two = view_of(page, two["A"]).bounding_box()
    assert box_two["x"] >= box_one["x"] + box_one["width"] - 1, "not side by side"
    return one, two


def test_delete_removes_only_the_focused_pipelines_step(page: Page, lab: ServerProcess, lab_root):
    one, two = open_two_side_by_side(page, lab, lab_root, "keys-delete")
    node(page, one["A"]).click()
    node(page, two["A"]).click()
    assert selected(page, view_of(page, one["A"])) == {one["A"]}
    assert selected(page, view_of(page, two["A"])) == {two["A"]}

    page.keyboard.press("Delete")
    node(page, two["A"]).wait_for(state="detached")
    assert node(page, one["A"]).count() == 1
    assert node(page, two["B"]).count() == 1

    # Backspace in the other view deletes its selection, and only there.
    node(page, one["B"]).click()
    page.keyboard.press("Backspace")
    node(page, one["B"]).wait_for(state="detached")
    assert node(page, one["A"]).count() == 1
    assert node(page, two["B"]).count() == 1

    # Undo there brings back only its own step.
    page.keyboard.press("Control+z")
    node(page, one["B"]).wait_for()
    assert node(page, two["A"]).count() == 0


def test_delete_in_the_file_browser_deletes_no_step(page: Page, lab: ServerProcess, lab_root):
    one, two = open_two_side_by_side(page, lab, lab_root, "keys-browser")
    node(page, one["A"]).click()
    node(page, two["B"]).click()
    if not page.locator("#filebrowser").is_visible():
        page.click('.jp-SideBar [data-id="filebrowser"]')
    item = page.locator(".jp-DirListing-item").filter(has_text=re.compile(r"^a\.sh"))
    item.click()
    page.keyboard.press("Delete")
    # JupyterLab asks whether to delete the file; the answer here is no.
    page.locator(".jp-Dialog").wait_for()
    page.locator(".jp-Dialog .jp-mod-reject").click()
    page.locator(".jp-Dialog").wait_for(state="detached")
    for step in (one["A"], one["B"], two["A"], two["B"]):
        assert node(page, step).count() == 1
    assert page.locator(".jp-mod-dirty").count() == 0


def test_select_all_selects_only_the_focused_pipelines_steps(
    page: Page, lab: ServerProcess, lab_root
):
    one, two = open_two_side_by_side(page, lab, lab_root, "keys-select")
    node(page, two["A"]).click()
    page.keyboard.press("Control+a")
    view_two = view_of(page, two["A"])
    page.wait_for_function(
        "view => view.querySelectorAll('.react-flow__node.selected').length === 2",
        arg=view_two.element_handle(),
    )
    assert selected(page, view_of(page, one["A"])) == set()


def test_backspace_in_a_step_field_edits_text_not_the_graph(
    page: Page, lab: ServerProcess, lab_root
):
    name, uuids = write_pipeline(lab_root / "keys-field", STEPS)
    open_in_lab(page, lab, f"keys-field/{name}")
    node(page, uuids["A"]).click()
    title = page.locator(f'[data-step-editor="{uuids["A"]}"] [data-field="title"]')
    title.click()
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    assert title.input_value() == ""
    assert node(page, uuids["A"]).count() == 1


def test_the_edit_menu_undoes_the_current_pipelines_edit(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(lab_root / "keys-menu", STEPS)
    open_in_lab(page, lab, f"keys-menu/{name}")
    node(page, uuids["B"]).click()
    page.keyboard.press("Delete")
    node(page, uuids["B"]).wait_for(state="detached")
    page.locator('.lm-MenuBar-item:has-text("Edit")').click()
    page.locator('.lm-Menu-item[data-command="editmenu:undo"]').click()
    node(page, uuids["B"]).wait_for()


def test_ctrl_z_in_a_step_field_undoes_typing_not_a_graph_edit(
    page: Page, lab: ServerProcess, lab_root
):
    name, uuids = write_pipeline(lab_root / "keys-field-undo", STEPS)
    open_in_lab(page, lab, f"keys-field-undo/{name}")
    node(page, uuids["B"]).click()
    page.keyboard.press("Delete")
    node(page, uuids["B"]).wait_for(state="detached")
    node(page, uuids["A"]).click()
    title = page.locator(f'[data-step-editor="{uuids["A"]}"] [data-field="title"]')
    title.click()
    page.keyboard.press("End")
    page.keyboard.type("x")
    page.keyboard.press("Control+z")
    page.wait_for_function("el => el.value === 'A'", arg=title.element_handle())
    assert node(page, uuids["B"]).count() == 0


def test_keys_in_a_past_runs_tab_act_on_no_pipeline(page: Page, lab: ServerProcess, lab_root):
    """Delete/Backspace, Ctrl+A and Ctrl+Z pressed in a read-only run tab change neither that
    run's drawing nor the editable pipeline open beside it."""
    name, uuids = write_pipeline(lab_root / "keys-run", STEPS)
    code, run = lab.request("POST", "/orchest/api/runs", {"pipeline_path": f"keys-run/{name}"})
    assert code == 202, run
    lab.wait_for_run(run["id"])
    open_in_lab(page, lab)
    page.evaluate(
        """runId => window.jupyterapp.commands.execute('orchest:open-run', {runId})
            .then(() => null)""",
        run["id"],
    )
    run_view = page.locator(".jp-orchest-RunView")
    in_run = {
        title: run_view.locator(f'[data-step-uuid="{uuid}"]') for title, uuid in uuids.items()
    }
    in_run["A"].wait_for()
    open_beside(page, f"keys-run/{name}")
    pipeline = page.locator(".jp-orchest-PipelineView")
    in_pipeline = {
        title: pipeline.locator(f'[data-step-uuid="{uuid}"]') for title, uuid in uuids.items()
    }
    in_pipeline["A"].wait_for()
    box_run, box_pipeline = run_view.bounding_box(), pipeline.bounding_box()
    assert box_pipeline["x"] >= box_run["x"] + box_run["width"] - 1, "not side by side"

    # Delete / Backspace in the run tab: the pipeline's selected step stays (the pipeline's
    # own Delete, pressed after them, shows they were handled)
    in_pipeline["A"].click()
    in_run["A"].click()
    page.keyboard.press("Delete")
    page.keyboard.press("Backspace")
    in_pipeline["B"].click()
    page.keyboard.press("Delete")
    in_pipeline["B"].wait_for(state="detached")
    assert in_pipeline["A"].count() == 1
    assert in_run["A"].count() == 1 and in_run["B"].count() == 1

    # Ctrl+Z in the run tab does not undo the pipeline's delete
    in_run["B"].click()
    page.keyboard.press("Control+z")
    in_pipeline["A"].click()
    page.keyboard.press("Delete")
    in_pipeline["A"].wait_for(state="detached")
    assert in_pipeline["B"].count() == 0
    pipeline.focus()
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    in_pipeline["B"].wait_for()
    in_pipeline["A"].wait_for()

    # Ctrl+A in the run tab selects nothing in the pipeline: its Delete then removes only A
    in_pipeline["A"].click()
    in_run["A"].click()
    page.keyboard.press("Control+a")
    pipeline.focus()
    page.keyboard.press("Delete")
    in_pipeline["A"].wait_for(state="detached")
    assert in_pipeline["B"].count() == 1
    assert in_run["A"].count() == 1 and in_run["B"].count() == 1
