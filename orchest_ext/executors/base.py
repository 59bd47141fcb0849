"""The executor interface: where a single pipeline step actually runs."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from traitlets.config import LoggingConfigurable

from ..infra.unavailable import ExecutorUnavailable as ExecutorUnavailable
from .masking import masked_values

STEP_SDK_PATH = Path(__file__).resolve().parent.parent / "sdk"
"""Put on a step's PYTHONPATH so that ``import orchest`` works inside steps only."""


@dataclass
class StepSpec:
    """Everything an executor needs to run one step, and nothing else."""

    run_id: str
    step_uuid: str
    pipeline_uuid: str
    title: str
    file_path: str
    """The step file, relative to ``pipeline_dir``."""
    kind: str
    """One of ``notebook``, ``python``, ``shell``, ``r``."""
    pipeline_dir: Path
    pipeline_path: Path | None
    step_dir: Path
    """Per-step output directory inside the run directory; ``run`` creates it."""
    log_path: Path
    output_notebook_path: Path
    env: dict[str, str]
    """Environment additions: user values, then internal ``ORCHEST_*`` values."""
    parameters: dict[str, Any] = field(default_factory=dict)
    """Step parameters, with the run's overrides applied."""
    pipeline_parameters: dict[str, Any] = field(default_factory=dict)
    kernel_name: str | None = None
    image: str | None = None
    """The step's own image; else its ``environment`` mapped by the executor, else
    ``pipeline_image``, else the executor's default."""
    pipeline_image: str | None = None
    environment: str | None = None
    placement_constraints: list[str] = field(default_factory=list)
    """Where the step may run on a cluster (the pipeline's ``settings.swarm.constraints``)."""
    write_back: bool = False
    masked_env: list[str] = field(default_factory=list)
    """Names of ``env`` entries holding secrets: their values are masked where the step's
    output is written (see ``masking``)."""

    @property
    def source_path(self) -> Path:
        return self.pipeline_dir / self.file_path

    @property
    def working_dir(self) -> Path:
        return self.source_path.parent

    @property
    def masked_values(self) -> list[bytes]:
        """The secret values to mask in the step's output, longest first."""
        return masked_values(self.env, self.masked_env)


def without_secrets(spec: StepSpec) -> StepSpec:
    """``spec`` with the values of its secrets blanked, to be written to a file (the step
    gets them from its environment: ``with_secrets``)."""
    env = {key: "" if key in spec.masked_env else value for key, value in spec.env.items()}
    return dataclasses.replace(spec, env=env)


def with_secrets(spec: StepSpec, environ: dict[str, str]) -> StepSpec:
    """``spec`` read from a file, with its secrets' values taken from ``environ``."""
    found = {key: environ[key] for key in spec.masked_env if key in environ}
    return dataclasses.replace(spec, env={**spec.env, **found})


def spec_to_json(spec: StepSpec) -> str:
    """Serialize a ``StepSpec`` (paths become strings)."""
    return json.dumps(dataclasses.asdict(spec), default=str)


def spec_from_json(text: str) -> StepSpec:
    """Rebuild a ``StepSpec`` from ``spec_to_json`` output, ignoring unknown fields."""
    fields = {f.name: str(f.type) for f in dataclasses.fields(StepSpec)}
    return StepSpec(
        **{
            key: Path(value) if "Path" in fields[key] and value is not None else value
            for key, value in json.loads(text).items()
            if key in fields
        }
    )


@dataclass
class StepResult:
    """How a step ended. ``status`` is ``SUCCESS`` or ``FAILURE``."""

    status: str
    message: str | None = None


class Ahead:
    """What an executor started for a step ahead of need (a kernel, a container): handed to
    ``Executor.run`` when the step starts, or discarded if it never does."""

    def ready(self) -> bool:
        """Whether what was started ahead is up."""
        return False

    async def discard(self) -> None:
        """Stop and remove whatever was started, at once; a no-op once ``run`` took it."""


class Executor(LoggingConfigurable):
    """Runs one step at a time per call; many calls may run concurrently.

    ``run`` must be cancellable: on ``asyncio.CancelledError`` it kills everything
    the step started (process group, kernel, container) and re-raises.
    """

    name: ClassVar[str] = ""
    recoverable: ClassVar[bool] = False
    """Whether steps survive a server restart and can be followed again."""

    async def check_available(self) -> None:
        """Raise ``ExecutorUnavailable`` when the backend cannot run steps."""

    async def image_identity(self, spec: StepSpec) -> str | None:
        """What the step runs in, for its cache key: the image (name and id) on container
        backends, None where steps run in the server's own environment."""
        return None

    def start_ahead(self, spec: StepSpec) -> Ahead | None:
        """Start what the step needs (its kernel, its container) before it may run, in the
        background; ``None`` when this executor starts nothing ahead for such a step."""
        return None

    async def run(
        self, spec: StepSpec, on_started: Any = None, ahead: Ahead | None = None
    ) -> StepResult:
        """Run the step to completion. ``on_started(handle: dict)`` records a handle
        (pid, container id...) that ``cleanup_orphans``/``reattach`` get back after a restart.
        ``ahead`` (only ever passed by executors whose ``start_ahead`` returns one) is what
        ``start_ahead`` started for this step: ``run`` uses it if it can and otherwise starts
        afresh; either way ``run`` owns it. Without it (a retry) everything starts afresh."""
        raise NotImplementedError

    async def reattach(self, spec: StepSpec, handle: dict[str, Any]) -> StepResult | None:
        """Follow a step started by a previous server process to completion.

        Returns ``None`` when nothing of the step is left to follow (it never started)."""
        raise NotImplementedError

    def detach(self) -> None:
        """The server shuts down and leaves running steps to the next server process: from now
        on, cancelling ``run`` or ``reattach`` stops following the step without stopping it.
        Only recoverable executors are detached."""

    async def cleanup_orphan(self, handle: dict[str, Any]) -> None:
        """Kill what a step of a dead server process left running."""

    async def remove_unstarted(self, run_id: str, step_uuids: list[str]) -> None:
        """Remove what a dead server process made ahead for steps it never started."""

    async def close(self) -> None:
        """Release resources held by the executor."""


async def unavailable_reason(executor: Executor) -> str | None:
    """Why ``executor`` cannot run steps now, or ``None`` when it can."""
    try:
        await executor.check_available()
    except ExecutorUnavailable as err:
        return str(err)
    return None
