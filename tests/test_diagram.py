"""The network drawing: neurons, weights and biases against the files' own numbers; TikZ that compiles."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp
import yaml

from backprop_tutor.diagram import diagram
from backprop_tutor.graph import build
from backprop_tutor.problem import load, loads
from backprop_tutor.render.tikz import to_tikz
from backprop_tutor.engine import leaf_values

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))


def drawn(name: str):
    graph = build(load(ROOT / "problems" / name))
    return diagram(graph, leaf_values(graph))


def raw(name: str) -> dict:
    return yaml.safe_load((ROOT / "problems" / name).read_text(encoding="utf-8"))


def exact(x) -> sp.Rational:
    return sp.Rational(str(x))


def edges_of(d):
    return {(e.source, e.target): e for e in d.edges}


def test_addition_network_has_its_neurons_weights_and_biases():
    d = drawn("ws24_sheet4_ex1.yaml")
    sheet = raw("ws24_sheet4_ex1.yaml")["parameters"]
    kinds = [[u.kind for u in col] for col in d.columns]
    assert kinds == [["input", "input"], ["neuron", "neuron"], ["output"], ["loss"]]
    hidden = d.columns[1]
    assert [(u.label, u.activation) for u in hidden] == [("Z_out[1]", "relu"), ("Z_out[2]", "relu")]
    assert [u.bias for u in hidden] == ["c[1]", "c[2]"]
    assert [u.bias_value for u in hidden] == [exact(v) for v in sheet["c"]]
    edges = edges_of(d)
    for i in (1, 2):
        for j in (1, 2):
            e = edges[(f"x[{j}]", f"Z_out[{i}]")]
            assert e.weight == f"u[{i},{j}]"
            assert e.value == exact(sheet["u"][i - 1][j - 1])
    assert [edges[(f"x[{j}]", "Z_out[1]")].value for j in (1, 2)] + \
           [edges[(f"x[{j}]", "Z_out[2]")].value for j in (1, 2)] == [exact(v) for v in (-0.7, 0.2, 0.9, 0.5)]
    out = d.columns[2][0]
    assert (out.label, out.activation, out.bias) == ("A_out[1]", "linear", "d[1]")
    assert edges[("Z_out[2]", "A_out[1]")].value == exact(sheet["v"][0][1])


def test_xw_layout_edge_from_input_i_to_hidden_j_carries_w_ij():
    d = drawn("sheet12_p2.yaml")
    weights = raw("sheet12_p2.yaml")["network"]["layers"][0]["weights"]
    edges = edges_of(d)
    for i in (1, 2):
        for j in (1, 2):
            e = edges[(f"x[{i}]", f"h1[{j}]")]
            assert e.weight == f"W1[{i},{j}]"
            assert e.value == exact(weights[i - 1][j - 1])
    assert [u.bias for u in d.columns[1]] == [None, None]


def test_skip_connection_reaches_the_output_directly():
    d = drawn("dnn_a9_q3.yaml")
    edges = edges_of(d)
    assert ("z2[1]", "y[1]") in edges and ("z2[2]", "y[2]") in edges
    assert edges[("z2[1]", "y[1]")].weight == 1
    column = {u.id: k for k, col in enumerate(d.columns) for u in col}
    assert column["y[1]"] - column["z2[1]"] == 2
    assert [u.kind for u in d.columns[-1]] == ["loss"]


def test_scalar_network_has_the_sheets_edges():
    d = drawn("sheet2_ex3.yaml")
    expected = {("x1", "a3"): "w13", ("x2", "a3"): "w23", ("x1", "a4"): "w14", ("x2", "a4"): "w24",
                ("a3", "a5"): "w35", ("a4", "a5"): "w45", ("a3", "a6"): "w36", ("a4", "a6"): "w46",
                ("a5", "y"): "w57", ("a6", "y"): "w67"}
    got = {k: e.weight for k, e in edges_of(d).items() if k[1] != "L"}
    assert got == expected
    assert [[u.label for u in col] for col in d.columns] == [["x1", "x2"], ["a3", "a4"], ["a5", "a6"], ["y"], ["L"]]
    assert all(u.activation == "tanh" for col in d.columns[1:3] for u in col)


def test_constant_coefficients_are_weights_and_a_constant_is_a_bias():
    d = drawn("sheet2_ex1.yaml")
    edges = edges_of(d)
    assert {k: e.weight for k, e in edges.items() if k[1] == "y"} == {("h1", "y"): -1, ("h2", "y"): -1, ("h3", "y"): 1}
    assert edges[("x1", "h3")].weight == 1 and edges[("x2", "h3")].weight == 1
    assert d.columns[-1][0].bias == 1


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_tikz_for_every_problem_is_ascii(path):
    graph = build(load(path))
    for values in (None, leaf_values(graph)):
        text = to_tikz(diagram(graph, values))
        assert r"\begin{tikzpicture}" in text and r"\end{tikzpicture}" in text
        assert text.isascii()


def big_network() -> str:
    n = 15
    w1 = [[round(0.1 * ((i + j) % 5 - 2), 1) for j in range(3)] for i in range(n)]
    return yaml.safe_dump({"inputs": {"x": [1, 2, 3]},
                           "parameters": {"W1": w1, "b1": [0.1] * n, "W2": [[0.2] * n]},
                           "targets": {"t": [1]},
                           "forward": {"z1": "W1 @ x + b1", "h1": "tanh(z1)", "y": "W2 @ h1"},
                           "loss": "sse(y, t)"}, sort_keys=False)


def test_too_big_network_is_drawn_as_node_boxes():
    d = diagram(build(loads(big_network())))
    assert d.too_big and len(d.columns[1]) == 15
    text = to_tikz(d)
    assert text.count(r"\node") == 4 and text.count(r"\draw") == 3


def compile_tex(folder: Path, pictures: list) -> None:
    """pdflatex on a minimal document holding the pictures; fails on any TeX error."""
    body = "\n\\clearpage\n".join(pictures)
    (folder / "picture.tex").write_text(
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{tikz}\n\\usetikzlibrary{positioning,arrows.meta}\n"
        "\\begin{document}\n" + body + "\\end{document}\n", encoding="ascii")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "picture.tex"],
                         cwd=folder, capture_output=True, text=True, timeout=300)
    log = (folder / "picture.log").read_text(encoding="latin-1")
    errors = [line for line in log.splitlines() if line.startswith("! ") or "Undefined control sequence" in line]
    assert run.returncode == 0 and not errors, "\n".join(errors) or run.stdout[-2000:]


needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")


@needs_tex
@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_every_picture_compiles(path, tmp_path):
    graph = build(load(path))
    d = diagram(graph, leaf_values(graph))
    compile_tex(tmp_path, [to_tikz(d), to_tikz(d, exact=True), to_tikz(diagram(graph))])


@needs_tex
def test_node_boxes_compile(tmp_path):
    compile_tex(tmp_path, [to_tikz(diagram(build(loads(big_network()))))])


def test_dense_columns_put_their_weights_in_a_table_and_skips_go_around():
    d = drawn("dnn_a9_q3.yaml")
    sheet = raw("dnn_a9_q3.yaml")["parameters"]
    assert len(d.tables) == 2
    table = d.tables[0]
    assert table.sources == ("x[1]", "x[2]", "x[3]", "x[4]")
    assert table.targets == ("z1[1]", "z1[2]", "z1[3]", "z2[1]", "z2[2]")
    values = [[c[1] for c in row] for row in table.cells]
    assert values == [[exact(v) for v in row] for row in sheet["W1"] + sheet["W2"]]
    into_hidden = [e for e in d.edges if e.source.startswith("x[")]
    assert len(into_hidden) == 20 and not any(e.labelled for e in into_hidden)
    # the complete 3×2 layer into u3: its labels would meet mid-way, so its weights are a table too
    assert not any(e.labelled for e in d.edges if e.source.startswith("z1["))
    second = d.tables[1]
    assert (second.sources, second.targets) == (("z1[1]", "z1[2]", "z1[3]"), ("u3[1]", "u3[2]"))
    assert [[c[1] for c in row] for row in second.cells] == [[exact(v) for v in row] for row in sheet["W3"]]
    routes = {(e.source, e.target): e.route for e in d.edges}
    assert routes[("z2[1]", "y[1]")] == "skip" and routes[("z1[1]", "u3[1]")] == "straight"
    text = to_tikz(d)
    assert text.count(".. controls") == 2 and "weights: from (across) into (down)" in text


def test_layout_hints_give_every_unit_its_column_and_a_centred_row():
    d = drawn("ws24_sheet4_ex1.yaml")
    for k, col in enumerate(d.columns):
        assert [u.column for u in col] == [k] * len(col)
        assert sum(u.row for u in col) == 0 and len({u.row for u in col}) == len(col)
    assert d.tables == () and all(e.labelled for e in d.edges)


def test_a_complete_two_by_three_layer_goes_to_a_table_and_a_sparse_one_stays_on_its_edges():
    softmax = drawn("exercise3_softmax_ce.yaml")       # x (2) → s (3), every pair joined
    assert len(softmax.tables) == 1 and not any(e.labelled for e in softmax.edges if e.weight is not None)
    samples = drawn("sheet2_ex2.yaml")                 # 6 edges, but each input feeds one output
    assert samples.tables == () and all(e.labelled for e in samples.edges if e.weight is not None)


def test_a_literal_zero_bias_is_drawn_when_another_neuron_has_a_bias():
    d = drawn("sheet2_ex1.yaml")                       # h = relu(x…) without a constant, y = 1 − …
    assert [u.bias for u in d.columns[1]] == [0, 0, 0] and d.columns[2][0].bias == 1
    assert to_tikz(d).count("above:$+0$") == 3
    none = drawn("dnn_a9_q3.yaml")                     # no biases at all: none drawn
    assert all(u.bias is None for col in none.columns for u in col)


def test_a_bias_given_as_zero_is_shown():
    graph = build(loads(yaml.safe_dump({
        "inputs": {"x": [1, 2]}, "parameters": {"W": [[1, 2]], "b": [0]}, "targets": {"t": [1]},
        "forward": {"y": "W @ x + b"}, "loss": "sse(y, t)"})))
    assert diagram(graph).columns[1][0].bias == "b[1]"
    assert "above:$+b_{1}$" in to_tikz(diagram(graph))
    assert "above:$+0$" in to_tikz(diagram(graph, leaf_values(graph)))


@pytest.mark.parametrize("name", ["sheet12_p1_and.yaml", "sheet12_p1_xor.yaml"])
def test_gated_unit_has_two_branches_joined_by_a_product(name):
    d = drawn(name)
    sheet = raw(name)["parameters"]
    assert [len(c) for c in d.columns] == [2, 2, 1]
    first, second = d.columns[1]
    assert (first.activation, second.activation) == ("tanh", "tanh")
    assert (first.bias, first.bias_value) == ("-bw", -exact(sheet["bw"]))
    assert (second.bias, second.bias_value) == ("-bv", -exact(sheet["bv"]))
    product = d.columns[2][0]
    assert (product.label, product.shape) == ("y", "op")
    edges = edges_of(d)
    for j in (1, 2):
        assert (edges[(f"x[{j}]", first.id)].weight, edges[(f"x[{j}]", first.id)].value) == (f"w[{j}]", exact(sheet["w"][j - 1]))
        assert (edges[(f"x[{j}]", second.id)].weight, edges[(f"x[{j}]", second.id)].value) == (f"v[{j}]", exact(sheet["v"][j - 1]))
    assert edges[(first.id, "y")].weight is None and edges[(second.id, "y")].weight is None
    text = to_tikz(d)
    assert r"$\otimes$" in text and "label={right:$y$}" in text and f"above:$-{sheet['bw']}$" in text
