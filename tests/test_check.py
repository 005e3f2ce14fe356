"""tutor check: a student's answers marked right, wrong or missing at the digits written, the first
wrong step shown with its working, a wrong value that no slip gives said to be so, and bad answers files
refused in one line."""
from __future__ import annotations

import json
import random
import re
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction as F
from pathlib import Path
from types import SimpleNamespace

import mpmath
import pytest
import sympy as sp

from backprop_tutor import loads
from backprop_tutor.engine import Work
from backprop_tutor.errors import EXIT_BAD_INPUT, EXIT_WRONG_ANSWERS
from backprop_tutor.graph import build
from backprop_tutor.marking import RIGHT, WRONG, MISSING, agrees, mark, rounded
from backprop_tutor.studentanswers import Written, parse_pairs, read_answers, significant_digits
from helpers import cli, sheet12_by_hand

ROOT = Path(__file__).resolve().parent.parent
SHEET = ROOT / "problems" / "sheet12_p2.yaml"
HAND = sheet12_by_hand()


def decimal(x: F, digits: int) -> str:
    """x rounded to `digits` significant digits by Python's decimal module (half up), as text."""
    value = Context(prec=80).divide(Decimal(x.numerator), Decimal(x.denominator))
    return format(Context(prec=digits, rounding=ROUND_HALF_UP).plus(value), "f")


def written(text: str) -> Written:
    return parse_pairs([f"v={text}"])[0].value


def answers_file(tmp_path, text: str) -> Path:
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def check_json(*args):
    result = cli("check", *args, "--json")
    assert result.exit_code in (0, 1), (result.output, result.exception)
    return result.exit_code, json.loads(result.stdout)


# -- the rule: the exact value rounded to the digits written ----------------------------------------

@pytest.mark.parametrize("text, digits", [("0.240", 3), ("0.05", 1), ("240", 2), ("240.", 3), ("2400.0", 5), ("2.4e-1", 2), ("0", 1),
                                          ("-0.8089", 4), ("1.", 1), ("0.0", 1), ("007.50", 3)])
def test_significant_digits_come_from_the_text(text, digits):
    assert significant_digits(text) == digits


@pytest.mark.parametrize("text, right", [("0.8089", True), ("0.81", True), ("0.809", True), ("0.80890", True),
                                         ("0.8", False), ("0.79", False), ("0.808", False), ("0.8090", False),
                                         ("8089/10000", True), ("809/1000", False)])
def test_the_loss_of_the_sheet_at_the_digits_written(text, right):
    assert HAND["loss"] == F(8089, 10000)
    assert agrees(written(text), sp.Rational(8089, 10000)) is right


def test_rounding_agrees_with_the_decimal_module_on_random_fractions():
    rng = random.Random(7)
    for _ in range(400):
        x = F(rng.randint(-10**9, 10**9), rng.randint(1, 10**6))
        if x == 0:
            continue
        for d in (2, 3, 5, 8):
            expected = F(decimal(x, d))
            assert expected in rounded(sp.Rational(x.numerator, x.denominator), d), (x, d)
            assert agrees(written(decimal(x, d)), sp.Rational(x.numerator, x.denominator))


def test_an_exact_tie_accepts_either_neighbour():
    tie = sp.Rational(245, 1000)
    assert rounded(tie, 2) == {F(24, 100), F(25, 100)}
    assert agrees(written("0.24"), tie) and agrees(written("0.25"), tie)
    assert not agrees(written("0.23"), tie) and not agrees(written("0.26"), tie)


def test_zero_is_right_only_for_an_exact_zero():
    assert agrees(written("0"), sp.Integer(0)) and agrees(written("0.00"), sp.Integer(0))
    assert not agrees(written("0.1"), sp.Integer(0))
    assert not agrees(written("0"), sp.Rational(1, 10**9))


def test_an_irrational_value_is_rounded_at_high_precision_not_as_a_float():
    exact = 1 / (1 + sp.exp(-1))  # σ(1)
    with mpmath.workdps(60):
        reference = mpmath.mpf(1) / (1 + mpmath.exp(-1))
        for d in range(2, 16):
            text = mpmath.nstr(reference, d, strip_zeros=False)
            assert agrees(written(text), exact), text
            last = int(text[-1])
            off = text[:-1] + str((last + 1) % 10)
            assert not agrees(written(off), exact), off
    assert not agrees(written("7311/10000"), exact)  # a fraction must be exact


