"""The bundled sheets against their published answers and against independent oracles.

Every oracle here is written from the mathematics alone: plain Python lists with
fractions.Fraction (or mpmath at 50 digits for sigmoid), the data read from the YAML file
with yaml.safe_load, nothing from backprop_tutor's internals.
"""
from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
import sympy as sp
import yaml
from rich.console import Console

from backprop_tutor import load, solve
from backprop_tutor.solution import Gradient, LossValue, Update

PROBLEMS = Path(__file__).resolve().parent.parent / "problems"


# -- helpers: plain-list linear algebra over Fractions ------------------------------------------

def frac(v) -> Fraction:
    """A YAML number as the exact decimal it was written as."""
    return Fraction(str(v))


def vec(v) -> list:
    return [frac(x) for x in v]


def mat(m) -> list:
    return [[frac(x) for x in row] for row in m]


def matvec(W, x):
    """W x for W given as rows."""
    return [sum((w * xi for w, xi in zip(row, x)), Fraction(0)) for row in W]


def transpose(W):
    return [list(col) for col in zip(*W)]


def outer(a, b):
    return [[ai * bj for bj in b] for ai in a]


def relu(v):
    return [x if x > 0 else Fraction(0) for x in v]


def step(v):
    return [Fraction(1) if x > 0 else Fraction(0) for x in v]


def hadamard(a, b):
    return [x * y for x, y in zip(a, b)]


def to_fraction(x) -> Fraction:
    """A SymPy value as a Fraction; it must be an exact Rational."""
    x = sp.sympify(x)
    assert x.is_Rational, f"expected an exact rational, got {x!r} ({type(x).__name__})"
    return Fraction(int(x.p), int(x.q))


def as_lists(value, shape):
    """A Solution value in plain nested lists of Fractions, in its own shape."""
    if shape == ():
        if isinstance(value, sp.MatrixBase):
            assert value.shape == (1, 1)
            value = value[0, 0]
        return to_fraction(value)
    if len(shape) == 1:
        assert value.shape == (shape[0], 1), (value.shape, shape)
        return [to_fraction(v) for v in value]
    assert value.shape == shape, (value.shape, shape)
    return [[to_fraction(value[i, j]) for j in range(shape[1])] for i in range(shape[0])]


def raw(name):
    return yaml.safe_load((PROBLEMS / name).read_text(encoding="utf-8"))


# -- WS24 Sheet 4, Exercise 1: the published answers --------------------------------------------

@pytest.fixture(scope="module")
def ws24():
    return solve(load(PROBLEMS / "ws24_sheet4_ex1.yaml"), verify=False)


def test_ws24_published_forward_values_exact(ws24):
    R = sp.Rational
    assert ws24.values["Z_in"] == sp.ImmutableMatrix([R(-9, 10), R(3, 2)])
    assert ws24.values["Z_out"] == sp.ImmutableMatrix([0, R(3, 2)])
    for name in ("Z_in", "Z_out"):
        assert all(v.is_Rational for v in ws24.values[name]), name
    # A = 1.7: before and after the linear activation
    for name in ("A_in", "A_out"):
        assert as_lists(ws24.values[name], ws24.shapes[name]) == [Fraction(17, 10)]


def test_ws24_published_loss_exact(ws24):
    assert ws24.loss.is_Rational
    assert ws24.loss == sp.Rational(9, 100)
    assert ws24.values["L"] == sp.Rational(9, 100)


# -- DNN Assignment 9, Question 3: a hand-written forward and backward pass ---------------------

