"""Pipeline JSON (Orchest, or Elyra converted) -> model, with every issue found on the way."""

from __future__ import annotations

import json
import os
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from .elyra import is_elyra, to_orchest
from .issues import Checker, Issue, PipelineError, json_type, short, typed
from .model import SUPPORTED_SUFFIXES, Pipeline, Step, step_kind
from .schema import schema_issues

_PIPELINE_FIELDS = ("name", "uuid", "version", "parameters", "settings", "env_variables", "steps")
_STEP_FIELDS = (
    "uuid",
    "title",
    "file_path",
    "incoming_connections",
    "kernel",
    "environment",
    "image",
    "parameters",
    "meta_data",
    "env_variables",
    "retries",
    "retry_delay",
    "cache",
)
MAX_TITLE = 256
"""Longest step title (the schema's ``maxLength``)."""


def parse_pipeline(
    data: dict[str, Any] | str | bytes,
    directory: Path | str,
    path: Path | str | None = None,
    check_files: bool = True,
) -> Pipeline:
    """Parse an Orchest or Elyra pipeline (a dict or JSON text) with step files in ``directory``.

    Raises ``PipelineError`` listing every issue found.
    """
    pipeline, issues = _parse(data, Path(directory), path, check_files)
    if issues or pipeline is None:
        raise PipelineError(issues)
    return pipeline


def load_pipeline(path: Path | str, check_files: bool = True) -> Pipeline:
    """Read and parse an Orchest or Elyra pipeline file; steps are relative to its directory."""
    path = Path(path).absolute()
    try:
        text = path.read_bytes()
    except OSError as err:
        reason = err.strerror or str(err)
        raise PipelineError(
            [Issue(f"Cannot read pipeline file {path}: {reason}", field="path")]
        ) from err
    return parse_pipeline(text, path.parent, path, check_files)


def validate_pipeline(
    data: Any, directory: Path | str, path: Path | str | None = None, check_files: bool = True
) -> list[Issue]:
    """Every issue in a pipeline description; [] when it is valid. Never raises for bad data."""
    return _parse(data, Path(directory), path, check_files)[1]


def _parse(
    data: Any, directory: Path, path: Path | str | None, check_files: bool
) -> tuple[Pipeline | None, list[Issue]]:
    """Parse and validate in one pass, collecting every issue instead of stopping."""
    checker = Checker()
    if isinstance(data, (str, bytes, bytearray)):
        data = _load_json(data, checker)
        if checker.issues:
            return None, checker.issues
    if not isinstance(data, dict):
        checker.add(
            f"The pipeline description must be a JSON object, got {json_type(data)}.",
            field="json",
        )
        return None, checker.issues
    if is_elyra(data, path):
        checker.issues += schema_issues("elyra", data)
        data = to_orchest(data, path, checker)
        if data is None:
            return None, checker.issues
    checker.issues += schema_issues("orchest", data)
    directory = directory.resolve()
    raw_steps = typed(data, "steps", dict, {})
    steps = {
        key: _read_step(key, raw, directory, check_files, checker)
        for key, raw in raw_steps.items()
        if isinstance(raw, dict)
    }
    if not raw_steps and not checker.issues:
        checker.add("The pipeline has no steps: add at least one step to run.", None, "steps")
    _check_uuids(steps, checker)
    _check_titles(steps, checker)
    _check_connections(steps, checker)
    pipeline = Pipeline(
        name=typed(data, "name", str, ""),
        uuid=typed(data, "uuid", str, ""),
        version=typed(data, "version", str, None),
        parameters=typed(data, "parameters", dict, {}),
        settings=typed(data, "settings", dict, {}),
        env_variables=typed(data, "env_variables", dict, {}),
        steps=steps,
        directory=directory,
        path=Path(path).absolute() if path is not None else None,
        extra={key: value for key, value in data.items() if key not in _PIPELINE_FIELDS},
    )
    return pipeline, checker.issues


