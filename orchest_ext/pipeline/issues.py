"""The issue list: what is wrong with a pipeline description, collected while reading it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_MAX_ISSUES_IN_MESSAGE = 5


@dataclass
class Issue:
    """One problem found in a pipeline description."""

    message: str
    step: str | None = None
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "step": self.step, "field": self.field}


class PipelineError(ValueError):
    """The pipeline description is invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: list[Issue]):
        self.issues = list(issues)
        shown = "; ".join(issue.message for issue in self.issues[:_MAX_ISSUES_IN_MESSAGE])
        more = len(self.issues) - _MAX_ISSUES_IN_MESSAGE
        super().__init__(f"{shown} (and {more} more)" if more > 0 else shown)


class Checker:
    """Collects issues while a pipeline description is read."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, message: str, step: str | None = None, field: str | None = None) -> None:
        self.issues.append(Issue(message, step, field))


def typed(obj: Any, name: str, types: type | tuple[type, ...], default: Any) -> Any:
    """``obj[name]`` when ``obj`` is an object and the value has one of ``types`` (booleans
    are not numbers), else ``default``: reading goes on past what the schema reported."""
    value = obj.get(name, default) if isinstance(obj, dict) else default
    if isinstance(value, bool) and bool not in _as_tuple(types):
        return default
    return value if isinstance(value, types) else default


_JSON_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def json_type_name(python_type: type) -> str:
    return _JSON_TYPE_NAMES.get(python_type, python_type.__name__)


def json_type(value: Any) -> str:
    return json_type_name(type(value))


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


SHORT_VALUE = 60
"""Characters of a bad value that messages and log lines quote."""


def short(value: Any, limit: int = SHORT_VALUE) -> str:
    """``repr`` of a value, cut to its first ``limit`` characters (saying how long it was)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    return f"{text[:limit]!r}... ({len(text)} characters)"


def short_list(values: list[Any], count: int = 5) -> str:
    """The first ``count`` values, each quoted by ``short``, and how many more there are."""
    shown = ", ".join(short(value) for value in values[:count])
    return f"{shown} and {len(values) - count} more" if len(values) > count else shown
