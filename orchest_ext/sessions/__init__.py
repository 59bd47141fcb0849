"""Interactive pipeline sessions: EG + jupyter-server containers per pipeline."""

from .manager import SHIPPED_KERNELSPECS, PipelineSessionManager, default_scope
from .session import LaunchFailed, Session, SessionExists

__all__ = [
    "SHIPPED_KERNELSPECS",
    "LaunchFailed",
    "PipelineSessionManager",
    "Session",
    "SessionExists",
    "default_scope",
]
