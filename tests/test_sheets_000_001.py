"""Exercise Sheet #12 (seed 000) and Exercise Sheet 2 with worked solutions (seed 001).

For every problem file of these two sheets: `tutor solve FILE` exits 0, the solution's parts
carry the sheet's labels in the sheet's order, and every answer the sheet publishes is checked.
The oracles are the sheets' own printed answers, or computations written out here from the
mathematics alone (math.tanh, max(0, z), the equations the sheets print); nothing is copied from
the program's output. Symbolic results are compared by `sympy.simplify(a - b) == 0` and at
random rational points, never as strings. The stand-in numbers of sheet12_p2 are tested in
test_sheets_core.py and not repeated here.
"""
from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import sympy as sp
import yaml
from typer.testing import CliRunner

from backprop_tutor import load, solve
from backprop_tutor.algebra import Partial
from backprop_tutor.cli import app
from backprop_tutor.solution import (ChainRule, Delta, Gradient, GraphStructure, LinearPieces,
                                     LocalDerivative, TruthTable, WholeDerivative)
from helpers import substitute

PROBLEMS = Path(__file__).resolve().parent.parent / "problems"

# file → the sheet's part labels, in the sheet's order
PARTS = {
    "sheet12_p1_and.yaml": ["1"],       # Problem 1 has no sub-parts
    "sheet12_p1_xor.yaml": ["1"],
    "sheet12_p2.yaml": ["a", "b", "c", "d", "e", "f"],
    "sheet2_ex1.yaml": ["a", "b"],
    "sheet2_ex2.yaml": ["a", "b", "c"],
    "sheet2_ex3.yaml": ["a", "b"],
    "sheet2_ex4.yaml": ["a", "b", "c", "d"],
}

runner = CliRunner()
_SOLVED: dict = {}


def solved(name: str):
    if name not in _SOLVED:
        _SOLVED[name] = solve(load(PROBLEMS / name), detail="full")  # every step as built
    return _SOLVED[name]


def part(name: str, label: str) -> list:
    """The sections of one part, in order."""
    secs = [s for s in solved(name).sections if s.part == label]
    assert secs, f"{name}: no part {label}"
    return secs


def steps(name: str, label: str, kind, title: str | None = None) -> list:
    """The steps of a kind in one part (optionally only in sections whose title starts so)."""
    return [st for s in part(name, label) if title is None or s.title.startswith(title)
            for st in s.steps if isinstance(st, kind)]


def one(items: list):
    assert len(items) == 1, items
    return items[0]


# -- symbolic comparison -----------------------------------------------------------------------

def S(name: str) -> sp.Symbol:
    return sp.Symbol(name)


def named(e):
    """Every symbol replaced by a plain symbol of the same name (the program's carry assumptions)."""
    e = sp.sympify(e)
    return e.xreplace({s: S(s.name) for s in e.free_symbols if isinstance(s, sp.Symbol)})


def assert_same(program, sheet, definitions: dict | None = None, points: int = 5, seed: int = 1,
                symbolic: bool = True):
    """simplify(a − b) == 0 (unless symbolic=False) and equality at random rational points."""
    a = substitute(named(program), definitions)
    b = substitute(sp.sympify(sheet), definitions)
    if symbolic:
        assert sp.simplify(a - b) == 0, f"not equal:\n  program: {a}\n  sheet:   {b}"
    rng = random.Random(seed)
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    for _ in range(points):
        point = {s: sp.Rational(rng.randint(-30, 30), rng.randint(1, 10)) for s in symbols}
        va, vb = sp.N(a.xreplace(point), 40), sp.N(b.xreplace(point), 40)
        assert va.is_number and vb.is_number, (va, vb)
        assert abs(va - vb) <= sp.Float("1e-25", 40) * (1 + abs(vb)), f"at {point}: {va} != {vb}"


def test_the_comparison_tells_different_expressions_apart():
    with pytest.raises(AssertionError):
        assert_same(sp.tanh(S("y") - S("t")), sp.tanh(S("t") - S("y")))
    with pytest.raises(AssertionError):
        assert_same(S("x1") + 1, 1 - S("x1"))


# == every file: solves, and its parts are the sheet's ==========================================

@pytest.mark.parametrize("name", sorted(PARTS))
def test_solve_exits_0(name):
    result = runner.invoke(app, ["solve", str(PROBLEMS / name), "--no-color"])
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    assert result.stdout.strip()


