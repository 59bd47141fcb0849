"""`jupyter orchest jobs create|list|show|pause|resume|delete`: jobs of a running server."""

from __future__ import annotations

import json
import sys
from typing import Any

from traitlets import Bool, Enum, Float, Integer, List, Unicode

from .assignments import step_assignments
from .base import CLIApp, CommandGroup, one_argument
from .client import Client, ClientError, connect


class JobsClientApp(CLIApp):
    """A `jobs` subcommand: talks to a running server."""

    url = Unicode(
        None, allow_none=True, help="The server (default: the first running Jupyter server)."
    ).tag(config=True)
    token = Unicode(
        None, allow_none=True, help="The server's token (default: from its runtime file)."
    ).tag(config=True)

    aliases = {**CLIApp.aliases, "url": "JobsClientApp.url", "token": "JobsClientApp.token"}

    def start(self) -> None:
        try:
            self.exit(self.call(connect(self.url, self.token)))
        except ClientError as err:
            print(err, file=sys.stderr)
            self.exit(1)

    def call(self, client: Client) -> int:
        """Make this subcommand's request(s) and print the answer; return the exit code."""
        raise NotImplementedError


class CreateJobApp(JobsClientApp):
    """Create a job of a pipeline file."""

    name = "jupyter-orchest-jobs-create"
    description = (
        "Create a job of a pipeline file (a local path, or a path relative to the server's "
        "root dir): once now (default), once --at a time, or on a --cron schedule."
    )
    examples = """
jupyter orchest jobs create p/pipeline.orchest --name nightly --cron "0 3 * * *"
jupyter orchest jobs create p/pipeline.orchest --grid Train.lr=[0.1,0.2] --param Train.seed=1
"""
    job_name = Unicode(None, allow_none=True, help="The job's name.").tag(config=True)
    cron = Unicode(
        None, allow_none=True, help="Cron expression (5 fields, or 6 with seconds last)."
    ).tag(config=True)
    at = Unicode(
        None, allow_none=True, help="Run once at this ISO 8601 time (default: once, now)."
    ).tag(config=True)
    timezone = Unicode(
        None, allow_none=True, help="IANA time zone of --cron/--at (default UTC)."
    ).tag(config=True)
    grid = List(
        Unicode(),
        help="Grid values as STEP.NAME=JSON_LIST, e.g. pipeline_parameters.lr=[0.1,0.2] or "
        "Train.epochs=[1,5]; repeat the option for several.",
    ).tag(config=True)
    param = List(
        Unicode(),
        help="Fixed parameter override as STEP.NAME=JSON, e.g. Train.seed=1; repeat the "
        "option for several.",
    ).tag(config=True)
    max_parallel = Integer(None, allow_none=True, help="Most runs of the job at once.").tag(
        config=True
    )
    overlap = Enum(
        ["allow", "skip", "queue"], None, allow_none=True, help="Overlap policy of its runs."
    ).tag(config=True)
    missed = Enum(["run_once", "skip"], None, allow_none=True, help="Missed fire policy.").tag(
        config=True
    )
    max_retained_runs = Integer(None, allow_none=True, help="Runs to keep.").tag(config=True)
    no_snapshot = Bool(False, help="Run the live files (no snapshot).").tag(config=True)
    backend = Unicode(None, allow_none=True, help="Backend of its runs.").tag(config=True)
    retries = Integer(None, allow_none=True, help="Retries of a failed step.").tag(config=True)
    retry_delay = Float(None, allow_none=True, help="Seconds between retries.").tag(config=True)
    cache = Enum(["off", "use", "refresh"], None, allow_none=True, help="Step caching.").tag(
        config=True
    )

    aliases = {
        **JobsClientApp.aliases,
        **{
            option: f"CreateJobApp.{trait}"
            for option, trait in (
                ("name", "job_name"),
                ("cron", "cron"),
                ("at", "at"),
                ("timezone", "timezone"),
                ("grid", "grid"),
                ("param", "param"),
                ("max-parallel", "max_parallel"),
                ("overlap", "overlap"),
                ("missed", "missed"),
                ("max-retained-runs", "max_retained_runs"),
                ("backend", "backend"),
                ("retries", "retries"),
                ("retry-delay", "retry_delay"),
                ("cache", "cache"),
            )
        },
    }
    flags = {
        **JobsClientApp.flags,
        "no-snapshot": ({"CreateJobApp": {"no_snapshot": True}}, no_snapshot.help),
    }

    def start(self) -> None:
        if self.cron is not None and self.at is not None:
            self.log.critical("--cron and --at exclude each other")
            self.exit(2)
        super().start()

    def call(self, client: Client) -> int:
        pipeline_file = one_argument(self, "pipeline file")
        job = client.request("POST", "jobs", self.body(client.server_path(pipeline_file)))
        print(_line(job))
        return 0

    def body(self, pipeline_path: str) -> dict[str, Any]:
        """The ``POST jobs`` body."""
        body: dict[str, Any] = {"pipeline_path": pipeline_path}
        schedule = {
            key: value
            for key, value in (("cron", self.cron), ("at", self.at), ("timezone", self.timezone))
            if value
        }
        if schedule:
            body["schedule"] = schedule
        if self.grid:
            body["parameter_grid"] = self.assignments(self.grid, "--grid")
        if self.param:
            body["parameters"] = self.assignments(self.param, "--param")
        if self.no_snapshot:
            body["snapshot"] = False
        for trait, field in (
            ("job_name", "name"),
            ("max_parallel", "max_parallel"),
            ("overlap", "overlap_policy"),
            ("missed", "missed_fire_policy"),
            ("max_retained_runs", "max_retained_runs"),
            ("backend", "backend"),
            ("retries", "retries"),
            ("retry_delay", "retry_delay"),
            ("cache", "cache"),
        ):
            if getattr(self, trait) is not None:
                body[field] = getattr(self, trait)
        return body

    def assignments(self, pairs: list[str], option: str) -> dict[str, dict[str, Any]]:
        """``STEP.NAME=JSON`` pairs as ``{STEP: {NAME: value}}``; exit 2 on a malformed one."""
        try:
            return step_assignments(pairs, option)
        except ValueError as err:
            self.log.critical("%s", err)
            self.exit(2)
            raise


