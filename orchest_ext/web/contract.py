"""The OpenAPI document as the validator of requests: JSON bodies and query parameters are
checked against its schemas (jsonschema, draft 2020-12 as OpenAPI 3.1 uses), with messages
that name the field and quote at most a short prefix of a bad value."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ..pipeline import short
from ..pipeline.issues import SHORT_VALUE, json_type

SPEC_PATH = Path(__file__).parent / "openapi.yaml"
_SPEC_URI = "urn:orchest-ext:openapi"
_JSON_TYPES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


class RequestInvalid(ValueError):
    """A request that does not match the document; the message names the field."""


@functools.cache
def spec_text() -> bytes:
    """The OpenAPI document as shipped (YAML)."""
    return SPEC_PATH.read_bytes()


@functools.cache
def spec() -> dict[str, Any]:
    """The OpenAPI document, parsed (with libyaml when PyYAML has it: ten times faster)."""
    return yaml.load(spec_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def warm() -> None:
    """Parse the document and build every operation's validators now (blocking: call it on a
    thread at start), so that no request pays for them."""
    for path, item in spec()["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            if "requestBody" in operation:
                pointer = f"/paths/{_escape(path)}/{method}/requestBody/content"
                _validator(f"{pointer}/application~1json/schema")
            for param, pointer in _parameters(path, method):
                if param["in"] == "query":
                    _validator(f"{pointer}/schema")


@functools.cache
def _validator(pointer: str) -> Draft202012Validator:
    """A validator for the schema at ``pointer`` (a JSON pointer into the document)."""
    resource = Resource.from_contents(spec(), default_specification=DRAFT202012)
    registry = Registry().with_resource(_SPEC_URI, resource)
    return Draft202012Validator({"$ref": f"{_SPEC_URI}#{pointer}"}, registry=registry)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _parameters(path: str, method: str) -> list[tuple[dict[str, Any], str]]:
    """The operation's parameters (path-level ones included), each with its schema pointer."""
    item = spec()["paths"][path]
    base = f"/paths/{_escape(path)}"
    found = [(p, f"{base}/parameters/{i}") for i, p in enumerate(item.get("parameters", []))]
    operation = item[method.lower()]
    found += [
        (p, f"{base}/{method.lower()}/parameters/{i}")
        for i, p in enumerate(operation.get("parameters", []))
    ]
    return [_resolve(param, pointer) for param, pointer in found]


