"""--detail brief|normal|full: what each step shows, each δ, step and rule once, derive at normal."""
from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from fractions import Fraction as F
from pathlib import Path

import pytest
import sympy as sp

from backprop_tutor import UsageError, derive, load, loads, solve
from backprop_tutor.bundled import bundled
from backprop_tutor.derivation import derive_all
from backprop_tutor.errors import ProblemError
from backprop_tutor.render.jsonout import derivation_json, to_json
from backprop_tutor.render.latex import to_latex
from backprop_tutor.render.markdown import to_markdown
from backprop_tutor.solution import (ChainRule, Delta, Forward, Gradient, LocalDerivative, LossValue, Reference,
                                     WholeDerivative)

from helpers import cli

ROOT = Path(__file__).resolve().parent.parent
NAMES = [e.name for e in bundled()]


def terminal(*args) -> str:
    env = dict(os.environ, COLUMNS="80", PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "backprop_tutor", *args, "--no-color"], capture_output=True,
                         text=True, env=env, cwd=str(ROOT / "tests"), timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def part_text(output: str, label: str) -> str:
    """The lines of one part, from its heading to the next part's."""
    out, inside = [], False
    for line in output.splitlines():
        if line.startswith("(") and "───" in line:
            inside = line.startswith(f"({label}) ")
        if inside:
            out.append(line)
    return "\n".join(out)


# 1. the option, in the API and on the command line

@pytest.mark.parametrize("command", [["solve", "sheet12_p2"], ["derive", "sheet12_p2", "--wrt", "W21"],
                                     ["export", "sheet12_p2", "-o", "out.md"]])
