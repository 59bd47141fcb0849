"""The pipeline canvas in a real JupyterLab and headless Chromium: moving nodes, tidy up,
where new steps go, the minimap."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import node, open_in_lab, wait_for_statuses, write_pipeline
from playwright.sync_api import Locator, Page

from tests.server import ServerProcess

TRANSLATE = re.compile(r"translate\(\s*(-?[\d.]+)px,\s*(-?[\d.]+)px\)")


def flow_node(page: Page, step_uuid: str) -> Locator:
    return page.locator(f'.react-flow__node[data-id="{step_uuid}"]')


def drawn_positions(page: Page) -> dict[str, tuple[float, float]]:
    """Each node's position on the canvas, as React Flow draws it (its translate)."""
    transforms = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.react-flow__node')]
            .map(el => [el.dataset.id, el.style.transform]))"""
    )
    positions = {}
    for step_uuid, transform in transforms.items():
        match = TRANSLATE.search(transform)
        assert match, transform
        positions[step_uuid] = (float(match[1]), float(match[2]))
    return positions


def stored_positions(path: Path) -> dict[str, tuple[float, float]]:
    steps = json.loads(path.read_text())["steps"]
    return {
        key: tuple(step["meta_data"]["position"])
        for key, step in steps.items()
        if step.get("meta_data", {}).get("position") is not None
    }


def with_positions(path: Path, positions: dict[str, tuple[int, int]]) -> None:
    description = json.loads(path.read_text())
    for key, (x, y) in positions.items():
        description["steps"][key]["meta_data"] = {"hidden": False, "position": [x, y]}
    path.write_text(json.dumps(description, indent=2))


def center(locator: Locator) -> tuple[float, float]:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def press_and_move(page: Page, source: Locator, to: tuple[float, float]) -> None:
    """Press on ``source`` and move to ``to`` in steps (the button stays down)."""
    x, y = center(source)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y + 10, steps=4)
    page.mouse.move(*to, steps=15)


def drop_on(page: Page, source: Locator, to: tuple[float, float]) -> None:
    press_and_move(page, source, to)
    page.mouse.up()


def save(page: Page) -> None:
    page.locator(".jp-orchest-graph").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty", state="detached")


def assert_near(a: tuple[float, float], b: tuple[float, float], within: float) -> None:
    """Within a few pixels (the drag threshold shifts a drop by as much)."""
    assert abs(a[0] - b[0]) <= within and abs(a[1] - b[1]) <= within, (a, b)


def chain(lab_root: Path, name: str) -> tuple[Path, dict[str, str]]:
    steps = {
        "A": ("a.sh", "true\n", []),
        "B": ("b.sh", "true\n", ["A"]),
        "C": ("c.sh", "true\n", ["B"]),
        "D": ("d.sh", "true\n", ["A"]),
    }
    file_name, uuids = write_pipeline(lab_root / name, steps)
    return lab_root / name / file_name, uuids


def test_dropping_a_node_on_another_moves_only_that_node(page: Page, lab: ServerProcess, lab_root):
    path, uuids = chain(lab_root, "drop-on")
    stored = {
        uuids["A"]: (0, 0),
        uuids["B"]: (300, 0),
        uuids["C"]: (600, 0),
        uuids["D"]: (300, 150),
    }
    with_positions(path, stored)
    open_in_lab(page, lab, f"drop-on/{path.name}")
    page.wait_for_selector("[data-step-uuid]")
    assert drawn_positions(page) == {k: (float(x), float(y)) for k, (x, y) in stored.items()}
    page.wait_for_selector(".react-flow__minimap")

    drop_on(page, node(page, uuids["C"]), center(node(page, uuids["B"])))
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty")
    drawn = drawn_positions(page)
    for title in ("A", "B", "D"):
        assert drawn[uuids[title]] == stored[uuids[title]], title
    assert_near(drawn[uuids["C"]], stored[uuids["B"]], within=10)

    drop_on(
        page,
        node(page, uuids["A"]),
        (center(node(page, uuids["D"]))[0] + 30, center(node(page, uuids["D"]))[1] + 20),
    )
    page.wait_for_selector(f'[data-step-uuid="{uuids["A"]}"]')
    after = drawn_positions(page)
    assert after[uuids["B"]] == drawn[uuids["B"]] and after[uuids["C"]] == drawn[uuids["C"]]
    assert after[uuids["D"]] == drawn[uuids["D"]]
    save(page)
    assert stored_positions(path) == {k: (round(x), round(y)) for k, (x, y) in after.items()}


def test_a_file_without_positions_is_laid_out_once(page: Page, lab: ServerProcess, lab_root):
    path, uuids = chain(lab_root, "laid-out")
    open_in_lab(page, lab, f"laid-out/{path.name}")
    page.wait_for_selector("[data-step-uuid]")
    laid_out = drawn_positions(page)
    drop_on(page, node(page, uuids["D"]), center(node(page, uuids["B"])))
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty")
    drawn = drawn_positions(page)
    for title in ("A", "B", "C"):
        assert drawn[uuids[title]] == laid_out[uuids[title]], title
    assert_near(drawn[uuids["D"]], laid_out[uuids["B"]], within=10)
    save(page)
    assert stored_positions(path) == {k: (round(x), round(y)) for k, (x, y) in drawn.items()}


def test_tidy_up_lays_out_overlapping_nodes_on_request(page: Page, lab: ServerProcess, lab_root):
    path, uuids = chain(lab_root, "tidy")
    stored = {uuids["A"]: (0, 0), uuids["B"]: (10, 10), uuids["C"]: (20, 20), uuids["D"]: (30, 30)}
    with_positions(path, stored)
    open_in_lab(page, lab, f"tidy/{path.name}")
    page.wait_for_selector("[data-step-uuid]")
    assert drawn_positions(page) == {k: (float(x), float(y)) for k, (x, y) in stored.items()}
    assert page.locator(".jp-mod-current.jp-mod-dirty").count() == 0

    page.click('[data-command="orchest:tidy-up"]')
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty")
    tidied = drawn_positions(page)
    boxes = {title: node(page, uuids[title]).bounding_box() for title in uuids}
    assert boxes["A"]["x"] + boxes["A"]["width"] <= boxes["B"]["x"]
    assert boxes["B"]["x"] + boxes["B"]["width"] <= boxes["C"]["x"]
    assert len(set(tidied.values())) == 4
    canvas = page.locator(".jp-orchest-graph").bounding_box()
    for box in boxes.values():
        assert canvas["x"] <= box["x"] and box["x"] + box["width"] <= canvas["x"] + canvas["width"]
        assert (
            canvas["y"] <= box["y"] and box["y"] + box["height"] <= canvas["y"] + canvas["height"]
        )
    save(page)
    assert stored_positions(path) == {k: (round(x), round(y)) for k, (x, y) in tidied.items()}

    page.click('[data-command="orchest:undo"]')
    page.wait_for_function(
        "id => document.querySelector(`.react-flow__node[data-id='${id}']`)"
        ".style.transform.includes('translate(10px, 10px)')",
        arg=uuids["B"],
    )
    assert drawn_positions(page) == {k: (float(x), float(y)) for k, (x, y) in stored.items()}


def test_a_node_being_dragged_stays_under_the_pointer_while_the_run_updates(
    page: Page, lab: ServerProcess, lab_root
):
    release = lab_root / "dragging" / "release"
    steps = {
        "Wait": ("wait.sh", f"while [ ! -f '{release}' ]; do sleep 0.05; done\n", []),
        "After": ("after.sh", "true\n", ["Wait"]),
        "Moved": ("moved.sh", "true\n", ["Wait"]),
    }
    file_name, uuids = write_pipeline(lab_root / "dragging", steps)
    open_in_lab(page, lab, f"dragging/{file_name}")
    page.wait_for_selector("[data-step-uuid]")
    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(page, {uuids["Wait"]: "STARTED"})
    before = drawn_positions(page)[uuids["Moved"]]
    x, y = center(node(page, uuids["Moved"]))
    press_and_move(page, node(page, uuids["Moved"]), (x + 40, y + 120))
    page.wait_for_function(
        """([id, x]) => {
            const m = /translate\\(\\s*(-?[\\d.]+)px/.exec(
                document.querySelector(`.react-flow__node[data-id="${id}"]`).style.transform);
            return m && Number(m[1]) > x + 5;
        }""",
        arg=[uuids["Moved"], before[0]],
    )
    held = drawn_positions(page)[uuids["Moved"]]
    release.write_text("go")
    wait_for_statuses(page, {uuids["Wait"]: "SUCCESS", uuids["After"]: "SUCCESS"})
    assert drawn_positions(page)[uuids["Moved"]] == held
    page.mouse.up()
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty")
    assert_near(drawn_positions(page)[uuids["Moved"]], held, within=1)


def test_add_step_places_the_new_node_in_the_visible_area(page: Page, lab: ServerProcess, lab_root):
    path, uuids = chain(lab_root, "add-here")
    (lab_root / "add-here" / "extra.py").write_text("print('extra')\n")
    open_in_lab(page, lab, f"add-here/{path.name}")
    page.wait_for_selector("[data-step-uuid]")
    graph = page.locator(".jp-orchest-graph")
    box = graph.bounding_box()
    # Pan so that the steps sit in the left part of the canvas, off its middle.
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + 60, steps=10)
    page.mouse.up()
    laid_out = drawn_positions(page)

    page.click('[data-command="orchest:add-step"]')
    dialog = page.locator(".jp-Dialog")
    dialog.locator('.jp-DirListing-item:has-text("extra.py")').click()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    added = page.locator('[data-step-uuid]:has(.jp-orchest-node-title:text-is("extra"))')
    added.wait_for()
    shown = added.bounding_box()
    assert box["x"] <= shown["x"] and shown["x"] + shown["width"] <= box["x"] + box["width"]
    assert box["y"] <= shown["y"] and shown["y"] + shown["height"] <= box["y"] + box["height"]
    drawn = drawn_positions(page)
    for title, step_uuid in uuids.items():
        assert drawn[step_uuid] == laid_out[step_uuid], title
    save(page)
    assert stored_positions(path) == {k: (round(x), round(y)) for k, (x, y) in drawn.items()}
