"""Start session where no Docker engine answers: disabled, saying why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PAGE_CONFIG, open_in_lab, write_pipeline
from playwright.sync_api import Page

from tests.server import ServerProcess


@pytest.fixture(scope="module")
def lab_without_docker(tmp_path_factory) -> Iterator[tuple[ServerProcess, Path]]:
    """A `jupyter lab` whose sessions point at a Docker socket nobody listens on."""
    root = tmp_path_factory.mktemp("no-docker-root")
    state = tmp_path_factory.mktemp("no-docker-state")
    labconfig = state / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(json.dumps(PAGE_CONFIG))
    socket = state / "no-engine.sock"
    server = ServerProcess(
        root,
        state,
        extra_args=[
            "--LabApp.news_url=None",
            f"--PipelineSessionManager.docker_url=unix://{socket}",
        ],
        app_module="jupyterlab",
    )
    server.start(timeout=120)
    yield server, root
    server.stop()


def test_start_session_is_disabled_with_the_reason(page: Page, lab_without_docker):
    lab, root = lab_without_docker
    name, _ = write_pipeline(root / "p", {"A": ("a.sh", "true\n", [])})
    open_in_lab(page, lab, f"p/{name}")
    page.wait_for_selector("[data-step-uuid]")
    button = page.locator('[data-command="orchest:start-session"]')
    page.wait_for_selector('[data-command="orchest:start-session"][data-unavailable]')
    assert button.is_disabled()
    assert "no-engine.sock" in button.get_attribute("title")
    assert button.get_attribute("title").startswith("Sessions are not available here")


def test_start_session_is_enabled_where_docker_answers(page: Page, lab, lab_root):
    name, _ = write_pipeline(lab_root / "session-ok", {"A": ("a.sh", "true\n", [])})
    open_in_lab(page, lab, f"session-ok/{name}")
    page.wait_for_selector('[data-command="orchest:start-session"]:not([disabled])')
    assert (
        page.locator('[data-command="orchest:start-session"]').get_attribute("data-unavailable")
        is None
    )
