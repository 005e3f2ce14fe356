"""`derive --wrt` an input: ∂L/∂x (the saliency), checked by central finite differences in mpmath."""
import json

import mpmath
import pytest
import sympy as sp
from typer.testing import CliRunner

from backprop_tutor import loads, solve
from backprop_tutor.cli import app
from backprop_tutor.derivation import derive
from backprop_tutor.render.latex import to_latex

PROBLEM = """title: inputs
inputs: {x1: 2, x: [1, -2]}
parameters: {w: 0.5, v: [3, 0.25]}
targets: {t: 1}
learning_rate: 0.1
forward:
  z: w*x1 + v @ x
  y: tanh(z)
loss: half_sse(y, t)
"""


def loss(x1, xa, xb):
    """The file's loss written out by hand, in mpmath."""
    z = mpmath.mpf("0.5") * x1 + 3 * xa + mpmath.mpf("0.25") * xb
    return (mpmath.tanh(z) - 1) ** 2 / 2


def central(f, at, k):
    with mpmath.workdps(60):
        h = mpmath.mpf(10) ** -20
        up, down = list(at), list(at)
        up[k] += h
        down[k] -= h
        return (f(*up) - f(*down)) / (2 * h)


AT = [mpmath.mpf(2), mpmath.mpf(1), mpmath.mpf(-2)]


def close(got, want):
    with mpmath.workdps(50):
        assert abs(mpmath.mpf(str(sp.Float(got, 40))) - want) < mpmath.mpf(10) ** -25 * (1 + abs(want)), (got, want)


@pytest.mark.parametrize("wrt, k", [("x1", 0), ("x[1]", 1), ("x[2]", 2), ("x1[1]", None)])
def test_the_derivative_by_one_input_is_the_finite_difference(wrt, k):
    if k is None:  # x1 is a scalar: x1[1] names nothing
        with pytest.raises(Exception, match="x1"):
            derive(loads(PROBLEM), wrt)
        return
    d = derive(loads(PROBLEM), wrt)
    close(d.whole.value, central(loss, AT, k))


def test_the_derivative_by_a_whole_input_vector_is_the_finite_differences():
    d = derive(loads(PROBLEM), "x")
    assert d.whole.value.shape == (2, 1)
    for i in range(2):
        close(d.whole.value[i], central(loss, AT, i + 1))


def test_inputs_still_get_no_update():
    s = solve(loads(PROBLEM))
    assert set(s.updated) == {"w", "v"} and set(s.gradients) == {"w", "v"}


def test_every_output_of_derive_shows_the_input_derivative(tmp_path):
    path = tmp_path / "inputs.yaml"
    path.write_text(PROBLEM, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["derive", str(path), "--wrt", "x1", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["wrt"] == "x1" and out["chain"][-1] == "dz/dx1"
    with mpmath.workdps(30):
        assert abs(out["value"] - float(central(loss, AT, 0))) < 1e-15
    result = runner.invoke(app, ["derive", str(path), "--wrt", "x", "--json"])
    with mpmath.workdps(30):
        assert all(abs(v - float(central(loss, AT, i + 1))) < 1e-15 for i, v in enumerate(result.stdout and
                                                                                      json.loads(result.stdout)["value"]))
    result = runner.invoke(app, ["derive", str(path), "--wrt", "x[2]", "--no-color"], env={"COLUMNS": "80"})
    assert result.exit_code == 0 and "∂L/∂x₂" in result.stdout
    latex = to_latex(derive(loads(PROBLEM), "x1"))
    assert "\\frac{\\partial L}{\\partial x_{1}}" in latex
    result = runner.invoke(app, ["derive", str(path), "--wrt", "t"])
    assert result.exit_code == 2 and "'t' names nothing" in result.stderr
