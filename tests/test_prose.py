"""Notes with inline $…$ math (checked at load, typeset in LaTeX, Unicode in the terminal) and the comment key."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_tutor.cli import app
from backprop_tutor.problem import load, loads
from backprop_tutor.prose import math_unicode, prose_latex, prose_unicode
from backprop_tutor.texsafe import UnsafeTeX, forbidden_in_document

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "problems").glob("*.yaml"))
BODY = "inputs: {x: 2}\nparameters: {w: 3}\ntargets: {t: 1}\nforward: {y: w * x}\nloss: sse(y, t)\n"


@pytest.mark.parametrize("tex, want", [
    (r"x_1", "x₁"), (r"\alpha", "α"), (r"y^2", "y²"), (r"\frac{a}{b}", "a/b"),
    (r"\frac{\partial E}{\partial w_{13}}", "∂E/∂w₁₃"), (r"\delta_3 \cdot w_{35}", "δ₃ · w₃₅"),
    (r"\sigma(z) = \frac{1}{1 + e^{-z}}", "σ(z) = 1/(1 + e⁻ᶻ)"), (r"W^{(2)}_{21}", "W⁽²⁾₂₁"),
    (r"\hat{y}", "ŷ"), (r"\tfrac12 \sum_i (y_i - t_i)^2", "½ Σᵢ (yᵢ − tᵢ)²"),
    (r"\tanh'(z) = 1 - \tanh^2(z)", "tanh′(z) = 1 − tanh²(z)"), (r"x^\top", "xᵀ"),
    (r"\left( a \right.", "( a"), (r"\sqrt[3]{x + 1}", "√(x + 1)"), (r"b_w", "b_w"), (r"Z_{out}", "Zₒᵤₜ"), (r"Z_{\mathrm{bad}}", "Z_(bad)"),
])
def test_math_reads_as_unicode(tex, want):
    assert math_unicode(tex) == want


def test_text_is_escaped_and_math_is_math():
    assert prose_latex(r"Pay \$5 for $x_1 = 1$ & 50% _") == r"Pay \$5 for $x_1 = 1$ \& 50\% \_"
    assert prose_unicode("Given $x_1 = 1$,\n  and \\$5.\n\nNext $\\alpha$.") == "Given x₁ = 1, and $5.\n\nNext α."


@pytest.mark.parametrize("notes, why", [
    (r"a $\input{/etc/passwd}$ b", "\\input is not an allowed command"),
    (r"a $x_1 b", "does not end in the same paragraph"),
    ("a $x_1\n\n$ b", "does not end in the same paragraph"),
    (r"a $\frac{1}$ b", "needs an argument"),
    (r"a $x^^5c$ b", "'^^'"),
])
def test_unsafe_math_in_notes_is_a_problem_error_at_its_line(tmp_path, notes, why):
    path = tmp_path / "p.yaml"
    path.write_text("title: t\nnotes: " + json.dumps(notes) + "\n" + BODY, encoding="utf-8")
    result = CliRunner().invoke(app, ["solve", str(path), "--no-color"])
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith(f"error: {path}:2: notes: ") and why in line, line


def test_unsafe_math_in_a_comment_is_refused_too():
    with pytest.raises(Exception) as e:
        loads("comment: 'see $\\write$'\n" + BODY)
    assert "comment" in str(e.value) and isinstance(e.value.__cause__, (UnsafeTeX, type(None)))


def test_notes_typeset_as_math_in_latex(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("notes: 'Weights $w_{13}$ and \\$3.'\n" + BODY, encoding="utf-8")
    out = tmp_path / "x.tex"
    assert CliRunner().invoke(app, ["export", str(path), "-o", str(out)]).exit_code == 0
    source = out.read_text(encoding="utf-8")
    assert "Weights $w_{13}$ and \\$3." in source and forbidden_in_document(source) is None


def _write(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("notes: 'What is given: $x = 2$.'\ncomment: 'MAINTAINER $w_1$ here'\n" + BODY, encoding="utf-8")
    return path


def test_comment_is_shown_only_with_comments(tmp_path):
    path = _write(tmp_path)
    runner = CliRunner()
    plain = runner.invoke(app, ["solve", str(path), "--no-color"])
    shown = runner.invoke(app, ["solve", str(path), "--no-color", "--comments"])
    assert plain.exit_code == shown.exit_code == 0
    assert "What is given: x = 2." in plain.output and "MAINTAINER" not in plain.output
    assert "Comment: MAINTAINER w₁ here" in shown.output
    assert shown.output.index("What is given") < shown.output.index("MAINTAINER")


def test_comment_in_json_only_with_comments(tmp_path):
    path = _write(tmp_path)
    runner = CliRunner()
    plain = json.loads(runner.invoke(app, ["solve", str(path), "--json"]).output)
    shown = json.loads(runner.invoke(app, ["solve", str(path), "--json", "--comments"]).output)
    assert plain["notes"] == shown["notes"] == "What is given: $x = 2$."
    assert "comment" not in plain and shown["comment"] == "MAINTAINER $w_1$ here"


@pytest.mark.parametrize("suffix", [".tex", ".md"])
def test_comment_in_exports_only_with_comments(tmp_path, suffix):
    path = _write(tmp_path)
    plain, shown = tmp_path / f"plain{suffix}", tmp_path / f"shown{suffix}"
    runner = CliRunner()
    assert runner.invoke(app, ["export", str(path), "-o", str(plain)]).exit_code == 0
    assert runner.invoke(app, ["export", str(path), "-o", str(shown), "--comments"]).exit_code == 0
    assert "MAINTAINER" not in plain.read_text(encoding="utf-8")
    text = shown.read_text(encoding="utf-8")
    assert "Comment." in text and "MAINTAINER $w_1$ here" in text


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_notes_are_short_and_maintenance_is_a_comment(path):
    p = load(path)
    assert p.notes and p.comment
    assert len(prose_unicode(p.notes)) <= 330, "notes: two or three lines of what is given and assumed"
    assert "$" in p.notes


def test_headings_and_rules_are_math_in_latex(tmp_path):
    out = tmp_path / "x.tex"
    result = CliRunner().invoke(app, ["export", str(ROOT / "problems" / "sheet12_p2.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    source = out.read_text(encoding="utf-8")
    assert "\\subsection*{(c) Gradient $\\partial L/\\partial W^{(2)}_{21}$}" in source
    assert "\\tag*{\\small $\\mathrm{SSE}(y, t) = \\sum_i (y_i - t_i)^2$}" in source  # in the margin
    assert "\\tag*{\\small $\\partial \\mathrm{SSE}/\\partial y = 2(y - t)$}" in source
    assert "sse" not in source.replace("\\usepackage", "")


def test_rules_read_as_unicode_in_the_terminal():
    result = CliRunner().invoke(app, ["solve", str(ROOT / "problems" / "sheet12_p2.yaml"), "--no-color"])
    assert "∂SSE/∂y = 2(y − t)" in result.output and "SSE(y, t) = Σᵢ (yᵢ − tᵢ)²" in result.output
    assert "$" not in result.output
