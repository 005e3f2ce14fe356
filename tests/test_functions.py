"""The functions and losses of whole vectors, constant parameters and kinks, each against an independent
computation: the loss written here in mpmath at 50 digits from the file's own numbers, its gradient a
central difference; the kink conventions and the names a file may use, by hand."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mpmath
import pytest
import sympy as sp
import yaml

from backprop_tutor import loads, solve

mpmath.mp.dps = 50
H = mpmath.mpf("1e-18")


def numbers(value):
    """A YAML number or nested list as mpmath numbers (the exact decimal written in the file)."""
    if isinstance(value, list):
        return [numbers(v) for v in value]
    return mpmath.mpf(str(value))


def matvec(W, x):
    return [mpmath.fsum(w * v for w, v in zip(row, x)) for row in W]


def matmul(A, B):
    return [[mpmath.fsum(A[i][k] * B[k][j] for k in range(len(B))) for j in range(len(B[0]))] for i in range(len(A))]


def softmax(v):
    m = max(v)
    e = [mpmath.exp(a - m) for a in v]
    s = mpmath.fsum(e)
    return [a / s for a in e]


def lse(v):
    return mpmath.log(mpmath.fsum(mpmath.exp(a) for a in v))


def slots(value):
    if isinstance(value, list) and isinstance(value[0], list):
        return [(i, j) for i in range(len(value)) for j in range(len(value[0]))]
    if isinstance(value, list):
        return [(i,) for i in range(len(value))]
    return [()]


def moved(value, slot, by):
    if slot == ():
        return value + by
    if len(slot) == 1:
        return [v + by if i == slot[0] else v for i, v in enumerate(value)]
    return [[v + by if (i, j) == slot else v for j, v in enumerate(row)] for i, row in enumerate(value)]


def entry(g, slot):
    if slot == ():
        return g
    return g[slot[0], 0] if len(slot) == 1 else g[slot[0], slot[1]]


def check_against(text: str, loss) -> None:
    """Every gradient of the file equals the central difference of `loss` (a function of the file's
    inputs, parameters and targets as mpmath numbers), and the loss equals loss() itself."""
    data = yaml.safe_load(text)
    given = {k: numbers(v) for section in ("inputs", "parameters", "targets") for k, v in (data.get(section) or {}).items()}
    sol = solve(loads(text))
    assert abs(mpmath.mpf(str(sp.N(sol.loss, 50))) - loss(given)) < mpmath.mpf("1e-35") * (1 + abs(loss(given)))
    for name, value in (data.get("parameters") or {}).items():
        for slot in slots(value):
            up = loss({**given, name: moved(given[name], slot, H)})
            down = loss({**given, name: moved(given[name], slot, -H)})
            fd = (up - down) / (2 * H)
            got = mpmath.mpf(str(sp.N(entry(sol.gradients[name], slot), 50)))
            assert abs(got - fd) < mpmath.mpf("1e-25") * (1 + abs(fd)), (name, slot, got, fd)


# -- activations with and without a constant parameter ---------------------------------------------

ACTIVATIONS = {
    "leaky_relu(z, 0.1)": lambda z: z if z > 0 else mpmath.mpf("0.1") * z,
    "elu(z, 0.7)": lambda z: z if z > 0 else mpmath.mpf("0.7") * (mpmath.exp(z) - 1),
    "silu(z)": lambda z: z / (1 + mpmath.exp(-z)),
    "gelu(z)": lambda z: z * (1 + mpmath.erf(z / mpmath.sqrt(2))) / 2,
    "hardtanh(z)": lambda z: max(-1, min(1, z)),
    "max(z, 0.5 * z + 0.2)": lambda z: max(z, z / 2 + mpmath.mpf("0.2")),
    "min(z, c)": lambda z, c=None: z,  # replaced below: needs c
}
LAYER = """inputs:
  x: [0.5, -1.2, 2]
  c: [0.3, -0.4]
parameters:
  W: [[0.4, -0.3, 0.6], [-0.8, 0.25, 0.1]]
  b: [0.1, -0.2]
  v: [1.5, -0.5]
targets:
  t: 0.75
forward:
  z: W @ x + b
  h: {act}
  y: v @ h