@pytest.mark.parametrize("name", sorted(PARTS))
def test_part_labels_are_the_sheets_in_order(name):
    labels = [s.part for s in solved(name).sections]
    assert None not in labels, labels
    runs = [l for i, l in enumerate(labels) if i == 0 or labels[i - 1] != l]
    assert runs == PARTS[name], labels


@pytest.mark.parametrize("name", sorted(PARTS))
def test_files_say_where_they_come_from(name):
    raw = yaml.safe_load((PROBLEMS / name).read_text(encoding="utf-8"))
    assert raw["title"] and raw["notes"]
    sheet = "Exercise Sheet #12" if name.startswith("sheet12") else "Exercise Sheet 2"
    assert raw["source"].startswith(sheet), raw["source"]


@pytest.mark.parametrize("name", sorted(PARTS))
def test_each_step_of_a_derivation_is_shown_once(name):
    """A derivation's sections say 'each δ defined once': no δ and no local derivative twice."""
    for s in solved(name).sections:
        if s.title.startswith("Backward recursion"):
            deltas = [st.name for st in s.steps if isinstance(st, Delta)]
            assert len(deltas) == len(set(deltas)), (s.part, s.title, deltas)
        if s.title.startswith("Local derivatives"):
            pairs = [(st.of, st.wrt) for st in s.steps if isinstance(st, LocalDerivative)]
            assert len(pairs) == len(set(pairs)), (s.part, s.title, pairs)


# == Sheet #12, Problem 1: the GLU as AND and XOR ================================================

GATES = {"sheet12_p1_and.yaml": lambda a, b: int(a and b), "sheet12_p1_xor.yaml": lambda a, b: a ^ b}


def glu(weights: dict, x) -> float:
    """σ_GLU(x) = tanh(w·x − b_w) · tanh(v·x − b_v), from the sheet's formula."""
    w, v = [float(c) for c in weights["w"]], [float(c) for c in weights["v"]]
    bw, bv = float(weights["bw"]), float(weights["bv"])
    return (math.tanh(sum(a * b for a, b in zip(w, x)) - bw)
            * math.tanh(sum(a * b for a, b in zip(v, x)) - bv))


@pytest.mark.parametrize("name", sorted(GATES))
def test_glu_weights_realise_the_gate(name):
    """The file's weights, read with yaml alone: output > 0 exactly where the gate is 1."""
    raw = yaml.safe_load((PROBLEMS / name).read_text(encoding="utf-8"))
    assert raw["forward"]["y"].replace(" ", "") == "tanh(w@x-bw)*tanh(v@x-bv)"
    gate = GATES[name]
    for a in (0, 1):
        for b in (0, 1):
            y = glu(raw["parameters"], (a, b))
            assert abs(y) > 0.1, (a, b, y)     # a clear margin, not a rounding accident
            assert int(y > 0) == gate(a, b), (a, b, y)


@pytest.mark.parametrize("name", sorted(GATES))
def test_glu_truth_table(name):
    raw = yaml.safe_load((PROBLEMS / name).read_text(encoding="utf-8"))
    gate = GATES[name]
    table = one(steps(name, "1", TruthTable))
    assert table.all_match is True
    assert sp.sympify(table.threshold) == 0
    assert len(table.rows) == 4
    seen = []
    for row in table.rows:
        x = tuple(int(c) for c in row.inputs)
        seen.append(x)
        want = gate(*x)
        assert row.decision == want, (x, row)
        assert sp.sympify(row.expected) == want and row.matches is True
        assert float(row.output) == pytest.approx(glu(raw["parameters"], x), rel=1e-12, abs=1e-15)
    assert seen == [(0, 0), (0, 1), (1, 0), (1, 1)]


# == Sheet 2, Exercise 1: y = 1 − ρ(x1) − ρ(x2) + ρ(x1 + x2) ======================================

x1, x2 = S("x1"), S("x2")
EX1 = "sheet2_ex1.yaml"


def eq1(a, b):
    """Eq. (1) of the sheet, with ρ = max(0, ·)."""
    rho = lambda z: max(0, z)
    return 1 - rho(a) - rho(b) + rho(a + b)


