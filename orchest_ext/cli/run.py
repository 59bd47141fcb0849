"""`jupyter orchest run`: run a pipeline in this process and show its progress."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from functools import partial
from pathlib import Path
from typing import Any

from traitlets import Bool, Enum, Float, Integer, List, TraitError, Unicode, default, validate
from traitlets.config import DeferredConfig

from ..events import ENVIRONMENT_BUILD
from ..pipeline import PipelineError, load_pipeline
from ..pipeline.model import RUN_TYPES
from ..runs import CACHE_MODES, RunManager, RunRequestError
from ..runs.spec import PIPELINE_PARAMETERS
from ..runs.state import SUCCESS
from ..store import Store
from ..store.location import default_db_path
from .assignments import name_assignments, step_assignments
from .base import CLIApp
from .progress import Progress, print_summary

# jsonschema (which nbformat imports for notebook steps) registers an "iri" format checker
# when rfc3987_syntax is importable, and that module compiles a grammar when imported: about a
# second on a small machine. Nothing this command validates uses the format (nbformat's
# schemas do not), so `run` does without it; the server process is not affected.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

BACKENDS = ("local", "docker", "swarm")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals that stop a run as Ctrl-C does (``kill``, ``timeout``, a closed terminal): it is
aborted, its processes and containers stopped."""
FAILURE_POLICIES = ("continue", "fail_fast")
SERVER_SETTING_TRAITS = {"default_backend": "backend", "db_path": "db"}
"""This command's traits whose default is a server setting of another name."""


