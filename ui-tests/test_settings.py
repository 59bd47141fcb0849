"""The pipeline settings (schema/settings.json) through JupyterLab's setting registry."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import open_in_lab, write_pipeline
from playwright.sync_api import Page

from tests.server import ServerProcess

SETTINGS = "/lab/api/settings/orchest-ext:settings"


@pytest.fixture
def user_settings(lab: ServerProcess) -> Iterator[None]:
    """Leave the user's settings empty again after the test (the server is shared)."""
    yield
    code, body = lab.request("PUT", SETTINGS, {"raw": "{}"})
    assert code == 204, body


def test_settings_schema_is_served_with_its_defaults(lab: ServerProcess):
    code, body = lab.request("GET", SETTINGS)
    assert code == 200, body
    properties = body["schema"]["properties"]
    assert properties["failurePolicy"]["default"] == "continue"
    assert properties["notifications"]["enum"] == ["on-failure", "every-end", "never"]
    assert properties["defaultBackend"]["default"] == ""


def test_a_new_view_starts_from_the_settings(
    page: Page, lab: ServerProcess, lab_root, user_settings
):
    code, offered = lab.request("GET", "/orchest/api/backends")
    assert code == 200, offered
    others = [name for name in offered["backends"] if name != offered["default"]]
    assert others, offered
    raw = json.dumps({"defaultBackend": others[0], "failurePolicy": "fail_fast"})
    code, body = lab.request("PUT", SETTINGS, {"raw": raw})
    assert code == 204, body
    name, _ = write_pipeline(lab_root / "settings", {"A": ("a.sh", "true\n", [])})
    open_in_lab(page, lab, f"settings/{name}")
    page.wait_for_selector("[data-step-uuid]")
    backend = page.locator('select[data-option="backend"]')
    page.wait_for_function(
        "name => document.querySelector('select[data-option=\"backend\"]').value === name",
        arg=others[0],
    )
    assert backend.input_value() == others[0]
    assert page.locator('select[data-option="failure-policy"]').input_value() == "fail_fast"
