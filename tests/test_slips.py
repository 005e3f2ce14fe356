"""slips.py: each classic slip recomputed exactly, checked against the slip worked out by hand here
(plain Fractions and floats, or a published number), and only where it applies."""
from __future__ import annotations

import math
from fractions import Fraction as F
from pathlib import Path

import pytest
import sympy as sp

from backprop_tutor.datasets import solvable
from backprop_tutor.engine import Work
from backprop_tutor.graph import build
from backprop_tutor.problem import load
from backprop_tutor.slips import Slip, Slipped, slipped

PROBLEMS = Path(__file__).resolve().parent.parent / "problems"


def solved(name):
    work = Work(build(solvable(load(PROBLEMS / f"{name}.yaml"))))
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
    s = only(found, "no_activation_derivative", "relu′(Zᵢₙ)").work
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
    # exercise3_sigmoid by hand: h = σ(x W1 + b1), y = h W2 + b2, L = ½ (y − t)²; the ½ forgotten: 2 (y − t)
    real, found = solved("exercise3_sigmoid")
    s = only(found, "squared_error_factor", "½").work
    x, w1, b1, w2, b2, t = [1, 2], [[0.1, 0.2], [0.3, 0.4]], [0.5, 0.5], [0.5, 0.7], 0.1, 1
    h = [1 / (1 + math.exp(-(x[0] * w1[0][j] + x[1] * w1[1][j] + b1[j]))) for j in range(2)]
    dy = 2 * (h[0] * w2[0] + h[1] * w2[1] + b2 - t)
    dz = [dy * w2[j] * h[j] * (1 - h[j]) for j in range(2)]
    assert entries(s.deltas["y"].x) == pytest.approx([dy], rel=1e-12)
    assert entries(s.deltas["W2"].x) == pytest.approx([dy * h[0], dy * h[1]], rel=1e-12)
    assert entries(s.deltas["b2"].x) == pytest.approx([dy], rel=1e-12)
    assert entries(s.deltas["W1"].x) == pytest.approx([x[i] * dz[j] for i in range(2) for j in range(2)], rel=1e-12)
    assert entries(real.deltas["y"].x) == pytest.approx([dy / 2], rel=1e-12)


def test_pre_activation_for_post_activation():
    real, found = solved("ws24_sheet4_ex1")
    s = only(found, "pre_for_post_activation", "Zᵢₙ used for Zₒᵤₜ").work
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
    s = only(found, "post_for_pre_activation", "in δ(netₒ₁)").work
    o1 = float(real.values["out_o1"].x)
    h1 = float(real.values["out_h1"].x)
    slope = sig(o1) * (1 - sig(o1))                        # σ′(out_o1) where σ′(net_o1) belongs
    assert float(s.deltas["net_o1"].x) == pytest.approx((o1 - 0.01) * slope, rel=1e-12)
    assert float(s.deltas["w5"].x) == pytest.approx((o1 - 0.01) * slope * h1, rel=1e-12)
    assert s.deltas["w7"].x == real.deltas["w7"].x and s.deltas["net_o2"].x == real.deltas["net_o2"].x


# -- the update ---------------------------------------------------------------------------------------
def grads_ex1():
    """∂L/∂u, ∂L/∂c, ∂L/∂v, ∂L/∂d of ws24_sheet4_ex1 by hand."""
    delta_zin = [V[i] * DA * (1 if Z_IN[i] > 0 else 0) for i in range(2)]
    return ([[delta_zin[i] * X[j] for j in range(2)] for i in range(2)], delta_zin,
            [DA * z for z in Z_OUT], DA)


def stepped(rate, gu, gc, gv, gd):
    u = [[U[i][j] - rate * gu[i][j] for j in range(2)] for i in range(2)]
    return u, [C[i] - rate * gc[i] for i in range(2)], [V[i] - rate * gv[i] for i in range(2)], D - rate * gd


@pytest.mark.parametrize("key, rate", [("update_sign_flipped", -LR), ("learning_rate_left_out", F(1))])
def test_update_slips(key, rate):
    real, found = solved("ws24_sheet4_ex1")
    s = only(found, key).work
    u, c, v, d = stepped(rate, *grads_ex1())
    new = s.updated_leaves()
    assert entries(new["u"]) == [e for row in u for e in row] and entries(new["c"]) == c
    assert entries(new["v"]) == v and entries(new["d"]) == [d]
    assert entries(s.loss_after(new)["L"].x) == [loss_of(u, c, v, d)]
    assert_same_except(real, s, set())                     # the gradients are right, the step is not
    one = s.updated_leaves({"v": [(1, 2)]})                # one weight alone, as an update: part asks
    assert set(one) == {"v"} and entries(one["v"]) == [V[0], v[1]]


def test_update_slips_need_a_learning_rate():
    _, found = solved("exercise3_skip_l1")                 # no learning_rate
    assert not [s for s in found if s.slip.key in ("update_sign_flipped", "learning_rate_left_out",
                                                   "updated_weights_for_deltas")]


