"""R kernels in pipeline sessions: EG starts an IRkernel container (on swarm, a service) of the
``ir`` kernelspec and the ``orchest-ext/kernel-r`` image, whose EG R launcher
(``launch_IRkernel.R``) connects back; through the session's jupyter-server it runs code in
the notebook's directory of the mounted pipeline."""

from __future__ import annotations

import json
import logging
import uuid as uuidlib
from pathlib import Path

import pytest

from orchest_ext.sessions import SHIPPED_KERNELSPECS
from orchest_ext.sessions.kernelspecs import prepare_kernelspecs
from orchest_ext.sessions.session import LaunchFailed, Session
from orchest_ext.sessions.specs import SpecSettings

from .docker_support import require_image
from .launch_support import SessionServer, session_containers, wait_for_status
from .test_launches import (  # noqa: F401
    inspect,
    jp_server_config,
    launch_running,
    sessions,
    stop_and_wait,
)
from .test_swarm_sessions import assert_nothing_left as assert_no_swarm_leftovers
from .test_swarm_sessions import launch as swarm_launch
from .test_swarm_sessions import service as swarm_service
from .test_swarm_sessions import session_services, swarm_images  # noqa: F401
from .test_swarm_sessions import sessions as swarm_sessions  # noqa: F401
from .test_swarm_sessions import stop_and_wait as swarm_stop

R_KERNEL_IMAGE = "orchest-ext/kernel-r:latest"


@pytest.mark.docker
async def test_a_session_runs_r_kernels_in_containers(
    api,
    sessions,  # noqa: F811
    pipeline_dir,
):
    require_image(R_KERNEL_IMAGE)
    pipeline_uuid = str(uuidlib.uuid4())
    running = await launch_running(api, pipeline_uuid)
    session_id = running["session_id"]
    eg_env = inspect(f"orchest-{session_id}-eg")["Config"]["Env"]
    assert "EG_ALLOWED_KERNELS=ir,python3" in eg_env

    server = SessionServer(running["server_info"])
    code, specs = await server.request("GET", "api/kernelspecs")
    assert code == 200 and specs["kernelspecs"]["ir"]["spec"]["language"] == "R", specs
    kernel_id = await server.start_notebook_kernel("sub/analysis.ipynb", kernel="ir")
    (kernel,) = session_containers(session_id, f"kernel_id={kernel_id}")
    assert inspect(kernel["ID"])["Config"]["Image"] == R_KERNEL_IMAGE

    execution = await server.execute(kernel_id, "1+1")
    assert execution.error is None, execution.error
    assert execution.displays == ["[1] 2"]
    where = await server.execute(kernel_id, 'cat(getwd(), readLines("input.txt"), sep = "\\n")')
    assert where.stdout.splitlines() == [str(pipeline_dir / "sub"), "rows: 3"]

    await stop_and_wait(api, pipeline_uuid)
    assert session_containers(session_id) == []


@pytest.mark.docker
async def test_a_swarm_session_runs_r_kernels_as_services(
    api,
    swarm_sessions,  # noqa: F811
    pipeline_dir,
):
    require_image(R_KERNEL_IMAGE)
    pipeline_uuid = str(uuidlib.uuid4())
    await swarm_launch(api, pipeline_uuid, backend="swarm")
    running = await wait_for_status(api, pipeline_uuid, {"RUNNING", "FAILED"})
    assert running["status"] == "RUNNING", running
    session_id = running["session_id"]

    server = SessionServer(running["server_info"])
    kernel_id = await server.start_notebook_kernel("sub/analysis.ipynb", kernel="ir")
    (kernel_name,) = session_services(session_id, f"kernel_id={kernel_id}")
    spec = swarm_service(kernel_name)["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert spec["Image"].startswith(R_KERNEL_IMAGE)
    execution = await server.execute(kernel_id, "1+1")
    assert execution.error is None, execution.error
    assert execution.displays == ["[1] 2"]

    await swarm_stop(api, pipeline_uuid)
    assert_no_swarm_leftovers(session_id)


def settings(kernel_images: dict[str, str]) -> SpecSettings:
    return SpecSettings(
        scope="s",
        eg_image="eg",
        server_image="server",
        kernel_image="py-kernel",
        docker_socket="/var/run/docker.sock",
        publish="loopback",
        kernel_launch_timeout=60,
        kernel_username="me",
        uid=1000,
        gid=100,
        kernel_images=kernel_images,
    )


def a_session(tmp_path: Path) -> Session:
    return Session(
        session_id="abc",
        pipeline_uuid="p",
        pipeline_dir=str(tmp_path),
        host_dir=tmp_path,
        mount_path=str(tmp_path),
        network="orchest-abc",
    )


async def test_each_kernelspec_gets_the_image_of_its_language(tmp_path: Path) -> None:
    async def exists(image: str) -> bool:
        return True

    target = tmp_path / "kernels"
    names = await prepare_kernelspecs(
        SHIPPED_KERNELSPECS,
        target,
        settings({"r": "r-kernel"}),
        a_session(tmp_path),
        exists,
        logging.getLogger("test"),
    )
    assert names == ["ir", "python3"]
    images = {
        name: json.loads((target / name / "kernel.json").read_text())["metadata"]["process_proxy"][
            "config"
        ]["image_name"]
        for name in names
    }
    assert images == {"ir": "r-kernel", "python3": "py-kernel"}


async def test_a_kernel_whose_image_is_not_built_is_not_offered(tmp_path: Path, caplog) -> None:
    async def only_python(image: str) -> bool:
        return image == "py-kernel"

    target = tmp_path / "kernels"
    session = a_session(tmp_path)
    log = logging.getLogger("test")
    names = await prepare_kernelspecs(
        SHIPPED_KERNELSPECS, target, settings({"r": "r-kernel"}), session, only_python, log
    )
    assert names == ["python3"]
    assert not (target / "ir").exists()
    assert "offers no kernel 'ir': its image r-kernel is not built" in caplog.text

    async def none(image: str) -> bool:
        return False

    with pytest.raises(LaunchFailed, match="No kernel image"):
        await prepare_kernelspecs(SHIPPED_KERNELSPECS, target, settings({}), session, none, log)
