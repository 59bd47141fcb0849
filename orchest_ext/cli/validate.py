"""`jupyter orchest validate`: print the issues of a pipeline file."""

from __future__ import annotations

import sys
from pathlib import Path

from .base import CLIApp


class ValidateApp(CLIApp):
    """Print the issues of a pipeline file (exit 0: none, 1: some, 2: unreadable)."""

    name = "jupyter-orchest-validate"
    description = (
        "Print the issues of a pipeline file (.orchest or Elyra .pipeline): the same checks "
        "as POST pipelines/validate. Exits 0 without issues, 1 with issues, 2 if the file "
        "cannot be read."
    )
    examples = "jupyter orchest validate examples/quickstart/quickstart.orchest"

    def start(self) -> None:
        if len(self.extra_args) != 1:
            self.log.critical("validate takes one pipeline file, got %d", len(self.extra_args))
            self.exit(2)
        self.exit(validate(Path(self.extra_args[0])))


def validate(pipeline_file: Path) -> int:
    """Print the issues of ``pipeline_file``; return the exit code."""
    from ..pipeline import validate_pipeline

    try:
        data = pipeline_file.read_bytes()
        resolved = pipeline_file.resolve()
    except OSError as err:
        print(f"Cannot read {pipeline_file}: {err.strerror}", file=sys.stderr)
        return 2
    issues = validate_pipeline(data, resolved.parent, resolved)
    if not issues:
        print(f"{pipeline_file}: OK")
        return 0
    print(f"{pipeline_file}: {len(issues)} issue(s)")
    for issue in issues:
        print(f"  - {issue.message}")
    return 1
