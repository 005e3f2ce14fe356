"""= and ≈: a line gets = only if every number it shows is exact as shown; exact rationals in
formulas stay fractions."""
import os
import re
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp

from backprop_tutor import load, loads, solve
from backprop_tutor.render.latex import LatexDocument, MathLatex, to_latex
from backprop_tutor.render.pretty import MathPrinter, chain
from backprop_tutor.solution import Forward, LossValue

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
THIRD = """parameters: {w: null}
inputs: {x: "1/3"}
targets: {t: 5}
forward: {y: w*x}
loss: half_sse(y, t)
"""


def test_an_exact_third_in_a_formula_is_a_fraction():
    s = solve(loads(THIRD))
    y = next(st for st in s.steps() if isinstance(st, Forward) and st.name == "y")
    text = chain(MathPrinter(), "y", [y.formula, y.numbers, y.value])
    assert "0.3333" not in text and "1/3" in text
    latex = LatexDocument().print_step(y)
    assert "0.3333" not in latex and "\\tfrac{1}{3}" in latex
    assert "\\approx" not in latex and "≈" not in text


def test_a_rounded_number_in_a_substituted_line_gets_approx():
    x = sp.Float("1.96952", 40)
    line = sp.Pow(sp.Add(x, -2, evaluate=False), 2, evaluate=False)
    for printer in (MathPrinter(digits=3), MathLatex(digits=3)):
        assert printer.line_rounded(line)
        assert not printer.line_rounded(sp.Pow(sp.Add(sp.Rational(197, 100), -2, evaluate=False), 2,
                                                evaluate=False))
    text = chain(MathPrinter(digits=3), "L", [line, sp.Float("0.000929", 40)], last_rounded=True)
    assert "=" not in text.replace("L ≈", "")


def _numeric_steps():
    for path in PROBLEMS:
        s = solve(load(path))
        for step in s.steps():
            if isinstance(step, (Forward, LossValue)) and step.numbers is not None:
                yield path.name, step


@pytest.mark.parametrize("digits", [2, 4, 6])
def test_every_numbers_line_shown_with_equals_is_exactly_true(digits):
    """Over the bundled problems: a numbers line that gets = holds no rounded number, and what it
    shows, evaluated exactly, is the value; one that gets ≈ shows some rounded number."""
    math = MathPrinter(digits=digits)
    checked = 0
    for name, step in _numeric_steps():
        numbers, value = step.numbers, step.value
        if getattr(numbers, "free_symbols", None) or getattr(value, "free_symbols", None):
            continue
        if isinstance(numbers, sp.MatrixExpr) and not isinstance(numbers, sp.MatrixBase):
            continue
        if not math.line_rounded(numbers):
            assert not numbers.atoms(sp.Float), (name, step.name)
            exact = numbers.doit() if hasattr(numbers, "doit") else numbers
            if not isinstance(value, sp.MatrixBase) and isinstance(value, sp.Float):
                # σ(151/400) is exact, its value a Float of the engine's precision: equal to that precision
                assert abs(sp.N(sp.sympify(exact) - value, 60)) <= sp.Float(10) ** -30 * max(1, abs(value)), \
                    (name, step.name)
                checked += 1
                continue
            assert sp.simplify(sp.sympify(exact) - value) == 0 if not isinstance(value, sp.MatrixBase) \
                else sp.simplify(sp.Matrix(exact) - sp.Matrix(value)) == sp.zeros(*value.shape), (name, step.name)
            checked += 1
        else:
            assert numbers.atoms(sp.Float)
    assert checked > 3


@pytest.mark.parametrize("digits, shown", [(3, ("0.316", "0.785")), (4, ("0.3160", "0.7850"))])
def test_rounded_decimals_keep_their_trailing_zeros(digits, shown):
    """0.31599 at 4 digits is 0.3160 (four digits right), not 0.316 (which would claim the value ends
    there), in every printer; an exact value such as the learning rate 0.1 has no zeros added."""
    import re
    from backprop_tutor.render.latex import to_latex
    from backprop_tutor.render.markdown import to_markdown
    from backprop_tutor.render.terminal import print_solution
    from rich.console import Console
    problem = loads("inputs: {x: [0.31599, 0.78501]}\nparameters: {W: [[1, 0], [0, 1]]}\n"
                    "targets: {t: [0, 0]}\nforward: {y: sigmoid(W @ x)}\nloss: sse(y, t)\nlearning_rate: 0.1\n")
    solution = solve(problem)
    console = Console(record=True, width=100, no_color=True, file=open(os.devnull, "w"))
    print_solution(solution, console, digits, False)
    outputs = {"terminal": console.export_text(), "latex": to_latex(solution, digits, False, standalone=False),
               "markdown": to_markdown(solution, digits)}
    for name, text in outputs.items():
        for number in shown:
            assert re.search(re.escape(number) + r"(?!\d)", text), (name, number)
        assert not re.search(r"0\.10+(?!\d)", text), name  # α = 0.1 exactly: no 0.10 or 0.100


def test_a_product_of_two_negative_numbers_is_added_as_it_stands_in_latex():
    """x₂·w₂₃ with x₂ = −2, w₂₃ = −0.25: 0.5 + (−2)·(−0.25), never 0.5 − −0.5."""
    problem = loads("inputs: {x1: 1, x2: -2}\nparameters: {w13: 0.5, w23: -0.25}\ntargets: {t: 0}\n"
                    "forward: {z3: x1 * w13 + x2 * w23}\nloss: sse(z3, t)\n")
    text = to_latex(solve(problem), standalone=False)
    assert "= 0.5 + \\left(-2\\right) \\cdot \\left(-0.25\\right) =" in text
    assert not re.search(r"- -\d", text)
    assert Fraction(1, 2) + Fraction(-2) * Fraction(-1, 4) == 1   # the line's value, by hand
