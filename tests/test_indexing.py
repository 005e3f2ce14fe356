"""Indexing and slicing (1-based, inclusive), concat and stack: parsing, values, and every gradient
against an mpmath central difference of a loss written here in plain Python."""
from __future__ import annotations

from fractions import Fraction as F

import mpmath
import numpy as np
import pytest
import sympy as sp

from backprop_tutor import loads, solve
from backprop_tutor.errors import ProblemError
from backprop_tutor.expr import ExprError, Index, Name, Slice, depth, names_in, parse, rename
from backprop_tutor.graph import build
from backprop_tutor.numeric import float_leaves, loss_and_gradients
from backprop_tutor.ops import FUNCTIONS, RESERVED

from helpers import cli

DIGITS = 60  # 60 digits, h = 1e-20: rounding and truncation of the difference both near 1e-40
H = mpmath.mpf("1e-20")


# -- parsing ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, at", [
    ("x[2]", (2,)),
    ("x[1:3]", (Slice(1, 3),)),
    ("x[2:]", (Slice(2, None),)),
    ("x[:2]", (Slice(None, 2),)),
    ("x[:]", (Slice(None, None),)),
    ("W[2, :]", (2, Slice(None, None))),
    ("X[:, 1]", (Slice(None, None), 1)),
    ("W[ 1 : 2 , 3 ]", (Slice(1, 2), 3)),
])
def test_an_index_is_read_as_written(text, at):
    node = parse(text, FUNCTIONS)
    assert node == Index(Name(text[0]), at)


def test_an_index_binds_tighter_than_everything_and_keeps_names_and_depth():
    node = parse("-W[2, :].T @ x[1:2] ** 2", FUNCTIONS)
    assert names_in(node) == ["W", "x"]
    assert depth(parse("x[2]", FUNCTIONS)) == 2
    assert rename(parse("x[2] + y", FUNCTIONS), {"x": "u"}) == parse("u[2] + y", FUNCTIONS)


@pytest.mark.parametrize("text, needle", [
    ("x[0]", "count from 1"),
    ("x[1:0]", "count from 1"),
    ("x[3:1]", "is empty"),
    ("x[1.5]", "whole number"),
    ("x[-1]", "whole number"),
    ("x[]", "index is missing"),
    ("x[1", "expected ']'"),
    ("x[1, 2, 3]", "expected ']'"),
    ("(x + y)[1]", "only a name can be indexed"),
    ("x.T[1]", "only a name can be indexed"),
    ("x[1][1]", "only a name can be indexed"),
    ("f(x)[1]", "unknown function"),
    ("x[1e3]", "whole number"),
])
def test_a_bad_index_is_refused_with_a_reason(text, needle):
    with pytest.raises(ExprError, match=None) as e:
        parse(text, FUNCTIONS)
    assert needle in str(e.value)


def test_concat_and_stack_are_callable_but_may_still_name_a_node():
    assert {"concat", "stack"} <= FUNCTIONS and not {"concat", "stack"} & RESERVED
    sol = solve(loads("inputs: {x: 2}\nparameters: {stack: 3}\ntargets: {t: 1}\n"
                      "forward: {y: stack * x}\nloss: sse(y, t)\n"))
    assert sol.gradients["stack"] == 2 * (6 - 1) * 2


# -- values and gradients ---------------------------------------------------------------------------

SLICES = """\
inputs:
  x: [1, 2, 3]
parameters:
  W: [[0.1, 0.2, 0.3], [0.4, -0.5, 0.6]]
  v: [0.5, -0.5]
targets:
  t: 1
forward:
  a: W[2, :] @ x
  b: concat(x[1:2], a)
  h: tanh(b)
  s: stack(v, W[:, 3])
  y: sum(h) + sum(s @ v) + W[1, 1] * x[3]
loss: sse(y, t)
learning_rate: 0.1
"""


def slices_loss(W, v, x=(1, 2, 3), t=1):
    """SLICES written out with plain Python, counting from 0."""
    a = sum(W[1][j] * x[j] for j in range(3))
    b = [x[0], x[1], a]
    h = [mpmath.tanh(e) for e in b]
    s = [[v[0], v[1]], [W[0][2], W[1][2]]]
    sv = [s[i][0] * v[0] + s[i][1] * v[1] for i in range(2)]
    y = sum(h) + sum(sv) + W[0][0] * x[2]
    return (y - t) ** 2


JOINS = """\
inputs:
  x: [0.5, -1, 2]
parameters:
  W: [[0.3, -0.2, 0.1], [0.7, 0.4, -0.6]]
  u: 0.25
targets:
  t: 0.5
forward:
  z: W[1:2, 2:3] @ x[2:3]
  q: stack(z[1], u * W[2, 1], z[2])
  r: concat(q, z, u)
  m: concat(stack(q, q), stack(x, r[4:6]))
  y: sigmoid(sum(m @ x) / 4 + r[6] * r[1] + W[1, 1] * W[1, 1])
loss: sse(y, t)
"""