class ListJobsApp(JobsClientApp):
    """List jobs."""

    name = "jupyter-orchest-jobs-list"
    description = (
        "List the jobs of the server, one a line: id, status, name, schedule, next fire, "
        "active runs (`jupyter orchest jobs list`)."
    )

    def call(self, client: Client) -> int:
        jobs = client.request("GET", "jobs")["jobs"]
        for job in jobs:
            print(_line(job))
        if not jobs:
            print("No jobs.")
        return 0


class ShowJobApp(JobsClientApp):
    """Show a job with its runs (JSON)."""

    name = "jupyter-orchest-jobs-show"
    description = "Print a job with its newest runs as JSON (`jupyter orchest jobs show JOB_ID`)."

    def call(self, client: Client) -> int:
        job_id = one_argument(self, "job id")
        print(json.dumps(client.request("GET", f"jobs/{job_id}"), indent=2))
        return 0


class PauseJobApp(JobsClientApp):
    """Pause a job."""

    name = "jupyter-orchest-jobs-pause"
    description = (
        "Pause a job: it fires no more until resumed; its runs in progress go on "
        "(`jupyter orchest jobs pause JOB_ID`)."
    )
    paused = True

    def call(self, client: Client) -> int:
        job_id = one_argument(self, "job id")
        print(_line(client.request("PATCH", f"jobs/{job_id}", {"paused": self.paused})))
        return 0


class ResumeJobApp(PauseJobApp):
    """Resume a paused job."""

    name = "jupyter-orchest-jobs-resume"
    description = (
        "Resume a paused job: it fires again from its next scheduled time "
        "(`jupyter orchest jobs resume JOB_ID`)."
    )
    paused = False


class DeleteJobApp(JobsClientApp):
    """Delete a job; its active runs are aborted."""

    name = "jupyter-orchest-jobs-delete"
    description = (
        "Delete a job: its active runs are aborted, its queued ones dropped; with "
        "--remove-runs also its runs and snapshot (`jupyter orchest jobs delete JOB_ID`)."
    )
    remove_runs = Bool(False, help="Also delete its runs and snapshot.").tag(config=True)
    flags = {
        **JobsClientApp.flags,
        "remove-runs": ({"DeleteJobApp": {"remove_runs": True}}, remove_runs.help),
    }

    def call(self, client: Client) -> int:
        job_id = one_argument(self, "job id")
        remove = "true" if self.remove_runs else "false"
        job = client.request("DELETE", f"jobs/{job_id}", remove_runs=remove)
        print(f"{job['id']}  deleted")
        return 0


def _line(job: dict[str, Any]) -> str:
    schedule = job["schedule"]
    when = schedule.get("cron") or schedule.get("at") or "now"
    if "timezone" in schedule:
        when += f" ({schedule['timezone']})"
    return (
        f"{job['id']}  {job['status']:<7} {job['name']!r}  {when}  "
        f"next: {job['next_fire_time'] or '-'}  active: {job['active_runs']}"
    )


JOB_COMMANDS: dict[str, type[JobsClientApp]] = {
    "create": CreateJobApp,
    "list": ListJobsApp,
    "show": ShowJobApp,
    "pause": PauseJobApp,
    "resume": ResumeJobApp,
    "delete": DeleteJobApp,
}


class JobsApp(CommandGroup):
    """Jobs of a running server: `jupyter orchest jobs create|list|show|pause|resume|delete`."""

    name = "jupyter-orchest-jobs"
    description = (
        "Jobs of a running server: create, list, show, pause, resume, delete "
        "(`jupyter orchest jobs create --help`). --url and --token may come before the "
        "command too."
    )
    subcommands = {name: (app, app.__doc__) for name, app in JOB_COMMANDS.items()}

    def parse_command_line(self, argv: list[str] | None = None) -> None:
        """Options of the server connection may come first: `jobs --url U create ...`."""
        argv = list(argv or [])
        super().parse_command_line(_command_first(argv, self.subcommands))


def _command_first(argv: list[str], commands: dict[str, Any]) -> list[str]:
    """``argv`` with its first command word moved to the front (skipping option values)."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if word in commands:
            return [word, *argv[:index], *argv[index + 1 :]]
        index += 2 if word in ("--url", "--token") else 1
    return argv
