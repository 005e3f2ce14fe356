"""Rounding each step as by hand (--round-each-step N, rounding: {each_step: N}): the rounded chain
against one computed independently with Python's decimal module (half up), the exact value beside an
answer the rounding changes, and tutor check accepting a step-rounded answer with the drift explained."""
from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal as D, localcontext
from pathlib import Path

import pytest
import sympy as sp
from rich.console import Console

from backprop_tutor import loads
from backprop_tutor.derivation import derive
from backprop_tutor.problem import load
from backprop_tutor.render.html import to_html
from backprop_tutor.render.latex import to_latex
from backprop_tutor.render.terminal import print_solution
from backprop_tutor.errors import EXIT_BAD_INPUT, EXIT_WRONG_ANSWERS, ProblemError, UsageError
from backprop_tutor.rounding import half_up
from backprop_tutor.solver import solve
from helpers import cli

ROOT = Path(__file__).resolve().parent.parent
A9 = ROOT / "problems" / "dnn_a9_q3.yaml"
PREC = 60

SIGMOID_NET = """\
title: two sigmoid units
inputs:
  x: 1
parameters:
  w1: -0.8
  w2: 0.6
targets:
  t: 1
forward:
  z1: w1 * x
  h: sigmoid(z1)
  z2: w2 * h
  y: sigmoid(z2)
loss: half_sse(y, t)
"""


def r(x: D, n: int) -> D:
    """x rounded half up (away from zero on a tie) to n decimals."""
    with localcontext() as c:
        c.prec = PREC
        return x.quantize(D(1).scaleb(-n), rounding=ROUND_HALF_UP)


def sig(z: D) -> D:
    with localcontext() as c:
        c.prec = PREC
        return 1 / (1 + (-z).exp())


def as_decimal(x) -> D:
    return D(str(sp.N(x, PREC)))


def sigmoid_chain(n: int | None) -> dict:
    """The sigmoid network by hand: each value rounded to n decimals before use (None: exact)."""
    def k(v):
        return v if n is None else r(v, n)
    with localcontext() as c:
        c.prec = PREC
        w1, w2, x, t = D("-0.8"), D("0.6"), D(1), D(1)
        z1 = k(w1 * x)
        h = k(sig(z1))
        z2 = k(w2 * h)
        y = k(sig(z2))
        dy = k(y - t)
        dz2 = k(dy * y * (1 - y))  # σ′ through the unit's (rounded) output, as a sheet writes it
        return {"y": y, "dy": dy, "dz2": dz2}


@pytest.mark.parametrize("value, decimals, expected", [
    ("0.125", 2, "0.13"), ("-0.125", 2, "-0.13"), ("0.124999", 2, "0.12"), ("-0.135", 2, "-0.14"),
    ("2.5", 0, "3"), ("-2.5", 0, "-3"), ("0.0005", 3, "0.001"), ("7", 2, "7")])
def test_half_up_rounds_ties_away_from_zero_as_people_write(value, decimals, expected):
    assert half_up(sp.Rational(value), decimals) == sp.Rational(expected)


def test_half_up_of_an_irrational_value_is_exact_and_agrees_with_decimal():
    for z in ("-0.7", "0.1", "1.2", "-3.3"):
        got = half_up(1 / (1 + sp.exp(-sp.Rational(z))), 5)
        assert isinstance(got, sp.Rational)
        assert D(got.p) / D(got.q) == r(sig(D(z)), 5)


def test_three_decimals_change_the_last_digit_of_the_output_delta():
    hand, exact = sigmoid_chain(3), sigmoid_chain(None)
    assert r(exact["dz2"], 3) != hand["dz2"]  # the premise: the rounding does change that digit
    rounded = derive(loads(SIGMOID_NET), "z2", round_each_step=3)
    assert as_decimal(rounded.whole.value) == hand["dz2"]
    assert rounded.rounding == 3
    assert abs(as_decimal(rounded.exact) - exact["dz2"]) < D("1e-40")
    whole = derive(loads(SIGMOID_NET), "z2", round_each_step="off")
    assert abs(as_decimal(whole.whole.value) - exact["dz2"]) < D("1e-40")
    assert whole.rounding is None and whole.exact is None


def test_the_solution_carries_the_rounded_chain_and_the_exact_value_only_where_they_differ():
    s = solve(loads(SIGMOID_NET), round_each_step=3)
    hand = sigmoid_chain(3)
    assert as_decimal(s.values["y"]) == hand["y"]
    assert as_decimal(s.deltas["z2"]) == hand["dz2"]
    exact = solve(loads(SIGMOID_NET))
    for rr, e in zip(s.results, exact.results):
        same = half_up(e.value, 3) == rr.value
        assert (rr.exact is None) == same
        if not same:
            assert rr.exact == e.value and rr.decimals == 3


