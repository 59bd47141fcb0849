"""`jupyter orchest ...`: run and validate pipelines from the command line, build images."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from .events import RUN_STATUS, STEP_STATUS
from .pipeline import RUN_TYPES, PipelineError, UnknownStepsError, load_pipeline, validate_pipeline
from .runs import FAILURE_POLICIES, RunManager, RunRequestError, step_files
from .runs.state import SUCCESS
from .store import Store

SYMBOLS = {"STARTED": "▶", "SUCCESS": "✔", "FAILURE": "✘", "ABORTED": "■", "PENDING": "·"}


def parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env expects KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


class ConfigHelpAction(argparse.Action):
    """Print the traitlets options of OrchestApp and the classes it configures."""

    def __init__(self, option_strings, dest, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from .app import OrchestApp

        for cls in OrchestApp().configurable_classes():
            title = f"{cls.__name__} options"
            print(f"{title}\n{'-' * len(title)}")
            for trait in cls.class_own_traits(config=True).values():
                print(cls.class_get_trait_help(trait))
            print()
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jupyter orchest", description=__doc__)
    parser.add_argument(
        "--help-all",
        action=ConfigHelpAction,
        help="show every configurable option of the extension (traitlets) and exit",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="Run a pipeline in this process and show its progress.")
    run.add_argument("pipeline_file", type=Path)
    run.add_argument("--steps", nargs="+", default=[], metavar="UUID_OR_TITLE")
    run.add_argument(
        "--run-type", choices=RUN_TYPES, help="default: full, or selection with --steps"
    )
    run.add_argument("--inclusive", action="store_true", help="incoming runs include the selection")
    run.add_argument("--max-parallel", type=int, default=os.cpu_count() or 1)
    run.add_argument("--env", nargs="+", default=[], metavar="KEY=VALUE")
    run.add_argument("--failure-policy", choices=FAILURE_POLICIES, default="continue")
    run.add_argument("--backend", default="local", help="local (default) or docker")
    run.add_argument("--step-timeout", type=float, default=None, metavar="SECONDS")
    run.add_argument("--write-back", action="store_true", help="write executed notebooks back")
    run.add_argument("--db", default=":memory:", help="SQLite file to record the run in")

    validate = commands.add_parser("validate", help="Print the issues of a pipeline file.")
    validate.add_argument("pipeline_file", type=Path)

    images = commands.add_parser("images", help="Docker images of the project.")
    images.add_argument("action", choices=["build"])
    images.add_argument("images_args", nargs=argparse.REMAINDER)

    # Listed for --help; main() hands their arguments to their own parsers.
    commands.add_parser(
        "jobs", help="Jobs of a running server: create, list, show, pause, resume, delete."
    )
    commands.add_parser("environments", help="Orchest environments: build their images.")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "jobs":
        from .jobs.cli import main as jobs_main

        return jobs_main(argv[1:], prog="jupyter orchest jobs")
    if argv and argv[0] == "environments":
        from .environments import main as environments_main

        return environments_main(argv[1:], prog="jupyter orchest environments")
    args = build_parser().parse_args(argv)
    if args.command == "validate":
        return validate(args.pipeline_file)
    if args.command == "images":
        from .images import main as images_main

        return images_main(args.images_args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130


def validate(pipeline_file: Path) -> int:
    try:
        data = pipeline_file.read_bytes()
    except OSError as err:
        print(f"Cannot read {pipeline_file}: {err.strerror}", file=sys.stderr)
        return 2
    issues = validate_pipeline(data, pipeline_file.resolve().parent, pipeline_file.resolve())
    if not issues:
        print(f"{pipeline_file}: OK")
        return 0
    print(f"{pipeline_file}: {len(issues)} issue(s)")
    for issue in issues:
        print(f"  - {issue.message}")
    return 1


class Progress:
    """Prints run and step events as they happen."""

    def __init__(self, stream=sys.stdout) -> None:
        self.stream = stream

    def __call__(self, schema_id: str, data: dict[str, Any]) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        symbol = SYMBOLS.get(data["status"], " ")
        if schema_id == STEP_STATUS:
            line = f"{stamp} {symbol} {data['title']}: {data['status']}"
        elif schema_id == RUN_STATUS:
            line = f"{stamp} {symbol} run {data['run_id']}: {data['status']}"
        else:
            return
        if data.get("message") and data["status"] != "STARTED":
            line += f" ({data['message']})"
        print(line, file=self.stream, flush=True)


def _build_executor(backend: str):
    if backend == "local":
        from .executors.local import LocalExecutor

        return LocalExecutor()
    if backend == "docker":
        from .executors.docker import DockerExecutor

        return DockerExecutor()
    raise SystemExit(f"Unknown backend {backend!r}; use local or docker.")


async def run(args: argparse.Namespace) -> int:
    try:
        pipeline = await asyncio.to_thread(load_pipeline, args.pipeline_file)
    except PipelineError as err:
        print(f"{args.pipeline_file}: {len(err.issues)} issue(s)", file=sys.stderr)
        for issue in err.issues:
            print(f"  - {issue.message}", file=sys.stderr)
        return 2
    store = Store(args.db)
    await store.open()
    executor = _build_executor(args.backend)
    manager = RunManager(
        store=store,
        executors={args.backend: executor},
        emit=Progress(),
        default_backend=args.backend,
        max_parallel=max(1, args.max_parallel),
        step_timeout=args.step_timeout,
    )
    try:
        submitted = await manager.submit(
            pipeline,
            run_type=args.run_type or ("selection" if args.steps else "full"),
            uuids=args.steps,
            inclusive=args.inclusive,
            env=parse_env(args.env),
            failure_policy=args.failure_policy,
            write_back=args.write_back,
        )
    except (UnknownStepsError, RunRequestError, ValueError) as err:
        print(f"Cannot run: {err}", file=sys.stderr)
        await store.close()
        return 2
    try:
        run_state = await manager.wait(submitted.id)
        await manager.flush()
    except asyncio.CancelledError:
        await manager.abort(submitted.id)
        raise
    finally:
        await executor.close()
    await store.close()
    print_summary(run_state)
    return 0 if run_state.status == SUCCESS else 1


def print_summary(run_state) -> None:
    print(f"\nRun {run_state.id}: {run_state.status}")
    print(f"Run directory: {run_state.run_dir}")
    for step in run_state.steps.values():
        files = step_files(run_state.run_dir, step.uuid, step.file_path)
        print(f"  {SYMBOLS.get(step.status, ' ')} {step.title} [{step.status}]")
        if files.log_path.exists():
            print(f"      log:      {files.log_path}")
        if step.file_path.lower().endswith(".ipynb") and files.notebook_path.exists():
            print(f"      notebook: {files.notebook_path}")


if __name__ == "__main__":
    sys.exit(main())
