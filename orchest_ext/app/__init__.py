"""OrchestApp: the Jupyter Server extension; wiring, start and stop (its options are in
``config.py``). The only package that knows every part and puts them together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from traitlets import TraitError, dlink

from ..events import ENVIRONMENT_BUILD, emitter, register_schemas
from ..infra.docker_engine import DockerEngine
from ..notify import Notifier, WebhookDelivery
from ..web import contract
from ..web.routes import handlers
from .config import OrchestAppConfig


class OrchestApp(ExtensionApp, OrchestAppConfig):
    """Runs notebook pipelines from Jupyter Server."""

    name = "orchest_ext"
    description = __doc__

    def configurable_classes(self) -> list[type]:
        """OrchestApp and every class whose options it configures."""
        return [
            type(self),
            DockerEngine,
            WebhookDelivery,
            self.local_executor_class,
            self.docker_executor_class,
            self.swarm_executor_class,
            self.session_manager_class,
        ]

    def _link_jupyter_server_extension(self, serverapp) -> None:
        with exit_on_invalid_config(self.log):
            super()._link_jupyter_server_extension(serverapp)

    def initialize_settings(self) -> None:
        with exit_on_invalid_config(self.log):
            self._initialize_components()

    def _initialize_components(self) -> None:
        """Build the store, the Docker engine, executors, run and session managers."""
        from ..jobs import JobManager
        from ..runs import RunManager
        from ..runs.secrets import SecretStore

        register_schemas(self.serverapp.event_logger)
        emit = emitter(self.serverapp.event_logger)
        self.store = self.store_class(self.db_path)
        root_dir = str(Path(self.serverapp.root_dir).resolve())
        self.notifier = Notifier(self.store, root_dir, self.webhooks, parent=self, log=self.log)
        self.engine = DockerEngine(parent=self, log=self.log)
        self.executors = {
            "local": self.local_executor_class(parent=self, log=self.log),
            "docker": self.docker_executor_class(parent=self, log=self.log, engine=self.engine),
            "swarm": self.swarm_executor_class(parent=self, log=self.log, engine=self.engine),
        }
        for backend in ("docker", "swarm"):
            dlink((self, ON_DEMAND), (self.executors[backend], ON_DEMAND))
            self.executors[backend].on_environment_build = partial(emit, ENVIRONMENT_BUILD)
        self.runs = RunManager(
            self.store,
            self.executors,
            emit,
            root_dir=root_dir,
            notifier=self.notifier,
            parent=self,
            log=self.log,
        )
        for ours, theirs in RUN_SETTINGS.items():
            dlink((self, ours), (self.runs, theirs))
        self.runs.secrets = SecretStore(self.secret_source, self.secret_file)
        self.jobs = JobManager(self.store, self.runs, emit, self.notifier, parent=self)
        for ours, theirs in JOB_SETTINGS.items():
            dlink((self, ours), (self.jobs, theirs))
        self.sessions = self.session_manager_class(
            root_dir=self.serverapp.root_dir,
            emit=emit,
            engine=self.engine,
            parent=self,
            log=self.log,
        )
        self._runs_started: asyncio.Task[None] | None = None
        self._sessions_started: asyncio.Task[None] | None = None

    def initialize_handlers(self) -> None:
        self.handlers.extend(
            handlers(
                runs=self.runs,
                runs_ready=self.runs_ready,
                jobs=self.jobs,
                notifier=self.notifier,
                sessions=self.sessions,
                sessions_ready=self.sessions_ready,
                backends=self.executors,
                default_backend=lambda: self.default_backend,
                root_dir=self.serverapp.root_dir,
                max_request_body=self.max_request_body,
                show_env_values=lambda: self.show_env_values,
            )
        )

    async def _start_jupyter_server_extension(self, serverapp) -> None:
        await asyncio.gather(
            self.runs_ready(), self.sessions_ready(), asyncio.to_thread(contract.warm)
        )

    async def runs_ready(self) -> None:
        """Open the store and recover unfinished runs, once; run handlers await this."""
        if self._runs_started is None:
            self._runs_started = asyncio.get_running_loop().create_task(self._start_runs())
        await asyncio.shield(self._runs_started)

    async def sessions_ready(self) -> None:
        """Adopt or remove the sessions a previous server left, once; session handlers await
        this. Runs never wait for it."""
        if self._sessions_started is None:
            self._sessions_started = asyncio.get_running_loop().create_task(
                self.sessions.reconcile()
            )
        await asyncio.shield(self._sessions_started)

    async def _start_runs(self) -> None:
        await self.store.open()
        await self.notifier.start()
        await self.runs.start(recover=self.recover_runs)
        await self.jobs.start()
        self.log.info("orchest_ext is ready (store: %s)", self.db_path)

    async def stop_extension(self) -> None:
        """Stop runs and sessions, close executors, the engine and the store: each part even
        if starting or stopping another failed, all within ``shutdown_timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.shutdown_timeout
        parts: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        if _succeeded(self._runs_started):
            parts.append(("jobs", self.jobs.shutdown))
            parts.append(("runs", self.runs.shutdown))
            parts.append(("webhook deliveries", self.notifier.close))
        if _succeeded(self._sessions_started):
            parts.append(("sessions", self.sessions.shutdown))
        parts += [(f"{name} executor", ex.close) for name, ex in self.executors.items()]
        parts += [("sessions' engine", self.sessions.close), ("Docker engine", self.engine.close)]
        parts.append(("store", self.store.close))
        for task in (self._runs_started, self._sessions_started):
            if task is not None and not task.done():
                task.cancel()
        for name, stop in parts:
            try:
                await asyncio.wait_for(stop(), max(deadline - loop.time(), MIN_STOP_SECONDS))
            except asyncio.TimeoutError:
                self.log.error("orchest_ext: stopping the %s timed out", name)
            except Exception:
                self.log.exception("orchest_ext: stopping the %s failed", name)


ON_DEMAND = "build_environments_on_demand"
"""The OrchestApp setting the docker and swarm executors follow."""
RUN_SETTINGS = {
    **{
        name: name
        for name in (
            "max_parallel",
            "step_timeout",
            "default_backend",
            "step_retries",
            "step_retry_delay",
            "kernels_ahead",
            "ahead_min_free_memory",
        )
    },
    "server_lease": "owner_lease",
}
"""OrchestApp settings -> the RunManager settings that follow them."""
JOB_SETTINGS = {
    "job_max_runs": "max_runs",
    "job_missed_fire_policy": "missed_fire_policy",
    "job_max_retained_runs": "max_retained_runs",
    "job_snapshot_max_bytes": "snapshot_max_bytes",
}
"""OrchestApp settings -> the JobManager settings that follow them."""
MIN_STOP_SECONDS = 1.0
"""What each part gets to stop once ``shutdown_timeout`` has passed."""


def _succeeded(task: asyncio.Task[None] | None) -> bool:
    return task is not None and task.done() and not task.cancelled() and not task.exception()


@contextmanager
def exit_on_invalid_config(log: logging.Logger) -> Iterator[None]:
    """Stop the server on an invalid setting: Jupyter Server would only log a warning and go
    on without (or with a half-configured) extension."""
    try:
        yield
    except TraitError as err:
        log.critical("orchest_ext: invalid configuration: %s", err)
        raise SystemExit(f"orchest_ext: invalid configuration: {err}") from None