class RunApp(CLIApp):
    """Run a pipeline in this process and show its progress."""

    name = "jupyter-orchest-run"
    description = (
        "Run a pipeline file (.orchest or Elyra .pipeline) in this process, print each "
        "step's status as it changes, then where its logs and executed notebooks are. Exits 0 "
        "when the run is SUCCESS, 1 when it is not, 2 when it cannot start; Ctrl-C, SIGTERM "
        "and SIGHUP abort the run and exit 128 + the signal number. Executors read "
        "their settings from the config files and the command line "
        "(--DockerExecutor.memory_limit=1g, c.LocalExecutor.cell_timeout = 60, ...)."
    )
    examples = """
jupyter orchest run examples/quickstart/quickstart.orchest
jupyter orchest run my.orchest --steps Report --steps Train --run-type incoming --inclusive
jupyter orchest run my.orchest --backend docker --env WHO=world --env DEBUG=1
jupyter orchest run my.orchest --cache use
jupyter orchest run my.orchest --param Train.lr=0.5 --param 'Train.layers=[64]' --pipeline-param n=7
jupyter orchest run my.orchest --db :memory:     # record the run nowhere
"""
    stopped_by = 0
    """The signal that stopped the run, if one did (see ``STOP_SIGNALS``)."""

    steps = List(
        Unicode(),
        help="Steps to select, by uuid or unique title; repeat the option for several.",
    ).tag(config=True)
    run_type = Enum(
        RUN_TYPES,
        None,
        allow_none=True,
        help="Which steps run: full (default), selection (default with --steps), incoming "
        "(the selection's ancestors) or descendants (the selection and everything downstream).",
    ).tag(config=True)
    inclusive = Bool(False, help="An incoming run also runs the selected steps themselves.").tag(
        config=True
    )
    max_parallel = Integer(
        1,
        help="Most steps running at once (default: c.OrchestApp.max_parallel, else the number "
        "of CPUs); at least 1.",
    ).tag(config=True)
    env = List(
        Unicode(),
        help="KEY=VALUE environment variables of every step; repeat the option for several. "
        "Keys starting with ORCHEST_ are reserved.",
    ).tag(config=True)
    failure_policy = Enum(
        FAILURE_POLICIES,
        "continue",
        help="What a failed step stops: its descendants (continue) or the whole run (fail_fast).",
    ).tag(config=True)
    backend = Enum(
        BACKENDS,
        help="Where steps run: local (this machine), docker (a container per step) or swarm "
        "(a Docker Swarm service per step). "
        "Default: c.OrchestApp.default_backend, else local.",
    ).tag(config=True)
    step_timeout = Float(
        None,
        allow_none=True,
        help="Seconds a step may run before it fails (default: c.OrchestApp.step_timeout, "
        "else no limit).",
    ).tag(config=True)
    write_back = Bool(False, help="Write executed notebooks back over their source files.").tag(
        config=True
    )
    cache = Enum(
        CACHE_MODES,
        "off",
        help="Step caching: off (every step runs), use (a step whose code, parameters, "
        "environment, declared inputs and parents are unchanged since an earlier successful "
        "run reuses that run's result) or refresh (every step runs and records its key).",
    ).tag(config=True)
    db = Unicode(
        help="SQLite file to record the run in: by default the server's (c.OrchestApp.db_path, "
        "else <jupyter data dir>/orchest_ext/orchest.db), so the run is in the history the "
        "server shows (GET runs, the Runs tab) and later runs find its cache keys; :memory: "
        "records it nowhere.",
    ).tag(config=True)
    param = List(
        Unicode(),
        help="STEP.NAME=VALUE: a step parameter for this run (STEP: a uuid or unique title; "
        "VALUE: JSON, else a string); repeat the option for several.",
    ).tag(config=True)
    pipeline_param = List(
        Unicode(),
        help="NAME=VALUE: a pipeline parameter for this run (VALUE: JSON, else a string); "
        "repeat the option for several.",
    ).tag(config=True)

    aliases = {
        **CLIApp.aliases,
        "steps": "RunApp.steps",
        "run-type": "RunApp.run_type",
        "max-parallel": "RunApp.max_parallel",
        "env": "RunApp.env",
        "failure-policy": "RunApp.failure_policy",
        "backend": "RunApp.backend",
        "step-timeout": "RunApp.step_timeout",
        "db": "RunApp.db",
        "cache": "RunApp.cache",
        "param": "RunApp.param",
        "pipeline-param": "RunApp.pipeline_param",
    }
    flags = {
        **CLIApp.flags,
        "inclusive": ({"RunApp": {"inclusive": True}}, inclusive.help),
        "write-back": ({"RunApp": {"write_back": True}}, write_back.help),
    }

    @default("max_parallel")
    def _default_max_parallel(self) -> int:
        return self._server_setting("max_parallel", os.cpu_count() or 1)

    @default("backend")
    def _default_backend(self) -> str:
        return self._server_setting("default_backend", "local")

    @default("db")
    def _default_db(self) -> str:
        return self._server_setting("db_path", None) or default_db_path()

    @default("step_timeout")
    def _default_step_timeout(self) -> float | None:
        return self._server_setting("step_timeout", None)

    def _server_setting(self, name: str, fallback: Any) -> Any:
        """The server extension's setting (``c.OrchestApp.<name>``), else ``fallback``."""
        section = self.config.OrchestApp if "OrchestApp" in self.config else {}
        value = section.get(name, fallback)
        trait = self.traits()[SERVER_SETTING_TRAITS.get(name, name)]
        return value.get_value(trait) if isinstance(value, DeferredConfig) else value

    @validate("max_parallel")
    def _valid_max_parallel(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] < 1:
            raise TraitError(f"--max-parallel must be at least 1, got {proposal['value']}.")
        return proposal["value"]

    @validate("env")
    def _valid_env(self, proposal: dict[str, Any]) -> list[str]:
        for pair in proposal["value"]:
            key, sep, _ = pair.partition("=")
            if not sep or not key:
                raise TraitError(f"--env expects KEY=VALUE, got {pair!r}.")
        return proposal["value"]

    @validate("param")
    def _valid_param(self, proposal: dict[str, Any]) -> list[str]:
        try:
            step_assignments(proposal["value"], "--param")
        except ValueError as err:
            raise TraitError(str(err)) from None
        return proposal["value"]

    @validate("pipeline_param")
    def _valid_pipeline_param(self, proposal: dict[str, Any]) -> list[str]:
        try:
            name_assignments(proposal["value"], "--pipeline-param")
        except ValueError as err:
            raise TraitError(str(err)) from None
        return proposal["value"]

    def start(self) -> None:
        if len(self.extra_args) != 1:
            self.log.critical("run takes one pipeline file, got %d", len(self.extra_args))
            self.exit(2)
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
        try:
            code = asyncio.run(self.run(Path(self.extra_args[0])))
        except KeyboardInterrupt:
            code = 130
        except asyncio.CancelledError:
            code = 128 + self.stopped_by
        self.exit(code)

    def stop_run(self, main: asyncio.Task[int], signum: int) -> None:
        """Cancel the run (``main``) because of signal ``signum``."""
        self.stopped_by = signum
        main.cancel()

    def env_dict(self) -> dict[str, str]:
        return dict(pair.partition("=")[::2] for pair in self.env)

    def parameter_overrides(self) -> dict[str, dict[str, Any]]:
        """The run's ``parameters`` (Orchest's format) from --param and --pipeline-param."""
        overrides = step_assignments(self.param, "--param")
        if self.pipeline_param:
            pipeline = name_assignments(self.pipeline_param, "--pipeline-param")
            overrides.setdefault(PIPELINE_PARAMETERS, {}).update(pipeline)
        return overrides

    def build_executor(self) -> Any:
        """The executor of ``backend``, configured by this app's config (its parent)."""
        if self.backend == "docker":
            from ..executors.containers.docker import DockerExecutor

            return DockerExecutor(parent=self, log=self.log)
        if self.backend == "swarm":
            from ..executors.containers.swarm import SwarmExecutor

            return SwarmExecutor(parent=self, log=self.log)
        from ..executors.local import LocalExecutor

        return LocalExecutor(parent=self, log=self.log)

    async def run(self, pipeline_file: Path) -> int:
        """Run the pipeline to its end; return the exit code."""
        main = asyncio.current_task()
        assert main is not None
        for signum in STOP_SIGNALS:
            asyncio.get_running_loop().add_signal_handler(signum, self.stop_run, main, signum)
        try:
            pipeline = await asyncio.to_thread(load_pipeline, pipeline_file)
        except PipelineError as err:
            print(f"{pipeline_file}: {len(err.issues)} issue(s)", file=sys.stderr)
            for issue in err.issues:
                print(f"  - {issue.message}", file=sys.stderr)
            return 2
        executor = self.build_executor()
        progress = Progress(titles={uuid: step.title for uuid, step in pipeline.steps.items()})
        if self.backend != "local":
            executor.on_environment_build = partial(progress, ENVIRONMENT_BUILD)
        if self.backend == "local" and any(s.kind == "notebook" for s in pipeline.steps.values()):
            executor.kernel_templates()  # the kernel template imports while the run sets up
        store = Store(self.db)
        await store.open()
        manager = RunManager(
            store=store,
            executors={self.backend: executor},
            emit=progress,
            default_backend=self.backend,
            max_parallel=self.max_parallel,
            step_timeout=self.step_timeout,
            parent=self,
            log=self.log,
        )
        await manager.start(recover=False)
        try:
            try:
                submitted = await manager.submit(
                    pipeline,
                    run_type=self.run_type or ("selection" if self.steps else "full"),
                    uuids=self.steps,
                    inclusive=self.inclusive,
                    env=self.env_dict(),
                    parameters=self.parameter_overrides(),
                    failure_policy=self.failure_policy,
                    write_back=self.write_back,
                    cache=self.cache,
                )
            except (RunRequestError, ValueError) as err:
                print(f"Cannot run: {err}", file=sys.stderr)
                return 2
            try:
                run_state = await manager.wait(submitted.id)
            except asyncio.CancelledError:
                await manager.abort(submitted.id)
                raise
        finally:
            await manager.shutdown()
            await executor.close()
            await store.close()
        print_summary(run_state)
        return 0 if run_state.status == SUCCESS else 1
