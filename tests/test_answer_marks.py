"""Each part ends in its answer (▶ in the terminal, \\boxed in LaTeX, bold in Markdown), the solution
ends in a table of every asked value, --part and --answers cut the output, and the top states once
how values are rounded."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction as F
from pathlib import Path

import pytest
import sympy as sp
from rich.console import Console

from backprop_tutor import UsageError, load, loads
from backprop_tutor.render.jsonout import to_json
from helpers import sheet12_by_hand
from backprop_tutor.render.latex import to_latex
from backprop_tutor.render.markdown import to_markdown
from backprop_tutor.render.terminal import TerminalPrinter, print_solution
from backprop_tutor.solution import Off
from backprop_tutor.solver import only_parts, solve

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
SHEET12 = ROOT / "problems" / "sheet12_p2.yaml"
WS24 = ROOT / "problems" / "ws24_sheet4_ex1.yaml"
ROUNDED_ONCE = "Values rounded to 4 significant digits; exact values carried."

NO_ASK = """
title: One ReLU unit, no parts
inputs: {x: [1, 2]}
parameters: {w: [[0.5, -0.25]], b: [0.5]}
targets: {t: [1]}
forward:
  z: w @ x + b
  h: relu(z)
loss: sse(h, t)
learning_rate: 0.5
"""

# ∂L/∂w = δ_z·x is 0 because x = 0, with the ReLU on (z = 1 > 0): no unit is off
ZERO_INPUT = """
title: A zero from the input, not from a ReLU
inputs: {x: 0}
parameters: {w: 2, b: 1}
targets: {t: 3}
forward:
  z: w * x + b
  h: relu(z)
loss: sse(h, t)
"""


def terminal(solution, width: int = 80, **kw) -> str:
    console = Console(width=width, no_color=True, highlight=False, record=True, file=open(os.devnull, "w"))
    print_solution(solution, console, **kw)
    return console.export_text()


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-m", "backprop_tutor", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300, cwd=cwd)


def rounded(x: F, digits: int = 4) -> str:
    """x to `digits` significant digits, half up (by Decimal, not the tool): an exact value without trailing
    zeros, a rounded one with all `digits` of them (0.7850 says four digits)."""
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(x.numerator) / Decimal(x.denominator)
        ctx.prec, ctx.rounding = digits, ROUND_HALF_UP
        d = +exact
    text = format(d, "f")
    if d == exact:
        return text.rstrip("0").rstrip(".") if "." in text else text
    return text


def part_blocks(text: str, heading) -> dict:
    """The text of each part, from its first heading to the next part's (or the answers table)."""
    starts = [(m.start(), m.group(1)) for m in heading.finditer(text)]
    blocks: dict = {}
    for i, (at, label) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        blocks[label] = blocks.get(label, "") + text[at:end]
    return blocks


# -- 1. each part ends in its answer ---------------------------------------------------------------

@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_every_part_with_an_asked_value_ends_in_a_marked_answer(path):
    solution = solve(load(path))
    asked = list(dict.fromkeys(r.part for r in solution.results))
    if not asked:
        assert "▶" not in terminal(solution) and "\\boxed" not in to_latex(solution)
        pytest.skip(f"{path.stem}: its parts ask for no value (graphs, dimensions, givens)")
    text = terminal(solution)
    term = part_blocks(text.split("\nAnswers ─")[0], re.compile(r"^\(([^)]+)\) .*─", re.M))
    tex = part_blocks(to_latex(solution).split("\\subsection*{Answers}")[0],
                      re.compile(r"\\subsection\*\{\(([^)]+)\)"))
    md = part_blocks(to_markdown(solution).split("### Answers")[0], re.compile(r"^### \(([^)]+)\)", re.M))
    for part in asked:
        mine = [r for r in solution.results if r.part == part]
        assert "▶" in term[part].split("\n\n")[-2] or "▶" in term[part].rstrip().rsplit("\n\n", 1)[-1], \
            f"{path.stem} ({part}): the terminal part does not end in ▶"
        assert tex[part].count("\\boxed{") >= len(mine), f"{path.stem} ({part}): {len(mine)} values, fewer boxes"
        assert md[part].rstrip().rsplit("\n\n", 1)[-1].startswith("**▶ $"), f"{path.stem} ({part}): no bold answer"
    for part in set(term) - set(asked):
        assert "▶" not in term[part] or any(r.part == part for r in solution.results)


