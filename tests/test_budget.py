"""The length budgets of the bundled problems at the default detail: terminal lines, PDF pages, no repeated display.

The thirteen problems are named here: a problem added later has a budget of its own.
`python scripts/measure.py` prints the same numbers problem by problem.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backprop_tutor import load
from backprop_tutor.export import typeset
from backprop_tutor.render.latex import to_latex
from backprop_tutor.solver import solve
from backprop_tutor.texlog import read_log

ROOT = Path(__file__).resolve().parent.parent
MEASURED = ("dnn_a9_q2", "dnn_a9_q3", "exercise3_sigmoid", "exercise3_skip_l1", "exercise3_softmax_ce",
            "sheet12_p1_and", "sheet12_p1_xor", "sheet12_p2", "sheet2_ex1", "sheet2_ex2", "sheet2_ex3",
            "sheet2_ex4", "ws24_sheet4_ex1")
# Problems added after the thirteen: a budget each (terminal lines, PDF pages), measured when they were added.
OWN = {"ws24_sheet4_train": (211, 3), "ws24_sheet4_ring": (242, 5), "mazur_step_by_step": (245, 3),
       "rnn_elman_bptt": (264, 5), "lstm_cell_step": (222, 3), "conv1d_stride2": (93, 3), "conv2d_maxpool": (215, 4),
       "batchnorm_batch3": (138, 3), "layernorm": (86, 3),
       "attention_head": (269, 5), "svm_hinge": (85, 2), "leaky_relu_net": (124, 3)}
TERMINAL_LINES = 1150   # `tutor solve NAME --no-color` at 80 columns, the thirteen together (2,166 before)
PDF_PAGES = 22          # the thirteen exports together (49 before)
SHEET2_EX3_PAGES = 2
_DISPLAY = re.compile(r"\\begin\{align\*\}.*?\\end\{align\*\}", re.S)


def terminal_lines(name: str) -> int:
    env = dict(os.environ, COLUMNS="80", PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as here:
        run = subprocess.run([sys.executable, "-m", "backprop_tutor", "solve", name, "--no-color"],
                             capture_output=True, text=True, env=env, cwd=here, timeout=120)
    assert run.returncode == 0, run.stderr
    return len(run.stdout.splitlines())


def problem_path(name: str) -> Path:
    return ROOT / "problems" / f"{name}.yaml"


@pytest.mark.parametrize("name", sorted(OWN))
def test_each_later_problem_within_its_own_budget(name):
    lines, budget_pages = OWN[name]
    assert terminal_lines(str(problem_path(name))) <= lines
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    pdf, log = typeset(to_latex(solve(load(problem_path(name)))).encode("utf-8"))
    assert pdf is not None, f"{name}: LaTeX failed"
    assert read_log(log).pages <= budget_pages


def test_terminal_lines_within_budget():
    with ThreadPoolExecutor(max_workers=2) as pool:
        lines = dict(zip(MEASURED, pool.map(terminal_lines, MEASURED)))
    assert sum(lines.values()) <= TERMINAL_LINES, lines


@pytest.mark.parametrize("name", MEASURED)
def test_no_display_is_repeated_verbatim(name):
    counts = Counter(_DISPLAY.findall(to_latex(solve(load(name)))))
    assert [d for d, n in counts.items() if n > 1] == []


@pytest.fixture(scope="module")
def pages():
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")

    def count(name):
        pdf, log = typeset(to_latex(solve(load(name))).encode("utf-8"))
        assert pdf is not None, f"{name}: LaTeX failed"
        return read_log(log).pages

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(MEASURED, pool.map(count, MEASURED)))


def test_pdf_pages_within_budget(pages):
    assert sum(pages.values()) <= PDF_PAGES, pages


def test_sheet2_ex3_fits_two_pages(pages):
    assert pages["sheet2_ex3"] <= SHEET2_EX3_PAGES
