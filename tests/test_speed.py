"""Work that stays linear: one shared reverse sweep for every name a ReLU's zero is explained for, and its
derivatives agree with differences computed here in exact fractions."""
from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from backprop_tutor import derivation, loads
from backprop_tutor.engine import Work
from backprop_tutor.graph import build
from backprop_tutor.results import relu_off
from backprop_tutor.steps import flat

X = [F(1), F(-2)]
W1 = [[F(5, 10), F(-3, 10)], [F(-4, 10), F(2, 10)], [F(1, 10), F(6, 10)]]
B1 = [F(1, 10), F(-2, 10), F(3, 10)]
W2 = [[F(3, 10), F(-5, 10), F(7, 10)], [F(-6, 10), F(4, 10), F(2, 10)]]
B2 = [F(2, 10), F(1, 10)]
W3 = [[F(9, 10), F(-8, 10)]]
T = F(1, 2)

RELU_NET = f"""
inputs:
  x: {[float(v) for v in X]}
parameters:
  W1: {[[float(v) for v in r] for r in W1]}
  b1: {[float(v) for v in B1]}
  W2: {[[float(v) for v in r] for r in W2]}
  b2: {[float(v) for v in B2]}
  W3: {[[float(v) for v in r] for r in W3]}
targets:
  t: [{float(T)}]
forward:
  z1: W1 @ x + b1
  h1: relu(z1)
  z2: W2 @ h1 + b2
  h2: relu(z2)
  y: W3 @ h2
loss: half_sse(y, t)
learning_rate: 0.1
"""


def loss(params: dict) -> F:
    """The network above in fractions, written out here."""
    def layer(W, b, v):
        return [sum((w * u for w, u in zip(row, v)), F(0)) + (b[i] if b else 0) for i, row in enumerate(W)]
    h1 = [max(F(0), v) for v in layer(params["W1"], params["b1"], X)]
    h2 = [max(F(0), v) for v in layer(params["W2"], params["b2"], h1)]
    y = layer(params["W3"], None, h2)[0]
    return (y - T) ** 2 / 2


def difference(name: str, i: int, j: int | None) -> F:
    """The central difference of the loss in one weight; exact, since the loss is quadratic in each weight
    between kinks and the step of 1/10⁶ crosses none at this point."""
    h = F(1, 10 ** 6)
    params = {"W1": W1, "b1": B1, "W2": W2, "b2": B2, "W3": W3}

    def moved(by):
        p = {k: [list(r) if isinstance(r, list) else r for r in v] for k, v in params.items()}
        if j is None:
            p[name][i] += by
        else:
            p[name][i][j] += by
        return loss(p)
    return (moved(h) - moved(-h)) / (2 * h)


def test_the_net_has_a_unit_off_in_each_hidden_layer():
    z1 = [sum(w * u for w, u in zip(r, X)) + b for r, b in zip(W1, B1)]
    assert any(v <= 0 for v in z1) and any(v > 0 for v in z1)


