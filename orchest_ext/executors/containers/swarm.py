"""SwarmExecutor: run each pipeline step as a one-shot Docker Swarm service (aiodocker).

A step is a replicated service with one task and restart policy ``none`` (not a
``replicated-job``: Docker 20.10 leaves a job's finished containers behind when the service is
removed, a plain replicated service's go with it), built from
the same container configuration as a docker step (image, command, environment, labels, the
pipeline directory at the same absolute path). The pipeline directory must be on storage every
node reaches: a bind mount of a shared file system mounted at the same path on every node
(``storage = "bind"``), or a named volume with driver options mounted at ``volume_path``
(``storage = "volume"``, e.g. the ``local`` driver with NFS options). Logs and executed
notebooks are written by the step into the run directory on that storage while it runs. The
manager's task list is polled for the task's state; the service is removed when the step ends,
so nothing is left behind. Services carry the docker step labels, so a restarted server finds
them again. Its options are in ``swarm_config.py``, why a task failed in ``swarm_tasks.py``.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import Coroutine, Mapping
from functools import cached_property
from typing import Any

import aiodocker

from ...infra.distribute import DistributeError
from ...infra.docker_engine import (
    ENGINE_ERRORS,
    engine_error_reason,
    parse_memory,
)
from ...infra.environments import OrchestEnvironmentError
from ...infra.node_copies import NodeCopies
from ...infra.swarm import bind_mount, swarm_manager_node
from ..base import ExecutorUnavailable, StepResult, StepSpec
from ..results import write_result
from .docker import DockerExecutor
from .spec import (
    RUN_LABEL,
    STEP_LABEL,
    binds,
    container_name,
    prepare_step_files,
    step_label_filter,
    stored_result,
)
from .swarm_config import SwarmExecutorConfig
from .swarm_tasks import NOT_VISIBLE_EXIT, task_failure_message

NODE_VARIABLE = "ORCHEST_NODE"
"""Set in a swarm step's environment to the hostname of the node its task runs on."""
WAITING_STATES = {"new", "pending", "allocated", "assigned"}
"""Task states before a node has accepted the task."""
ENDED_STATES = {"complete", "failed", "rejected", "shutdown", "orphaned", "remove"}


def service_name(run_id: str, step_uuid: str) -> str:
    """A valid service name (letters, digits, '-'), unique per run and step."""
    return re.sub(r"[^a-zA-Z0-9-]", "-", container_name(run_id, step_uuid))


def visibility_check(spec: StepSpec, command: list[str]) -> list[str]:
    """Wrap ``command`` so that a step whose file its node cannot see exits with
    ``NOT_VISIBLE_EXIT`` before anything else runs."""
    check = (
        f'if [ ! -e "$1" ]; then echo "orchest_ext: $1 is not visible on node ${NODE_VARIABLE}" '
        f'>&2; exit {NOT_VISIBLE_EXIT}; fi; shift; exec "$@"'
    )
    return ["/bin/sh", "-c", check, "sh", str(spec.source_path), *command]


async def _complete(cleanup: Coroutine[Any, Any, None]) -> None:
    """Run a cancelled step's clean-up to its end even if the step is cancelled again
    meanwhile (a second abort, a shutdown): a shield alone would stop waiting for it, and the
    step would end before its service is gone."""
    task = asyncio.ensure_future(cleanup)
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                raise
    task.result()


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


