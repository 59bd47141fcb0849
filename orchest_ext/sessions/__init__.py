"""Interactive pipeline sessions: EG + jupyter-server containers per pipeline."""

from .config import SHIPPED_KERNELSPECS, default_scope
from .manager import PipelineSessionManager
from .session import LaunchFailed, Session, SessionExists

__all__ = [
    "SHIPPED_KERNELSPECS",
    "LaunchFailed",
    "PipelineSessionManager",
    "Session",
    "SessionExists",
    "default_scope",
]
