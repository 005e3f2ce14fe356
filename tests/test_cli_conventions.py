"""The conventions of a command line: readable --help, shell completion, clean piped output."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
HELPS = [["--help"], ["solve", "--help"], ["derive", "--help"], ["export", "--help"], ["train", "--help"], ["boundary", "--help"],
         ["check", "--help"], ["new", "--help"], ["list", "--help"]]
NOISE = ["<bool>", "<str>", "<int", "<float", "{file}", "[default: None]", "[[", "╭", "│"]


def program(*args, env=None, **kwargs):
    """The program as a user starts it, in its own process, its output piped."""
    environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE", "_TUTOR_COMPLETE")}
    environment.update(PYTHONPATH=str(ROOT), COLUMNS="80", **(env or {}))
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=120,
                          env=environment, **kwargs)


def tutor(*args, env=None, **kwargs):
    return program("-m", "backprop_tutor", *args, env=env, **kwargs)


# -- --help ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", HELPS, ids=" ".join)
def test_help_reads_well_at_80_columns(args):
    done = tutor(*args)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("Usage: tutor"), text[:80]
    for noise in NOISE:
        assert noise not in text, f"{noise!r} in tutor {' '.join(args)}:\n{text}"
    wide = [line for line in text.splitlines() if cell_len(line) > 80]
    assert not wide, wide
    assert not [line for line in text.splitlines() if line != line.rstrip()], "trailing spaces"


def test_tutor_alone_shows_the_help():
    done = tutor()
    assert done.returncode == 2 and done.stderr == ""
    assert done.stdout == tutor("--help").stdout


@pytest.mark.parametrize("command", ["solve", "derive", "export", "train"])
def test_file_is_shown_as_optional_and_explained(command):
    text = tutor(command, "--help").stdout
    assert re.search(rf"Usage: tutor {command} \[OPTIONS\] \[FILE\]$", text, re.M), text
    assert "left out, the problem last used in this folder" in " ".join(text.split())


def test_the_commands_are_listed_without_cut_sentences():
    text = tutor("--help").stdout
    commands = text.split("Commands:", 1)[1].splitlines()
    assert [line.split()[0] for line in commands if line.strip()] == ["solve", "derive", "export", "draw", "train", "boundary", "check", "new", "list"]
    assert not [line for line in commands if line.rstrip().endswith("...")], commands


# -- shell completion ------------------------------------------------------------------------------

def complete(words: str) -> list:
    parts = words.split(" ")
    done = tutor(env={"_TUTOR_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)})
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_help_offers_completion():
    text = tutor("--help").stdout
    assert "--install-completion" in text and "--show-completion" in text


def test_completion_completes_commands_and_options():
    assert complete("tutor so") == ["solve"]
    assert "--keep-tex" in complete("tutor export --")
    assert complete("tutor solve --di") == ["--digits"]


def test_completion_with_program_options_anywhere():
    assert complete("tutor --debug solve --di") == ["--digits"]
    assert complete("tutor solve --debug --js") == ["--json"]
    assert complete("tutor --limit matrix_side=5 de") == ["derive"]


def test_show_completion_prints_a_script_for_the_shell():
    done = tutor("--show-completion", "bash")
    assert done.returncode == 0, done.stderr
    assert "_TUTOR_COMPLETE=complete_bash" in done.stdout and "complete " in done.stdout


def test_install_completion_writes_only_into_the_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    done = tutor("--install-completion", "bash", env={"HOME": str(home)}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "completion installed" in done.stdout
    assert "_TUTOR_COMPLETE" in "".join(p.read_text() for p in home.rglob("*") if p.is_file())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


@pytest.mark.parametrize("args, env", [(["--help"], {}), ([], {"_TUTOR_COMPLETE": "complete_bash",
                                                               "COMP_WORDS": "tutor so", "COMP_CWORD": "1"})],
                         ids=["help", "completion"])
def test_help_and_completion_stay_light(args, env):
    """Neither imports the engine (SymPy) or the pretty-printer: a shell waits on completion."""
    done = program("-X", "importtime", "-m", "backprop_tutor", *args, env=env)
    assert done.returncode == 0
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert "typer" in imported
    assert not imported & {"sympy", "mpmath", "rich", "yaml"}, sorted(imported & {"sympy", "mpmath", "rich", "yaml"})
