"""The program's entry: exit codes, one-line errors, --debug, and standard output that is closed or full."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_tutor import cli, solver
from backprop_tutor.errors import (EXIT_BAD_INPUT, EXIT_EXTERNAL, EXIT_INTERNAL, ExternalError, LimitError,
                                   OutputError, ProblemError, UsageError)

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "ws24_sheet4_ex1.yaml"


def environment() -> dict:
    """The test run's environment (its private state folder included) with this checkout importable."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def program(*args, **kwargs):
    """The program as a user starts it, in its own process."""
    return subprocess.run([sys.executable, "-m", "backprop_tutor", *map(str, args)], env=environment(),
                          timeout=60, **kwargs)


def main(args, capsys):
    """main() in this process: its exit status, and what it wrote to stdout and stderr."""
    with pytest.raises(SystemExit) as stop:
        cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return stop.value.code, out, err


def test_error_kinds_carry_the_documented_exit_codes():
    assert ProblemError("x").exit_code == LimitError("x").exit_code == EXIT_BAD_INPUT == 2
    assert UsageError("x").exit_code == OutputError("x").exit_code == 2
    assert ExternalError("x").exit_code == EXIT_EXTERNAL == 3
    assert EXIT_INTERNAL == 70


def test_success_is_zero(capsys):
    code, out, err = main(["solve", PROBLEM, "--json"], capsys)
    assert code == 0 and out.startswith("{") and err == ""


def test_a_usage_error_is_one_line_with_status_2(capsys):
    code, out, err = main(["solve", PROBLEM, "--frobnicate"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: No such option: --frobnicate"), err
    assert lines[0].endswith("(see tutor --help)")


def test_a_bad_file_is_one_line_with_status_2(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("inputs: {x: 1}\nloss: sse(x, 1)\nfrobnicate: 1\n", encoding="utf-8")
    code, out, err = main(["solve", bad], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}:3: frobnicate: unknown key"), err


def test_an_internal_error_asks_for_a_report_with_status_70(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("a defect of the tool")
    monkeypatch.setattr(solver, "solve", broken)
    code, out, err = main(["solve", PROBLEM], capsys)
    assert code == EXIT_INTERNAL
    assert err.strip().splitlines() == [f"error: internal error (RuntimeError); {cli.REPORT}"]
    assert "Traceback" not in out + err


def test_debug_shows_the_traceback_wherever_it_is_written(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a defect of the tool")
    monkeypatch.setattr(solver, "solve", broken)
    for args in (["--debug", "solve", str(PROBLEM)], ["solve", str(PROBLEM), "--debug"]):
        with pytest.raises(RuntimeError, match="a defect of the tool"):
            cli.main(args)


def test_the_group_maps_errors_for_an_in_process_runner_too():
    result = CliRunner().invoke(cli.app, ["derive", str(PROBLEM)])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: give --wrt NAME (or --all)"


def test_a_full_standard_output_is_one_line_with_status_2():
    with open("/dev/full", "w") as full:
        done = program("solve", PROBLEM, stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: cannot write the output: No space left on device"]


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_a_reader_that_leaves_ends_the_program_quietly(extra):
    proc = subprocess.Popen([sys.executable, "-m", "backprop_tutor", "solve", str(PROBLEM), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment())
    proc.stdout.read(20)
    proc.stdout.close()
    status = proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    assert status == 0 and err == "", (status, err)


def test_version_prints_the_package_version(capsys):
    from backprop_tutor import __version__
    code, out, err = main(["--version"], capsys)
    assert code == 0 and out.strip() == f"tutor (backprop-tutor) {__version__}" and err == ""
    assert __version__ in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_list_names_gives_one_bundled_name_a_line(capsys):
    code, out, err = main(["list", "--names"], capsys)
    assert code == 0
    assert out.splitlines() == sorted(p.stem for p in (ROOT / "problems").glob("*.yaml"))


@pytest.mark.parametrize("args", [("solve", "rnn_elman_bptt"), ("solve", "ws24_sheet4_ex1"),
                                  ("derive", "sheet12_p2", "--wrt", "W21"), ("solve", "no_such_problem")])
def test_an_output_that_cannot_take_unicode_gets_utf8(args):
    """An ASCII output (a file on Windows, PYTHONIOENCODING=ascii) gets the same text, in UTF-8, not a crash;
    the recurrent network's ∘ comes from a SymPy switch set by that encoding."""
    utf8 = program(*args, capture_output=True)
    ascii_run = subprocess.run([sys.executable, "-m", "backprop_tutor", *args], capture_output=True, timeout=60,
                               env={**environment(), "PYTHONIOENCODING": "ascii", "NO_COLOR": "1"})
    assert ascii_run.returncode == utf8.returncode, ascii_run.stderr
    assert ascii_run.stdout.decode("utf-8") == utf8.stdout.decode("utf-8")
    assert ascii_run.stderr.decode("utf-8") == utf8.stderr.decode("utf-8")
    assert utf8.returncode == 2 or "∂" in utf8.stdout.decode("utf-8")
