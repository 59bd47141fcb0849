"""OrchestApp: the Jupyter Server extension; configuration, wiring, start and stop. The only
module that knows every part and puts them together."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, Integer, TraitError, Type, Unicode, default, dlink

from .events import ENVIRONMENT_BUILD, emitter, register_schemas
from .infra.docker_engine import DockerEngine
from .notify import Notifier, WebhookDelivery, WebhookList
from .store.location import default_db_path
from .web import contract
from .web.routes import handlers


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

    step_retries = Integer(
        0,
        min=0,
        help="Times a failed step runs again (in a fresh process, kernel or container) before "
        "it counts as failed, for steps and runs that set no 'retries'.",
    ).tag(config=True)

    step_retry_delay = Float(
        0.0,
        min=0.0,
        help="Seconds between a failed attempt and the next (default 'retry_delay').",
    ).tag(config=True)

    job_max_runs = Integer(
        1000, min=1, help="Most runs one fire of a job may make (the size of its parameter grid)."
    ).tag(config=True)

    job_missed_fire_policy = Enum(
        ["run_once", "skip"],
        default_value="run_once",
        help="What a job's fire missed while the server was down does at start, for jobs that "
        "do not say: 'run_once' or 'skip'.",
    ).tag(config=True)

    job_max_retained_runs = Integer(
        None,
        allow_none=True,
        min=1,
        help="Finished runs kept per job, for jobs that do not say; older ones are deleted "
        "with their run directories (None: keep all).",
    ).tag(config=True)

    job_snapshot_max_bytes = Integer(
        1 << 30,
        min=0,
        help="Most bytes of files a job's snapshot may copy (1 GiB); a bigger pipeline "
        "directory is refused (400) unless the job sets snapshot: false.",
    ).tag(config=True)

    build_environments_on_demand = Bool(
        True,
        help="On the docker and swarm backends, build a step's Orchest environment "
        "(.orchest/environments/<uuid>) when its image is missing or out of date before the "
        "step runs, one build shared by the steps that wait for it, its output at the head of "
        "their logs; False fails such steps, naming the command that builds it.",
    ).tag(config=True)

    kernels_ahead = Integer(
        min=0,
        help="Most kernels (and containers) started ahead of need that may wait at once, "
        "across all runs; 0 starts nothing ahead (default: the number of CPUs, at least 4).",
    ).tag(config=True)

    @default("kernels_ahead")
    def _default_kernels_ahead(self) -> int:
        from .runs.ahead import default_limit

        return default_limit()

    ahead_min_free_memory = Float(
        512.0,
        help="MiB of available memory below which no kernel or container is started ahead "
        "(steps still run, starting theirs when they start).",
    ).tag(config=True)

    default_backend = Enum(
        ["local", "docker", "swarm"],
        default_value="local",
        help="Backend of runs that do not name one: 'local' (this machine), 'docker' or "
        "'swarm' (services on the Docker Swarm the engine manages).",
    ).tag(config=True)

    local_executor_class = Type(
        "orchest_ext.executors.local.LocalExecutor",
        klass="orchest_ext.executors.base.Executor",
        help="Executor class of the 'local' backend.",
    ).tag(config=True)

    docker_executor_class = Type(
        "orchest_ext.executors.containers.docker.DockerExecutor",
        klass="orchest_ext.executors.base.Executor",
        help="Executor class of the 'docker' backend.",
    ).tag(config=True)

    swarm_executor_class = Type(
        "orchest_ext.executors.containers.swarm.SwarmExecutor",
        klass="orchest_ext.executors.base.Executor",
        help="Executor class of the 'swarm' backend.",
    ).tag(config=True)

    store_class = Type(
        "orchest_ext.store.Store",
        klass="orchest_ext.store.Store",
        help="Class of the store of runs and steps (SQLite).",
    ).tag(config=True)

    db_path = Unicode(
        help="SQLite file of runs and steps (default: <jupyter data dir>/orchest_ext/orchest.db)."
    ).tag(config=True)

    @default("db_path")
    def _default_db_path(self) -> str:
        return default_db_path()

    secret_source = Enum(
        ["environment", "file"],
        "environment",
        help='Where env values given as {"secret": NAME} resolve: the server\'s environment, '
        "or secret_file.",
    ).tag(config=True)

    secret_file = Unicode(
        "",
        help="JSON object of secret names to values (with secret_source 'file'); it must be "
        "owned by the server user and readable by no one else (chmod 600).",
    ).tag(config=True)

    show_env_values = Bool(
        False,
        help="Show runs' and jobs' env values to users allowed to 'execute' (users allowed "
        "only to 'read' never see them; without this setting nobody does: values are masked).",
    ).tag(config=True)

    recover_runs = Bool(
        True,
        help="Resume (docker) or fail (local) the runs under this server's root dir whose "
        "server process is gone: at start, and while running (another server sharing the "
        "store may die).",
    ).tag(config=True)

    server_lease = Float(
        30.0,
        min=0.1,
        help="Seconds without a heartbeat after which a server process on another host that "
        "shares db_path counts as gone (one on this host counts as gone as soon as its "
        "process has ended). Each server writes its heartbeat every third of this.",
    ).tag(config=True)

    session_manager_class = Type(
        "orchest_ext.sessions.PipelineSessionManager",
        klass="orchest_ext.sessions.PipelineSessionManager",
        help="Class that launches and tracks interactive pipeline sessions (EG + jupyter-server).",
    ).tag(config=True)

    max_request_body = Integer(
        4 * 1024 * 1024,
        min=1,
        help="Largest request body (bytes) the REST API accepts; larger ones answer 413.",
    ).tag(config=True)

    shutdown_timeout = Float(
        60.0,
        help="Seconds the extension may take to stop (runs, sessions, executors, store); "
        "what is left then is abandoned with an error in the log.",
    ).tag(config=True)

    webhooks = WebhookList().tag(config=True)

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
        from .jobs import JobManager
        from .runs import RunManager
        from .runs.secrets import SecretStore

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
        root_dir = str(Path(self.serverapp.root_dir).resolve())
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
        for ours, theirs in (
            ("job_max_runs", "max_runs"),
            ("job_missed_fire_policy", "missed_fire_policy"),
            ("job_max_retained_runs", "max_retained_runs"),
            ("job_snapshot_max_bytes", "snapshot_max_bytes"),
        ):
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
