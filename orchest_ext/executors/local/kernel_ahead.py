"""A notebook step's kernel started ahead of need: started while the step's parents run,
handed to the step when it starts, or shut down at once if the step will not run."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from typing import IO, TYPE_CHECKING

from ..base import Ahead, StepSpec
from .fork_template import KernelTemplates
from .process import terminate_group

if TYPE_CHECKING:
    from jupyter_client.manager import AsyncKernelManager


class StartedKernel:
    """A started kernel and the file its output goes to; the taker owns both."""

    def __init__(self, km: AsyncKernelManager, kernel_output: IO[bytes]) -> None:
        self.km = km
        self.kernel_output = kernel_output


class KernelAhead(Ahead):
    """Starts a step's kernel (its kernelspec, environment and working directory) at once;
    ``take`` hands it over if it is still the right one and alive."""

    def __init__(
        self,
        spec: StepSpec,
        env: dict[str, str],
        *,
        default_kernel: str,
        startup_timeout: float,
        kill_grace: float,
        shutdown_wait: float,
        log: logging.Logger,
        templates: KernelTemplates | None = None,
    ) -> None:
        """``templates``: fork the kernel where they can."""
        self.spec = spec
        self.templates = templates
        self.env = env
        self.kill_grace = kill_grace
        self.log = log
        self.kernel_name: str | None = None
        self._km: AsyncKernelManager | None = None
        self._output: IO[bytes] | None = None
        self._taken = False
        self._task = asyncio.ensure_future(
            self._start(default_kernel, startup_timeout, shutdown_wait)
        )

    @property
    def pid(self) -> int | None:
        """The kernel's process id once it runs (for tests and logs)."""
        provisioner = self._km.provisioner if self._km is not None else None
        return getattr(provisioner, "pid", None)

    def ready(self) -> bool:
        """Whether the kernel started (it may have died since)."""
        return self._task.done() and not self._task.cancelled() and not self._task.exception()

    async def take(self, spec: StepSpec, env: dict[str, str], kernel: str) -> StartedKernel | None:
        """The kernel, if it started for this very kernelspec, environment and directory and
        is alive; else ``None`` (and whatever was started is shut down)."""
        try:
            await asyncio.shield(self._task)
        except Exception as err:
            self.log.warning(
                "Kernel started ahead for step %s failed (%s: %s); starting afresh",
                spec.step_uuid,
                type(err).__name__,
                err,
            )
        km = self._km
        matches = (
            self.ready()
            and km is not None
            and self.kernel_name == kernel
            and self.env == env
            and self.spec.working_dir == spec.working_dir
        )
        if not matches or not await km.is_alive():
            if self.ready():
                self.log.info(
                    "Kernel started ahead for step %s is gone or does not fit; starting afresh",
                    spec.step_uuid,
                )
            await self.discard()
            return None
        assert self._output is not None
        self._taken = True
        return StartedKernel(km, self._output)

    async def discard(self) -> None:
        """Shut the kernel down at once (kill its process group); no-op once taken."""
        if self._taken:
            return
        self._taken = True
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        km, self._km = self._km, None
        if km is not None:
            provisioner = km.provisioner
            if provisioner is not None and getattr(provisioner, "pgid", None):
                wait = provisioner.wait if provisioner.has_process else None
                await terminate_group(provisioner.pgid, self.kill_grace, wait)
            with contextlib.suppress(Exception):
                await km.cleanup_resources()
        if self._output is not None:
            await asyncio.to_thread(self._output.close)
            self._output = None

    async def _start(self, default_kernel: str, startup_timeout: float, wait: float) -> None:
        spec = self.spec
        # imported on a thread, as LocalExecutor does: they take a while to import
        notebook = await asyncio.to_thread(importlib.import_module, ".notebook", __package__)
        nb = await asyncio.to_thread(notebook.read_notebook, spec.source_path)
        requested = spec.kernel_name or nb.metadata.get("kernelspec", {}).get("name")
        self.kernel_name, _, _ = await asyncio.to_thread(
            notebook.resolve_kernel,
            requested,
            default_kernel,
            self.log,
            notebook.notebook_language(nb),
        )
        self._output = await asyncio.to_thread(_open_kernel_log, spec)
        km = notebook.kernel_manager(
            self.templates, kernel_name=self.kernel_name, shutdown_wait_time=wait
        )
        self._km = km
        extra = ["--HistoryManager.hist_file=:memory:"] if km.ipykernel else []
        await asyncio.wait_for(
            km.start_kernel(
                extra_arguments=extra,
                cwd=str(spec.working_dir),
                env=self.env,
                stdout=self._output,
                stderr=self._output,
            ),
            startup_timeout,
        )
        client = km.client()
        client.start_channels()
        try:
            await notebook.wait_for_ready(client, startup_timeout)
        finally:
            client.stop_channels()


def _open_kernel_log(spec: StepSpec) -> IO[bytes]:
    spec.step_dir.mkdir(parents=True, exist_ok=True)
    return open(spec.step_dir / "kernel.log", "ab")
