"""Every bundled problem's PDF reads as typeset math: no TeX or code syntax left in its text."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "problems").glob("*.yaml"))
LEFTOVERS = ("_{", "^{", "@", "->", "half_sse", "half sse", "log_cosh", "cross_entropy")


def pdf_text(problem: Path, folder: Path) -> str:
    pdf = folder / f"{problem.stem}.pdf"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin:/usr/local/bin"}
    done = subprocess.run([sys.executable, "-m", "backprop_tutor", "export", str(problem), "-o", str(pdf)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=folder)
    assert done.returncode == 0, done.stderr
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout


@pytest.mark.skipif(not (shutil.which("pdflatex") and shutil.which("pdftotext")), reason="needs pdflatex and pdftotext")
@pytest.mark.parametrize("problem", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_pdf_text_has_no_raw_syntax(problem, tmp_path):
    text = pdf_text(problem, tmp_path)
    assert "Exercise" in text or "Sheet" in text or "Question" in text or "notes" in text \
        or "Example" in text  # the page has text
    for leftover in LEFTOVERS:
        assert leftover not in text, leftover
    assert not re.search(r"\b(sse|mse|mae|bce)\b", text), "a code name of a loss"
    raw = [line for line in text.splitlines() if re.search(r"[_^]", line)]
    assert not raw, raw
