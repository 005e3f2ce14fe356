"""The `tutor` command: JSON against the Solution and the contract, options, width, colours, errors."""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp
import yaml
from rich.cells import cell_len
from typer.testing import CliRunner

from backprop_tutor import load, loads, solve
from backprop_tutor.datasets import solvable
from backprop_tutor.cli import app
from backprop_tutor.solution import Gradient, ThroughTime
from helpers import is_numeric as _is_numeric

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
ANSI = re.compile(r"\x1b\[")
CHECK_LINE = "central finite difference"

runner = CliRunner()


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def solutions():
    return {p.name: solve(load(p), verify=False) for p in PROBLEMS}


NUMERIC = [p for p in PROBLEMS if _is_numeric(p)]
SYMBOLIC = [p for p in PROBLEMS if not _is_numeric(p)]


def test_there_are_bundled_problems():
    assert len(PROBLEMS) >= 4


# -- --json --------------------------------------------------------------------------------------

def assert_matches(got, value, shape, where):
    """A JSON value equals a SymPy value in its own shape (numbers within 1e-12)."""
    if shape == ():
        if isinstance(value, sp.MatrixBase):
            value = value[0, 0]
        value = sp.sympify(value)
        if value.free_symbols:  # symbolic: SymPy text in the file's names, equal to the value
            from backprop_tutor.render.jsonout import text
            assert got == text(value), f"{where}: {got!r} != {text(value)!r}"
            return
        assert isinstance(got, (int, float)) and not isinstance(got, bool), f"{where}: {got!r} is not a number"
        want = float(value)
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), f"{where}: {got} != {want}"
        return
    if len(shape) == 1:
        assert isinstance(got, list) and len(got) == shape[0], f"{where}: {got!r} is not a vector of {shape[0]}"
        for i, g in enumerate(got):
            assert_matches(g, value[i], (), f"{where}[{i}]")
        return
    assert isinstance(got, list) and len(got) == shape[0], f"{where}: {got!r} does not have {shape[0]} rows"
    for i, row in enumerate(got):
        assert isinstance(row, list) and len(row) == shape[1], f"{where}[{i}]: not a row of {shape[1]}"
        for j, g in enumerate(row):
            assert_matches(g, value[i, j], (), f"{where}[{i}][{j}]")


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.name)
def test_json_has_the_contract_keys_and_the_solution_numbers(path, solutions):
    result = run("solve", path, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    sol = solutions[path.name]
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))

    assert isinstance(data["title"], str) and data["title"] == sol.title
    for key in ("values", "loss", "deltas", "gradients"):
        assert key in data, key

    problem = solvable(load(path))  # a data set's first batch: the samples solve works
    forward_names = [line.name for line in problem.forward]
    parameter_names = [leaf.name for leaf in problem.parameters] + [d.name for d in problem.derived]
    assert forward_names or parameter_names
    assert set(data["values"]) == set(forward_names) | ({"L"} if problem.loss is not None else set())
    has_loss = problem.loss is not None  # without a loss there is nothing to backpropagate
    assert set(data["deltas"]) == (set(forward_names) if has_loss else set())
    # a frozen parameter is differentiated only when a part asks about it (docs/problem-format.md)
    every = not problem.ask or any(a.kind == "show" and a.what[0] in ("gradients", "all") for a in problem.ask)
    named = {w for a in problem.ask if a.kind in ("gradient", "update", "derive") for w in a.what}
    unasked = set() if every else set(problem.frozen) - named
    assert set(data["gradients"]) == (set(parameter_names) - unasked if has_loss else set())

    for name, got in data["values"].items():
        assert_matches(got, sol.values[name], sol.shapes[name], f"values.{name}")
    if has_loss:
        assert_matches(data["loss"], sol.loss, (), "loss")
        assert_matches(data["values"]["L"], sol.loss, (), "values.L")
    else:
        assert data["loss"] is None
    for name, got in data["deltas"].items():
        assert_matches(got, sol.deltas[name], sol.shapes[name], f"deltas.{name}")
    for name, got in data["gradients"].items():
        assert_matches(got, sol.gradients[name], sol.shapes[name], f"gradients.{name}")

    if raw.get("learning_rate") is not None:
        assert math.isclose(data["learning_rate"], float(raw["learning_rate"]), rel_tol=1e-15)
        assert set(data["updated"]) == set(parameter_names)
        for name, got in data["updated"].items():
            assert_matches(got, sol.updated[name], sol.shapes[name], f"updated.{name}")
        assert_matches(data["loss_after"], sol.loss_after, (), "loss_after")
    else:
        for key in ("learning_rate", "updated", "loss_after"):
            assert key not in data, key


