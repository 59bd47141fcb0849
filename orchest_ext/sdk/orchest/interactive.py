"""Developing a step outside a run: the step a notebook is, read from its pipeline file.

A kernel that Jupyter started for a notebook has the notebook's path in ``JPY_SESSION_NAME``.
The pipeline files (``.orchest``, Elyra ``.pipeline``) in the notebook's directory and the
directories above it that have a step running that notebook tell which step it is: its
parameters come from that file, and its parents' outputs from their latest successful run
(or from ``orchest.output`` called while developing them). ``use_pipeline`` chooses when the
notebook is the step of no pipeline or of several.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .utils import OrchestError, in_run

PIPELINE_SUFFIXES = (".orchest", ".pipeline")
SESSION_VARIABLE = "JPY_SESSION_NAME"
"""Set by jupyter_server in the environment of a kernel it starts for a notebook."""
ORCHEST_DIR = ".orchest"
OUTCOME_FILE = "outcome.json"
"""Written by the runner into a step's directory when the step ends (``{"status": ...}``):
the record of which runs' outputs are from a successful step."""

_chosen: tuple[Path, str | None] | None = None


@dataclass(frozen=True)
class DevelopedStep:
    """A pipeline step developed outside a run, as its pipeline file describes it now."""

    pipeline_path: Path
    pipeline_uuid: str
    pipeline_dir: Path
    uuid: str
    title: str
    parents: list[tuple[str, str]]
    """``(uuid, title)`` of each parent, in the order of the step's incoming connections."""
    parameters: dict[str, Any]
    pipeline_parameters: dict[str, Any]

    @property
    def output_dir(self) -> Path:
        """Where ``orchest.output`` writes while the step is developed."""
        return self.pipeline_dir / ORCHEST_DIR / "interactive" / "steps" / self.uuid / "output"

    def parent_output(self, parent: str, meta_file: str) -> Path | None:
        """The newest output of step ``parent``: from a run in which it succeeded, or written
        while it was developed; None when it has none."""
        orchest = self.pipeline_dir / ORCHEST_DIR
        found = [
            meta
            for meta in orchest.glob(f"runs/*/steps/{parent}/output/{meta_file}")
            if _succeeded(meta.parent.parent)
        ]
        developed = orchest / "interactive" / "steps" / parent / "output" / meta_file
        if developed.exists():
            found.append(developed)
        newest = max(found, key=lambda meta: meta.stat().st_mtime_ns, default=None)
        return None if newest is None else newest.parent


def use_pipeline(path: str | os.PathLike[str], step: str | None = None) -> None:
    """Develop this notebook as ``step`` (a uuid or a unique title) of the pipeline file at
    ``path``; without ``step``, as the step of that pipeline that runs this notebook.

    Inside a run the step is the one running, and this changes nothing."""
    global _chosen
    if in_run():
        return
    choice = (Path(path).expanduser().absolute(), step)
    _developed(*choice)
    _chosen = choice


def developed_step() -> DevelopedStep:
    """The step this kernel develops: chosen with ``use_pipeline``, else found from its
    notebook; a clear error when there is none or more than one."""
    if _chosen is not None:
        return _developed(*_chosen)
    notebook = _session_notebook()
    matches, unreadable = _steps_running(notebook)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        skipped = "".join(f"\n  - {path}: {reason}" for path, reason in unreadable)
        raise OrchestError(
            f"{notebook} is not a step of any pipeline in its directory or above"
            + (f" (pipeline files that could not be read:{skipped}\n)" if skipped else "")
            + ". Choose one with orchest.use_pipeline('path/to/pipeline.orchest', 'Step title')."
        )
    listed = "".join(f"\n  - {m.pipeline_path}: step {m.title!r} ({m.uuid})" for m in matches)
    first = matches[0]
    raise OrchestError(
        f"{notebook} is a step of more than one pipeline:{listed}\n"
        f"Choose one with orchest.use_pipeline({str(first.pipeline_path)!r}, {first.title!r})."
    )


