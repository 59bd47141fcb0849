"""A step's container, as the docker and swarm backends make it: its name, labels, command,
mounts, environment and limits, the files its step directory needs first, and the result it
left there."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from ...infra.docker_engine import PIPELINE_LABEL, PROJECT, PROJECT_LABEL, parse_memory
from ..base import STEP_SDK_PATH, StepResult, StepSpec, spec_to_json, without_secrets
from ..masking import MASKED_ENV_VARIABLE, masked_command
from ..results import SPEC_FILE, read_result, result_file, write_json, write_parameters
from .config import DockerExecutorConfig
from .release import make_release_fifo, release_path

RUN_LABEL = "orchest_ext.run_id"
STEP_LABEL = "orchest_ext.step_uuid"
SDK_MOUNT = "/opt/orchest-ext/sdk"
"""Where the host's step API (``import orchest``) is mounted read-only and put on PYTHONPATH."""
RUNNER_MOUNT = "/opt/orchest-ext/runner"
"""Where this server's ``orchest_ext`` is mounted read-only for notebook steps, first on their
PYTHONPATH: the in-container runner is always the code that wrote the step's spec, whatever
version the image has installed (the image provides the dependencies)."""
PACKAGE_DIR = Path(__file__).resolve().parents[2]
MASKING_MOUNT = "/opt/orchest-ext/masking.py"
"""Where the host's masking filter is mounted read-only for script steps with secrets (it
needs only the image's Python)."""
SCRIPT_INTERPRETERS = {"python": "python", "shell": "bash"}
"""Interpreter (looked up on the image's PATH) per script kind, as ``LocalExecutor`` runs them.
R scripts run through ``container_main``, which installs the orchest R package first."""


def step_label_filter(run_id: str | None = None, step_uuid: str | None = None) -> list[str]:
    """The label filter of this project's step containers (services), optionally of one
    run and step."""
    labels = [f"{PROJECT_LABEL}={PROJECT}", STEP_LABEL]
    if run_id:
        labels.append(f"{RUN_LABEL}={run_id}")
    if step_uuid:
        labels.append(f"{STEP_LABEL}={step_uuid}")
    return labels


def container_name(run_id: str, step_uuid: str) -> str:
    """``orchest-<run>-<step>-<digest>``: readable prefixes, unique through a digest of both ids."""
    digest = hashlib.sha256(f"{run_id}\0{step_uuid}".encode()).hexdigest()[:8]
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", f"orchest-{run_id[:12]}-{step_uuid[:12]}-{digest}")


def spec_file(spec: StepSpec) -> Path:
    """Where ``container_main`` finds the spec of a notebook step (inside the step dir)."""
    return spec.step_dir / SPEC_FILE


def step_command(spec: StepSpec, released: bool = False) -> list[str]:
    """The container command: the script's interpreter, or ``container_main`` for notebooks;
    with ``released``, it first waits until the host releases it (``release``)."""
    fifo = str(release_path(spec.step_dir))
    interpreter = SCRIPT_INTERPRETERS.get(spec.kind)
    if interpreter is None:
        main = ["python", "-m", "orchest_ext.executors.containers.container_main"]
        main += ["--spec-file", str(spec_file(spec))]
        return [*main, "--release-fifo", fifo] if released else main
    redirect = 'log="$1"; shift; exec "$@" >>"$log" 2>&1'
    if released:
        redirect = ': <"$0" || exit 125; ' + redirect
    command = [interpreter, str(spec.source_path)]
    if spec.masked_env:
        command = masked_command("python", spec.log_path, command, MASKING_MOUNT)
    return ["/bin/sh", "-c", redirect, fifo if released else "sh", str(spec.log_path), *command]


def stored_result(spec: StepSpec) -> StepResult | None:
    """The result the step's container wrote into its step directory, if any."""
    data = read_result(spec.step_dir)
    return None if data is None else StepResult(data["status"], data.get("message"))


