"""`tutor derive`: the sheets' chain rules and derivatives, agreement with `solve`, linear size, errors.

Expressions are compared symbolically only: `sympy.simplify(a - b) == 0` and equality at several
random rational points (every free symbol substituted, evaluated with evalf), never as strings.
Where a sheet's formula keeps intermediate names (z3, y, ...) but the program may write others,
the forward definitions (written out here from the sheet) are substituted into both sides first.
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
import yaml
import sympy as sp
from typer.testing import CliRunner

from backprop_tutor import load, loads
from backprop_tutor import solve as solve_problem
from backprop_tutor.algebra import Partial
from backprop_tutor.cli import app
from backprop_tutor.derivation import derive, derive_all
from backprop_tutor.graph import build
from backprop_tutor.solution import ChainRule, Delta, Gradient, WholeDerivative
from helpers import substitute

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
# derive differentiates the loss: files that only ask for a forward pass have none
PROBLEMS = [p for p in PROBLEMS if "loss" in yaml.safe_load(p.read_text(encoding="utf-8"))]

runner = CliRunner()


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def R(name: str) -> sp.Symbol:
    """A name as the program writes it: a real symbol."""
    return sp.Symbol(name, real=True)


def problem(name: str):
    return load(ROOT / "problems" / name)


# -- comparison helpers ------------------------------------------------------------------------

def assert_same(program, sheet, definitions: dict | None = None, points: int = 5, seed: int = 20240210):
    """program ≡ sheet: simplify(a − b) == 0 and equal at random rational points."""
    a = substitute(sp.sympify(program), definitions)
    b = substitute(sp.sympify(sheet), definitions)
    difference = a - b  # expand proves most of these identities at once; simplify the rest
    assert sp.expand(difference) == 0 or sp.simplify(difference) == 0, f"not equal:\n  program: {a}\n  sheet:   {b}"
    rng = random.Random(seed)
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    for _ in range(points):
        point = {s: sp.Rational(rng.randint(-30, 30), rng.randint(1, 10)) for s in symbols}
        va = sp.N(a.xreplace(point), 40)
        vb = sp.N(b.xreplace(point), 40)
        assert va.is_number and vb.is_number, (va, vb)
        assert abs(va - vb) <= sp.Float("1e-25", 40) * (1 + abs(vb)), f"at {point}: {va} != {vb}"


def elements(x):
    return list(x) if isinstance(x, sp.MatrixBase) else [x]


def assert_value_equal(got, want):
    """Values as `solve` reports them: exact/symbolic by sympy equality, Floats to a relative 1e-25."""
    if isinstance(want, sp.MatrixBase) or isinstance(got, sp.MatrixBase):
        assert isinstance(got, sp.MatrixBase) and isinstance(want, sp.MatrixBase), (got, want)
        assert got.shape == want.shape, (got.shape, want.shape)
    for g, w in zip(elements(got), elements(want), strict=True):
        g, w = sp.sympify(g), sp.sympify(w)
        if g.free_symbols or w.free_symbols:
            assert_same(g, w)
        elif g.has(sp.Float) or w.has(sp.Float):
            gn, wn = sp.N(g, 50), sp.N(w, 50)
            assert abs(gn - wn) <= sp.Float("1e-25", 50) * max(abs(gn), abs(wn)), (g, w)
        else:
            assert sp.simplify(g - w) == 0, (g, w)


# -- the forward definitions, written out from the sheets ---------------------------------------

x1, x2, t, y = R("x1"), R("x2"), R("t"), R("y")
w13, w23, w14, w24 = R("w13"), R("w23"), R("w14"), R("w24")
w35, w45, w36, w46, w57, w67 = R("w35"), R("w45"), R("w36"), R("w46"), R("w57"), R("w67")
z3, z4, z5, z6 = R("z3"), R("z4"), R("z5"), R("z6")
a3, a4, a5, a6 = R("a3"), R("a4"), R("a5"), R("a6")
v = R("v")

EX3_FORWARD = {
    z3: x1 * w13 + x2 * w23, a3: sp.tanh(z3),
    z4: x1 * w14 + x2 * w24, a4: sp.tanh(z4),
    z5: a3 * w35 + a4 * w45, a5: sp.tanh(z5),
    z6: a3 * w36 + a4 * w46, a6: sp.tanh(z6),
    y: a5 * w57 + a6 * w67,
}
EX4_FORWARD = {z3: x1 * w13, z4: x2 * w24, a3: z3**2 / 2, a4: z4**2 / 2, y: a3 + a4}
EX4_SHARED = {w13: sp.log(1 + sp.exp(v)), w24: -sp.log(1 + sp.exp(-v))}


def sample(name: str, k: int) -> sp.Symbol:
    return R(f"{name}^({k})")


N_SAMPLES = 3
MEAN_FORWARD = {sample("y", k): R("w1") * sample("x1", k) + R("w2") * sample("x2", k)
                for k in range(1, N_SAMPLES + 1)}


# == 1. Exercise 2: log cosh ===================================================================

def test_ex2a_dE_dy_is_tanh():
    # (a) for one sample: ∂E_k/∂y_k, here sample 1 of the merged (a)-(c) file
    d = derive(problem("sheet2_ex2.yaml"), "y^(1)", of="L^(1)")
    y1, t1 = sample("y", 1), sample("t", 1)
    assert isinstance(d.whole, WholeDerivative)
    assert_same(d.whole.expression, sp.tanh(y1 - t1))
    assert_same(d.whole.value, sp.tanh(y1 - t1))
    # one path: the chain is the single factor ∂L/∂y
    assert [(f.of.name, f.wrt.name) for f in d.chain.factors] == [("L^(1)", "y^(1)")]


@pytest.mark.parametrize("i", [1, 2])
def test_ex2bc_mean_over_samples(i):
    d = derive(problem("sheet2_ex2.yaml"), f"w{i}")
    total = sp.Add(*[sp.tanh(sample("y", k) - sample("t", k)) * sample(f"x{i}", k) for k in range(1, N_SAMPLES + 1)])
    general = total / sp.Symbol("N", positive=True, integer=True)  # the sheet keeps N general: (1/N) Σ_k
    sheet = total / N_SAMPLES
    assert_same(d.whole.expression, general)
    assert_same(d.whole.expression, general, MEAN_FORWARD)
    assert_same(d.whole.value, sheet, MEAN_FORWARD)


def test_ex2b_chain_sums_over_the_samples():
    """(b) ∂E/∂w = Σ_k ... ∂y_k/∂w: one term per sample's output."""
    d = derive(problem("sheet2_ex2.yaml"), "w1")
    assert d.chain.factors == ()
    assert isinstance(d.chain.formula, sp.Add)
    partials = {(p.of.name, p.wrt.name) for p in d.chain.formula.atoms(Partial)}
    assert partials == {(f"y^({k})", "w1") for k in range(1, N_SAMPLES + 1)}
    assert len(d.chain.formula.args) == N_SAMPLES