def dnn_oracle(d):
    """Forward and backward pass of y = W3 relu(W1 x) + relu(W2 x), L = ½‖y − ŷ‖², by hand."""
    W1, W2, W3 = (mat(d["parameters"][k]) for k in ("W1", "W2", "W3"))
    x, y_hat = vec(d["inputs"]["x"]), vec(d["targets"]["y_hat"])
    f = {}
    f["u1"] = matvec(W1, x)
    f["z1"] = relu(f["u1"])
    f["u2"] = matvec(W2, x)
    f["z2"] = relu(f["u2"])
    f["u3"] = matvec(W3, f["z1"])
    f["y"] = [a + b for a, b in zip(f["u3"], f["z2"])]
    L = sum(((yi - ti) ** 2 for yi, ti in zip(f["y"], y_hat)), Fraction(0)) / 2

    # backward, from the loss to the weights:
    #   ∂L/∂y  = y − ŷ
    #   y = u3 + z2      ⇒ ∂L/∂u3 = ∂L/∂y,  ∂L/∂z2 = ∂L/∂y
    #   z2 = relu(u2)    ⇒ ∂L/∂u2 = ∂L/∂z2 ⊙ step(u2)
    #   u3 = W3 z1       ⇒ ∂L/∂z1 = W3ᵀ ∂L/∂u3,  ∂L/∂W3 = ∂L/∂u3 z1ᵀ
    #   z1 = relu(u1)    ⇒ ∂L/∂u1 = ∂L/∂z1 ⊙ step(u1)
    #   u1 = W1 x        ⇒ ∂L/∂W1 = ∂L/∂u1 xᵀ
    #   u2 = W2 x        ⇒ ∂L/∂W2 = ∂L/∂u2 xᵀ
    dl = {}
    dl["y"] = [yi - ti for yi, ti in zip(f["y"], y_hat)]
    dl["u3"] = list(dl["y"])
    dl["z2"] = list(dl["y"])
    dl["u2"] = hadamard(dl["z2"], step(f["u2"]))
    dl["z1"] = matvec(transpose(W3), dl["u3"])
    dl["u1"] = hadamard(dl["z1"], step(f["u1"]))
    grads = {"W1": outer(dl["u1"], x), "W2": outer(dl["u2"], x), "W3": outer(dl["u3"], f["z1"])}
    return f, L, dl, grads, {"W1": W1, "W2": W2, "W3": W3}, x, y_hat


@pytest.fixture(scope="module")
def dnn():
    d = raw("dnn_a9_q3.yaml")
    return d, dnn_oracle(d), solve(load(PROBLEMS / "dnn_a9_q3.yaml"), verify=False)


def test_dnn_oracle_is_not_trivial(dnn):
    _, (f, L, dl, grads, *_), _ = dnn
    # the oracle must exercise both paths to the loss and a non-zero loss
    assert L > 0
    assert any(g != 0 for row in grads["W2"] for g in row)
    assert any(g != 0 for row in grads["W1"] for g in row)


def test_dnn_forward_values_exact(dnn):
    _, (f, L, *_), sol = dnn
    assert set(f) <= set(sol.values)
    for name, expected in f.items():
        assert as_lists(sol.values[name], sol.shapes[name]) == expected, name
    assert to_fraction(sol.loss) == L
    assert to_fraction(sol.values["L"]) == L


def test_dnn_every_delta_exact(dnn):
    _, (f, L, dl, *_), sol = dnn
    assert set(sol.deltas) == set(f), "a delta for every forward node and only those"
    for name, expected in dl.items():
        assert as_lists(sol.deltas[name], sol.shapes[name]) == expected, name


def test_dnn_every_gradient_exact(dnn):
    _, (f, L, dl, grads, *_), sol = dnn
    assert set(sol.gradients) == {"W1", "W2", "W3"}
    for name, expected in grads.items():
        assert sol.shapes[name] == (len(expected), len(expected[0]))
        assert as_lists(sol.gradients[name], sol.shapes[name]) == expected, name


def test_dnn_update_and_loss_after(dnn):
    d, (f, L, dl, grads, W, x, y_hat), sol = dnn
    lr = frac(d["learning_rate"])
    new = {k: [[w - lr * g for w, g in zip(wr, gr)] for wr, gr in zip(W[k], grads[k])] for k in W}
    for k in W:
        assert as_lists(sol.updated[k], sol.shapes[k]) == new[k], k
    y = [a + b for a, b in zip(matvec(new["W3"], relu(matvec(new["W1"], x))), relu(matvec(new["W2"], x)))]
    L_after = sum(((yi - ti) ** 2 for yi, ti in zip(y, y_hat)), Fraction(0)) / 2
    assert to_fraction(sol.loss_after) == L_after
    assert L_after < L


# -- Exercise 3: the sigmoid network at 50 digits ------------------------------------------------

def mpf(v):
    q = frac(v)
    return mpmath.mpf(q.numerator) / q.denominator