# -- sheet12_p2 checked end to end ----------------------------------------------------------------

def by_hand_answers(digits: int = 4) -> str:
    """sheet12_p2's answers, computed with plain Fractions (helpers.sheet12_by_hand), at `digits`."""
    y = HAND["y"]
    return "\n".join([
        f"y: [{decimal(y[0], digits)}, {decimal(y[1], digits)}]",
        f"L: {decimal(HAND['loss'], digits)}",
        f"\"dL/dW21\": {decimal(HAND['g21'], digits)}",
        f"\"dL/dW1[1,2]\": {decimal(HAND['g12'], digits)}",
        f"\"W21'\": {decimal(HAND['W21'], digits)}",
        f"\"W12'\": {decimal(HAND['W12'], digits)}",
        f"\"L'\": {decimal(HAND['loss_after'], digits)}",
    ]) + "\n"


@pytest.mark.parametrize("digits", [2, 4, 7])
def test_the_right_answers_at_the_sheets_rounding_are_marked_right(tmp_path, digits):
    path = answers_file(tmp_path, by_hand_answers(digits))
    code, data = check_json(SHEET, path)
    given = [m for m in data["marks"] if m["status"] != MISSING]
    assert code == 0 and data["ok"] and len(given) == 7
    assert all(m["status"] == RIGHT for m in given), given
    assert data["first_wrong"] is None


def test_the_rows_follow_the_solution_and_name_the_parts(tmp_path):
    path = answers_file(tmp_path, "\"L'\": 0.785\nc: 0.24\nL: 0.8089\ns1: [0.7, 0.2]\n")
    _, data = check_json(SHEET, path)
    kinds = [(m["part"], m["quantity"]["kind"], m["status"]) for m in data["marks"]]
    assert kinds == [("a", "value", RIGHT), ("a", "value", MISSING), ("a", "value", MISSING), ("b", "loss", RIGHT),
                     ("c", "grad", RIGHT), ("d", "grad", MISSING), ("e", "updated", MISSING),
                     ("e", "updated", MISSING), ("f", "loss_after", RIGHT)]
    assert data["counts"] == {"right": 4, "wrong": 0, "missing": 5}


def test_missing_values_count_only_with_require_all(tmp_path):
    path = answers_file(tmp_path, "L: 0.8089\n")
    assert cli("check", SHEET, path).exit_code == 0
    result = cli("check", SHEET, path, "--require-all")
    assert result.exit_code == EXIT_WRONG_ANSWERS and "missing" in result.stdout


@pytest.mark.parametrize("key", ["dL/dW21", "dL/dW2[2,1]", "dL/dW2_21", "∂L/∂W₂₁", "∂L/∂W^{(2)}_{21}", "c", "(c)"])
def test_every_spelling_of_a_gradient_names_the_same_value(key):
    code, data = check_json(SHEET, "--answer", f"{key}={decimal(HAND['g21'], 3)}")
    row = next(m for m in data["marks"] if m["key"] == key)
    assert code == 0 and row["status"] == RIGHT
    assert row["quantity"] == {"kind": "grad", "name": "W2", "index": [2, 1]}


@pytest.mark.parametrize("key, kind, name", [("h", "value", "h1"), ("W^{(2)}_{21}'", "updated", "W2"),
                                             ("δ_y", "grad", "y"), ("dL/dh1", "grad", "h1"), ("L'", "loss_after", None)])
def test_display_symbols_deltas_and_updates_are_read(key, kind, name):
    value = "1" if kind in ("loss_after", "updated") else "[1, 1]"
    _, data = check_json(SHEET, "--answer", f"{key}={value}")
    row = next(m for m in data["marks"] if m["key"] == key)
    assert (row["quantity"]["kind"], row["quantity"]["name"]) == (kind, name)


