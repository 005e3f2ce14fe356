"""Figures of what a part asks: the computational graph with its gradient nodes, as a drawing model and TikZ."""
from __future__ import annotations

from pathlib import Path

from backprop_tutor import load, solve
from backprop_tutor.diagram import graph_diagram
from backprop_tutor.render.tikz import to_tikz
from backprop_tutor.solution import GraphStructure

ROOT = Path(__file__).resolve().parent.parent


def structures(name: str) -> dict:
    solution = solve(load(ROOT / "problems" / name))
    return {s.kind: s for sec in solution.sections for s in sec.steps if isinstance(s, GraphStructure)}


def test_backward_graph_is_vector_level_with_a_dashed_gradient_node_per_intermediate_and_weight():
    d = graph_diagram(structures("dnn_a9_q2.yaml")["backward"])
    units = {u.id: u for col in d.columns for u in col}
    values = {"x", "W1", "W2", "W3", "y_hat", "u1", "z1", "u2", "z2", "u3", "y", "L"}
    assert {i for i in units if not i.startswith("delta_")} == values   # whole vectors and matrices, not scalars
    gradients = {i.removeprefix("delta_") for i, u in units.items() if u.kind == "gradient"}
    assert gradients == {"W1", "W2", "W3", "u1", "z1", "u2", "z2", "u3", "y"}
    assert all(u.dashed == (u.kind == "gradient") for u in units.values())
    into = {}
    for e in d.edges:
        into.setdefault(e.target, set()).add(e.source)
        assert e.dashed == (units[e.target].kind == "gradient")
    # each gradient node comes from the gradient of its user and the values the local derivative reads
    assert {"delta_u3", "W3"} <= into["delta_z1"]
    assert {"delta_u1", "x"} <= into["delta_W1"]
    assert "delta_y" in into["delta_z2"]
    assert into["u1"] == {"W1", "x"} and into["y"] == {"u3", "z2"}
    # layout: a computed node stands right of what it reads; gradient nodes in a band below the values
    column = {i: u.column for i, u in units.items()}
    assert column["u1"] > max(column["W1"], column["x"]) and column["y"] > column["u3"] > column["z1"]
    assert min(u.row for u in units.values() if u.dashed) > max(u.row for u in units.values() if not u.dashed)


def test_forward_graph_has_no_gradient_nodes_and_draws_boxes():
    d = graph_diagram(structures("dnn_a9_q2.yaml")["forward"])
    assert d.kind == "graph" and not any(u.dashed for col in d.columns for u in col)
    text = to_tikz(d)
    assert text.count(r"\node[box") == 12 and r"\draw[->, dashed]" not in text
    back = to_tikz(graph_diagram(structures("dnn_a9_q2.yaml")["backward"]))
    assert back.count(r"\node[gradient") == 9 and r"$\partial L/\partial W_{1}$" in back