def test_exercise3_sigmoid_against_mpmath():
    d = raw("exercise3_sigmoid.yaml")
    sol = solve(load(PROBLEMS / "exercise3_sigmoid.yaml"), verify=False)
    net = d["network"]
    assert net["layout"] == "xW"
    l1, l2 = net["layers"]
    with mpmath.workdps(50):
        x = [mpf(v) for v in d["inputs"]["x"]]
        W1 = [[mpf(v) for v in row] for row in l1["weights"]]
        b1 = [mpf(v) for v in l1["bias"]]
        W2 = [[mpf(v) for v in row] for row in l2["weights"]]
        b2 = [mpf(l2["bias"])] * len(W2[0])
        t = mpf(d["targets"]["t"])
        # xW layout: z_j = Σ_i x_i W[i][j] + b_j
        z1 = [sum(x[i] * W1[i][j] for i in range(len(x))) + b1[j] for j in range(len(W1[0]))]
        h1 = [1 / (1 + mpmath.exp(-z)) for z in z1]
        y = [sum(h1[i] * W2[i][j] for i in range(len(h1))) + b2[j] for j in range(len(W2[0]))]
        L = sum((yi - t) ** 2 for yi in y) / 2
        dy = [yi - t for yi in y]                                               # ∂L/∂y
        gW2 = [[h1[i] * dy[j] for j in range(len(dy))] for i in range(len(h1))]  # ∂L/∂W2[i][j] = h_i δy_j
        gb2 = dy
        dh1 = [sum(W2[i][j] * dy[j] for j in range(len(dy))) for i in range(len(h1))]
        dz1 = [dh1[j] * h1[j] * (1 - h1[j]) for j in range(len(h1))]           # σ′ = σ(1 − σ)
        gW1 = [[x[i] * dz1[j] for j in range(len(dz1))] for i in range(len(x))]
        gb1 = dz1

        def close(got, want, what):
            got = mpmath.mpf(str(sp.Float(got, 45)))
            assert abs(got - want) <= mpmath.mpf("1e-25") * abs(want), f"{what}: {got} != {want}"

        def close_all(value, expected, what):
            flat_expected = [v for row in expected for v in row] if isinstance(expected[0], list) else expected
            flat_value = list(value) if isinstance(value, sp.MatrixBase) else [value]
            assert len(flat_value) == len(flat_expected), what
            for k, (g, w) in enumerate(zip(flat_value, flat_expected)):
                close(g, w, f"{what}[{k}]")

        close_all(sol.values["z1"], z1, "z1")
        close_all(sol.values["h1"], h1, "h1")
        close_all(sol.values["y"], y, "y")
        close(sol.loss, L, "L")
        close_all(sol.gradients["W2"], gW2, "dL/dW2")
        close_all(sol.gradients["b2"], gb2, "dL/db2")
        close_all(sol.gradients["W1"], gW1, "dL/dW1")
        close_all(sol.gradients["b1"], gb1, "dL/db1")


# -- Sheet 12, Problem 2 (c)-(f): element gradients, element updates, the loss after -------------

def sheet12_forward(W1, W2, x, z):
    """xW layout: hidden = relu(W1ᵀ x), y = W2ᵀ hidden, L = Σ (y − z)²."""
    u = matvec(transpose(W1), x)
    h = relu(u)
    y = matvec(transpose(W2), h)
    L = sum(((yi - zi) ** 2 for yi, zi in zip(y, z)), Fraction(0))
    return u, h, y, L


@pytest.fixture(scope="module")
def sheet12():
    d = raw("sheet12_p2.yaml")
    l1, l2 = d["network"]["layers"]
    W1, W2 = mat(l1["weights"]), mat(l2["weights"])
    x, z = vec(d["inputs"]["x"]), vec(d["targets"]["z"])
    u, h, y, L = sheet12_forward(W1, W2, x, z)
    dy = [2 * (yi - zi) for yi, zi in zip(y, z)]                 # ∂L/∂y = 2(y − z)
    gW2 = outer(h, dy)                                           # ∂L/∂W2[i][j] = h_i δy_j
    dh = matvec(W2, dy)                                          # ∂L/∂h_i = Σ_j W2[i][j] δy_j
    du = hadamard(dh, step(u))
    gW1 = outer(x, du)                                           # ∂L/∂W1[i][j] = x_i δu_j
    sol = solve(load(PROBLEMS / "sheet12_p2.yaml"), verify=False)
    return dict(d=d, W1=W1, W2=W2, x=x, z=z, L=L, gW1=gW1, gW2=gW2, sol=sol,
                lr=frac(d["learning_rate"]))