def test_the_terminal_says_the_chain_is_rounded_and_shows_the_exact_value_beside(tmp_path):
    f = tmp_path / "net.yaml"
    f.write_text(SIGMOID_NET)
    out = cli("derive", f, "--wrt", "z2", "--round-each-step", "3").output
    assert "Each step rounded half up to 3 decimals" in out
    assert f"= {sigmoid_chain(3)['dz2']}" in out
    assert "exact: -0.1124" in out and "rounding each step to 3 decimals" in out
    plain = cli("derive", f, "--wrt", "z2", "--round-each-step", "off").output
    assert "rounded half up" not in plain and "exact:" not in plain and "-0.1124" in plain


def a9_by_hand(n: int | None) -> dict:
    """Assignment 9 Q3 (y = W3 relu(W1 x) + relu(W2 x), L = ½‖y − ŷ‖²) with plain decimals, each
    value rounded half up to n decimals when a step makes it (None: exact)."""
    def k(v):
        return v if n is None else r(v, n)
    W1 = [["0.4", "0.5", "0.25", "0.1"], ["0.2", "0.25", "0.4", "0.5"], ["0.1", "0.75", "0.3", "0"]]
    W2 = [["0.1", "0.25", "0.5", "0.4"], ["0", "0.3", "0.75", "0.1"]]
    W3 = [["1", "0.5", "0.25"], ["0.2", "0.3", "0.4"]]
    W1, W2, W3 = ([[D(v) for v in row] for row in W] for W in (W1, W2, W3))
    x, yhat = [D(1), D(2), D(3), D(4)], [D(1), D(0)]

    def mv(W, v):
        return [k(sum(a * b for a, b in zip(row, v))) for row in W]

    def relu(v):
        return [max(a, D(0)) for a in v]

    u1 = mv(W1, x)
    z1 = relu(u1)
    u2 = mv(W2, x)
    z2 = relu(u2)
    u3 = mv(W3, z1)
    y = [k(a + b) for a, b in zip(u3, z2)]
    loss = k(sum((a - b) ** 2 for a, b in zip(y, yhat)) / 2)
    dy = [k(a - b) for a, b in zip(y, yhat)]
    du2 = [k(d * (1 if u > 0 else 0)) for d, u in zip(dy, u2)]
    dz1 = [k(sum(W3[i][j] * dy[i] for i in range(2))) for j in range(3)]
    du1 = [k(d * (1 if u > 0 else 0)) for d, u in zip(dz1, u1)]

    def outer(d, v):
        return [[k(a * b) for b in v] for a in d]
    return {"L": loss, "y": y, "W1": outer(du1, x), "W2": outer(du2, x), "W3": outer(dy, z1)}


def entries(m) -> list:
    return [as_decimal(v) for v in m]


def test_assignment_9_q3_with_each_step_2_is_the_two_decimal_chain():
    text = A9.read_text() + "\nrounding: {each_step: 2}\n"
    s = solve(loads(text, "a9.yaml"))
    hand, exact = a9_by_hand(2), a9_by_hand(None)
    assert s.rounding == 2
    assert as_decimal(s.loss) == hand["L"]
    assert entries(s.values["y"]) == hand["y"]
    for name in ("W1", "W2", "W3"):
        assert entries(s.gradients[name]) == [v for row in hand[name] for v in row]
        # the documented drift: at most DRIFT_UNITS units of the last decimal kept
        for got, want in zip(entries(s.gradients[name]), [v for row in exact[name] for v in row]):
            assert abs(got - want) <= DRIFT_UNITS * D("0.01")
    assert any(abs(a - b) > 0 for a, b in zip(entries(s.gradients["W3"]),
                                              [v for row in exact["W3"] for v in row]))
    unrounded = solve(loads(text, "a9.yaml"), round_each_step="off")
    assert unrounded.rounding is None
    assert entries(unrounded.gradients["W3"]) == [v for row in exact["W3"] for v in row]


DRIFT_UNITS = 5  # docs/problem-format.md: a handful of units in the last decimal kept, on a sheet this size


def check_file(tmp_path, text: str) -> Path:
    f = tmp_path / "answers.yaml"
    f.write_text(text)
    return f


