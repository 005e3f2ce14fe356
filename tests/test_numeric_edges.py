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


def solved(text: str, **options):
    return solve(loads(textwrap.dedent(text)), **options)


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
    assert sol.gradients["w"][0] == 1 and sol.gradients["w"][1] == sp.Rational(5, 2) * sp.Integer(3) ** sp.Rational(3, 2) \
        or abs(sol.gradients["w"][1] - sp.Rational(5, 2) * 3 ** sp.Rational(3, 2)) < sp.Float("1e-35")


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
    done = run_cli(tmp_path, text)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith("error: ") and "problem.yaml:2: loss: value too large" in lines[0]
