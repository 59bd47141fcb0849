"""A job request's own fields, checked without I/O; errors name the field that is wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OVERLAP_POLICIES = ("allow", "skip", "queue")
MISSED_FIRE_POLICIES = ("run_once", "skip")
RUN_OPTION_FIELDS = (
    "run_type",
    "uuids",
    "inclusive",
    "env",
    "failure_policy",
    "backend",
    "retries",
    "retry_delay",
    "cache",
)
"""Request fields passed on to every run of the job as they are."""
UPDATABLE = (
    "name",
    "schedule",
    "paused",
    "max_parallel",
    "overlap_policy",
    "missed_fire_policy",
    "max_retained_runs",
)
"""What a job's update (PATCH) may change."""


class JobRequestError(ValueError):
    """A job request field that is wrong (maps to a 400 naming ``field``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}.")
        self.field = field


@dataclass
class JobSettings:
    """What a job does at each fire; stored with the job as JSON."""

    run_options: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_grid: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    max_parallel: int = 1
    overlap_policy: str = "skip"
    missed_fire_policy: str | None = None
    """None: the server's ``OrchestApp.job_missed_fire_policy``."""
    max_retained_runs: int | None = None
    """None: the server's ``OrchestApp.job_max_retained_runs``."""
    snapshot: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_int(body: dict[str, Any], name: str, minimum: int, allow_none: bool = False) -> None:
    value = body.get(name)
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise JobRequestError(name, f"must be an integer of at least {minimum}")


def check_choice(body: dict[str, Any], name: str, choices: tuple[str, ...]) -> None:
    if body.get(name) is not None and body[name] not in choices:
        raise JobRequestError(name, f"must be one of {', '.join(choices)}")


def check_policies(body: dict[str, Any]) -> None:
    """The fields a job's update may change besides its schedule and name."""
    if "max_parallel" in body:
        check_int(body, "max_parallel", 1)
    if "max_retained_runs" in body:
        check_int(body, "max_retained_runs", 1, allow_none=True)
    check_choice(body, "overlap_policy", OVERLAP_POLICIES)
    check_choice(body, "missed_fire_policy", MISSED_FIRE_POLICIES)


def job_settings(body: dict[str, Any]) -> JobSettings:
    """The settings of a create request (run options are checked as a run's are)."""
    check_policies(body)
    if "snapshot" in body and not isinstance(body["snapshot"], bool):
        raise JobRequestError("snapshot", "must be true or false")
    if body.get("parameters") is not None and not isinstance(body["parameters"], dict):
        raise JobRequestError("parameters", "must be an object of parameter overrides")
    return JobSettings(
        run_options={k: body[k] for k in RUN_OPTION_FIELDS if body.get(k) is not None},
        parameters=body.get("parameters") or {},
        max_parallel=body.get("max_parallel", 1),
        overlap_policy=body.get("overlap_policy") or "skip",
        missed_fire_policy=body.get("missed_fire_policy"),
        max_retained_runs=body.get("max_retained_runs"),
        snapshot=body.get("snapshot", True),
    )


def check_update(body: dict[str, Any]) -> None:
    """The fields of a job's update: only ``UPDATABLE`` ones, each of its kind."""
    unknown = sorted(set(body) - set(UPDATABLE))
    if unknown:
        raise JobRequestError(unknown[0], f"cannot be changed; change {', '.join(UPDATABLE)}")
    check_policies(body)
    if "paused" in body and not isinstance(body["paused"], bool):
        raise JobRequestError("paused", "must be true or false")
    if "name" in body and not (isinstance(body["name"], str) and body["name"]):
        raise JobRequestError("name", "must be a non-empty string")
