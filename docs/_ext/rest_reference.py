"""Sphinx extension: the REST reference written as MyST from the package's openapi.yaml (the
document the server validates requests against and serves), at every build."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from mdtext import code, generated_page, table, text
from schema_text import describe, property_rows, sentence, type_of
from sphinx.application import Sphinx

METHODS = ("get", "post", "put", "patch", "delete")
OUTPUT = "_generated/rest-api.md"
DOCS = Path(__file__).resolve().parent.parent


def openapi_path() -> Path:
    """The package's openapi.yaml, wherever the package keeps it."""
    found = sorted(Path(str(files("orchest_ext"))).rglob("openapi.yaml"))
    if len(found) != 1:
        raise RuntimeError(f"expected one openapi.yaml in orchest_ext, found {found}")
    return found[0]


def schema_target(name: str) -> str:
    return f"rest-schema-{name.lower()}"


def ref_link(ref: str) -> str:
    name = ref.rsplit("/", 1)[-1]
    return f"{{ref}}`{name} <{schema_target(name)}>`"


class OpenAPIWriter:
    """Writes the document's operations and schemas as MyST Markdown lines."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """Follow a local ``$ref`` (parameters and responses are shared that way)."""
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def lines(self) -> list[str]:
        out: list[str] = ["## Operations", ""]
        for path, item in self.spec["paths"].items():
            shared = [self.resolve(p) for p in item.get("parameters", [])]
            for method in METHODS:
                if method in item:
                    out += self.operation(method, path, item[method], shared)
        out += ["## Schemas", ""]
        for name, schema in self.named_schemas().items():
            out += self.schema(name, schema)
        return out

    def named_schemas(self) -> dict[str, Mapping[str, Any]]:
        """The components' schemas, and the body schemas of the components' shared responses
        (such as ``Error``) under the response's name."""
        named = dict(self.spec["components"]["schemas"])
        for name, response in self.spec["components"].get("responses", {}).items():
            for content in response.get("content", {}).values():
                named.setdefault(
                    name, {"description": response.get("description", ""), **content["schema"]}
                )
        return named

    def operation(
        self, method: str, path: str, op: Mapping[str, Any], shared: list[Mapping[str, Any]]
    ) -> list[str]:
        out = [f"### `{method.upper()} {path}`", "", text(op.get("summary", "")), ""]
        if op.get("description"):
            out += [text(op["description"]), ""]
        params = shared + [self.resolve(p) for p in op.get("parameters", [])]
        if params:
            out += ["**Parameters**", ""]
            out += table(["name", "in", "type", "description"], map(self.parameter_row, params))
        body = op.get("requestBody")
        if body:
            out += self.request_body(self.resolve(body))
        out += ["**Responses**", ""]
        responses = op.get("responses", {})
        rows = [self.response_row(status, response) for status, response in responses.items()]
        out += table(["status", "meaning", "body"], rows)
        for status, response in responses.items():
            out += self.inline_body(status, response)
        return out

    def parameter_row(self, param: Mapping[str, Any]) -> list[str]:
        schema = param.get("schema", {})
        required = " (required)" if param.get("required") else ""
        details = " ".join(
            part for part in (sentence(param.get("description", "")), describe(schema)) if part
        )
        return [code(param["name"]) + required, param["in"], type_of(schema, ref_link), details]

    def request_body(self, body: Mapping[str, Any]) -> list[str]:
        out = []
        for media_type, content in body.get("content", {}).items():
            schema = content.get("schema", {})
            out += [f"**Request body** ({code(media_type)}): {type_of(schema, ref_link)}", ""]
            if "example" in content:
                out += ["```json", json.dumps(content["example"], indent=2), "```", ""]
        return out

    def response_row(self, status: str, response: Mapping[str, Any]) -> list[str]:
        shared = response.get("$ref", "").rsplit("/", 1)[-1]
        response = self.resolve(response)
        bodies = [
            (ref_link(shared) if shared else type_of(content.get("schema", {}), ref_link))
            + f" ({code(media_type)})"
            for media_type, content in response.get("content", {}).items()
        ]
        return [code(status), text(response.get("description", "")), "; ".join(bodies)]

    def inline_body(self, status: str, response: Mapping[str, Any]) -> list[str]:
        """The fields of a response body described in place (not by a named schema)."""
        if "$ref" in response:
            return []
        out = []
        for content in response.get("content", {}).values():
            schema = content.get("schema", {})
            if schema.get("properties"):
                out += [f"Response {code(status)} fields:", ""]
                out += table(["field", "type", "description"], property_rows(schema, ref_link))
        return out

    def schema(self, name: str, schema: Mapping[str, Any]) -> list[str]:
        out = [f"({schema_target(name)})=", f"### {name}", ""]
        if schema.get("description"):
            out += [text(schema["description"]), ""]
        merged = self.merged_properties(schema)
        if merged.get("properties"):
            out += table(["field", "type", "description"], property_rows(merged, ref_link))
        else:
            limits = describe({**schema, "description": ""})
            out += [f"Type: {type_of(schema, ref_link)}. {limits}".rstrip(), ""]
        return out

    def merged_properties(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """An object schema's properties, including those its ``allOf`` parts define."""
        merged: dict[str, Any] = {"properties": {}, "required": []}
        for part in [schema, *(self.resolve(p) for p in schema.get("allOf", []))]:
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged


def reference_lines() -> list[str]:
    path = openapi_path()
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    source = "/" + os.path.relpath(path, DOCS)  # a leading / is the docs directory, for Sphinx
    version = code(f"OpenAPI {spec['openapi']}")
    download = f"The document itself ({version}): {{download}}`{path.name} <{source}>`."
    return [download, "", *OpenAPIWriter(spec).lines()]


def setup(app: Sphinx) -> dict[str, Any]:
    return generated_page(app, OUTPUT, reference_lines)
