"""Browser tests: a real `jupyter lab` with orchest_ext, driven by headless Chromium.

Chromium comes from Debian's `chromium` package (Playwright cannot download its own
browsers here); `ORCHEST_CHROMIUM` overrides its path.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from orchest_ext.executors.base import STEP_SDK_PATH
from tests.server import CHROMIUM_ARGS, ServerProcess

EXAMPLES = Path(__file__).parent.parent / "examples"
CHROMIUM = os.environ.get("ORCHEST_CHROMIUM", "/usr/bin/chromium")

# No "get notified about Jupyter news?" toast over the pipeline view.
PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lab-root")
    for name in ("quickstart", "elyra"):
        shutil.copytree(EXAMPLES / name, root / name)
    return root


@pytest.fixture(scope="session")
def lab(lab_root: Path, tmp_path_factory) -> Iterator[ServerProcess]:
    """One `jupyter lab` for the browser tests (each test uses its own workspace)."""
    state = tmp_path_factory.mktemp("lab-state")
    labconfig = state / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(json.dumps(PAGE_CONFIG))
    server = ServerProcess(
        lab_root,
        state,
        # window.jupyterapp: tests run commands with arguments (e.g. open side by side).
        extra_args=[
            "--OrchestApp.max_parallel=4",
            "--LabApp.news_url=None",
            "--LabApp.expose_app_in_browser=True",
        ],
        app_module="jupyterlab",
    )
    with pytest.MonkeyPatch.context() as patch:
        # its kernels import the step API of this checkout (an install puts the same
        # directory on the path: see tests/test_packaging.py)
        paths = [str(STEP_SDK_PATH), *filter(None, [os.environ.get("PYTHONPATH")])]
        patch.setenv("PYTHONPATH", os.pathsep.join(paths))
        server.start(timeout=120)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.set_default_navigation_timeout(60_000)
    yield page
    context.close()


def open_in_lab(page: Page, lab: ServerProcess, path: str = "") -> None:
    """Open JupyterLab in a fresh workspace, with ``path`` opened by its default editor."""
    workspace = f"t{uuid.uuid4().hex[:10]}"
    tree = f"/tree/{path}" if path else ""
    page.goto(f"{lab.url}/lab/workspaces/{workspace}{tree}?reset&token={lab.token}")
    page.wait_for_selector("#jp-main-dock-panel", state="attached")


def write_pipeline(
    directory: Path, steps: dict[str, tuple[str, str, list[str]]], name: str = "pipeline"
) -> tuple[str, dict[str, str]]:
    """Write step files and ``<name>.orchest`` (no positions: the view lays it out).

    ``steps`` maps a title to (file name, content, parent titles). Returns the pipeline
    file's name and a map from title to step uuid."""
    directory.mkdir(parents=True, exist_ok=True)
    uuids = {title: str(uuid.uuid4()) for title in steps}
    description = {"name": name, "uuid": str(uuid.uuid4()), "version": "1.0", "steps": {}}
    for title, (file_name, content, parents) in steps.items():
        (directory / file_name).write_text(content)
        description["steps"][uuids[title]] = {
            "uuid": uuids[title],
            "title": title,
            "file_path": file_name,
            "incoming_connections": [uuids[parent] for parent in parents],
            "parameters": {},
        }
    file_name = f"{name}.orchest"
    (directory / file_name).write_text(json.dumps(description, indent=2))
    return file_name, uuids


def open_beside(page: Page, path: str) -> None:
    """Open ``path`` in the pipeline view in a split to the right of the current tab."""
    page.evaluate(
        """path => window.jupyterapp.commands.execute('docmanager:open',
            {path, factory: 'Pipeline', options: {mode: 'split-right'}}).then(() => null)""",
        path,
    )


def save_screenshot(target: Page | Locator, name: str) -> None:
    """With ``ORCHEST_SCREENSHOTS`` set (a directory, e.g. docs/images), save ``target`` (a
    page or one element) there as ``<name>.png``: the documentation's screenshots."""
    directory = os.environ.get("ORCHEST_SCREENSHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        target.screenshot(path=str(Path(directory) / f"{name}.png"))


def node(page: Page, step_uuid: str):
    return page.locator(f'[data-step-uuid="{step_uuid}"]')


def wait_for_statuses(page: Page, expected: dict[str, str], timeout: float = 60_000) -> None:
    """Wait until each node shows its expected status ("" for none)."""
    page.wait_for_function(
        """expected => Object.entries(expected).every(([uuid, status]) => {
            const el = document.querySelector(`[data-step-uuid="${uuid}"]`);
            return el !== null && el.dataset.status === status;
        })""",
        arg=expected,
        timeout=timeout,
    )


def statuses(page: Page) -> dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-step-uuid]')]
            .map(el => [el.dataset.stepUuid, el.dataset.status]))"""
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test, save a screenshot of the page to ui-tests/test-results/."""
    outcome = yield
    report = outcome.get_result()
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and page is not None:
        results = Path(__file__).parent / "test-results"
        results.mkdir(exist_ok=True)
        try:
            page.screenshot(path=str(results / f"{item.name}.png"))
        except Exception as err:  # the page may be gone; the failure itself matters more
            report.sections.append(("screenshot", f"no screenshot: {err}"))