def joins_loss(W, u, x=(F(1, 2), -1, 2), t=F(1, 2)):
    """JOINS written out with plain Python, counting from 0."""
    z = [sum(W[i][j] * x[j] for j in (1, 2)) for i in (0, 1)]
    q = [z[0], u * W[1][0], z[1]]
    r = q + z + [u]
    m = [q, q, list(x), r[3:6]]
    mx = [sum(row[j] * x[j] for j in range(3)) for row in m]
    y = 1 / (1 + mpmath.exp(-(sum(mx) / 4 + r[5] * r[0] + W[0][0] * W[0][0])))
    return (y - t) ** 2


def central(loss, params: dict, name: str, index: tuple):
    """(L(p + h) − L(p − h)) / 2h for one element of one parameter, at 50 digits."""
    def moved(by):
        value = params[name]
        if index == ():
            new = value + by
        elif len(index) == 1:
            new = list(value)
            new[index[0]] += by
        else:
            new = [list(r) for r in value]
            new[index[0]][index[1]] += by
        return loss(**{**params, name: new})
    return (moved(H) - moved(-H)) / (2 * H)


def mp(v):
    if isinstance(v, list):
        return [mp(e) for e in v]
    return mpmath.mpf(F(v).numerator) / F(v).denominator


def elements(value):
    if isinstance(value, list) and isinstance(value[0], list):
        return [(i, j) for i in range(len(value)) for j in range(len(value[0]))]
    return [(i,) for i in range(len(value))] if isinstance(value, list) else [()]


def at(m, index):
    if index == ():
        return m
    return m[index[0], 0] if len(index) == 1 else m[index[0], index[1]]


CASES = [
    (SLICES, slices_loss, {"W": [["0.1", "0.2", "0.3"], ["0.4", "-0.5", "0.6"]], "v": ["0.5", "-0.5"]}),
    (JOINS, joins_loss, {"W": [["0.3", "-0.2", "0.1"], ["0.7", "0.4", "-0.6"]], "u": "0.25"}),
]


@pytest.mark.parametrize("text, loss, given", CASES, ids=["slices", "joins"])
def test_every_gradient_equals_a_central_difference_of_the_loss_written_by_hand(text, loss, given):
    with mpmath.workdps(DIGITS):  # whatever precision other tests left set
        check_by_hand(text, loss, given)


def check_by_hand(text, loss, given):
    params = {k: mp(v) for k, v in given.items()}
    sol = solve(loads(text))
    assert abs(sp.N(sol.loss, 45) - loss(**params)) < mpmath.mpf(10) ** -35
    for name, value in given.items():
        for index in elements(value):
            fd = central(loss, params, name, index)
            g = at(sol.gradients[name], index)
            assert abs(mpmath.mpf(sp.N(g, 45)) - fd) < mpmath.mpf(10) ** -30, (name, index, g, fd)


def test_the_forward_values_are_the_entries_read():
    sol = solve(loads(JOINS))
    x = [F(1, 2), F(-1), F(2)]
    W = [[F(3, 10), F(-2, 10), F(1, 10)], [F(7, 10), F(4, 10), F(-6, 10)]]
    z = [W[0][1] * x[1] + W[0][2] * x[2], W[1][1] * x[1] + W[1][2] * x[2]]
    assert list(sol.values["z"]) == z
    q = [z[0], F(1, 4) * W[1][0], z[1]]
    assert list(sol.values["q"]) == q
    assert list(sol.values["r"]) == q + z + [F(1, 4)]
    assert sol.values["m"].shape == (4, 3)
    assert [list(sol.values["m"].row(i)) for i in range(4)] == [q, q, x, z + [F(1, 4)]]


def test_an_entry_read_twice_gets_both_deltas_and_stays_exact():
    sol = solve(loads("parameters: {w: [0.5, -2]}\ntargets: {t: 0}\n"
                      "forward:\n  y: w[1] * w[1] + sum(concat(w[2], w, w[1:1]))\nloss: sse(y, t)\n"))
    w1, w2 = F(1, 2), F(-2)
    y = w1 * w1 + (w2 + w1 + w2 + w1)
    assert sol.loss == y ** 2
    assert list(sol.gradients["w"]) == [2 * y * (2 * w1 + 2), 2 * y * 2]


def test_the_float_path_agrees_with_the_exact_one():
    problem = loads(JOINS)
    graph = build(problem)
    loss, grads = loss_and_gradients(graph, float_leaves(graph), ["W", "u"])
    sol = solve(problem)
    assert abs(loss - float(sol.loss)) < 1e-12
    assert np.allclose(grads["W"], np.array(sol.gradients["W"].tolist(), dtype=float), atol=1e-12)
    assert abs(grads["u"][0, 0] - float(sol.gradients["u"])) < 1e-12


# -- what the solution shows ------------------------------------------------------------------------

