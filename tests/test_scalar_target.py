"""A scalar target beside a vector output is broadcast without new notation: half_sse(y, t), δ_y = y − t."""
import json
import os
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest
import sympy as sp

from backprop_tutor import loads, solve

ROOT = Path(__file__).resolve().parents[1]
TEXT = """
inputs: {x: [1, 2]}
parameters: {W: [[0.5, 0.25], [0.1, 0.2]]}
targets: {t: 1}
forward:
  y: W @ x
loss: half_sse(y, t)
learning_rate: 0.1
"""


def by_hand():
    """y = W x = (1, 0.5); L = ½ Σ (yᵢ − 1)²; δ_y = y − 1; ∂L/∂W = δ_y xᵀ."""
    y = [F(1, 2) + F(1, 4) * 2, F(1, 10) + F(2, 10) * 2]
    d = [v - 1 for v in y]
    return y, sum(v * v for v in d) / 2, d, [[d[i] * x for x in (1, 2)] for i in range(2)]


def run(tmp_path, *args, text=TEXT):
    f = tmp_path / "scalar.yaml"
    f.write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    out = subprocess.run([sys.executable, "-m", "backprop_tutor", *args[:1], str(f), *args[1:]],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_terminal_writes_t_and_its_number_in_each_component(tmp_path):
    out = run(tmp_path, "solve", "--no-color")
    assert "𝟙" not in out
    assert "L = ½ SSE(y, t)" in out
    assert "δ_y₁ = ∂L/∂y₁ = y₁ - t = 1 - 1 = 0" in out  # per neuron: t is one number, not t₁
    loss = out[out.index("L = ½ SSE(y, t)"):]
    loss = loss[:loss.index("Backward")]
    assert "1 - 1" in loss and "0.5 - 1" in loss      # the arithmetic, t's number in each component
    assert "= 0.125" in loss


def test_latex_has_no_ones_vector(tmp_path):
    tex = tmp_path / "out.tex"
    run(tmp_path, "export", "-o", str(tex))
    body = tex.read_text(encoding="utf-8")
    assert "\\mathbf{1}" not in body
    assert "y - t" in body


def test_the_numbers_stay_right(tmp_path):
    y, loss, d, g = by_hand()
    data = json.loads(run(tmp_path, "solve", "--json"))
    assert data["loss"] == pytest.approx(float(loss), abs=1e-15)
    assert data["deltas"]["y"] == pytest.approx([float(v) for v in d], abs=1e-15)
    assert data["gradients"]["W"] == [pytest.approx([float(v) for v in row], abs=1e-15) for row in g]
    sol = solve(loads(TEXT))
    assert sol.loss == sp.Rational(loss.numerator, loss.denominator)


def test_a_scalar_target_used_as_a_scalar_elsewhere_is_left_scalar():
    text = TEXT.replace("  y: W @ x\n", "  y: W @ x\n  s: t * sum(y)\n").replace("half_sse(y, t)", "half_sse(y, t) + s")
    sol = solve(loads(text))
    assert sol.shapes["t"] == ()
    y, loss, _, _ = by_hand()
    total = loss + 1 * sum(y)
    assert sol.loss == sp.Rational(total.numerator, total.denominator)


def test_one_sample_of_data_broadcasts_too():
    text = TEXT + "data:\n  - {t: 1}\n  - {t: 0}\n"
    sol = solve(loads(text))
    y, _, _, _ = by_hand()
    mean = (sum((v - 1) ** 2 for v in y) / 2 + sum(v ** 2 for v in y) / 2) / 2
    assert sol.loss == sp.Rational(mean.numerator, mean.denominator)
    assert sol.shapes["t^(1)"] == sol.shapes["t^(2)"] == (2,)


def test_a_symbolic_scalar_target_is_broadcast_as_the_same_symbol():
    sol = solve(loads(TEXT.replace("t: 1", "t: null")))
    y, _, _, _ = by_hand()
    assert sol.shapes["t"] == (2,)
    names = {s.name for s in sol.loss.free_symbols}
    assert names == {"t"}
    want = sum((sp.Rational(v.numerator, v.denominator) - sp.Symbol("t")) ** 2 for v in y) / 2
    assert sp.simplify(sol.loss.subs({s: sp.Symbol("t") for s in sol.loss.free_symbols}) - want) == 0