def _resolve(param: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
    """Follow a ``$ref`` to a component parameter."""
    ref = param.get("$ref")
    if ref is None:
        return param, pointer
    name = ref.rsplit("/", 1)[1]
    return spec()["components"]["parameters"][name], f"/components/parameters/{name}"


def parse_json(body: bytes, max_bytes: int) -> Any:
    """The JSON document in ``body``; ``RequestInvalid`` saying why it is not one,
    ``BodyTooLarge`` over ``max_bytes``."""
    if len(body) > max_bytes:
        raise BodyTooLarge(len(body), max_bytes)
    try:
        document = json.loads(body or b"{}", parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise RequestInvalid("The request body is not UTF-8 text.") from None
    except json.JSONDecodeError as err:
        raise RequestInvalid(f"The request body is not valid JSON: {err}") from None
    except RecursionError:
        raise RequestInvalid("The request body is JSON nested too deeply.") from None
    except ValueError as err:  # e.g. an integer of more digits than Python converts
        raise RequestInvalid(f"The request body is not usable JSON: {short(str(err))}") from None
    # The parser's own limit follows the interpreter's recursion limit, which libraries
    # may raise; later checks recurse too, so the depth is bounded here explicitly.
    if _depth_over(document, MAX_DEPTH):
        raise RequestInvalid("The request body is JSON nested too deeply.")
    return document


MAX_DEPTH = 64
"""Deepest nesting of arrays and objects a request body may have."""


def _depth_over(document: Any, limit: int) -> bool:
    """Whether arrays and objects in ``document`` nest deeper than ``limit`` (iterative)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class BodyTooLarge(RequestInvalid):
    """A body over the configured limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"The request body has {size} bytes, more than the {limit} this server accepts "
            "(OrchestApp.max_request_body)."
        )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def validate_body(path: str, method: str, body: Any) -> None:
    """Check a parsed body against the operation's request schema."""
    pointer = (
        f"/paths/{_escape(path)}/{method.lower()}/requestBody/content/application~1json/schema"
    )
    _check(_validator(pointer), body, "request body")


def parse_query(path: str, method: str, arguments: Mapping[str, list[bytes]]) -> dict[str, Any]:
    """The operation's query parameters, converted to their schema types, checked, and with
    their defaults; parameters the document does not name are left alone."""
    values: dict[str, Any] = {}
    for param, pointer in _parameters(path, method):
        if param["in"] != "query":
            continue
        name, schema = param["name"], param["schema"]
        raw = arguments.get(name)
        if not raw:
            if "default" in schema:
                values[name] = schema["default"]
            continue
        try:
            text = raw[-1].decode("utf-8")
        except UnicodeDecodeError:
            raise RequestInvalid(f"Query parameter {name} is not UTF-8 text.") from None
        value = _convert(text, _schema_type(schema), name)
        _check(_validator(f"{pointer}/schema"), value, f"query parameter {name}", name)
        values[name] = value
    return values


def _schema_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return _schema_type(spec()["components"]["schemas"][name])
    return schema.get("type", "string")


def _convert(text: str, kind: str, name: str) -> Any:
    if kind != "integer":
        return text
    try:
        if len(text) > 30:
            raise ValueError(text)
        return int(text)
    except ValueError:
        raise RequestInvalid(
            f"Query parameter {name} must be an integer, got {short(text)}."
        ) from None


def _check(validator: Draft202012Validator, instance: Any, what: str, prefix: str = "") -> None:
    errors = sorted(validator.iter_errors(instance), key=_error_order)
    if errors:
        problems = list(dict.fromkeys(_describe(error, prefix) for error in errors))
        raise RequestInvalid(f"Invalid {what}: " + "; ".join(problems[:5]) + ".")


def _error_order(error: ValidationError) -> tuple[int, str]:
    return len(error.absolute_path), ".".join(map(str, error.absolute_path))


def _field(path: Iterable[Any], prefix: str) -> str:
    """``env.HOME``, ``uuids[2]``: where in the instance a problem is."""
    name = prefix
    for part in path:
        if isinstance(part, int):
            name += f"[{part}]"
            continue
        key = part if len(part) <= SHORT_VALUE else short(part)
        name += f".{key}" if name else key
    return name or "the body"


def _describe(error: ValidationError, prefix: str) -> str:
    """A message for one error, naming the field and quoting only a prefix of its value."""
    where = _field(error.absolute_path, prefix)
    in_names = "propertyNames" in error.absolute_schema_path
    subject = f"name {short(error.instance)} in {where}" if in_names else where
    message = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "additionalProperties" and expected is False:
        known = set(error.schema.get("properties", {}))
        unknown = [short(key) for key in value if key not in known]
        allowed = ", ".join(sorted(known))
        return f"unknown field(s) {', '.join(unknown)} in {where}; allowed: {allowed}"
    if message:
        return message.replace("{field}", subject)
    if kind == "required":
        missing = [name for name in expected if name not in value]
        return f"{where} needs the field(s) {', '.join(missing)}"
    if kind == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        names = " or ".join(_JSON_TYPES.get(k, k) for k in kinds)
        return f"{subject} must be {names}, got {json_type(value)}"
    if kind == "enum":
        choices = ", ".join("null" if choice is None else str(choice) for choice in expected)
        return f"{subject} must be one of {choices}; got {short(value)}"
    if kind == "const":
        return f"{subject} must be {expected!r}"
    if kind == "minLength":
        return f"{subject} must not be empty" if expected == 1 else f"{subject} is too short"
    if kind == "maxLength":
        return f"{subject} has {len(value)} characters, more than {expected}"
    if kind in ("maxItems", "maxProperties"):
        return f"{where} has {len(value)} entries, more than {expected}"
    if kind in ("minItems", "minProperties"):
        return f"{where} needs at least {expected} entries"
    if kind == "minimum":
        return f"{subject} must be at least {expected}"
    if kind == "maximum":
        return f"{subject} must be at most {expected}"
    if kind == "pattern":
        return f"{subject} {short(value)} must match {expected}"
    return f"{subject} is not allowed ({kind})"
