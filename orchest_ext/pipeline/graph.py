"""The pipeline as a networkx DAG: cycles, run-type subgraphs and execution order."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from .issues import Issue, short_list
from .model import RUN_TYPES, Pipeline


class UnknownStepsError(ValueError):
    """Some requested steps are neither a step uuid nor a unique step title."""

    def __init__(self, uuids: Iterable[str]):
        self.uuids = list(uuids)
        names = short_list(self.uuids)
        super().__init__(f"Unknown steps: {names} (not a step uuid or a unique step title).")


def build_graph(pipeline: Pipeline) -> nx.DiGraph:
    """One node per step uuid (with its ``title``), one edge parent -> child per connection."""
    graph = nx.DiGraph()
    graph.add_nodes_from((uuid, {"title": step.title}) for uuid, step in pipeline.steps.items())
    graph.add_edges_from(
        (parent, uuid)
        for uuid, step in pipeline.steps.items()
        for parent in step.incoming_connections
    )
    return graph


def find_cycle_issues(graph: nx.DiGraph, titles: dict[str, str]) -> list[Issue]:
    """One issue per self-loop and one per group of steps that depend on each other in a circle."""

    def label(node: str) -> str:
        return f'"{titles.get(node, node)}" ({node})'

    issues = [
        Issue(
            f"Step {label(node)} lists itself in incoming_connections: "
            "a step cannot depend on itself.",
            node,
            "incoming_connections",
        )
        for node, _ in nx.selfloop_edges(graph)
    ]
    position = {node: index for index, node in enumerate(graph)}
    components = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    for component in sorted(components, key=lambda c: min(position[n] for n in c)):
        cycle = _cycle_in(_induced(graph, sorted(component, key=position.__getitem__)))
        path = " -> ".join(label(node) for node in [*cycle, cycle[0]])
        issues.append(
            Issue(
                f"Steps form a cycle: {path}. Remove one of these connections.",
                cycle[0],
                "incoming_connections",
            )
        )
    return issues


def select_steps(
    pipeline: Pipeline, run_type: str, uuids: Iterable[str] = (), inclusive: bool = False
) -> nx.DiGraph:
    """The subgraph of steps a run of ``run_type`` executes, nodes in full-run order.

    ``uuids`` are step uuids or unique step titles; ``full`` ignores them.
    """
    if run_type not in RUN_TYPES:
        raise ValueError(f"Unknown run_type {run_type!r}; expected one of {', '.join(RUN_TYPES)}.")
    graph = build_graph(pipeline)
    order = topological_order(graph)
    if run_type == "full":
        return _induced(graph, order)
    selected = _resolve(pipeline, [uuids] if isinstance(uuids, str) else uuids)
    if not selected:
        raise ValueError(f"run_type {run_type!r} needs at least one step in uuids.")
    if run_type == "selection":
        keep = set(selected)
    elif run_type == "incoming":
        keep = set().union(*(nx.ancestors(graph, uuid) for uuid in selected))
        if inclusive:
            keep.update(selected)
    else:
        keep = set(selected).union(*(nx.descendants(graph, uuid) for uuid in selected))
    return _induced(graph, [node for node in order if node in keep])


def topological_order(graph: nx.DiGraph) -> list[str]:
    """Nodes in dependency order; ties are broken by the graph's node order (step order)."""
    position = {node: index for index, node in enumerate(graph)}
    return list(nx.lexicographical_topological_sort(graph, key=position.__getitem__))


def _resolve(pipeline: Pipeline, names: Iterable[str]) -> list[str]:
    """Map uuids or unique titles to uuids, without duplicates; raise for unknown names."""
    by_title: dict[str, list[str]] = {}
    for uuid, step in pipeline.steps.items():
        by_title.setdefault(step.title, []).append(uuid)
    resolved: list[str] = []
    unknown: list[str] = []
    for name in names:
        if name in pipeline.steps:
            resolved.append(name)
        elif len(by_title.get(name, ())) == 1:
            resolved.append(by_title[name][0])
        else:
            unknown.append(name)
    if unknown:
        raise UnknownStepsError(unknown)
    return list(dict.fromkeys(resolved))


def _induced(graph: nx.DiGraph, nodes: list[str]) -> nx.DiGraph:
    """The subgraph on ``nodes`` with the edges between them, nodes in the given order."""
    keep = set(nodes)
    subgraph = nx.DiGraph()
    attributes = graph.nodes
    subgraph.add_nodes_from((node, attributes[node]) for node in nodes)
    subgraph.add_edges_from((u, v) for u, v in graph.edges if u in keep and v in keep)
    return subgraph


def _cycle_in(graph: nx.DiGraph) -> list[str]:
    """The nodes of one cycle (not a self-loop), starting from the earliest node on it."""
    graph.remove_edges_from(list(nx.selfloop_edges(graph)))
    cycle = [u for u, _ in nx.find_cycle(graph)]
    position = {node: index for index, node in enumerate(graph)}
    start = cycle.index(min(cycle, key=position.__getitem__))
    return cycle[start:] + cycle[:start]
