"""ask: update parts that name whole parameters and single weights, in the sheet's order."""
from fractions import Fraction as F

import sympy as sp

from pathlib import Path

from backprop_tutor import load, loads, solve
from backprop_tutor.solution import Delta, Gradient, LossValue, Update

PROBLEM = """
inputs: {x: [1, 2]}
parameters: {W: [[0.1, 0.2], [0.3, 0.4]], b: [0.5, -0.5]}
targets: {t: [1, 0]}
forward: {y: W @ x + b}
loss: sse(y, t)
learning_rate: 0.1
ask:
  - {part: a, update: ["b[2]", W]}
  - {part: b, show: loss_after_update}
"""


def oracle():
    """By hand: y = W x + b, L = Σ (y − t)², one step of 0.1 on all of W and on b[2] only."""
    W = [[F(1, 10), F(2, 10)], [F(3, 10), F(4, 10)]]
    b, x, t, lr = [F(1, 2), F(-1, 2)], [1, 2], [1, 0], F(1, 10)
    y = [sum(W[i][j] * x[j] for j in range(2)) + b[i] for i in range(2)]
    d = [2 * (y[i] - t[i]) for i in range(2)]
    W2 = [[W[i][j] - lr * d[i] * x[j] for j in range(2)] for i in range(2)]
    b2 = [b[0], b[1] - lr * d[1]]
    y2 = [sum(W2[i][j] * x[j] for j in range(2)) + b2[i] for i in range(2)]
    return W2, b2, sum((y2[i] - t[i]) ** 2 for i in range(2))


def test_update_parts_follow_the_asked_order_and_the_loss_uses_only_those_updates():
    sol = solve(loads(PROBLEM))
    a, b = sol.sections
    ups = [u for u in a.steps if isinstance(u, Update)]
    assert [(u.name, u.index) for u in ups] == [("b", (2,)), ("W", None)]
    assert a.steps[-2:] == tuple(ups)
    W2, b2, loss = oracle()
    assert ups[0].new == sp.Rational(b2[1].numerator, b2[1].denominator)
    assert ups[1].new == sp.ImmutableMatrix([[sp.Rational(v.numerator, v.denominator) for v in row] for row in W2])
    (after,) = [s for s in b.steps if isinstance(s, LossValue)]
    assert after.value == sp.Rational(loss.numerator, loss.denominator)
    assert after.before == solve(loads(PROBLEM)).loss


def test_an_update_part_shows_the_gradients_no_earlier_part_showed():
    """Part a subtracts ∂L/∂b[2] and ∂L/∂W: with no gradient part before it, it shows both first."""
    (a, _) = solve(loads(PROBLEM), notation="matrix").sections
    x, t = [1, 2], [1, 0]
    y = [F(1, 10) * 1 + F(2, 10) * 2 + F(1, 2), F(3, 10) * 1 + F(4, 10) * 2 - F(1, 2)]
    d = [2 * (y[i] - t[i]) for i in range(2)]          # ∂L/∂y = ∂L/∂b for L = Σ (y − t)²
    grads = [s for s in a.steps if isinstance(s, Gradient)]
    assert [(g.name, g.index) for g in grads] == [("b", (2,)), ("W", None)]
    assert grads[0].value == sp.Rational(d[1].numerator, d[1].denominator)
    assert grads[1].value == sp.ImmutableMatrix([[sp.Rational(str(d[i] * x[j])) for j in range(2)] for i in range(2)])
    # per neuron (the default for a layer this small): the same gradients, one weight at a time
    (per_neuron, _) = solve(loads(PROBLEM)).sections
    grads = [s for s in per_neuron.steps if isinstance(s, Gradient)]
    assert [(g.name, g.index) for g in grads] == [("b", (2,)), ("W", (1, 1)), ("W", (1, 2)), ("W", (2, 1)), ("W", (2, 2))]
    assert [g.value for g in grads[1:]] == [sp.Rational(str(d[i] * x[j])) for i in range(2) for j in range(2)]
    kinds = [type(s) for s in a.steps]
    assert kinds.index(Update) > max(i for i, k in enumerate(kinds) if k is Gradient)
    assert any(isinstance(s, Delta) and s.name == "y" for s in a.steps)  # the delta the gradients use
    assert all(u.shown_in is None for u in a.steps if isinstance(u, Update))


def test_an_update_part_refers_to_the_parts_that_showed_its_gradients():
    sol = solve(load(Path(__file__).resolve().parents[1] / "problems" / "sheet12_p2.yaml"))
    (e,) = [sec for sec in sol.sections if sec.part == "e"]
    assert all(isinstance(s, Update) for s in e.steps)
    assert {u.label: u.shown_in for u in e.steps} == {"W21": "c", "W12": "d"}


def test_a_whole_gradient_shown_earlier_covers_one_of_its_weights():
    text = PROBLEM.replace('  - {part: a, update: ["b[2]", W]}',
                           '  - {part: g, show: gradients}\n  - {part: a, update: ["b[2]", W]}')
    sol = solve(loads(text))
    (a,) = [sec for sec in sol.sections if sec.part == "a"]
    assert all(isinstance(s, Update) for s in a.steps)
    assert [u.shown_in for u in a.steps] == ["g", "g"]


def test_linear_pieces_refuse_an_output_that_is_not_piecewise_linear():
    import pytest
    from backprop_tutor.errors import ProblemError
    text = ("inputs: {x1: null, x2: null}\nforward: {y: tanh(x1) + relu(x2)}\n"
            "ask: [{part: a, linear_pieces: {}}]\n")
    with pytest.raises(ProblemError, match="linear maps and relu"):
        solve(loads(text))