class SwarmExecutor(DockerExecutor, SwarmExecutorConfig):
    """Runs every step as a one-shot service on the Docker Swarm the engine manages."""

    name = "swarm"
    recoverable = True

    # -- availability ------------------------------------------------------------------------

    async def check_available(self) -> None:
        await self.engine.check_available()
        if self.storage == "volume" and not self.volume_path:
            raise ExecutorUnavailable("SwarmExecutor.volume_path is required with storage='volume'")
        await swarm_manager_node(self.engine, "SwarmExecutor.docker_url")

    # -- service configuration ---------------------------------------------------------------

    def _mounts(self, spec: StepSpec) -> list[dict[str, Any]]:
        """The docker step's binds as mounts; with a volume, those under ``volume_path`` become
        one volume mount at that path."""
        mounts = [bind_mount(bind) for bind in binds(spec, self.extra_mounts)]
        if self.storage != "volume" or not self.volume_path:
            return mounts
        root = self.volume_path
        volume = {
            "Type": "volume",
            "Source": self.volume_name,
            "Target": root,
            "VolumeOptions": {
                "DriverConfig": {"Name": self.volume_driver, "Options": dict(self.volume_options)}
            },
        }
        return [volume, *(m for m in mounts if not _under(m["Source"], root))]

    def _constraints(self, spec: StepSpec) -> list[str]:
        extra = self.environment_constraints.get(spec.environment or "", [])
        return [*self.constraints, *extra, *spec.placement_constraints]

    def _resources(self) -> dict[str, Any]:
        limits: dict[str, Any] = {}
        reservations: dict[str, Any] = {}
        if self.cpu_limit:
            limits["NanoCPUs"] = int(self.cpu_limit * 1e9)
        if self.memory_limit:
            limits["MemoryBytes"] = parse_memory(self.memory_limit)
        if self.cpu_reservation:
            reservations["NanoCPUs"] = int(self.cpu_reservation * 1e9)
        if self.memory_reservation:
            reservations["MemoryBytes"] = parse_memory(self.memory_reservation)
        if self.gpus is not None:
            gpu = {"DiscreteResourceSpec": {"Kind": "gpu", "Value": int(self.gpus)}}
            reservations["GenericResources"] = [gpu]
        return {"Limits": limits, "Reservations": reservations}

    def service_config(self, spec: StepSpec, built: str | None = None) -> dict[str, Any]:
        """Keyword arguments of ``services.create`` for a step."""
        container = self.container_config(spec, built)
        env = dict(item.split("=", 1) for item in container["Env"])
        env[NODE_VARIABLE] = "{{.Node.Hostname}}"
        task_template: dict[str, Any] = {
            "ContainerSpec": {
                "Image": container["Image"],
                "Args": visibility_check(spec, container["Cmd"]),
                "Env": env,
                "Dir": container["WorkingDir"],
                "User": container["User"],
                "Labels": container["Labels"],
                "Mounts": self._mounts(spec),
                "Init": True,
                "StopGracePeriod": int(self.stop_timeout * 1e9),
            },
            "RestartPolicy": {"Condition": "none", "MaxAttempts": 0},
            "Resources": self._resources(),
            "Placement": {"Constraints": self._constraints(spec)},
        }
        if self.network:
            task_template["Networks"] = [{"Target": self.network}]
        return {
            "task_template": task_template,
            "name": service_name(spec.run_id, spec.step_uuid),
            "labels": container["Labels"],
            "mode": {"Replicated": {"Replicas": 1}},
        }

    # -- running -----------------------------------------------------------------------------

    @cached_property
    def _node_copies(self) -> NodeCopies:
        """The environment images copied to ``node_engines``."""
        return NodeCopies(self.docker_url or self.engine.address)

    def start_ahead(self, spec: StepSpec) -> None:
        """Nothing is created ahead of a swarm step: its service is created when it runs."""
        return None

    async def run(self, spec: StepSpec, on_started: Any = None) -> StepResult:
        if not await asyncio.to_thread(prepare_step_files, spec):
            return StepResult("FAILURE", f"Step file not found: {spec.file_path}")
        try:
            built = await self.environment_image(spec, build=True)
            if built and self.node_engines:
                await self._node_copies.ensure(built, self.node_engines, spec.log_path)
        except OrchestEnvironmentError as err:
            return StepResult("FAILURE", str(err))
        except DistributeError as err:
            return StepResult("FAILURE", f"Copying the step's image to the swarm nodes: {err}")
        except ENGINE_ERRORS as err:
            return StepResult("FAILURE", f"Docker could not look up the step's image: {err}")
        config = self.service_config(spec, built)
        name = config["name"]
        service_id = None
        # Shielded: a create cancelled in flight may still make the service on the manager;
        # an abort waits for the create to answer and then removes what it made.
        create = asyncio.ensure_future(self._create(config))
        try:
            service_id = (await asyncio.shield(create))["ID"]
            handle = {"service_id": service_id, "service_name": name}
            if on_started is not None and inspect.isawaitable(outcome := on_started(handle)):
                await outcome
            return await self._follow(service_id, spec)
        except asyncio.CancelledError:
            if not self._detached:
                await _complete(self._discard_created(create, spec))
            raise
        except ENGINE_ERRORS as err:
            if service_id is not None:
                await self._discard_service(service_id, spec)
            return StepResult(
                "FAILURE",
                f"Docker Swarm could not run step service {name} ({self.engine.address}): "
                f"{engine_error_reason(err)}",
            )

    async def _create(self, config: dict[str, Any]) -> Mapping[str, Any]:
        """Create the service, replacing a stale one of the same name."""
        services = self.engine.client().services
        try:
            return await services.create(**config)
        except aiodocker.DockerError as err:
            if err.status != 409:
                raise
        self.log.warning("Removing stale service %s before re-running its step", config["name"])
        await self._delete(config["name"])
        return await services.create(**config)

    async def _follow(self, service_id: str, spec: StepSpec) -> StepResult:
        """Poll the service's task until it ends, turn that into a result, remove the service."""
        docker = self.engine.client()
        waiting_since = time.monotonic()
        while True:
            tasks = await docker.tasks.list(filters={"service": service_id})
            task = max(tasks, key=lambda t: t["Version"]["Index"], default=None)
            state = task["Status"]["State"] if task else "new"
            if state in ENDED_STATES:
                break
            if state not in WAITING_STATES:
                waiting_since = time.monotonic()
            elif (
                self.schedule_timeout is not None
                and time.monotonic() - waiting_since > self.schedule_timeout
            ):
                reason = (task or {}).get("Status", {}).get("Err") or state
                result = StepResult(
                    "FAILURE",
                    f"no node took the step's task in {self.schedule_timeout:g} s: {reason}",
                )
                await self._discard_service(service_id, spec)
                return result
            await asyncio.sleep(self.poll_interval)
        if state == "complete":
            result = StepResult("SUCCESS")
        else:
            result = StepResult("FAILURE", await task_failure_message(self.engine, task, spec))
        await asyncio.to_thread(write_result, spec.step_dir, result.status, result.message)
        if result.status == "SUCCESS" or not self.keep_failed_containers:
            await self._discard_service(service_id, spec)
        return result

    async def _discard_created(self, create: asyncio.Future[Any], spec: StepSpec) -> None:
        """Remove the service of a cancelled step once its create has answered."""
        try:
            ref = (await create)["ID"]
        except ENGINE_ERRORS:
            ref = service_name(spec.run_id, spec.step_uuid)
        await self._discard_service(ref, spec)

    async def _delete(self, ref: str) -> None:
        """Remove a service by id or name, retrying a manager's transient errors (5xx) for
        ``stop_timeout`` seconds; a missing one is fine."""
        deadline = time.monotonic() + self.stop_timeout
        while True:
            try:
                await self.engine.client().services.delete(ref)
                return
            except aiodocker.DockerError as err:
                if err.status == 404:
                    return
                if err.status < 500 or time.monotonic() > deadline:
                    raise
                self.log.info("Retrying the removal of service %s: %s", ref, err.message)
            await asyncio.sleep(self.poll_interval)

    async def _gone_locally(self, spec: StepSpec, deadline: float) -> None:
        """Wait until this engine runs no container of the step (tasks on other nodes are
        removed by their own engines)."""
        labels = [f"{RUN_LABEL}={spec.run_id}", f"{STEP_LABEL}={spec.step_uuid}"]
        containers = self.engine.client().containers
        while await containers.list(all=True, filters={"label": labels}):
            if time.monotonic() > deadline:
                self.log.warning("Step %s's container outlived its service", spec.step_uuid)
                return
            await asyncio.sleep(self.poll_interval)

    async def _discard_service(self, ref: str, spec: StepSpec) -> None:
        """Remove a step's service and wait for its local container to go; a failure is logged
        and does not change the step's result."""
        deadline = time.monotonic() + self.stop_timeout + self.engine.connect_timeout
        try:
            await self._delete(ref)
            await self._gone_locally(spec, deadline)
        except ENGINE_ERRORS as err:
            self.log.warning("Could not remove step service %s: %s", ref, err)

    # -- recovery ----------------------------------------------------------------------------

    async def reattach(self, spec: StepSpec, handle: dict[str, Any]) -> StepResult | None:
        ref = handle.get("service_id") or handle.get("service_name")
        if ref is None:
            found = await self.find_step_services(spec.run_id, spec.step_uuid)
            if not found:
                return await asyncio.to_thread(stored_result, spec)
            ref = found[0]["service_id"]
        try:
            await self.engine.client().services.inspect(ref)
        except aiodocker.DockerError as err:
            if err.status != 404:
                raise
            return await asyncio.to_thread(stored_result, spec) or StepResult(
                "FAILURE", f"the step's service {ref} disappeared without a result"
            )
        try:
            return await self._follow(ref, spec)
        except asyncio.CancelledError:
            if not self._detached:
                await _complete(self._discard_service(ref, spec))
            raise

    async def cleanup_orphan(self, handle: dict[str, Any]) -> None:
        ref = handle.get("service_id") or handle.get("service_name")
        if ref:
            await self._delete(ref)

    async def find_step_services(
        self, run_id: str | None = None, step_uuid: str | None = None
    ) -> list[dict[str, Any]]:
        """Step services of this project (optionally of one run/step), as handles."""
        labels = step_label_filter(run_id, step_uuid)
        found = await self.engine.client().services.list(filters={"label": labels})
        return [
            {
                "service_id": s["ID"],
                "service_name": s["Spec"]["Name"],
                "run_id": s["Spec"]["Labels"].get(RUN_LABEL),
                "step_uuid": s["Spec"]["Labels"].get(STEP_LABEL),
            }
            for s in found
        ]