# == 2. Exercise 3: the backward computations for dE/dw13 ======================================

def _sheet_ex3():
    d = sp.tanh(y - t)
    delta3 = d * w57 * (1 - sp.tanh(z5)**2) * w35 + d * w67 * (1 - sp.tanh(z6)**2) * w36
    return delta3, delta3 * (1 - sp.tanh(z3)**2) * x1


@pytest.fixture(scope="module")
def ex3():
    return derive(problem("sheet2_ex3.yaml"), "w13", detail="full")


def test_ex3_whole_expression_is_the_sheets_expanded_form(ex3):
    _, sheet = _sheet_ex3()
    assert ex3.whole.shown
    assert_same(ex3.whole.expression, sheet)
    assert_same(ex3.whole.expression, sheet, EX3_FORWARD, points=3)


def _other_factors(term):
    """The names of a product's factors other than its Leibniz partials."""
    assert isinstance(term, sp.Mul), term
    rest = [f for f in term.args if not isinstance(f, Partial)]
    assert all(isinstance(f, sp.Symbol) for f in rest), term
    return [f.name for f in rest]


def _recursion(d):
    sections = [s for s in d.sections if s.title.startswith("Backward recursion")]
    assert len(sections) == 1, [s.title for s in d.sections]
    return sections[0].steps


def test_ex3_each_delta_defined_once(ex3):
    steps = _recursion(ex3)
    deltas = [s.name for s in steps if isinstance(s, Delta)]
    assert len(deltas) == len(set(deltas)), deltas
    # one δ per neuron on a path from w13 to E (the file's notation: δᵢ = ∂E/∂aᵢ), nothing from the z4/a4 side
    assert set(deltas) == {"y", "a6", "a5", "a3"}
    assert {s.name: s.symbol for s in steps if isinstance(s, Delta)} == {
        "y": "delta_7", "a6": "delta_6", "a5": "delta_5", "a3": "delta_3"}
    # every delta is defined before it is used: output first
    assert deltas.index("y") < deltas.index("a5") < deltas.index("a3")
    assert deltas.index("a6") < deltas.index("a3")
    assert isinstance(steps[-1], Gradient) and steps[-1].name == "w13"


