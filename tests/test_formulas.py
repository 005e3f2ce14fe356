"""Backward formulas as a sheet writes them, and the sheet's δ convention; every shown formula still
evaluates to the right number (checked against mpmath, independently of the engine)."""
from __future__ import annotations

import io
import random
from pathlib import Path

import mpmath
import pytest
import sympy as sp
import yaml
from rich.console import Console

from backprop_tutor import ProblemError, derive, loads, solve
from backprop_tutor.derivation import derive_all
from backprop_tutor.render.latex import to_latex
from backprop_tutor.render.terminal import print_solution
from backprop_tutor.solution import Delta, Gradient
from backprop_tutor.written import as_written, is_delta

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))


def load_path(path: Path):
    return loads(path.read_text(encoding="utf-8"), str(path))


def terminal(item) -> str:
    out = io.StringIO()
    print_solution(item, Console(file=out, width=80, no_color=True, color_system=None))
    return out.getvalue()


def lines(text: str) -> list:
    """The lines of a printed output, without the indent and the padding."""
    return [line.strip() for line in text.splitlines()]



def ends_a_line(text: str, formula: str) -> bool:
    """Whether a printed line ends in `= formula`, as its first line or a continuation line."""
    return any(line.endswith(formula) for line in lines(text))

def scalar_formulas(item):
    for step in item.steps():
        if isinstance(step, (Delta, Gradient)) and isinstance(step.formula, sp.Expr) \
                and not step.formula.atoms(sp.MatrixSymbol):
            yield step


def written_badly(expr) -> list:
    """The patterns a sheet never writes: nested products (−(−1)·δ), two constants in one product
    (δ/2·2·z), a zero term of a sum (0 + …), a δ that is not the first factor of its product."""
    bad = []
    for e in sp.preorder_traversal(expr):
        if isinstance(e, sp.Mul):
            args = list(e.args)
            if any(isinstance(a, sp.Mul) and not (len(a.args) == 2 and a.args[0] == -1) for a in args[1:]):
                bad.append(f"nested product {e}")
            if sum(isinstance(a, sp.Rational) for a in args) > 1:
                bad.append(f"constants not folded {e}")
            deltas = [i for i, a in enumerate(args) if is_delta(a)]
            if deltas and deltas[0] != (1 if args[0] == -1 else 0):
                bad.append(f"δ not first {e}")
        if isinstance(e, sp.Add) and any(a == 0 for a in e.args):
            bad.append(f"zero term {e}")
    return bad


@pytest.fixture(scope="module")
def outputs():
    """Every bundled problem solved and derived (every parameter), as steps and as terminal text; the
    solution at the default detail and in full (where every step stands as built, none referred to)."""
    out = {}
    for path in PROBLEMS:
        problem = load_path(path)
        items = [solve(problem), solve(problem, detail="full")]
        if problem.loss is not None:
            try:
                items += derive_all(problem)
            except ProblemError:
                pass
        out[path.stem] = items
    return out


def test_no_bundled_formula_is_written_as_the_chain_rule_produces_it(outputs):
    bad = {}
    for name, items in outputs.items():
        for item in items:
            for step in scalar_formulas(item):
                found = written_badly(step.formula)
                if found:
                    bad[(name, step.name)] = found
    assert not bad


def test_no_bundled_output_shows_a_folded_pattern_or_a_tautology(outputs):
    patterns = ["-(-", "(-1)⋅δ", "0 + 0 + 1", "∂L   ∂L\n  ── = ──", "sum(t)⋅softmax"]
    for name, items in outputs.items():
        text = "\n".join(terminal(item) for item in items)
        assert not [p for p in patterns if p in text], name
        latex = "\n".join(to_latex(item, standalone=False) for item in items)
        assert "\\left(-1\\right) \\cdot \\delta" not in latex, name


def test_as_written_folds_signs_and_constants_and_keeps_the_value():
    d, z, x, v = sp.symbols("delta_a3 z3 x1 v", real=True)
    half = sp.Mul(sp.Mul(sp.Rational(1, 2), d, evaluate=False), sp.Mul(2, z, evaluate=False), evaluate=False)
    assert as_written(half) == sp.Mul(d, z, evaluate=False)
    signs = sp.Mul(-1, sp.Mul(sp.Mul(-1, d, evaluate=False), sp.exp(-v), evaluate=False), evaluate=False)
    assert list(as_written(signs).args) == [d, sp.exp(-v)]
    zero = sp.Add(sp.Mul(x, d, evaluate=False), sp.Mul(0, z, evaluate=False), evaluate=False)
    assert as_written(zero) == sp.Mul(d, x, evaluate=False)
    for e in (half, signs, zero):
        point = {d: sp.Rational(3, 7), z: sp.Rational(-5, 3), x: sp.Rational(2, 9), v: sp.Rational(1, 4)}
        assert sp.simplify(as_written(e).xreplace(point).doit() - e.xreplace(point).doit()) == 0