loss: half_sse(y, t)
"""


@pytest.mark.parametrize("act", [a for a in ACTIVATIONS if a != "min(z, c)"])
def test_an_activation_layer_against_mpmath(act):
    f = ACTIVATIONS[act]

    def loss(g):
        h = [f(z) for z in (a + b for a, b in zip(matvec(g["W"], g["x"]), g["b"]))]
        return (mpmath.fsum(a * b for a, b in zip(g["v"], h)) - g["t"]) ** 2 / 2
    check_against(LAYER.format(act=act), loss)


def test_min_of_two_vectors_against_mpmath():
    def loss(g):
        z = [a + b for a, b in zip(matvec(g["W"], g["x"]), g["b"])]
        h = [min(a, c) for a, c in zip(z, g["c"])]
        return (mpmath.fsum(a * b for a, b in zip(g["v"], h)) - g["t"]) ** 2 / 2
    check_against(LAYER.format(act="min(z, c)"), loss)


# -- functions of a whole vector ------------------------------------------------------------------

WHOLE = {
    "max(z)": max,
    "min(z)": min,
    "logsumexp(z)": lse,
    "var(z)": lambda z: mpmath.fsum((a - mpmath.fsum(z) / len(z)) ** 2 for a in z) / len(z),
    "norm(z)": lambda z: mpmath.sqrt(mpmath.fsum(a * a for a in z)),
    "sum(log_softmax(z) * c)": lambda z, c=None: None,
    "sum(softmax(z) * c)": lambda z, c=None: None,
}
REDUCED = """inputs:
  x: [0.5, -1.2]
  c: [0.3, -0.4, 1.1]
parameters:
  W: [[0.4, -0.3], [-0.8, 0.25], [0.7, 0.9]]
  b: [0.1, -0.2, 0.05]
targets:
  t: 0.75
forward:
  z: W @ x + b
  y: {f}
loss: sse(y, t)
"""


@pytest.mark.parametrize("f", sorted(WHOLE))
def test_a_function_of_a_whole_vector_against_mpmath(f):
    def value(z, c):
        if f.startswith("sum(log_softmax"):
            return mpmath.fsum((a - lse(z)) * b for a, b in zip(z, c))
        if f.startswith("sum(softmax"):
            return mpmath.fsum(p * b for p, b in zip(softmax(z), c))
        return WHOLE[f](z)

    def loss(g):
        z = [a + b for a, b in zip(matvec(g["W"], g["x"]), g["b"])]
        return (value(z, g["c"]) - g["t"]) ** 2
    check_against(REDUCED.format(f=f), loss)


# -- losses ---------------------------------------------------------------------------------------

LOSSES = {
    "hinge(y, t)": lambda y, t, q: mpmath.fsum(max(0, 1 - b * a) for a, b in zip(y, t)),
    "squared_hinge(y, t)": lambda y, t, q: mpmath.fsum(max(0, 1 - b * a) ** 2 for a, b in zip(y, t)),
    "huber(y, t, 0.5)": lambda y, t, q: mpmath.fsum(
        (a - b) ** 2 / 2 if abs(a - b) <= mpmath.mpf("0.5") else mpmath.mpf("0.5") * (abs(a - b) - mpmath.mpf("0.25"))
        for a, b in zip(y, t)),
    "nll(log_softmax(y), q)": lambda y, t, q: -mpmath.fsum(b * (a - lse(y)) for a, b in zip(y, q)),
    "kl(softmax(y), q)": lambda y, t, q: mpmath.fsum(p * mpmath.log(p / b) for p, b in zip(softmax(y), q)),
    "kl(q, softmax(y))": lambda y, t, q: mpmath.fsum(b * mpmath.log(b / p) for p, b in zip(softmax(y), q)),
}
LOSSY = """inputs:
  x: [0.5, -1.2]
parameters:
  W: [[0.4, -0.3], [-0.8, 0.25], [1.7, 0.9]]
  b: [0.1, -0.2, 0.05]
targets:
  t: [1, -1, 1]
  q: [0.2, 0.5, 0.3]
forward:
  y: W @ x + b
loss: {loss}
"""


@pytest.mark.parametrize("loss_text", sorted(LOSSES))
def test_a_loss_against_mpmath(loss_text):
    def loss(g):
        y = [a + b for a, b in zip(matvec(g["W"], g["x"]), g["b"])]
        return LOSSES[loss_text](y, g["t"], g["q"])
    check_against(LOSSY.format(loss=loss_text), loss)


def test_softmax_of_a_matrix_acts_row_by_row():
    text = """inputs:
  X: [[1, 0.5], [-0.5, 2], [0.25, -1]]
parameters:
  W: [[0.4, -0.3, 0.2], [0.6, 0.1, -0.7]]
  V: [[1, -2], [0.5, 0.3], [-1, 0.2]]
