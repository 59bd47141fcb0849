"""Notebook execution on top of nbclient: a fresh kernel per step, outputs streamed to a log
file and the executed notebook saved after every cell."""

from __future__ import annotations

import asyncio
import contextlib
import json
import keyword
import logging
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NamedTuple

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import run_hook
from nbformat import NotebookNode
from nbformat.corpus.words import generate_corpus_id
from traitlets import Float

from ..languages import kernel_for, language_named
from ..masking import StreamMasker, mask
from ..results import describe_exit
from .fork_provisioner import kernel_manager
from .fork_template import KernelTemplates
from .kernel_ready import wait_for_ready
from .process import process_identity, terminate_group

SKIP_TAG = "skip"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
KERNEL_EXIT_WAIT = 5.0
"""Seconds to wait for a dead kernel's exit code, to say how it ended."""
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


class ResolvedKernel(NamedTuple):
    """The installed kernelspec a notebook runs on; ``note``, the step log's first line when
    it stands in for a kernel that is not installed."""

    name: str
    language: str
    note: str | None = None


def resolve_kernel(
    requested: str | None, default: str, log: logging.Logger, language: str | None = None
) -> ResolvedKernel:
    """Map a requested kernel name onto an installed kernelspec (blocking: scans kernel dirs).

    A name of a known language (Orchest's ``python``, ``r``, ``julia``; ``ir``) or, for a name
    not installed, the notebook's own ``language`` picks an installed kernel of that language,
    never one of another: ``KernelMissing`` when there is none. Only a name of no known
    language falls back to ``default``, with a note for the step log."""
    specs = KernelSpecManager()
    installed = {
        name: specs.get_kernel_spec(name).language.lower() for name in specs.find_kernel_specs()
    }
    note = None
    wanted = language_named(requested) or language_named(language)
    if requested in installed:
        name = requested
    elif wanted is not None:
        name = kernel_for(wanted, installed, requested or wanted.name)
    else:
        name = default
        if requested:
            log.warning("Kernel %r is not installed; using %r instead", requested, default)
            note = (
                f"Kernel {requested!r} is not installed: this notebook runs on {name!r} instead.\n"
            )
    return ResolvedKernel(name, specs.get_kernel_spec(name).language, note)


def notebook_language(nb: NotebookNode) -> str | None:
    """The language a notebook says it is written in (its kernelspec's or language_info's)."""
    metadata = nb.metadata
    return metadata.get("kernelspec", {}).get("language") or metadata.get("language_info", {}).get(
        "name"
    )


def output_text(output: NotebookNode) -> str:
    """The plain text of one notebook output, without ANSI escapes."""
    kind = output.get("output_type")
    if kind == "stream":
        return _ANSI_ESCAPE.sub("", output.get("text", ""))
    if kind == "error":
        text = "\n".join(output.get("traceback", []))
    else:
        text = output.get("data", {}).get("text/plain", "")
    text = _ANSI_ESCAPE.sub("", text)
    return text if not text or text.endswith("\n") else text + "\n"


def read_notebook(path: Path) -> NotebookNode:
    """Read a notebook as version 4 (blocking). Cells lacking the id that nbformat 4.5 requires
    get one here: nbformat would add it too, but with a warning on stderr."""
    data = json.loads(path.read_text(encoding="utf-8"))
    version = (data.get("nbformat"), data.get("nbformat_minor")) if isinstance(data, dict) else ()
    if version and version[0] == 4 and isinstance(version[1], int) and version[1] >= 5:
        for cell in data.get("cells") or []:
            if isinstance(cell, dict) and "id" not in cell:
                cell["id"] = generate_corpus_id()
    return nbformat.reads(json.dumps(data), as_version=4)


