"""A dot product of two vectors is written wᵀx; with numbers the left vector is the row it becomes,
(0.1, 0.2)(1, 2)ᵀ, in every printer, never transposed twice."""
from __future__ import annotations

import re
from fractions import Fraction as F

import pytest

from backprop_tutor import loads, solve
from backprop_tutor.render.html import to_html
from backprop_tutor.render.latex import to_latex
from backprop_tutor.render.markdown import to_markdown

from helpers import cli

TEXT = """
inputs: {x: [1, 2]}
parameters: {w: [0.1, 0.2]}
forward:
  y: EXPR
loss: y
"""


def problem(expr: str):
    return loads(TEXT.replace("EXPR", expr))


@pytest.mark.parametrize("expr", ["w.T @ x", "w @ x"])
def test_the_value_is_the_dot_product(expr):
    assert solve(problem(expr)).values["y"] == F(1, 10) * 1 + F(2, 10) * 2


@pytest.mark.parametrize("expr", ["w.T @ x", "w @ x"])
def test_terminal_writes_a_row_times_a_column(tmp_path, expr):
    f = tmp_path / "dot.yaml"
    f.write_text(TEXT.replace("EXPR", expr), encoding="utf-8")
    result = cli("solve", f, "--no-color")
    assert result.exit_code == 0, result.output
    forward = result.output[result.output.index("Forward pass"):result.output.index("Loss")]
    assert "= (0.1, 0.2)⋅(1, 2)ᵀ\n" in forward
    assert not re.search(r"ᵀ\s*ᵀ", forward) and "\n" + " " * 17 + "T\n" not in forward
    assert re.search(r"T\n\s*y = w ⋅x", forward)  # the formula keeps wᵀ (T drawn above)


@pytest.mark.parametrize("expr", ["w.T @ x", "w @ x"])
def test_latex_and_markdown_write_a_row_times_a_column(expr):
    solution = solve(problem(expr))
    for text in (to_latex(solution), to_markdown(solution)):
        line = next(line for line in text.splitlines() if line.lstrip().startswith("y &= ") or "y = w^{T}" in line)
        assert "w^{T} x" in line
        assert r"{\left(0.1,\ 0.2\right)} {\left(1,\ 2\right)^{\mathsf{T}}}" in line
        assert r"\right)^{\mathsf{T}}}^{T}" not in text


@pytest.mark.parametrize("expr", ["w.T @ x", "w @ x"])
def test_html_writes_a_row_times_a_column(expr):
    page = to_html(solve(problem(expr)), figures=False)
    start = page.index("Forward pass")
    text = re.sub(r"<[^>]+>", "", page[start:page.index("Loss", start)])
    text = re.sub(r"\s+", "", text)
    assert "y=wTx=(0.1,0.2)(1,2)T=0.5" in text
    assert "TT" not in text
