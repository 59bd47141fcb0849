"""OrchestApp: the Jupyter Server extension; configuration, wiring, start and stop."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import (
    Bool,
    Enum,
    Float,
    Integer,
    TraitError,
    Type,
    Unicode,
    default,
)

from .events import emitter, register_schemas
from .executors.base import Executor
from .executors.docker import DockerExecutor
from .executors.local import LocalExecutor
from .handlers import HANDLERS
from .launcher import PipelineSessionManager
from .runs import RunManager
from .store import Store


class OrchestApp(ExtensionApp):
    """Runs notebook pipelines from Jupyter Server."""

    name = "orchest_ext"
    description = __doc__

    max_parallel = Integer(
        min=1, help="Most steps running at once, across all runs (default: the number of CPUs)."
    ).tag(config=True)

    @default("max_parallel")
    def _default_max_parallel(self) -> int:
        return os.cpu_count() or 1

    step_timeout = Float(
        None, allow_none=True, help="Seconds a step may run before it fails (None: no limit)."
    ).tag(config=True)

    default_backend = Enum(
        ["local", "docker"],
        default_value="local",
        help="Backend of runs that do not name one: 'local' (this machine) or 'docker'.",
    ).tag(config=True)

    local_executor_class = Type(
        LocalExecutor, klass=Executor, help="Executor class of the 'local' backend."
    ).tag(config=True)

    docker_executor_class = Type(
        DockerExecutor, klass=Executor, help="Executor class of the 'docker' backend."
    ).tag(config=True)

    db_path = Unicode(
        help="SQLite file of runs and steps (default: <jupyter data dir>/orchest_ext/orchest.db)."
    ).tag(config=True)

    @default("db_path")
    def _default_db_path(self) -> str:
        return str(Path(jupyter_data_dir()) / "orchest_ext" / "orchest.db")

    recover_runs = Bool(
        True, help="On start, resume (docker) or fail (local) the runs a dead server left behind."
    ).tag(config=True)

    session_manager_class = Type(
        PipelineSessionManager,
        klass=PipelineSessionManager,
        help="Class that launches and tracks interactive pipeline sessions (EG + jupyter-server).",
    ).tag(config=True)

    def configurable_classes(self) -> list[type]:
        """OrchestApp and every class whose options it configures."""
        return [
            type(self),
            self.local_executor_class,
            self.docker_executor_class,
            self.session_manager_class,
        ]

    def _link_jupyter_server_extension(self, serverapp) -> None:
        with self._exit_on_invalid_config():
            super()._link_jupyter_server_extension(serverapp)

    def initialize_settings(self) -> None:
        with self._exit_on_invalid_config():
            self._initialize_components()

    @contextmanager
    def _exit_on_invalid_config(self) -> Iterator[None]:
        """Stop the server on an invalid setting: Jupyter Server would only log a warning
        and go on without (or with a half-configured) extension."""
        try:
            yield
        except TraitError as err:
            self.log.critical("orchest_ext: invalid configuration: %s", err)
            raise SystemExit(f"orchest_ext: invalid configuration: {err}") from None

    def _initialize_components(self) -> None:
        """Build the store, executors, run and session managers from the configuration."""
        register_schemas(self.serverapp.event_logger)
        self.store = Store(self.db_path)
        self.executors: dict[str, Executor] = {
            "local": self.local_executor_class(parent=self, log=self.log),
            "docker": self.docker_executor_class(parent=self, log=self.log),
        }
        self.runs = RunManager(
            store=self.store,
            executors=self.executors,
            emit=emitter(self.serverapp.event_logger),
            default_backend=self.default_backend,
            max_parallel=self.max_parallel,
            step_timeout=self.step_timeout,
            log=self.log,
        )
        self.sessions = self.session_manager_class(
            root_dir=self.serverapp.root_dir,
            emit=emitter(self.serverapp.event_logger),
            parent=self,
            log=self.log,
        )
        self._started: asyncio.Task | None = None

    def initialize_handlers(self) -> None:
        self.handlers.extend(HANDLERS)

    async def _start_jupyter_server_extension(self, serverapp) -> None:
        await self.ready()

    async def ready(self) -> None:
        """Open the store and recover unfinished runs, once; handlers await this."""
        if self._started is None:
            self._started = asyncio.get_running_loop().create_task(self._start())
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        await self.store.open()
        if self.recover_runs:
            await self.runs.recover()
        await self.sessions.reconcile()
        self.log.info("orchest_ext is ready (store: %s)", self.db_path)

    async def stop_extension(self) -> None:
        if self._started is None:
            return
        await self._started
        await self.runs.shutdown()
        await self.sessions.shutdown()
        for executor in self.executors.values():
            await executor.close()
        await self.store.close()
