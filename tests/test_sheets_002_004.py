"""Exercise 3 (student notes), DNN Assignment 9 and CI WS24/25 Sheet 4 against their answers.

Every expected value here is computed independently of backprop_tutor: by hand with
fractions.Fraction, or with math.exp, from the numbers read out of the YAML file with
yaml.safe_load. Where the sheet publishes an answer, the published number is asserted as
written on the sheet. Where the student notes of Exercise 3 are wrong, the correct value is
asserted and a comment says why.
"""
from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp
import yaml
from typer.testing import CliRunner

from backprop_tutor import load, solve
from backprop_tutor.cli import app
from backprop_tutor.solution import (ChainRule, Delta, Dimensions, Forward, Given, Gradient,
                                     GraphStructure, LocalDerivative, LossValue, WholeDerivative)

PROBLEMS = Path(__file__).resolve().parent.parent / "problems"
runner = CliRunner()

# The sheets' labels, in the sheets' order, for every file of these three sheets.
LABELS = {
    # Exercise 3, item 3: "Calculate the output of the network".
    "exercise3_sigmoid.yaml": ["3"],
    # The notes' headings for the skip network: Forward pass, Backward pass, Final.
    "exercise3_skip_l1.yaml": ["forward", "backward", "final"],
    # The notes' "CE loss with preapplied softmax" and its derivative "(CE_loss)'".
    "exercise3_softmax_ce.yaml": ["CE", "CE'"],
    # Assignment 9, Question 2 (a) and (b); Question 3 has no sub-parts.
    "dnn_a9_q2.yaml": ["a", "b"],
    "dnn_a9_q3.yaml": ["3"],
    # Sheet 4, Exercise 1 (i)-(iv); (v) is a bonus essay question.
    "ws24_sheet4_ex1.yaml": ["i", "ii", "iii", "iv"],
}


def run(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "100"})


def raw(name):
    return yaml.safe_load((PROBLEMS / name).read_text(encoding="utf-8"))


def frac(v) -> Fraction:
    return Fraction(str(v))


def exact(x) -> Fraction:
    """A SymPy value as a Fraction; it must be an exact rational."""
    x = sp.sympify(x)
    if isinstance(x, sp.MatrixBase):
        assert x.shape == (1, 1), x
        x = x[0, 0]
    assert x.is_Rational, f"expected an exact rational, got {x!r}"
    return Fraction(int(x.p), int(x.q))


def column(x) -> list:
    return [x[i, 0] for i in range(x.shape[0])]


def by_name(steps) -> dict:
    """Forward values by name; a layer written neuron by neuron (u1[1], u1[2]) is gathered back into
    its column, so that both notations are read alike."""
    out, parts = {}, {}
    for st in steps:
        name, _, index = st.name.partition("[")
        if index:
            parts.setdefault(name, {})[int(index.rstrip("]"))] = st.value
        else:
            out[st.name] = st.value
    for name, entries in parts.items():
        assert sorted(entries) == list(range(1, len(entries) + 1)), (name, entries)
        out[name] = sp.Matrix([entries[k] for k in sorted(entries)])
    return out


def distinct_in_order(labels):
    out = []
    for label in labels:
        if not out or out[-1] != label:
            out.append(label)
    return out


def part(sol, label):
    secs = [s for s in sol.sections if s.part == label]
    assert secs, f"no section for part {label!r}"
    return secs


def steps_of(sol, label, kind):
    return [st for sec in part(sol, label) for st in sec.steps if isinstance(st, kind)]


@pytest.fixture(scope="module")
def solutions():
    return {name: solve(load(PROBLEMS / name), verify=False, detail="full") for name in LABELS}


# -- every file: solves from the command line, parts in the sheet's order ----------------------

@pytest.mark.parametrize("name", sorted(LABELS))
def test_tutor_solve_exits_0(name):
    result = run("solve", PROBLEMS / name, "--no-color")
    assert result.exit_code == 0, result.output
    assert result.output.strip()


@pytest.mark.parametrize("name", sorted(LABELS))
def test_part_labels_follow_the_sheet(name, solutions):
    sol = solutions[name]
    assert all(s.part is not None for s in sol.sections), "every section answers a part"
    assert distinct_in_order([s.part for s in sol.sections]) == LABELS[name]
    # and the same order in what the terminal prints: each section heading starts "(label) "
    out = run("solve", PROBLEMS / name, "--no-color").output
    heads = re.findall(r"^\((.+?)\) \S", out, flags=re.M)
    assert distinct_in_order(heads) == LABELS[name]