def test_check_accepts_a_step_rounded_answer_and_explains_the_drift(tmp_path):
    net = tmp_path / "net.yaml"
    net.write_text(SIGMOID_NET.replace("forward:", "learning_rate: 0.1\nforward:"))
    hand, exact = sigmoid_chain(3), sigmoid_chain(None)
    # δ_z2 is not asked by name: ∂L/∂z2 is the same value, and the exact one differs at 3 digits
    res = cli("check", net, "--answer", f"dL/dz2={hand['dz2']}", "--json")
    data = json.loads(res.output)
    (m,) = [m for m in data["marks"] if m["key"] is not None]  # the asked values not given are missing
    assert m["status"] == "right" and m["chain"]["each_step"] == 3
    assert res.exit_code == 0
    shown = cli("check", net, "--answer", f"dL/dz2={hand['dz2']}")
    assert "rounded to 3 decimals" in shown.output and "not from" in shown.output
    assert "a mistake" in shown.output
    wrong = cli("check", net, "--answer", f"dL/dz2={hand['dz2'] - D('0.004')}", "--json")
    assert wrong.exit_code == EXIT_WRONG_ANSWERS
    (m,) = [m for m in json.loads(wrong.output)["marks"] if m["key"] is not None]
    assert m["status"] == "wrong" and m["chain"] is None
    right = json.loads(cli("check", net, "--answer", f"dL/dz2={r(exact['dz2'], 3)}", "--json").output)
    (m,) = [m for m in right["marks"] if m["key"] is not None]
    assert m["status"] == "right" and m["chain"] is None


@pytest.mark.parametrize("setting, words", [
    ("rounding: 2", "must be a mapping"), ("rounding: {each_step: 13}", "from 0 to 12"),
    ("rounding: {each_step: -1}", "from 0 to 12"), ("rounding: {each_step: 1.5}", "from 0 to 12"),
    ("rounding: {steps: 2}", "must be a mapping")])
def test_a_bad_rounding_key_is_one_line_naming_it(setting, words):
    with pytest.raises(ProblemError) as e:
        loads(SIGMOID_NET + setting + "\n", "net.yaml")
    assert "rounding" in str(e.value) and words in str(e.value)


@pytest.mark.parametrize("flag", ["x", "13", "-1", "2.5", ""])
def test_a_bad_flag_is_refused_in_one_line(tmp_path, flag):
    f = tmp_path / "net.yaml"
    f.write_text(SIGMOID_NET)
    res = cli("solve", f, "--round-each-step", flag)
    assert res.exit_code == EXIT_BAD_INPUT
    assert res.output.count("\n") == 1 and "round-each-step" in res.output
    with pytest.raises(UsageError):
        solve(loads(SIGMOID_NET), round_each_step=flag)


def test_the_file_setting_is_overridden_by_the_flag(tmp_path):
    f = tmp_path / "net.yaml"
    f.write_text(SIGMOID_NET + "rounding: {each_step: 3}\n")
    rounded = json.loads(cli("solve", f, "--json").output)
    assert rounded["rounding"]["each_step"] == 3
    assert rounded["values"]["y"] == float(sigmoid_chain(3)["y"])
    exact = json.loads(cli("solve", f, "--json", "--round-each-step", "off").output)
    assert "rounding" not in exact
    assert abs(exact["values"]["y"] - float(sigmoid_chain(None)["y"])) < 1e-15


def test_every_format_says_the_chain_is_rounded_and_gives_the_exact_value(tmp_path):
    f = tmp_path / "a9.yaml"
    f.write_text(A9.read_text() + "\nrounding: {each_step: 2}\n")
    data = json.loads(cli("solve", f, "--json").output)
    differs = {(d["kind"], d["name"]): d for d in data["rounding"]["differs"]}
    hand, exact = a9_by_hand(2), a9_by_hand(None)
    w1 = differs[("gradients", "W1")]
    assert w1["value"] == [[float(v) for v in row] for row in hand["W1"]]
    assert all(abs(a - float(b)) < 1e-12 for row, want in zip(w1["exact"], exact["W1"]) for a, b in zip(row, want))
    assert ("gradients", "W3") in differs
    for suffix in ("md", "tex", "html"):
        out = tmp_path / f"a9.{suffix}"
        assert cli("export", f, "-o", out).exit_code == 0
        text = out.read_text()
        assert "Each step rounded half up to 2 decimals" in text
        assert text.count("rounding each step to 2 decimals") >= len(differs)
    off = tmp_path / "off.md"
    cli("export", f, "-o", off, "--round-each-step", "off")
    assert "rounding each step" not in off.read_text()


def test_the_python_api_takes_round_each_step(tmp_path):
    import backprop_tutor
    f = tmp_path / "net.yaml"
    f.write_text(SIGMOID_NET)
    assert backprop_tutor.solve(f, round_each_step=3).rounding == 3
    d = backprop_tutor.derive(f, "z2", round_each_step=3)
    assert as_decimal(d.whole.value) == sigmoid_chain(3)["dz2"]


