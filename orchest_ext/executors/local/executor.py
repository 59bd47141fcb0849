"""The embedded default backend: run a step as a process (or a kernel) on this machine."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import shutil
import subprocess
import sys
from typing import Any, ClassVar

from jupyter_core.utils import ensure_async
from traitlets import Bool, Float, Integer, Unicode

from ..base import STEP_SDK_PATH, Executor, StepResult, StepSpec
from ..languages import KernelMissing
from ..masking import MASKED_ENV_VARIABLE, mask_file, masked_command
from ..r_library import RMissing, install_package, library_dir, r_libs
from ..results import describe_exit, log_tail, write_parameters
from .fork_template import KernelTemplates
from .kernel_ahead import KernelAhead, StartedKernel
from .process import process_handle, process_identity, terminate_group, wait_exit


class StepFailed(Exception):
    """A step cannot run; the message is meant for the user."""


class LocalExecutor(Executor):
    """Runs steps on this machine: notebooks in a fresh local kernel, scripts as processes."""

    name: ClassVar[str] = "local"
    recoverable: ClassVar[bool] = False

    python_interpreter = Unicode(
        sys.executable, help="Python interpreter used to run .py steps."
    ).tag(config=True)
    kill_grace_seconds = Float(
        2.0, help="Seconds between SIGTERM and SIGKILL when killing a step's process group."
    ).tag(config=True)
    default_kernel = Unicode(
        "python3",
        help="Kernel used for notebooks whose kernel is not installed and names no known "
        "language (a kernel of the notebook's language is used otherwise).",
    ).tag(config=True)
    kernel_shutdown_wait = Float(
        1.0,
        help="Seconds a finished notebook's kernel gets to exit after its shutdown request "
        "before it is killed (the executed notebook is already saved).",
    ).tag(config=True)
    kernel_startup_timeout = Integer(
        60, help="Seconds to wait for a notebook kernel to become ready."
    ).tag(config=True)
    cell_timeout = Integer(
        None, allow_none=True, help="Maximum seconds per notebook cell (None: no limit)."
    ).tag(config=True)

    fork_kernels = Bool(
        True,
        help="Fork notebook kernels from a template process that imported ipykernel once "
        "(started with the first notebook step, stopped with the server), where the kernel is "
        "the one a plain start would run: the kernelspec runs ipykernel_launcher on the "
        "server's Python and the step changes no PYTHON*, LD_*, LC_* or LANG variable. "
        "Otherwise, or with False, kernels start as usual.",
    ).tag(config=True)

    _templates: KernelTemplates | None = None

    def kernel_templates(self) -> KernelTemplates | None:
        """The template notebook kernels fork from (None without ``fork_kernels``), its
        process started in the background on first call."""
        if not self.fork_kernels:
            return None
        if self._templates is None:
            # the environment of a step that sets no variable of its own, as jupyter_client
            # passes it to a Python kernel (without PYTHONEXECUTABLE)
            env = {**os.environ, **self._added_variables({})}
            env.pop("PYTHONEXECUTABLE", None)
            self._templates = KernelTemplates(
                env, self.log, startup_timeout=self.kernel_startup_timeout
            )
        self._templates.warm()
        return self._templates

    def start_ahead(self, spec: StepSpec) -> KernelAhead | None:
        """Start a notebook step's kernel now (other steps start nothing ahead)."""
        if spec.kind != "notebook":
            return None
        run_dir = spec.env.get("ORCHEST_RUN_DIR")
        if run_dir:
            # R keeps only R_LIBS entries that exist when it starts, and this kernel may start
            # before the run's R library is installed
            library_dir(run_dir).mkdir(parents=True, exist_ok=True)
        return KernelAhead(
            spec,
            self._env(spec),
            default_kernel=self.default_kernel,
            startup_timeout=self.kernel_startup_timeout,
            kill_grace=self.kill_grace_seconds,
            shutdown_wait=self.kernel_shutdown_wait,
            log=self.log,
            templates=self.kernel_templates(),
        )

    async def run(
        self, spec: StepSpec, on_started: Any = None, ahead: KernelAhead | None = None
    ) -> StepResult:
        """Run the step to completion; failures are results, only cancellation raises."""
        try:
            if spec.kind == "notebook":
                self.kernel_templates()
                await asyncio.to_thread(_prepare, spec)
                return await self._run_notebook(spec, on_started, ahead)
            argv = self._command(spec)
            return await self._run_process(spec, await self._start(spec, argv), on_started)
        except (StepFailed, RMissing) as e:
            return StepResult("FAILURE", str(e))
        except Exception as e:
            self.log.exception("Step %s (%s) failed unexpectedly", spec.title, spec.step_uuid)
            return StepResult("FAILURE", f"{type(e).__name__}: {e}")
        finally:
            if ahead is not None:
                await ahead.discard()

    async def close(self) -> None:
        """Stop the kernel template, if one was started."""
        templates, self._templates = self._templates, None
        if templates is not None:
            await templates.close()

    async def cleanup_orphan(self, handle: dict[str, Any]) -> None:
        """Kill the process group a step of a dead server left behind, if it still exists."""
        pgid = handle.get("pgid")
        if not pgid or int(pgid) <= 1 or int(pgid) == os.getpgrp():
            return
        identity = process_identity(int(pgid))
        if identity is not None and identity != handle.get("identity"):
            self.log.info("Not killing process group %s: its pid now names another process", pgid)
            return
        try:
            await terminate_group(int(pgid), self.kill_grace_seconds)
        except PermissionError:
            self.log.warning("Not killing process group %s: it belongs to another user", pgid)

    @staticmethod
    def _added_variables(step_env: dict[str, str]) -> dict[str, str]:
        """The step's own variables, unbuffered Python output, and the step API on
        PYTHONPATH (and, for R, the run's R library on R_LIBS)."""
        added = {"PYTHONUNBUFFERED": "1", **step_env}
        inherited = step_env.get("PYTHONPATH", os.environ.get("PYTHONPATH"))
        added["PYTHONPATH"] = os.pathsep.join(filter(None, [str(STEP_SDK_PATH), inherited]))
        libs = r_libs(
            step_env.get("ORCHEST_RUN_DIR"), step_env.get("R_LIBS", os.environ.get("R_LIBS"))
        )
        if libs:
            added["R_LIBS"] = libs
        return added

    def _env(self, spec: StepSpec) -> dict[str, str]:
        """The server's environment, then the step's."""
        return {**os.environ, **self._added_variables(spec.env)}

    def _process_env(self, spec: StepSpec) -> dict[bytes, bytes]:
        """``_env`` as bytes, built on the already encoded server environment, so that
        starting a process encodes only the step's own variables."""
        env = dict(os.environb)
        env.update(
            (os.fsencode(key), os.fsencode(value))
            for key, value in self._added_variables(spec.env).items()
        )
        return env

    def _command(self, spec: StepSpec) -> list[str]:
        path = str(spec.source_path)
        if spec.kind == "python":
            return [self.python_interpreter, path]
        if spec.kind == "shell":
            # bash from the server's PATH: a step's own PATH decides what its script runs
            return [shutil.which("bash") or "bash", path]
        if spec.kind == "r":
            rscript = shutil.which("Rscript")
            if rscript is None:
                raise StepFailed(
                    "Rscript is not installed: .R steps need R "
                    "(Debian: apt-get install r-base-core r-cran-jsonlite)"
                )
            return [rscript, path]
        raise StepFailed(f"Unsupported step kind: {spec.kind!r}")

    def _spawn(self, spec: StepSpec, argv: list[str]) -> subprocess.Popen:
        """Prepare the step's files and start its process (blocking: runs on a thread). A
        step with secrets writes its output through the masking filter."""
        _prepare(spec)
        if spec.kind == "r":
            _install_r_package(spec)
        env = self._process_env(spec)
        if spec.masked_env:
            argv = masked_command(sys.executable, spec.log_path, argv)
            env[MASKED_ENV_VARIABLE.encode()] = ",".join(spec.masked_env).encode()
        with open(spec.log_path, "ab") as log_file:
            try:
                return subprocess.Popen(
                    argv,
                    cwd=spec.working_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as err:
                raise StepFailed(f"Cannot start {argv[0]}: {err.strerror}") from None

    async def _start(self, spec: StepSpec, argv: list[str]) -> subprocess.Popen:
        """``_spawn`` on a thread; cancelled meanwhile, the process it started is killed."""
        spawn = asyncio.ensure_future(asyncio.to_thread(self._spawn, spec, argv))
        try:
            return await asyncio.shield(spawn)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                proc = await spawn
                await terminate_group(proc.pid, self.kill_grace_seconds, lambda: wait_exit(proc))
                await wait_exit(proc)
            raise

    async def _run_process(
        self, spec: StepSpec, proc: subprocess.Popen, on_started: Any
    ) -> StepResult:
        try:
            if on_started is not None:
                await ensure_async(on_started(process_handle(proc.pid)))
            code = await wait_exit(proc)
        except BaseException:
            await terminate_group(proc.pid, self.kill_grace_seconds, lambda: wait_exit(proc))
            await wait_exit(proc)
            raise
        await terminate_group(proc.pid, self.kill_grace_seconds)
        if code == 0:
            return StepResult("SUCCESS")
        tail = await asyncio.to_thread(log_tail, spec.log_path)
        return StepResult(
            "FAILURE", describe_exit(code) + (f"; last output:\n{tail}" if tail else "")
        )

    async def _prepare_notebook(self, spec: StepSpec) -> tuple[Any, Any, str, str | None]:
        """The notebook module, the step's notebook with its parameters injected, the kernel it
        runs on and a note on that kernel's choice (``StepFailed`` saying why it cannot run)."""
        # imported on first use, on a thread: nbclient and nbformat take a while to import,
        # which runs without notebooks (and the IOLoop meanwhile) should not wait for
        notebook = await asyncio.to_thread(importlib.import_module, ".notebook", __package__)
        try:
            nb = await asyncio.to_thread(notebook.read_notebook, spec.source_path)
        except Exception as err:  # anything nbformat raises for a file that is no notebook
            reason = getattr(err, "message", None) or str(err) or type(err).__name__
            raise StepFailed(f"{spec.file_path} is not a readable notebook: {reason}") from None
        requested = spec.kernel_name or nb.metadata.get("kernelspec", {}).get("name")
        try:
            kernel, language, note = await asyncio.to_thread(
                notebook.resolve_kernel,
                requested,
                self.default_kernel,
                self.log,
                notebook.notebook_language(nb),
            )
        except KernelMissing as err:
            raise StepFailed(str(err)) from None
        if language.lower() == "r":
            await asyncio.to_thread(_install_r_package, spec)
        parameters = {**spec.pipeline_parameters, **spec.parameters}
        try:
            await asyncio.to_thread(notebook.inject_parameters, nb, parameters, kernel, language)
        except ValueError as err:
            raise StepFailed(str(err)) from None
        return notebook, nb, kernel, note

    async def _run_notebook(
        self, spec: StepSpec, on_started: Any, ahead: KernelAhead | None
    ) -> StepResult:
        notebook, nb, kernel, note = await self._prepare_notebook(spec)
        env = self._env(spec)
        started: StartedKernel | None = None
        if ahead is not None:
            started = await ahead.take(spec, env, kernel)
        if started is not None:
            kernel_output = started.kernel_output
        else:
            kernel_output = await asyncio.to_thread(open, spec.step_dir / "kernel.log", "ab")
        log_file = notebook.StepLog(spec.log_path, secrets=spec.masked_values)
        if note:
            log_file.write(note)
        try:
            client = notebook.StepNotebookClient(
                nb,
                parent=self,
                kernel_name=kernel,
                log_file=log_file,
                output_path=spec.output_notebook_path,
                kernel_output=kernel_output,
                on_kernel_started=on_started,
                timeout=self.cell_timeout,
                startup_timeout=self.kernel_startup_timeout,
                kill_grace_seconds=self.kill_grace_seconds,
                kernel_shutdown_wait=self.kernel_shutdown_wait,
                started_kernel=started.km if started is not None else None,
                templates=self.kernel_templates(),
            )
            failure = await client.run_step(spec.working_dir, env)
        finally:
            await log_file.aclose()
            await asyncio.to_thread(kernel_output.close)
            # what the kernel wrote to its own file descriptors (os.system, C libraries)
            await asyncio.to_thread(mask_file, spec.step_dir / "kernel.log", log_file.secrets)
        if spec.write_back:
            await client.save(spec.source_path)
        return StepResult("FAILURE", failure) if failure else StepResult("SUCCESS")


def _prepare(spec: StepSpec) -> None:
    """Make the step directory, check the step file and write the parameters file if the
    step needs one (blocking)."""
    spec.step_dir.mkdir(parents=True, exist_ok=True)
    if not spec.source_path.is_file():
        raise StepFailed(f"Step file not found: {spec.file_path}")
    write_parameters(spec.env, spec.parameters, spec.pipeline_parameters)


def _install_r_package(spec: StepSpec) -> None:
    """Put the orchest R package in the run's R library (blocking), in a run."""
    run_dir = spec.env.get("ORCHEST_RUN_DIR")
    if run_dir:
        install_package(run_dir)
