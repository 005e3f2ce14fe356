"""Symbolic problems (values left open with null) in every output, with and without an update."""
import io
import json

import pytest
import sympy as sp
from rich.console import Console
from typer.testing import CliRunner

from backprop_tutor import loads, solve
from backprop_tutor.cli import app
from backprop_tutor.render.jsonout import to_json
from backprop_tutor.render.latex import to_latex
from backprop_tutor.render.markdown import to_markdown
from backprop_tutor.render.terminal import print_solution
from backprop_tutor.solution import Gradient, LossValue, Update

SYM = """title: symbolic
parameters: {w: null}
inputs: {x: 3}
targets: {t: 5}
learning_rate: 0.1
forward: {y: w*x}
loss: half_sse(y, t)
"""
NO_RATE = SYM.replace("learning_rate: 0.1\n", "")
OPEN_INPUT = SYM.replace("w: null", "w: 2").replace("x: 3", "x: null")
VECTOR = """title: symbolic vector
parameters: {W: [[null, 1], [2, null]], b: [null, 0]}
inputs: {x: [1, 2]}
targets: {t: [0, 1]}
learning_rate: 0.5
forward:
  z: W @ x + b
  y: tanh(z)
loss: half_sse(y, t)
"""
FILES = {"sym": SYM, "no_rate": NO_RATE, "open_input": OPEN_INPUT, "vector": VECTOR}

runner = CliRunner()


def R(name):
    return sp.Symbol(name, real=True)


def terminal(solution) -> str:
    out = io.StringIO()
    print_solution(solution, Console(file=out, width=80, no_color=True, color_system=None))
    return out.getvalue()


@pytest.mark.parametrize("name", FILES)
def test_every_output_of_a_symbolic_file_is_written(name, tmp_path):
    s = solve(loads(FILES[name]), verify=True)
    assert "w" in terminal(s) or "W" in terminal(s)
    assert "\\section*" in to_latex(s)
    assert s._repr_latex_() and s._repr_markdown_()
    assert to_markdown(s).count("$$") % 2 == 0
    json.dumps(to_json(s))
    path = tmp_path / "problem.yaml"
    path.write_text(FILES[name], encoding="utf-8")
    for args in (["export", str(path), "-o", str(tmp_path / "out.tex")],
                 ["export", str(path), "-o", str(tmp_path / "v.tex"), "--verify"],
                 ["solve", str(path), "--verify", "--no-color"], ["solve", str(path), "--json", "--verify"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)


def test_the_loss_before_and_after_stays_on_lines_of_its_own():
    text = terminal(solve(loads(SYM)))
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "before the update" in line)
    # the 2-D fraction of the loss before the update is drawn whole, not cut at a comma
    assert all(", after:" not in line for line in lines)
    assert any("after the update" in line for line in lines[at:])


def _update(solution, name):
    return next(s for s in solution.steps() if isinstance(s, Update) and s.name == name)


def test_an_update_of_an_open_parameter_is_written_in_parameters_and_inputs():
    s = solve(loads(SYM))
    w = R("w")
    # by hand: L = (3w − 5)²/2, ∂L/∂w = 3(3w − 5), w' = w − 0.1·3(3w − 5) = w/10 + 3/2
    full_loss = (3 * w - 5) ** 2 / 2
    want_new = w - sp.Rational(1, 10) * sp.diff(full_loss, w)
    assert sp.expand(s.updated["w"] - want_new) == 0
    step = _update(s, "w")
    assert sp.expand(step.new - want_new) == 0
    assert step.numbers.free_symbols == {w}
    assert sp.expand(step.numbers.doit() - want_new) == 0
    after = full_loss.subs(w, want_new)
    assert sp.expand(s.loss_after - after) == 0
    for step in s.steps():
        if isinstance(step, LossValue) and step.before is not None:
            assert step.before.free_symbols == {w}
            assert sp.expand(step.before - full_loss) == 0
            assert step.numbers.free_symbols <= {w} and step.value.free_symbols == {w}


def test_the_after_pass_of_an_open_input_names_no_node_of_the_pass_before():
    s = solve(loads(OPEN_INPUT))
    x, w = R("x"), R("w")
    full_loss = (w * x - 5) ** 2 / 2
    want_new = 2 - sp.Rational(1, 10) * sp.diff(full_loss, w).subs(w, 2)
    assert sp.expand(s.updated["w"] - want_new) == 0
    assert sp.expand(s.loss_after - ((want_new * x - 5) ** 2 / 2)) == 0
    text = terminal(s).split("Loss after the update")[1].split("Answers ─")[0]  # the section alone
    assert "y - 5" not in text.split("y = w⋅x")[1]


def test_a_partly_open_matrix_is_updated_in_its_elements():
    s = solve(loads(VECTOR))
    # every element a symbol for differentiating, then the file's numbers put back in
    w = sp.Matrix(2, 2, [R(f"w{i}{j}") for i in (1, 2) for j in (1, 2)])
    c = sp.Matrix([R("c1"), R("c2")])
    z = w * sp.Matrix([1, 2]) + c
    full_loss = ((sp.tanh(z[0]) - 0) ** 2 + (sp.tanh(z[1]) - 1) ** 2) / 2
    given = {w[0, 1]: 1, w[1, 0]: 2, c[1]: 0, w[0, 0]: R("W[1,1]"), w[1, 1]: R("W[2,2]"), c[0]: R("b[1]")}
    for i in range(2):
        for j in range(2):
            want = (w[i, j] - sp.Rational(1, 2) * sp.diff(full_loss, w[i, j])).subs(given)
            assert sp.simplify(s.updated["W"][i, j] - want) == 0, (i, j)
    for i in range(2):
        want = (c[i] - sp.Rational(1, 2) * sp.diff(full_loss, c[i])).subs(given)
        assert sp.simplify(s.updated["b"][i] - want) == 0, i
    allowed = {R("W[1,1]"), R("W[2,2]"), R("b[1]")}
    assert s.updated["W"].free_symbols <= allowed and s.loss_after.free_symbols <= allowed
    before = next(st for st in s.steps() if isinstance(st, LossValue) and st.before is not None).before
    assert sp.simplify(before - full_loss.subs(given)) == 0


def _check_lines(text):
    return [line for line in text.splitlines() if "check" in line or "finite difference" in line]


@pytest.mark.parametrize("name", ["sym", "open_input", "vector"])
def test_verify_gives_every_parameter_a_verdict(name):
    s = solve(loads(FILES[name]), verify=True)
    grads = [step for step in s.steps() if isinstance(step, Gradient)]
    assert grads
    for g in grads:
        symbolic = bool(getattr(g.value, "free_symbols", None))
        assert g.check is not None, g.name
        if symbolic:
            assert g.check.estimate is None and g.check.difference is None
    text = terminal(s)
    latex, markdown = to_latex(s), to_markdown(s)
    for out in (text, latex, markdown):
        assert out.count("not checked (symbolic)") == sum(1 for g in grads if g.check.estimate is None)
    assert "difference" not in text.replace("finite difference", "") or all(
        g.check.estimate is not None for g in grads)