def test_ex3_delta_a3_sums_the_two_paths(ex3):
    step = next(s for s in _recursion(ex3) if isinstance(s, Delta) and s.name == "a3")
    leibniz = step.leibniz
    assert isinstance(leibniz, sp.Add) and len(leibniz.args) == 2, leibniz
    paths = set()
    for term in leibniz.args:
        partials = term.atoms(Partial)
        assert len(partials) == 2, term
        (p,) = [q for q in partials if q.wrt.name == "a3"]
        (activation,) = [q for q in partials if q.wrt == p.of]
        # the term is δⱼ · ∂aⱼ/∂zⱼ · ∂zⱼ/∂a3 for the same neuron j (δⱼ = ∂E/∂aⱼ, the file's notation)
        assert _other_factors(term) == [f"delta_{p.of.name[1:]}"], term
        assert activation.of.name == "a" + p.of.name[1:]
        paths.add(p.of.name)
    assert paths == {"z5", "z6"}
    delta3, _ = _sheet_ex3()
    assert_same(step.value, delta3)


# == 3. Exercise 4: shared parameter v =========================================================

def test_ex4b_dE_dw13_and_dw24():
    p = problem("sheet2_ex4.yaml")
    d13, d24 = derive(p, "w13"), derive(p, "w24")
    sheet13 = 2 * (y - t) * x1**2 * w13
    sheet24 = 2 * (y - t) * x2**2 * w24
    only_z = {z3: x1 * w13, z4: x2 * w24}
    assert_same(d13.whole.expression, sheet13, only_z)
    assert_same(d24.whole.expression, sheet24, only_z)
    assert_same(d13.whole.expression, sheet13, EX4_FORWARD)
    assert_same(d24.whole.expression, sheet24, EX4_FORWARD)
    # one path each: ∂E/∂y · ∂y/∂a3 · ∂a3/∂z3 · ∂z3/∂w13
    assert [(f.of.name, f.wrt.name) for f in d13.chain.factors] == [
        ("L", "y"), ("y", "a3"), ("a3", "z3"), ("z3", "w13")]


def test_ex4c_multivariate_chain_rule_for_v():
    d = derive(problem("sheet2_ex4.yaml"), "v")
    assert isinstance(d.chain, ChainRule)
    assert d.chain.factors == ()  # two paths
    formula = d.chain.formula
    assert isinstance(formula, sp.Add) and len(formula.args) == 2, formula
    through = set()
    for term in formula.args:
        # ∂E/∂w · ∂w/∂v, as the sheet states the multivariate chain rule
        assert isinstance(term, sp.Mul) and len(term.args) == 2, term
        outer, inner = term.args
        assert isinstance(outer, Partial) and isinstance(inner, Partial), term
        assert inner.wrt.name == "v"
        w = inner.of.name
        assert (outer.of.name, outer.wrt.name) == ("L", w), term
        through.add(w)
    assert through == {"w13", "w24"}


def test_ex4d_dE_dv():
    d = derive(problem("sheet2_ex4.yaml"), "v")
    sheet = (2 * (y - t) * x1**2 * w13 * sp.exp(v) / (1 + sp.exp(v))
             + 2 * (y - t) * x2**2 * w24 * sp.exp(-v) / (1 + sp.exp(-v)))
    only_z = {z3: x1 * w13, z4: x2 * w24}
    assert_same(d.whole.expression, sheet, only_z)
    assert_same(d.whole.expression, sheet, {**only_z, **EX4_SHARED})
    assert_same(d.whole.expression, sheet, {**EX4_FORWARD, **EX4_SHARED}, points=3)


# == 4. WS24 sheet 4 (iv): the chain for u11 ===================================================

WS24_CHAIN = [("L", "A_out"), ("A_out", "A_in"), ("A_in", "Z_out"), ("Z_out", "Z_in"), ("Z_in", "u11")]


def test_ws24_chain_for_u11():
    d = derive(problem("ws24_sheet4_ex1.yaml"), "u11")
    assert all(isinstance(f, Partial) for f in d.chain.factors)
    assert [(f.of.name, f.wrt.name) for f in d.chain.factors] == WS24_CHAIN
    assert not d.chain.shared


