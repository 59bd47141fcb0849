"""JSON Schema fragments (OpenAPI's and the event schemas') described in a line of Markdown."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from mdtext import code, text

RefLink = Callable[[str], str]
"""Turns a ``$ref`` such as ``#/components/schemas/Run`` into a Markdown link."""

_LIMITS = {
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
    "minimum": "≥ {}",
    "maximum": "≤ {}",
    "minItems": "at least {} items",
    "maxItems": "at most {} items",
    "minProperties": "at least {} entries",
    "maxProperties": "at most {} entries",
}


def type_of(schema: Mapping[str, Any], ref_link: RefLink) -> str:
    """What a value of ``schema`` is: ``string``, ``array of Issue``, ``one of `a`, `b```..."""
    if "$ref" in schema:
        return ref_link(schema["$ref"])
    if "enum" in schema:
        return "one of " + ", ".join(code(json.dumps(v)) for v in schema["enum"])
    if "const" in schema:
        return code(json.dumps(schema["const"]))
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema and all(_describes_value(s) for s in schema[combinator]):
            return " or ".join(type_of(s, ref_link) for s in schema[combinator])
    kinds = schema.get("type")
    if kinds is None:
        return "object" if "properties" in schema else "any"
    if isinstance(kinds, str):
        kinds = [kinds]
    return " or ".join(_one_type(kind, schema, ref_link) for kind in kinds)


def _describes_value(schema: Mapping[str, Any]) -> bool:
    return any(key in schema for key in ("$ref", "type", "enum", "const"))


def _one_type(kind: str, schema: Mapping[str, Any], ref_link: RefLink) -> str:
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        return "array of " + type_of(schema["items"], ref_link)
    extra = schema.get("additionalProperties")
    if kind == "object" and isinstance(extra, Mapping) and extra:
        return "object of " + type_of(extra, ref_link)
    if kind == "string" and "format" in schema:
        return f"string ({schema['format']})"
    return kind


def constraints(schema: Mapping[str, Any]) -> str:
    """The schema's limits in words (length, range, items), or ``""``."""
    phrases = [phrase.format(schema[key]) for key, phrase in _LIMITS.items() if key in schema]
    if schema.get("minLength") == 1:
        phrases[0] = "not empty"
    return ", ".join(phrases)


def sentence(value: str) -> str:
    """``value`` as Markdown text ending with a full stop, so more sentences can follow."""
    line = text(value)
    if not line:
        return ""
    return line if line.endswith((".", "!", "?", ")")) else line + "."


def describe(schema: Mapping[str, Any]) -> str:
    """The field's description, its limits and its default, as Markdown."""
    parts = [sentence(schema["description"])] if schema.get("description") else []
    limits = constraints(schema)
    if limits:
        parts.append(text(limits.capitalize() + "."))
    if "default" in schema:
        parts.append("Default " + code(json.dumps(schema["default"])) + ".")
    return " ".join(parts)


def property_rows(schema: Mapping[str, Any], ref_link: RefLink) -> list[list[str]]:
    """One table row per property of an object schema: name, type, description."""
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        label = code(name) + (" (required)" if name in required else "")
        rows.append([label, type_of(prop, ref_link), describe(prop)])
    return rows
