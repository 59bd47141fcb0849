"""Orchest environments: built by `jupyter orchest environments build` on the real engine,
then used by steps on the docker backend."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid as uuidlib
import zipfile
from pathlib import Path

import pytest

from .docker_support import docker, require_image
from .helpers import make_pipeline, wait_for_run

pytestmark = pytest.mark.docker


@pytest.fixture
def jp_server_config(jp_server_config):
    """Environments are not built on demand here: steps fail naming the build command."""
    return {
        **jp_server_config,
        "OrchestApp": {**jp_server_config["OrchestApp"], "build_environments_on_demand": False},
    }


def write_wheel(directory: Path, package: str, value: str) -> Path:
    """A minimal pure-Python wheel of ``package`` whose ``VALUE`` is ``value``."""
    directory.mkdir(parents=True, exist_ok=True)
    dist_info = f"{package}-0.1.dist-info"
    path = directory / f"{package}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{package}/__init__.py", f"VALUE = {value!r}\n")
        wheel.writestr(
            f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n"
        )
        wheel.writestr(
            f"{dist_info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{dist_info}/RECORD", "")
    return path


def write_environment(project: Path, name: str, setup_script: str) -> str:
    env_uuid = str(uuidlib.uuid4())
    directory = project / ".orchest" / "environments" / env_uuid
    directory.mkdir(parents=True)
    (directory / "properties.json").write_text(
        json.dumps({"uuid": env_uuid, "name": name, "language": "python", "base_image": "x"})
    )
    (directory / "setup_script.sh").write_text(setup_script)
    return env_uuid


def environments(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchest_ext.cli", "environments", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def cleanup_images():
    uuids: list[str] = []
    yield uuids
    for env_uuid in uuids:
        listed = docker("images", "-q", "--filter", f"label=orchest_ext.environment={env_uuid}")
        ids = listed.stdout.split()
        if ids:
            docker("rmi", "-f", *ids)


async def test_a_built_environment_is_used_by_steps_on_docker(api, jp_root_dir, cleanup_images):
    require_image()
    project = jp_root_dir / "project"
    package = f"probe_{uuidlib.uuid4().hex[:8]}"
    write_wheel(project / "wheels", package, "from the wheel")
    env_uuid = write_environment(
        project, "probe", "set -e\npip install --no-index wheels/*.whl\necho installed-probe\n"
    )
    cleanup_images.append(env_uuid)
    pipeline_file, uuids = make_pipeline(
        project, {"Use": ("use.py", f"import {package}\nprint({package}.VALUE)\n", [])}
    )
    data = json.loads(pipeline_file.read_text())
    data["steps"][uuids["Use"]]["environment"] = env_uuid
    pipeline_file.write_text(json.dumps(data))
    body = {"pipeline_path": "project/pipeline.orchest", "backend": "docker"}

    _, run = await api("POST", "runs", body=body)
    run = await wait_for_run(api, run["id"])
    message = run["steps"][0]["message"]
    assert run["status"] == "FAILURE" and "not built" in message, run
    assert f"jupyter orchest environments build {project}" in message

    built = environments("build", str(project))
    assert built.returncode == 0, built.stderr
    assert f"probe ({env_uuid}): orchest-ext/environment-{env_uuid}:" in built.stdout
    assert built.stdout.rstrip().endswith("built")
    again = environments("build", str(project))
    assert again.returncode == 0 and again.stdout.rstrip().endswith("up to date"), again

    _, run = await api("POST", "runs", body=body)
    run = await wait_for_run(api, run["id"])
    assert run["status"] == "SUCCESS", run
    _, log = await api("GET", "runs", run["id"], "steps", uuids["Use"], "log")
    assert log["text"] == "from the wheel\n"


def test_a_failing_setup_script_fails_the_build_with_its_log(tmp_path, cleanup_images):
    require_image()
    env_uuid = write_environment(tmp_path, "broken", "echo about-to-fail\nexit 3\n")
    cleanup_images.append(env_uuid)
    result = environments("build", str(tmp_path))
    assert result.returncode == 1
    assert f"Building environment 'broken' ({env_uuid}) failed" in result.stderr
    assert "about-to-fail" in result.stderr and "3" in result.stderr
    listed = docker("images", "-q", "--filter", f"label=orchest_ext.environment={env_uuid}")
    assert listed.stdout.strip() == ""
