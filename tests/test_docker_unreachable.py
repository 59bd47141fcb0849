"""A Docker engine that cannot be reached: 503 for new docker runs, the server stays up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .helpers import make_pipeline


@pytest.fixture
def jp_server_config(tmp_path: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"orchest_ext": True}},
        "OrchestApp": {"db_path": str(tmp_path / "state" / "orchest.db")},
        "DockerExecutor": {"docker_url": f"unix://{tmp_path}/no-engine.sock"},
        "PipelineSessionManager": {"docker_url": f"unix://{tmp_path}/no-engine.sock"},
    }


async def test_docker_run_answers_503_when_the_engine_is_unreachable(api, jp_root_dir):
    make_pipeline(jp_root_dir / "p", {"A": ("a.sh", "echo a\n", [])})
    code, reply = await api(
        "POST", "runs", body={"pipeline_path": "p/pipeline.orchest", "backend": "docker"}
    )
    assert code == 503, reply
    assert "Docker engine unreachable" in reply["message"]
    assert "no-engine.sock" in reply["message"]
    code, page = await api("GET", "runs")
    assert code == 200 and page["total"] == 0
    code, run = await api("POST", "runs", body={"pipeline_path": "p/pipeline.orchest"})
    assert code == 202, run


async def test_sessions_say_why_they_cannot_launch_when_the_engine_is_unreachable(api):
    code, reply = await api("GET", "launches")
    assert code == 200, reply
    assert reply["launches"] == [] and reply["available"] is False
    assert "no-engine.sock" in reply["reason"], reply
