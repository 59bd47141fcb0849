"""What changed since a step last ran successfully: the parts of two cache keys compared (why
a step ran: ``run_reason`` ``key_changed``, and ``changed``)."""

from __future__ import annotations

from typing import Any

CHANGE_KINDS = ("code", "parameters", "environment", "parents", "inputs")
"""What can change, in the order ``changed`` lists it: the step's file (code cells, kind,
kernel), its or the pipeline's parameters, its environment (variables, image), a parent's
result, a declared input file."""


def what_changed(parts: dict[str, Any], earlier: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The kinds of change from ``earlier`` parts to ``parts`` (in ``CHANGE_KINDS`` order), and
    the parents whose result changed (or that were connected since)."""
    before = earlier.get("parents") or {}
    parents = [uuid for uuid, key in parts["parents"].items() if before.get(uuid) != key]
    disconnected = set(before) - set(parts["parents"])
    differs = {kind: parts[kind] != earlier.get(kind) for kind in CHANGE_KINDS if kind != "parents"}
    differs["parents"] = bool(parents or disconnected)
    return [kind for kind in CHANGE_KINDS if differs[kind]], parents
