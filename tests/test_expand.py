"""`derive --expand`: the whole derivative in parameters, inputs and targets only, checked against
SymPy's own derivative of the loss written out by hand from the file."""
import random

import pytest
import sympy as sp

from backprop_tutor import load, loads
from backprop_tutor.derivation import derive

NUMERIC = """title: a small sigmoid network
inputs: {x: [1, 2]}
parameters: {W: [[0.5, -1], [2, 0.25]], v: [1, -3]}
targets: {t: 1}
forward:
  z: W @ x
  h: sigmoid(z)
  y: v @ h
loss: half_sse(y, t)
"""


def R(name):
    return sp.Symbol(name, real=True)


def same_at_random_points(a, b, symbols, points=3):
    """a = b at random rational points, to 40 digits (sympy's simplify is slow on nested tanh)."""
    rng = random.Random(7)
    for _ in range(points):
        at = {s: sp.Rational(rng.randint(-9, 9), rng.randint(1, 5)) for s in symbols}
        assert abs(sp.N((a - b).xreplace(at), 50)) < sp.Float(10) ** -40, (a, b)


def ex3_loss():
    x1, x2, t = R("x1"), R("x2"), R("t")
    w = {n: R(n) for n in ("w13", "w23", "w14", "w24", "w35", "w45", "w36", "w46", "w57", "w67")}
    a3, a4 = sp.tanh(x1 * w["w13"] + x2 * w["w23"]), sp.tanh(x1 * w["w14"] + x2 * w["w24"])
    a5, a6 = sp.tanh(a3 * w["w35"] + a4 * w["w45"]), sp.tanh(a3 * w["w36"] + a4 * w["w46"])
    y = a5 * w["w57"] + a6 * w["w67"]
    return sp.log(sp.cosh(y - t)), {x1, x2, t, *w.values()}


@pytest.mark.parametrize("wrt", ["w13", "w46", "w67"])
def test_expand_on_a_symbolic_file_names_only_parameters_inputs_and_targets(wrt):
    loss, leaves = ex3_loss()
    d = derive(load("sheet2_ex3"), wrt, expand=True)
    assert d.whole.shown
    assert d.whole.expression.free_symbols <= leaves
    same_at_random_points(d.whole.expression, sp.diff(loss, R(wrt)), leaves)
    assert d.whole.value.free_symbols <= leaves


def small_network():
    x = sp.Matrix([R("x[1]"), R("x[2]")])
    W = sp.Matrix(2, 2, [R(f"W[{i},{j}]") for i in (1, 2) for j in (1, 2)])
    v = sp.Matrix([R("v[1]"), R("v[2]")])
    t = R("t")
    h = (W * x).applyfunc(lambda z: 1 / (1 + sp.exp(-z)))
    y = (v.T * h)[0]
    given = {x[0]: 1, x[1]: 2, W[0, 0]: sp.Rational(1, 2), W[0, 1]: -1, W[1, 0]: 2, W[1, 1]: sp.Rational(1, 4),
             v[0]: 1, v[1]: -3, t: 1}
    return (y - t) ** 2 / 2, W, v, given


@pytest.mark.parametrize("wrt", ["W[1,2]", "v[2]", "W", "v"])
def test_expand_on_a_numeric_file_is_the_derivative_of_the_loss_in_the_leaves(wrt):
    loss, W, v, given = small_network()
    d = derive(loads(NUMERIC), wrt, expand=True)
    whole = d.whole.expression
    leaves = set(given)
    if wrt in ("W", "v"):
        by = W if wrt == "W" else v
        want = by.applyfunc(lambda p: sp.diff(loss, p))
        assert whole.shape == want.shape
        pairs = list(zip(whole, want))
    else:
        pairs = [(whole, sp.diff(loss, R(wrt)))]
    values = d.whole.value if wrt in ("W", "v") else [d.whole.value]
    for (got, want), value in zip(pairs, values):
        assert got.free_symbols <= leaves
        same_at_random_points(got, want, leaves)
        # the value is the derivative at the file's numbers
        assert abs(sp.N(want.xreplace(given), 50) - value) < sp.Float(10) ** -30
    assert d.whole.numbers is not None


def test_without_expand_the_whole_derivative_keeps_the_sheet_names():
    d = derive(load("sheet2_ex3"), "w13")
    assert R("z3") in d.whole.expression.free_symbols


def _deep(depth=8, width=8):
    rng = random.Random(1)
    layers = []
    for k in range(depth):
        rows = width if k < depth - 1 else 1
        weights = [[rng.randint(-9, 9) / 10 for _ in range(width)] for _ in range(rows)]
        bias = [0.1] * rows if rows > 1 else 0.1
        layers.append(f"    - {{weights: {weights}, bias: {bias}, activation: {'tanh' if k < depth - 1 else 'linear'}}}")
    return (f"inputs:\n  x: {[1] * width}\nnetwork:\n  layout: Wx\n  input: x\n  layers:\n" + "\n".join(layers)
            + "\ntargets:\n  t: 1\nloss: half_sse(y, t)\n")


def test_a_deep_network_is_derived_in_seconds_and_its_long_expansion_left_out(tmp_path):
    import time
    from typer.testing import CliRunner
    from backprop_tutor.cli import app
    started = time.perf_counter()
    d = derive(loads(_deep()), "W1")
    assert time.perf_counter() - started < 20
    assert d.whole.expression is None and not d.whole.shown
    path = tmp_path / "deep.yaml"
    path.write_text(_deep(), encoding="utf-8")
    result = CliRunner().invoke(app, ["derive", str(path), "--wrt", "W1", "--no-color", "--detail", "full"])
    assert result.exit_code == 0 and "more than" in result.output
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["derive", str(path), "--wrt", "W1", "--expand"])
    assert time.perf_counter() - started < 20
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "deep.yaml" in lines[0] and "--expand" in lines[0]


def test_derive_json_writes_a_left_out_expansion_as_null(tmp_path):
    import json
    from typer.testing import CliRunner
    from backprop_tutor.cli import app
    path = tmp_path / "deep.yaml"
    path.write_text(_deep(), encoding="utf-8")
    result = CliRunner().invoke(app, ["derive", str(path), "--wrt", "W1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["expression"] is None
