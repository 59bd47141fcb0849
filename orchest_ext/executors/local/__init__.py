"""The embedded backend: steps as processes and kernels on this machine."""

from .executor import LocalExecutor

__all__ = ["LocalExecutor"]
