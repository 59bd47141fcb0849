"""The options of the extension: every ``c.OrchestApp.*`` setting (``OrchestApp`` inherits
them), with their defaults."""

from __future__ import annotations

import os

from traitlets import Bool, Enum, Float, Integer, Type, Unicode, default

from ..infra.options import Options
from ..notify import WebhookList
from ..store.location import default_db_path


class OrchestAppConfig(Options):
    """The options of ``OrchestApp``, which inherits them."""

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
        from ..runs.ahead import default_limit

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
