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
