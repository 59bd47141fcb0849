"""What `jupyter orchest run` prints: status changes as they happen, then a summary."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, TextIO

from ..events import ENVIRONMENT_BUILD, RUN_STATUS, STEP_STATUS
from ..runs import RunState, step_files
from ..runs.state import StepState

SYMBOLS = {
    "STARTED": "▶",
    "SUCCESS": "✔",
    "FAILURE": "✘",
    "ABORTED": "■",
    "PENDING": "·",
    "BUILDING": "⚙",
    "BUILT": "⚙",
    "FAILED": "✘",
}


class Progress:
    """Prints run and step events as they happen."""

    def __init__(self, stream: TextIO | None = None, titles: dict[str, str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.titles = titles or {}
        """Step titles by uuid, for the events that carry none (environment builds)."""

    def __call__(self, schema_id: str, data: dict[str, Any]) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        symbol = SYMBOLS.get(data["status"], " ")
        if schema_id == STEP_STATUS:
            line = f"{stamp} {symbol} {data['title']}: {data['status']}"
        elif schema_id == RUN_STATUS:
            line = f"{stamp} {symbol} run {data['run_id']}: {data['status']}"
        elif schema_id == ENVIRONMENT_BUILD:
            title = self.titles.get(data["step_uuid"], data["step_uuid"])
            environment = data.get("environment") or data["environment_uuid"]
            line = f"{stamp} {symbol} {title}: {data['status']} environment {environment!r}"
        else:
            return
        if data.get("message") and data["status"] != "STARTED":
            line += f" ({data['message']})"
        print(line, file=self.stream, flush=True)


def print_summary(run_state: RunState) -> None:
    """The run's status, its directory, and each step's log and executed notebook."""
    print(f"\nRun {run_state.id}: {run_state.status}")
    print(f"Run directory: {run_state.run_dir}")
    for step in run_state.steps.values():
        files = step_files(run_state.run_dir, step.uuid, step.file_path)
        print(f"  {SYMBOLS.get(step.status, ' ')} {step.title} [{step.status}]{_cache_note(step)}")
        if files.log_path.exists():
            print(f"      log:      {files.log_path}")
        if step.file_path.lower().endswith(".ipynb") and files.notebook_path.exists():
            print(f"      notebook: {files.notebook_path}")


def _cache_note(step: StepState) -> str:
    """Whether a step of a caching run was cached (and from where), or why it ran."""
    if step.cached:
        return f" cached from run {step.cached_from}"
    if step.run_reason and step.run_reason != "cache_off":
        changed = f" ({', '.join(step.changed)})" if step.changed else ""
        return f" ran: {step.run_reason.replace('_', ' ')}{changed}"
    return ""
