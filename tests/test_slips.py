"""slips.py: each classic slip recomputed exactly, checked against the slip worked out by hand here
(plain Fractions and floats, or a published number), and only where it applies."""
from __future__ import annotations

import math
from fractions import Fraction as F
from pathlib import Path

import pytest
import sympy as sp

from backprop_tutor.engine import Work
from backprop_tutor.graph import build
from backprop_tutor.problem import load
from backprop_tutor.slips import Slip, Slipped, slipped

PROBLEMS = Path(__file__).resolve().parent.parent / "problems"


def solved(name):
    work = Work(build(load(PROBLEMS / f"{name}.yaml")))
    return work, slipped(load(PROBLEMS / f"{name}.yaml"))


def only(found, key, text=""):
    """The one slip with this key whose line names `text`."""
    hits = [s for s in found if s.slip.key == key and text in s.slip.says]
    assert len(hits) == 1, [s.slip for s in found if s.slip.key == key]
    return hits[0]


def entries(x):
    """A value as a flat list of Fractions (exact values) or floats (irrational ones)."""
    items = list(x) if isinstance(x, sp.MatrixBase) else [x]
    return [F(str(v)) if isinstance(v, sp.Rational) else float(v) for v in items]


def assert_same_except(real, slip, changed):
    """Every delta and gradient the same as the real one's, except those named."""
    for name, d in real.deltas.items():
        if name not in changed:
            assert slip.deltas[name].x == d.x, name


# -- the 2-2-1 ReLU network of ws24_sheet4_ex1, worked out by hand -----------------------------------
# u = [[-0.7, 0.2], [0.9, 0.5]], x = [1, 1], c = [-0.4, 0.1], v = [-0.2, 0.6], d = 0.8, target 2,
# L = (A - 2)^2, learning rate 0.1.
U = [[F("-0.7"), F("0.2")], [F("0.9"), F("0.5")]]
X, C, V, D, Y, LR = [F(1), F(1)], [F("-0.4"), F("0.1")], [F("-0.2"), F("0.6")], F("0.8"), F(2), F("0.1")
Z_IN = [sum(U[i][j] * X[j] for j in range(2)) + C[i] for i in range(2)]
Z_OUT = [max(z, F(0)) for z in Z_IN]
A = sum(V[i] * Z_OUT[i] for i in range(2)) + D
DA = 2 * (A - Y)                         # ∂L/∂A of (A − y)²


def loss_of(u, c, v, d):
    z = [max(sum(u[i][j] * X[j] for j in range(2)) + c[i], F(0)) for i in range(2)]
    return (sum(v[i] * z[i] for i in range(2)) + d - Y) ** 2


def test_the_hand_computation_is_the_sheets():
    assert Z_IN == [F("-0.9"), F("1.5")] and A == F("1.7")


def test_every_slip_is_a_slip_with_a_work():
    _, found = solved("ws24_sheet4_ex1")
    assert found and all(isinstance(s, Slipped) and isinstance(s.slip, Slip) and s.slip.says for s in found)


def test_activation_derivative_left_out():
    real, found = solved("ws24_sheet4_ex1")
    s = only(found, "no_activation_derivative", "relu′(Z_in)").work
    delta_zout = [V[i] * DA for i in range(2)]
    assert entries(s.deltas["Z_in"].x) == delta_zout       # relu′ taken as 1: δ_Zin = δ_Zout
    assert entries(s.deltas["u"].x) == [delta_zout[i] * X[j] for i in range(2) for j in range(2)]
    assert entries(s.deltas["c"].x) == delta_zout
    assert_same_except(real, s, {"Z_in", "u", "c"})
    assert entries(real.deltas["Z_in"].x) != delta_zout     # the real relu′(−0.9) = 0


def test_activation_derivative_slip_is_absent_where_it_changes_nothing():
    # both ReLUs of exercise3_skip_l1 are active: relu′ = 1, so leaving it out is no slip there
    _, found = solved("exercise3_skip_l1")
    assert not [s for s in found if s.slip.key == "no_activation_derivative"]


def test_factor_two_of_the_squared_error_dropped():
    real, found = solved("ws24_sheet4_ex1")
    s = only(found, "squared_error_factor", "factor 2").work
    da = A - Y                                             # the 2 of 2(A − y) dropped
    assert entries(s.deltas["v"].x) == [da * z for z in Z_OUT]
    assert entries(s.deltas["d"].x) == [da]
    assert entries(s.deltas["A_in"].x) == [da]
    delta_zin = [V[i] * da * (1 if Z_IN[i] > 0 else 0) for i in range(2)]
    assert entries(s.deltas["u"].x) == [delta_zin[i] * X[j] for i in range(2) for j in range(2)]
    assert {n: v.x for n, v in s.values.items()} == {n: v.x for n, v in real.values.items()}
    assert not [x for x in found if "½" in x.slip.says]    # an sse has no ½ to forget


def test_the_half_forgotten_doubles_the_slope():
    real, found = solved("exercise3_sigmoid")
    s = only(found, "squared_error_factor", "½").work
    for name in real.deltas:                               # every delta is doubled, nothing else changes
        assert entries(s.deltas[name].x) == pytest.approx([2 * v for v in entries(real.deltas[name].x)], rel=1e-30)


def test_pre_activation_for_post_activation():
    real, found = solved("ws24_sheet4_ex1")
    s = only(found, "pre_for_post_activation", "Z_in used for Z_out").work
    assert entries(s.deltas["v"].x) == [DA * z for z in Z_IN]   # δ·Z_inᵀ for δ·Z_outᵀ
    assert entries(real.deltas["v"].x) == [DA * z for z in Z_OUT]
    assert_same_except(real, s, {"v"})


def test_pre_for_post_is_absent_through_an_active_relu():
    # z1 = w1 h0 + b1 with h0 = relu(z0) and z0 > 0: h0 = z0, the slip changes nothing
    _, found = solved("exercise3_skip_l1")
    assert not [s for s in found if s.slip.key == "pre_for_post_activation"]


# -- Matt Mazur's "A Step by Step Backpropagation Example" ------------------------------------------
def sig(z):
    return 1 / (1 + math.exp(-z))


def test_post_activation_for_pre_activation():
    real, found = solved("mazur_step_by_step")
    s = only(found, "post_for_pre_activation", "in δ(net_o1)").work
    o1 = float(real.values["out_o1"].x)
    h1 = float(real.values["out_h1"].x)
    slope = sig(o1) * (1 - sig(o1))                        # σ′(out_o1) where σ′(net_o1) belongs
    assert float(s.deltas["net_o1"].x) == pytest.approx((o1 - 0.01) * slope, rel=1e-12)
    assert float(s.deltas["w5"].x) == pytest.approx((o1 - 0.01) * slope * h1, rel=1e-12)
    assert s.deltas["w7"].x == real.deltas["w7"].x and s.deltas["net_o2"].x == real.deltas["net_o2"].x
