"""Figures of what a part asks: the computational graph with its gradient nodes, the decision boundary."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from backprop_tutor import load, solve
from backprop_tutor.diagram import boundary_plot, graph_diagram
from backprop_tutor.render.latex import to_latex
from backprop_tutor.render.tikz import to_pgfplots, to_tikz
from backprop_tutor.solution import GraphStructure, LinearPieces
from backprop_tutor.texsafe import forbidden_in_document
from helpers import cli

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


def sheet2_ex1_output(x1, x2):
    """Eq. (1) of the sheet, computed independently: y = 1 - relu(x1) - relu(x2) + relu(x1 + x2)."""
    relu = lambda v: max(v, 0)  # noqa: E731
    return 1 - relu(x1) - relu(x2) + relu(x1 + x2)


def pieces_of(name: str):
    solution = solve(load(ROOT / "problems" / name))
    return next(s for sec in solution.sections for s in sec.steps if isinstance(s, LinearPieces))


def test_decision_plot_shades_each_class_where_the_output_has_its_sign():
    plot = boundary_plot(pieces_of("sheet2_ex1.yaml"))
    assert plot.axes == ("x1", "x2")
    x0, x1, y0, y1 = plot.window
    assert x0 < -1 and x1 > 1 and y0 < -1 and y1 > 1   # every corner of the boundary is inside
    total = Fraction(0)
    for area in plot.areas:
        corners = [(Fraction(str(x)), Fraction(str(y))) for x, y in area.corners]
        cx = sum(x for x, _ in corners) / len(corners)
        cy = sum(y for _, y in corners) / len(corners)
        assert (sheet2_ex1_output(cx, cy) > 0) == area.above
        assert area.label == ("class 2" if area.above else "class 1")
        total += abs(sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(corners, corners[1:] + corners[:1]))) / 2
    assert total == (x1 - x0) * (y1 - y0)   # the areas tile the window
    assert {a.label for a in plot.areas} == {"class 1", "class 2"}
    assert len(plot.boundary) == 4
    for a, b in plot.boundary:
        for t in (Fraction(0), Fraction(1, 3), Fraction(1)):
            x = Fraction(str(a[0])) + t * (Fraction(str(b[0])) - Fraction(str(a[0])))
            y = Fraction(str(a[1])) + t * (Fraction(str(b[1])) - Fraction(str(a[1])))
            assert sheet2_ex1_output(x, y) == 0


def test_decision_plot_is_pgfplots_with_shaded_areas_and_the_boundary():
    text = to_pgfplots(boundary_plot(pieces_of("sheet2_ex1.yaml")))
    assert r"\begin{axis}" in text and text.count(r"\fill[") == 10 and text.count(r"\draw[very thick]") == 4
    assert "class 1" in text and "class 2" in text and text.isascii()


def test_pgfplots_is_allowed_but_its_file_reading_plots_are_not():
    assert forbidden_in_document("\\documentclass{article}\\usepackage{pgfplots}\\begin{document}x\\end{document}") is None
    assert forbidden_in_document("\\addplot table {/etc/passwd};") == "\\addplot"
    assert forbidden_in_document("\\pgfplotstableread{data.csv}\\t") == "\\pgfplotstableread"


def test_a_scalar_network_is_drawn_once_in_the_part_that_asks_for_its_graph():
    solution = solve(load(ROOT / "problems" / "sheet2_ex3.yaml"))
    assert solution.diagram is None                                 # not at the top as well
    (graph,) = [s for sec in solution.sections for s in sec.steps if isinstance(s, GraphStructure)]
    assert graph.network is not None and graph.network.kind == "network"
    drawn = {u.id for col in graph.network.columns for u in col}
    # every neuron of the sheet's computations, with the weights on its edges
    assert {"x1", "x2", "a3", "a4", "a5", "a6", "y", "L"} <= drawn
    assert {e.weight for e in graph.network.edges if e.weight is not None} >= {"w13", "w57", "w67"}
    text = to_latex(solution)
    assert text.count(r"\begin{tikzpicture}") == 1 and "directed edges" not in text


def test_a_vector_network_asked_as_a_graph_draws_the_graph_and_not_its_neurons():
    solution = solve(load(ROOT / "problems" / "dnn_a9_q2.yaml"))
    assert solution.diagram is None                                 # the sheet asks for the graph of W x
    graphs = [s for sec in solution.sections for s in sec.steps if isinstance(s, GraphStructure)]
    assert [g.kind for g in graphs] == ["forward", "backward"] and all(g.network is None for g in graphs)
    text = to_latex(solution)
    assert text.count(r"\begin{tikzpicture}") == 2
    # the same network asked for its numbers (Q3) keeps the drawing of its neurons
    assert solve(load(ROOT / "problems" / "dnn_a9_q3.yaml")).diagram is not None


def test_terminal_graph_names_the_leaves_once_and_gives_each_computed_node_its_edges():
    out = cli("solve", ROOT / "problems" / "sheet2_ex3.yaml", "--no-color").output
    part = out.split("(a) Computational graph", 1)[1].split("(b)", 1)[0]
    assert "inputs: x₁, x₂" in part and "target: t" in part
    assert "parameters: w₁₃, w₂₃, w₁₄, w₂₄, w₃₅, w₄₅, w₃₆, w₄₆, w₅₇, w₆₇" in part
    rows = [line.split() for line in part.splitlines() if line.strip().split(" ")[0] in
            ("z₃", "a₃", "z₄", "a₄", "z₅", "a₅", "z₆", "a₆", "y", "E")]
    # one row per computed node, with the edges into it as the file's lines say
    assert len(rows) == 10
    assert {r[0]: " ".join(r[2:]) for r in rows}["z₅"] == "a₃, w₃₅, a₄, w₄₅"
    assert "23 nodes, 26 directed edges" in part


def test_terminal_backward_graph_refers_to_the_forward_graph_and_lists_only_gradient_nodes():
    out = cli("solve", ROOT / "problems" / "dnn_a9_q2.yaml", "--no-color").output
    backward = out.split("(b) Computational graph with the gradient nodes", 1)[1]
    assert "The graph of (a), with a gradient node for each quantity" in backward
    kinds = {line.split()[1] for line in backward.splitlines() if line.startswith("   δ_") or " forward " in line}
    assert kinds == {"gradient"}
    # every parameter and intermediate gets its gradient node (Q2 (b) asks for them)
    for name in ("δ_y", "δ_u₃", "δ_z₂", "δ_u₂", "δ_z₁", "δ_u₁", "δ_W₁", "δ_W₂", "δ_W₃"):
        assert f"   {name} " in backward


def test_the_network_is_drawn_only_for_a_printer_that_draws_it(monkeypatch, tmp_path):
    import backprop_tutor.diagram as drawing_code  # solver.py imports it only where it draws
    calls = []
    real = drawing_code.diagram
    monkeypatch.setattr(drawing_code, "diagram", lambda *a, **k: calls.append(1) or real(*a, **k))
    path = ROOT / "problems" / "dnn_a9_q3.yaml"  # a network drawn at the top of its solution
    for args in (["--json"], ["--no-color"], ["--json", "--round-each-step", "2"]):
        assert cli("solve", path, *args).exit_code == 0
    assert cli("export", path, "-o", tmp_path / "x.md").exit_code == 0
    assert cli("check", path, "--answer", "L=1").exit_code in (0, 1)
    assert calls == []                       # terminal, JSON, Markdown and marks draw no network
    assert cli("export", path, "-o", tmp_path / "x.tex").exit_code == 0
    assert calls == [1]
    drawn = to_latex(solve(load(path)), 4, False, True)
    assert (tmp_path / "x.tex").read_text(encoding="utf-8") == drawn and r"\begin{tikzpicture}" in drawn
