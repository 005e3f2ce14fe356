"""Numbers at the edges: large logits, 0·log 0, untrained inputs, z ** 0, elementwise powers,
runaway magnitudes and JSON that stays JSON.

Every expected value is computed here, independently of the engine: closed forms, the textbook
formula evaluated by mpmath with as many digits as its cancellation needs, and finite
differences by mpmath.diff at that precision.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from backprop_tutor import ProblemError, derive, loads, solve
from backprop_tutor.render.jsonout import derivation_json, dumps

ROOT = Path(__file__).resolve().parent.parent
REL = mpmath.mpf("1e-12")


# The limits on literals in a file stop most runaway values before any work; these tests raise them
# so that what is checked is the engine's own guard, which also stops values built up step by step.
ENGINE_ONLY = {"power_tower": 10, "power": 10**10, "number_exponent": 10**4}


def solved(text: str, **options):
    return solve(loads(textwrap.dedent(text), limits=ENGINE_ONLY), **options)


def refused(text: str) -> ProblemError:
    """The error a problem stops with, and that it stops fast."""
    start = time.perf_counter()
    with pytest.raises(ProblemError) as caught:
        solved(text)
    assert time.perf_counter() - start < 1.0, "a refused value must be refused quickly"
    return caught.value


def mp(x):
    """A SymPy number as an mpmath number at the current precision."""
    return mpmath.mpf(sp.Float(sp.sympify(x), mpmath.mp.dps + 10))


def assert_rel(got, want, what=""):
    got, want = mp(got), mpmath.mpf(want)
    assert abs(got - want) <= REL * abs(want), f"{what}: {mpmath.nstr(got, 20)} != {mpmath.nstr(want, 20)}"


def digits_for(spread) -> int:
    """Enough digits for the textbook formula: log(1 − σ(z)) loses about |z|/ln 10 of them."""
    return 60 + int(abs(spread) / 2.3)


def strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


# -- bce of a sigmoid ------------------------------------------------------------------------------

def textbook_bce(z, t):
    p = 1 / (1 + mpmath.exp(-z))
    return -(t * mpmath.log(p) + (1 - t) * mpmath.log(1 - p))


LOGITS = [-1000, -800, -100, -80, -65, -30, -2, -1, 0, 1, 30, 65, 80, 100, 800, 1000]  # −2: a weight of −1


@pytest.mark.parametrize("t", ["0", "1", "0.3"])
@pytest.mark.parametrize("z", LOGITS)
def test_bce_of_a_sigmoid_is_accurate_for_large_logits(z, t):
    x = 2
    w = Fraction(z, x)
    sol = solved(f"""
        inputs: {{x: {x}}}
        parameters: {{w: "{w}", t: {t}}}
        loss: bce(sigmoid(w * x), t)
        """)
    with mpmath.workdps(digits_for(z)):
        tt = mpmath.mpf(Fraction(t).numerator) / Fraction(t).denominator
        ww = mpmath.mpf(w.numerator) / w.denominator
        assert_rel(sol.loss, textbook_bce(ww * x, tt), "loss")
        assert_rel(sol.gradients["w"], mpmath.diff(lambda v: textbook_bce(v * x, tt), ww), "dL/dw")
        assert_rel(sol.gradients["w"], (1 / (1 + mpmath.exp(-ww * x)) - tt) * x, "dL/dw closed form")
        # the target's slope: log(1 − σ(z)) − log σ(z) = −z, exactly
        assert sol.gradients["t"] == -z
        if z:
            assert_rel(sol.gradients["t"], mpmath.diff(lambda u: textbook_bce(ww * x, u), tt), "dL/dt")


@pytest.mark.parametrize("t", ["0", "1", "0.3"])
@pytest.mark.parametrize("z", [-1000, -100, 1, 65, 100, 800, 1000])
def test_bce_of_a_sigmoid_on_its_own_line_is_accurate(z, t):
    """p = σ(z) on a line of its own keeps its distance from 1, so bce(p, t) and δ_p stay right."""
    x = 2
    w = Fraction(z, x)
    sol = solved(f"""
        inputs: {{x: {x}}}
        parameters: {{w: "{w}"}}
        targets: {{t: {t}}}
        forward:
          z: w * x
          p: sigmoid(z)
        loss: bce(p, t)
        """)
    with mpmath.workdps(digits_for(z)):
        tt = mpmath.mpf(Fraction(t).numerator) / Fraction(t).denominator
        zz = mpmath.mpf(z)
        p = 1 / (1 + mpmath.exp(-zz))
        assert_rel(sol.loss, textbook_bce(zz, tt), "loss")
        assert_rel(sol.gradients["w"], (p - tt) * x, "dL/dw")
        assert_rel(sol.gradients["w"], mpmath.diff(lambda v: textbook_bce(v * x, tt), zz / x), "dL/dw by h")
        assert_rel(sol.deltas["p"], (p - tt) / (p * (1 - p)), "delta_p")


@pytest.mark.parametrize("z", [-300, -40, 0, 40, 300])
def test_one_minus_a_saturated_tanh_keeps_its_digits(z):
    sol = solved(f"""
        parameters: {{w: {z}}}
        forward:
          h: tanh(w)
        loss: log(1 - h) + log(1 + h)
        """)
    with mpmath.workdps(digits_for(2 * z)):
        zz = mpmath.mpf(z)
        assert_rel(sol.loss, mpmath.log(1 - mpmath.tanh(zz)) + mpmath.log(1 + mpmath.tanh(zz)), "loss")
        assert_rel(sol.gradients["w"], -2 * mpmath.tanh(zz), "dL/dw")


def test_bce_of_a_sigmoid_of_a_vector_with_a_scalar_target():
    sol = solved("""
        parameters: {z: [-900, 0.5, 700], t: 1}
        loss: bce(sigmoid(z), t)
        """)
    zs = [-900, Fraction(1, 2), 700]
    with mpmath.workdps(digits_for(900)):
        zz = [mpmath.mpf(v.numerator) / v.denominator if isinstance(v, Fraction) else mpmath.mpf(v) for v in zs]
        assert_rel(sol.loss, sum(textbook_bce(v, 1) for v in zz), "loss")
        for i, v in enumerate(zz):
            assert_rel(sol.gradients["z"][i], mpmath.diff(lambda u: textbook_bce(u, 1), v), f"dL/dz[{i}]")
        assert_rel(sol.gradients["t"], mpmath.diff(lambda u: sum(textbook_bce(v, u) for v in zz), 1), "dL/dt")
    assert sol.gradients["t"] == -sum(sp.Rational(v.numerator, v.denominator) if isinstance(v, Fraction) else v
                                      for v in zs)


def test_bce_of_a_sigmoid_with_closed_forms_at_a_large_logit():
    text = """
        inputs: {x: 1}
        parameters: {w: 800}
        targets: {t: 0}
        loss: bce(sigmoid(w * x), t)
        """
    plain, closed = solved(text), solved(text, closed_forms=True, verify=True)
    assert plain.loss == closed.loss
    assert_rel(plain.loss, 800 + mpmath.log1p(mpmath.exp(-800)))
    assert_rel(closed.checks["w"], 1)


# -- cross-entropy of a softmax --------------------------------------------------------------------

def textbook_ce(s, t):
    total = mpmath.fsum(mpmath.exp(v) for v in s)
    return -mpmath.fsum(c * mpmath.log(mpmath.exp(v) / total) for v, c in zip(s, t))


SCORES = [
    ([1000, 0, -3], [1, 0, 0]),
    ([1000, 0, -3], [0, 1, 0]),
    ([-1000, 1000, 999.5], [0, 0, 1]),
    ([800, 800, -800], [1, 0, 0]),
    (["0.5", "0.25", "-0.25"], ["0.2", "0.3", "0.5"]),
    ([700, -700, 0], ["0.2", "0.3", "0.5"]),
]


@pytest.mark.parametrize("scores, target", SCORES)
def test_cross_entropy_of_a_softmax_is_accurate_for_far_apart_scores(scores, target):
    sol = solved(f"""
        parameters: {{s: [{", ".join(map(str, scores))}]}}
        targets: {{t: [{", ".join(map(str, target))}]}}
        loss: cross_entropy(softmax(s), t)
        """)
    s = [Fraction(str(v)) for v in scores]
    with mpmath.workdps(digits_for(max(s) - min(s))):
        ss = [mpmath.mpf(v.numerator) / v.denominator for v in s]
        tt = [mpmath.mpf(Fraction(str(c)).numerator) / Fraction(str(c)).denominator for c in target]
        assert_rel(sol.loss, textbook_ce(ss, tt), "loss")
        for i in range(3):
            order = tuple(int(i == j) for j in range(3))
            want = mpmath.diff(lambda *v: textbook_ce(v, tt), ss, order)
            assert_rel(sol.gradients["s"][i], want, f"dL/ds[{i}]")


@pytest.mark.parametrize("w, s", [("0.5", "1"), ("0.5", "0.5"), ("300", "1")])
def test_cross_entropy_of_a_softmax_with_a_trained_scalar_target(w, s):
    """The target spread over every class: ∂L/∂s = −Σᵢ log pᵢ, not −log p₁."""
    sol = solved(f"""
        inputs: {{x: [1, 2, 3]}}
        parameters: {{w: {w}, s: {s}}}
        loss: cross_entropy(softmax(w * x), s)
        """)
    x = [1, 2, 3]
    with mpmath.workdps(digits_for(2 * float(w) * 3)):
        ww, sc = mpmath.mpf(w), mpmath.mpf(s)

        def loss(wv, sv):
            return textbook_ce([wv * v for v in x], [sv] * 3)

        total = mpmath.fsum(mpmath.exp(ww * v) for v in x)
        closed = -mpmath.fsum(mpmath.log(mpmath.exp(ww * v) / total) for v in x)
        assert_rel(sol.gradients["s"], closed, "dL/ds closed form")
        assert_rel(sol.gradients["s"], mpmath.diff(lambda v: loss(ww, v), sc), "dL/ds")
        assert_rel(sol.gradients["w"], mpmath.diff(lambda v: loss(v, sc), ww), "dL/dw")
        assert_rel(sol.loss, loss(ww, sc), "loss")


def test_softmax_closed_forms_at_far_apart_scores():
    text = """
        parameters: {s: [1000, 0, -1000]}
        targets: {t: [0, 1, 0]}
        loss: cross_entropy(softmax(s), t)
        """
    plain, closed = solved(text), solved(text, closed_forms=True)
    assert plain.loss == closed.loss
    with mpmath.workdps(digits_for(2000)):
        assert_rel(plain.loss, textbook_ce([1000, 0, -1000], [0, 1, 0]))


# -- slopes that the textbook form would cancel ---------------------------------------------------

@pytest.mark.parametrize("z", [-800, -100, -30, 30, 100, 800])
@pytest.mark.parametrize("f", ["sigmoid", "tanh"])
def test_slopes_of_saturated_units_keep_their_digits(f, z):
    """σ′ = σ(1 − σ) and tanh′ = 1 − tanh² are 1 − 1 in 40 digits once z passes 50 or so."""
    sol = solved(f"""
        inputs: {{x: 2}}
        parameters: {{w: "{Fraction(z, 2)}"}}
        targets: {{t: 3}}
        loss: half_sse({f}(w * x), t)
        """)
    with mpmath.workdps(digits_for(2 * z)):
        g = mpmath.sigmoid if f == "sigmoid" else mpmath.tanh
        w = mpmath.mpf(z) / 2
        assert_rel(sol.gradients["w"], mpmath.diff(lambda v: (g(v * 2) - 3) ** 2 / 2, w), "dL/dw")


@pytest.mark.parametrize("x", ["0.5", "1", "-1"])
@pytest.mark.parametrize("loss", ["log_cosh(sigmoid(w * x), t)", "sse(log(sigmoid(w * x)), t)",
                                  "sse(softplus(w * x), t)", "sse(log(softplus(exp(w * x))), t)",
                                  "sse(log(-w * x * x), t)"])
def test_numbers_inside_a_formula_shown_with_its_numbers(loss, x):
    """σ(−1·0.5) written out unevaluated, as the solution shows it (a weight of −1 kept apart),
    is still a number to SymPy."""
    sol = solved(f"""
        inputs: {{x: {x}}}
        parameters: {{w: -1}}
        targets: {{t: 0.3}}
        loss: {loss}
        learning_rate: 0.1
        """)
    with mpmath.workdps(60):
        xx, t = mpmath.mpf(x), mpmath.mpf(3) / 10
        f = {"log_cosh(sigmoid": lambda v: mpmath.log(mpmath.cosh(mpmath.sigmoid(v) - t)),
             "sse(log(sigmoid(": lambda v: (mpmath.log(mpmath.sigmoid(v)) - t) ** 2,
             "sse(softplus(w *": lambda v: (mpmath.log1p(mpmath.exp(v)) - t) ** 2,
             "sse(log(softplus": lambda v: (mpmath.log(mpmath.log1p(mpmath.exp(mpmath.exp(v)))) - t) ** 2,
             "sse(log(-w * x *": lambda v: (mpmath.log(-v * xx) - t) ** 2}[loss[:16]]
        assert_rel(sol.loss, f(-xx), "loss")
        assert_rel(sol.gradients["w"], mpmath.diff(lambda w: f(w * xx), -1), "dL/dw")


@pytest.mark.parametrize("d", ["1e-30", "0.001", "0.9", "1", "40", "-700", "1e300"])
def test_log_cosh_keeps_its_digits_near_zero_and_far_out(d):
    start = time.perf_counter()
    sol = solved(f"""
        parameters: {{y: {d}}}
        targets: {{t: 0}}
        loss: log_cosh(y, t)
        """)
    assert time.perf_counter() - start < 1.0
    x = Fraction(d)
    with mpmath.workdps(digits_for(abs(x)) + 100 if abs(x) < 10**6 else 80):  # log(1 + 5e−61) too
        xx = mpmath.mpf(x.numerator) / x.denominator
        want = mpmath.log(mpmath.cosh(xx)) if abs(x) < 10**6 else abs(xx) - mpmath.log(2)
        assert_rel(sol.loss, want, "loss")
        assert_rel(sol.gradients["y"], mpmath.tanh(xx), "dL/dy")


# -- 0·log 0 = 0 -----------------------------------------------------------------------------------

def test_cross_entropy_takes_zero_log_zero_as_zero():
    sol = solved("""
        parameters: {p: [1, 0]}
        targets: {t: [1, 0]}
        loss: cross_entropy(p, t)
        """)
    assert sol.loss == 0
    assert list(sol.gradients["p"]) == [-1, 0]  # −t/p, and 0 where t = 0


def test_cross_entropy_with_a_zero_target_and_a_zero_probability_beside_others():
    sol = solved("""
        parameters: {p: [0.5, 0, 0.5]}
        targets: {t: [0.5, 0, 0.5]}
        loss: cross_entropy(p, t)
        """)
    assert abs(sol.loss - sp.log(2)) < sp.Float("1e-35")  # −(½ log ½ + 0·log 0 + ½ log ½)
    assert list(sol.gradients["p"]) == [-1, 0, -1]


@pytest.mark.parametrize("p, t, slope", [(0, 0, 1), (1, 1, -1)])
def test_bce_takes_zero_log_zero_as_zero(p, t, slope):
    sol = solved(f"""
        parameters: {{p: {p}}}
        targets: {{t: {t}}}
        loss: bce(p, t)
        """)
    assert sol.loss == 0
    assert sol.gradients["p"] == slope  # (1 − t)/(1 − p) − t/p with the zero-weighted term left out


def test_bce_of_certain_predictions_of_a_vector():
    sol = solved("""
        parameters: {p: [0, 1, 0.25]}
        targets: {t: [0, 1, 1]}
        loss: bce(p, t)
        """)
    assert abs(sol.loss - sp.log(4)) < sp.Float("1e-35")
    assert list(sol.gradients["p"]) == [1, -1, -4]


def test_a_log_of_zero_with_a_nonzero_weight_is_still_refused():
    error = refused("""
        parameters: {p: [0, 1]}
        targets: {t: [1, 0]}
        loss: cross_entropy(p, t)
        """)
    assert error.key == "loss" and "not a real number" in error.message


# -- what is differentiated -----------------------------------------------------------------------

def test_an_input_exponent_is_not_differentiated():
    """∂(w ** n)/∂n = w^n log w is not real for w < 0, but n is an input: nobody asks for it."""
    sol = solved("""
        inputs: {n: 2}
        parameters: {w: -0.5}
        targets: {t: 1}
        loss: sse(w ** n, t)
        """)
    w, n, t = sp.Rational(-1, 2), 2, 1
    assert sol.loss == (w ** n - t) ** 2
    assert sol.gradients["w"] == 2 * (w ** n - t) * n * w ** (n - 1)


def test_a_node_computed_from_inputs_alone_is_not_differentiated():
    sol = solved("""
        inputs: {n: 1}
        parameters: {w: -0.5}
        targets: {t: 1}
        forward:
          k: 2 * n
          y: w ** k
        loss: sse(y, t)
        """)
    assert sol.gradients["w"] == sp.Rational(3, 2)
    assert "k" not in sol.deltas and "y" in sol.deltas


def test_a_trained_exponent_of_a_negative_base_is_refused():
    error = refused("""
        parameters: {w: -0.5, n: 2}
        targets: {t: 1}
        loss: sse(w ** n, t)
        """)
    assert error.key == "loss" and "not a real number" in error.message


def test_sqrt_of_an_input_at_zero():
    sol = solved("""
        inputs: {x: 0}
        parameters: {w: 1}
        targets: {t: 3}
        loss: sse(w * sqrt(x) + w, t)
        """)
    assert sol.loss == 4 and sol.gradients["w"] == -4


def test_sqrt_of_a_target_at_zero():
    sol = solved("""
        parameters: {w: 3}
        targets: {t: 0}
        loss: sse(w, sqrt(t))
        """)
    assert sol.loss == 9 and sol.gradients["w"] == 6


FROZEN = """
    parameters: {{w: 1, v: 0}}
    targets: {{t: 4}}
    frozen: [v]
    loss: sse(w + sqrt(v), t)
    learning_rate: 0.1
    {ask}
    """


def test_a_frozen_parameter_not_asked_about_is_not_differentiated():
    sol = solved(FROZEN.format(ask="ask: [{part: a, gradient: w}, {part: b, show: update}]"))
    assert sol.gradients == {"w": -6}  # 2(w + √v − t)
    assert sol.updated["v"] == 0 and sol.updated["w"] == sp.Rational(16, 10)


def test_a_frozen_parameter_asked_about_is_differentiated():
    error = refused(FROZEN.format(ask="ask: [{part: a, gradient: v}]"))  # sqrt′(0) = 1/(2·0)
    assert error.key == "loss"
    sol = solved(FROZEN.format(ask="").replace("v: 0", "v: 4"))  # the whole solution shows it
    assert sol.gradients["v"] == sp.Rational(2 * (1 + 2 - 4), 2 * 2)  # 2(w + √v − t)/(2√v)
    assert sol.updated["v"] == 4


def test_derive_a_trained_scalar_target_of_a_vector_loss():
    """The local derivative ∂L/∂s of half_sse(W @ x + b, s) differentiates only the s in it."""
    problem = loads(textwrap.dedent("""
        inputs: {x: [1, 2]}
        parameters: {W: [[1, 0], [0, 1]], b: [1, 1], s: 1}
        loss: half_sse(W @ x + b, s)
        """))
    y, s = [2, 3], 1
    assert derive(problem, "s").whole.value == -sum(v - s for v in y)
    assert list(derive(problem, "b").whole.value) == [v - s for v in y]
    assert derive(problem, "W").whole.value.tolist() == [[(v - s) * u for u in (1, 2)] for v in y]


# -- z ** 0 ----------------------------------------------------------------------------------------

def test_zero_to_the_zero_is_one_with_slope_zero():
    sol = solved("""
        parameters: {w: 0}
        targets: {t: 2}
        loss: sse(w ** 0, t)
        """)
    assert sol.loss == 1 and sol.gradients["w"] == 0


def test_zero_to_an_input_exponent_of_zero():
    sol = solved("""
        inputs: {k: 0}
        parameters: {w: 0}
        targets: {t: 2}
        loss: sse(w ** k, t)
        """)
    assert sol.loss == 1 and sol.gradients["w"] == 0
    assert derive(loads(textwrap.dedent("""
        inputs: {k: 0}
        parameters: {w: 0}
        targets: {t: 2}
        loss: sse(w ** k, t)
        """)), "w").whole.value == 0


def test_zero_to_the_zero_entry_by_entry():
    sol = solved("""
        inputs: {k: [0, 3]}
        parameters: {w: [0, 2]}
        loss: sum(w ** k)
        """)
    assert sol.loss == 1 + 8
    assert list(sol.gradients["w"]) == [0, 3 * 2 ** 2]


# -- elementwise ** --------------------------------------------------------------------------------

def test_power_of_equal_shapes_entry_by_entry():
    sol = solved("""
        parameters: {w: [2, 3], x: [1, 2.5]}
        loss: sum(w ** x)
        """)
    w, x = [mpmath.mpf(2), mpmath.mpf(3)], [mpmath.mpf(1), mpmath.mpf("2.5")]

    def loss(*v):
        return v[0] ** v[2] + v[1] ** v[3]

    point = w + x
    assert_rel(sol.loss, loss(*point), "loss")
    for i, name in enumerate(["w", "w", "x", "x"]):
        order = tuple(int(i == j) for j in range(4))
        assert_rel(sol.gradients[name][i % 2], mpmath.diff(loss, point, order), f"d/d{name}[{i % 2 + 1}]")
    assert sol.gradients["w"][0] == 1  # x·w^(x − 1) = 1·2⁰, exact
    assert abs(sol.gradients["w"][1] - sp.Rational(5, 2) * 3 ** sp.Rational(3, 2)) < sp.Float("1e-35")


def test_power_of_a_scalar_base_and_a_vector_exponent():
    sol = solved("""
        parameters: {b: 2, v: [1, 2, 3]}
        loss: sum(b ** v)
        """)
    assert sol.loss == 2 + 4 + 8
    assert sol.gradients["b"] == 1 + 2 * 2 + 3 * 4
    for i, k in enumerate([1, 2, 3]):
        assert abs(sol.gradients["v"][i] - 2 ** k * sp.log(2)) < sp.Float("1e-35")


def test_power_of_matrices_entry_by_entry():
    sol = solved("""
        parameters: {W: [[1, 2], [3, 0.5]]}
        loss: sum(sum(W ** W))
        """)
    entries = [sp.Integer(1), sp.Integer(2), sp.Integer(3), sp.Rational(1, 2)]
    assert abs(sol.loss - sum(e ** e for e in entries)) < sp.Float("1e-35")
    for got, e in zip(sol.gradients["W"], entries):  # d(e^e)/de = e^e (1 + log e)
        assert abs(got - e ** e * (1 + sp.log(e))) < sp.Float("1e-35")


def test_power_of_unequal_shapes_is_refused():
    error = refused("""
        parameters: {w: [1, 2], x: [1, 2, 3]}
        loss: sum(w ** x)
        """)
    assert error.key == "loss" and "cannot combine" in error.message


# -- runaway magnitudes ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "parameters: {w: 1}\nloss: exp(exp(exp(100))) * w",
    "parameters: {w: 3}\nloss: w**w**w**w**w",
    "parameters: {a: 3, b: 3, c: 3, d: 3}\nloss: a**b**c**d**a",
    "inputs: {x: 3, k: 1000000000}\nparameters: {w: 1}\nloss: w * x ** k",
    "inputs: {x: 2, k: 1073741824}\nparameters: {w: 1}\nloss: w * x ** k",
    "parameters: {w: 1}\nloss: exp(700000 * w) * exp(700000 * w)",
    "parameters: {w: 1}\nloss: cosh(1000000 * w)",
    "parameters: {s: [1000000, -1000000]}\ntargets: {t: [1, 0]}\nloss: cross_entropy(softmax(s), t)",
])
def test_a_runaway_value_stops_with_value_too_large(text):
    error = refused(text)
    assert error.key == "loss" and "value too large" in error.message


@pytest.mark.parametrize("text", [
    "parameters: {w: 1}\nloss: w * 2**2**2**2**30",
    "parameters: {w: 1}\nloss: w * 10**10**10",
    "inputs: {x: 3}\nparameters: {w: 1}\nloss: w * x ** (10**9)",
])
def test_a_runaway_literal_power_is_refused(text):
    refused(text)  # by the engine, or already by the parser's limits on literals


def test_a_value_too_small_is_refused_as_well():
    error = refused("parameters: {w: 1}\nloss: exp(-700000 * w) * exp(-700000 * w)")
    assert "value too small" in error.message


def test_an_exact_fraction_that_grows_without_bound_is_refused_at_its_line():
    lines = "\n".join(f"  h{k}: h{k - 1} * h{k - 1} + w" for k in range(1, 16))
    error = refused(f"inputs: {{h0: 0.3}}\nparameters: {{w: 0.7}}\nforward:\n{lines}\nloss: h15 * w")
    assert "value too large" in error.message and "exact number" in error.message
    assert error.key.startswith("forward.h")


def test_the_square_root_of_a_long_integer_is_fast():
    """SymPy alone takes seconds to look for square factors of 7^3500 + 1."""
    start = time.perf_counter()
    sol = solved("""
        inputs: {a: 7, k: 3500}
        parameters: {w: 1}
        forward:
          big: a ** k + 1
          square: w * a ** 3400
          root: sqrt(square)
        loss: w * sqrt(big) + root
        """)
    assert time.perf_counter() - start < 1.0
    with mpmath.workdps(60):
        assert_rel(sol.loss, mpmath.sqrt(mpmath.mpf(7) ** 3500 + 1) + mpmath.mpf(7) ** 1700)
    assert sol.values["root"] == sp.Integer(7) ** 1700  # an exact root stays exact
    assert sol.values["big"] == sp.Integer(7) ** 3500 + 1  # exact as long as it is short enough


def test_a_truth_table_row_too_large_is_an_error_of_its_part():
    error = refused("""
        inputs: {x: [0, 0]}
        parameters: {w: [1, 1], b: 1.5}
        forward:
          y: w @ x - b
        ask:
          - part: a
            truth_table: {inputs: [[0, "7**3000 * 7**3000"], [1, 1]], threshold: 0}
        """)
    assert error.key == "ask part a"


def test_large_values_within_the_limits_are_computed():
    sol = solved("""
        inputs: {x: 3}
        parameters: {w: 1}
        loss: w * x ** 5000 + exp(600000 * w)
        """)
    want = mpmath.mpf(3) ** 5000 + mpmath.exp(600000)
    assert_rel(sol.loss, want)


# -- JSON ------------------------------------------------------------------------------------------

def test_json_writes_values_beyond_a_double_as_decimal_strings():
    sol = solved("""
        parameters: {w: 1}
        loss: exp(1000 * w) + exp(-1000 * w) * 0
        """)
    data = strict_json(dumps(sol))
    with mpmath.workdps(40):
        for got, want in ((data["loss"], mpmath.exp(1000)), (data["gradients"]["w"], 1000 * mpmath.exp(1000))):
            assert isinstance(got, str)
            assert abs(Decimal(got) - Decimal(mpmath.nstr(want, 30))) <= Decimal(10) ** -15 * Decimal(got)


def test_json_writes_values_below_a_double_as_decimal_strings():
    sol = solved("""
        parameters: {w: 1}
        loss: exp(-1000 * w)
        """)
    data = strict_json(dumps(sol))
    assert isinstance(data["loss"], str)
    assert abs(Decimal(data["loss"]) / Decimal(mpmath.nstr(mpmath.exp(-1000), 30)) - 1) < Decimal("1e-15")
    with_ordinary = solved("parameters: {w: 1}\nloss: exp(-700 * w)")
    assert isinstance(strict_json(dumps(with_ordinary))["loss"], float)


def test_derive_json_writes_a_huge_value_as_a_string():
    d = derive(loads("parameters: {w: 1}\nloss: exp(1000 * w)"), "w")
    data = strict_json(json.dumps(derivation_json(d), allow_nan=False))
    assert isinstance(data["value"], str) and data["value"].endswith("e+437")
    assert abs(Decimal(data["value"]) / Decimal(mpmath.nstr(1000 * mpmath.exp(1000), 30)) - 1) < Decimal("1e-15")


# -- through the command line ----------------------------------------------------------------------

def run_cli(tmp_path, text, *args):
    path = tmp_path / "problem.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "backprop_tutor", "solve", str(path), "--json", *args],
                          capture_output=True, text=True, timeout=30, env=env)
    assert time.perf_counter() - start < 5.0
    return done


def test_cli_bce_at_a_logit_of_800(tmp_path):
    done = run_cli(tmp_path, """
        inputs: {x: 1}
        parameters: {w: 800}
        targets: {t: 0}
        loss: bce(sigmoid(w * x), t)
        """)
    assert done.returncode == 0, done.stderr
    data = strict_json(done.stdout)
    assert data["loss"] == 800.0 and data["gradients"]["w"] == 1.0


def test_cli_json_of_a_value_beyond_a_double(tmp_path):
    done = run_cli(tmp_path, "parameters: {w: 1}\nloss: exp(1000 * w)\n")
    assert done.returncode == 0, done.stderr
    data = strict_json(done.stdout)
    assert data["loss"].startswith("1.97007111401704") and data["loss"].endswith("e+434")


@pytest.mark.parametrize("text", [
    "parameters: {w: 1}\nloss: exp(exp(exp(100))) * w\n",
    "parameters: {w: 3}\nloss: w**w**w**w**w\n",
])
def test_cli_a_runaway_value_is_one_error_line(tmp_path, text):
    done = run_cli(tmp_path, text, "--limit", "power_tower=10")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith("error: ") and "problem.yaml:2: loss: value too large" in lines[0]


def test_cli_an_untrained_input_is_not_differentiated(tmp_path):
    done = run_cli(tmp_path, """
        inputs: {n: 2}
        parameters: {w: -0.5}
        targets: {t: 1}
        loss: sse(w ** n, t)
        """, "--verify")
    assert done.returncode == 0, done.stderr
    data = strict_json(done.stdout)
    assert data["loss"] == 0.5625 and data["gradients"] == {"w": 1.5}
    assert abs(data["finite_differences"]["w"] - 1.5) < 1e-9