def test_a_part_that_only_restates_the_givens_has_no_mark():
    solution = solve(load(WS24))
    assert "ii" not in {r.part for r in solution.results}
    assert [r.part for r in solution.results] == ["iii"] * 5 + ["iv"]


def test_the_marks_of_ws24_read_as_the_model_solution():
    text = terminal(solve(load(WS24)))
    assert "▶ L = 0.09" in text
    assert "▶ ∂L/∂u₁₁ = 0   (ReLU off: Zᵢₙ,₁ = -0.9 < 0)" in text
    assert "▶ Zᵢₙ = (-0.9, 1.5)ᵀ" in text


def test_rounded_and_exact_values_keep_their_signs():
    text = terminal(solve(load(SHEET12)))
    assert "▶ ∂L/∂W₂₁ = 0.24" in text and "▶ L after the update ≈ 0.7850   (before: 0.8089)" in text
    assert "▶ W₂₁ (updated) = 0.576, W₁₂ (updated) = 0.2548" in text  # short: one line
    exact = terminal(solve(load(SHEET12)), exact=True)
    assert "▶ L after the update = 4791527656/6103515625" in exact


def test_a_zero_from_a_relu_that_is_off_is_explained_by_the_model():
    solution = solve(load(WS24))
    (u11,) = [r for r in solution.results if r.part == "iv"]
    assert u11.value == 0 and u11.off == (Off("Z_in", (1,), sp.Rational(-9, 10)),)
    # by hand: Z_in[1] = u11·x1 + u12·x2 + c1 = −0.7 + 0.2 − 0.4 = −0.9 ≤ 0, so relu′ = 0 there
    assert F(-7, 10) + F(2, 10) - F(4, 10) == F(-9, 10)
    tex = to_latex(solution)
    # the part's one answer is boxed where its last step ends, the reason beside it
    assert "= \\boxed{0}\\quad \\text{(ReLU off: }Z_{\\mathrm{in},1} = -0.9 < 0\\text{)}\n\\end{align*}" in tex


def test_a_zero_that_no_relu_explains_gets_no_reason():
    solution = solve(loads(ZERO_INPUT))
    w = next(r for r in solution.results if r.kind == "gradients" and r.name == "w")
    assert w.value == 0 and w.off == ()
    assert "ReLU off" not in terminal(solution)


def test_a_dead_unit_in_a_matrix_gradient_is_named():
    solution = solve(loads(NO_ASK.replace("b: [0.5]", "b: [-1]")))
    # z = 0.5·1 − 0.25·2 − 1 = −1 ≤ 0: the unit is off and every entry of ∂L/∂w is 0
    w = next(r for r in solution.results if r.kind == "gradients" and r.name == "w")
    assert list(w.value) == [0, 0] and w.off == (Off("z", (1,), -1),)
    assert "(zero entries: ReLU off: z₁ = -1 < 0)" in terminal(solution)