CONTRACT_EXAMPLE = """\
title: Addition network
inputs:
  x: [1, 1]
parameters:
  W1: [[-0.7, 0.2], [0.9, 0.5]]
  b1: [-0.4, 0.1]
  W2: [[-0.2, 0.6]]
  b2: [0.8]
targets:
  t: [2]
forward:
  z1: W1 @ x + b1
  h1: relu(z1)
  y: W2 @ h1 + b2
loss: sse(y, t)
learning_rate: 0.1
"""

# The JSON object printed in the problem-format contract for the example above.
CONTRACT_JSON = {
    "values": {"z1": [-0.9, 1.5], "h1": [0, 1.5], "y": [1.7], "L": 0.09},
    "loss": 0.09,
    "deltas": {"y": [-0.6], "h1": [0.12, -0.36], "z1": [0, -0.36]},
    "gradients": {"W1": [[0, 0], [-0.36, -0.36]], "b1": [0, -0.36], "W2": [[0, -0.9]], "b2": [-0.6]},
    "learning_rate": 0.1,
    "updated": {"W1": [[-0.7, 0.2], [0.936, 0.536]], "b1": [-0.4, 0.136], "W2": [[-0.2, 0.69]], "b2": [0.86]},
    "loss_after": 0.0009290304,
}


def _close(a, b, where=""):
    if isinstance(b, dict):
        assert isinstance(a, dict) and set(a) == set(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for k in b:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{i}]")
    else:
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), f"{where}: {a} != {b}"