def test_the_numbers_line_is_the_formula_with_the_values_put_in():
    """exercise3_skip_l1: δ_h₀ = δ_z₁·w₁ + δ_z₂·w₃ reads (−1.5)·2 + (−1)·(−1) and is −2."""
    text = terminal(solve(load_path(ROOT / "problems" / "exercise3_skip_l1.yaml")))
    assert ends_a_line(text, "= δ_z₁⋅w₁ + δ_z₂⋅w₃")
    assert ends_a_line(text, "= (-1.5)⋅2 + (-1)⋅(-1)")
    assert "= δ_h₁⋅step(z₁)" in text


def test_every_numbers_line_evaluates_to_its_value(outputs):
    checked = 0
    for name, items in outputs.items():
        for item in items:
            for step in scalar_formulas(item):
                if step.numbers is None or step.value is None or getattr(step.value, "free_symbols", None) \
                        or getattr(step.numbers, "free_symbols", None):
                    continue  # a line of symbols (1/N kept general): nothing to evaluate
                got = sp.N(step.numbers.doit(), 50)
                assert abs(got - sp.N(step.value, 50)) <= sp.Float("1e-30") * (1 + abs(got)), (name, step.name)
                checked += 1
    assert checked > 50


def test_a_constant_half_cancels_against_the_power_rule():
    """sheet2_ex4: a₃ = 0.5·z₃²; the sheet writes δ·z₃, not δ/2·2·z₃ (here under δᵢ = ∂E/∂aᵢ: δ₃·z₃)."""
    problem = load_path(ROOT / "problems" / "sheet2_ex4.yaml")
    text = terminal(derive(problem, "w13"))
    assert ends_a_line(text, "= δ₃⋅z₃⋅x₁")
    assert "⋅2⋅z" not in text


# -- softmax with cross-entropy ---------------------------------------------------------------

def test_softmax_cross_entropy_slope_is_p_minus_t_with_p_in_numbers():
    problem = load_path(ROOT / "problems" / "exercise3_softmax_ce.yaml")
    solution = solve(problem)
    step = next(s for s in solution.steps() if isinstance(s, Delta) and s.name == "s")
    assert sp.srepr(step.formula).count("softmax") == 1 and "sum" not in str(step.formula)
    s = [mpmath.mpf(2), mpmath.mpf(-1.5), mpmath.mpf(1)]  # W x, from the file's W and x
    with mpmath.workdps(50):
        p = [mpmath.exp(v) / mpmath.fsum(mpmath.exp(u) for u in s) for v in s]
        t = [0, 0, 1]
        shown_p = list(step.numbers.args[0])  # p − t: the first operand is p, in numbers
        for got, want in zip(shown_p, p):
            assert abs(mpmath.mpf(str(sp.N(got, 45))) - want) < mpmath.mpf("1e-35")
        for got, pi, ti in zip(step.value, p, t):
            assert abs(mpmath.mpf(str(sp.N(got, 45))) - (pi - ti)) < mpmath.mpf("1e-35")
    text = terminal(solution)
    assert "δ_s = ∂L/∂s = softmax(s) - t" in text
    assert "0 + 0 + 1" not in text and "sum(t)" not in text


def test_a_one_factor_chain_rule_is_not_a_tautology():
    problem = load_path(ROOT / "problems" / "exercise3_softmax_ce.yaml")
    d = derive(problem, "s")
    assert d.chain.formula != d.chain.lhs


# -- the δ convention -------------------------------------------------------------------------

SHEET2_EX3 = ROOT / "problems" / "sheet2_ex3.yaml"
WEIGHTS = ("w13", "w23", "w14", "w24", "w35", "w45", "w36", "w46", "w57", "w67")


def numeric_sheet2_ex3(delta: str | None, seed: int) -> tuple:
    """Sheet 2 Ex. 3 with random exact values in place of its symbols, and the values."""
    raw = yaml.safe_load(SHEET2_EX3.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    values = {k: sp.Rational(rng.randint(-9, 9), 10) for k in ("x1", "x2", "t", *WEIGHTS)}
    for group in ("inputs", "parameters", "targets"):
        raw[group] = {k: str(values[k]) for k in raw[group]}
    raw.pop("notation", None)
    if delta:
        raw["notation"] = {"delta": delta}
    return loads(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), "sheet2_ex3_numbers.yaml"), values