targets:
  t: 0.5
forward:
  S: X @ W
  P: softmax(S)
  L2: log_softmax(S)
  y: sum(P @ V) + mean(L2 @ V)
loss: sse(y, t)
"""

    def loss(g):
        S = matmul(g["X"], g["W"])
        P = [softmax(row) for row in S]
        L2 = [[a - lse(row) for a in row] for row in S]
        PV, LV = matmul(P, g["V"]), matmul(L2, g["V"])
        y = mpmath.fsum(a for row in PV for a in row) + mpmath.fsum(a for row in LV for a in row) / 6
        return (y - g["t"]) ** 2
    check_against(text, loss)
    sol = solve(loads(text))
    for i in range(3):
        assert sum(sol.values["P"].row(i)) == pytest.approx(1, abs=1e-35)


# -- kinks, ties and exactness ----------------------------------------------------------------------

def gradients(text):
    return solve(loads(text)).gradients


def test_slopes_at_the_kinks():
    at_zero = "parameters:\n  z: 0\ntargets:\n  t: 1\nforward:\n  y: {f}\nloss: sse(y, t)\n"
    # ∂L/∂z = 2(y − t)·f′(0) with y = f(0) = 0, so f′(0) = ∂L/∂z / (−2)
    assert gradients(at_zero.format(f="leaky_relu(z, 0.1)"))["z"] == sp.Rational(-2, 10)
    assert gradients(at_zero.format(f="elu(z, 0.7)"))["z"] == sp.Rational(-14, 10)
    assert gradients(at_zero.format(f="relu(z)"))["z"] == 0
    at_one = "parameters:\n  z: {z}\ntargets:\n  t: 0\nforward:\n  y: hardtanh(z)\nloss: sse(y, t)\n"
    assert gradients(at_one.format(z=1))["z"] == 0
    assert gradients(at_one.format(z=-1))["z"] == 0
    assert gradients(at_one.format(z="0.5"))["z"] == 1


def test_ties_send_delta_to_the_first():
    pair = "parameters:\n  a: 0.5\n  b: 0.5\ntargets:\n  t: 0\nforward:\n  y: {f}(a, b)\nloss: sse(y, t)\n"
    for f in ("max", "min"):
        g = gradients(pair.format(f=f))
        assert (g["a"], g["b"]) == (1, 0), f
    vector = "parameters:\n  v: [0.2, 0.7, 0.7]\ntargets:\n  t: 0\nforward:\n  y: max(v)\nloss: sse(y, t)\n"
    assert list(gradients(vector)["v"]) == [0, sp.Rational(14, 10), 0]
    vector = "parameters:\n  v: [0.2, -0.7, -0.7]\ntargets:\n  t: 0\nforward:\n  y: min(v)\nloss: sse(y, t)\n"
    assert list(gradients(vector)["v"]) == [0, sp.Rational(-14, 10), 0]


def test_hinge_is_zero_exactly_at_the_margin():
    text = "parameters:\n  y: {y}\ntargets:\n  t: -1\nloss: hinge(y, t)\n"
    at = solve(loads(text.format(y=-1)))
    assert at.loss == 0 and at.gradients["y"] == 0  # the subgradient 0 at the kink
    inside = solve(loads(text.format(y="-0.5")))
    assert inside.loss == sp.Rational(1, 2) and inside.gradients["y"] == 1


def test_piecewise_functions_stay_exact():
    text = """inputs:
  x: [0.5, -1.2]
parameters:
  W: [[0.4, -0.3], [-0.8, 0.25]]
targets:
  t: [1, -1]
forward:
  h: leaky_relu(W @ x, 0.1)
  g: hardtanh(3 * h) + max(h, 0.1) + var(h) + max(h)
loss: huber(g, t, 0.5) + hinge(g, t) + nll(g, t)
"""
    sol = solve(loads(text))
    assert isinstance(sol.loss, sp.Rational)
    assert all(isinstance(e, sp.Rational) for e in sol.gradients["W"])


def test_norm_has_no_derivative_at_zero(tmp_path):
    f = tmp_path / "norm0.yaml"
    f.write_text("parameters:\n  v: [0, 0]\ntargets:\n  t: 1\nforward:\n  y: norm(v)\nloss: sse(y, t)\n")
    out = subprocess.run([sys.executable, "-m", "backprop_tutor", "solve", str(f)], capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "norm(v) has no derivative at v = 0" in lines[0] and "norm0.yaml" in lines[0]


def test_new_function_names_stay_free_as_names():
    text = """inputs:
  x: 2
