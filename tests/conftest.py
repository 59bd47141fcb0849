"""Shared fixtures: a real Jupyter server with orchest_ext loaded (pytest-jupyter)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .docker_support import require_image, require_swarm
from .helpers import notebook
from .launch_support import INPUT_TEXT, SESSION_IMAGES

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that restart the Docker engine run last, so no other test meets the outage."""
    items.sort(key=lambda item: item.get_closest_marker("restarts_engine") is not None)


@pytest.fixture
def jp_server_config(tmp_path: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"orchest_ext": True}},
        "OrchestApp": {"db_path": str(tmp_path / "state" / "orchest.db"), "max_parallel": 2},
    }


@pytest.fixture
def api(jp_serverapp, jp_fetch):
    """``await api(method, *path, body=None, **params)`` -> (status, json); never raises on 4xx."""

    async def call(method: str, *path: str, body: Any = None, **params: Any):
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if body is not None:
            kwargs["body"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = "{}"
        if params:
            kwargs["params"] = params
        response = await jp_fetch("orchest", "api", *path, **kwargs)
        text = response.body.decode() if response.body else ""
        return response.code, (json.loads(text) if text else None)

    return call


@pytest.fixture(params=["local", "docker", "swarm"])
def backend(request) -> str:
    """Each backend in turn; docker needs the engine and the step image, swarm also needs the
    engine to be a swarm manager."""
    if request.param == "docker":
        require_image()
    if request.param == "swarm":
        require_swarm()
    return request.param


@pytest.fixture
def session_images() -> None:
    """The session images must be built (skip without them; fail in CI)."""
    for image in SESSION_IMAGES:
        require_image(image)


@pytest.fixture
def pipeline_dir(jp_root_dir: Path) -> Path:
    """A session test's pipeline directory: ``pipelines/demo`` with ``sub/input.txt`` and
    ``sub/analysis.ipynb`` (modules that need another one define their own)."""
    directory = jp_root_dir / "pipelines" / "demo"
    (directory / "sub").mkdir(parents=True)
    (directory / "sub" / "input.txt").write_text(INPUT_TEXT)
    (directory / "sub" / "analysis.ipynb").write_text(notebook("1 + 1"))
    return directory
