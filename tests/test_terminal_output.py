"""What the terminal printer puts on a pipe: no spaces at line ends, and no token split across lines."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_tutor import load
from backprop_tutor.cli import app
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
