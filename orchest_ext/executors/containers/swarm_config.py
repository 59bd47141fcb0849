"""The options of the swarm backend (``c.SwarmExecutor.*``), on top of the docker
backend's, with their checks."""

from __future__ import annotations

from typing import Any

from traitlets import Dict, Enum, Float, List, TraitError, Unicode, validate

from ...infra.docker_engine import checked_memory
from ...infra.options import Options


class SwarmExecutorConfig(Options):
    """The options of ``SwarmExecutor`` on top of the docker backend's (it inherits them)."""

    storage = Enum(
        ["bind", "volume"],
        default_value="bind",
        config=True,
        help="How step tasks reach the pipeline directory: 'bind' mounts it at the same path "
        "(a shared file system such as NFS mounted at that path on every node); 'volume' "
        "mounts the named volume volume_name (driver volume_driver with volume_options) at "
        "volume_path, which must hold every pipeline directory.",
    )
    volume_name = Unicode(
        "orchest-ext-pipelines", config=True, help="Named volume of storage='volume'."
    )
    volume_driver = Unicode("local", config=True, help="Volume driver of storage='volume'.")
    volume_options = Dict(
        value_trait=Unicode(),
        config=True,
        help="Driver options of the volume of storage='volume', e.g. for NFS with the local "
        "driver {'type': 'nfs', 'o': 'addr=10.0.0.5,rw,nfsvers=4', 'device': ':/srv/jupyter'}.",
    )
    volume_path = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Absolute path of the server's directory that the volume of storage='volume' "
        "holds; it is mounted at the same path in step tasks (required with storage='volume').",
    )
    constraints = List(
        Unicode(),
        config=True,
        help="Placement constraints of every step task, e.g. ['node.role==worker'].",
    )
    environment_constraints = Dict(
        value_trait=List(Unicode()),
        config=True,
        help="Orchest environment UUID/name -> extra placement constraints of its steps, e.g. "
        "{'gpu': ['node.labels.gpu==true']}.",
    )
    cpu_reservation = Float(
        None, allow_none=True, config=True, help="CPU cores reserved for a step task (None: 0)."
    )
    memory_reservation = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Memory reserved for a step task, e.g. '256m' (None: nothing reserved).",
    )
    schedule_timeout = Float(
        120.0,
        allow_none=True,
        config=True,
        help="Seconds a step's task may wait for a node (constraints or reservations no node "
        "meets) before the step fails with the scheduler's reason (None: wait).",
    )
    poll_interval = Float(0.1, config=True, help="Seconds between looks at a step's task.")
    node_engines = List(
        Unicode(),
        config=True,
        help="Docker engines of the other swarm nodes (unix://, tcp:// or ssh:// URLs), for "
        "clusters without a registry: the image of a step's Orchest environment (built on "
        "demand or before) is copied to each that lacks it before the step's service is "
        "created, as `jupyter orchest images distribute` does (empty: nodes get images from "
        "a registry or by hand).",
    )

    @validate("memory_reservation")
    def _valid_memory_reservation(self, proposal: dict[str, Any]) -> str | None:
        return checked_memory(proposal)

    @validate("volume_path")
    def _valid_volume_path(self, proposal: dict[str, Any]) -> str | None:
        value = proposal["value"]
        if value is not None and not value.startswith("/"):
            raise TraitError(f"SwarmExecutor.volume_path must be absolute, not {value!r}.")
        return value

    @validate("gpus")
    def _valid_swarm_gpus(self, proposal: dict[str, Any]) -> str | int | None:
        value = proposal["value"]
        if value is not None and not str(value).isdigit():
            raise TraitError(
                f"SwarmExecutor.gpus must be a count of 'gpu' generic resources, not {value!r}."
            )
        return value
