"""Editing pipelines in a real JupyterLab and headless Chromium: build, connect, save, undo."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import node, open_in_lab, wait_for_statuses, write_pipeline
from playwright.sync_api import Locator, Page

from tests.server import ServerProcess


def drag(page: Page, source: Locator, target: Locator | tuple[float, float]) -> None:
    """Press on ``source``, move in steps, release over ``target`` (a locator or a point)."""
    box = source.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    if isinstance(target, tuple):
        x, y = target
    else:
        to = target.bounding_box()
        x, y = to["x"] + to["width"] / 2, to["y"] + to["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2 + 20, box["y"] + box["height"] / 2 + 20, steps=5)
    page.mouse.move(x, y, steps=15)
    page.mouse.up()


def file_item(page: Page, name: str) -> Locator:
    return page.locator(".jp-DirListing-item").filter(has_text=re.compile(rf"^{re.escape(name)}"))


def handle(page: Page, step_uuid: str, kind: str) -> Locator:
    return page.locator(f'.react-flow__node[data-id="{step_uuid}"] .react-flow__handle.{kind}')


def uuid_of(page: Page, title: str) -> str:
    locator = page.locator(f'[data-step-uuid]:has(.jp-orchest-node-title:text-is("{title}"))')
    locator.wait_for()
    return locator.get_attribute("data-step-uuid")


def canvas_point(page: Page, fx: float, fy: float) -> tuple[float, float]:
    box = page.locator(".jp-orchest-graph").bounding_box()
    return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy


def save(page: Page) -> None:
    page.locator(".jp-orchest-graph").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty", state="detached")


def test_build_a_pipeline_from_files_save_and_run(page: Page, lab: ServerProcess, lab_root):
    built = lab_root / "built"
    built.mkdir()
    (built / "first.py").write_text("print('first')\n")
    (built / "second.sh").write_text("echo second\n")
    (built / "third.py").write_text(
        "import orchest\nprint('greeting:', orchest.get_step_param('greeting'))\n"
    )
    open_in_lab(page, lab, "built")
    file_item(page, "first.py").wait_for(state="attached")
    page.keyboard.press("Control+Shift+C")
    page.fill(".lm-CommandPalette-input", "New Pipeline")
    page.keyboard.press("Enter")
    page.wait_for_selector(".jp-orchest-view")
    page.wait_for_selector('.jp-DirListing-item:has-text("untitled.orchest")', state="attached")
    if not page.locator("#filebrowser").is_visible():
        page.click('.jp-SideBar [data-id="filebrowser"]')
    file_item(page, "first.py").wait_for(state="visible")
    assert page.locator("[data-step-uuid]").count() == 0

    drag(page, file_item(page, "first.py"), canvas_point(page, 0.2, 0.3))
    first = uuid_of(page, "first")

    page.click('[data-command="orchest:add-step"]')
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-DirListing-item").first.wait_for()
    if dialog.locator('.jp-DirListing-item:has-text("second.sh")').count() == 0:
        dialog.locator('.jp-DirListing-item:has-text("built")').dblclick()
    dialog.locator('.jp-DirListing-item:has-text("second.sh")').click()
    dialog.locator('.jp-DirListing-item:has-text("third.py")').click(modifiers=["Control"])
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    second, third = uuid_of(page, "second"), uuid_of(page, "third")
    assert page.locator(".jp-mod-current.jp-mod-dirty").count() == 1

    drag(page, handle(page, first, "source"), handle(page, second, "target"))
    page.wait_for_selector(f'.react-flow__edge[data-id="{first}->{second}"]', state="attached")
    drag(page, handle(page, second, "source"), handle(page, third, "target"))
    page.wait_for_selector(f'.react-flow__edge[data-id="{second}->{third}"]', state="attached")

    node(page, third).click()
    parameters = page.locator(f'[data-step-editor="{third}"] [data-field="parameters"]')
    parameters.fill('{"greeting": oops}')
    page.wait_for_selector('[data-field-error="parameters"]')
    assert page.locator('[data-action="apply-step"]').is_disabled()
    parameters.fill('{"greeting": "hello"}')
    page.click('[data-action="apply-step"]')
    save(page)

    path = built / "untitled.orchest"
    saved = json.loads(path.read_text())
    steps = {step["title"]: step for step in saved["steps"].values()}
    assert steps["third"]["parameters"] == {"greeting": "hello"}
    assert steps["second"]["incoming_connections"] == [first]
    assert steps["third"]["incoming_connections"] == [second]
    assert steps["first"]["file_path"] == "first.py"
    code, result = lab.request(
        "POST", "/orchest/api/pipelines/validate", {"pipeline_path": "built/untitled.orchest"}
    )
    assert code == 200 and result["valid"], result

    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(page, {first: "SUCCESS", second: "SUCCESS", third: "SUCCESS"})
    run_id = page.locator(".jp-orchest-view").get_attribute("data-run-id")
    code, log = lab.request("GET", f"/orchest/api/runs/{run_id}/steps/{third}/log")
    assert code == 200 and "greeting: hello" in log["text"]


def test_a_cycle_is_refused_on_the_spot(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(
        lab_root / "cycle",
        {"A": ("a.sh", "true\n", []), "B": ("b.sh", "true\n", ["A"]), "C": ("c.sh", "", ["B"])},
    )
    before = (lab_root / "cycle" / name).read_bytes()
    open_in_lab(page, lab, f"cycle/{name}")
    page.wait_for_selector("[data-step-uuid]")
    drag(page, handle(page, uuids["C"], "source"), handle(page, uuids["A"], "target"))
    page.wait_for_selector('[data-banner="error"]')
    message = page.locator('[data-banner="error"]').inner_text()
    assert "cycle" in message and '"A"' in message and '"C"' in message
    assert page.locator(f'.react-flow__edge[data-id="{uuids["C"]}->{uuids["A"]}"]').count() == 0
    assert page.locator(".jp-mod-current.jp-mod-dirty").count() == 0
    assert (lab_root / "cycle" / name).read_bytes() == before


WATCH_HANDLE_CLASSES = """() => {
    window.changedHandles = new Set();
    new MutationObserver(records => {
        for (const record of records) {
            if (record.target.classList.contains('react-flow__handle')) {
                window.changedHandles.add(record.target.dataset.id);
            }
        }
    }).observe(document.querySelector('.react-flow__nodes'),
               {attributes: true, attributeFilter: ['class'], subtree: true});
}"""

CONNECTION_CLASSES = ("connectingfrom", "connectingto", "valid", "clickconnecting")


def with_class(page: Page, name: str) -> list[str]:
    """The nodes whose handles carry the class ``name``, as "uuid type"."""
    return page.evaluate(
        """name => [...document.querySelectorAll(`.react-flow__handle.${name}`)].map(el =>
            `${el.dataset.nodeid} ${el.classList.contains('source') ? 'source' : 'target'}`)""",
        name,
    )


def test_a_connection_drag_marks_only_the_handles_it_involves(
    page: Page, lab: ServerProcess, lab_root
):
    steps = {title: (f"{title}.sh", "true\n", []) for title in ("A", "B", "C", "D", "E")}
    name, uuids = write_pipeline(lab_root / "marks", steps)
    open_in_lab(page, lab, f"marks/{name}")
    page.wait_for_selector("[data-step-uuid]")
    page.evaluate(WATCH_HANDLE_CLASSES)
    source, target = handle(page, uuids["A"], "source"), handle(page, uuids["B"], "target")
    box, to = source.bounding_box(), target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(to["x"] + to["width"] / 2, to["y"] + to["height"] / 2, steps=15)
    page.wait_for_selector(f'.react-flow__node[data-id="{uuids["B"]}"] .target.connectingto.valid')
    assert with_class(page, "connectingfrom") == [f"{uuids['A']} source"]
    assert with_class(page, "connectingto") == [f"{uuids['B']} target"]
    assert with_class(page, "valid") == [f"{uuids['B']} target"]

    page.mouse.up()
    page.wait_for_selector(
        f'.react-flow__edge[data-id="{uuids["A"]}->{uuids["B"]}"]', state="attached"
    )
    page.wait_for_function(
        "names => names.every(n => !document.querySelector(`.react-flow__handle.${n}`))",
        arg=list(CONNECTION_CLASSES),
    )
    changed = page.evaluate("() => [...window.changedHandles]")
    assert sorted(changed) == sorted(
        [source.get_attribute("data-id"), target.get_attribute("data-id")]
    )


def test_two_clicks_connect_two_handles(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(
        lab_root / "clicks",
        {"First": ("first.sh", "true\n", []), "Second": ("second.sh", "true\n", [])},
    )
    open_in_lab(page, lab, f"clicks/{name}")
    page.wait_for_selector("[data-step-uuid]")
    handle(page, uuids["First"], "source").click()
    page.wait_for_selector(f'.react-flow__node[data-id="{uuids["First"]}"] .source.clickconnecting')
    handle(page, uuids["Second"], "target").click()
    page.wait_for_selector(
        f'.react-flow__edge[data-id="{uuids["First"]}->{uuids["Second"]}"]', state="attached"
    )
    page.wait_for_selector(".react-flow__handle.clickconnecting", state="detached")
    assert page.locator(".jp-mod-current.jp-mod-dirty").count() == 1


def test_undo_restores_the_file_byte_for_byte(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(
        lab_root / "undo",
        {"Keep": ("keep.sh", "true\n", []), "Drop": ("drop.sh", "true\n", ["Keep"])},
    )
    path = lab_root / "undo" / name
    original = path.read_bytes()
    open_in_lab(page, lab, f"undo/{name}")
    node(page, uuids["Drop"]).click()
    page.keyboard.press("Delete")
    page.wait_for_selector(f'[data-step-uuid="{uuids["Drop"]}"]', state="detached")
    drag(page, node(page, uuids["Keep"]), canvas_point(page, 0.6, 0.6))
    save(page)
    assert uuids["Drop"] not in json.loads(path.read_text())["steps"]

    page.click('[data-command="orchest:undo"]')
    page.wait_for_selector('[data-command="orchest:redo"]:not([disabled])')
    page.locator(".jp-orchest-graph").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+z")
    page.wait_for_selector(f'[data-step-uuid="{uuids["Drop"]}"]')
    assert page.locator('[data-command="orchest:undo"]').is_disabled()
    save(page)
    assert path.read_bytes() == original

    page.click('[data-command="orchest:redo"]')
    page.wait_for_selector(f'[data-step-uuid="{uuids["Drop"]}"]', state="detached")
    page.click('[data-command="orchest:redo"]')
    page.wait_for_selector('[data-command="orchest:redo"][disabled]')
    assert page.locator(f'[data-step-uuid="{uuids["Drop"]}"]').count() == 0


def test_unknown_fields_survive_an_edit(page: Page, lab: ServerProcess, lab_root):
    name, uuids = write_pipeline(lab_root / "foreign", {"Only": ("only.sh", "true\n", [])})
    path = lab_root / "foreign" / name
    description = json.loads(path.read_text())
    description["x-other-tool"] = {"owner": "team-a", "tags": ["nightly"]}
    description["steps"][uuids["Only"]]["x-step-note"] = "do not lose me"
    path.write_text(json.dumps(description, indent=2) + "\n")
    open_in_lab(page, lab, f"foreign/{name}")
    node(page, uuids["Only"]).click()
    page.locator(f'[data-step-editor="{uuids["Only"]}"] [data-field="title"]').fill("Renamed")
    page.click('[data-action="apply-step"]')
    page.wait_for_selector('.jp-orchest-node-title:text-is("Renamed")')
    save(page)
    saved = json.loads(path.read_text())
    assert saved["x-other-tool"] == {"owner": "team-a", "tags": ["nightly"]}
    assert saved["steps"][uuids["Only"]]["x-step-note"] == "do not lose me"
    assert saved["steps"][uuids["Only"]]["title"] == "Renamed"
    assert list(saved) == list(description)


def test_a_file_changed_on_disk_is_not_silently_overwritten(
    page: Page, lab: ServerProcess, lab_root
):
    name, uuids = write_pipeline(lab_root / "changed", {"Only": ("only.sh", "true\n", [])})
    path = lab_root / "changed" / name
    open_in_lab(page, lab, f"changed/{name}")
    page.wait_for_selector("[data-step-uuid]")
    outside = json.loads(path.read_text())
    outside["name"] = "changed elsewhere"
    path.write_text(json.dumps(outside))
    drag(page, node(page, uuids["Only"]), canvas_point(page, 0.3, 0.7))
    page.locator(".jp-orchest-graph").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    page.wait_for_selector('.jp-Dialog:has-text("File Changed")')
    assert json.loads(path.read_text())["name"] == "changed elsewhere"
    Path(path).unlink()