def prepare_step_files(spec: StepSpec, released: bool = False) -> bool:
    """Make the step directory, drop an old result, write the spec (notebooks) and the
    parameters file, and with ``released`` the release FIFO; False if the step file is
    missing (blocking)."""
    spec.step_dir.mkdir(parents=True, exist_ok=True)
    if not spec.source_path.is_file():
        return False
    Path(result_file(spec.step_dir)).unlink(missing_ok=True)
    if released:
        make_release_fifo(spec.step_dir)
    if spec.kind not in SCRIPT_INTERPRETERS:
        write_json(spec_file(spec), json.loads(spec_to_json(without_secrets(spec))))
    write_parameters(spec.env, spec.parameters, spec.pipeline_parameters)
    return True


def is_under(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def binds(spec: StepSpec, extra_mounts: list[str]) -> list[str]:
    """The pipeline and run directories, the step API, and ``extra_mounts``."""
    pipeline_dir = spec.pipeline_dir.absolute()
    run_dir = Path(spec.env.get("ORCHEST_RUN_DIR") or spec.step_dir.parent)
    mounted = [pipeline_dir]
    for path in (
        run_dir,
        spec.step_dir,
        spec.log_path.parent,
        spec.output_notebook_path.parent,
    ):
        path = path.absolute()
        if not any(is_under(path, m) for m in mounted):
            mounted.append(path)
    binds = [f"{path}:{path}:rw" for path in mounted]
    if spec.pipeline_path and not is_under(spec.pipeline_path.absolute(), pipeline_dir):
        binds.append(f"{spec.pipeline_path.absolute()}:{spec.pipeline_path.absolute()}:ro")
    binds.append(f"{STEP_SDK_PATH}:{SDK_MOUNT}:ro")
    if spec.kind not in SCRIPT_INTERPRETERS:
        binds.append(f"{PACKAGE_DIR}:{RUNNER_MOUNT}/orchest_ext:ro")
    elif spec.masked_env:
        binds.append(f"{PACKAGE_DIR / 'executors' / 'masking.py'}:{MASKING_MOUNT}:ro")
    return [*binds, *extra_mounts]


def host_config(spec: StepSpec, options: DockerExecutorConfig) -> dict[str, Any]:
    """The container's mounts, network and limits."""
    config: dict[str, Any] = {"Binds": binds(spec, options.extra_mounts), "Init": True}
    if options.network:
        config["NetworkMode"] = options.network
    if options.cpu_limit:
        config["NanoCpus"] = int(options.cpu_limit * 1e9)
    if options.memory_limit:
        config["Memory"] = parse_memory(options.memory_limit)
    if options.gpus is not None:
        count = -1 if options.gpus == "all" else int(options.gpus)
        config["DeviceRequests"] = [{"Driver": "", "Count": count, "Capabilities": [["gpu"]]}]
    return config


def container_config(
    spec: StepSpec, options: DockerExecutorConfig, image: str, released: bool = False
) -> dict[str, Any]:
    """The ``POST /containers/create`` body for a step (``released``: it waits until
    its step releases it)."""
    env = {"HOME": "/tmp", "PYTHONUNBUFFERED": "1", **spec.env}
    if spec.masked_env:
        env[MASKED_ENV_VARIABLE] = ",".join(spec.masked_env)
    runner = RUNNER_MOUNT if spec.kind not in SCRIPT_INTERPRETERS else None
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [runner, SDK_MOUNT, env.get("PYTHONPATH")]))
    return {
        "Image": image,
        "Cmd": step_command(spec, released),
        "Env": [f"{key}={value}" for key, value in env.items()],
        "WorkingDir": str(spec.working_dir.absolute()),
        "User": f"{os.getuid()}:{os.getgid()}",
        "Labels": {
            PROJECT_LABEL: PROJECT,
            RUN_LABEL: spec.run_id,
            STEP_LABEL: spec.step_uuid,
            PIPELINE_LABEL: spec.pipeline_uuid,
        },
        "StopTimeout": int(options.stop_timeout),
        "HostConfig": host_config(spec, options),
    }


def container_handle(container: dict[str, Any]) -> dict[str, Any]:
    """A step container of a ``containers.list`` answer as a step's handle."""
    names, labels = container["Names"], container["Labels"]
    return {
        "container_id": container["Id"],
        "container_name": names[0].lstrip("/") if names else "",
        "run_id": labels.get(RUN_LABEL),
        "step_uuid": labels.get(STEP_LABEL),
        "pipeline_uuid": labels.get(PIPELINE_LABEL),
        "state": container["State"],
    }