def _load_json(text: str | bytes | bytearray, checker: Checker) -> Any:
    """Decode JSON text; report syntax errors with their position and duplicate keys."""
    duplicates: list[str] = []

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                duplicates.append(key)
            obj[key] = value
        return obj

    try:
        data = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as err:
        checker.add(
            f"Invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}.", None, "json"
        )
        return None
    except UnicodeDecodeError as err:
        checker.add(f"The pipeline file is not valid UTF-8 text: {err.reason}.", None, "json")
        return None
    except RecursionError:
        checker.add("The pipeline JSON is nested too deeply.", None, "json")
        return None
    for key in dict.fromkeys(duplicates):
        checker.add(
            f'Duplicate key "{key}" in the pipeline JSON: only the last value would be kept.',
            None,
            "json",
        )
    return data


def _read_step(
    key: str, raw: dict[str, Any], directory: Path, check_files: bool, checker: Checker
) -> Step:
    """Read one step (the schema has reported its structure; bad fields read as defaults)
    and check what the schema cannot: its key, its file and its cache inputs."""
    uuid = typed(raw, "uuid", str, "") or key
    file_path = typed(raw, "file_path", str, "")
    kernel = typed(raw, "kernel", dict, {})
    step = Step(
        uuid=uuid,
        title=typed(raw, "title", str, "") or file_path,
        file_path=file_path,
        incoming_connections=_strings(typed(raw, "incoming_connections", list, [])),
        kernel=kernel,
        environment=typed(raw, "environment", str, None),
        image=typed(raw, "image", str, None),
        parameters=typed(raw, "parameters", dict, {}),
        meta_data=typed(raw, "meta_data", dict, {}),
        env_variables=typed(raw, "env_variables", dict, {}),
        retries=_whole(typed(raw, "retries", (int, float), None)),
        retry_delay=typed(raw, "retry_delay", (int, float), None),
        cache=typed(raw, "cache", (bool, dict), None),
        extra={name: value for name, value in raw.items() if name not in _STEP_FIELDS},
    )
    if uuid != key and isinstance(raw.get("uuid"), str):
        checker.add(
            f'{step.label} is stored under key "{key}" but has uuid "{uuid}": '
            "the key must equal the step's uuid.",
            key,
            "uuid",
        )
    if file_path:
        _check_file_path(step, key, directory, check_files, checker)
    _check_cache_inputs(step, key, checker)
    return step


def _whole(number: float | None) -> int | None:
    """A count read from JSON (``2.0`` is the integer 2, as JSON Schema reads it)."""
    if isinstance(number, float):
        return int(number) if number.is_integer() else None
    return number


def _strings(values: list[Any]) -> list[str]:
    return [value for value in values if isinstance(value, str)]


def _check_cache_inputs(step: Step, key: str, checker: Checker) -> None:
    """Cache input patterns are relative to the pipeline directory and stay inside it."""
    if not isinstance(step.cache, dict):
        return
    inputs = step.cache.get("inputs")
    for index, pattern in enumerate(inputs if isinstance(inputs, list) else []):
        if (
            isinstance(pattern, str)
            and pattern
            and (Path(pattern).is_absolute() or _leaves(pattern))
        ):
            checker.add(
                f'{step.label}: cache.inputs[{index}] "{pattern}" leaves the pipeline directory; '
                "use a pattern relative to it.",
                key,
                "cache",
            )


def _leaves(relative: str) -> bool:
    """Whether a relative path (or glob) climbs out of its directory with ``..``."""
    normalized = os.path.normpath(relative)
    return normalized == ".." or normalized.startswith(".." + os.sep)


