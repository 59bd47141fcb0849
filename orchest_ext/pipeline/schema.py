"""The pipeline file formats' JSON Schemas (shared with the frontend) and their issue list.

``schemas/*.schema.json`` is the one description of what a structurally valid Orchest or
Elyra pipeline file is; ``src/model/pipelineSchema.ts`` words the same errors the same way.
A file is first checked by ``fastjsonschema`` (compiled once: 20x faster than ``jsonschema``
on a 1,000-step pipeline, and light to import); only a file it refuses is read again by
``jsonschema``, imported then, for the list of every issue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any, Literal

import fastjsonschema

from .elyra import node_title
from .issues import Issue, json_type, short
from .model import step_label

if TYPE_CHECKING:
    from jsonschema import Draft7Validator, ValidationError

Format = Literal["orchest", "elyra"]
SCHEMA_FILES: dict[Format, str] = {
    "orchest": "orchest-pipeline.schema.json",
    "elyra": "elyra-pipeline.schema.json",
}
_TYPE_NAMES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "null": "null",
}
_DEFAULT_MESSAGES = {
    "required": '{where}: field "{path}" is required.',
    "type": '{where}: field "{path}" must be {expected}, got {got}.',
    "minLength": '{where}: field "{path}" must not be empty.',
    "maxLength": '{where}: field "{path}" has {length} characters, more than {limit}.',
    "minimum": '{where}: field "{path}" must be at least {limit}, got {value}.',
    "additionalProperties": '{where}: field "{path}" is unknown.',
}
_FALLBACK_MESSAGE = '{where}: field "{path}" is not valid ({keyword}).'
_PLACEHOLDER = re.compile(r"\{(where|path|key|value|got|expected|limit|length|json|keyword)\}")


def load_schema(fmt: Format) -> dict[str, Any]:
    """A format's JSON Schema, as shipped in the package."""
    text = files(__package__).joinpath("schemas", SCHEMA_FILES[fmt]).read_text("utf-8")
    return json.loads(text)


@cache
def _fast_check(fmt: Format) -> Callable[[Any], Any]:
    """The format's schema compiled by fastjsonschema: raises at the first error."""
    return fastjsonschema.compile(load_schema(fmt))


@cache
def _validator(fmt: Format) -> Draft7Validator:
    from jsonschema import Draft7Validator

    return Draft7Validator(load_schema(fmt))


def schema_issues(fmt: Format, doc: Any) -> list[Issue]:
    """Every way ``doc`` breaks the format's schema, one issue per problem, in document order."""
    try:
        _fast_check(fmt)(doc)
    except fastjsonschema.JsonSchemaValueException:
        pass
    else:
        return []
    issues: dict[tuple[str, str | None, str | None], Issue] = {}
    for error in _validator(fmt).iter_errors(doc):
        for issue in _issues(fmt, doc, error):
            issues.setdefault((issue.message, issue.step, issue.field), issue)
    return list(issues.values())


def _issues(fmt: Format, doc: Any, error: ValidationError) -> list[Issue]:
    """One issue per missing or unknown property (jsonschema reports them together)."""
    path = list(error.absolute_path)
    if error.validator in ("required", "additionalProperties"):
        instance = error.instance if isinstance(error.instance, dict) else {}
        if error.validator == "required":
            names = [name for name in error.validator_value if name not in instance]
        else:
            names = [name for name in instance if name not in error.schema.get("properties", {})]
        keyword = str(error.validator)
        return [issue(fmt, doc, [*path, name], keyword, error.schema, {}) for name in names]
    details = {"value": error.instance, "limit": error.validator_value}
    if _is_property_name(error):
        details["name"] = error.instance
    return [issue(fmt, doc, path, str(error.validator), error.schema, details)]


def _is_property_name(error: ValidationError) -> bool:
    """Whether the error is about a property's name (``propertyNames``), not a value."""
    schema_path = list(error.absolute_schema_path)
    return len(schema_path) >= 2 and schema_path[-2] == "propertyNames"


def issue(
    fmt: Format,
    doc: Any,
    path: list[str | int],
    keyword: str,
    schema: dict[str, Any],
    details: dict[str, Any],
) -> Issue:
    """The issue for one schema error at ``path`` (for ``required`` and
    ``additionalProperties``, the path ends with the property's name)."""
    anchor, where, step = _anchor(fmt, doc, path)
    relative = path[anchor:]
    value = details.get("name", details.get("value"))
    template = schema.get("x-messages", {}).get(keyword) or _DEFAULT_MESSAGES.get(
        keyword, _FALLBACK_MESSAGE
    )
    words = {
        "where": where,
        "path": path_text(relative),
        "key": short(str(relative[-1])) if relative else "",
        "value": short(value),
        "got": json_type(value),
        "json": json.dumps(value, default=str),
        "expected": _expected(details.get("limit")) if keyword == "type" else "",
        "limit": str(details.get("limit")),
        "length": str(len(value)) if isinstance(value, str) else "",
        "keyword": keyword,
    }
    message = _PLACEHOLDER.sub(lambda match: words[match.group(1)], template)
    return Issue(message, step, _field(schema, keyword, relative))


def _field(schema: dict[str, Any], keyword: str, relative: list[str | int]) -> str | None:
    """The issue's field: the schema's ``x-field``, else the first name of the path."""
    if "x-field" in schema:
        return schema["x-field"]
    if keyword == "required" and relative:
        return str(relative[-1])
    return next((str(part) for part in relative if isinstance(part, str)), None)


def _expected(types: Any) -> str:
    names = types if isinstance(types, list) else [types]
    return " or ".join(_TYPE_NAMES.get(name, str(name)) for name in names)


def path_text(path: list[str | int]) -> str:
    """``kernel.name``, ``incoming_connections[0]``: a path as messages show it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def _anchor(fmt: Format, doc: Any, path: list[str | int]) -> tuple[int, str, str | None]:
    """Where in the document an issue is told from: (path length, how it is named, step)."""
    if fmt == "orchest":
        if len(path) >= 2 and path[0] == "steps":
            key = str(path[1])
            raw = doc["steps"][key]
            return 2, _step_where(key, raw), key
        return 0, "Pipeline", None
    if len(path) >= 2 and path[0] == "pipelines":
        pipeline = doc["pipelines"][path[1]]
        if len(path) >= 4 and path[2] == "nodes" and isinstance(pipeline["nodes"][path[3]], dict):
            node = pipeline["nodes"][path[3]]
            return 4, *_node_where(node, int(path[3]))
        return 2, "Elyra pipeline", None
    return 0, "Elyra pipeline", None


def _step_where(key: str, raw: Any) -> str:
    """How a step is named before its fields are known to be valid."""
    if not isinstance(raw, dict):
        return f'Step "{key}"'
    names = [raw.get("title"), raw.get("file_path"), "untitled"]
    uuid = raw.get("uuid")
    title = next(name for name in names if isinstance(name, str) and name)
    return step_label(title, uuid if isinstance(uuid, str) else key)


def _node_where(node: dict[str, Any], index: int) -> tuple[str, str | None]:
    """How an Elyra node is named: its title and id (its index when it has no id)."""
    node_id = node.get("id")
    title = node_title(node) or "untitled"
    if isinstance(node_id, str):
        return f'Node "{title}" ({node_id})', node_id
    return f'Node "{title}" (nodes[{index}])', None
