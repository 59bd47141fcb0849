"""The package's shape, read from its source with ``ast``: every import points down the
layers (no cycles, no upward imports), classes stay under 300 lines and functions under 60."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "orchest_ext"
NOT_MEASURED = {"sdk", "labextension"}
"""The steps' ``orchest`` module (imported inside steps, not by the server) and the built
frontend."""

LAYERS: dict[str, int] = {
    "cli": 7,
    "app": 6,
    "web": 5,
    "jobs": 4,
    "export": 4,
    "runs": 3,
    "sessions": 3,
    "executors": 2,
    "notify": 2,
    "store": 1,
    "events": 1,
    "kernel_launcher": 1,
    "infra": 0,
    "pipeline": 0,
}
"""Each top-level part of the package and its layer: a module imports only from its own part
or from parts of lower layers (``pipeline`` and ``infra`` import from nothing else)."""

MAX_CLASS_LINES = 300
MAX_FUNCTION_LINES = 60
TOO_BIG_FOR_NOW: set[str] = set()
"""Definitions over the limits that are still to be split (this set only shrinks)."""


def modules() -> Iterator[tuple[str, Path]]:
    """``(dotted name, path)`` of every measured module of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if NOT_MEASURED & set(relative.parts):
            continue
        parts = ["orchest_ext", *relative.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def imported(name: str, path: Path) -> set[str]:
    """The package's modules that module ``name`` imports (anywhere in it, lazily too)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {module for module in found if module.startswith("orchest_ext")}


def import_graph() -> nx.DiGraph:
    """Module -> the package's modules it imports (names that are modules or packages)."""
    known = dict(modules())
    graph = nx.DiGraph()
    graph.add_nodes_from(known)
    for name, path in known.items():
        targets = imported(name, path) & known.keys() - {name}  # `from . import x` in __init__
        graph.add_edges_from((name, target) for target in targets)
    return graph


def part(module: str) -> str:
    """The top-level part of the package a module belongs to (``runs``, ``app``, ...)."""
    return module.split(".")[1] if "." in module else ""


def test_no_import_cycles():
    graph = import_graph()
    package_inits = {name for name, path in modules() if path.name == "__init__.py"}
    # a package's __init__ re-exporting its own modules is not a cycle of the code
    graph.remove_edges_from(
        [(a, b) for a, b in graph.edges if a in package_inits and b.startswith(f"{a}.")]
    )
    assert not list(nx.simple_cycles(graph))


def test_imports_point_down_the_layers():
    upward = [
        f"{source} -> {target}"
        for source, target in import_graph().edges
        if part(source)
        and part(target)
        and part(source) != part(target)
        and LAYERS[part(source)] <= LAYERS[part(target)]
    ]
    assert not upward


def test_every_part_has_a_layer():
    parts = {part(name) for name, _ in modules()} - {""}
    assert parts <= LAYERS.keys()


def test_executors_know_nothing_of_runs_sessions_or_the_dag():
    forbidden = ("orchest_ext.runs", "orchest_ext.sessions", "orchest_ext.pipeline")
    found = [
        f"{source} -> {target}"
        for source, target in import_graph().edges
        if part(source) == "executors" and target.startswith(forbidden)
    ]
    assert not found


def definitions() -> Iterator[tuple[str, int, int]]:
    """``(where, lines, limit)`` of every class and function of the package."""
    for _, path in modules():
        where = path.relative_to(PACKAGE).as_posix()
        yield from _definitions(ast.parse(path.read_text()), where, "")


def _definitions(node: ast.AST, where: str, prefix: str) -> Iterator[tuple[str, int, int]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{child.name}"
            limit = MAX_CLASS_LINES if isinstance(child, ast.ClassDef) else MAX_FUNCTION_LINES
            assert child.end_lineno is not None
            yield f"{where}:{name}", child.end_lineno - child.lineno + 1, limit
            yield from _definitions(child, where, f"{name}.")
        else:
            yield from _definitions(child, where, prefix)


def test_classes_and_functions_stay_small():
    too_big = {where: lines for where, lines, limit in definitions() if lines > limit}
    assert too_big.keys() <= TOO_BIG_FOR_NOW, {
        where: lines for where, lines in too_big.items() if where not in TOO_BIG_FOR_NOW
    }


def test_the_list_of_definitions_still_to_split_only_shrinks():
    too_big = {where for where, lines, limit in definitions() if lines > limit}
    assert not TOO_BIG_FOR_NOW - too_big, "split already: remove from TOO_BIG_FOR_NOW"