def test_ws24_chain_json():
    result = run("derive", ROOT / "problems/ws24_sheet4_ex1.yaml", "--wrt", "u11", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["wrt"] == "u11" and out["of"] == "L"
    assert out["chain"] == ["dL/dA_out", "dA_out/dA_in", "dA_in/dZ_out", "dZ_out/dZ_in", "dZ_in/du11"]
    sol = solve_problem(problem("ws24_sheet4_ex1.yaml"))
    assert out["value"] == pytest.approx(float(sol.gradients["u"][0, 0]), rel=1e-12, abs=1e-15)


# == 5. Sheet 12: the aliases W21 and W12 ======================================================

@pytest.mark.parametrize("alias,name,index", [("W21", "W2", (2, 1)), ("W12", "W1", (1, 2))])
def test_sheet12_alias_as_written(alias, name, index, monkeypatch):
    monkeypatch.chdir(ROOT)
    sol = solve_problem(problem("sheet12_p2.yaml"))
    want = sol.gradients[name][index[0] - 1, index[1] - 1]
    assert want != 0  # the file's stand-in weights are chosen so that it is not
    result = run("derive", "problems/sheet12_p2.yaml", "--wrt", alias)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip()
    result = run("derive", "problems/sheet12_p2.yaml", "--wrt", alias, "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["wrt"] == alias
    assert out["value"] == pytest.approx(float(want), rel=1e-12)
    p = problem("sheet12_p2.yaml")
    for spelling in (alias, f"{name}[{index[0]},{index[1]}]", f"{name}_{index[0]}{index[1]}"):
        assert_value_equal(derive(p, spelling).whole.value, want)


# == 6. derive agrees with solve, for every problem and every parameter ========================

@pytest.fixture(scope="module")
def solved():
    out = {}
    for path in PROBLEMS:
        p = load(path)
        out[path.name] = (p, build(p), solve_problem(p))
    return out


def _element_names(node):
    shape = node.shape
    if shape == ():
        return []
    if len(shape) == 1:
        return sorted({(1,), (shape[0],)})
    return sorted({(1, 1), (shape[0], shape[1]), (1, shape[1]), (shape[0], 1)})


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_derive_value_is_solve_gradient(path, solved):
    p, g, sol = solved[path.name]
    assert g.parameters
    for node in g.parameters:
        d = derive(p, node.name)
        assert d.wrt == node.name and d.of == "L"
        assert_value_equal(d.whole.value, sol.gradients[node.name])
        for index in _element_names(node):
            label = f"{node.name}[{','.join(map(str, index))}]"
            want = sol.gradients[node.name]
            want = want[index[0] - 1, index[1] - 1 if len(index) > 1 else 0]
            assert_value_equal(derive(p, label).whole.value, want)


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_derive_all_matches_solve(path, solved):
    p, g, sol = solved[path.name]
    everything = derive_all(p)
    assert [d.wrt for d in everything] == [n.name for n in g.parameters]
    for d in everything:
        assert_value_equal(d.whole.value, sol.gradients[d.wrt])


def _numbers(x):
    if isinstance(x, list):
        return [v for item in x for v in _numbers(item)]
    return [x]


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_all_json_one_object_per_parameter(path, solved):
    p, g, sol = solved[path.name]
    result = run("derive", path, "--all", "--json")
    assert result.exit_code == 0, result.stderr
    objects = json.loads(result.stdout)
    assert isinstance(objects, list)
    assert [o["wrt"] for o in objects] == [n.name for n in g.parameters]
    solved_json = json.loads(run("solve", path, "--json").stdout)
    assert list(solved_json["gradients"]) == [o["wrt"] for o in objects]
    for o in objects:
        assert o["of"] == "L" and o["chain"]
        want = sol.gradients[o["wrt"]]
        if any(getattr(w, "free_symbols", None) for w in elements(want)):
            assert o["value"] == solved_json["gradients"][o["wrt"]]  # the same formula, as text
            continue
        got = _numbers(o["value"])
        assert len(got) == len(elements(want))
        assert got == pytest.approx([float(w) for w in elements(want)], rel=1e-12, abs=1e-15)
        assert got == pytest.approx(_numbers(solved_json["gradients"][o["wrt"]]), rel=1e-12, abs=1e-15)


# == 7. Linear size for deep scalar chains =====================================================

def _chain_yaml(depth: int) -> str:
    lines = ["title: deep chain", "inputs:", "  x: 0.5", "parameters:"]
    lines += [f"  w{k}: {0.3 + k / 100}" for k in range(1, depth + 1)]
    lines += ["targets:", "  t: 0.25", "forward:"]
    previous = "x"
    for k in range(1, depth + 1):
        lines.append(f"  h{k}: tanh(w{k} * {previous})")
        previous = f"h{k}"
    lines.append(f"loss: half_sse(h{depth}, t)")
    return "\n".join(lines) + "\n"


def test_deep_chain_is_fast_and_linear(tmp_path):
    derive(loads(_chain_yaml(10)), "w1")  # warm up imports and caches
    started = time.perf_counter()
    d = derive(loads(_chain_yaml(30)), "w1")
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"depth 30 took {elapsed:.2f} s"
    assert len(d.chain.factors) == 31  # ∂L/∂h30, ∂h30/∂h29, ..., ∂h1/∂w1
    lengths = {}
    for depth in (10, 20, 30):
        path = tmp_path / f"chain{depth}.yaml"
        path.write_text(_chain_yaml(depth), encoding="utf-8")
        result = run("derive", path, "--wrt", "w1", "--no-color", env={"COLUMNS": "100"})
        assert result.exit_code == 0, result.stderr
        lengths[depth] = len(result.stdout)
    first, second = lengths[20] - lengths[10], lengths[30] - lengths[20]
    assert first > 0 and second > 0, lengths
    assert abs(second - first) <= 0.25 * first, lengths


def test_deep_chain_value_matches_solve():
    p = loads(_chain_yaml(12))
    d = derive(p, "w1")
    assert_value_equal(d.whole.value, solve_problem(p).gradients["w1"])


# == 8. Errors =================================================================================

def _one_error_line(result, path):
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.output
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}:"), lines[0]
    assert result.stdout == ""
    return lines[0]


def test_wrt_naming_nothing(monkeypatch):
    monkeypatch.chdir(ROOT)
    path = "problems/sheet12_p2.yaml"
    line = _one_error_line(run("derive", path, "--wrt", "nothing"), path)
    assert "nothing" in line
    for name in ("W1", "W2", "W21", "W12"):
        assert name in line, line


def test_wrt_element_out_of_range(monkeypatch):
    monkeypatch.chdir(ROOT)
    path = "problems/sheet12_p2.yaml"
    line = _one_error_line(run("derive", path, "--wrt", "W2[3,1]"), path)
    assert "W2[3,1]" in line and "W2" in line
    assert "2×2" in line or "2x2" in line, line


@pytest.mark.parametrize("of", ["h1", "y", "no_such_node"])
def test_of_non_scalar_or_unknown(of, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = "problems/sheet12_p2.yaml"
    line = _one_error_line(run("derive", path, "--wrt", "W21", "--of", of), path)
    assert of in line


def test_of_scalar_intermediate_node_works():
    """--of a scalar node: ∂y/∂w13 in Exercise 4 is x1² w13 (the loss left out)."""
    d = derive(problem("sheet2_ex4.yaml"), "w13", of="y")
    assert d.of == "y"
    assert_same(d.whole.expression, x1**2 * w13, {z3: x1 * w13})


# == 9. Symbolic and numeric JSON values =======================================================

def test_symbolic_problem_value_is_its_formula():
    result = run("derive", ROOT / "problems/sheet2_ex3.yaml", "--wrt", "w13", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert isinstance(out["expression"], str) and out["expression"]
    assert out["value"] == out["expression"]  # every value is a symbol: nothing to put in
    assert out["wrt"] == "w13" and out["of"] == "L"
    everything = json.loads(run("derive", ROOT / "problems/sheet2_ex3.yaml", "--all", "--json").stdout)
    assert all(isinstance(o["value"], str) for o in everything)


def test_numeric_problem_value_is_a_number():
    result = run("derive", ROOT / "problems/sheet12_p2.yaml", "--wrt", "W21", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert isinstance(out["value"], (int, float)) and not isinstance(out["value"], bool)
    result = run("derive", ROOT / "problems/sheet12_p2.yaml", "--wrt", "W2", "--json")
    out = json.loads(result.stdout)
    assert all(isinstance(x, (int, float)) for x in _numbers(out["value"]))


def test_no_expand_hides_the_expanded_form_but_keeps_the_value():
    p = problem("sheet2_ex3.yaml")
    shown, hidden = derive(p, "w13", expand=True), derive(p, "w13", expand=False)
    assert shown.whole.shown and not hidden.whole.shown
    # expanded, the value is written in parameters, inputs and targets: the same once z3, … are
    assert_same(hidden.whole.value, shown.whole.value, EX3_FORWARD, points=3)


def test_the_comparison_helper_tells_different_expressions_apart():
    with pytest.raises(AssertionError):
        assert_same(sp.tanh(y - t), sp.tanh(t - y))
    with pytest.raises(AssertionError):
        assert_same(2 * (y - t) * x1**2 * w13, 2 * (y - t) * x1 * z3, {z3: x1 * w14})
    with pytest.raises(AssertionError):
        assert_value_equal(sp.Float("0.1", 40), sp.Float("0.1", 40) + sp.Float("1e-20", 40))
