"""--exact: fractions for rational values, closed forms for short irrational ones."""
import math
from pathlib import Path

import sympy as sp
from typer.testing import CliRunner

from backprop_tutor import load, solve
from backprop_tutor.cli import app
from backprop_tutor.solution import Forward, LossValue

SIGMOID = Path(__file__).resolve().parent.parent / "problems" / "exercise3_sigmoid.yaml"


def test_closed_forms_are_the_values_in_exact_form():
    sol = solve(load(SIGMOID), closed_forms=True, notation="matrix")
    steps = {s.name: s for s in sol.steps() if isinstance(s, (Forward, LossValue))}
    z1, h1 = steps["z1"], steps["h1"]
    assert z1.closed is None  # rational values need no closed form: they are exact already
    s = sp.Symbol("s")
    want = [1 / (1 + math.exp(-1.2)), 1 / (1 + math.exp(-1.5))]
    for closed, value, w in zip(h1.closed, h1.value, want):
        assert closed.is_number and not closed.has(sp.Float) and not closed.is_Rational
        assert abs(float(closed.evalf(50)) - w) < 1e-15
        assert abs(closed.evalf(45) - value) < sp.Float("1e-35")
    assert s not in h1.closed.free_symbols
    per_neuron = solve(load(SIGMOID), closed_forms=True, notation="neuron")
    units = {s.name: s for s in per_neuron.steps() if isinstance(s, Forward)}
    assert [units[f"h1[{j}]"].closed for j in (1, 2)] == list(h1.closed)  # each neuron's own closed form
    assert units["z1[1]"].closed is None


def test_without_closed_forms_nothing_symbolic_is_carried():
    sol = solve(load(SIGMOID))
    assert all(getattr(s, "closed", None) is None for s in sol.steps())


def test_exact_prints_the_closed_form_and_then_the_decimal():
    out = CliRunner().invoke(app, ["solve", str(SIGMOID), "--exact", "--no-color"]).stdout
    assert "σ(6/5)" in out and "0.7685" in out
    plain = CliRunner().invoke(app, ["solve", str(SIGMOID), "--no-color"]).stdout
    assert "σ(6/5)" not in plain