def test_each_derivative_in_names_is_the_difference_at_the_forward_values():
    work = Work(build(loads(RELU_NET)))
    checked = 0
    for name, shape in (("W1", (3, 2)), ("b1", (3,)), ("W2", (2, 3)), ("b2", (2,))):
        expression, env = derivation.derivative_in_names(work, name)
        values = {s: v for n in env for s, v in zip(flat(env[n].x), flat(work.values[n].x))}
        entries = flat(expression)
        for k, e in enumerate(entries):
            i, j = (k // shape[1], k % shape[1]) if len(shape) == 2 else (k, None)
            got = sp.Rational(e.xreplace(values))
            assert got == sp.Rational(difference(name, i, j)), (name, i, j)
            checked += 1
    assert checked == 6 + 3 + 6 + 2
    # W3 feeds only the output line (no function call, a δ with no step): no step() can reach its ∂, and the
    # sweep does not write it
    assert derivation.derivative_in_names(work, "W3") is None


def test_one_reverse_sweep_serves_every_name(monkeypatch):
    calls = []
    real = derivation.backward
    monkeypatch.setattr(derivation, "backward", lambda *a, **k: calls.append(1) or real(*a, **k))
    graph = build(loads(RELU_NET))
    work = Work(graph)
    relu_off(work, "W3")
    one = len(calls)
    for name in ("W1", "b1", "W2", "b2", "W1[1,2]", "W2[2,1]"):
        relu_off(work, name)
    assert one > 0 and len(calls) == one


def test_a_zero_gradient_names_the_unit_that_is_off():
    work = Work(build(loads(RELU_NET)))
    z1 = [sum(w * u for w, u in zip(r, X)) + b for r, b in zip(W1, B1)]
    off = [k + 1 for k, v in enumerate(z1) if v <= 0]
    units = relu_off(work, "b1")
    assert [u.index for u in units] == [(k,) for k in off] and all(u.node == "z1" for u in units)


def test_sums_and_products_of_numbers_are_sympys_own_entry_for_entry():
    """Eval works number matrices in plain values (plainmath.py), a result's plain values feeding the next
    operation: every entry is the very number SymPy's own operation gives, type and precision included."""
    import random
    from backprop_tutor.algebra import PRECISION, Eval
    from backprop_tutor.algebra import T as Shaped
    from backprop_tutor.plainmath import matmul_entries, sympy_number
    rng = random.Random(7)
    ev = Eval()

    def entry():
        kind = rng.randrange(4)
        if kind == 0:
            return sp.Integer(0)
        if kind == 1:
            return sp.Rational(rng.randint(-9, 9), rng.randint(1, 7))
        if kind == 2:
            return sp.Float(rng.uniform(-3, 3), rng.choice([PRECISION, 15, 60]))
        return sp.Float(0, PRECISION) if rng.random() < 0.2 else sp.Integer(rng.randint(-3, 3))

    def numbers(p, q):
        return sp.ImmutableMatrix(p, q, [entry() for _ in range(p * q)])

    def same(ours, theirs):
        assert ours.shape == theirs.shape
        for u, v in zip(ours, theirs):
            assert type(u) is type(v) and u == v and getattr(u, "_prec", None) == getattr(v, "_prec", None), (u, v)

    for _ in range(200):
        p, m, q = rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 5)
        a, b, c, d, s = numbers(p, m), numbers(m, q), numbers(p, q), numbers(p, q), entry()
        ab = ev.matmul(Shaped(a, (p, m)), Shaped(b, (m, q)))
        same(ab.x, a * b)
        same(ev.add(ab, Shaped(c, (p, q))).x, a * b + c)  # (a·b's plain values read, not its SymPy numbers)
        same(ev.sub(ab, Shaped(c, (p, q))).x, (a * b).applyfunc(lambda v: v) + c * sp.Integer(-1))
        same(ev.sub(Shaped(c, (p, q)), Shaped(d, (p, q))).x, c + d * sp.Integer(-1))
        same(ev.mul(Shaped(c, (p, q)), Shaped(d, (p, q))).x, c.multiply_elementwise(d))
        scaled = ev.mul(Shaped(s, ()), ev.sub(Shaped(c, (p, q)), Shaped(d, (p, q))))
        same(scaled.x, (c + d * sp.Integer(-1)) * s if s != 1 else c + d * sp.Integer(-1))
    cancelling = sp.ImmutableMatrix([[sp.Float("0.5", PRECISION), sp.Float("-0.5", PRECISION)]])
    assert sympy_number(matmul_entries(cancelling, sp.ImmutableMatrix([1, 1]))[0]) is sp.S.Zero \
        == (cancelling * sp.ImmutableMatrix([1, 1]))[0]


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "exp", "softplus"])
def test_an_activation_of_numbers_is_sympys_own_entry_for_entry(name):
    """A matrix's σ, tanh, exp or softplus (and slope) is worked in mpmath (plainfunctions.py): each entry is
    the very number SymPy's evaluation of the function gives, value and precision, extra digits kept apart
    from saturation included; an argument out of range is refused with the same message."""
    import random
    from backprop_tutor.algebra import PRECISION, Eval, RangeError
    from backprop_tutor.algebra import T as Shaped
    rng = random.Random(name)
    ev = Eval()

    def entry():
        kind = rng.randrange(6)
        if kind == 0:
            return sp.Rational(rng.randint(-9, 9), rng.randint(1, 7))
        if kind == 1:  # far out, where σ and tanh carry extra digits
            return sp.Float(rng.choice([-1, 1]) * rng.uniform(5, 80), rng.choice([PRECISION, 60]))
        if kind == 2:
            return sp.Float(rng.gauss(0, 1) * 10 ** rng.randint(-12, 0), rng.choice([PRECISION, 15, 60]))
        return sp.Float(rng.uniform(-4, 4), rng.choice([PRECISION, PRECISION, 15, 60]))

    def scalar(v, derivative):
        try:
            return (ev.apply_prime if derivative else ev.apply)(name, Shaped(v, ())).x
        except RangeError as e:
            return str(e)

    compared = 0
    for _ in range(60):
        values = [entry() for _ in range(rng.randint(1, 8))]
        if rng.random() < 0.1:
            values[0] = sp.Float(10 ** 6, PRECISION)  # beyond the limits of an exponential
        for derivative in (False, True):
            expected = [scalar(v, derivative) for v in values]
            try:
                got = (ev.apply_prime if derivative else ev.apply)(name, Shaped(sp.ImmutableMatrix(values),
                                                                                (len(values),))).x
            except RangeError as e:
                refused = [x for x in expected if isinstance(x, str)]
                assert refused and str(e) == refused[0]
                continue
            for u, v in zip(got, expected):
                assert type(u) is type(v) and u == v and getattr(u, "_prec", None) == getattr(v, "_prec", None), \
                    (name, derivative, u, v)
                compared += 1
    assert compared > 300