def _session_notebook() -> Path:
    """The notebook of this kernel, from the path jupyter_server gave it."""
    session = os.environ.get(SESSION_VARIABLE)
    if not session:
        raise OrchestError(
            "Not inside a step run by orchest_ext, and this kernel belongs to no notebook "
            f"({SESSION_VARIABLE} is not set). Choose the step to develop with "
            "orchest.use_pipeline('path/to/pipeline.orchest', 'Step title')."
        )
    path = Path(session)
    if not path.is_absolute():
        # jupyter_server gives a path relative to its root dir when a session names no file;
        # the kernel then starts in the notebook's directory
        path = Path.cwd() / path.name
    return path.resolve()


def _steps_running(notebook: Path) -> tuple[list[DevelopedStep], list[tuple[Path, str]]]:
    """The steps running ``notebook`` in the pipeline files of its directory and above, and
    the pipeline files that could not be read, with why."""
    pipelines = _pipeline_package()
    matches: list[DevelopedStep] = []
    unreadable: list[tuple[Path, str]] = []
    for pipeline_file in _pipeline_files(notebook.parent):
        try:
            pipeline = pipelines.load_pipeline(pipeline_file, check_files=False)
        except pipelines.PipelineError as err:
            unreadable.append((pipeline_file, str(err.issues[0].message) if err.issues else ""))
            continue
        matches.extend(
            _describe(pipeline, uuid)
            for uuid, step in pipeline.steps.items()
            if (pipeline.directory / step.file_path).resolve() == notebook
        )
    return matches, unreadable


def _pipeline_files(directory: Path) -> list[Path]:
    """Pipeline files in ``directory`` and each directory above it (hidden ones left out)."""
    found = []
    for folder in [directory, *directory.parents]:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        found.extend(
            folder / name
            for name in names
            if name.endswith(PIPELINE_SUFFIXES) and not name.startswith(".")
        )
    return [path for path in found if path.is_file()]


def _developed(pipeline_file: Path, step: str | None) -> DevelopedStep:
    """Step ``step`` (uuid or unique title) of a pipeline file; without it, the step of that
    file that runs this kernel's notebook."""
    pipelines = _pipeline_package()
    try:
        pipeline = pipelines.load_pipeline(pipeline_file, check_files=False)
    except pipelines.PipelineError as err:
        issues = "".join(f"\n  - {issue.message}" for issue in err.issues)
        raise OrchestError(f"Cannot use {pipeline_file} as a pipeline:{issues}") from None
    if step is None:
        notebook = _session_notebook()
        uuids = [
            uuid
            for uuid, model in pipeline.steps.items()
            if (pipeline.directory / model.file_path).resolve() == notebook
        ]
        wanted = f"no step running {notebook}" if not uuids else "several steps running it"
    else:
        uuids = [u for u, m in pipeline.steps.items() if step in (u, m.title)]
        wanted = f"no step {step!r}" if not uuids else f"several steps titled {step!r}"
    if len(uuids) != 1:
        titles = ", ".join(repr(model.title) for model in pipeline.steps.values())
        raise OrchestError(
            f"{pipeline_file} has {wanted}; its steps are {titles}. Name one: "
            f"orchest.use_pipeline({str(pipeline_file)!r}, 'Step title')."
        )
    return _describe(pipeline, uuids[0])


def _pipeline_package() -> Any:
    """``orchest_ext.pipeline``, which reads pipeline files (not needed inside a run)."""
    try:
        import orchest_ext.pipeline
    except ImportError as err:
        raise OrchestError(
            "Developing a step outside a run needs the orchest_ext package in this kernel's "
            f"environment: {err}"
        ) from err
    return orchest_ext.pipeline


def _describe(pipeline: Any, uuid: str) -> DevelopedStep:
    step = pipeline.steps[uuid]
    return DevelopedStep(
        pipeline_path=pipeline.path,
        pipeline_uuid=pipeline.uuid,
        pipeline_dir=pipeline.directory,
        uuid=uuid,
        title=step.title,
        parents=[(parent, pipeline.steps[parent].title) for parent in step.incoming_connections],
        parameters=dict(step.parameters),
        pipeline_parameters=dict(pipeline.parameters),
    )


def _succeeded(step_dir: Path) -> bool:
    """Whether the runner recorded that the step of this step directory succeeded."""
    try:
        outcome = json.loads((step_dir / OUTCOME_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(outcome, dict) and outcome.get("status") == "SUCCESS"