def test_ex1a_the_network_of_eq1():
    graph = one(steps(EX1, "a", GraphStructure))
    assert graph.kind == "forward"
    assert dict(graph.nodes) == {"x1": "input", "x2": "input", "h1": "forward", "h2": "forward",
                                 "h3": "forward", "y": "forward"}
    # three ReLU neurons on ρ(x1), ρ(x2), ρ(x1 + x2), all feeding the output
    assert set(graph.edges) == {("x1", "h1"), ("x2", "h2"), ("x1", "h3"), ("x2", "h3"),
                                ("h1", "y"), ("h2", "y"), ("h3", "y")}
    assert len(graph.edges) == 7


def _positive(rel) -> sp.Expr:
    """An inequality as the expression that it says is positive (the region's interior)."""
    if rel.rel_op in (">", ">="):
        g = rel.lhs - rel.rhs
    else:
        assert rel.rel_op in ("<", "<="), rel
        g = rel.rhs - rel.lhs
    g = sp.expand(named(g))
    for v in (x1, x2):
        c = g.coeff(v)
        if c != 0:
            return sp.expand(g / abs(c))
    return g


def _region(rels) -> frozenset:
    return frozenset(_positive(r) for r in rels)


def _where(cond):
    if isinstance(cond, (bool, sp.logic.boolalg.BooleanAtom)):
        return bool(cond)
    return _positive(cond)


# The sheet's case analysis. In the two regions where all ReLUs agree the sheet writes only
# x1, x2 < 0 (resp. > 0); the third inequality, on x1 + x2, follows from those two.
EX1_SHEET = [
    # region, y there, where y < 0 (class 1), where y > 0 (class 2)
    ([x1 < 0, x2 > 0, x1 + x2 > 0], x1 + 1, x1 < -1, x1 > -1),      # ① 1.1 / 1.2
    ([x1 < 0, x2 > 0, x1 + x2 < 0], 1 - x2, x2 > 1, x2 < 1),        # ② 2.2 / 2.1
    ([x1 < 0, x2 < 0, x1 + x2 < 0], sp.Integer(1), False, True),    # y = 1 > 0
    ([x1 > 0, x2 > 0, x1 + x2 > 0], sp.Integer(1), False, True),    # y = 1 > 0
    ([x1 > 0, x2 < 0, x1 + x2 > 0], 1 + x2, x2 < -1, x2 > -1),      # ① 1.1 / 1.2
    ([x1 > 0, x2 < 0, x1 + x2 < 0], 1 - x1, x1 > 1, x1 < 1),        # ② 2.2 / 2.1
]


def test_ex1_sheet_case_analysis_agrees_with_eq1():
    """The oracle itself: at random points of each region, Eq. (1) is the sheet's piece."""
    rng = random.Random(7)
    for rels, piece, _, _ in EX1_SHEET:
        hits = 0
        while hits < 20:
            a, b = rng.uniform(-4, 4), rng.uniform(-4, 4)
            if all(bool(r.subs({x1: a, x2: b})) for r in rels):
                hits += 1
                assert eq1(a, b) == pytest.approx(float(piece.subs({x1: a, x2: b})), abs=1e-12)


def test_ex1b_linear_pieces_are_the_sheets():
    pieces = one(steps(EX1, "b", LinearPieces))
    assert (pieces.below, pieces.above) == ("class 1", "class 2")
    rng = random.Random(3)
    for _ in range(20):   # the network the program took apart is Eq. (1)
        a, b = sp.Rational(rng.randint(-40, 40), 7), sp.Rational(rng.randint(-40, 40), 9)
        assert named(pieces.formula).xreplace({x1: a, x2: b}) == eq1(a, b)
    got = {_region(p.region): p for p in pieces.pieces}
    assert len(got) == len(pieces.pieces) == 6
    want = {_region(rels): (piece, below, above) for rels, piece, below, above in EX1_SHEET}
    assert set(got) == set(want)
    for region, (piece, below, above) in want.items():
        p = got[region]
        assert sp.simplify(named(p.expression) - piece) == 0, (region, p.expression, piece)
        assert _where(p.below) == _where(below), (region, p.below, below)
        assert _where(p.above) == _where(above), (region, p.above, above)


# == Sheet 2, Exercise 2: the log-cosh error ======================================================

EX2 = "sheet2_ex2.yaml"
N = 3


def k_(name: str, k: int) -> sp.Symbol:
    return S(f"{name}^({k})")


EX2_MODEL = {k_("y", k): S("w1") * k_("x1", k) + S("w2") * k_("x2", k) for k in range(1, N + 1)}