def test_a_problem_without_parts_ends_each_section_in_its_answers():
    solution = solve(loads(NO_ASK))
    assert [(r.kind, r.name) for r in solution.results] == [
        ("gradients", "w"), ("gradients", "b"), ("updated", "w"), ("updated", "b"), ("loss_after", None)]
    # by hand: z = 0.5 − 0.5 + 0.5 = 0.5, h = 0.5, δ = 2(h − t) = −1; ∂L/∂w = −x = (−1, −2), ∂L/∂b = −1
    # w' = w + 0.5·x = (1, 0.75), b' = 0.5 + 0.5 = 1; z' = 1 + 1.5 + 1 = 3.5, L' = (3.5 − 1)² = 25/4
    by_name = {(r.kind, r.name): r for r in solution.results}
    assert list(by_name["gradients", "w"].value) == [-1, -2] and list(by_name["updated", "w"].value) == [1, F(3, 4)]
    assert by_name["loss_after", None].value == F(25, 4) and by_name["loss_after", None].before == F(1, 4)
    text = terminal(solution)
    gradients, update, after = (text.split(heading)[1] for heading in
                                ("Gradients ─", "Gradient-descent update", "Loss after the update ─"))
    assert "▶ ∂L/∂w = (-1, -2), ∂L/∂b = -1" in gradients.split("Gradient-descent")[0]
    assert "▶ w (updated) = (1, 0.75), b (updated) = 1" in update.split("Loss after")[0]
    assert "▶ L after the update = 6.25   (before: 0.25)" in after


# -- 2. the answers table ----------------------------------------------------------------------------

def table_rows(text: str) -> list:
    return [re.split(r"\s{2,}", line.strip()) for line in text.split("\nAnswers ─")[1].splitlines()
            if line.strip().startswith("(")]


def test_the_answers_table_of_sheet12_holds_the_values_by_hand():
    hand = sheet12_by_hand()
    solution = solve(load(SHEET12))
    rows = table_rows(terminal(solution))
    want = [["(b)", "L", rounded(hand["loss"])], ["(c)", "∂L/∂W₂₁", rounded(hand["g21"])],
            ["(d)", "∂L/∂W₁₂", rounded(hand["g12"])], ["(e)", "W₂₁ (updated)", rounded(hand["W21"])],
            ["(e)", "W₁₂ (updated)", rounded(hand["W12"])],
            ["(f)", "L after the update", f"{rounded(hand['loss'])} → ≈ {rounded(hand['after'])}"]]
    assert rows[3:] == want
    assert [r[0] for r in rows[:3]] == ["(a)"] * 3
    # the exact values behind the table are the JSON's
    answers = to_json(solution)["answers"]
    assert F(answers["f"]["exact"]["loss_after"]) == hand["after"]
    assert F(answers["e"]["exact"]["answer"]["W21"]) == hand["W21"]
    assert F(answers["c"]["exact"]["answer"]) == hand["g21"]


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_the_table_rounds_the_json_exact_answers(path):
    solution = solve(load(path))
    answers = to_json(solution)["answers"]
    text = terminal(solution, width=200)
    if not solution.results:
        pytest.skip(f"{path.stem}: no asked value")
    rows = {(r[0], r[1]): r[2] for r in table_rows(text) if len(r) >= 3}
    label = TerminalPrinter().quantity
    checked = 0
    for r in solution.results:
        if r.kind not in ("loss", "gradients") or not isinstance(r.value, sp.Rational):
            continue
        exact = answers[r.part]["exact"]
        value = exact[r.kind] if r.kind == "loss" else exact["gradients"][r.name]
        shown = rows[f"({r.part})", label(r)]
        want = rounded(F(value))
        assert shown.lstrip("≈ ") == want, (path.stem, r.part, shown, want)
        assert shown.startswith("≈") == (want != str(F(value)) and F(want) != F(value))
        checked += 1
    if checked == 0:
        pytest.skip(f"{path.stem}: no exact scalar loss or gradient asked")


def test_the_table_fits_80_columns_and_typesets_as_booktabs():
    for path in PROBLEMS:
        text = terminal(solve(load(path)))
        if "\nAnswers ─" not in text:
            continue
        table = text.split("\nAnswers ─")[1]
        assert max(len(line) for line in table.splitlines()) <= 80, path.stem
    tex = to_latex(solve(load(SHEET12)))
    table = tex.split("\\subsection*{Answers}")[1]
    assert "\\toprule" in table and "(c) & $\\partial L/\\partial W^{(2)}_{21}$ & $0.24$ \\\\" in table
    assert "(f) & $L\\ \\text{after the update}$ & $0.8089 \\to {} \\approx 0.7850$ \\\\" in table
    md = to_markdown(solve(load(SHEET12))).split("### Answers")[1]
    assert "| (e) | $W^{(2)}_{21}\\ \\text{(updated)}$ | $0.576$ |" in md


