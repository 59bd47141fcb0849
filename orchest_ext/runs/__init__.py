"""The run engine: state, journal, scheduler, step specs, recovery, and the RunManager facade."""

from .manager import RunManager
from .owners import OwnedElsewhere
from .spec import RunRequestError, StepFiles, step_files
from .state import CACHE_MODES, FAILURE_POLICIES, TERMINAL, RunState

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