def test_ex2a_dE_dy_is_tanh():
    """(a) ∂E/∂y = 1/cosh(y − t) · sinh(y − t) · 1 = tanh(y − t), for sample 1."""
    y1, t1 = k_("y", 1), k_("t", 1)
    chain = one(steps(EX2, "a", ChainRule))
    assert (chain.of, chain.wrt) == ("L^(1)", "y^(1)")
    whole = one(steps(EX2, "a", WholeDerivative))
    assert_same(whole.expression, sp.tanh(y1 - t1))
    assert_same(whole.value, sp.sinh(y1 - t1) / sp.cosh(y1 - t1))
    local = [st for st in steps(EX2, "a", LocalDerivative) if (st.of, st.wrt) == ("L^(1)", "y^(1)")]
    assert local
    for st in local:
        assert_same(st.derivative, sp.tanh(y1 - t1))


def test_ex2b_chain_rule_over_the_samples():
    """(b) ∂E/∂w = Σ_k ∂E/∂E_k · ∂E_k/∂y_k · ∂y_k/∂w = (1/N) Σ_k tanh(y_k − t_k) ∂y_k/∂w."""
    chain = one(steps(EX2, "b", ChainRule))
    assert (chain.of, chain.wrt) == ("L", "w1")
    assert isinstance(chain.formula, sp.Add) and len(chain.formula.args) == N
    partials = {(p.of.name, p.wrt.name) for p in chain.formula.atoms(Partial)}
    assert partials == {(f"y^({k})", "w1") for k in range(1, N + 1)}
    deltas = {st.name: st for st in steps(EX2, "b", Delta)}
    for k in range(1, N + 1):
        # ∂E/∂E_k = 1/N, and ∂E/∂y_k = ∂E/∂E_k · ∂E_k/∂y_k = tanh(y_k − t_k)/N, with N kept general as
        # the sheet keeps it (and 1/3 for the three samples given)
        assert_same(deltas[f"L^({k})"].value, 1 / N_GENERAL, points=0)
        assert_same(deltas[f"y^({k})"].value, sp.tanh(k_("y", k) - k_("t", k)) / N_GENERAL, points=0)
        assert_same(deltas[f"y^({k})"].value, sp.tanh(k_("y", k) - k_("t", k)) / N, {N_GENERAL: N})


N_GENERAL = S("N")  # the sheet keeps the number of samples general


def _ex2_sheet(i: int, n=N):
    """(1/n) Σ_k tanh(y_k − t_k) x_i^(k): the formula with n = N as the sheet writes it, the value with n = 3."""
    return sp.Add(*[sp.tanh(k_("y", k) - k_("t", k)) * k_(f"x{i}", k) for k in range(1, N + 1)]) / n


def test_ex2b_whole_derivative():
    whole = one(steps(EX2, "b", WholeDerivative))
    assert whole.wrt == "w1"
    assert N_GENERAL in named(whole.expression).free_symbols  # (1/N) Σ_k, as the sheet writes it
    assert_same(whole.expression, _ex2_sheet(1, N_GENERAL), {N_GENERAL: N})
    assert_same(whole.value, _ex2_sheet(1, N_GENERAL), points=0)  # the value too, as the sheet writes it
    assert_same(whole.value, _ex2_sheet(1), {N_GENERAL: N})


def test_ex2c_dE_dwi():
    """(c) ∂y_k/∂w_i = x_i^(k), so ∂E/∂w_i = (1/N) Σ_k tanh(y_k − t_k) x_i^(k)."""
    wholes = steps(EX2, "c", WholeDerivative)
    assert [w.wrt for w in wholes] == ["w1", "w2"]
    for i, whole in enumerate(wholes, start=1):
        assert N_GENERAL in named(whole.expression).free_symbols
        assert_same(whole.expression, _ex2_sheet(i, N_GENERAL), {N_GENERAL: N})
        assert_same(whole.expression, _ex2_sheet(i, N_GENERAL), {**EX2_MODEL, N_GENERAL: N})
        assert_same(whole.value, _ex2_sheet(i), {**EX2_MODEL, N_GENERAL: N})
    locals_ = {(st.of, st.wrt): st.derivative for st in steps(EX2, "c", LocalDerivative)}
    for i in (1, 2):
        for k in range(1, N + 1):
            assert_same(locals_[(f"y^({k})", f"w{i}")], k_(f"x{i}", k))


