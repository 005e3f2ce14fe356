"""The README's Quick start, run as written from the root of a fresh clone: solve, then derive without a file."""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _quick_start_commands() -> list[str]:
    """The shell commands of the README's Quick start section, in order, one per line."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def _fresh_clone(tmp_path: Path) -> Path:
    """A clone of the repository (or a copy of its tracked-looking files when it is not a git checkout)."""
    clone = tmp_path / "clone"
    if (ROOT / ".git").exists() and shutil.which("git"):
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        # the working tree may hold changes not yet committed: test those
        for sub in ("backprop_tutor", "problems", "README.md", "pyproject.toml"):
            source = ROOT / sub
            if source.is_dir():
                shutil.rmtree(clone / sub)
                shutil.copytree(source, clone / sub, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(source, clone / sub)
    else:
        shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(".venv", "__pycache__", "*.egg-info"))
    return clone


def _shell(tmp_path: Path, clone: Path):
    """Run a command line in bash at the clone's root, with `tutor` being this checkout's program."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "tutor"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m backprop_tutor \"$@\"\n")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONPATH=str(clone),
               COLUMNS="80", XDG_STATE_HOME=str(tmp_path / "state"))

    def run(line: str):
        return subprocess.run(["bash", "-c", line], cwd=clone, env=env, capture_output=True, text=True, timeout=300)

    return run


def _expected_dW21(clone: Path) -> Fraction:
    """∂L/∂W2[2,1] of sheet12_p2 by hand: xW layout, relu hidden layer, linear output, L = Σ (y − z)²."""
    raw = yaml.safe_load((clone / "problems/sheet12_p2.yaml").read_text(encoding="utf-8"))
    F = lambda v: Fraction(str(v))  # noqa: E731
    x = [F(v) for v in raw["inputs"]["x"]]
    W1, W2 = ([[F(v) for v in row] for row in layer["weights"]] for layer in raw["network"]["layers"])
    t = [F(v) for v in raw["targets"]["z"]]
    h = [max(Fraction(0), sum(x[i] * W1[i][j] for i in range(2))) for j in range(2)]
    y = [sum(h[i] * W2[i][j] for i in range(2)) for j in range(2)]
    return 2 * (y[0] - t[0]) * h[1]


def test_readme_quick_start_then_derive_without_a_file(tmp_path):
    commands = _quick_start_commands()
    first = commands[0]
    assert "tutor solve" in first, first
    solve_line = first[first.index("tutor solve"):]
    derive_lines = [c for c in commands[2:] if c.startswith("tutor derive")]
    assert derive_lines == ["tutor derive --wrt W21"], commands

    clone = _fresh_clone(tmp_path)
    run = _shell(tmp_path, clone)

    solved = run(solve_line)
    assert solved.returncode == 0, solved.stderr
    assert "Loss" in solved.stdout

    derived = run(derive_lines[0])
    assert derived.returncode == 0, derived.stderr
    assert derived.stderr.splitlines() == ["using problems/sheet12_p2.yaml"]
    expected = _expected_dW21(clone)
    shown = re.findall(r"= (-?\d+\.\d+|-?\d+)\s*$", derived.stdout, re.M)
    assert shown, derived.stdout
    assert Fraction(shown[-1]) == expected


def test_quick_start_test_command_is_what_ci_runs():
    commands = _quick_start_commands()
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert commands[1] in ci.splitlines()


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_derive_without_a_file_and_nothing_remembered_says_how(tmp_path):
    clone = _fresh_clone(tmp_path)
    result = _shell(tmp_path, clone)("tutor derive --wrt W21")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "FILE" in lines[0], result.stderr
