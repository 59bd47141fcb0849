"""The pipeline DAG: run-type subgraphs, order and cycles (orchest_ext.pipeline.graph)."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchest_ext.pipeline import (
    RUN_TYPES,
    Pipeline,
    Step,
    UnknownStepsError,
    build_graph,
    find_cycle_issues,
    select_steps,
    topological_order,
)


def make_pipeline(edges: list[tuple[str, str]], order: list[str]) -> Pipeline:
    """A pipeline with steps in ``order`` (titles are upper-cased uuids) and parent->child edges."""
    steps = {
        uuid: Step(
            uuid=uuid,
            title=uuid.upper(),
            file_path=f"{uuid}.py",
            incoming_connections=[parent for parent, child in edges if child == uuid],
        )
        for uuid in order
    }
    return Pipeline(name="p", uuid="p", steps=steps)


#  a -> b -> d
#  a -> c -> d -> e      f (independent)
DIAMOND = make_pipeline(
    [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e")], ["a", "b", "c", "d", "e", "f"]
)


def test_build_graph() -> None:
    graph = build_graph(DIAMOND)
    assert list(graph) == ["a", "b", "c", "d", "e", "f"]
    assert set(graph.edges) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e")}
    assert graph.nodes["d"]["title"] == "D"


def test_full_runs_every_step() -> None:
    graph = select_steps(DIAMOND, "full", ["ignored"])
    assert topological_order(graph) == ["a", "b", "c", "d", "e", "f"]
    assert set(graph.edges) == set(build_graph(DIAMOND).edges)


@pytest.mark.parametrize(
    ("run_type", "uuids", "inclusive", "expected"),
    [
        ("selection", ["e", "b"], False, ["b", "e"]),
        ("selection", ["d"], False, ["d"]),
        ("incoming", ["d"], False, ["a", "b", "c"]),
        ("incoming", ["d"], True, ["a", "b", "c", "d"]),
        ("incoming", ["a"], False, []),
        ("incoming", ["b", "e"], False, ["a", "b", "c", "d"]),
        ("descendants", ["c"], False, ["c", "d", "e"]),
        ("descendants", ["f", "d"], False, ["d", "e", "f"]),
    ],
)
def test_run_types(run_type: str, uuids: list[str], inclusive: bool, expected: list[str]) -> None:
    graph = select_steps(DIAMOND, run_type, uuids, inclusive=inclusive)
    assert topological_order(graph) == expected


def test_selection_keeps_only_edges_between_selected_steps() -> None:
    graph = select_steps(DIAMOND, "selection", ["a", "c", "e"])
    assert set(graph.edges) == {("a", "c")}
    assert graph.nodes["e"]["title"] == "E"


def test_steps_can_be_named_by_unique_title() -> None:
    graph = select_steps(DIAMOND, "selection", ["B", "c", "b"])
    assert sorted(graph) == ["b", "c"]


def test_ambiguous_title_is_unknown() -> None:
    pipeline = make_pipeline([], ["x", "y"])
    pipeline.steps["y"].title = "X"
    with pytest.raises(UnknownStepsError) as info:
        select_steps(pipeline, "selection", ["X", "nope"])
    assert info.value.uuids == ["X", "nope"]
    assert "'X'" in str(info.value) and "'nope'" in str(info.value)


def test_single_string_is_one_uuid() -> None:
    assert list(select_steps(DIAMOND, "descendants", "d")) == ["d", "e"]


def test_unknown_run_type() -> None:
    with pytest.raises(ValueError, match="full, selection, incoming, descendants"):
        select_steps(DIAMOND, "partial", ["a"])


@pytest.mark.parametrize("run_type", ["selection", "incoming", "descendants"])
def test_run_types_need_a_selection(run_type: str) -> None:
    with pytest.raises(ValueError, match="at least one step"):
        select_steps(DIAMOND, run_type, [])


def test_topological_order_breaks_ties_by_step_order() -> None:
    pipeline = make_pipeline([("z", "m")], ["m", "q", "z", "a"])
    assert topological_order(build_graph(pipeline)) == ["q", "z", "m", "a"]


def test_find_cycle_issues() -> None:
    graph = nx.DiGraph([("a", "b"), ("b", "a"), ("c", "c"), ("d", "e"), ("e", "f"), ("f", "d")])
    titles = {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E", "f": "F"}
    issues = find_cycle_issues(graph, titles)
    assert [issue.step for issue in issues] == ["c", "a", "d"]
    assert "itself" in issues[0].message
    assert '"A" (a) -> "B" (b) -> "A" (a)' in issues[1].message
    assert '"D" (d) -> "E" (e) -> "F" (f) -> "D" (d)' in issues[2].message
    assert find_cycle_issues(nx.DiGraph([("a", "b")]), titles) == []


@st.composite
def dags(draw: st.DrawFn) -> tuple[Pipeline, nx.DiGraph, list[str]]:
    """A random DAG (edges i->j with i<j), its steps in shuffled file order, and a selection."""
    n = draw(st.integers(min_value=1, max_value=12))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    names = [f"s{i}" for i in range(n)]
    order = draw(st.permutations(names))
    named = [(names[i], names[j]) for i, j in edges]
    selection = draw(st.lists(st.sampled_from(names), min_size=1, max_size=n))
    dag = nx.DiGraph(named)
    dag.add_nodes_from(names)
    return make_pipeline(named, order), dag, selection


def assert_respects(order: list[str], dag: nx.DiGraph) -> None:
    """Every step comes after every one of its ancestors in ``dag`` that is also in ``order``."""
    index = {node: i for i, node in enumerate(order)}
    for node in order:
        assert all(index[node] > index[a] for a in nx.ancestors(dag, node) if a in index)


@settings(max_examples=150, deadline=None)
@given(dags())
def test_selection_property(case: tuple[Pipeline, nx.DiGraph, list[str]]) -> None:
    pipeline, dag, selection = case
    graph = select_steps(pipeline, "selection", selection)
    assert set(graph) == set(selection)
    assert set(graph.edges) == set(dag.subgraph(selection).edges)
    order = topological_order(graph)
    assert sorted(order) == sorted(set(selection))
    assert_respects(order, dag)


@settings(max_examples=150, deadline=None)
@given(dags(), st.booleans())
def test_incoming_property(case: tuple[Pipeline, nx.DiGraph, list[str]], inclusive: bool) -> None:
    pipeline, dag, selection = case
    graph = select_steps(pipeline, "incoming", selection, inclusive=inclusive)
    expected = set().union(*(nx.ancestors(dag, node) for node in selection))
    if inclusive:
        expected |= set(selection)
    assert set(graph) == expected
    assert_respects(topological_order(graph), dag)


@settings(max_examples=150, deadline=None)
@given(dags())
def test_descendants_property(case: tuple[Pipeline, nx.DiGraph, list[str]]) -> None:
    pipeline, dag, selection = case
    graph = select_steps(pipeline, "descendants", selection)
    expected = set(selection).union(*(nx.descendants(dag, node) for node in selection))
    assert set(graph) == expected
    assert set(graph.edges) == set(dag.subgraph(expected).edges)
    assert_respects(topological_order(graph), dag)


@settings(max_examples=100, deadline=None)
@given(dags(), st.sampled_from(RUN_TYPES))
def test_subgraph_order_matches_full_run_order(
    case: tuple[Pipeline, nx.DiGraph, list[str]], run_type: str
) -> None:
    pipeline, _, selection = case
    full = topological_order(select_steps(pipeline, "full"))
    order = topological_order(select_steps(pipeline, run_type, selection, inclusive=True))
    assert order == [node for node in full if node in set(order)]
