"""What the terminal printer puts on a pipe: no spaces at line ends, and no token split across lines."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from typer.testing import CliRunner

from backprop_tutor import load
from backprop_tutor.cli import app
from backprop_tutor.ops import FUNCTIONS
from backprop_tutor.render.console import TrimmedLines

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
runner = CliRunner()


def run(*args, columns=80):
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def of(path: Path) -> str:
    """The node derive --all differentiates: the loss, or the last forward line of a problem without one."""
    problem = load(path)
    return "L" if problem.loss is not None else problem.forward[-1].name


def commands(path: Path) -> list:
    every = [["derive", path, "--all", "--of", of(path), "--no-color"]] if load(path).parameters else []
    return [["solve", path, "--no-color"], *every]


def test_derive_all_without_parameters_says_so():
    path = ROOT / "problems" / "sheet2_ex1.yaml"
    assert not load(path).parameters
    result = runner.invoke(app, ["derive", str(path), "--all", "--of", "y"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["error: --all: the problem has no parameters to differentiate by; "
                                          "give --wrt NAME (an input or a computed node)"]


# -- trailing spaces ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_piped_output_has_no_spaces_at_line_ends(path):
    for args in commands(path):
        text = run(*args)
        assert text.strip()
        bad = [n for n, line in enumerate(text.splitlines(), 1) if line != line.rstrip()]
        assert not bad, f"tutor {' '.join(map(str, args[:1]))} {path.stem}: lines {bad[:10]} end in spaces"


def test_list_has_no_spaces_at_line_ends():
    text = run("list", "--no-color")
    assert text.count("\n") > 5
    assert not [line for line in text.splitlines() if line != line.rstrip()]


def test_through_a_real_pipe_with_and_without_colours():
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="80")
    env.pop("NO_COLOR", None)
    for extra in ({}, {"FORCE_COLOR": "1"}):
        done = subprocess.run([sys.executable, "-m", "backprop_tutor", "solve", "sheet12_p1_xor"],
                              capture_output=True, text=True, timeout=60, env={**env, **extra})
        assert done.returncode == 0, done.stderr
        plain = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
        assert ("\x1b[" in done.stdout) == bool(extra)
        assert not [line for line in plain.splitlines() if line != line.rstrip()]


def written(*chunks, flush=False) -> str:
    out = io.StringIO()
    stream = TrimmedLines(out)
    for chunk in chunks:
        assert stream.write(chunk) == len(chunk)
    if flush:
        stream.flush()
    return out.getvalue()


def test_trimmed_lines_drops_only_the_spaces_at_line_ends():
    assert written("a  b   \n  c\t \n") == "a  b\n  c\n"
    assert written("\x1b[1mhead  \x1b[0m  \n") == "\x1b[1mhead\x1b[0m\n"    # the style is still switched off
    assert written("a   ", "\nb") == "a\nb"                                 # split across writes
    assert written("a   ", "b\n") == "a   b\n"                              # inner spaces stay
    assert written("a   ", flush=True) == "a   "                            # nothing is lost on flush
    assert written("   \n\n  x\n") == "\n\n  x\n"
    assert written("") == ""


def test_trimmed_lines_is_the_stream_it_wraps_otherwise():
    out = io.StringIO()
    assert TrimmedLines(out).isatty() is False and TrimmedLines(sys.__stdout__).fileno() == sys.__stdout__.fileno()


# -- wrapping: no token split across lines -------------------------------------------------------------

FUNCTION_AT_END = re.compile(r"(?<![\w′])(?:" + "|".join(sorted(FUNCTIONS, key=len, reverse=True)) + r"|σ)\s*$")
RULE = set("─━")


def tokens(text: str) -> Counter:
    """The symbols of the text: runs without spaces, cut before each ⋅ (where a product may break)."""
    return Counter(t for w in text.split() for t in re.split(r"(?=⋅)", w) if t and not set(t) <= RULE)


@pytest.mark.parametrize("columns", [80, 60])
@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_narrow_output_never_splits_a_symbol(path, columns):
    for args in commands(path):
        narrow, wide = run(*args, columns=columns), run(*args, columns=1000)
        assert "↪" not in narrow
        lost = tokens(narrow) - tokens(wide)
        assert not lost, f"{args[0]} {path.stem} at {columns} columns: split or cut {sorted(lost)[:8]}"
        lines = narrow.splitlines()
        ends = [line for i, line in enumerate(lines) if FUNCTION_AT_END.search(line)
                and any(after.strip().startswith("(") for after in lines[i + 1:i + 3])]
        assert not ends, f"a function apart from its argument: {ends[:3]}"
        wide_lines = [line for line in narrow.splitlines() if cell_len(line) > columns]
        assert not wide_lines, wide_lines[:3]


def test_the_reported_tanh_squared_stays_whole_at_80_and_60_columns():
    for columns in (80, 60):
        text = run("solve", "sheet2_ex3", "--no-color", columns=columns)
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.rstrip().endswith("tanh"):
                pytest.fail(f"line {i + 1} ends in tanh: {line!r}")
        assert "tanh²(z₆)" in text   # the square written as a sheet writes it, on the line


def test_a_long_formula_breaks_between_terms_and_keeps_every_symbol():
    from backprop_tutor.render.wrap import wrap_picture
    row = "y = 0.3333⋅(x₁⋅tanh(y₁ - t₁) + x₂⋅tanh(y₂ - t₂) + x₃⋅tanh(y₃ - t₃))"
    lines = wrap_picture([row], 40, 6)
    assert len(lines) > 1 and all(cell_len(line) <= 40 for line in lines)
    assert [line.strip()[0] for line in lines[1:]] == ["+", "+"], lines   # before the + of the outer sum
    assert tokens("\n".join(lines)) == tokens(row)


def test_a_tall_picture_breaks_only_at_a_column_blank_from_top_to_bottom():
    from backprop_tutor.render.wrap import wrap_picture
    rows = ["        2             2",
            "= a⋅tanh (z₅) + b⋅tanh (z₆)"]
    lines = wrap_picture(rows, 20, 2)
    assert lines == ["        2", "= a⋅tanh (z₅)", "          2", "  + b⋅tanh (z₆)"], lines


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=" ab(⋅)⎛⎝2─", max_size=60), min_size=1, max_size=4),
       st.integers(min_value=1, max_value=50), st.integers(min_value=0, max_value=20))
def test_wrapping_never_loses_a_character_and_fits_where_it_can(rows, width, indent):
    from backprop_tutor.render.wrap import wrap_picture
    lines = wrap_picture(rows, width, indent)
    assert Counter("".join(lines).replace(" ", "")) == Counter("".join(rows).replace(" ", ""))
    assert all(cell_len(line) <= max(width, 4 + 1) for line in lines), lines


HOSTILE_LABEL = "[bold]c1[/bold] :smile: [abc]"  # Rich markup, an emoji code and a bracketed word


def test_a_files_labels_are_shown_as_written_not_read_as_markup_or_emoji(tmp_path):
    text = (ROOT / "problems" / "sheet2_ex1.yaml").read_text()
    assert 'below: "class 1"' in text
    path = tmp_path / "labels.yaml"
    path.write_text(text.replace('below: "class 1"', f'below: "{HOSTILE_LABEL}"'))
    out = run("solve", path, "--no-color", columns=200)
    assert HOSTILE_LABEL in out and "😄" not in out
    # the library's printer in a console of Rich's defaults (markup and emoji codes on) shows it as written too
    from rich.console import Console
    from backprop_tutor import solve
    from backprop_tutor.render.terminal import print_solution
    shown = io.StringIO()
    print_solution(solve(load(path)), Console(file=shown, width=200))
    assert HOSTILE_LABEL in shown.getvalue() and "😄" not in shown.getvalue()