def write_notebook(nb: NotebookNode, path: Path, masked: list[bytes] | tuple = ()) -> None:
    """Write a notebook atomically through a temporary file of its own, so writers of the
    same path never meet in one temporary file, with the values of ``masked`` masked in it
    (blocking)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "xb") as handle:
            text = nbformat.writes(nb)
            handle.write(mask(text.encode() + (b"" if text.endswith("\n") else b"\n"), masked))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def inject_parameters(
    nb: NotebookNode, parameters: dict[str, Any], kernel_name: str, language: str
) -> None:
    """Papermill's convention: after the cell tagged ``parameters``, a cell tagged
    ``injected-parameters`` assigns each parameter in the kernel's language (papermill's
    translators), replacing one injected earlier. ``ValueError`` for a language papermill
    cannot write, or a Python keyword as a parameter name."""
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in c.metadata.get("tags", [])]
    index = next(
        (i for i, c in enumerate(nb.cells) if PARAMETERS_TAG in c.metadata.get("tags", [])), None
    )
    if index is None or not parameters:
        return
    keywords = [name for name in parameters if language == "python" and keyword.iskeyword(name)]
    if keywords:
        raise ValueError(
            f"Cannot inject parameters: {', '.join(map(repr, keywords))} cannot be a Python "
            "variable (a keyword); rename the parameter."
        )
    # Imported here: papermill is slow to import and only parameterized notebooks need it.
    from papermill.exceptions import PapermillException
    from papermill.translators import translate_parameters

    try:
        source = translate_parameters(kernel_name, language, parameters, "Parameters")
    except PapermillException as err:
        raise ValueError(f"Cannot inject parameters: {err}") from None
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [INJECTED_TAG]
    nb.cells.insert(index + 1, cell)


def clear_outputs(nb: NotebookNode, skip_tag: str = SKIP_TAG) -> None:
    """Clear outputs of the code cells that will run, so stale outputs never look fresh."""
    for cell in nb.cells:
        if cell.cell_type == "code" and skip_tag not in cell.metadata.get("tags", []):
            cell.outputs = []
            cell.execution_count = None


class StepLog:
    """A step log that notebook outputs are appended to: text is collected on the IOLoop and
    written by a worker thread, at most ``interval`` seconds after it was produced, in order,
    with the values of ``secrets`` masked (also one split across two writes)."""

    def __init__(self, path: Path, interval: float = 0.1, secrets: list[bytes] = ()) -> None:
        self.path = path
        self.interval = interval
        self.secrets = list(secrets)
        self._masker = StreamMasker(self.secrets)
        self._parts: list[str] = []
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def write(self, text: str) -> None:
        self._parts.append(text)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(self._flush_soon())

    async def flush(self, final: bool = False) -> None:
        """Append what was written so far (``final``: also what may have begun a secret)."""
        async with self._lock:
            parts, self._parts = self._parts, []
            data = self._masker.feed("".join(parts).encode("utf-8", "replace"))
            if final:
                data += self._masker.finish()
            if data:
                await asyncio.to_thread(_append_bytes, self.path, data)

    async def aclose(self) -> None:
        """Write the rest."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.flush(final=True)

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.interval)
        self._timer = None
        await asyncio.shield(self.flush())