# -- 3. --part and --answers ------------------------------------------------------------------------

def test_part_keeps_only_those_parts_in_the_file_order():
    done = cli("solve", SHEET12, "--no-color", "--part", "e", "--part", "c")
    assert done.returncode == 0, done.stderr
    heads = re.findall(r"^\((\w+)\) ", done.stdout, re.M)
    assert sorted(set(heads)) == ["c", "e"] and heads.index("c") < heads.index("e")
    assert [r[0] for r in table_rows(done.stdout)] == ["(c)", "(e)", "(e)"]


def test_an_unknown_part_names_the_parts_there_are():
    done = cli("solve", SHEET12, "--part", "C")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert re.match(r"error: .*sheet12_p2\.yaml:\d+: --part: no part 'C' \(did you mean c\?\); "
                    r"the parts are a, b, c, d, e, f$", done.stderr.strip()), done.stderr
    done = cli("export", SHEET12, "--part", "z", "-o", "x.md")
    assert done.returncode == 2 and "the parts are a, b, c, d, e, f" in done.stderr


def test_part_on_a_problem_without_parts_says_so(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text(NO_ASK, encoding="utf-8")
    done = cli("solve", path, "--part", "a", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "plain.yaml: --part: this problem has no parts" in done.stderr


def test_answers_prints_only_the_table():
    done = cli("solve", SHEET12, "--no-color", "--answers")
    assert done.returncode == 0, done.stderr
    assert "▶" not in done.stdout and "Forward pass" not in done.stdout and "Stand-in weights" not in done.stdout
    assert ROUNDED_ONCE in done.stdout and len(table_rows(done.stdout)) == 9
    only_f = cli("solve", SHEET12, "--no-color", "--answers", "--part", "f")
    assert [r[0] for r in table_rows(only_f.stdout)] == ["(f)"]


def test_answers_with_json_prints_only_the_answers():
    whole = json.loads(cli("solve", SHEET12, "--json").stdout)
    done = cli("solve", SHEET12, "--json", "--answers")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"answers": whole["answers"]}
    cut = json.loads(cli("solve", SHEET12, "--json", "--answers", "--part", "c").stdout)
    assert cut == {"answers": {"c": whole["answers"]["c"]}}


def test_export_takes_part_and_answers(tmp_path):
    done = cli("export", SHEET12, "--part", "d", "-o", tmp_path / "d.md")
    assert done.returncode == 0, done.stderr
    md = (tmp_path / "d.md").read_text(encoding="utf-8")
    assert re.findall(r"^### \((\w+)\)", md, re.M) == ["d"] and "| (d) |" in md and "| (c) |" not in md
    done = cli("export", SHEET12, "--answers", "-o", tmp_path / "a.tex")
    assert done.returncode == 0, done.stderr
    tex = (tmp_path / "a.tex").read_text(encoding="utf-8")
    assert "\\subsection*{(" not in tex and "\\begin{tabular}" in tex and "\\boxed" not in tex


def test_the_api_cuts_a_solution_to_its_parts():
    problem = load(SHEET12)
    cut = solve(problem, parts=("c",))
    assert {s.part for s in cut.sections} == {"c"} and [a.part for a in cut.answers] == ["c"]
    assert only_parts(solve(problem), ["(c)"]).results == cut.results
    with pytest.raises(UsageError, match="the parts are a, b, c, d, e, f"):
        solve(problem, parts=("x",))
    with pytest.raises(UsageError, match="no parts"):
        solve(loads(NO_ASK), parts=("a",))


# -- 4. rounding stated once ------------------------------------------------------------------------

def test_the_rounding_is_stated_once_at_the_top():
    solution = solve(load(SHEET12))
    text = terminal(solution)
    assert text.count(ROUNDED_ONCE) == 1 and text.index(ROUNDED_ONCE) < text.index("(a) Forward pass")
    assert to_latex(solution).count(ROUNDED_ONCE) == 1 and to_markdown(solution).count(ROUNDED_ONCE) == 1
    assert "6 significant digits" in terminal(solution, digits=6)
    exact = terminal(solve(load(SHEET12)), exact=True)
    assert "Exact values." in exact and "rounded" not in exact.split("(a)")[0].split("Values")[-1]
    assert "significant" not in exact


def test_exact_mode_says_which_values_stay_rounded():
    irrational = solve(load(ROOT / "problems" / "exercise3_sigmoid.yaml"))
    text = terminal(irrational, exact=True)
    assert "Exact values; irrational ones rounded to 4 significant digits." in text


# -- 5. the typeset PDF shows each answer ------------------------------------------------------------

def value_texts(value) -> list:
    entries = list(value) if isinstance(value, sp.MatrixBase) else [value]
    out = []
    for v in entries:
        if not isinstance(v, sp.Rational):
            return []  # a formula or an irrational value: its digits are not a plain token
        out.append(rounded(F(int(v.p), int(v.q))))
    return out


@pytest.mark.skipif(not (shutil.which("pdflatex") and shutil.which("pdftotext")), reason="needs pdflatex and pdftotext")
@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_the_pdf_shows_each_parts_answer(path, tmp_path):
    pdf = tmp_path / f"{path.stem}.pdf"
    done = cli("export", path, "-o", pdf, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
    text = text.replace("−", "-")
    for r in solve(load(path)).results:
        for token in value_texts(r.value):
            assert token in text, (path.stem, r.part, r.kind, r.name, token)


def test_the_answers_table_of_ws24_holds_the_values_by_hand():
    # by hand from the YAML: Z_in = u·x + c with u = [[−0.7, 0.2], [0.9, 0.5]], x = (1, 1), c = (−0.4, 0.1)
    u, x, c = [[F(-7, 10), F(2, 10)], [F(9, 10), F(5, 10)]], [F(1), F(1)], [F(-4, 10), F(1, 10)]
    z_in = [sum(u[i][j] * x[j] for j in range(2)) + c[i] for i in range(2)]
    z_out = [max(F(0), v) for v in z_in]
    a = F(-2, 10) * z_out[0] + F(6, 10) * z_out[1] + F(8, 10)
    loss = (a - 2) ** 2
    # ∂L/∂u11 = 2(A − y)·v1·relu′(Z_in,1)·x1, and Z_in,1 ≤ 0
    grad = 2 * (a - 2) * F(-2, 10) * (1 if z_in[0] > 0 else 0) * x[0]
    rows = table_rows(terminal(solve(load(WS24))))
    assert rows == [["(iii)", "Zᵢₙ", f"({rounded(z_in[0])}, {rounded(z_in[1])})ᵀ"],
                    ["(iii)", "Zₒᵤₜ", f"({rounded(z_out[0])}, {rounded(z_out[1])})ᵀ"],
                    ["(iii)", "Aᵢₙ", rounded(a)], ["(iii)", "Aₒᵤₜ", rounded(a)],
                    ["(iii)", "L", rounded(loss)], ["(iv)", "∂L/∂u₁₁", rounded(F(grad))]]


def test_the_api_shows_only_the_answers_table_as_the_cli_does():
    import backprop_tutor
    solution = backprop_tutor.solve(SHEET12, answers_only=True)
    text = terminal(solution)
    assert solution.answers_only and "Answers" in text and "(a) Forward pass" not in text
    assert text == terminal(only_parts(backprop_tutor.solve(SHEET12, answers_only=True), ("a", "b", "c", "d", "e", "f")))