# == Sheet 2, Exercise 3: backward computations for ∂E/∂w13 ======================================

EX3 = "sheet2_ex3.yaml"
(w13, w23, w14, w24, w35, w45, w36, w46, w57, w67) = sp.symbols(
    "w13 w23 w14 w24 w35 w45 w36 w46 w57 w67")
t, y = S("t"), S("y")
z3, z4, z5, z6, a3, a4, a5, a6 = sp.symbols("z3 z4 z5 z6 a3 a4 a5 a6")
EX3_FORWARD = {
    z3: x1 * w13 + x2 * w23, a3: sp.tanh(z3),
    z4: x1 * w14 + x2 * w24, a4: sp.tanh(z4),
    z5: a3 * w35 + a4 * w45, a5: sp.tanh(z5),
    z6: a3 * w36 + a4 * w46, a6: sp.tanh(z6),
    y: a5 * w57 + a6 * w67,
}


def test_ex3a_the_graph_of_the_computations():
    graph = one(steps(EX3, "a", GraphStructure))
    want = {(str(u), str(n)) for n, e in EX3_FORWARD.items() for u in e.free_symbols}
    want |= {("y", "L"), ("t", "L")}             # E = log cosh(y − t), named L
    assert set(graph.edges) == want
    assert len(graph.edges) == 26


def test_ex3b_the_sheets_delta_recursion():
    d7 = sp.tanh(y - t)
    d6 = d7 * w67
    d5 = d7 * w57
    d3 = d7 * w57 * (1 - sp.tanh(z5)**2) * w35 + d7 * w67 * (1 - sp.tanh(z6)**2) * w36
    final = d3 * (1 - sp.tanh(z3)**2) * x1
    deltas = {st.name: st for st in steps(EX3, "b", Delta)}
    assert len(deltas) == len(steps(EX3, "b", Delta))
    for name, sheet in (("y", d7), ("a6", d6), ("a5", d5), ("a3", d3)):
        assert_same(deltas[name].value, sheet)
    order = [st.name for st in steps(EX3, "b", Delta)]
    assert order.index("y") < order.index("a6") < order.index("a3")
    assert order.index("y") < order.index("a5") < order.index("a3")
    # δ3 is the sum over the two paths through z5 and z6, each using a δ already computed
    # (the sheet's δᵢ = ∂E/∂aᵢ: δ₃ = δ₅·∂a₅/∂z₅·∂z₅/∂a₃ + δ₆·∂a₆/∂z₆·∂z₆/∂a₃)
    leibniz = deltas["a3"].leibniz
    assert isinstance(leibniz, sp.Add) and len(leibniz.args) == 2
    assert {p.of.name for p in leibniz.atoms(Partial) if p.wrt.name == "a3"} == {"z5", "z6"}
    assert {s.name for s in leibniz.free_symbols if s.name.startswith("delta")} == {"delta_5", "delta_6"}
    assert [deltas[n].symbol for n in ("y", "a6", "a5", "a3")] == ["delta_7", "delta_6", "delta_5", "delta_3"]
    gradient = one([st for st in steps(EX3, "b", Gradient) if st.name == "w13"])
    assert_same(gradient.value, final)
    whole = one(steps(EX3, "b", WholeDerivative))
    assert_same(whole.expression, final)
    # the same with the forward pass written out (numerically: simplify is slow on this one)
    assert_same(whole.expression, final, EX3_FORWARD, symbolic=False)


# == Sheet 2, Exercise 4: shared parameter v =====================================================

EX4 = "sheet2_ex4.yaml"
v = S("v")
EX4_FORWARD = {z3: x1 * w13, z4: x2 * w24, a3: z3**2 / 2, a4: z4**2 / 2, y: a3 + a4}
EX4_SHARED = {w13: sp.log(1 + sp.exp(v)), w24: -sp.log(1 + sp.exp(-v))}
ONLY_Z = {z3: x1 * w13, z4: x2 * w24}


def test_ex4a_the_graph_of_the_computations():
    graph = one(steps(EX4, "a", GraphStructure))
    want = {(str(u), str(n)) for n, e in {**EX4_FORWARD, **EX4_SHARED}.items() for u in e.free_symbols}
    want |= {("y", "L"), ("t", "L")}             # E = (y − t)², named L
    assert set(graph.edges) == want
    assert len(graph.edges) == 12