def test_a_part_of_several_values_takes_them_by_name(tmp_path):
    w21, w12 = decimal(HAND["W21"], 3), decimal(HAND["W12"], 3)
    path = answers_file(tmp_path, f"e: {{W21: {w21}, W12: {w12}}}\n")
    code, data = check_json(SHEET, path)
    rows = [m for m in data["marks"] if m["part"] == "e"]
    assert code == 0 and [m["status"] for m in rows] == [RIGHT, RIGHT]


def test_a_matrix_is_marked_entry_by_entry(tmp_path):
    problem = build(loads(SHEET.read_text(encoding="utf-8"), str(SHEET)))
    exact = Work(problem).updated_leaves()["W2"]
    rows = [[decimal(F(int(v.p), int(v.q)), 4) for v in exact.row(i)] for i in range(2)]
    rows[1][1] = "9.9"
    path = answers_file(tmp_path, f"\"W2'\": [[{', '.join(rows[0])}], [{', '.join(rows[1])}]]\n")
    code, data = check_json(SHEET, path)
    row = next(m for m in data["marks"] if m["key"] == "W2'")
    assert code == 1 and row["status"] == WRONG and row["entries"] == [True, True, True, False]


def test_a_wrong_value_shows_the_first_wrong_step_with_its_working(tmp_path):
    path = answers_file(tmp_path, "L: 0.8089\nc: 0.42\n\"W21'\": 0.4\n")
    result = cli("check", SHEET, path, "--no-color")
    assert result.exit_code == EXIT_WRONG_ANSWERS
    text = result.stdout
    assert re.search(r"First wrong step: ∂L/∂W₂₁ \(c\)", text), text
    working = text.split("First wrong step", 1)[1]
    # the solution's own step for ∂L/∂W21, as solve prints it: formula, numbers, value
    assert "δ_y₁⋅h₂" in working and "1.2⋅0.2" in working and "= 0.24" in working
    solve = cli("solve", SHEET, "--no-color").stdout
    assert "δ_y₁⋅h₂" in solve


def test_a_wrong_value_that_no_slip_gives_says_so(tmp_path):
    path = answers_file(tmp_path, "c: 0.4242\n")
    code, data = check_json(SHEET, path)
    row = next(m for m in data["marks"] if m["key"] == "c")
    assert code == 1 and row["status"] == WRONG and row["slips"] == []
    text = cli("check", SHEET, path, "--no-color").stdout
    assert f"matches none of the {len(data['slips_checked'])} slips checked" in " ".join(text.split())


def slipped_by_file(text: str, key: str, says: str):
    """A Slipped as slips.py makes them: a Work whose numbers carry one slip (here made in the file)."""
    return SimpleNamespace(slip=SimpleNamespace(key=key, says=says), work=Work(build(loads(text, "slipped.yaml"))))


def test_a_wrong_value_a_slip_gives_is_diagnosed_by_recomputing_it():
    text = SHEET.read_text(encoding="utf-8")
    turned = slipped_by_file(text.replace("learning_rate: 0.1", "learning_rate: -0.1"), "update_sign",
                             "the update adds α·∂L/∂w instead of subtracting it")
    work = Work(build(loads(text, str(SHEET))))
    wrong = HAND["W21"] + 2 * F(1, 10) * HAND["g21"]  # w + α·g, worked by hand
    answers = parse_pairs([f"W21'={decimal(wrong, 4)}", f"dL/dW21={decimal(HAND['g21'], 4)}", "L=0.5"])
    marking = mark(work, answers, [turned])
    by_key = {m.key: m for m in marking.marks if m.key}
    assert by_key["W21'"].status == WRONG and [s.key for s in by_key["W21'"].slips] == ["update_sign"]
    assert by_key["dL/dW21"].status == RIGHT
    assert by_key["L"].status == WRONG and by_key["L"].slips == ()  # the slip does not touch the loss
    assert marking.first_wrong is by_key["L"]


# -- the problem left out, and bad answers -----------------------------------------------------------

