"""What a step's on-demand environment build tells the event bus: the data of an
``environment_build`` event (``event_schemas/environment_build/v1.yaml``) per status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...infra.environment_builds import BuildWatcher
from ...infra.environments import Environment
from ..base import StepSpec


def build_event(
    spec: StepSpec, environment: Environment, tag: str, status: str, message: str | None
) -> dict[str, Any]:
    """The event data of ``spec``'s step waiting for ``environment``'s image ``tag``."""
    return {
        "run_id": spec.run_id,
        "pipeline_uuid": spec.pipeline_uuid,
        "step_uuid": spec.step_uuid,
        "environment_uuid": environment.uuid,
        "environment": environment.name,
        "image": tag,
        "status": status,
        "message": message,
    }


def build_watcher(
    listener: Callable[[dict[str, Any]], None] | None,
    spec: StepSpec,
    environment: Environment,
    tag: str,
) -> BuildWatcher | None:
    """A watcher handing ``listener`` the step's build events (None without a listener)."""
    if listener is None:
        return None

    def watch(status: str, message: str | None) -> None:
        listener(build_event(spec, environment, tag, status, message))

    return watch
