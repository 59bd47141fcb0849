"""`jupyter orchest jobs create|list|show|pause|resume|delete`: jobs of a running server."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .client import ClientError, connect


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__)
    p.add_argument("--url", help="the server (default: the first running Jupyter server)")
    p.add_argument("--token", help="the server's token (default: from its runtime file)")
    commands = p.add_subparsers(dest="command", required=True)

    create = commands.add_parser("create", help="Create a job of a pipeline file.")
    create.add_argument("pipeline_file", help="local path, or a path relative to the root dir")
    create.add_argument("--name")
    when = create.add_mutually_exclusive_group()
    when.add_argument("--cron", help="cron expression (5 fields, or 6 with seconds last)")
    when.add_argument("--at", help="run once at this ISO 8601 time (default: once, now)")
    create.add_argument("--timezone", help="IANA time zone of --cron/--at (default UTC)")
    create.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="STEP.NAME=JSON_LIST",
        help="grid values, e.g. pipeline_parameters.lr=[0.1,0.2] or Train.epochs=[1,5]",
    )
    create.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="STEP.NAME=JSON",
        help="fixed parameter override, e.g. Train.seed=1",
    )
    create.add_argument("--max-parallel", type=int)
    create.add_argument("--overlap", choices=["allow", "skip", "queue"])
    create.add_argument("--missed", choices=["run_once", "skip"])
    create.add_argument("--max-retained-runs", type=int)
    create.add_argument("--no-snapshot", action="store_true", help="run the live files")
    create.add_argument("--backend")
    create.add_argument("--retries", type=int)
    create.add_argument("--retry-delay", type=float)
    create.add_argument("--cache", choices=["off", "use", "refresh"], help="step caching")

    commands.add_parser("list", help="List jobs.")
    for name, text in (
        ("show", "Show a job with its runs (JSON)."),
        ("pause", "Pause a job."),
        ("resume", "Resume a paused job."),
        ("delete", "Delete a job; its active runs are aborted."),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("job_id")
    commands.choices["delete"].add_argument(
        "--remove-runs", action="store_true", help="also delete its runs and snapshot"
    )
    return p


def _assignments(pairs: list[str], option: str) -> dict[str, dict[str, Any]]:
    """``STEP.NAME=JSON`` pairs as ``{STEP: {NAME: value}}``."""
    result: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        target, sep, value = pair.partition("=")
        step, dot, name = target.rpartition(".")
        if not sep or not dot or not step or not name:
            raise SystemExit(f"{option} expects STEP.NAME=JSON, got {pair!r}")
        try:
            result.setdefault(step, {})[name] = json.loads(value)
        except json.JSONDecodeError:
            result.setdefault(step, {})[name] = value
    return result


def create_body(args: argparse.Namespace, pipeline_path: str) -> dict[str, Any]:
    """The ``POST jobs`` body of ``jobs create``."""
    body: dict[str, Any] = {"pipeline_path": pipeline_path}
    schedule: dict[str, Any] = {}
    if args.cron:
        schedule["cron"] = args.cron
    if args.at:
        schedule["at"] = args.at
    if args.timezone:
        schedule["timezone"] = args.timezone
    if schedule:
        body["schedule"] = schedule
    if args.grid:
        body["parameter_grid"] = _assignments(args.grid, "--grid")
    if args.param:
        body["parameters"] = _assignments(args.param, "--param")
    if args.no_snapshot:
        body["snapshot"] = False
    for option, field in (
        ("name", "name"),
        ("max_parallel", "max_parallel"),
        ("overlap", "overlap_policy"),
        ("missed", "missed_fire_policy"),
        ("max_retained_runs", "max_retained_runs"),
        ("backend", "backend"),
        ("retries", "retries"),
        ("retry_delay", "retry_delay"),
        ("cache", "cache"),
    ):
        if getattr(args, option) is not None:
            body[field] = getattr(args, option)
    return body


def _line(job: dict[str, Any]) -> str:
    schedule = job["schedule"]
    when = schedule.get("cron") or schedule.get("at") or "now"
    if "timezone" in schedule:
        when += f" ({schedule['timezone']})"
    return (
        f"{job['id']}  {job['status']:<7} {job['name']!r}  {when}  "
        f"next: {job['next_fire_time'] or '-'}  active: {job['active_runs']}"
    )


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    args = parser(prog).parse_args(argv)
    try:
        client = connect(args.url, args.token)
        if args.command == "create":
            job = client.request(
                "POST", "jobs", create_body(args, client.server_path(args.pipeline_file))
            )
            print(_line(job))
        elif args.command == "list":
            jobs = client.request("GET", "jobs")["jobs"]
            for job in jobs:
                print(_line(job))
            if not jobs:
                print("No jobs.")
        elif args.command == "show":
            print(json.dumps(client.request("GET", f"jobs/{args.job_id}"), indent=2))
        elif args.command in ("pause", "resume"):
            body = {"paused": args.command == "pause"}
            print(_line(client.request("PATCH", f"jobs/{args.job_id}", body)))
        else:
            remove = "true" if args.remove_runs else "false"
            job = client.request("DELETE", f"jobs/{args.job_id}", remove_runs=remove)
            print(f"{job['id']}  deleted")
    except ClientError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m orchest_ext.jobs.cli"))