parameters:
  max: 0.5
  var: -1
targets:
  t: 1
forward:
  norm: max * x + var
  y: max(norm, leaky_relu(norm, 0.1))
loss: sse(y, t)
"""
    sol = solve(loads(text))
    assert sol.values["norm"] == 0 and sol.gradients["max"] == -4


def test_the_old_function_names_stay_reserved():
    with pytest.raises(Exception, match="'relu' is the name of a function"):
        loads("parameters:\n  relu: 1\ntargets:\n  t: 1\nforward:\n  y: relu * 2\nloss: sse(y, t)\n")


def test_a_constant_parameter_must_be_a_number():
    with pytest.raises(Exception, match="the a of leaky_relu must be a number"):
        solve(loads("parameters:\n  z: 1\n  a: 0.1\ntargets:\n  t: 1\nforward:\n  y: leaky_relu(z, a)\nloss: sse(y, t)\n"))
    with pytest.raises(Exception, match="leaky_relu takes 2 arguments"):
        solve(loads("parameters:\n  z: 1\ntargets:\n  t: 1\nforward:\n  y: leaky_relu(z)\nloss: sse(y, t)\n"))


def test_an_unknown_function_is_not_offered_a_distant_name():
    with pytest.raises(Exception) as e:
        loads("parameters:\n  z: 1\ntargets:\n  t: 1\nforward:\n  y: frobnicate(z)\nloss: sse(y, t)\n")
    assert "did you mean" not in str(e.value)
    with pytest.raises(Exception, match="did you mean relu"):
        loads("parameters:\n  z: 1\ntargets:\n  t: 1\nforward:\n  y: rleu(z)\nloss: sse(y, t)\n")


def test_the_float_path_agrees_with_the_exact_engine():
    """tutor train's float path (numeric.py) on every new function and loss, against the exact values."""
    import numpy as np

    from backprop_tutor.engine import Work
    from backprop_tutor.graph import build
    from backprop_tutor.numeric import float_leaves, forward_batch, loss_and_gradients, natural

    text = """inputs:
  x: [0.5, -1.2]
  c: [0.3, -0.4, 1.1]
parameters:
  W: [[0.4, -0.3], [-0.8, 0.25], [0.7, 0.9]]
  M: [[0.2, -0.5, 1], [0.3, 0.1, -0.4]]
targets:
  t: [1, -1, 1]
  q: [0.2, 0.5, 0.3]
forward:
  z: W @ x
  h: leaky_relu(z, 0.1) + elu(z, 0.7) + silu(z) + gelu(z) + hardtanh(z) + max(z, c) + min(c, z)
  S: M.T @ M + h @ h.T
  P: softmax(S) @ c + log_softmax(S) @ c
  y: P + log_softmax(h) + max(h) + min(h) + var(h) + norm(h) + logsumexp(h)
loss: hinge(y, t) + squared_hinge(y, t) + huber(y, t, 0.5) + nll(log_softmax(y), q) + kl(q, softmax(y))
"""
    graph = build(loads(text))
    work = Work(graph, asked=set())
    leaves = float_leaves(graph)
    values = forward_batch(graph, leaves)
    for n, node in graph.nodes.items():
        exact = [float(sp.N(v, 30)) for v in (work.values[n].x if node.shape else [work.values[n].x])]
        assert np.allclose(np.ravel(natural(values[n], node.shape)), exact, rtol=1e-12, atol=1e-14), n
    loss, grads = loss_and_gradients(graph, leaves, ["W", "M"])
    assert loss == pytest.approx(float(sp.N(work.values["L"].x, 30)), rel=1e-12)
    for p in ("W", "M"):
        exact = [float(sp.N(v, 30)) for v in work.deltas[p].x]
        assert np.allclose(natural(grads[p], graph.nodes[p].shape).ravel(), exact, rtol=1e-10, atol=1e-13), p



def test_check_marks_a_file_of_the_new_functions(tmp_path):
    """tutor check recomputes the solution with classic slips made: the new functions' constant arguments
    pass through those recomputations too."""
    f = tmp_path / "leaky.yaml"
    f.write_text(LAYER.format(act="leaky_relu(z, 0.1)"), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "backprop_tutor", "check", str(f), "--answer", "L=5", "--no-color"],
                         capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    assert "wrong" in out.stdout and "Traceback" not in out.stderr
