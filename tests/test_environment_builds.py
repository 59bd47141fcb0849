"""Orchest environments built on demand by the runs that need them (docker backend): one
build shared by concurrent runs, its output at the head of their steps' logs."""

from __future__ import annotations

import asyncio
import json

import pytest

from .docker_support import require_image
from .helpers import make_pipeline, wait_for_run
from .test_environments import cleanup_images, write_environment, write_wheel  # noqa: F401

pytestmark = pytest.mark.docker


async def test_concurrent_runs_share_one_build_shown_in_their_logs(
    api,
    jp_root_dir,
    cleanup_images,  # noqa: F811
):
    require_image()
    project = jp_root_dir / "project"
    write_wheel(project / "wheels", "probe_on_demand", "from the wheel")
    env_uuid = write_environment(
        project, "probe", "set -e\npip install --no-index wheels/*.whl\necho installed-probe\n"
    )
    cleanup_images.append(env_uuid)
    pipeline_file, uuids = make_pipeline(
        project,
        {"Use": ("use.py", "import probe_on_demand\nprint(probe_on_demand.VALUE)\n", [])},
    )
    data = json.loads(pipeline_file.read_text())
    data["steps"][uuids["Use"]]["environment"] = env_uuid
    pipeline_file.write_text(json.dumps(data))
    body = {"pipeline_path": "project/pipeline.orchest", "backend": "docker"}

    started = [(await api("POST", "runs", body=body))[1] for _ in range(2)]
    runs = await asyncio.gather(*(wait_for_run(api, run["id"], timeout=300) for run in started))

    logs = []
    for run in runs:
        assert run["status"] == "SUCCESS", run
        _, log = await api("GET", "runs", run["id"], "steps", uuids["Use"], "log")
        logs.append(log["text"])
    heads = sorted(log.split(":", 1)[0] for log in logs)
    assert heads == [
        f"Building the image of environment 'probe' ({env_uuid})",
        f"Waiting for the image of environment 'probe' ({env_uuid}), built for another step",
    ], logs
    for log in logs:
        assert "installed-probe" in log
        assert log.endswith("Environment 'probe' is built.\nfrom the wheel\n"), log