def _check_file_path(
    step: Step, key: str, directory: Path, check_files: bool, checker: Checker
) -> None:
    """Step files must be relative, stay inside the pipeline directory and be supported."""
    where = step.label
    file_path = step.file_path
    if Path(file_path).is_absolute():
        checker.add(
            f"{where}: file_path {short(file_path)} is absolute; "
            "use a path relative to the pipeline directory.",
            key,
            "file_path",
        )
        return
    if _leaves(file_path):
        checker.add(
            f"{where}: file_path {short(file_path)} leaves the pipeline directory {directory}.",
            key,
            "file_path",
        )
        return
    try:
        resolved = (directory / file_path).resolve()
    except (OSError, RuntimeError, ValueError) as err:
        checker.add(
            f"{where}: file_path {short(file_path)} cannot be resolved: {err}.", key, "file_path"
        )
        return
    if not resolved.is_relative_to(directory):
        checker.add(
            f"{where}: file_path {short(file_path)} resolves through a symlink to {resolved}, "
            f"outside the pipeline directory {directory}.",
            key,
            "file_path",
        )
        return
    if step_kind(file_path) is None:
        checker.add(
            f"{where}: file_path {short(file_path)} has an unsupported file type; "
            f"supported: {SUPPORTED_SUFFIXES}.",
            key,
            "file_path",
        )
    if check_files:
        try:
            problem = _file_problem(resolved)
        except OSError as err:
            problem = f"is not a usable path ({err.strerror or err})"
        if problem:
            checker.add(
                f"{where}: file_path {short(file_path)} {problem} in {directory}.", key, "file_path"
            )


def _file_problem(path: Path) -> str | None:
    """Why ``path`` is not a step file, None if it is one (blocking)."""
    if path.is_file():
        return None
    return "is not a regular file" if path.exists() else "does not exist"


def _check_uuids(steps: dict[str, Step], checker: Checker) -> None:
    """Step uuids name files and containers: two steps must not share one."""
    first_key: dict[str, str] = {}
    for key, step in steps.items():
        if step.uuid not in first_key:
            first_key[step.uuid] = key
            continue
        other = steps[first_key[step.uuid]]
        checker.add(
            f'Steps "{other.title}" (key "{first_key[step.uuid]}") and "{step.title}" '
            f'(key "{key}") have the same uuid "{step.uuid}": step uuids must be unique.',
            key,
            "uuid",
        )


def _check_connections(steps: dict[str, Step], checker: Checker) -> None:
    """Connections must name steps of this pipeline and must not form cycles."""
    key_of: dict[str, str] = {}
    for key, step in steps.items():
        key_of.setdefault(step.uuid, key)
    parents: dict[str, list[str]] = {key: [] for key in steps}
    for key, step in steps.items():
        for parent in step.incoming_connections:
            if parent in key_of:
                parents[key].append(key_of[parent])
            else:
                checker.add(
                    f'{step.label}: incoming connection "{parent}" is not a step of this pipeline.',
                    key,
                    "incoming_connections",
                )
    try:
        TopologicalSorter(parents).prepare()
    except CycleError:
        checker.issues += _cycle_issues(parents, {key: step.title for key, step in steps.items()})


def _cycle_issues(parents: dict[str, list[str]], titles: dict[str, str]) -> list[Issue]:
    """The issues of a graph known to have cycles, described with networkx (imported only
    then: it is slow to import, and most pipelines have no cycle)."""
    import networkx as nx

    from .graph import find_cycle_issues

    graph = nx.DiGraph()
    graph.add_nodes_from(parents)
    graph.add_edges_from((parent, key) for key, keys in parents.items() for parent in keys)
    return find_cycle_issues(graph, titles)


def _check_titles(steps: dict[str, Step], checker: Checker) -> None:
    """Runs and parameters name steps by title too, so two steps must not share one."""
    first: dict[str, tuple[str, Step]] = {}
    for key, step in steps.items():
        if not isinstance(step.title, str):
            continue
        if step.title not in first:
            first[step.title] = (key, step)
            continue
        other_key, other = first[step.title]
        title = short(step.title)
        checker.add(
            f"Steps {title} ({other.file_path}, {other_key}) and {title} ({step.file_path}, "
            f"{key}) have the same title: give each step its own title (runs and parameters "
            "name steps by title).",
            key,
            "title",
        )
