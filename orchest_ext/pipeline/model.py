"""The pipeline model: Pipeline and Step dataclasses and the step kinds (file types)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STEP_KINDS: dict[str, str] = {
    ".ipynb": "notebook",
    ".py": "python",
    ".sh": "shell",
    ".r": "r",
}
"""Step kind by (lower-case) file suffix."""
SUPPORTED_SUFFIXES = ", ".join(".R" if suffix == ".r" else suffix for suffix in STEP_KINDS)
RUN_TYPES = ("full", "selection", "incoming", "descendants")
"""Which steps a run runs: all, the selection, its ancestors, or it and its descendants."""


def step_kind(file_path: str) -> str | None:
    """The step kind for a file name (``notebook``, ``python``...), None if unsupported."""
    return STEP_KINDS.get(Path(file_path).suffix.lower())


def step_label(title: str, uuid: str) -> str:
    """How messages name a step: its title and uuid."""
    return f'Step "{title}" ({uuid})'


@dataclass
class Step:
    """One pipeline step: a file plus how to run it.

    ``env_variables`` are this step's environment variables; they override the pipeline's.
    """

    uuid: str
    title: str
    file_path: str
    incoming_connections: list[str] = field(default_factory=list)
    kernel: dict[str, Any] = field(default_factory=dict)
    environment: str | None = None
    image: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    meta_data: dict[str, Any] = field(default_factory=dict)
    env_variables: dict[str, str] = field(default_factory=dict)
    retries: int | None = None
    """Times a failed step is run again before it counts as failed (None: the run's)."""
    retry_delay: float | None = None
    """Seconds between a failed attempt and the next (None: the run's)."""
    cache: bool | dict[str, Any] | None = None
    """Step caching: ``false`` opts out; ``{"inputs": [globs]}`` declares data files it reads."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``notebook``, ``python``, ``shell`` or ``r``, from the file suffix."""
        kind = step_kind(self.file_path)
        if kind is None:
            raise ValueError(f"{self.label}: unsupported file type; use {SUPPORTED_SUFFIXES}")
        return kind

    @property
    def cache_enabled(self) -> bool:
        """Whether a run with ``cache: use`` may reuse this step's earlier results."""
        if isinstance(self.cache, dict):
            return self.cache.get("enabled", True) is not False
        return self.cache is not False

    @property
    def cache_inputs(self) -> list[str]:
        """Glob patterns (relative to the pipeline directory) of the data files it reads."""
        return list(self.cache.get("inputs", [])) if isinstance(self.cache, dict) else []

    @property
    def label(self) -> str:
        """How messages name the step: its title and uuid."""
        return step_label(self.title, self.uuid)

    def to_dict(self) -> dict[str, Any]:
        """The step's Orchest JSON, unknown fields included."""
        data = {
            "uuid": self.uuid,
            "title": self.title,
            "file_path": self.file_path,
            "incoming_connections": self.incoming_connections,
            "kernel": self.kernel,
            "environment": self.environment,
            "parameters": self.parameters,
            "meta_data": self.meta_data,
        }
        if self.image is not None:
            data["image"] = self.image
        if self.env_variables:
            data["env_variables"] = self.env_variables
        for name in ("retries", "retry_delay", "cache"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return copy.deepcopy({**data, **self.extra})


@dataclass
class Pipeline:
    """A parsed pipeline: its settings and its steps keyed by uuid, in file order.

    ``settings["default_image"]`` is the image of steps that name none (``default_image``).
    """

    name: str
    uuid: str
    version: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    env_variables: dict[str, str] = field(default_factory=dict)
    steps: dict[str, Step] = field(default_factory=dict)
    directory: Path = field(default_factory=Path.cwd)
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory).resolve()

    @property
    def default_image(self) -> str | None:
        """The image for steps without ``image`` or ``environment``: ``settings.default_image``."""
        return self.settings.get("default_image")

    @property
    def swarm_constraints(self) -> list[str]:
        """Placement constraints of the pipeline's swarm tasks: ``settings.swarm.constraints``."""
        return list(self.settings.get("swarm", {}).get("constraints", []))

    def to_dict(self) -> dict[str, Any]:
        """The Orchest pipeline JSON, unknown fields included."""
        data: dict[str, Any] = {"name": self.name, "uuid": self.uuid}
        if self.version is not None:
            data["version"] = self.version
        data["settings"] = copy.deepcopy(self.settings)
        data["parameters"] = copy.deepcopy(self.parameters)
        if self.env_variables:
            data["env_variables"] = dict(self.env_variables)
        data["steps"] = {key: step.to_dict() for key, step in self.steps.items()}
        return {**data, **copy.deepcopy(self.extra)}