def test_the_terminal_writes_slices_as_subscripts_and_the_scatter_entry_by_entry(tmp_path):
    text = cli("solve", "--no-color", str(_file(tmp_path, SLICES))).output
    assert "W₂,:" in text and "(x₁, x₂, a)ᵀ" in text
    assert "δ_b₃" in text  # δ of a, the third entry of b
    assert "δ_s₂₁" in text  # W[:, 3] is row 2 of s: its δ put back in column 3 of W


GATES = """\
inputs:
  x: [1, -1]
parameters:
  W: [[0.1, 0.2, 0.3], [0.4, -0.5, 0.6], [0.2, 0.1, -0.3], [-0.4, 0.3, 0.2]]
targets:
  t: [0.5, -0.5]
forward:
  xb: concat(x, 1)
  z: W @ xb
  i: sigmoid(z[1:2])
  g: tanh(z[3:4])
  y: i * g
loss: sse(y, t)
"""


def test_a_delta_read_by_slices_is_written_entry_by_entry_with_zeros_elsewhere(tmp_path):
    text = cli("solve", "--no-color", "--notation", "matrix", str(_file(tmp_path, GATES))).output
    assert "xb = (x₁, x₂, 1)ᵀ" in text
    assert "(δ_i₁⋅σ′(z₁), δ_i₂⋅σ′(z₂), 0, 0)ᵀ" in text
    assert "(0, 0, δ_g₁⋅tanh′(z₃), δ_g₂⋅tanh′(z₄))ᵀ" in text


def test_an_entry_in_a_scalar_delta_gets_its_number(tmp_path):
    text = cli("solve", "--no-color", str(_file(tmp_path, """\
inputs:
  x: [1, 2]
parameters:
  W: [[0.1, 0.2], [0.3, -0.4]]
targets:
  t: 1
forward:
  a: W[2, :] @ x
  y: tanh(a) + W[1, 2] * a
loss: sse(y, t)
"""))).output
    delta = text[text.index("δ_a = "):text.index("Gradients")]
    formula, numbers = delta.split("≈", 1)
    assert "δ_y⋅W₁₂" in formula and "W₁₂" not in numbers and "⋅0.2" in numbers


def test_latex_writes_slices_as_subscripts():
    from backprop_tutor.notation import tex_name
    assert tex_name("x[1:3]") == "x_{1:3}"
    assert tex_name("W[2,:]") == "W_{2,:}"
    assert tex_name("W2[:,1]") == "W^{(2)}_{:,1}"
    assert tex_name("delta_s[2,1]") == "\\delta_{s_{21}}"


# -- hostile files ----------------------------------------------------------------------------------

def with_line(line: str) -> str:
    return (f"inputs:\n  x: [1, 2, 3]\nparameters:\n  W: [[1, 2], [3, 4]]\ntargets:\n  t: 1\n"
            f"forward:\n  y: {line}\nloss: sse(y, t)\n")


@pytest.mark.parametrize("line, needle", [
    ("sum(x[0])", "count from 1"),
    ("sum(x[4])", "out of range"),
    ("sum(x[" + "9" * 200 + "])", "out of range"),
    ("sum(x[1:0])", "count from 1"),
    ("sum(x[2:9])", "out of range"),
    ("sum(W[1])", "takes two indices"),
    ("sum(x[1, 1])", "takes one index"),
    ("t[1] * W[1, 1]", "cannot be indexed"),
    ("sum(concat(x, W))", "cannot join"),
    ("sum(stack(x, W[1, :]))", "cannot join"),
    ("sum(concat(x))", "two values or more"),
])
def test_a_bad_index_in_a_file_is_one_line_naming_file_line_and_key(tmp_path, line, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(with_line(line))
    with pytest.raises(ProblemError) as e:
        solve(loads(path.read_text()))
    assert needle in str(e.value)
    run = cli("solve", str(path))
    assert run.exit_code == 2, run.output
    assert "bad.yaml:8: forward.y: " in run.output and "Traceback" not in run.output
    assert needle in run.output


def test_joined_values_are_held_to_the_matrix_limits(tmp_path):
    wide = "concat(" + ", ".join(["x"] * 11) + ")"  # 33 entries: past matrix_side = 32
    run = cli("solve", str(_file(tmp_path, with_line(f"sum({wide}) * W[1, 1]"))))
    assert run.exit_code == 2 and "matrix_side" in run.output and "forward.y" in run.output
    nested = "concat(" + ", ".join(["stack(" + ", ".join(["x"] * 8) + ")"] * 5) + ")"  # 40 rows
    run = cli("solve", str(_file(tmp_path, with_line(f"sum({nested} @ x)"))))
    assert run.exit_code == 2 and "matrix_side" in run.output
    run = cli("--limit", "matrix_side=40", "solve", str(_file(tmp_path, with_line(f"sum({wide}) * W[1, 1]"))))
    assert run.exit_code == 0, run.output


def _file(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path
