"""A parameter the loss does not use has the gradient 0, shown as such by every command and printer."""
from __future__ import annotations

import json

import mpmath
import pytest
import sympy as sp
import yaml

from backprop_tutor import loads, solve

from helpers import cli

# W is given and trained but y does not read it; w is used
TEXT = """
inputs: {x: [1, 2]}
parameters:
  W: [[0.1, 0.2], [0.3, 0.4]]
  w: [0.5, 0.6]
targets: {t: 1}
forward:
  y: sum(x * w)
loss: (y - t) ** 2
learning_rate: 0.1
"""
# no parameter reaches the loss at all: there is no δ to show
NOTHING_USED = """
inputs: {x: [1, 2]}
parameters: {W: [[0.1, 0.2], [0.3, 0.4]]}
forward:
  y: sum(x)
loss: y
learning_rate: 0.1
"""
ASKED = TEXT + """
ask:
  - {part: a, gradient: "W[2,1]"}
  - {part: b, update: "W[2,1]"}
"""


def loss_of(x, w, W, t):
    """L = (Σᵢ xᵢ wᵢ − t)², written here from the file's numbers; W is not in it."""
    return (sum(a * b for a, b in zip(x, w)) - t) ** 2


def central_differences() -> dict:
    """∂L/∂(every entry of W and w) by 50-digit central differences from the file's numbers."""
    mpmath.mp.dps = 50
    raw = yaml.safe_load(TEXT)
    num = lambda v: mpmath.mpf(str(v))
    x, t = [num(v) for v in raw["inputs"]["x"]], num(raw["targets"]["t"])
    w = [num(v) for v in raw["parameters"]["w"]]
    W = [num(v) for row in raw["parameters"]["W"] for v in row]  # row by row
    h = mpmath.mpf("1e-20")

    def moved(vector, k, d):
        return [v + d if i == k else v for i, v in enumerate(vector)]

    return {"W": [(loss_of(x, w, moved(W, k, h), t) - loss_of(x, w, moved(W, k, -h), t)) / (2 * h) for k in range(4)],
            "w": [(loss_of(x, moved(w, k, h), W, t) - loss_of(x, moved(w, k, -h), W, t)) / (2 * h) for k in range(2)]}


def run(tmp_path, text: str, command: str, *args, status: int = 0) -> str:
    """The output of `tutor COMMAND FILE ARGS` on `text`, which must end with `status`."""
    f = tmp_path / "problem.yaml"
    f.write_text(text, encoding="utf-8")
    result = cli(command, f, *args)
    assert result.exit_code == status, result.output
    return result.output


def test_the_gradient_of_an_unused_parameter_is_zero_and_the_used_one_is_right():
    solution = solve(loads(TEXT))
    fd = central_differences()
    assert [float(v) for v in solution.gradients["W"]] == pytest.approx([float(v) for v in fd["W"]], abs=1e-30)
    assert all(v == 0 for v in solution.gradients["W"])
    assert [float(v) for v in solution.gradients["w"]] == pytest.approx([float(v) for v in fd["w"]], rel=1e-12)
    assert solution.updated["W"] == sp.Matrix([[sp.Rational(1, 10), sp.Rational(2, 10)],
                                               [sp.Rational(3, 10), sp.Rational(4, 10)]])


@pytest.mark.parametrize("notation", ["neuron", "matrix", "both"])
def test_solve_writes_each_weight_of_an_unused_parameter_as_zero(tmp_path, notation):
    out = run(tmp_path, TEXT, "solve", "--no-color", "--notation", notation)
    assert "internal error" not in out
    gradients = out[out.index("Gradients"):out.index("Gradient-descent")]
    if notation != "matrix":
        for cell in ("₁₁", "₁₂", "₂₁", "₂₂"):
            assert f"∂L/∂W{cell} = 0\n" in gradients
    assert "▶ ∂L/∂W" in gradients


def test_each_answer_closes_its_own_section_when_no_parameter_reaches_the_loss(tmp_path):
    out = run(tmp_path, NOTHING_USED, "solve", "--no-color")
    assert "Backward pass" not in out  # no δ: no empty heading
    update, after = out.index("Gradient-descent"), out.index("Loss after the update")
    assert out.index("▶ ∂L/∂W") < update < out.index("▶ W (updated)") < after < out.index("▶ L after the update")


@pytest.mark.parametrize("args, shown", [
    (("derive", "--wrt", "W[1,2]"), "∂L/∂W₁₂ = 0\n"),
    (("derive", "--wrt", "W"), "∂L/∂W₂₂ = 0\n"),
    (("derive", "--all"), "∂L/∂W₂₁ = 0\n"),
    (("solve", "--detail", "full"), "∂L/∂W₁₁ = 0\n"),
    (("solve", "--detail", "brief"), "∂L/∂W = ⎡0  0⎤\n")], ids=lambda a: " ".join(a) if isinstance(a, tuple) else "")
def test_derive_and_every_detail_take_an_unused_parameter(tmp_path, args, shown):
    out = run(tmp_path, TEXT, args[0], *args[1:], "--no-color")
    assert shown in out


def test_json_gives_the_zero_gradient_and_the_unchanged_weights(tmp_path):
    out = run(tmp_path, TEXT, "solve", "--json")
    data = json.loads(out)
    assert data["gradients"]["W"] == [[0, 0], [0, 0]]
    assert data["updated"]["W"] == [[0.1, 0.2], [0.3, 0.4]]


@pytest.mark.parametrize("suffix", [".tex", ".html", ".md"])
def test_export_writes_an_unused_parameter(tmp_path, suffix):
    out = tmp_path / f"unused{suffix}"
    run(tmp_path, TEXT, "export", "-o", out)
    assert out.exists() and "W" in out.read_text(encoding="utf-8")


def test_check_marks_the_zero_gradient_of_an_unused_parameter(tmp_path):
    right = run(tmp_path, TEXT, "check", "--answer", "dL/dW=[[0,0],[0,0]]", "--no-color")
    assert "✓ right" in right
    wrong = run(tmp_path, TEXT, "check", "--answer", "dL/dW[2,1]=0.5", "--no-color", status=1)
    assert "✗ wrong" in wrong and "internal error" not in wrong


def test_a_part_asking_for_one_weight_of_an_unused_parameter(tmp_path):
    out = run(tmp_path, ASKED, "solve", "--no-color")
    assert "▶ ∂L/∂W₂₁ = 0\n" in out
    assert "W₂₁ ← W₂₁ − α·∂L/∂W₂₁ = 0.3 - 0.1⋅0" in out and "▶ W₂₁ (updated) = 0.3\n" in out