# -- a weight index transposed ----------------------------------------------------------------------------
def test_gradient_matrix_transposed():
    real, found = solved("ws24_sheet4_ex1")
    s = only(found, "weight_index_transposed", "∂L/∂u").work
    gu, gc, gv, gd = grads_ex1()
    flipped = [[gu[j][i] for j in range(2)] for i in range(2)]
    assert entries(s.deltas["u"].x) == [e for row in flipped for e in row]
    assert entries(real.deltas["u"].x) == [e for row in gu for e in row]
    assert_same_except(real, s, {"u"})
    u, c, v, d = stepped(LR, flipped, gc, gv, gd)
    assert entries(s.loss_after(s.updated_leaves())["L"].x) == [loss_of(u, c, v, d)]
    assert not [x for x in found if "∂L/∂v" in x.slip.says]   # v is 1×2: no transposed gradient to subtract


# sheet12_p2: y = relu(x W1) W2 (xW layout), L = Σ (y − z)², no biases
X2, Z2 = [F(1), F(-1)], [F("-0.2"), F("0.5")]
W1 = [[F("0.5"), F("0.3")], [F("-0.2"), F("0.1")]]
W2 = [[F("0.4"), F("-0.3")], [F("0.6"), F("0.2")]]


def row_times(x, w):
    return [sum(x[i] * w[i][j] for i in range(2)) for j in range(2)]


def test_w_delta_for_w_transposed_delta():
    real, found = solved("sheet12_p2")
    s = only(found, "weight_index_transposed", "W₂·δ").work
    s1 = row_times(X2, W1)
    h = [max(v, F(0)) for v in s1]
    dy = [2 * (a - b) for a, b in zip(row_times(h, W2), Z2)]
    right = [sum(W2[i][j] * dy[j] for j in range(2)) for i in range(2)]    # ∂L/∂h = W2 δ (xW layout)
    wrong = [sum(W2[j][i] * dy[j] for j in range(2)) for i in range(2)]    # the index transposed
    assert entries(real.deltas["h1"].x) == right and entries(s.deltas["h1"].x) == wrong
    ds = [wrong[i] * (1 if s1[i] > 0 else 0) for i in range(2)]
    assert entries(s.deltas["W1"].x) == [X2[i] * ds[j] for i in range(2) for j in range(2)]
    assert_same_except(real, s, {"h1", "s1", "W1"})


def test_no_transposed_slip_in_a_network_of_scalars():
    _, found = solved("mazur_step_by_step")
    assert not [s for s in found if s.slip.key == "weight_index_transposed"]


# -- the bias gradient multiplied by an input, and a path left out ----------------------------------------
# exercise3_skip_l1: x = 2; z0 = w0 x + b0, h0 = relu(z0); z1 = w1 h0 + b1, h1 = relu(z1);
# y = z2 = w2 h1 + w3 h0 + b2; L = |y − ŷ|, ŷ = 3
XS, W0S, B0S, W1S, B1S, W2S, W3S, B2S, YH = 2, F("0.5"), F("0.5"), 2, -1, F("1.5"), -1, F("0.5"), 3
Z0S = W0S * XS + B0S
H0S = max(Z0S, 0)
Z1S = W1S * H0S + B1S
H1S = max(Z1S, 0)
Z2S = W2S * H1S + W3S * H0S + B2S
DZ2 = 1 if Z2S > YH else -1                                  # sign(y − ŷ)


def test_bias_gradient_times_input():
    real, found = solved("exercise3_skip_l1")
    s = only(found, "bias_gradient_times_input", "b₂ multiplied by h₁").work
    assert entries(s.deltas["b2"].x) == [DZ2 * H1S] and entries(real.deltas["b2"].x) == [DZ2]
    assert_same_except(real, s, {"b2"})
    s0 = only(found, "bias_gradient_times_input", "b₀").work
    dh0 = DZ2 * W2S * (1 if Z1S > 0 else 0) * W1S + DZ2 * W3S
    dz0 = dh0 * (1 if Z0S > 0 else 0)
    assert entries(s0.deltas["b0"].x) == [dz0 * XS] and entries(real.deltas["b0"].x) == [dz0]


def test_no_bias_slip_without_biases():
    _, found = solved("sheet12_p2")
    assert not [s for s in found if s.slip.key == "bias_gradient_times_input"]


@pytest.mark.parametrize("through", ["z₁", "z₂"])
def test_second_path_left_out(through):
    real, found = solved("exercise3_skip_l1")
    s = only(found, "second_path_left_out", f"through {through}").work
    via_z1 = DZ2 * W2S * (1 if Z1S > 0 else 0) * W1S
    via_z2 = DZ2 * W3S
    dh0 = via_z2 if through == "z₁" else via_z1               # the other path's term only
    assert entries(s.deltas["h0"].x) == [dh0] and entries(real.deltas["h0"].x) == [via_z1 + via_z2]
    assert entries(s.deltas["w0"].x) == [dh0 * (1 if Z0S > 0 else 0) * XS]
    assert_same_except(real, s, {"h0", "z0", "w0", "b0"})


def test_no_path_slip_without_a_node_of_two_users():
    _, found = solved("ws24_sheet4_ex1")
    assert not [s for s in found if s.slip.key == "second_path_left_out"]


