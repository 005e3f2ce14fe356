"""A misspelt function, loss, key or activation, or ^ for a power: one line that names the likely intent."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_tutor.cli import app
from backprop_tutor.expr import did_you_mean
from backprop_tutor.ops import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
BASE = "inputs:\n  x: [1, 2]\ntargets:\n  t: [1, 0]\nforward:\n  z: x * 2\n  y: {forward}\nloss: {loss}\n"


def error_line(tmp_path, text: str) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["solve", str(path)])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}:"), result.stderr
    return lines[0]


@pytest.mark.parametrize("forward, loss, line, key, hint", [
    ("rleu(z)", "sse(y, t)", 7, "forward.y", "unknown function 'rleu' in 'rleu(z)' (did you mean relu?)"),
    ("ReLU(z)", "sse(y, t)", 7, "forward.y", "(did you mean relu?)"),
    ("Sigmod(z)", "sse(y, t)", 7, "forward.y", "(did you mean sigmoid?)"),
    ("softmx(z)", "sse(y, t)", 7, "forward.y", "(did you mean softmax?)"),
    ("z", "MSE(y, t)", 8, "loss", "unknown function 'MSE' in 'MSE(y, t)' (did you mean mse?)"),
    ("z", "Cross_Entropy(y, t)", 8, "loss", "(did you mean cross_entropy?)"),
    ("z", "sum((y - t)^2)", 8, "loss", "unexpected '^' at column 12 in 'sum((y - t)^2)' (did you mean **?)"),
    ("z^2", "sse(y, t)", 7, "forward.y", "(did you mean **?)"),
])
def test_a_slip_names_what_was_meant(tmp_path, forward, loss, line, key, hint):
    message = error_line(tmp_path, BASE.format(forward=forward, loss=loss))
    assert f":{line}: {key}: " in message and message.endswith(hint), message
    assert "known:" not in message   # the one likely name, not the whole list


def test_a_word_like_no_function_still_lists_the_known_ones(tmp_path):
    message = error_line(tmp_path, BASE.format(forward="frobnicate(z)", loss="sse(y, t)"))
    assert "did you mean" not in message and "known: abs," in message


def test_a_misspelt_key_and_activation(tmp_path):
    message = error_line(tmp_path, "inputs:\n  x: [1, 2]\nparameters:\n  w: 2\nlerning_rate: 0.1\nloss: sum(x) * w\n")
    assert message.endswith(":5: lerning_rate: unknown key (did you mean learning_rate?)"), message
    network = (ROOT / "problems" / "sheet12_p2.yaml").read_text(encoding="utf-8")   # the network shorthand
    assert "activation: relu" in network
    message = error_line(tmp_path, network.replace("activation: relu", "activation: Relu", 1))
    assert message.endswith("activation: unknown activation (did you mean relu?)"), message


def test_did_you_mean_prefers_case_then_spelling_and_stays_quiet_otherwise():
    known = sorted(FUNCTIONS)
    assert did_you_mean("MSE", known) == " (did you mean mse?)"
    assert did_you_mean("rleu", known) == " (did you mean relu?)"
    assert did_you_mean("tanhh", known) == " (did you mean tanh?)"
    assert did_you_mean("relu", known) == ""
    assert did_you_mean("frobnicate", known) == ""
    assert did_you_mean("", known) == ""
    assert did_you_mean("x" * 10000, known) == ""
