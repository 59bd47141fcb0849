"""Event schema ids and registration on the Jupyter event bus."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_events import EventLogger

SCHEMAS_DIR = Path(__file__).parent / "event_schemas"
RUN_STATUS = "https://orchest-ext.dev/events/run_status/v1"
STEP_STATUS = "https://orchest-ext.dev/events/step_status/v1"
LAUNCH_STATUS = "https://orchest-ext.dev/events/launch_status/v1"
JOB_STATUS = "https://orchest-ext.dev/events/job_status/v1"
ENVIRONMENT_BUILD = "https://orchest-ext.dev/events/environment_build/v1"
SCHEMA_FILES = {
    RUN_STATUS: SCHEMAS_DIR / "run_status" / "v1.yaml",
    STEP_STATUS: SCHEMAS_DIR / "step_status" / "v1.yaml",
    LAUNCH_STATUS: SCHEMAS_DIR / "launch_status" / "v1.yaml",
    JOB_STATUS: SCHEMAS_DIR / "job_status" / "v1.yaml",
    ENVIRONMENT_BUILD: SCHEMAS_DIR / "environment_build" / "v1.yaml",
}

Emit = Callable[[str, dict[str, Any]], None]


def register_schemas(event_logger: EventLogger) -> None:
    """Register every orchest_ext schema that is not registered yet."""
    for schema_id, path in SCHEMA_FILES.items():
        if schema_id not in event_logger.schemas.schema_ids:
            event_logger.register_event_schema(path)


def emitter(event_logger: EventLogger | None) -> Emit:
    """An ``emit(schema_id, data)`` bound to ``event_logger`` (a no-op without one)."""
    if event_logger is None:
        return lambda schema_id, data: None

    def emit(schema_id: str, data: dict[str, Any]) -> None:
        event_logger.emit(schema_id=schema_id, data=data)

    return emit
