"""solve --json: the `answers` object holds what each ask part shows, and agrees with the terminal."""
import json
import os
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction as F
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from backprop_tutor import load, loads, solve
from backprop_tutor.render.jsonout import to_json
from helpers import sheet12_by_hand
from backprop_tutor.render.terminal import TerminalPrinter

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ROOT / "problems"
SHEET12 = PROBLEMS / "sheet12_p2.yaml"


def run_json(path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "backprop_tutor", "solve", str(path), "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_sheet12_answers_follow_the_parts_and_the_partial_update():
    hand = sheet12_by_hand()
    data = run_json(SHEET12)
    answers = data["answers"]
    assert list(answers) == ["a", "b", "c", "d", "e", "f"]
    assert answers["a"]["values"]["y"] == pytest.approx([float(v) for v in hand["y"]], abs=1e-15)
    assert answers["b"]["answer"] == pytest.approx(float(hand["loss"]), abs=1e-15)
    assert answers["c"]["answer"] == pytest.approx(float(hand["g21"]), abs=1e-15)
    assert answers["c"]["exact"]["answer"] == str(hand["g21"])
    assert answers["c"]["gradients"] == {"W21": pytest.approx(float(hand["g21"]), abs=1e-15)}
    assert answers["d"]["exact"]["answer"] == str(hand["g12"])
    assert answers["e"]["answer"] == {"W21": pytest.approx(float(hand["W21"]), abs=1e-15),
                                      "W12": pytest.approx(float(hand["W12"]), abs=1e-15)}
    assert answers["e"]["exact"]["updated"] == {"W21": str(hand["W21"]), "W12": str(hand["W12"])}
    # the part's loss is the one with only the two asked weights stepped, not the whole update
    f = answers["f"]
    assert f["exact"]["answer"] == str(hand["loss_after"])
    assert f["loss_after"] == pytest.approx(float(hand["loss_after"]), rel=1e-15)
    assert f["after_updating"] == ["W21", "W12"]
    assert abs(data["loss_after"] - float(hand["loss_after"])) > 0.1  # the whole-solution key stays
    for part in answers.values():
        assert part["title"]


def test_without_ask_answers_is_empty():
    text = ("inputs: {x: 2}\nparameters: {w: 3}\ntargets: {t: 1}\nforward: {y: w * x}\n"
            "loss: half_sse(y, t)\nlearning_rate: 0.1\n")
    data = to_json(solve(loads(text)))
    assert data["answers"] == {}
    assert data["loss"] == 12.5  # (6 − 1)²/2


def test_parts_sharing_a_label_are_one_answer_keyed_by_name():
    text = ("inputs: {x: 2}\nparameters: {w: 3}\ntargets: {t: 1}\nforward: {y: w * x}\n"
            "loss: half_sse(y, t)\n"
            "ask:\n  - {part: '1', show: forward}\n  - {part: '1', show: loss}\n")
    data = to_json(solve(loads(text)))
    # y = 6, L = (6 − 1)²/2
    assert data["answers"]["1"]["answer"] == {"y": 6, "loss": 12.5}
    assert data["answers"]["1"]["exact"]["answer"] == {"y": "6", "loss": "25/2"}


def test_an_irrational_value_has_no_exact_text_and_a_symbol_keeps_its_formula():
    text = ("inputs: {x: 1}\nparameters: {w: 1}\ntargets: {t: null}\nforward: {y: tanh(w * x)}\n"
            "loss: half_sse(y, t)\nask:\n  - {part: a, show: forward}\n  - {part: b, show: loss}\n")
    answers = to_json(solve(loads(text)))["answers"]
    import math
    assert answers["a"]["answer"] == pytest.approx(math.tanh(1), rel=1e-15)
    assert answers["a"]["exact"]["answer"] is None
    assert isinstance(answers["b"]["answer"], str) and "t" in answers["b"]["answer"]


def _bundled_with_ask():
    return sorted(p for p in PROBLEMS.glob("*.yaml") if "ask" in yaml.safe_load(p.read_text(encoding="utf-8")))


def _scalars(json_value, exact_value, key=""):
    """(key, number, exact text) for every scalar number in a part's value."""
    if isinstance(json_value, dict):
        for k in json_value:
            yield from _scalars(json_value[k], exact_value[k], f"{key}.{k}")
    elif isinstance(json_value, list):
        for i, (v, e) in enumerate(zip(json_value, exact_value)):
            yield from _scalars(v, e, f"{key}[{i}]")
    elif isinstance(json_value, (int, float)) and not isinstance(json_value, bool):
        yield key, json_value, exact_value


def _four_digits(x: F) -> float:
    """x rounded half up to 4 significant digits, as a sheet (and the terminal) rounds."""
    if x == 0:
        return 0.0
    with localcontext() as ctx:
        ctx.prec = 60
        d = Decimal(x.numerator) / Decimal(x.denominator)
        return float(d.quantize(Decimal(1).scaleb(d.adjusted() - 3), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize("path", _bundled_with_ask(), ids=lambda p: p.stem)
def test_terminal_and_json_show_the_same_answers(path):
    """Every part's main value, as JSON and as the terminal prints that part (4 digits)."""
    solution = solve(load(path))
    answers = to_json(solution)["answers"]
    asked = yaml.safe_load(path.read_text(encoding="utf-8"))["ask"]
    assert list(answers) == list(dict.fromkeys(str(a["part"]) for a in asked))
    printer = TerminalPrinter(digits=4, width=200)
    for label, part in answers.items():
        console = Console(width=200, record=True, no_color=True)
        for section in solution.sections:
            if section.part == label:
                for step in section.steps:
                    console.print(printer.print_step(step), crop=False)
        shown = console.export_text()
        numbers = {float(m) for m in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", shown.replace("−", "-"))}
        if "answer" not in part:
            continue
        for key, value, exact in _scalars(part["answer"], part["exact"]["answer"]):
            if exact is not None:
                assert F(exact) == F(value) or abs(float(F(exact)) - value) <= 1e-15 * abs(value), key
            rounded = _four_digits(F(exact) if exact is not None else F(value))
            assert any(abs(n - rounded) <= 1e-12 + 1e-9 * abs(rounded) for n in numbers), (label, key, value)