@pytest.mark.parametrize("name", sorted(LABELS))
def test_file_has_title_source_and_notes(name):
    d = raw(name)
    for key in ("title", "source", "notes", "ask"):
        assert d.get(key), f"{name}: {key} missing"


# -- CI WS24/25 Sheet 4, Exercise 1 ---------------------------------------------------------------

def test_ws24_i_dimensions(solutions):
    sol = solutions["ws24_sheet4_ex1.yaml"]
    (dims,) = steps_of(sol, "i", Dimensions)
    shapes = {name: shape for name, _, shape in dims.rows}
    # The sheet: p = 2, q = 1, |z| = 2; u in R^(p x |z|), c in R^|z|, d in R^q.
    assert shapes["u"] == (2, 2)
    assert shapes["c"] == (2,)
    assert shapes["d"] == (1,)
    # The sheet's v is in R^(|z| x q) (2x1); the file writes its transpose, the row
    # [-0.2, 0.6], because it multiplies v @ Z_out as the sheet's own computation does.
    assert shapes["v"] == (1, 2)
    assert shapes["x"] == (2,)


def test_ws24_ii_given_parameterization(solutions):
    sol = solutions["ws24_sheet4_ex1.yaml"]
    given = {g.name: g.value for g in steps_of(sol, "ii", Given)}
    R = sp.Rational
    assert given["c"] == sp.ImmutableMatrix([R(-4, 10), R(1, 10)])      # c = <-0.4, 0.1>
    assert given["d"] == sp.ImmutableMatrix([R(8, 10)])                 # d = <0.8>
    # E_{1,i,j}: -0.7, 0.2 / 0.9, 0.5; E_{2,1,j}: -0.2, 0.6
    assert given["u"] == sp.ImmutableMatrix([[R(-7, 10), R(2, 10)], [R(9, 10), R(5, 10)]])
    assert given["v"] == sp.ImmutableMatrix([[R(-2, 10), R(6, 10)]])


def test_ws24_iii_published_forward_pass_and_loss(solutions):
    sol = solutions["ws24_sheet4_ex1.yaml"]
    fwd = by_name(steps_of(sol, "iii", Forward))
    assert [exact(v) for v in column(fwd["Z_in"])] == [Fraction("-0.9"), Fraction("1.5")]
    assert [exact(v) for v in column(fwd["Z_out"])] == [0, Fraction("1.5")]
    assert exact(fwd["A_in"]) == Fraction("1.7")
    assert exact(fwd["A_out"]) == Fraction("1.7")
    (loss,) = steps_of(sol, "iii", LossValue)
    assert exact(loss.value) == Fraction("0.09")          # L = (2 - 1.7)^2 = 0.09
    assert exact(sol.loss) == Fraction("0.09")


