"""A step waiting for its Orchest environment's image to be built on demand shows BUILDING
on its node, then its run's status. Needs the Docker engine and the step image
(.ci/setup-docker.sh)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import node, open_in_lab, wait_for_statuses, write_pipeline
from playwright.sync_api import Page

from tests.docker_support import docker, require_image
from tests.server import ServerProcess


@pytest.fixture
def environment(lab_root: Path) -> Iterator[tuple[Path, str]]:
    """A project with an environment whose build takes a few seconds (its image is new:
    the setup script names a fresh uuid); the image is removed afterwards."""
    require_image()
    project = lab_root / f"building-{uuid.uuid4().hex[:8]}"
    env_uuid = str(uuid.uuid4())
    directory = project / ".orchest" / "environments" / env_uuid
    directory.mkdir(parents=True)
    properties = {"uuid": env_uuid, "name": "slow", "language": "python"}
    (directory / "properties.json").write_text(json.dumps(properties))
    (directory / "setup_script.sh").write_text(f"sleep 4\necho built {env_uuid}\n")
    yield project, env_uuid
    ids = docker("images", "-q", "--filter", f"label=orchest_ext.environment={env_uuid}")
    if ids.stdout.split():
        docker("rmi", "-f", *ids.stdout.split())


def test_a_step_waiting_for_its_environment_build_is_building(
    page: Page, lab: ServerProcess, lab_root: Path, environment: tuple[Path, str]
):
    project, env_uuid = environment
    name, uuids = write_pipeline(project, {"Env": ("env.sh", "echo ran\n", [])})
    pipeline_file = project / name
    data = json.loads(pipeline_file.read_text())
    data["steps"][uuids["Env"]]["environment"] = env_uuid
    pipeline_file.write_text(json.dumps(data))

    open_in_lab(page, lab, f"{project.name}/{name}")
    page.wait_for_selector("[data-step-uuid]")
    page.select_option('select[data-option="backend"]', "docker")
    page.click('[data-command="orchest:run-all"]')
    wait_for_statuses(page, {uuids["Env"]: "BUILDING"})
    assert "jp-orchest-status-building" in (node(page, uuids["Env"]).get_attribute("class") or "")
    wait_for_statuses(page, {uuids["Env"]: "SUCCESS"}, timeout=300_000)
