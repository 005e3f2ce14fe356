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
    "leaky_relu": lambda v, a: sp.Piecewise((v, v > 0), (a * v, True)),
    "elu": lambda v, a: sp.Piecewise((v, v > 0), (a * (sp.exp(v) - 1), True)),
    "silu": lambda v: v / (1 + sp.exp(-v)),
    "gelu": lambda v: v * (1 + sp.erf(v / sp.sqrt(2))) / 2,
    "hardtanh": lambda v: sp.Piecewise((-1, v < -1), (1, v > 1), (v, True)),
}
# The constant arguments of the rows that take them (the a of leaky_relu(z, a)).
PARAMS = {"leaky_relu": (sp.Rational(1, 10),), "elu": (sp.Rational(7, 10),)}
KINKED = {"relu", "abs", "sign", "step", "leaky_relu", "elu", "hardtanh"}
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
    params = PARAMS.get(name, ())
    difference = sp.diff(row.forward(x, *params), x) - row.derivative(x, *params)
    if name in KINKED:  # derivatives that hold almost everywhere: drop the point masses at 0
        difference = difference.replace(sp.DiracDelta, lambda *a: sp.Integer(0))
    assert sp.simplify(difference) == 0


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_forward_matches_the_closed_form(name):
    row = ELEMENTWISE[name]
    for p in points(name):
        params = PARAMS.get(name, ())
        got, want = sp.N(row.forward(p, *params), 40), sp.N(CLOSED_FORM[name](p, *params), 40)
        assert abs(got - want) <= sp.Float("1e-35") * (1 + abs(want)), (name, p)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_derivative_matches_a_central_difference(name):
    params = PARAMS.get(name, ())
    row, f = ELEMENTWISE[name], (lambda v: CLOSED_FORM[name](v, *params))
    h = sp.Rational(1, 10**15)
    for p in points(name):
        estimate = sp.N((f(p + h) - f(p - h)) / (2 * h), 60)
        got = sp.N(row.derivative(p, *params), 40)
        assert abs(got - estimate) <= sp.Float("1e-20") * (1 + abs(estimate)), (name, p, got, estimate)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_derivative_of_the_closed_form(name):
    """sympy.diff of the contract's closed form, not of the table's own sympy.Function."""
    row, params = ELEMENTWISE[name], PARAMS.get(name, ())
    derivative = sp.diff(CLOSED_FORM[name](x, *params), x)
    for p in points(name):
        want = sp.N(derivative.subs(x, p).replace(sp.DiracDelta, lambda *a: sp.Integer(0)), 40)
        got = sp.N(row.derivative(p, *params), 40)
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
    "hinge": lambda y, t, n: sum(sp.Max(0, 1 - b * a) for a, b in zip(y, t)),
    "squared_hinge": lambda y, t, n: sum(sp.Max(0, 1 - b * a) ** 2 for a, b in zip(y, t)),
    "huber": lambda y, t, n: sum(sp.Piecewise(((a - b) ** 2 / 2, sp.Abs(a - b) <= HUBER_DELTA),
                                              (HUBER_DELTA * (sp.Abs(a - b) - HUBER_DELTA / 2), True))
                                 for a, b in zip(y, t)),
    "nll": lambda y, t, n: -sum(b * a for a, b in zip(y, t)),
    "kl": lambda p, q, n: sum(a * sp.log(a / b) for a, b in zip(p, q)),
}
HUBER_DELTA = sp.Rational(3, 4)
LOSS_PARAMS = {"huber": (HUBER_DELTA,)}
PROBABILITIES = {"cross_entropy", "bce", "kl"}
KINKED_LOSSES = {"hinge", "squared_hinge", "huber"}  # compared at points away from their kinks


def same(name, a, b, free) -> bool:
    """a = b: symbolically, or for a loss with kinks at fixed random points (where neither has one)."""
    if name not in KINKED_LOSSES:
        return sp.simplify(a - b) == 0
    rng = random.Random(f"loss-{name}")
    for _ in range(8):
        at = {s: sp.Rational(rng.randint(-300, 300), 100) for s in free}
        got = sp.N(a.subs(at).replace(sp.DiracDelta, lambda *_: 0).replace(sp.Heaviside, lambda *v: 1 if v[0] > 0 else 0), 40)
        want = sp.N(b.subs(at).replace(sp.DiracDelta, lambda *_: 0).replace(sp.Heaviside, lambda *v: 1 if v[0] > 0 else 0), 40)
        if abs(got - want) > sp.Float("1e-30"):
            return False
    return True


def symbols(name, n):
    positive = name in PROBABILITIES
    ys = [sp.Symbol(f"y{i}", real=True, positive=positive or None) for i in range(n)]
    ts = [sp.Symbol(f"t{i}", real=True, positive=name == "kl" or None) for i in range(n)]  # q of kl(p, q)
    return ys, ts


def table_loss(name, ys, ts):
    rule = LOSSES[name]
    params = LOSS_PARAMS.get(name, ())
    return rule.scale(len(ys)) * sum((rule.term(a, b, *params) for a, b in zip(ys, ts)), sp.Integer(0))


def gradient(name, y, t, n):
    return LOSSES[name].gradient(Eval(), y, t, n, *(T(p, ()) for p in LOSS_PARAMS.get(name, ())))


def test_the_contract_covers_the_table():
    assert set(CONTRACT) == set(LOSSES)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_row_is_the_contract_definition(name, n):
    ys, ts = symbols(name, n)
    assert same(name, table_loss(name, ys, ts), CONTRACT[name](ys, ts, n), ys + ts)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_gradient_is_sympy_diff(name, n):
    ys, ts = symbols(name, n)
    total = table_loss(name, ys, ts)
    grad = gradient(name, T(sp.ImmutableMatrix(ys), (n,)), T(sp.ImmutableMatrix(ts), (n,)), n)
    assert grad.shape == (n,)
    for i, y in enumerate(ys):
        assert same(name, grad.x[i], sp.diff(CONTRACT[name](ys, ts, n), y), ys + ts), (name, n, i)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_gradient_of_a_scalar_output(name):
    (y,), (t,) = symbols(name, 1)
    grad = gradient(name, T(y, ()), T(t, ()), 1)
    assert grad.shape == ()
    assert same(name, grad.x, sp.diff(CONTRACT[name]([y], [t], 1), y), [y, t])


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_backward_through_a_loss_call_gives_both_partials(name, n):
    """rules.backward on `loss(y, t)`: ∂/∂y and ∂/∂t of the contract's definition."""
    ys, ts = symbols(name, n)
    env = {"y": T(sp.ImmutableMatrix(ys), (n,)), "t": T(sp.ImmutableMatrix(ts), (n,))}
    acc = {}
    extra = "".join(f", {p}" for p in LOSS_PARAMS.get(name, ()))
    backward(parse(f"{name}(y, t{extra})", FUNCTIONS), Eval(), env, T(sp.Integer(1), ()), acc)
    total = CONTRACT[name](ys, ts, n)
    for i in range(n):
        assert same(name, acc["y"].x[i], sp.diff(total, ys[i]), ys + ts), ("y", name, n, i)
        assert same(name, acc["t"].x[i], sp.diff(total, ts[i]), ys + ts), ("t", name, n, i)
