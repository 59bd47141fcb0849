"""`jupyter orchest ...`: run and validate pipelines from the command line, build images."""

from .app import OrchestCLI, main

__all__ = ["OrchestCLI", "main"]
