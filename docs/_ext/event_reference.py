"""Sphinx extension: the event schemas the extension emits on the Jupyter event bus, written as
MyST from the package's event_schemas/ YAML files at every build."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from mdtext import code, generated_page, table, text
from schema_text import property_rows
from sphinx.application import Sphinx

OUTPUT = "_generated/event-schemas.md"


def schema_files() -> list[Path]:
    """Every event schema the package ships (``event_schemas/<name>/v<N>.yaml``)."""
    found = sorted(Path(str(files("orchest_ext"))).rglob("event_schemas/*/v*.yaml"))
    if not found:
        raise RuntimeError("no event schemas found under orchest_ext/**/event_schemas/")
    return found


def no_links(ref: str) -> str:
    return code(ref)


def schema_lines(schema: dict[str, Any]) -> list[str]:
    name = schema["$id"].rstrip("/").split("/")[-2]
    out = [f"(event-{name.replace('_', '-')})=", f"## {name}: {text(schema['title'])}", ""]
    out += [f"Schema id {code(schema['$id'])}, version {code(schema['version'])}.", ""]
    out += [text(schema.get("description", "")), ""]
    return out + table(["field", "type", "description"], property_rows(schema, no_links))


def reference_lines() -> list[str]:
    lines: list[str] = []
    for path in schema_files():
        lines += schema_lines(yaml.safe_load(path.read_text(encoding="utf-8")))
    return lines


def setup(app: Sphinx) -> dict[str, Any]:
    return generated_page(app, OUTPUT, reference_lines)
