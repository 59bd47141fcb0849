"""The records ``runs.compare`` compares, read from the run manager and its store, and the
executed notebooks of a step of two runs diffed with nbdime (blocking: call on a thread)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .compare import RunRecord

if TYPE_CHECKING:
    from .manager import RunManager


async def load_record(runs: RunManager, run_id: str) -> RunRecord | None:
    """What run ``run_id`` stored (its live state while it runs): its steps' code digests and
    output summaries; None if there is no such run under the root dir."""
    run = await runs.get(run_id)
    if run is None:
        return None
    stored = await runs.store.get_run(run_id, pipeline=False)
    code = {
        step["uuid"]: (step.get("cache_parts") or {}).get("code")
        for step in (stored or {}).get("steps", [])
    }
    outputs = {
        step["uuid"]: await runs.store.step_outputs(run_id, step["uuid"]) for step in run["steps"]
    }
    return RunRecord(run, code, outputs)


def notebook_diff(base: bytes, remote: bytes) -> dict[str, Any]:
    """nbdime's diff of two executed notebooks (nbformat 4 JSON) and the base it applies to,
    as nbdime's ``NotebookDiffModel`` takes them (blocking)."""
    import nbformat
    from nbdime import diff_notebooks

    notebooks = [nbformat.reads(text.decode("utf-8"), as_version=4) for text in (base, remote)]
    # the base as read (multiline strings joined), as the diff's positions count them
    return {"base": notebooks[0], "diff": diff_notebooks(*notebooks)}
