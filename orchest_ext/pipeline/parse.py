"""Pipeline JSON (Orchest, or Elyra converted) -> model, with every issue found on the way."""

from __future__ import annotations

import json
import os
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from .elyra import is_elyra, to_orchest
from .issues import Checker, Issue, PipelineError, json_type, short
from .model import SUPPORTED_SUFFIXES, Pipeline, Step, step_kind, step_label

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
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENTIFIER = _ENV_NAME
MAX_TITLE = 256
MAX_ENV_VALUE = 32 * 1024
"""Longest environment value (Linux refuses a single environment string over 128 KiB)."""
_CONSTRAINT = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*\s*(==|!=)\s*[^\s=!][^=!]*")
"""A swarm placement constraint: a node attribute, ``==`` or ``!=``, a value."""
_STEP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


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
        data = to_orchest(data, path, checker)
        if data is None:
            return None, checker.issues
    directory = directory.resolve()
    where = "Pipeline"
    fields = {
        "name": checker.get(data, "name", str, "", where),
        "uuid": checker.get(data, "uuid", str, "", where, required=True),
        "version": checker.get(data, "version", (str, type(None)), None, where),
        "parameters": _parameters(data, where, None, checker),
        "settings": _settings(data, checker),
        "env_variables": _env_variables(data, where, None, checker),
    }
    raw_steps = checker.get(data, "steps", dict, {}, where, required=True)
    steps = {
        key: step
        for key, raw in raw_steps.items()
        if (step := _parse_step(key, raw, directory, check_files, checker)) is not None
    }
    if not raw_steps and not checker.issues:
        checker.add("The pipeline has no steps: add at least one step to run.", None, "steps")
    _check_uuids(steps, checker)
    _check_titles(steps, checker)
    _check_connections(steps, checker)
    pipeline = Pipeline(
        **fields,
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


def _parse_step(
    key: str, raw: Any, directory: Path, check_files: bool, checker: Checker
) -> Step | None:
    """Read one step; invalid fields are reported and replaced by defaults."""
    if not isinstance(raw, dict):
        checker.add(f'Step "{key}" must be a JSON object, got {json_type(raw)}.', key, "steps")
        return None
    where = _raw_label(key, raw)
    uuid = checker.get(raw, "uuid", str, key, where, key, required=True)
    file_path = checker.get(raw, "file_path", str, "", where, key, required=True)
    title = raw.get("title")
    if title is not None and not isinstance(title, str):
        checker.add(
            f'{where}: field "title" must be a string, got {json_type(title)}.', key, "title"
        )
    elif title is not None and len(title) > MAX_TITLE:
        checker.add(
            f"{where}: the title has {len(title)} characters, more than {MAX_TITLE}.", key, "title"
        )
    step = Step(
        uuid=uuid,
        title=title or file_path,
        file_path=file_path,
        incoming_connections=_connections(raw, where, key, checker),
        kernel=_kernel(raw, where, key, checker),
        environment=checker.get(raw, "environment", (str, type(None)), None, where, key),
        image=checker.get(raw, "image", (str, type(None)), None, where, key),
        parameters=_parameters(raw, where, key, checker),
        meta_data=checker.get(raw, "meta_data", dict, {}, where, key),
        env_variables=_env_variables(raw, where, key, checker),
        retries=_non_negative(raw, "retries", int, where, key, checker),
        retry_delay=_non_negative(raw, "retry_delay", (int, float), where, key, checker),
        cache=_cache(raw, where, key, checker),
        extra={name: value for name, value in raw.items() if name not in _STEP_FIELDS},
    )
    if uuid != key:
        checker.add(
            f'{where} is stored under key "{key}" but has uuid "{uuid}": '
            "the key must equal the step's uuid.",
            key,
            "uuid",
        )
    if file_path:
        _check_file_path(step, key, directory, check_files, checker)
    return step


def _non_negative(
    raw: dict[str, Any], name: str, types: Any, where: str, key: str, checker: Checker
) -> Any:
    """A step's optional non-negative number (booleans are not numbers here)."""
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, types) or value < 0:
        kind = "an integer" if types is int else "a number"
        checker.add(
            f'{where}: field "{name}" must be {kind} of at least 0, got {value!r}.', key, name
        )
        return None
    return value


def _cache(
    raw: dict[str, Any], where: str, key: str, checker: Checker
) -> bool | dict[str, Any] | None:
    """A step's ``cache``: true/false, or ``{"enabled": bool, "inputs": [glob, ...]}`` with
    patterns relative to the pipeline directory that stay inside it."""
    value = raw.get("cache")
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, dict):
        checker.add(
            f'{where}: field "cache" must be true, false or an object, got {json_type(value)}.',
            key,
            "cache",
        )
        return None
    problems = [
        f'{where}: field "cache.{name}" is unknown; use "enabled" or "inputs".'
        for name in value
        if name not in ("enabled", "inputs")
    ]
    if not isinstance(value.get("enabled", True), bool):
        problems.append(f'{where}: field "cache.enabled" must be true or false.')
    inputs = value.get("inputs", [])
    if not isinstance(inputs, list):
        problems.append(
            f'{where}: field "cache.inputs" must be a list of glob patterns, '
            f"got {json_type(inputs)}."
        )
        inputs = []
    for index, pattern in enumerate(inputs):
        if not isinstance(pattern, str) or not pattern:
            problems.append(
                f"{where}: cache.inputs[{index}] must be a glob pattern (a non-empty string)."
            )
        elif Path(pattern).is_absolute() or _leaves(pattern):
            problems.append(
                f'{where}: cache.inputs[{index}] "{pattern}" leaves the pipeline directory; '
                "use a pattern relative to it."
            )
    for problem in problems:
        checker.add(problem, key, "cache")
    return None if problems else value