# -- Mazur: the published numbers, and the slip behind the published error after the update ---------------
MAZUR = {"net_h1": 0.3775, "out_h1": 0.593269992, "out_h2": 0.596884378, "out_o1": 0.75136507,
         "out_o2": 0.772928465, "L": 0.298371109}
MAZUR_UPDATED = {"w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121,
                 "w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229}


def test_mazur_published_numbers():
    real, _ = solved("mazur_step_by_step")
    for name, published in MAZUR.items():
        assert float(real.values[name].x) == pytest.approx(published, abs=5e-9), name
    assert float(real.deltas["w5"].x) == pytest.approx(0.082167041, abs=5e-10)
    assert float(real.deltas["w1"].x) == pytest.approx(0.000438568, abs=5e-10)
    new = real.updated_leaves()
    for name, published in MAZUR_UPDATED.items():
        assert float(new[name]) == pytest.approx(published, abs=5e-9), name
    assert "b1" not in new and "b2" not in new                                       # the post keeps its biases
    assert round(float(real.loss_after(new)["L"].x), 9) == 0.291027774            # the exact value


def test_mazur_published_error_after_is_the_updated_weights_slip():
    real, found = solved("mazur_step_by_step")
    s = only(found, "updated_weights_for_deltas").work
    new = s.updated_leaves()
    assert round(float(s.loss_after(new)["L"].x), 9) == 0.291027924              # the post's number
    for name in ("w5", "w6", "w7", "w8"):                                          # the output layer is right
        assert s.deltas[name].x == real.deltas[name].x
    # the hidden deltas by hand with w5..w8 already updated
    o1, o2, h1 = (float(real.values[n].x) for n in ("out_o1", "out_o2", "out_h1"))
    d1, d2 = (o1 - 0.01) * o1 * (1 - o1), (o2 - 0.99) * o2 * (1 - o2)
    w5, w7 = 0.4 - 0.5 * d1 * h1, 0.5 - 0.5 * d2 * h1
    assert float(s.deltas["w1"].x) == pytest.approx((d1 * w5 + d2 * w7) * h1 * (1 - h1) * 0.05, rel=1e-12)
    assert float(s.deltas["w1"].x) != pytest.approx(float(real.deltas["w1"].x), rel=1e-6)


# -- every bundled problem ------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(PROBLEMS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_problem(path):
    problem = load(path)
    real = None
    for s in slipped(problem):
        if real is None:
            real = Work(build(solvable(problem)))
        w = s.work
        changed = any(w.deltas[n].x != d.x for n, d in real.deltas.items())
        if problem.learning_rate is not None:
            new, right = w.updated_leaves(), real.updated_leaves()
            changed = changed or new != right or w.loss_after(new)["L"].x != real.loss_after(right)["L"].x
        assert changed, s.slip
        for n, d in w.deltas.items():                     # exact, never a float made from a rational
            assert not isinstance(real.deltas[n].x, sp.Rational) or isinstance(d.x, sp.Rational), (s.slip, n)


# -- over several samples, and a loss written out ----------------------------------------------------------
def test_a_slip_over_several_samples_is_made_in_every_sample():
    real, found = solved("ws24_sheet4_train")
    assert not [s for s in found if "^(" in s.slip.says]
    s = only(found, "no_activation_derivative", "relu′(Zᵢₙ)").work
    samples = real.g.problem.samples
    assert samples >= 2 and "every sample" in only(found, "no_activation_derivative").slip.says
    total = None
    for k in range(1, samples + 1):                      # relu′ as 1: δ(Z_in) is δ(Z_out), in each sample
        above = entries(real.deltas[f"Z_out^({k})"].x)
        assert entries(s.deltas[f"Z_in^({k})"].x) == above
        total = above if total is None else [a + b for a, b in zip(total, above)]
    assert entries(s.deltas["c"].x) == total             # ∂L/∂c sums the samples' δ(Z_in)


WRITTEN = """
inputs: {x: 2}
parameters: {w: 3}
targets: {t: 1}
forward:
  y: w * x
loss: 0.5 * (y - t) ** 2
learning_rate: 0.1
"""


def test_a_squared_error_written_out():
    from backprop_tutor.problem import loads
    found = slipped(loads(WRITTEN, "written.yaml"))
    y, t, x = F(6), F(1), F(2)
    dropped = only(found, "squared_error_factor", "factor 2").work    # ½ (y − t) for ½ · 2 (y − t)
    forgotten = only(found, "squared_error_factor", "½").work         # 2 (y − t)
    assert entries(dropped.deltas["w"].x) == [(y - t) / 2 * x]
    assert entries(forgotten.deltas["w"].x) == [2 * (y - t) * x]
    assert entries(forgotten.updated_leaves()["w"]) == [3 - F("0.1") * 2 * (y - t) * x]


@pytest.mark.parametrize("name", ["sheet2_ex1", "sheet2_ex3", "sheet12_p1_and"])
def test_no_slips_without_numbers_to_compare(name):
    # sheet2_ex1 and sheet12_p1_and have no loss; sheet2_ex3 leaves its values as symbols
    assert slipped(load(PROBLEMS / f"{name}.yaml")) == []
