"""tutor export: the output's extension chooses the format (.tex, .pdf, .md, .html); options are checked first."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backprop_tutor import load, solve
from backprop_tutor.render.latex import to_latex
from backprop_tutor.render.markdown import to_markdown

from helpers import cli as run, needs_pdflatex

ROOT = Path(__file__).resolve().parent.parent
SHEET = ROOT / "problems" / "ws24_sheet4_ex1.yaml"   # the sheet's published L = 0.09, A = 1.7



def files(folder: Path) -> list:
    return sorted(p.name for p in folder.iterdir())


def refused(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def pdf_text(pdf: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          timeout=60).stdout


def test_a_pdf_output_is_a_typeset_pdf_and_nothing_else_appears(tmp_path):
    needs_pdflatex()
    result = run("export", SHEET, "-o", tmp_path / "x.pdf")
    assert result.exit_code == 0, (result.output, result.exception)
    assert files(tmp_path) == ["x.pdf"]
    assert (tmp_path / "x.pdf").read_bytes().startswith(b"%PDF")
    assert result.stdout.splitlines() == [f"wrote {tmp_path / 'x.pdf'}"]
    text = pdf_text(tmp_path / "x.pdf")
    assert "Addition network" in text and "0.09" in text


def test_keep_tex_keeps_the_latex_beside_the_pdf(tmp_path):
    needs_pdflatex()
    result = run("export", SHEET, "-o", tmp_path / "x.pdf", "--keep-tex")
    assert result.exit_code == 0, (result.output, result.exception)
    assert files(tmp_path) == ["x.pdf", "x.tex"]
    expected = to_latex(solve(load(SHEET)), 4, False, True)
    assert (tmp_path / "x.tex").read_text(encoding="utf-8") == expected


def test_an_upper_case_extension_writes_that_very_file(tmp_path):
    needs_pdflatex()
    result = run("export", SHEET, "-o", tmp_path / "X.PDF")
    assert result.exit_code == 0, (result.output, result.exception)
    assert files(tmp_path) == ["X.PDF"]


def test_a_markdown_output_is_the_markdown_printers(tmp_path):
    result = run("export", SHEET, "-o", tmp_path / "x.md", "--digits", "3")
    assert result.exit_code == 0, (result.output, result.exception)
    assert files(tmp_path) == ["x.md"]
    text = (tmp_path / "x.md").read_text(encoding="utf-8")
    assert text == to_markdown(solve(load(SHEET)), 3, False)
    assert text.startswith("## Addition network") and "$$" in text and "\\documentclass" not in text
    assert "0.09" in text   # L = 0.09


@pytest.mark.parametrize("name", ["x.txt", "x", "x.tex.bak", "problem.yaml", "x.htm"])
def test_any_other_extension_is_refused_before_anything_is_written(tmp_path, name):
    line = refused(run("export", SHEET, "-o", tmp_path / name))
    assert ".tex" in line and ".pdf" in line and ".md" in line and ".html" in line, line
    assert files(tmp_path) == []


@pytest.mark.parametrize("output, options, word", [
    ("x.pdf", ["--fragment"], "--fragment"),
    ("x.tex", ["--fragment", "--pdf"], "--fragment"),
    ("x.tex", ["--keep-tex"], "--keep-tex"),
    ("x.md", ["--keep-tex"], "--keep-tex"),
    ("x.md", ["--pdf"], "--pdf"),
    ("x.md", ["--fragment"], "--fragment"),
    ("x.html", ["--keep-tex"], "--keep-tex"),
    ("x.html", ["--pdf"], "--pdf"),
    ("x.html", ["--fragment"], "--fragment"),
    ("x.pdf", ["--pdf"], "--pdf"),
])
def test_options_that_do_not_fit_the_output_are_refused_up_front(tmp_path, output, options, word):
    line = refused(run("export", SHEET, "-o", tmp_path / output, *options))
    assert word in line, line
    assert files(tmp_path) == []


def test_a_pdf_output_never_replaces_the_problem_file(tmp_path):
    problem = tmp_path / "q.yaml"
    shutil.copy(SHEET, problem)
    original = problem.read_bytes()
    os.link(problem, tmp_path / "q.pdf")
    assert "problem file" in refused(run("export", problem, "-o", tmp_path / "q.pdf"))
    (tmp_path / "q.pdf").unlink()
    os.link(problem, tmp_path / "q.tex")
    assert "problem file" in refused(run("export", problem, "-o", tmp_path / "q.pdf", "--keep-tex"))
    assert problem.read_bytes() == original
    assert files(tmp_path) == ["q.tex", "q.yaml"]


def _failing_pdflatex(tmp_path: Path) -> Path:
    fake = tmp_path / "fakebin" / "bin" / "pdflatex"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\nprintf '! Undefined control sequence.\\nl.7 \\\\oops\\n' > doc.log\nexit 1\n")
    fake.chmod(0o755)
    return fake


def test_a_failed_pdf_leaves_only_its_log_beside_it(tmp_path):
    fake = _failing_pdflatex(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, PATH=f"{fake.parent}:{os.environ.get('PATH', '')}", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "backprop_tutor", "export", str(SHEET), "-o", str(out / "x.pdf")],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Undefined control sequence" in lines[0] and str(out / "x.log") in lines[0]
    assert files(out) == ["x.log"]


def test_without_pdflatex_a_pdf_output_writes_nothing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, PATH=str(empty), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "backprop_tutor", "export", str(SHEET), "-o", str(out / "x.pdf")],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 3
    assert "pdflatex is not installed" in done.stderr and len(done.stderr.splitlines()) == 1
    assert files(out) == []


@pytest.mark.parametrize("path", sorted((ROOT / "problems").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_problem_exports_to_markdown(tmp_path, path):
    result = run("export", path, "-o", tmp_path / "x.md")
    assert result.exit_code == 0, (result.output, result.exception)
    text = (tmp_path / "x.md").read_text(encoding="utf-8")
    assert text == to_markdown(solve(load(path)), 4, False)
    # Markdown viewers do not set TikZ or pgfplots: graphs are tables there, plots are left to the PDF
    assert not any(word in text for word in ("tikzpicture", "\\begin{axis}", "\\draw", "\\node"))


def test_a_markdown_graph_part_is_a_table_of_the_computed_nodes_and_their_edges():
    text = to_markdown(solve(load(ROOT / "problems" / "dnn_a9_q2.yaml")), 4, False)
    forward, backward = text.split("### (b)")
    assert "Inputs: $x$" not in forward and "Input: $x$" in forward
    assert "| $u_{3}$ | forward | $W_{3}$, $z_{1}$ |" in forward
    assert "The graph of (a), with a gradient node for each quantity" in backward
    assert "| forward |" not in backward and "| gradient |" in backward


def test_markdown_headings_set_their_derivatives_as_math_in_the_sheets_names():
    text = to_markdown(solve(load(ROOT / "problems" / "sheet12_p2.yaml")), 4, False)
    assert "### (c) Gradient $\\partial L/\\partial W^{(2)}_{21}$" in text
    assert "∂L/∂W21" not in text