def independent_gradient(values: dict, wrt: str) -> mpmath.mpf:
    """∂E/∂wrt of the 2-2-2-1 tanh network with E = log cosh(y − t), by mpmath's numerical derivative."""
    def loss(w):
        u = dict(v, **{wrt: w})
        a3 = mpmath.tanh(u["x1"] * u["w13"] + u["x2"] * u["w23"])
        a4 = mpmath.tanh(u["x1"] * u["w14"] + u["x2"] * u["w24"])
        a5 = mpmath.tanh(a3 * u["w35"] + a4 * u["w45"])
        a6 = mpmath.tanh(a3 * u["w36"] + a4 * u["w46"])
        y = a5 * u["w57"] + a6 * u["w67"]
        return mpmath.log(mpmath.cosh(y - u["t"]))

    with mpmath.workdps(40):
        v = {k: mpmath.mpf(x.p) / x.q for k, x in values.items()}
        return mpmath.diff(loss, v[wrt])


@pytest.mark.parametrize("delta", ["output", "input"])
def test_the_convention_writes_one_delta_per_neuron_and_keeps_the_value(delta):
    problem, values = numeric_sheet2_ex3(delta, seed=5)
    d = derive(problem, "w13")
    deltas = {s.symbol: s for s in d.steps() if isinstance(s, Delta)}
    assert set(deltas) == {"delta_7", "delta_6", "delta_5", "delta_3"}
    node = {"output": "a", "input": "z"}[delta]
    assert {s.name for s in deltas.values()} == {"y", f"{node}6", f"{node}5", f"{node}3"}
    # the shown formulas, with each δ replaced by its own shown formula and each name by its value
    final = next(s for s in d.steps() if isinstance(s, Gradient))
    env = {sp.Symbol(k, real=True): v for k, v in values.items()}
    mp = dict(env)
    work = solve(problem).values
    for name, value in work.items():
        if not isinstance(value, sp.MatrixBase):
            mp[sp.Symbol(name, real=True)] = value
    formulas = {sp.Symbol(k, real=True): s.formula for k, s in deltas.items()}
    expr = final.formula
    for _ in range(6):
        expr = expr.xreplace(formulas)
    got = sp.N(expr.xreplace(mp).doit(), 40)
    want = independent_gradient(values, "w13")
    with mpmath.workdps(40):
        assert abs(mpmath.mpf(str(got)) - want) < mpmath.mpf("1e-25")
        # and the numbers line says the same
        assert abs(mpmath.mpf(str(sp.N(final.numbers.doit(), 40))) - want) < mpmath.mpf("1e-25")


def test_output_convention_reads_as_the_sheet():
    text = terminal(derive(load_path(SHEET2_EX3), "w13"))
    recursion = text.split("Backward recursion")[1].split("The whole")[0]
    assert "δ₇ = ∂E/∂y = tanh(y - t)" in lines(recursion)   # the sheet's E (notation: loss)
    assert ends_a_line(recursion, "= δ₇⋅w₆₇") and ends_a_line(recursion, "= δ₇⋅w₅₇")
    assert "δ_" not in recursion  # every δ is a neuron's
    assert any(line.startswith("δ₃ = ∂E/∂a₃ = δ₅⋅") for line in lines(recursion))
    assert any("= δ₅⋅" in line and line.endswith("⋅w₃₆") for line in lines(recursion))
    assert any("= δ₃⋅" in line and line.endswith("⋅x₁") for line in lines(recursion))


def test_input_convention_reads_as_the_sheet():
    problem, _ = numeric_sheet2_ex3("input", seed=1)
    raw = yaml.safe_load(SHEET2_EX3.read_text(encoding="utf-8"))
    raw["notation"] = {"delta": "input"}
    text = terminal(derive(loads(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), "x.yaml"), "w13"))
    assert "⋅(w₃₅⋅δ₅ + w₃₆⋅δ₆)" in text
    assert ends_a_line(text, "= δ₃⋅x₁")


def test_the_convention_leaves_values_unchanged():
    plain, _ = numeric_sheet2_ex3(None, seed=3)
    for delta in ("output", "input"):
        problem, _ = numeric_sheet2_ex3(delta, seed=3)
        a, b = solve(plain), solve(problem)
        assert a.gradients == b.gradients and a.deltas == b.deltas


@pytest.mark.parametrize("text,key", [
    ("notation: {delta: neuron}", "notation.delta"),
    ("notation: {deltas: output}", "notation.deltas"),
    ("notation: [output]", "notation"),
])
def test_a_bad_notation_names_the_key(text, key):
    data = yaml.safe_load(SHEET2_EX3.read_text(encoding="utf-8"))
    del data["notation"]
    raw = yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + text + "\n"
    with pytest.raises(ProblemError) as e:
        loads(raw, "bad.yaml")
    assert e.value.key == key and e.value.line is not None


# -- 1/N for a mean over samples kept general -------------------------------------------------

