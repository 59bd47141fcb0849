"""Why a step's swarm task failed, in words a person can act on: what the step reported,
its files or image missing on its node, the engine stopping under it, else its exit and
last output."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ...infra.docker_engine import ENGINE_ERRORS, ENGINE_STOP_EXITS, ENGINE_STOP_GRACE, DockerEngine
from ..base import StepSpec
from ..results import log_tail
from .failure import engine_stopped_message, exit_message
from .spec import SCRIPT_INTERPRETERS, stored_result

NOT_VISIBLE_EXIT = 97
"""Exit code of a step whose file is not visible on its node (see ``visibility_check``)."""


async def _node_name(engine: DockerEngine, node_id: str | None) -> str:
    if not node_id:
        return "(no node)"
    try:
        node = await engine.client().nodes.inspect(node_id=node_id)
    except ENGINE_ERRORS:
        return node_id
    return node.get("Description", {}).get("Hostname") or node_id


async def task_failure_message(
    engine: DockerEngine, task: Mapping[str, Any], spec: StepSpec
) -> str:
    """Why the task failed: what the step reported, files or image missing on its node,
    else its exit and last output."""
    status = task["Status"]
    code = status.get("ContainerStatus", {}).get("ExitCode")
    err = status.get("Err") or status.get("Message") or status["State"]
    node = await _node_name(engine, task.get("NodeID"))
    if code == NOT_VISIBLE_EXIT:
        return (
            f"the step's files are not visible on node {node}: {spec.source_path} is missing "
            "there; put the pipeline directory on storage every node shares "
            "(SwarmExecutor.storage)"
        )
    if "bind source path does not exist" in err:
        return (
            f"the pipeline directory is not reachable on node {node} ({err}); mount it at "
            "the same path on every node or use SwarmExecutor.storage='volume'"
        )
    if "No such image" in err or "pull access denied" in err:
        image = task["Spec"]["ContainerSpec"]["Image"]
        return (
            f"image {image!r} is not on node {node} ({err}): copy it there with "
            "`jupyter orchest images distribute` or push it to a registry"
        )
    if code in ENGINE_STOP_EXITS and await engine.stops_answering(ENGINE_STOP_GRACE):
        return engine_stopped_message(f"{exit_message(code)} on node {node}", code)
    result = await asyncio.to_thread(stored_result, spec)
    if result is not None and result.message:
        return result.message
    if code is None:
        return f"the step's task {status['State']} on node {node}: {err}"
    if spec.kind in SCRIPT_INTERPRETERS:
        output = await asyncio.to_thread(log_tail, spec.log_path)
    else:
        output = await _service_log_tail(engine, task["ServiceID"])
    message = f"{exit_message(code)} on node {node}"
    return message + (f"; last output:\n{output}" if output else "")


async def _service_log_tail(engine: DockerEngine, service_id: str) -> str:
    try:
        lines = await engine.client().services.logs(service_id, stdout=True, stderr=True, tail="10")
    except ENGINE_ERRORS:
        return ""
    return "".join(lines).strip()
