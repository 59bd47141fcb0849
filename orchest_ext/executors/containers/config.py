"""The options of the docker backend (``c.DockerExecutor.*``; the swarm backend inherits
them), with their checks, and which image a step's container runs."""

from __future__ import annotations

from typing import Any

from traitlets import (
    Bool,
    Dict,
    Float,
    Int,
    List,
    TraitError,
    Unicode,
    Union,
    validate,
)

from ...infra.docker_engine import checked_memory
from ...infra.options import Options
from ..base import StepSpec


class DockerExecutorConfig(Options):
    """The options of ``DockerExecutor``, which inherits them (a mixin, not a configurable of
    its own: they are configured, listed and documented as ``DockerExecutor.*``)."""

    docker_url = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Docker engine URL of step containers (unix:///var/run/docker.sock, "
        "tcp://host:2375). None uses the shared DockerEngine (DockerEngine.docker_url).",
    )
    default_image = Unicode(
        "orchest-ext/step:latest",
        config=True,
        help="Image for steps naming neither an image nor a mapped environment. It needs "
        "Python with orchest_ext installed; nothing is pulled.",
    )
    environment_images = Dict(
        value_trait=Unicode(),
        config=True,
        help="Orchest environment UUID/name -> image of the steps that use that environment.",
    )
    network = Unicode(
        None, allow_none=True, config=True, help="Docker network of step containers (None: bridge)."
    )
    cpu_limit = Float(
        None, allow_none=True, config=True, help="CPU cores a step container may use (None: all)."
    )
    memory_limit = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Memory limit of a step container, e.g. '512m' or '2g' (None: unlimited).",
    )
    extra_mounts = List(
        Unicode(),
        config=True,
        help="Extra bind mounts for step containers, each 'host_path:container_path[:ro|rw]'.",
    )
    gpus = Union(
        [Unicode(), Int()],
        default_value=None,
        allow_none=True,
        config=True,
        help="GPUs for step containers: 'all' or a count (None: no GPUs).",
    )
    build_environments_on_demand = Bool(
        True,
        config=True,
        help="Build a step's Orchest environment when its image is missing or out of date, "
        "its build output at the head of the step's log (set by "
        "OrchestApp.build_environments_on_demand); False fails the step instead.",
    )
    start_containers_ahead = Bool(
        True,
        config=True,
        help="Start the containers made ahead of need (OrchestApp.kernels_ahead): they wait "
        "for their step, a notebook's with its kernel started. False only creates them.",
    )
    release_timeout = Float(
        10.0,
        min=0.0,
        config=True,
        help="Seconds a step waits for its container started ahead to wait on its FIFO. Past "
        "it, the step runs in a fresh container and containers are no longer started ahead: "
        "the engine does not share the step directory's FIFOs with this server (e.g. an "
        "engine in a VM).",
    )
    keep_failed_containers = Bool(
        False, config=True, help="Keep the containers of failed steps for inspection."
    )
    stop_timeout = Float(
        5.0,
        config=True,
        help="Seconds a cancelled step's container gets between SIGTERM and SIGKILL.",
    )
    connect_timeout = Float(
        None,
        allow_none=True,
        config=True,
        help="Seconds to wait for the Docker engine to answer a health check (None: "
        "DockerEngine.connect_timeout).",
    )

    @validate("memory_limit")
    def _valid_memory_limit(self, proposal: dict[str, Any]) -> str | None:
        return checked_memory(proposal)

    @validate("cpu_limit")
    def _valid_cpu_limit(self, proposal: dict[str, Any]) -> float | None:
        value = proposal["value"]
        if value is not None and value <= 0:
            raise TraitError(f"DockerExecutor.cpu_limit must be positive, not {value}.")
        return value

    @validate("gpus")
    def _valid_gpus(self, proposal: dict[str, Any]) -> str | int | None:
        value = proposal["value"]
        if isinstance(value, str) and value != "all" and not value.isdigit():
            raise TraitError(f"DockerExecutor.gpus must be 'all' or a count, not {value!r}.")
        return value

    @validate("extra_mounts")
    def _valid_extra_mounts(self, proposal: dict[str, Any]) -> list[str]:
        for mount in proposal["value"]:
            parts = mount.split(":")
            if not (
                2 <= len(parts) <= 3
                and parts[0]
                and parts[1].startswith("/")
                and parts[2:] in ([], ["ro"], ["rw"])
            ):
                raise TraitError(
                    f"DockerExecutor.extra_mounts: {mount!r} is not 'host:container[:ro|rw]'."
                )
        return proposal["value"]

    def image_for(self, spec: StepSpec, built: str | None = None) -> str:
        """The step's image, its environment's mapped image, its environment's ``built``
        image, the pipeline's, or the default."""
        if spec.image:
            return spec.image
        if spec.environment and spec.environment in self.environment_images:
            return self.environment_images[spec.environment]
        return built or spec.pipeline_image or self.default_image