def test_ex4b_dE_dw13_and_dE_dw24():
    """(b) ∂E/∂w13 = ∂E/∂y · ∂y/∂a3 · ∂a3/∂z3 · ∂z3/∂w13 = 2(y − t) · 1 · z3 · x1 = 2(y − t) x1² w13."""
    chains = steps(EX4, "b", ChainRule)
    assert [c.wrt for c in chains] == ["w13", "w24"]
    for c, (a, z, w) in zip(chains, (("a3", "z3", "w13"), ("a4", "z4", "w24"))):
        assert [(f.of.name, f.wrt.name) for f in c.factors] == [("L", "y"), ("y", a), (a, z), (z, w)]
    locals_ = {(st.of, st.wrt): st.derivative for st in steps(EX4, "b", LocalDerivative)}
    assert_same(locals_[("L", "y")], 2 * (y - t))
    assert_same(locals_[("y", "a3")], 1)
    assert_same(locals_[("a3", "z3")], z3)
    assert_same(locals_[("z3", "w13")], x1)
    assert_same(locals_[("y", "a4")], 1)
    assert_same(locals_[("a4", "z4")], z4)
    assert_same(locals_[("z4", "w24")], x2)
    w_13, w_24 = steps(EX4, "b", WholeDerivative)
    assert (w_13.wrt, w_24.wrt) == ("w13", "w24")
    assert_same(w_13.expression, 2 * (y - t) * 1 * z3 * x1)
    assert_same(w_13.expression, 2 * (y - t) * x1**2 * w13, ONLY_Z)
    assert_same(w_24.expression, 2 * (y - t) * 1 * z4 * x2)
    assert_same(w_24.expression, 2 * (y - t) * x2**2 * w24, ONLY_Z)
    assert_same(w_13.expression, 2 * (y - t) * x1**2 * w13, EX4_FORWARD)


def test_ex4c_multivariate_chain_rule():
    """(c) ∂E/∂v = ∂E/∂w13 · ∂w13/∂v + ∂E/∂w24 · ∂w24/∂v."""
    chain = one(steps(EX4, "c", ChainRule))
    assert (chain.of, chain.wrt) == ("L", "v")
    assert isinstance(chain.formula, sp.Add) and len(chain.formula.args) == 2
    terms = set()
    for term in chain.formula.args:
        factors = sp.Mul.make_args(term)
        assert all(isinstance(f, Partial) for f in factors), term
        terms.add(frozenset((f.of.name, f.wrt.name) for f in factors))
    assert terms == {frozenset({("L", "w13"), ("w13", "v")}), frozenset({("L", "w24"), ("w24", "v")})}
    locals_ = {(st.of, st.wrt): st.derivative for st in steps(EX4, "c", LocalDerivative)}
    assert_same(locals_[("w13", "v")], sp.exp(v) / (1 + sp.exp(v)))
    assert_same(locals_[("w24", "v")], sp.exp(-v) / (1 + sp.exp(-v)))


def test_ex4d_dE_dv():
    """(d) ∂E/∂v = 2(y − t) x1² w13 e^v/(1 + e^v) + 2(y − t) x2² w24 e^−v/(1 + e^−v)."""
    sheet = (2 * (y - t) * x1**2 * w13 * sp.exp(v) / (1 + sp.exp(v))
             + 2 * (y - t) * x2**2 * w24 * sp.exp(-v) / (1 + sp.exp(-v)))
    whole = one(steps(EX4, "d", WholeDerivative))
    assert (whole.of, whole.wrt) == ("L", "v")
    assert_same(whole.expression, sheet, ONLY_Z)
    assert_same(whole.expression, sheet, {**ONLY_Z, **EX4_SHARED})
    assert_same(whole.expression, sheet, {**EX4_FORWARD, **EX4_SHARED}, points=3)
    gradient = one([st for st in steps(EX4, "d", Gradient) if st.name == "v"])
    assert_same(gradient.value, sheet, ONLY_Z)


# == the forward-only files through the other output modes =======================================

@pytest.mark.parametrize("option", ["--json", "--verify"])
def test_forward_only_file_other_modes(option):
    """A file without a loss (allowed when every part needs only the forward pass) still solves
    with --json and --verify."""
    result = runner.invoke(app, ["solve", str(PROBLEMS / "sheet12_p1_and.yaml"), option])
    assert result.exit_code == 0, (result.exit_code, repr(result.exception))