def _leaves(relative: str) -> bool:
    """Whether a relative path (or glob) climbs out of its directory with ``..``."""
    normalized = os.path.normpath(relative)
    return normalized == ".." or normalized.startswith(".." + os.sep)


def _connections(raw: dict[str, Any], where: str, key: str, checker: Checker) -> list[str]:
    """The step's incoming connections, keeping only the string entries."""
    connections = checker.get(raw, "incoming_connections", list, [], where, key)
    for index, parent in enumerate(connections):
        if not isinstance(parent, str):
            checker.add(
                f"{where}: incoming_connections[{index}] must be a step uuid (a string), "
                f"got {json_type(parent)}.",
                key,
                "incoming_connections",
            )
    return [parent for parent in connections if isinstance(parent, str)]


def _kernel(raw: dict[str, Any], where: str, key: str, checker: Checker) -> dict[str, Any]:
    """The step's kernel object; its ``name`` and ``display_name`` must be strings."""
    kernel = checker.get(raw, "kernel", dict, {}, where, key)
    for name in ("name", "display_name"):
        value = kernel.get(name)
        if value is not None and not isinstance(value, str):
            checker.add(
                f'{where}: kernel "{name}" must be a string, got {json_type(value)}.',
                key,
                "kernel",
            )
    return kernel


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
    """Step uuids name files and containers: they must be plain ids (letters, digits,
    ``.``, ``_``, ``-``), and two steps must not share one."""
    first_key: dict[str, str] = {}
    for key, step in steps.items():
        if not _STEP_ID.fullmatch(step.uuid):
            checker.add(
                f'Step "{step.title}" (key "{key}") has uuid "{step.uuid}": a step uuid may '
                "hold only letters, digits, '.', '_' and '-' (at most 128), like a UUID.",
                key,
                "uuid",
            )
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


def _settings(data: dict[str, Any], checker: Checker) -> dict[str, Any]:
    """Pipeline settings; ``default_image``, when given, is an image name; ``swarm``, when
    given, holds placement ``constraints``."""
    settings = checker.get(data, "settings", dict, {}, "Pipeline")
    checker.get(settings, "default_image", (str, type(None)), None, "Pipeline settings")
    swarm = checker.get(settings, "swarm", dict, {}, "Pipeline settings")
    constraints = checker.get(swarm, "constraints", list, [], "Pipeline settings.swarm")
    for index, constraint in enumerate(constraints):
        if not (isinstance(constraint, str) and _CONSTRAINT.fullmatch(constraint)):
            checker.add(
                f"Pipeline settings.swarm: constraints[{index}] {short(constraint)} is not a "
                'placement constraint such as "node.labels.gpu==true" (attribute, == or !=, '
                "value).",
                None,
                "constraints",
            )
    return settings


def _env_variables(
    data: dict[str, Any], where: str, step: str | None, checker: Checker
) -> dict[str, str]:
    """Pipeline or step environment variables: valid names with string values."""
    env = checker.get(data, "env_variables", dict, {}, where, step)
    for name, value in env.items():
        if not (isinstance(name, str) and _ENV_NAME.fullmatch(name)):
            checker.add(
                f"{where}: env_variables name {short(name)} is not a valid environment variable "
                "name (letters, digits and _, not starting with a digit).",
                step,
                "env_variables",
            )
        if not isinstance(value, str):
            checker.add(
                f'{where}: env_variables "{name}" must be a string, got {json_type(value)}.',
                step,
                "env_variables",
            )
        elif "\x00" in value or len(value) > MAX_ENV_VALUE:
            checker.add(
                f"{where}: env_variables {short(name)} must be at most {MAX_ENV_VALUE} "
                "characters without NUL characters.",
                step,
                "env_variables",
            )
    return env


def _parameters(
    data: dict[str, Any], where: str, step: str | None, checker: Checker
) -> dict[str, Any]:
    """Pipeline or step parameters: names are identifiers (notebooks get them as variables)."""
    parameters = checker.get(data, "parameters", dict, {}, where, step)
    for name in parameters:
        if not _IDENTIFIER.fullmatch(name):
            checker.add(
                f"{where}: parameter name {short(name)} is not an identifier (letters, digits "
                "and _, not starting with a digit).",
                step,
                "parameters",
            )
    return parameters


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


def _raw_label(key: str, raw: dict[str, Any]) -> str:
    """Label a step before its fields are validated."""
    names = [raw.get("title"), raw.get("file_path"), "untitled"]
    uuid = raw.get("uuid")
    title = next(name for name in names if isinstance(name, str) and name)
    return step_label(title, uuid if isinstance(uuid, str) else key)