def test_a_value_only_passed_on_never_becomes_a_sympy_matrix(monkeypatch):
    """z = W x + b, then Wᵀ z and 0.1·W: only the values read (.x) are made SymPy matrices, and each is the
    matrix SymPy's own operations give."""
    from backprop_tutor import plainmath
    from backprop_tutor.algebra import Eval
    from backprop_tutor.algebra import T as Shaped
    made = []
    build = plainmath.matrix
    monkeypatch.setattr(plainmath, "matrix", lambda *a, **k: made.append(a[:2]) or build(*a, **k))
    ev = Eval()
    W = sp.ImmutableMatrix([[sp.Rational(1, 10), sp.Float("-0.3", 40)], [2, sp.Rational(-1, 2)], [0, 1]])
    x, b = sp.ImmutableMatrix([1, sp.Rational(1, 3)]), sp.ImmutableMatrix([sp.Float("0.25", 40), 0, -1])
    z = ev.add(ev.matmul(Shaped(W, (3, 2)), Shaped(x, (2,))), Shaped(b, (3,)))
    back = ev.matmul(ev.transpose(Shaped(W, (3, 2))), z)
    step = ev.mul(Shaped(sp.Rational(1, 10), ()), Shaped(W, (3, 2)))
    assert made == []
    assert z.x == W * x + b and back.x == W.T * (W * x + b) and step.x == W * sp.Rational(1, 10)
    assert made == [(3, 1), (2, 1), (3, 2)]  # W x, Wᵀ and the sums behind them never made
    assert z == Shaped(W * x + b, (3,)) and hash(z) == hash(Shaped(W * x + b, (3,)))
    assert Shaped(None, (3,)).x is None  # no value (a gradient not checked) stays none


def test_a_zero_that_a_unit_off_explains_is_found_as_by_expanding():
    """results._vanishes answers at once where every term has an off unit's step as a factor: the same answer
    as expanding the expression with those steps set to 0, on random sums of products."""
    import random
    from backprop_tutor.ops import step
    from backprop_tutor.results import _vanishes
    rng = random.Random(3)
    zs, ws = sp.symbols("z1:5", real=True), sp.symbols("w1:5", real=True)
    steps = [step(z) for z in zs]
    for _ in range(300):
        terms = [sp.Mul(*rng.sample(steps + list(ws), rng.randint(1, 3)), rng.choice([1, -2, sp.Rational(1, 3)]))
                 for _ in range(rng.randint(1, 4))]
        e, dead = sp.Add(*terms), rng.sample(steps, rng.randint(1, 2))
        assert _vanishes(e, dead) == (sp.expand(e.xreplace({s: 0 for s in dead})) == 0), (e, dead)


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parent.parent.glob("problems/*.yaml")),
                         ids=lambda p: p.stem)
