"""Helpers the test files share: which bundled problems are numeric, substituting definitions, and
sheet12_p2 worked by hand."""
from __future__ import annotations

import shutil
from fractions import Fraction as F

import pytest
import yaml


def is_numeric(path) -> bool:
    """A problem whose every given value is a number (symbolic problems have no finite differences)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))

    def has_null(v):
        if isinstance(v, dict):
            return any(has_null(x) for x in v.values())
        if isinstance(v, list):
            return any(has_null(x) for x in v)
        return v is None

    return not any(has_null(raw[k]) for k in ("inputs", "parameters", "targets", "data") if k in raw)


def substitute(expr, definitions: dict | None):
    """Replace intermediate names by their forward definitions until none is left."""
    if not definitions:
        return expr
    for _ in range(len(definitions) + 2):
        new = expr.xreplace(definitions)
        if new == expr:
            break
        expr = new
    return expr


def needs_pdflatex():
    """Skip the calling test where pdflatex is not installed."""
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")


def cli(*args):
    """Run the command line in-process with its arguments as text: the Click result."""
    from typer.testing import CliRunner
    from backprop_tutor.cli import app
    return CliRunner().invoke(app, [str(a) for a in args])


def sheet12_by_hand() -> dict:
    """sheet12_p2 with plain Fractions: layout xW (y = W2ᵀ relu(W1ᵀ x)), L = Σ (y − z)², α = 0.1,
    then only W2[2,1] and W1[1,2] stepped and the loss computed again."""
    x, z, lr = [F(1), F(-1)], [F(-2, 10), F(5, 10)], F(1, 10)
    W1 = [[F(5, 10), F(3, 10)], [F(-2, 10), F(1, 10)]]
    W2 = [[F(4, 10), F(-3, 10)], [F(6, 10), F(2, 10)]]

    def forward(W1, W2):
        z1 = [sum(W1[i][j] * x[i] for i in range(2)) for j in range(2)]
        h1 = [max(F(0), v) for v in z1]
        y = [sum(W2[i][j] * h1[i] for i in range(2)) for j in range(2)]
        return z1, h1, y, sum((y[k] - z[k]) ** 2 for k in range(2))

    z1, h1, y, loss = forward(W1, W2)
    dy = [2 * (y[k] - z[k]) for k in range(2)]
    dh1 = [sum(W2[i][j] * dy[j] for j in range(2)) for i in range(2)]
    dz1 = [dh1[i] if z1[i] > 0 else F(0) for i in range(2)]
    g21 = h1[1] * dy[0]          # ∂L/∂W2[2,1]: hidden unit 2 → output 1
    g12 = x[0] * dz1[1]          # ∂L/∂W1[1,2]: input 1 → hidden unit 2
    W1n = [row[:] for row in W1]
    W2n = [row[:] for row in W2]
    W2n[1][0] -= lr * g21
    W1n[0][1] -= lr * g12
    return {"y": y, "loss": loss, "g21": g21, "g12": g12, "W21": W2n[1][0], "W12": W1n[0][1],
            "loss_after": forward(W1n, W2n)[3], "after": forward(W1n, W2n)[3]}
