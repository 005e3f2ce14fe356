"""Every row of the derivative table in ops.py against sympy.diff and against the contract.

The elementwise rows are checked twice: symbolically (sympy.diff of the row's forward rule) and
numerically, against a central difference of an independent closed form of the function written
here from the contract, at fixed pseudo-random points away from kinks. The loss rows' gradients,
written with the Eval algebra's tensor operations, are checked against sympy.diff of
scale(n)·Σ term(yᵢ, tᵢ), and that sum against the contract's definition of the loss.
"""
from __future__ import annotations

import random

import pytest
import sympy as sp

from backprop_tutor.algebra import Eval, T
from backprop_tutor.expr import parse
from backprop_tutor.ops import ELEMENTWISE, FUNCTIONS, LOSSES
from backprop_tutor.rules import backward

x = sp.Symbol("x", real=True)

# The functions as the contract defines them, in plain SymPy (no table code).
CLOSED_FORM = {
    "relu": lambda v: sp.Max(0, v),
    "sigmoid": lambda v: 1 / (1 + sp.exp(-v)),
    "tanh": sp.tanh,
    "exp": sp.exp,
    "log": sp.log,
    "softplus": lambda v: sp.log(1 + sp.exp(v)),
    "abs": sp.Abs,
    "cosh": sp.cosh,
    "sinh": sp.sinh,
    "sqrt": sp.sqrt,
    "linear": lambda v: v,
    "identity": lambda v: v,
    "sign": sp.sign,
    "step": lambda v: sp.Piecewise((1, v > 0), (0, True)),
}
KINKED = {"relu", "abs", "sign", "step"}
POSITIVE_ONLY = {"log", "sqrt"}


def points(name):
    rng = random.Random(f"points-{name}")  # fixed seed: the same points on every run
    out = []
    while len(out) < 6:
        p = sp.Rational(round(rng.uniform(-3, 3), 4)).limit_denominator(10**4)
        if name in POSITIVE_ONLY:
            p = abs(p)
        if abs(p) > sp.Rational(1, 100):
            out.append(p)
    return out


def test_the_closed_forms_cover_the_table():
    assert set(CLOSED_FORM) == set(ELEMENTWISE)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_derivative_is_sympy_diff_of_forward(name):
    row = ELEMENTWISE[name]
    difference = sp.diff(row.forward(x), x) - row.derivative(x)
    if name in KINKED:  # derivatives that hold almost everywhere: drop the point masses at 0
        difference = difference.replace(sp.DiracDelta, lambda *a: sp.Integer(0))
    assert sp.simplify(difference) == 0


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_forward_matches_the_closed_form(name):
    row = ELEMENTWISE[name]
    for p in points(name):
        got, want = sp.N(row.forward(p), 40), sp.N(CLOSED_FORM[name](p), 40)
        assert abs(got - want) <= sp.Float("1e-35") * (1 + abs(want)), (name, p)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_derivative_matches_a_central_difference(name):
    row, f = ELEMENTWISE[name], CLOSED_FORM[name]
    h = sp.Rational(1, 10**15)
    for p in points(name):
        estimate = sp.N((f(p + h) - f(p - h)) / (2 * h), 60)
        got = sp.N(row.derivative(p), 40)
        assert abs(got - estimate) <= sp.Float("1e-20") * (1 + abs(estimate)), (name, p, got, estimate)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_derivative_of_the_closed_form(name):
    """sympy.diff of the contract's closed form, not of the table's own sympy.Function."""
    row = ELEMENTWISE[name]
    derivative = sp.diff(CLOSED_FORM[name](x), x)
    for p in points(name):
        want = sp.N(derivative.subs(x, p).replace(sp.DiracDelta, lambda *a: sp.Integer(0)), 40)
        got = sp.N(row.derivative(p), 40)
        assert abs(got - want) <= sp.Float("1e-35") * (1 + abs(want)), (name, p)


# -- losses ---------------------------------------------------------------------------------------

# The contract's definitions (docs: problem-format.md), written independently of ops.LOSSES.
CONTRACT = {
    "sse": lambda y, t, n: sum((a - b) ** 2 for a, b in zip(y, t)),
    "half_sse": lambda y, t, n: sp.Rational(1, 2) * sum((a - b) ** 2 for a, b in zip(y, t)),
    "mse": lambda y, t, n: sp.Rational(1, n) * sum((a - b) ** 2 for a, b in zip(y, t)),
    "l1": lambda y, t, n: sum(sp.Abs(a - b) for a, b in zip(y, t)),
    "mae": lambda y, t, n: sp.Rational(1, n) * sum(sp.Abs(a - b) for a, b in zip(y, t)),
    "log_cosh": lambda y, t, n: sum(sp.log(sp.cosh(a - b)) for a, b in zip(y, t)),
    "cross_entropy": lambda p, t, n: -sum(b * sp.log(a) for a, b in zip(p, t)),
    "bce": lambda p, t, n: -sum(b * sp.log(a) + (1 - b) * sp.log(1 - a) for a, b in zip(p, t)),
}
PROBABILITIES = {"cross_entropy", "bce"}


def symbols(name, n):
    positive = name in PROBABILITIES
    ys = [sp.Symbol(f"y{i}", real=True, positive=positive or None) for i in range(n)]
    ts = [sp.Symbol(f"t{i}", real=True) for i in range(n)]
    return ys, ts


def table_loss(name, ys, ts):
    rule = LOSSES[name]
    return rule.scale(len(ys)) * sum((rule.term(a, b) for a, b in zip(ys, ts)), sp.Integer(0))


def test_the_contract_covers_the_table():
    assert set(CONTRACT) == set(LOSSES)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_row_is_the_contract_definition(name, n):
    ys, ts = symbols(name, n)
    assert sp.simplify(table_loss(name, ys, ts) - CONTRACT[name](ys, ts, n)) == 0


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_gradient_is_sympy_diff(name, n):
    ys, ts = symbols(name, n)
    total = table_loss(name, ys, ts)
    grad = LOSSES[name].gradient(Eval(), T(sp.ImmutableMatrix(ys), (n,)), T(sp.ImmutableMatrix(ts), (n,)), n)
    assert grad.shape == (n,)
    for i, y in enumerate(ys):
        assert sp.simplify(grad.x[i] - sp.diff(total, y)) == 0, (name, n, i)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_gradient_of_a_scalar_output(name):
    (y,), (t,) = symbols(name, 1)
    grad = LOSSES[name].gradient(Eval(), T(y, ()), T(t, ()), 1)
    assert grad.shape == ()
    assert sp.simplify(grad.x - sp.diff(table_loss(name, [y], [t]), y)) == 0


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_backward_through_a_loss_call_gives_both_partials(name, n):
    """rules.backward on `loss(y, t)`: ∂/∂y and ∂/∂t of the contract's definition."""
    ys, ts = symbols(name, n)
    env = {"y": T(sp.ImmutableMatrix(ys), (n,)), "t": T(sp.ImmutableMatrix(ts), (n,))}
    acc = {}
    backward(parse(f"{name}(y, t)", FUNCTIONS), Eval(), env, T(sp.Integer(1), ()), acc)
    total = CONTRACT[name](ys, ts, n)
    for i in range(n):
        assert sp.simplify(acc["y"].x[i] - sp.diff(total, ys[i])) == 0, ("y", name, n, i)
        assert sp.simplify(acc["t"].x[i] - sp.diff(total, ts[i])) == 0, ("t", name, n, i)