def test_one_argument_is_the_answers_and_the_problem_is_the_remembered_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = answers_file(tmp_path, "L: 0.8089\n")
    assert cli("check", path).exit_code == EXIT_BAD_INPUT
    assert cli("solve", "sheet12_p2", "--answers").exit_code == 0
    result = cli("check", path, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["marks"][3]["status"] == RIGHT


def one_line(result, code=EXIT_BAD_INPUT) -> str:
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("text, line, key, says", [
    ("L: 0.8\ndL/dW22: 0.2\n", 2, "dL/dW22", "(did you mean dL/dW2"),
    ("s1: [0.7, 0.2, 0.1]\n", 1, "s1", "the value is a vector of 2 entries"),
    ("L: [0.8]\n", 1, "L", "the value is one number"),
    ("L: .nan\n", 1, "L", "not a number"),
    ("L: .inf\n", 1, "L", "infinite"),
    ("L: yes please\n", 1, "L", "is not a number"),
    ("L: true\n", 1, "L", "boolean"),
    ("L: 1/0\n", 1, "L", "divides by zero"),
    ("L: " + "1" * 10_000 + "\n", 1, "L", "number_digits"),
    ("W2: [[1, 2], [3, 4]]\n", 1, "W2", "is given"),
    ("x: [1, -1]\n", 1, "x", "is given (an input)"),
    ("e: 0.5\n", 1, "e", "part (e) asks for 2 values"),
    ("L: &a 0.8\nc: *a\n", 1, None, "anchors and aliases"),
    ("- 0.8\n", 1, None, "a mapping of names to values"),
    ("L: {a: {b: 1}}\n", 1, "L.a", "one level deep"),
])
def test_a_bad_answers_file_is_one_line_naming_file_line_and_key(tmp_path, text, line, key, says):
    path = answers_file(tmp_path, text)
    message = one_line(cli("check", SHEET, path))
    assert message.startswith(f"error: {path}:{line}: " + (f"{key}: " if key else "")), message
    assert says in message, message


def test_the_answers_limit_is_counted_before_marking(tmp_path):
    path = answers_file(tmp_path, "".join(f"k{i}: 1\n" for i in range(201)))
    assert "answers" in one_line(cli("check", SHEET, path))
    assert "answers" in one_line(cli("--limit", "answers=3", "check", SHEET, "--answer", "L=1", "--answer", "c=1",
                                     "--answer", "s1=[1,2]", "--answer", "y=[1,2]"))


def test_usage_errors_are_one_line():
    assert "ANSWERS" in one_line(cli("check"))
    assert "3 arguments" in one_line(cli("check", "a", "b", "c"))
    assert "NAME=VALUE" in one_line(cli("check", SHEET, "--answer", "L"))
    assert "give the answers too" in one_line(cli("check", "sheet12_p2"))


def test_an_answers_file_and_answer_pairs_are_marked_together(tmp_path):
    path = answers_file(tmp_path, "L: 0.8089\n")
    code, data = check_json(SHEET, path, "--answer", "c=0.3")
    assert code == 1 and [(m["key"], m["status"]) for m in data["marks"] if m["key"]] == [("L", RIGHT), ("c", WRONG)]


def test_json_keys_are_documented(tmp_path):
    guide = (ROOT / "docs" / "answers-format.md").read_text(encoding="utf-8")
    _, data = check_json(SHEET, "--answer", "c=0.3", "--answer", "L=0.8089")
    keys = set(data) | {k for m in data["marks"] for k in m} | set(data["marks"][0]["quantity"])
    for k in keys:
        assert f"`{k}`" in guide or f"`marks[].{k}`" in guide or f", `{k}`" in guide, k


def rounded_text(v, digits: int = 5) -> str:
    """A value rounded by mpmath (not by marking.py) to `digits` significant digits."""
    v = sp.sympify(v)
    if v.is_zero:
        return "0"
    with mpmath.workdps(60):
        return mpmath.nstr(mpmath.mpf(sp.N(v, 60)), digits, strip_zeros=False)


def in_yaml(value, shape: tuple) -> str:
    if shape == ():
        return rounded_text(value[0] if isinstance(value, sp.MatrixBase) else value)
    if len(shape) == 1:
        return "[" + ", ".join(rounded_text(x) for x in value) + "]"
    return "[" + ", ".join("[" + ", ".join(rounded_text(x) for x in value.row(i)) + "]"
                           for i in range(value.rows)) + "]"


NUMERIC = [p for p in sorted((ROOT / "problems").glob("*.yaml")) if p.stem not in ("sheet2_ex2", "sheet2_ex3", "sheet2_ex4")]


@pytest.mark.parametrize("path", NUMERIC, ids=[p.stem for p in NUMERIC])
def test_every_bundled_problems_answers_as_solve_lists_them_are_right_at_five_digits(path):
    """Each asked value, by part label in the shape of solve --json's answers (or by name without ask:),
    rounded by mpmath: all right; then one entry moved in the last digit: that answer wrong."""
    from backprop_tutor import check, solve
    solution = solve(str(path))
    if not solution.results:
        pytest.skip("the sheet asks for drawings only, no values")
    pairs, parts = [], {}
    names = {"gradients": "dL/d{}", "updated": "{}'", "loss_after": "L'", "loss": "L", "values": "{}"}
    for r in solution.results:
        if r.part is not None:
            parts.setdefault(r.part, {}).setdefault(r.name or r.kind, r)
        else:
            pairs.append(f"{names[r.kind].format(r.name)}={in_yaml(r.value, r.shape)}")
    for part, rs in parts.items():
        if len(rs) == 1:
            pairs.append(f"{part}={in_yaml(*[(r.value, r.shape) for r in rs.values()][0])}")
        else:
            pairs.append(f"{part}={{" + ", ".join(f'"{n}": {in_yaml(r.value, r.shape)}' for n, r in rs.items()) + "}")
    marking = check(str(path), pairs=pairs)
    assert marking.ok and all(m.status in (RIGHT, MISSING) for m in marking.marks)
    assert sum(m.status == RIGHT for m in marking.marks) >= len(pairs)
    moved = re.sub(r"([0-9])([^0-9]*)$", lambda m: str((int(m.group(1)) + 2) % 10) + m.group(2), pairs[0])
    assert not check(str(path), pairs=[moved]).ok, moved


def test_the_loss_is_read_by_the_sheets_own_name_too():
    text = SHEET.read_text(encoding="utf-8").replace("notation:\n", "notation:\n  loss: E\n")
    work = Work(build(loads(text, "e.yaml")))
    marking = mark(work, parse_pairs([f"dE/dW21={decimal(HAND['g21'], 2)}", "E=0.8089", "E'=0.7850",
                                      f"∂E/∂W₁₂={decimal(HAND['g12'], 3)}"]), [])
    given = {m.key: (m.quantity.kind, m.status) for m in marking.marks if m.key}
    assert given == {"dE/dW21": ("grad", RIGHT), "E": ("loss", RIGHT), "E'": ("loss_after", RIGHT),
                     "∂E/∂W₁₂": ("grad", RIGHT)}
    assert HAND["loss_after"] != F(785, 1000) and decimal(HAND["loss_after"], 4) == "0.7850"


def test_the_python_api_takes_pairs_as_a_mapping():
    from backprop_tutor import check
    marking = check("sheet12_p2", pairs={"L": "0.81", "c": "0.3"})
    assert not marking.ok and [m.status for m in marking.marks if m.key] == [RIGHT, WRONG]
    assert check("sheet12_p2", pairs={"L": "0.81"}, require_all=True).ok is False


def test_the_exact_column_is_as_fine_as_the_students_value(tmp_path):
    # Mazur's post prints 0.291027924 for the loss after the update; the exact value is 0.291027774:
    # at four digits both read 0.2910, so the table must show the exact value to the digits written
    path = tmp_path / "answers.yaml"
    path.write_text("\"L'\": 0.291027924\n\"b1'\": 0.35\n\"w5'\": 0.35891648\n")
    result = cli("check", "mazur_step_by_step", path, "--no-color")
    assert result.exit_code == EXIT_WRONG_ANSWERS, result.output
    row = next(line for line in result.stdout.splitlines() if "after the update" in line and "0.291027924" in line)
    assert "0.291027774" in row and "wrong" in row
    rows = [line for line in result.stdout.splitlines() if "(updated)" in line]
    # a frozen bias keeps its place in the solution's order: b₁ between w₄ and w₅, as the update lists it
    assert [r.split()[1] for r in rows].index("b₁") < [r.split()[1] for r in rows].index("w₅")
