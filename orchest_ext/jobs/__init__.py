"""Jobs: scheduled and parameterised runs of a pipeline, with snapshots and retention."""

from .manager import JobManager
from .request import JobRequestError

__all__ = ["JobManager", "JobRequestError"]
