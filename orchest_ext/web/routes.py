"""The routes under ``<base_url>/orchest/api/``: each handler with the dependencies its
``initialize()`` takes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..executors.base import Executor
from ..jobs import JobManager
from ..notify import Notifier
from ..pipeline.discovery import PipelineFinder
from ..runs import RunManager
from ..sessions import PipelineSessionManager
from .base import API, OrchestHandler, Ready
from .compare import CompareHandler, CompareNotebookHandler
from .exports import ExportHandler
from .jobs import JobHandler, JobMatrixHandler, JobsHandler
from .pipelines import PipelinesHandler, ValidateHandler
from .runs import (
    RunHandler,
    RunsHandler,
    StepLogHandler,
    StepNotebookHandler,
    StepOutputsHandler,
)
from .service import BackendsHandler, HealthHandler, OpenAPIHandler
from .sessions import LaunchesHandler, LaunchHandler
from .webhooks import (
    WebhookDeliveriesHandler,
    WebhookHandler,
    WebhooksHandler,
    WebhookTestHandler,
)

RUN_ID = r"(?P<run_id>[^/]+)"
STEP_UUID = r"(?P<step_uuid>[^/]+)"
PIPELINE_UUID_ARG = r"(?P<pipeline_uuid>[^/]+)"
JOB_ID = r"(?P<job_id>[^/]+)"
WEBHOOK_ID = r"(?P<webhook_id>[^/]+)"


def handlers(
    runs: RunManager,
    runs_ready: Ready,
    jobs: JobManager,
    notifier: Notifier,
    sessions: PipelineSessionManager,
    sessions_ready: Ready,
    backends: Mapping[str, Executor],
    default_backend: Callable[[], str],
    root_dir: str,
    max_request_body: int,
    show_env_values: Callable[[], bool] = lambda: False,
) -> list[tuple[str, type[OrchestHandler], dict[str, Any]]]:
    """The routes, each handler with what it needs."""
    common = {"max_request_body": max_request_body, "show_env_values": show_env_values}
    run_deps = {"runs": runs, "ready": runs_ready, **common}
    session_deps = {"sessions": sessions, "ready": sessions_ready, **common}
    job_deps = {"jobs": jobs, "ready": runs_ready, **common}
    webhook_deps = {"notifier": notifier, "ready": runs_ready, **common}
    return [
        (rf"{API}/runs", RunsHandler, run_deps),
        (rf"{API}/runs/compare", CompareHandler, run_deps),
        (rf"{API}/runs/compare/notebook", CompareNotebookHandler, run_deps),
        (rf"{API}/runs/{RUN_ID}", RunHandler, run_deps),
        (rf"{API}/runs/{RUN_ID}/steps/{STEP_UUID}/log", StepLogHandler, run_deps),
        (rf"{API}/runs/{RUN_ID}/steps/{STEP_UUID}/notebook", StepNotebookHandler, run_deps),
        (rf"{API}/runs/{RUN_ID}/steps/{STEP_UUID}/outputs", StepOutputsHandler, run_deps),
        (rf"{API}/jobs", JobsHandler, job_deps),
        (rf"{API}/jobs/{JOB_ID}", JobHandler, job_deps),
        (rf"{API}/jobs/{JOB_ID}/matrix", JobMatrixHandler, job_deps),
        (rf"{API}/webhooks", WebhooksHandler, webhook_deps),
        (rf"{API}/webhooks/{WEBHOOK_ID}", WebhookHandler, webhook_deps),
        (rf"{API}/webhooks/{WEBHOOK_ID}/deliveries", WebhookDeliveriesHandler, webhook_deps),
        (rf"{API}/webhooks/{WEBHOOK_ID}/test", WebhookTestHandler, webhook_deps),
        (rf"{API}/pipelines", PipelinesHandler, {**run_deps, "finder": PipelineFinder(root_dir)}),
        (rf"{API}/pipelines/validate", ValidateHandler, common),
        (rf"{API}/pipelines/export", ExportHandler, {"backends": backends, **common}),
        (
            rf"{API}/backends",
            BackendsHandler,
            {"backends": backends, "default_backend": default_backend, **common},
        ),
        (rf"{API}/health", HealthHandler, {"health": runs.health, "ready": runs_ready, **common}),
        (rf"{API}/openapi.yaml", OpenAPIHandler, common),
        (rf"{API}/launches", LaunchesHandler, session_deps),
        (rf"{API}/launches/{PIPELINE_UUID_ARG}", LaunchHandler, session_deps),
    ]