def test_ws24_iv_leibniz_chain_for_u11(solutions):
    sol = solutions["ws24_sheet4_ex1.yaml"]
    (chain,) = steps_of(sol, "iv", ChainRule)
    # The sheet: dL/du11 = dL/dA_out . dA_out/dA_in . dA_in/dZ_out . dZ_out/dZ_in . dZ_in/du11
    assert not chain.shared
    got = [(str(f.args[0]), str(f.args[1])) for f in chain.factors]
    assert got == [("L", "A_out"), ("A_out", "A_in"), ("A_in", "Z_out"), ("Z_out", "Z_in"),
                   ("Z_in", "u11")]
    result = run("derive", PROBLEMS / "ws24_sheet4_ex1.yaml", "--wrt", "u11", "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["chain"] == ["dL/dA_out", "dA_out/dA_in", "dA_in/dZ_out", "dZ_out/dZ_in", "dZ_in/du11"]
    # Z_in[1] = -0.9 < 0: the ReLU is off, so nothing reaches u11 (the sheet does not compute it).
    (whole,) = steps_of(sol, "iv", WholeDerivative)
    assert exact(whole.value) == 0 and d["value"] == 0


# -- Exercise 3, part 1: the 2-2-1 sigmoid network -------------------------------------------------

def test_exercise3_sigmoid_output_against_math_exp(solutions):
    sol = solutions["exercise3_sigmoid.yaml"]
    sig = lambda z: 1 / (1 + math.exp(-z))
    # from/to table: input 1 -> hidden (0.1, 0.2), input 2 -> hidden (0.3, 0.4), bias 0.5;
    # hidden 1 -> output 0.5, hidden 2 -> output 0.7, bias 0.1; x = [1, 2]
    h = [sig(0.1 * 1 + 0.3 * 2 + 0.5), sig(0.2 * 1 + 0.4 * 2 + 0.5)]
    y = 0.5 * h[0] + 0.7 * h[1] + 0.1
    fwd = by_name(steps_of(sol, "3", Forward))
    assert float(fwd["y"][0]) == pytest.approx(y, rel=1e-14)
    assert float(fwd["y"][0]) == pytest.approx(1.05656, abs=1e-5)


# -- Exercise 3: the skip-connection network with L1 loss ----------------------------------------

def skip_oracle(d):
    """The skip network by hand: forward, then every derivative along both paths."""
    x = frac(d["inputs"]["x"])
    p = {k: frac(v) for k, v in d["parameters"].items()}
    y_hat = frac(d["targets"]["y_hat"])
    z0 = p["w0"] * x + p["b0"]
    h0 = max(z0, Fraction(0))
    z1 = p["w1"] * h0 + p["b1"]
    h1 = max(z1, Fraction(0))
    y = p["w2"] * h1 + p["w3"] * h0 + p["b2"]
    L = abs(y - y_hat)
    r0, r1 = Fraction(int(z0 > 0)), Fraction(int(z1 > 0))
    dy = Fraction((y > y_hat) - (y < y_hat))                # d|y - y_hat|/dy = sign(y - y_hat)
    dz2 = dy
    dh1 = dz2 * p["w2"]
    dz1 = dh1 * r1
    via_z1 = dz1 * p["w1"]                                   # h0 -> z1 -> h1 -> z2
    via_skip = dz2 * p["w3"]                                 # h0 -> z2 directly (w3)
    dh0 = via_z1 + via_skip
    dz0 = dh0 * r0
    grads = {"w0": dz0 * x, "b0": dz0, "w1": dz1 * h0, "b1": dz1,
             "w2": dz2 * h1, "w3": dz2 * h0, "b2": dz2}
    return dict(z0=z0, h0=h0, z1=z1, h1=h1, y=y, L=L, dy=dy, dz2=dz2, dh1=dh1, dz1=dz1,
                dh0=dh0, dz0=dz0, via_z1=via_z1, via_skip=via_skip, grads=grads)


@pytest.fixture(scope="module")
def skip(solutions):
    d = raw("exercise3_skip_l1.yaml")
    return d, skip_oracle(d), solutions["exercise3_skip_l1.yaml"]


def test_skip_numbers_are_chosen_with_both_relus_active(skip):
    _, o, _ = skip
    assert o["z0"] > 0 and o["z1"] > 0
    assert o["y"] != 0 and o["L"] != 0                       # |.| is differentiable there
    # both paths into h0 carry something, and they do not cancel
    assert o["via_z1"] != 0 and o["via_skip"] != 0 and o["dh0"] != 0


def test_skip_forward_and_loss(skip):
    _, o, sol = skip
    fwd = {f.name: f.value for f in steps_of(sol, "forward", Forward)}
    for name in ("z0", "h0", "z1", "h1", "y"):
        assert exact(fwd[name]) == o[name], name
    (loss,) = steps_of(sol, "forward", LossValue)
    assert exact(loss.value) == o["L"]


def test_skip_every_gradient_against_the_hand_computation(skip):
    _, o, sol = skip
    grads = {g.name: g.value for g in steps_of(sol, "backward", Gradient)}
    assert set(grads) == set(o["grads"]), "every parameter's gradient is shown"
    for name, want in o["grads"].items():
        assert exact(grads[name]) == want, name
        assert exact(sol.gradients[name]) == want, name


def test_skip_dL_dh0_is_the_sum_of_the_two_paths(skip):
    d, o, sol = skip
    deltas = {s.name: s for s in steps_of(sol, "backward", Delta)}
    for name in ("y", "z2", "h1", "z1", "h0", "z0"):
        assert exact(deltas[name].value) == o["d" + name], name
    # h0 is used by z1 and (through the skip weight w3) directly by z2: δ_h0 adds both terms.
    assert set(deltas["h0"].users) == {"z1", "z2"}
    p = {k: frac(v) for k, v in d["parameters"].items()}
    assert exact(deltas["h0"].value) == (exact(sol.deltas["z1"]) * p["w1"]
                                         + exact(sol.deltas["z2"]) * p["w3"])
    assert exact(deltas["h0"].value) == o["via_z1"] + o["via_skip"]
    # one path alone is not the answer
    assert o["dh0"] not in (o["via_z1"], o["via_skip"])


def test_skip_final_derive_w0_sums_over_both_paths(skip):
    d, o, sol = skip
    chains = steps_of(sol, "final", ChainRule)
    w0 = next(c for c in chains if c.wrt == "w0")
    assert w0.shared, "w0 is reached along two paths: the chain is a sum with shared deltas"
    wholes = {w.wrt: w for w in steps_of(sol, "final", WholeDerivative)}
    assert exact(wholes["w0"].value) == o["grads"]["w0"]
    # The whole derivative of w0 is x (w3 sign(y - ŷ) + w1 w2 sign(y - ŷ) step(z1)) step(z0):
    # a sum of two terms, one per path.
    expr = sp.expand(wholes["w0"].expression)
    assert isinstance(expr, sp.Add) and len(expr.args) == 2
    assert {"w3"} <= {str(s) for s in expr.args[0].free_symbols | expr.args[1].free_symbols}
    path_terms = sorted(str(t) for t in expr.args)
    assert any("w3" in t and "w1" not in t for t in path_terms)          # the skip path
    assert any("w1" in t and "w2" in t and "w3" not in t for t in path_terms)  # through z1

    # The notes' "Final" dL/dw0 = (L' h1 + L' h0) ReLU'(z0) is wrong: it multiplies L' by
    # activations instead of the weights on the two paths and drops the factor x. The correct
    # dL/dw0 = L' (w2 ReLU'(z1) w1 + w3) ReLU'(z0) x, which the program gives.
    p = {k: frac(v) for k, v in d["parameters"].items()}
    x = frac(d["inputs"]["x"])
    notes_w0 = (o["dy"] * o["h1"] + o["dy"] * o["h0"]) * 1
    correct_w0 = o["dy"] * (p["w2"] * 1 * p["w1"] + p["w3"]) * 1 * x
    assert correct_w0 == o["grads"]["w0"] == exact(sol.gradients["w0"])
    assert notes_w0 != exact(sol.gradients["w0"])
    # The notes' dL/dw1 = L' h1 ReLU'(z1) is wrong too: z1 = w1 h0 + b1, so dz1/dw1 = h0, and
    # dL/dh1 = L' w2 carries the weight w2: dL/dw1 = L' w2 ReLU'(z1) h0.
    notes_w1 = o["dy"] * o["h1"] * 1
    assert exact(wholes["w1"].value) == o["dy"] * p["w2"] * 1 * o["h0"] == o["grads"]["w1"]
    assert notes_w1 != exact(wholes["w1"].value)
    # The notes' dL/dw2 = L' h1 and dL/dw3 = L' h0 are right, with L' = sign(y - ŷ) (the notes
    # write -(y - z2)/|y - z2| with y for the target).
    assert exact(sol.gradients["w2"]) == o["dy"] * o["h1"]
    assert exact(sol.gradients["w3"]) == o["dy"] * o["h0"]


# -- Exercise 3: softmax + cross-entropy ---------------------------------------------------------

@pytest.fixture(scope="module")
def softmax_ce(solutions):
    d = raw("exercise3_softmax_ce.yaml")
    x = [float(v) for v in d["inputs"]["x"]]
    W = [[float(v) for v in row] for row in d["parameters"]["W"]]
    t = [float(v) for v in d["targets"]["t"]]
    s = [sum(w * xi for w, xi in zip(row, x)) for row in W]
    e = [math.exp(v) for v in s]
    p = [v / sum(e) for v in e]
    return dict(x=x, t=t, s=s, p=p, sol=solutions["exercise3_softmax_ce.yaml"])


def test_softmax_ce_target_is_one_hot(softmax_ce):
    t = softmax_ce["t"]
    assert sorted(t) == [0.0] * (len(t) - 1) + [1.0]


def test_softmax_ce_loss(softmax_ce):
    sol, p, t = softmax_ce["sol"], softmax_ce["p"], softmax_ce["t"]
    (loss,) = steps_of(sol, "CE", LossValue)
    want = -sum(ti * math.log(pi) for ti, pi in zip(t, p))
    assert float(loss.value) == pytest.approx(want, rel=1e-13)


def test_softmax_ce_dL_ds_is_softmax_minus_t(softmax_ce):
    sol, p, t = softmax_ce["sol"], softmax_ce["p"], softmax_ce["t"]
    want = [pi - ti for pi, ti in zip(p, t)]
    (delta,) = [s for s in steps_of(sol, "CE'", Delta) if s.name == "s"][:1]
    got = [float(v) for v in column(delta.value)]
    assert got == pytest.approx(want, rel=1e-13, abs=1e-15)
    wholes = [w for w in steps_of(sol, "CE'", WholeDerivative) if w.wrt == "s"]
    assert [float(v) for v in column(wholes[0].value)] == pytest.approx(want, rel=1e-13, abs=1e-15)
    # The notes are wrong here: they differentiate a binary cross-entropy (a log p + (1-a) log(1-p))
    # without its minus sign, which gives (t - p) instead of (p - t), and their last line,
    # sum_j (t_j - p_j) * p_k (1 - p_k), keeps only the diagonal p_k (1 - p_k) of the softmax
    # Jacobian; as sum_j t_j = sum_j p_j = 1 that is 0 for every k. The correct dL/ds_k = p_k - t_k.
    notes_last_line = [sum(tj - pj for tj, pj in zip(t, p)) * pk * (1 - pk) for pk in p]
    assert notes_last_line == pytest.approx([0.0] * len(p), abs=1e-15)
    assert max(abs(v) for v in got) > 0.5
    assert sum(got) == pytest.approx(0.0, abs=1e-14)     # p - t sums to 1 - 1 = 0


def test_softmax_ce_gradient_of_W_is_outer_product(softmax_ce):
    sol, p, t, x = softmax_ce["sol"], softmax_ce["p"], softmax_ce["t"], softmax_ce["x"]
    (grad,) = [g for g in steps_of(sol, "CE'", Gradient) if g.name == "W"]
    for i, (pi, ti) in enumerate(zip(p, t)):
        for j, xj in enumerate(x):
            assert float(grad.value[i, j]) == pytest.approx((pi - ti) * xj, rel=1e-13, abs=1e-15)


def test_softmax_ce_derive_s_shows_each_step_once(softmax_ce):
    # ENGINE BUG (backprop_tutor/derivation.py, _derivation): deriving by a forward node (here s)
    # lists that node twice: its local derivatives twice under "Local derivatives" and its δ twice
    # under "Backward recursion" (once from `order`, which includes the node itself, once as the
    # final step). Minimal repro: `tutor derive problems/exercise3_skip_l1.yaml --wrt z1` shows
    # ∂h1/∂z1 and δ_z1 twice each.
    sol = softmax_ce["sol"]
    locals_ = [(l.of, l.wrt) for l in steps_of(sol, "CE'", LocalDerivative)]
    assert len(locals_) == len(set(locals_)), f"local derivatives repeated: {locals_}"
    deltas = [s.name for sec in part(sol, "CE'") if sec.title.startswith("Backward recursion")
              for s in sec.steps if isinstance(s, (Delta, Gradient))]
    assert len(deltas) == len(set(deltas)), f"deltas repeated in the recursion: {deltas}"


# -- DNN Assignment 9, Question 2: the computational graph ---------------------------------------

SHEET_EDGES = {("x", "u1"), ("W1", "u1"), ("u1", "z1"), ("x", "u2"), ("W2", "u2"), ("u2", "z2"),
               ("z1", "u3"), ("W3", "u3"), ("u3", "y"), ("z2", "y"), ("y", "L"), ("y_hat", "L")}
SHEET_NODES = {"x", "W1", "W2", "W3", "y_hat", "u1", "z1", "u2", "z2", "u3", "y", "L"}


def graph_of(sol, label) -> GraphStructure:
    (g,) = steps_of(sol, label, GraphStructure)
    return g


def test_dnn_q2a_forward_graph_is_the_sheets_network(solutions):
    g = graph_of(solutions["dnn_a9_q2.yaml"], "a")
    assert g.kind == "forward"
    assert {n for n, _ in g.nodes} == SHEET_NODES
    assert len(g.nodes) == len(SHEET_NODES)
    assert set(g.edges) == SHEET_EDGES
    assert len(g.edges) == len(SHEET_EDGES)


def test_dnn_q2b_backward_graph_adds_the_gradient_nodes(solutions):
    g = graph_of(solutions["dnn_a9_q2.yaml"], "b")
    assert g.kind == "backward"
    roles = dict(g.nodes)
    added = {n for n, r in g.nodes if r == "gradient"}
    want = {f"delta_{n}" for n in ("y", "u3", "z2", "u2", "z1", "u1", "W1", "W2", "W3")}
    assert added == want
    # the forward graph is still there, unchanged
    assert {n for n, r in g.nodes if r != "gradient"} == SHEET_NODES
    assert SHEET_EDGES <= set(g.edges)
    assert all(roles[a] == "gradient" or b.startswith("delta_") or (a, b) in SHEET_EDGES
               for a, b in g.edges)
    # backpropagation runs from the output back: each gradient node is fed by the gradient node of
    # the quantity that uses it; y feeds y directly from z2, so δ_z2 comes from δ_y.
    flow = {(a, b) for a, b in g.edges if a.startswith("delta_") and b.startswith("delta_")}
    assert flow == {("delta_y", "delta_u3"), ("delta_y", "delta_z2"), ("delta_u3", "delta_z1"),
                    ("delta_z1", "delta_u1"), ("delta_z2", "delta_u2"), ("delta_u1", "delta_W1"),
                    ("delta_u2", "delta_W2"), ("delta_u3", "delta_W3")}
    # and the values each local derivative reads: W3 for δ_z1 = W3ᵀ δ_u3, u for relu', x and z1
    # for the weight gradients
    for edge in [("W3", "delta_z1"), ("u1", "delta_u1"), ("u2", "delta_u2"), ("x", "delta_W1"),
                 ("x", "delta_W2"), ("z1", "delta_W3")]:
        assert edge in g.edges, edge


# -- DNN Assignment 9, Question 3 ----------------------------------------------------------------

def test_dnn_q3_asks_forward_backward_and_the_weight_gradients(solutions):
    sol = solutions["dnn_a9_q3.yaml"]
    titles = [s.title for s in part(sol, "3")]
    assert titles[0] == "Forward pass" and titles[1] == "Loss"
    assert titles[2].startswith("Backward pass") and titles[3] == "Gradients"
    # all the intermediate calculations, each layer (of at most 4 units) neuron by neuron
    forward = {f.name for f in steps_of(sol, "3", Forward)}
    sizes = {"u1": 3, "z1": 3, "u2": 2, "z2": 2, "u3": 2, "y": 2}
    assert forward == {f"{n}[{k}]" for n, size in sizes.items() for k in range(1, size + 1)}
    deltas = {s.name for s in steps_of(sol, "3", Delta)}
    assert deltas == forward
    grads = {g.name for g in steps_of(sol, "3", Gradient)}
    assert grads == {"W1", "W2", "W3"}


def test_softmax_ce_formulas_have_a_plain_text_form(softmax_ce):
    # ENGINE BUG (backprop_tutor/algebra.py, MatFunc/ScalarFunc): the δ_s formula
    # sum(t)·softmax(s) − t cannot be turned into text with str()/repr(): SymPy rebuilds
    # ScalarFunc from its args, whose first arg is already a Symbol, and sp.Symbol(Symbol) raises
    # TypeError. The terminal (pretty printer) is not affected, but repr(Solution) and pytest's
    # failure reports are. Minimal repro:
    #   import sympy as sp; from backprop_tutor.algebra import MatFunc, ScalarFunc
    #   t = sp.MatrixSymbol('t', 3, 1); s = sp.MatrixSymbol('s', 3, 1)
    #   str(sp.MatMul(ScalarFunc('sum', t), MatFunc('softmax', s), evaluate=False))  # TypeError
    sol = softmax_ce["sol"]
    for delta in steps_of(sol, "CE'", Delta):
        assert "softmax" in str(delta.formula)