DIVIDED = """\
title: a value that rounds to zero and is then divided by
inputs:
  x: 0.001
parameters:
  w: 1
targets:
  t: 1
forward:
  a: w * x
  y: 1 / a
loss: half_sse(y, t)
"""


def test_a_chain_that_rounding_breaks_is_refused_in_solve_and_skipped_in_check(tmp_path):
    f = tmp_path / "div.yaml"
    f.write_text(DIVIDED)
    res = cli("solve", f, "--round-each-step", "2")
    assert res.exit_code == EXIT_BAD_INPUT and "division by zero" in res.output
    assert res.output.count("\n") == 1
    marks = json.loads(cli("check", f, "--answer", "L=499000.5", "--json").output)["marks"]
    (m,) = [m for m in marks if m["key"] is not None]
    assert m["status"] == "right" and m["chain"] is None


def test_a_derivation_in_latex_and_markdown_says_it_is_rounded_and_gives_the_exact_value(tmp_path):
    f = tmp_path / "net.yaml"
    f.write_text(SIGMOID_NET)
    tex = cli("derive", f, "--wrt", "z2", "--round-each-step", "3", "--latex").output
    assert "Each step rounded half up to 3 decimals" in tex
    assert "exact: } -0.1124" in tex and "rounding each step to 3 decimals" in tex
    d = derive(loads(SIGMOID_NET), "z2", round_each_step=3)
    md = d._repr_markdown_()
    assert "exact: $-0.1124$" in md and "rounding each step to 3 decimals" in md
    assert "rounding each step" not in derive(loads(SIGMOID_NET), "z2")._repr_markdown_()


@pytest.mark.parametrize("notation", ["neuron", "matrix"])
@pytest.mark.parametrize("decimals", [1, 2, 3])
def test_a_delta_numbers_line_uses_the_rounded_outputs_it_is_computed_from(notation, decimals):
    """By hand σ′(z) is o(1 − o) with o as the forward line rounded it: the numbers line says so, and
    its arithmetic, rounded, is the δ's value (with σ(z) of the rounded z it would not be: σ(−0.8) =
    0.3100 rounds to 0.3 at 1 decimal)."""
    sol = solve(loads(SIGMOID_NET), round_each_step=decimals, notation=notation)
    deltas = [s for s in sol.steps() if type(s).__name__ == "Delta" and s.numbers is not None]
    assert {s.name for s in deltas} >= {"z1", "z2"}
    for s in deltas:
        assert not any(type(f).__name__ == "sigmoid" for f in s.numbers.atoms(sp.Function)), s.numbers
        with sp.evaluate(True):
            worked = sp.nsimplify(s.numbers.doit())
        assert half_up(worked, decimals) == s.value, (s.name, s.numbers, s.value)


def test_verify_checks_the_exact_chain_when_each_step_is_rounded(tmp_path):
    """A difference quotient of the exact loss checks the exact gradient, not the rounded one: the check
    names the exact gradient (the exact chain's own value) and its difference from it is tiny, though the
    rounded gradient is off by the drift."""
    rounded = solve(loads(SIGMOID_NET), round_each_step=2, verify=True)
    exact = solve(loads(SIGMOID_NET), round_each_step="off")
    grads = {s.name: s for s in rounded.steps() if type(s).__name__ == "Gradient" and s.check is not None}
    assert set(grads) == {"w1", "w2"}
    for name, g in grads.items():
        assert g.check.exact == exact.gradients[name]
        assert abs(sp.N(g.check.difference)) < 1e-9
        assert abs(sp.N(g.check.estimate - g.check.exact)) < 1e-9
    assert any(g.value != g.check.exact for g in grads.values())  # the rounded chain drifts here
    f = tmp_path / "net.yaml"
    f.write_text(SIGMOID_NET)
    text = cli("solve", f, "--round-each-step", "2", "--verify", "--no-color").stdout
    assert "central finite difference of the exact loss" in text and "from the exact gradient" in text


def test_the_answers_table_gives_the_exact_value_beside_a_drifted_answer():
    rounded = solve(load(A9), round_each_step=2)
    exact_loss = solve(load(A9), round_each_step="off").loss
    shown = f"{sp.N(exact_loss, 4)}"[:5]  # 4 significant digits, as the table writes it
    console = Console(record=True, width=80, no_color=True)
    print_solution(rounded, console)
    table = console.export_text().split("Answers", 1)[1]
    assert f"48.24   exact ≈ {shown}" in table
    assert "exact:" in table  # a matrix's exact value on lines of its own under it
    assert f"\\text{{exact }} \\approx {shown}" in to_latex(rounded).split("Answers", 1)[1]
    assert "<mtext>exact</mtext>" in to_html(rounded).split("<h2>Answers</h2>", 1)[1]
