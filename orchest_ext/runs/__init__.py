"""The run engine: state, journal, scheduler, step specs, recovery, and the RunManager facade."""

from typing import Any

from .spec import RunRequestError, StepFiles, step_files
from .state import CACHE_MODES, FAILURE_POLICIES, TERMINAL, RunState

_ENGINE_NAMES = {"RunManager": "manager", "OwnedElsewhere": "owners"}


def __getattr__(name: str) -> Any:
    """The engine, imported on first use: step containers of an export import ``spec`` and
    ``state`` (``export.step_main``) with neither networkx nor aiodocker installed."""
    if name in _ENGINE_NAMES:
        from importlib import import_module

        return getattr(import_module(f".{_ENGINE_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CACHE_MODES",
    "FAILURE_POLICIES",
    "TERMINAL",
    "OwnedElsewhere",
    "RunManager",
    "RunRequestError",
    "RunState",
    "StepFiles",
    "step_files",
]
