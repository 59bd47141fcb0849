"""Parameter assignments on the command line: ``STEP.NAME=VALUE`` and ``NAME=VALUE``, with
JSON values (a value that is not JSON is taken as a string)."""

from __future__ import annotations

import json
from typing import Any


def json_value(text: str) -> Any:
    """``text`` as JSON, else as the string it is."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def step_assignments(pairs: list[str], option: str) -> dict[str, dict[str, Any]]:
    """``STEP.NAME=JSON`` pairs as ``{STEP: {NAME: value}}``; ValueError naming ``option``."""
    result: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        target, sep, value = pair.partition("=")
        step, dot, name = target.rpartition(".")
        if not sep or not dot or not step or not name:
            raise ValueError(f"{option} expects STEP.NAME=JSON, got {pair!r}")
        result.setdefault(step, {})[name] = json_value(value)
    return result


def name_assignments(pairs: list[str], option: str) -> dict[str, Any]:
    """``NAME=JSON`` pairs as ``{NAME: value}``; ValueError naming ``option``."""
    result: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"{option} expects NAME=JSON, got {pair!r}")
        result[name] = json_value(value)
    return result