def test_the_sweep_skips_only_what_holds_no_unit_off(path, monkeypatch):
    """Leaving out the ∂ of a leaf that no unit that is off can reach (derivation._InNames._step_free) names
    the same units, for every parameter and input, as the sweep that writes every ∂."""
    from backprop_tutor import load
    work = Work(build(load(path)))
    names = [n for n in work.g.nodes if work.g.nodes[n].expr is None]
    quick = [relu_off(work, n) for n in names]
    monkeypatch.setattr(derivation._InNames, "_step_free", lambda self, node, entries: set())
    whole = Work(build(load(path)))
    assert quick == [relu_off(whole, n) for n in names]


def test_the_product_bound_never_passes_the_size_it_bounds():
    from backprop_tutor.algebra import Eval
    from backprop_tutor.algebra import T as Shaped
    from backprop_tutor.algebra import element_symbols
    from backprop_tutor.derivation import product_bound, size_of
    from backprop_tutor.expr import BinOp, Name
    from backprop_tutor.rules import backward
    ev = Eval()
    for n, m in ((1, 1), (2, 3), (3, 2), (4, 4)):
        env = {"W": Shaped(element_symbols("W", (n, m)), (n, m)), "h": Shaped(element_symbols("h", (m,)), (m,)),
               "b": Shaped(element_symbols("b", (n,)), (n,))}
        expr = BinOp("+", BinOp("@", Name("W"), Name("h")), Name("b"))
        d = element_symbols("d", (n,))
        delta = Shaped(sp.ImmutableMatrix([d[i] * d[(i + 1) % n] + 3 * d[i] for i in range(n)]), (n,))
        entries = flat(delta.x)
        bounds = product_bound(expr, (n,), env, sum(size_of(e) for e in entries) - len(entries))
        acc: dict = {}
        backward(expr, ev, env, delta, acc)
        assert set(bounds) == {"W", "h"}
        for name, bound in bounds.items():
            assert 0 < bound <= size_of(acc[name].x), (n, m, name)


def test_json_writes_the_engines_numbers_as_before():
    from backprop_tutor.render.jsonout import number
    assert number(sp.Integer(3)) == 3 and type(number(sp.Integer(3))) is int
    assert number(sp.Rational(1, 10)) == 0.1 and number(sp.Float("0.1", 40)) == 0.1
    assert number(sp.Float(0)) == 0.0 and type(number(sp.Float(0))) is float
    assert number(sp.Integer(0)) == 0 and type(number(sp.Integer(0))) is int
    assert isinstance(number(sp.Integer(10) ** 400), str) and number(sp.Integer(10) ** 400).startswith("1.0")
    assert isinstance(number(sp.Rational(1, 10 ** 400)), str)
    import random
    rng = random.Random(11)
    for _ in range(2000):  # a fraction is written as the double nearest to it, as mpmath rounds it
        q = sp.Rational(rng.randint(-10 ** rng.randint(1, 30), 10 ** 30), rng.randint(1, 10 ** rng.randint(1, 30)))
        if q.is_Integer:
            assert number(q) == int(q) and type(number(q)) is int
        else:
            assert number(q) == mpmath.mpf(mpmath.libmp.from_rational(int(q.p), int(q.q), 53, "n"))
            assert type(number(q)) is float


def test_a_decimal_number_is_read_as_pythons_fraction_reads_it():
    import random
    from fractions import Fraction
    from backprop_tutor.expr import ExprError, number
    rng = random.Random(5)
    for _ in range(5000):
        whole = "".join(rng.choice("0123456789_") for _ in range(rng.randint(0, 6)))
        point = rng.choice(["", "."])
        decimals = "".join(rng.choice("0123456789_") for _ in range(rng.randint(0, 6))) if point else ""
        exponent = rng.choice(["", f"e{rng.randint(-30, 30)}", f"E+{rng.randint(0, 30)}", f"e-0{rng.randint(0, 9)}"])
        text = rng.choice(["", "-", "+"]) + whole + point + decimals + exponent
        if not any(c.isdigit() for c in whole + decimals):
            with pytest.raises(ExprError):
                number(text)
            continue
        assert number(text) == Fraction(text.replace("_", "")), text