def test_a_mean_over_general_samples_is_written_one_over_n_and_is_right_for_n_3():
    """sheet2_ex2 keeps N general (three symbolic samples): the sheet's (1/N) Σₖ tanh(yₖ − tₖ) x₁⁽ᵏ⁾."""
    problem = load_path(ROOT / "problems" / "sheet2_ex2.yaml")
    d = derive(problem, "w1")
    n = sp.Symbol("N", positive=True, integer=True)
    deltas = [s for s in d.steps() if isinstance(s, Delta) and s.name.startswith("L^")]
    assert deltas and all(s.formula == 1 / n for s in deltas)
    assert n in d.whole.expression.free_symbols
    rng = random.Random(7)
    names = ["w1", "w2"] + [f"{v}^({k})" for k in (1, 2, 3) for v in ("x1", "x2", "t")]
    point = {sp.Symbol(v, real=True): sp.Rational(rng.randint(-9, 9), 7) for v in names}
    for k in (1, 2, 3):  # y⁽ᵏ⁾ = w₁ x₁⁽ᵏ⁾ + w₂ x₂⁽ᵏ⁾
        point[sp.Symbol(f"y^({k})", real=True)] = sum(
            point[sp.Symbol(f"w{i}", real=True)] * point[sp.Symbol(f"x{i}^({k})", real=True)] for i in (1, 2))
    point[n] = 3

    def loss(w1):
        total = 0
        for k in (1, 2, 3):
            x1, x2, t = (mpmath.mpf(point[sp.Symbol(f"{v}^({k})", real=True)].p) / point[sp.Symbol(f"{v}^({k})", real=True)].q
                         for v in ("x1", "x2", "t"))
            w2 = mpmath.mpf(point[sp.Symbol("w2", real=True)].p) / point[sp.Symbol("w2", real=True)].q
            total += mpmath.log(mpmath.cosh(w1 * x1 + w2 * x2 - t))
        return total / 3

    with mpmath.workdps(40):
        w1 = mpmath.mpf(point[sp.Symbol("w1", real=True)].p) / point[sp.Symbol("w1", real=True)].q
        want = mpmath.diff(loss, w1)
        for shown in (d.whole.expression, d.whole.value):  # the formula with N = 3, and the value
            got = mpmath.mpf(str(sp.N(shown.xreplace(point), 40)))
            assert abs(got - want) < mpmath.mpf("1e-25")


def test_with_general_samples_no_printed_line_says_one_third():
    """Values, answers and the table write 1/N too (JSON keeps the value for the three samples given)."""
    problem = load_path(ROOT / "problems" / "sheet2_ex2.yaml")
    solution = solve(problem)
    for text in (terminal(solution), to_latex(solution), terminal(derive(problem, "w2"))):
        assert "1/3" not in text and "0.3333" not in text and "\\frac{1}{3}" not in text
    n = sp.Symbol("N", positive=True, integer=True)
    assert all(n in r.value.free_symbols for r in solution.results if r.kind == "derivatives" and r.of == "L")
    (w1,) = [v for k, v in solution.answers[1].shown["derivatives"].items() if k == "w1"]
    assert n not in w1[0].free_symbols and sp.Rational(1, 3) in sp.preorder_traversal(w1[0])


def test_a_mean_over_numbered_samples_keeps_its_number():
    raw = yaml.safe_load((ROOT / "problems" / "sheet2_ex2.yaml").read_text(encoding="utf-8"))
    raw["data"] = [{"x1": 1, "x2": 2, "t": 0}, {"x1": 0, "x2": 1, "t": 1}, {"x1": 2, "x2": 1, "t": 1}]
    raw["parameters"] = {"w1": 0.5, "w2": -0.5}
    text = terminal(derive(loads(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), "n.yaml"), "w1"))
    assert "1/3" in text and "N" not in text.split("Backward recursion")[1]


def test_targets_that_do_not_sum_to_one_keep_the_general_slope():
    """A scalar target 1 spread over three classes sums to 3: ∂L/∂s = p·Σt − t, and its value says so."""
    solution = solve(loads("parameters: {x: [1, 2, 3]}\nforward: {s: x}\ntargets: {t: 1}\nloss: cross_entropy(softmax(s), t)\n"
                           "ask:\n  - {part: a, show: backward}\n", "spread.yaml"))
    step = next(s for s in solution.steps() if isinstance(s, Delta) and s.name == "s")
    assert "sum" in str(step.formula)
    with mpmath.workdps(50):
        e = [mpmath.exp(v) for v in (1, 2, 3)]
        for got, ei in zip(step.value, e):
            want = 3 * ei / mpmath.fsum(e) - 1
            assert abs(mpmath.mpf(str(sp.N(got, 45))) - want) < mpmath.mpf("1e-35")
