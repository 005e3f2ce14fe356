"""ask: update parts that name whole parameters and single weights, in the sheet's order."""
from fractions import Fraction as F

import sympy as sp

from backprop_tutor import loads, solve
from backprop_tutor.solution import LossValue, Update

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
    assert [(u.name, u.index) for u in a.steps] == [("b", (2,)), ("W", None)]
    assert all(isinstance(u, Update) for u in a.steps)
    W2, b2, loss = oracle()
    assert a.steps[0].new == sp.Rational(b2[1].numerator, b2[1].denominator)
    assert a.steps[1].new == sp.ImmutableMatrix([[sp.Rational(v.numerator, v.denominator) for v in row] for row in W2])
    (after,) = [s for s in b.steps if isinstance(s, LossValue)]
    assert after.value == sp.Rational(loss.numerator, loss.denominator)
    assert after.before == solve(loads(PROBLEM)).loss


def test_linear_pieces_refuse_an_output_that_is_not_piecewise_linear():
    import pytest
    from backprop_tutor.errors import ProblemError
    text = ("inputs: {x1: null, x2: null}\nforward: {y: tanh(x1) + relu(x2)}\n"
            "ask: [{part: a, linear_pieces: {}}]\n")
    with pytest.raises(ProblemError, match="linear maps and relu"):
        solve(loads(text))