def _part(sol, label):
    secs = [s for s in sol.sections if s.part == label]
    assert secs, f"no section for part {label!r}"
    return [step for s in secs for step in s.steps]


def test_sheet12_asked_element_gradients(sheet12):
    sol = sheet12["sol"]
    want = {(("W2", (2, 1)), "c"): sheet12["gW2"][1][0], (("W1", (1, 2)), "d"): sheet12["gW1"][0][1]}
    for ((name, index), part), expected in want.items():
        assert expected != 0, "the stand-in weights were chosen so that the asked gradients are not zero"
        steps = [s for s in _part(sol, part) if isinstance(s, Gradient) and s.index is not None]
        assert len(steps) == 1, f"part {part} shows one element gradient"
        g = steps[0]
        assert (g.name, tuple(g.index)) == (name, index)
        assert to_fraction(g.value) == expected, f"part {part}: ∂L/∂{name}{list(index)}"
    # and the whole-matrix gradients agree with the oracle too
    assert as_lists(sol.gradients["W1"], sol.shapes["W1"]) == sheet12["gW1"]
    assert as_lists(sol.gradients["W2"], sol.shapes["W2"]) == sheet12["gW2"]


def test_sheet12_part_e_updates_only_the_two_weights(sheet12):
    sol, lr = sheet12["sol"], sheet12["lr"]
    ups = [s for s in _part(sol, "e") if isinstance(s, Update)]
    assert {(u.name, tuple(u.index)) for u in ups} == {("W2", (2, 1)), ("W1", (1, 2))}
    expected = {("W2", (2, 1)): sheet12["W2"][1][0] - lr * sheet12["gW2"][1][0],
                ("W1", (1, 2)): sheet12["W1"][0][1] - lr * sheet12["gW1"][0][1]}
    for u in ups:
        key = (u.name, tuple(u.index))
        assert to_fraction(u.new) == expected[key], key
        assert to_fraction(u.rate) == lr


def test_sheet12_part_f_loss_with_two_updated_weights(sheet12):
    sol, lr = sheet12["sol"], sheet12["lr"]
    W1 = [row[:] for row in sheet12["W1"]]
    W2 = [row[:] for row in sheet12["W2"]]
    W2[1][0] -= lr * sheet12["gW2"][1][0]
    W1[0][1] -= lr * sheet12["gW1"][0][1]
    *_, L_partial = sheet12_forward(W1, W2, sheet12["x"], sheet12["z"])
    losses = [s for s in _part(sol, "f") if isinstance(s, LossValue)]
    assert len(losses) == 1
    assert to_fraction(losses[0].value) == L_partial
    assert L_partial != sheet12["L"]
    # the full update (every weight) is a different number, and the JSON's loss_after is that one
    full_W1 = [[w - lr * g for w, g in zip(a, b)] for a, b in zip(sheet12["W1"], sheet12["gW1"])]
    full_W2 = [[w - lr * g for w, g in zip(a, b)] for a, b in zip(sheet12["W2"], sheet12["gW2"])]
    *_, L_full = sheet12_forward(full_W1, full_W2, sheet12["x"], sheet12["z"])
    assert to_fraction(sol.loss_after) == L_full


def test_sheet12_loss_part_b(sheet12):
    sol = sheet12["sol"]
    losses = [s for s in _part(sol, "b") if isinstance(s, LossValue)]
    assert [to_fraction(s.value) for s in losses] == [sheet12["L"]]


def test_sheet12_terminal_says_the_weights_are_stand_ins(sheet12):
    from backprop_tutor.render.terminal import print_solution
    buf = io.StringIO()
    print_solution(sheet12["sol"], Console(width=80, file=buf, no_color=True))
    text = buf.getvalue().lower()
    assert "stand-in" in text
    assert "weights" in text