def _append_bytes(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


class StepNotebookClient(NotebookClient):
    """Executes a notebook as a pipeline step: fresh kernel, outputs streamed to ``log_file``,
    notebook saved to ``output_path`` after every cell, cancellable without leaks."""

    kill_grace_seconds = Float(
        2.0, help="Seconds between SIGTERM and SIGKILL when killing the kernel's process group."
    ).tag(config=True)
    kernel_shutdown_wait = Float(
        1.0, help="Seconds a kernel gets to exit after its shutdown request before it is killed."
    ).tag(config=True)

    def __init__(
        self,
        nb: NotebookNode,
        *,
        log_file: StepLog,
        output_path: Path,
        kernel_output: IO[bytes] | None = None,
        on_kernel_started: Callable[[dict[str, Any]], Any] | None = None,
        started_kernel: AsyncKernelManager | None = None,
        templates: KernelTemplates | None = None,
        **kw: Any,
    ) -> None:
        """``started_kernel``: a kernel already started for this step, used instead of a
        new one (and shut down like one); ``templates``: fork the kernel where it can."""
        kw.setdefault("skip_cells_with_tag", SKIP_TAG)
        super().__init__(nb, **kw)
        self.log_file = log_file
        self.output_path = output_path
        self.kernel_output = kernel_output
        self.on_kernel_started = on_kernel_started
        self.started_kernel = started_kernel
        self.templates = templates
        self.on_cell_executed = self._save_after_cell
        self.cell_index: int | None = None
        self._provisioner: Any = None
        self._kernel_info: dict[str, Any] | None = None
        self._alive_polls: set[asyncio.Task[Any]] = set()

    def create_kernel_manager(self) -> AsyncKernelManager:
        """A kernel manager of this step's kernel, forking it where the templates can."""
        self.km = kernel_manager(self.templates, kernel_name=self.kernel_name, config=self.config)
        return self.km

    async def run_step(self, cwd: Path, env: dict[str, str]) -> str | None:
        """Execute the notebook; return None on success or a failure message. The executed
        notebook is saved before the kernel starts, after every cell and when it stops.

        On cancellation the kernel's process group is killed and the notebook saved with the
        outputs the interrupted cell made so far before re-raising.
        """
        clear_outputs(self.nb, self.skip_cells_with_tag)
        await self.save()
        task = asyncio.ensure_future(self._execute(cwd, env))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await self._abort(task)
            await self.save()
            raise
        except CellExecutionError as e:
            failure = f"{self._cell_name()} raised {e.ename}: {e.evalue}"
        except CellTimeoutError:
            failure = f"{self._cell_name()} timed out after {self.timeout} s"
        except DeadKernelError:
            failure = f"The kernel died while running {self._cell_name().lower()}"
            failure += await self._kernel_exit()
        else:
            failure = None
        await self.save()
        return failure

    async def _kernel_exit(self) -> str:
        """How the dead kernel ended (`` (killed by signal SIGKILL (exit code 137))``), or
        nothing if its process cannot tell in a few seconds."""
        provisioner = self._provisioner or (self.km.provisioner if self.km is not None else None)
        if provisioner is None:
            return ""
        if getattr(provisioner, "exit_code", None) is None and provisioner.has_process:
            with contextlib.suppress(asyncio.TimeoutError, OSError, RuntimeError):
                await asyncio.wait_for(provisioner.wait(), KERNEL_EXIT_WAIT)
        code = getattr(provisioner, "exit_code", None)
        return f" ({describe_exit(code)})" if code is not None else ""

    def _cell_name(self) -> str:
        """The running cell as the executed notebook shows it: ``Cell 3 (In [2])``, its
        position counting every cell from 1, and its execution count once it has one."""
        count = self.nb.cells[self.cell_index].get("execution_count")
        prompt = f" (In [{count}])" if isinstance(count, int) else ""
        return f"Cell {self.cell_index + 1}{prompt}"

    async def save(self, path: Path | None = None) -> None:
        """Write the notebook in its current state (in a thread)."""
        await asyncio.to_thread(
            write_notebook, self.nb, path or self.output_path, self.log_file.secrets
        )

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        """Start the kernel (or take the one started ahead), remember its process and report
        its handle."""
        try:
            if self.started_kernel is None:
                await super().async_start_new_kernel(**kwargs)
        finally:
            if self.km is not None and getattr(self.km.provisioner, "pgid", None):
                self._provisioner = self.km.provisioner
        if self.on_kernel_started is not None and self._provisioner is not None:
            pgid = self._provisioner.pgid
            handle = {
                "pid": self._provisioner.pid,
                "pgid": pgid,
                "identity": process_identity(pgid),
            }
            await ensure_async(self.on_kernel_started(handle))

    async def async_start_new_kernel_client(self) -> Any:
        """nbclient's, waiting for the kernel with ``wait_for_ready`` (no fixed 0.2 s) and
        keeping its ``kernel_info`` reply for the notebook's language info."""
        assert self.km is not None
        try:
            self.kc = self.km.client()
            await ensure_async(self.kc.start_channels())
            self._kernel_info = await wait_for_ready(self.kc, self.startup_timeout)
        except Exception as err:
            self.log.error("Could not connect to kernel %s: %s", self.km.kernel_id, err)
            await self._async_cleanup_kernel()
            raise
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        """Record an output in the cell and append its text to the log."""
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None and (text := output_text(out)):
            self.log_file.write(text)
        return out

    async def _async_poll_kernel_alive(self) -> None:
        """nbclient's kernel-alive poll, tracked: nbclient leaves it running when a cell is
        cancelled, so ``_shutdown`` stops it."""
        task = asyncio.current_task()
        assert task is not None
        self._alive_polls.add(task)
        try:
            await super()._async_poll_kernel_alive()
        finally:
            self._alive_polls.discard(task)

    async def _execute(self, cwd: Path, env: dict[str, str]) -> None:
        """Run all cells in a fresh kernel. Unlike ``NotebookClient.async_execute`` this
        installs no signal handlers or atexit hooks, which belong to the server."""
        self.reset_execution_trackers()
        if self.started_kernel is None:
            self.create_kernel_manager()
        else:
            self.km = self.started_kernel
        self.km.shutdown_wait_time = self.kernel_shutdown_wait
        try:
            await self.async_start_new_kernel(
                cwd=str(cwd), env=env, stdout=self.kernel_output, stderr=self.kernel_output
            )
            await self.async_start_new_kernel_client()
            self._record_language_info()
            for index, cell in enumerate(self.nb.cells):
                self.cell_index = index
                await self.async_execute_cell(
                    cell, index, execution_count=self.code_cells_executed + 1
                )
            self.set_widgets_metadata()
        finally:
            await self._shutdown()

    def _record_language_info(self) -> None:
        reply = self._kernel_info
        if reply is not None and "language_info" in reply["content"]:
            self.nb.metadata["language_info"] = reply["content"]["language_info"]

    async def _save_after_cell(self, **_: Any) -> None:
        await self.save()

    async def _shutdown(self) -> None:
        for task in self._alive_polls:
            task.cancel()
        if self.km is not None:
            try:
                await self._async_cleanup_kernel()
            except Exception:
                self.log.warning("Kernel cleanup failed", exc_info=True)
        await self._kill_kernel_group()

    async def _kill_kernel_group(self) -> None:
        """Terminate the kernel's process group: the kernel and anything it started."""
        provisioner = self._provisioner
        if provisioner is not None:
            wait_leader = provisioner.wait if provisioner.has_process else None
            await terminate_group(provisioner.pgid, self.kill_grace_seconds, wait_leader)

    async def _abort(self, task: asyncio.Future[None]) -> None:
        self.shutdown_kernel = "immediate"
        await self._kill_kernel_group()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await self._kill_kernel_group()