def test_a_bad_detail_is_one_line_and_exit_2(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli(*command, "--detail", "most")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--detail" in lines[0] and "brief, normal, full" in lines[0], lines
    assert not (tmp_path / "out.md").exists()


def test_a_bad_detail_in_the_api_is_a_usage_error():
    with pytest.raises(UsageError):
        solve("sheet12_p2", detail="everything")
    with pytest.raises(UsageError):
        derive("sheet12_p2", "W21", detail="")


@pytest.mark.parametrize("name", ["sheet12_p2", "ws24_sheet4_ex1", "sheet2_ex4", "exercise3_skip_l1"])
def test_the_json_is_the_same_at_every_detail(name):
    """The detail chooses what is shown, never a value: the JSON object is the same."""
    objects = [to_json(solve(name, detail=d)) for d in ("brief", "normal", "full")]
    assert objects[0] == objects[1] == objects[2]


def test_the_solution_carries_its_detail_to_every_printer():
    for d in ("brief", "normal", "full"):
        sol = solve("sheet12_p2", detail=d)
        assert sol.detail == d and derive("sheet12_p2", "W21", detail=d).detail == d
        to_latex(sol), to_markdown(sol)  # every printer prints every step kind of it


def test_brief_shows_name_equals_value():
    sol = solve("sheet12_p2", detail="brief")
    for step in sol.steps():
        if isinstance(step, (Forward, LossValue, Delta, Gradient)):
            assert step.formula is None and step.numbers is None and not getattr(step, "rules", ()), step
    out = terminal("solve", "sheet12_p2", "--detail", "brief")
    assert "0.24" in part_text(out, "c") and "δ_y[1]" not in out and "relu(z) = max" not in out


def test_full_keeps_every_line_each_time():
    out = terminal("solve", "sheet12_p2", "--detail", "full")
    assert out.count("(sum over the nodes that use y₁: L)") == 2  # (c) and (d) each build δ_y, per neuron
    assert out.count("(sum over the nodes that use y₂: L)") == 2
    matrix = terminal("solve", "sheet12_p2", "--detail", "full", "--notation", "matrix")
    assert matrix.count("(sum over the nodes that use y: L)") == 2
    assert out.count("relu(z) = max(0, z)") == 2  # the forward pass and the pass after the update
    assert "∂y\n" in out or "∂W₂₁" in out


# 2. each δ once

@pytest.mark.parametrize("name", NAMES)
def test_each_delta_and_gradient_is_built_once_per_solution(name):
    sol = solve(name)
    shown = Counter((type(s).__name__, s.of, s.name, getattr(s, "index", None))
                    for s in sol.steps() if isinstance(s, (Delta, Gradient)))
    assert all(n == 1 for n in shown.values()), [k for k, n in shown.items() if n > 1]


def test_a_later_part_refers_to_an_earlier_delta_with_its_value():
    sol = solve("sheet12_p2")
    (d,) = [s for s in sol.sections if s.part == "d"]
    refs = [s for s in d.steps if isinstance(s, Reference)]
    assert [(r.kind, r.name, r.part) for r in refs] == [("delta", "y", "c")]
    # by hand: h = relu(x·W1) = (0.7, 0.2), y = h·W2 = (0.4, −0.17), δ_y = 2(y − z)
    x, W1 = [F(1), F(-1)], [[F(1, 2), F(3, 10)], [F(-1, 5), F(1, 10)]]
    W2, z = [[F(2, 5), F(-3, 10)], [F(3, 5), F(1, 5)]], [F(-1, 5), F(1, 2)]
    h = [max(F(0), sum(x[i] * W1[i][j] for i in range(2))) for j in range(2)]
    y = [sum(h[i] * W2[i][j] for i in range(2)) for j in range(2)]
    assert list(refs[0].value) == [sp.Rational(2 * (y[j] - z[j]).numerator, (y[j] - z[j]).denominator)
                                   for j in range(2)]
    out = terminal("solve", "sheet12_p2")
    assert "δ_y from (c)" in part_text(out, "d")
    assert "δ_y = ∂L/∂y" not in part_text(out, "d")
    assert "∂L/∂W₂₁ from (c)" in part_text(out, "e") and "∂L/∂W₁₂ from (d)" in part_text(out, "e")


def test_every_printer_writes_a_reference():
    sol = solve("sheet12_p2")
    assert "\\delta_{y} \\text{ from (c)}" in to_latex(sol)
    assert "\\delta_{y} \\text{ from (c)}" in to_markdown(sol)


# 3. each rule once; no "sum over" line; a symbolic δ not re-expanded

@pytest.mark.parametrize("name", NAMES)
def test_each_rule_is_stated_once_at_normal(name):
    rules = Counter(r for s in solve(name).steps() for r in getattr(s, "rules", ()))
    assert all(n == 1 for n in rules.values()), rules


def test_no_sum_over_line_at_normal():
    for name in ("sheet12_p2", "sheet2_ex3", "dnn_a9_q3"):
        assert "(sum over the nodes" not in terminal("solve", name)


def test_a_symbolic_delta_is_not_expanded_into_its_leaves_in_a_derivation():
    sol = solve("sheet2_ex3")
    deltas = {s.name: s for s in sol.steps() if isinstance(s, Delta)}
    # the sheet's δ₆ = δ₇·w₆₇ (notation: delta: output), not expanded into its leaves
    assert deltas["a6"].value is None and str(deltas["a6"].formula) == "delta_7*w67"
    (final,) = [s for s in sol.steps() if isinstance(s, Gradient)]
    assert final.value is not None and final.value.free_symbols  # the answer keeps its value


# 4. derive at normal

def _kinds(d):
    return {type(s) for s in d.steps()}


def test_derive_at_normal_is_the_chain_the_recursion_and_the_result():
    d = derive("sheet2_ex3", "w13")
    assert ChainRule in _kinds(d) and LocalDerivative not in _kinds(d) and WholeDerivative not in _kinds(d)
    for wide in (derive("sheet2_ex3", "w13", detail="full"), derive("sheet2_ex3", "w13", expand=True)):
        assert {LocalDerivative, WholeDerivative} <= _kinds(wide)
    # the JSON does not depend on the detail
    assert derivation_json(d) == derivation_json(derive("sheet2_ex3", "w13", detail="full"))


def test_the_sheets_redundancy_free_part_reads_like_the_model_solution():
    lines = [line for line in part_text(terminal("solve", "sheet2_ex3"), "b").splitlines() if line.strip()]
    assert len(lines) <= 24, "\n".join(lines)
    text = "\n".join(lines)
    assert "Local derivatives" not in text and "whole derivative" not in text


ASKED = """inputs: {x: 2}
parameters: {w: 3, v: 1}
targets: {t: 1}
forward: {h: tanh(w * x), y: v * h}
loss: half_sse(y, t)
ask:
  - {part: a, derive: w, show: [local, whole]}
  - {part: b, derive: v}
"""


def test_a_derive_part_may_ask_for_the_local_and_whole_derivatives():
    sol = solve(loads(ASKED))
    a = [s for sec in sol.sections if sec.part == "a" for s in sec.steps]
    b = [s for sec in sol.sections if sec.part == "b" for s in sec.steps]
    assert any(isinstance(s, LocalDerivative) for s in a) and any(isinstance(s, WholeDerivative) for s in a)
    assert not any(isinstance(s, (LocalDerivative, WholeDerivative)) for s in b)


def test_a_bad_derive_show_names_its_line():
    with pytest.raises(ProblemError) as e:
        loads(ASKED.replace("[local, whole]", "[local, steps]"), "x.yaml")
    assert e.value.line == 7 and "show" in str(e.value)


def test_derive_all_shows_the_shared_recursion_once():
    results = derive_all(load("ws24_sheet4_ex1"))
    deltas = Counter(s.name for d in results for s in d.steps() if isinstance(s, Delta))
    assert deltas and all(n == 1 for n in deltas.values())
    for d in results[1:]:
        assert not any(isinstance(s, ChainRule) for s in d.steps())
        grads = [(s.name, s.index) for s in d.steps() if isinstance(s, Gradient)]  # per weight when small
        assert {name for name, _ in grads} == {d.wrt} and len(set(grads)) == len(grads)


# 5. a part shows nothing an earlier part showed

@pytest.mark.parametrize("name", NAMES)
def test_no_step_is_shown_twice(name):
    steps = [s for s in solve(name).steps() if not isinstance(s, Reference)]
    assert all(steps.count(s) == 1 for s in steps)


def test_joined_displays_break_between_steps_only():
    """A section's steps share one align*: a page may break between two steps, never inside one."""
    from backprop_tutor.render.latex import LatexDocument, joined
    doc = LatexDocument()
    # steps too long for formula, numbers and value to share a line: three lines each
    terms = sp.symbols("x0:7")
    formula, numbers = sp.Add(*terms), sp.Add(*[sp.Integer(k + 100) for k in range(7)], evaluate=False)
    total = sp.Integer(sum(k + 100 for k in range(7)))
    first = doc.align("a", [formula, numbers, total], total)
    second = doc.align("b", [formula, numbers, total], total)
    (block,) = joined([first, second])
    assert block.count("\\begin{align*}") == 1
    # two lines each (the numbers and the value share one): one unbreakable line end inside each step
    assert block.count(" \\\\*\n") == 2 and block.count(" \\\\\n") == 1


def test_a_part_repeating_a_derivation_shows_its_whole_derivative():
    """sheet2_ex4 (d) asks again for ∂E/∂v, as one expression: (c) derived it, (d) shows the whole of it."""
    sol = solve("sheet2_ex4")
    d = [s for sec in sol.sections if sec.part == "d" for s in sec.steps]
    assert [type(s) for s in d] == [WholeDerivative]
    c = [s for sec in sol.sections if sec.part == "c" for s in sec.steps]
    # only the δs the gradient of v is built from are named again, not every δ below them
    assert sorted(s.name for s in c if isinstance(s, Reference)) == ["w13", "w24"]
    out = part_text(terminal("solve", "sheet2_ex4"), "c")
    assert "∂E/∂w₁₃ from (b)" in out and "δ_y from" not in out