def test_json_of_the_contract_example_is_the_contracts_json(tmp_path):
    f = tmp_path / "example.yaml"
    f.write_text(CONTRACT_EXAMPLE, encoding="utf-8")
    result = run("solve", f, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["title"] == "Addition network"
    _close({k: data[k] for k in CONTRACT_JSON}, CONTRACT_JSON)


def test_console_script_runs_in_a_subprocess():
    exe = Path(sys.executable).parent / "tutor"
    tutor = str(exe) if exe.exists() else shutil.which("tutor")
    assert tutor, "the `tutor` console script is not installed"
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
    env["PYTHONPATH"] = str(ROOT)  # the script's entry point, running this checkout's package
    done = subprocess.run([tutor, "solve", str(ROOT / "problems" / "ws24_sheet4_ex1.yaml"), "--json"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert math.isclose(data["loss"], 0.09, rel_tol=1e-12)   # the sheet's published L
    assert data["values"]["Z_in"] == [-0.9, 1.5]
    # piped, with no colour option at all: no escape sequences in the terminal output either
    done = subprocess.run([tutor, "solve", str(ROOT / "problems" / "ws24_sheet4_ex1.yaml")],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert "0.09" in done.stdout
    assert not ANSI.search(done.stdout), "ANSI escapes when piped"


# -- --verify, --digits, --exact ---------------------------------------------------------------

@pytest.mark.parametrize("path", NUMERIC, ids=lambda p: p.name)
def test_verify_prints_one_finite_difference_line_per_gradient_shown(path):
    plain = run("solve", path, "--no-color")
    checked = run("solve", path, "--no-color", "--verify")
    assert plain.exit_code == 0 and checked.exit_code == 0, checked.stderr
    assert CHECK_LINE not in plain.stdout
    sol = solve(load(path), verify=True)
    shown = [s for s in sol.steps() if isinstance(s, (Gradient, ThroughTime))]  # a shared weight's: its sum over time
    assert all(s.check is not None for s in shown)
    assert checked.stdout.count(CHECK_LINE) == len(shown)


def test_verify_on_a_whole_solution_checks_every_parameter(tmp_path):
    f = tmp_path / "example.yaml"
    f.write_text(CONTRACT_EXAMPLE, encoding="utf-8")
    result = run("solve", f, "--no-color", "--verify")
    assert result.exit_code == 0, result.stderr
    lines = [l for l in result.stdout.splitlines() if CHECK_LINE in l]
    shown = [s for s in solve(loads(CONTRACT_EXAMPLE), verify=True).steps() if isinstance(s, Gradient)]
    assert {s.name for s in shown} == {"W1", "b1", "W2", "b2"}   # whole, or weight by weight for a small layer
    assert len(lines) == len(shown) >= 4
    data = json.loads(run("solve", f, "--json", "--verify").stdout)
    # the finite differences agree with the contract's gradients
    _close(data["finite_differences"], CONTRACT_JSON["gradients"])


def test_digits_changes_the_output():
    path = ROOT / "problems" / "exercise3_sigmoid.yaml"
    sol = solve(load(path), verify=False)
    h = [float(v) for v in sol.values["h1"]]          # sigmoid(1.2), sigmoid(1.5)
    default = run("solve", path, "--no-color")
    two = run("solve", path, "--no-color", "--digits", "2")
    assert default.exit_code == 0 and two.exit_code == 0
    assert default.stdout != two.stdout
    for v in h:
        assert f"{v:.4g}" in default.stdout
        assert f"{v:.2g}" in two.stdout
        assert f"{v:.4g}" not in two.stdout


def test_exact_shows_fractions():
    path = ROOT / "problems" / "ws24_sheet4_ex1.yaml"
    default = run("solve", path, "--no-color")
    exact = run("solve", path, "--no-color", "--exact")
    assert default.exit_code == 0 and exact.exit_code == 0
    assert "9/100" in exact.stdout          # L = 0.09
    assert "17/10" in exact.stdout          # A = 1.7
    assert "9/100" not in default.stdout
    assert "0.09" in default.stdout


# -- width and colours -----------------------------------------------------------------------

@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.name)
@pytest.mark.parametrize("extra", [(), ("--verify",)], ids=["plain", "verify"])
def test_lines_fit_in_80_columns(path, extra):
    result = run("solve", path, "--no-color", *extra, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    long = [(n, cell_len(l), l) for n, l in enumerate(result.stdout.splitlines(), 1) if cell_len(l) > 80]
    assert not long, "lines wider than 80 columns:\n" + "\n".join(
        f"  line {n} ({w} columns): {l[:70]}…" for n, w, l in long)


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.name)
@pytest.mark.parametrize("extra", [("--no-color",), ()], ids=["no-color", "piped"])
def test_no_ansi_escapes(path, extra):
    env = {"FORCE_COLOR": None, "CLICOLOR_FORCE": None, "COLUMNS": "80"}
    result = run("solve", path, *extra, env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip()
    assert not ANSI.search(result.stdout)


# -- errors --------------------------------------------------------------------------------------
# (file text, the line the error must point at, strings the message must contain)

ERRORS = {
    "bad_yaml": ("inputs:\n  x: [1, 2]\nloss: sum(x): oops\n", 3, ["YAML"]),
    "bad_yaml_unclosed": ("inputs:\n  x: [1, 2\nloss: sum(x)\n", None, ["YAML"]),
    "unknown_name": ("inputs:\n  x: [1, 2]\nforward:\n  hidden_out: x * mystery\nloss: sum(hidden_out)\n",
                     4, ["hidden_out", "mystery"]),
    "unknown_name_in_loss": ("inputs:\n  x: [1, 2]\nloss: sse(x, nowhere)\n", 3, ["loss", "nowhere"]),
    "unknown_function": ("inputs:\n  x: [1, 2]\nforward:\n  hidden_out: frobnicate(x)\nloss: sum(hidden_out)\n",
                         4, ["hidden_out", "frobnicate"]),
    "shapes_do_not_fit": ("inputs:\n  x: [1, 2, 3]\nparameters:\n  W: [[1, 2], [3, 4]]\nforward:\n"
                          "  prod_out: W @ x\nloss: sum(prod_out)\n", 6, ["prod_out"]),
    "shapes_do_not_add": ("inputs:\n  x: [1, 2, 3]\nparameters:\n  b: [1, 2]\nforward:\n"
                          "  sum_out: x + b\nloss: sum(sum_out)\n", 6, ["sum_out"]),
    "use_before_definition": ("inputs:\n  x: [1, 2]\nforward:\n  first_node: second_node + 1\n"
                              "  second_node: x * 2\nloss: sum(second_node)\n", 4, ["first_node", "second_node"]),
    "loop": ("inputs:\n  x: [1, 2]\nforward:\n  loop_node: loop_node + x\nloss: sum(loop_node)\n",
             4, ["loop_node"]),
    "value_is_a_word": ("inputs:\n  x: [1, 2]\nparameters:\n  weight_w: abc\nloss: sum(x) * weight_w\n",
                        4, ["weight_w"]),
    "value_is_a_bool": ("inputs:\n  x: [1, 2]\nparameters:\n  weight_w: [1, true]\nloss: sum(x * weight_w)\n",
                        4, ["weight_w"]),
    "value_is_nan": ("inputs:\n  x: [1, 2]\nparameters:\n  weight_w: .nan\nloss: sum(x) * weight_w\n",
                     4, ["weight_w"]),
    "value_divides_by_zero": ("inputs:\n  x: [1, 2]\nparameters:\n  weight_w: \"1/0\"\n"
                              "loss: sum(x) * weight_w\n", 4, ["weight_w"]),
    "input_is_a_mapping": ("inputs:\n  x_in: {a: 1}\nloss: sum(x_in)\n", 2, ["x_in"]),
    "missing_loss": ("inputs:\n  x: [1, 2]\nparameters:\n  weight_w: 2\n", 1, ["loss"]),
    "unknown_top_level_key": ("inputs:\n  x: [1, 2]\nparameters:\n  w: 2\nlerning_rate: 0.1\n"
                              "loss: sum(x) * w\n", 5, ["lerning_rate"]),
    "alias_names_nothing": ("inputs:\n  x: [1, 2]\nparameters:\n  W: [[1, 2]]\nloss: sum(W @ x)\n"
                            "aliases:\n  w99: \"Q[1,1]\"\n", 7, ["w99", "Q[1,1]"]),
    "alias_out_of_range": ("inputs:\n  x: [1, 2]\nparameters:\n  W: [[1, 2]]\nloss: sum(W @ x)\n"
                           "aliases:\n  w99: \"W[3,1]\"\n", 7, ["w99", "W[3,1]"]),
    "ask_names_nothing": ("inputs:\n  x: [1, 2]\nparameters:\n  W: [[1, 2]]\nloss: sum(W @ x)\nask:\n"
                          "  - {part: a, show: loss}\n  - {part: b, gradient: nothing_here}\n",
                          8, ["nothing_here"]),
}


@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["text", "json"])
@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_error_is_one_line_with_file_line_and_key(kind, json_flag, tmp_path):
    text, line, needles = ERRORS[kind]
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text, encoding="utf-8")
    result = run("solve", path, *json_flag)
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    message = lines[0]
    if line is None:
        assert re.match(rf"error: {re.escape(str(path))}:\d+: ", message), message
    else:
        assert message.startswith(f"error: {path}:{line}: "), message
    rest = message[len(f"error: {path}:"):]
    for needle in needles:
        assert needle in rest, f"{needle!r} not in {message!r}"


def test_a_line_that_uses_itself_is_not_said_to_be_defined_further_down(tmp_path):
    """`a: a + x` is a loop on one line; the message must not send the student looking further down."""
    path = tmp_path / "loop.yaml"
    path.write_text(ERRORS["loop"][0], encoding="utf-8")
    result = run("solve", path)
    assert result.exit_code == 2
    assert "loop_node" in result.stderr
    assert "further down" not in result.stderr, result.stderr


def test_missing_file_is_an_error_not_a_traceback(tmp_path):
    path = tmp_path / "nope.yaml"
    result = run("solve", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {path}")
    assert len(result.stderr.splitlines()) == 1
