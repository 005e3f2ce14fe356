"""Leaving FILE out: the problem last used in the folder, remembered in the user's state folder."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_tutor import recent
from backprop_tutor.cli import app

ROOT = Path(__file__).resolve().parent.parent
SHEET = ROOT / "problems" / "ws24_sheet4_ex1.yaml"   # parameters u, c, v, d
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A fresh working folder with its own copy of a problem, and an empty memory."""
    work = tmp_path / "work"
    (work / "problems").mkdir(parents=True)
    shutil.copy(SHEET, work / "problems" / "sheet.yaml")
    monkeypatch.chdir(work)
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return work


def one_line(result, code=2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_the_test_run_never_writes_into_the_real_home(private_state_folder):
    assert os.environ["XDG_STATE_HOME"] == str(private_state_folder)
    assert recent.state_file().is_relative_to(private_state_folder)


def test_the_state_file_honours_xdg_state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert recent.state_file() == tmp_path / "backprop-tutor" / "recent.json"


def test_derive_without_file_uses_the_problem_solve_last_used(folder):
    assert run("solve", "problems/sheet.yaml", "--no-color").exit_code == 0
    given = run("derive", "problems/sheet.yaml", "--wrt", "v", "--no-color")
    left_out = run("derive", "--wrt", "v", "--no-color")
    assert left_out.exit_code == 0, left_out.output
    assert left_out.stdout == given.stdout
    assert left_out.stderr.splitlines() == [f"using {Path('problems', 'sheet.yaml')}"]
    assert given.stderr == ""   # said only when FILE was left out


def test_json_stays_pure_when_file_is_left_out(folder):
    assert run("solve", "problems/sheet.yaml", "--json").exit_code == 0
    result = run("solve", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == json.loads(run("solve", "problems/sheet.yaml", "--json").stdout)["title"]
    assert result.stderr.startswith("using ")


def test_nothing_remembered_is_one_line_that_says_how_to_give_file(folder):
    for command in (["solve"], ["derive", "--wrt", "v"], ["export", "-o", "x.tex"]):
        line = one_line(run(*command))
        assert "no problem file given" in line and "tutor solve" in line, line
    assert sorted(p.name for p in folder.iterdir()) == ["problems"]


def test_each_folder_remembers_its_own_problem(folder, tmp_path):
    assert run("solve", "problems/sheet.yaml").exit_code == 0
    other = tmp_path / "other"
    other.mkdir()
    os.chdir(other)
    one_line(run("solve"))
    assert run("solve", "sheet12_p2").exit_code == 0
    os.chdir(folder)
    assert run("solve", "--no-color").stderr.strip() == f"using {Path('problems', 'sheet.yaml')}"
    os.chdir(other)
    assert run("solve", "--no-color").stderr.strip() == "using sheet12_p2"


def test_a_bundled_name_is_remembered_as_given(folder):
    assert run("solve", "sheet12_p2", "--json").exit_code == 0
    assert recent.remembered(folder) == (recent.BUNDLED, "sheet12_p2")
    result = run("derive", "--wrt", "W21", "--json")   # sheet12_p2 asks for W21
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "using sheet12_p2"
    assert json.loads(result.stdout) == json.loads(run("derive", "sheet12_p2", "--wrt", "W21", "--json").stdout)


def test_a_file_outside_the_folder_is_shown_by_its_whole_path(folder, tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    shutil.copy(SHEET, outside)
    assert run("solve", outside).exit_code == 0
    assert run("solve").stderr.strip() == f"using {outside}"


def test_export_without_file_uses_the_remembered_problem(folder):
    assert run("solve", "problems/sheet.yaml").exit_code == 0
    result = run("export", "-o", "x.tex")
    assert result.exit_code == 0, result.output
    assert (folder / "x.tex").read_text(encoding="utf-8").startswith("\\documentclass")
    assert "using" in result.stderr


def test_a_problem_that_fails_to_load_is_not_remembered(folder):
    (folder / "bad.yaml").write_text("inputs: {x: 1}\nloss: sse(x, 1)\nfrobnicate: 1\n", encoding="utf-8")
    assert run("solve", "problems/sheet.yaml").exit_code == 0
    assert run("solve", "bad.yaml").exit_code == 2
    assert run("solve").stderr.strip().endswith("sheet.yaml")


def test_a_remembered_file_that_is_gone_is_one_line(folder):
    assert run("solve", "problems/sheet.yaml").exit_code == 0
    (folder / "problems" / "sheet.yaml").unlink()
    line = one_line(run("derive", "--wrt", "v"))
    assert "no longer exists" in line and "sheet.yaml" in line and "give FILE" in line, line


def test_the_memory_is_bounded_to_the_most_recent_folders(folder, tmp_path):
    for i in range(recent.MAX_FOLDERS + 30):
        recent.remember(tmp_path / f"f{i}", SHEET)
    data = json.loads(recent.state_file().read_text(encoding="utf-8"))
    assert len(data["folders"]) == recent.MAX_FOLDERS
    assert recent.remembered(tmp_path / "f0") is None
    assert recent.remembered(tmp_path / f"f{recent.MAX_FOLDERS + 29}") == (recent.PATH, str(SHEET))
    recent.remember(tmp_path / "f30", SHEET)   # used again: the most recent now
    for i in range(recent.MAX_FOLDERS + 30, recent.MAX_FOLDERS + 60):
        recent.remember(tmp_path / f"f{i}", SHEET)
    assert recent.remembered(tmp_path / "f30") is not None
    assert recent.remembered(tmp_path / "f31") is None


def test_the_library_functions_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "s"))
    assert recent.remembered(tmp_path) is None
    recent.remember(tmp_path, "p.yaml")
    assert recent.remembered(tmp_path) == (recent.PATH, str(Path.cwd() / "p.yaml"))
    recent.remember(tmp_path, "sheet2_ex4", bundled=True)
    assert recent.remembered(tmp_path) == (recent.BUNDLED, "sheet2_ex4")


HOSTILE_STATES = {
    "garbage": b"\xff\xfe not json at all {{{",
    "empty": b"",
    "a list": b"[1, 2, 3]",
    "deep": b"[" * 100000 + b"]" * 100000,
    "wrong types": json.dumps({"folders": {"/x": 5, "/y": {"kind": "path", "problem": 7},
                                           "/z": {"kind": "exec", "problem": "rm -rf /"}}}).encode(),
    "huge": b'{"folders": {' + b'"a": 1,' * 400000 + b'"b": 2}}',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_STATES))
def test_a_corrupt_or_hostile_state_file_reads_as_empty(folder, kind):
    state = recent.state_file()
    state.parent.mkdir(parents=True)
    state.write_bytes(HOSTILE_STATES[kind])
    assert recent.remembered(folder) is None
    assert "no problem file given" in one_line(run("solve"))
    assert run("solve", "problems/sheet.yaml").exit_code == 0   # and the file is made good again
    assert run("solve").exit_code == 0


def test_a_remembered_relative_path_or_control_characters_are_not_trusted(folder):
    state = recent.state_file()
    state.parent.mkdir(parents=True)
    hostile = {str(folder): {"kind": "path", "problem": "problems/sheet.yaml"}}
    state.write_text(json.dumps({"folders": hostile}), encoding="utf-8")
    assert recent.remembered(folder) is None
    gone = str(folder / "x\x1b[31mred\x07.yaml")
    state.write_text(json.dumps({"folders": {str(folder): {"kind": "path", "problem": gone}}}), encoding="utf-8")
    line = one_line(run("solve"))
    assert "\x1b" not in line and "\x07" not in line and "no longer exists" in line


def test_a_state_file_that_is_a_pipe_or_a_folder_never_hangs_or_breaks(folder, tmp_path):
    state = recent.state_file()
    state.parent.mkdir(parents=True)
    os.mkfifo(state)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "backprop_tutor", "solve", "problems/sheet.yaml", "--json"],
                          capture_output=True, text=True, timeout=60, env=env, cwd=folder)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    done = subprocess.run([sys.executable, "-m", "backprop_tutor", "solve", "--json"],
                          capture_output=True, text=True, timeout=60, env=env, cwd=folder)
    assert done.returncode == 2 and "no problem file given" in done.stderr
    state.unlink()
    state.mkdir()
    assert run("solve", "problems/sheet.yaml").exit_code == 0
    assert state.is_dir()


def test_a_state_folder_that_cannot_be_written_is_silent(folder, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    result = run("solve", "problems/sheet.yaml", "--json")
    assert result.exit_code == 0 and result.stderr == ""
    assert blocker.read_text() == "a file where the state folder should be"


def test_a_state_link_is_not_followed_when_read(folder, tmp_path):
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"folders": {str(folder): {"kind": "bundled", "problem": "sheet2_ex4"}}}))
    state = recent.state_file()
    state.parent.mkdir(parents=True)
    state.symlink_to(elsewhere)
    assert recent.remembered(folder) is None
    assert run("solve", "problems/sheet.yaml").exit_code == 0
    assert not state.is_symlink() and "sheet2_ex4" in elsewhere.read_text()


def test_through_a_real_process_the_memory_is_kept_between_runs(folder):
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def tutor(*args):
        return subprocess.run([sys.executable, "-m", "backprop_tutor", *args], capture_output=True, text=True,
                              timeout=60, env=env, cwd=folder)

    assert tutor("solve", "problems/sheet.yaml", "--json").returncode == 0
    done = tutor("derive", "--wrt", "v", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"using {Path('problems', 'sheet.yaml')}"
    assert "\x1b" not in done.stderr   # dim only on a terminal
    json.loads(done.stdout)


@pytest.mark.parametrize("entry", ["fifo", "device", "traversal"])
def test_a_hostile_remembered_problem_is_read_as_any_problem_file_is(folder, entry):
    """The memory only says which file to read: reading it is as safe as reading FILE."""
    if entry == "fifo":
        os.mkfifo(folder / "pipe.yaml")
        remembered = {"kind": "path", "problem": str(folder / "pipe.yaml")}
    elif entry == "device":
        remembered = {"kind": "path", "problem": "/dev/zero"}
    else:
        remembered = {"kind": "bundled", "problem": "../../../etc/passwd"}
    state = recent.state_file()
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"folders": {str(folder): remembered}}), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "backprop_tutor", "solve"], capture_output=True, text=True,
                          timeout=60, env=env, cwd=folder)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr


def test_solving_the_newest_folders_problem_again_leaves_the_file_as_it_is(folder, tmp_path):
    recent.remember(folder, SHEET)
    path = recent.state_file()
    first = path.stat()
    recent.remember(folder, SHEET)
    again = path.stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)   # not written at all
    recent.remember(folder, "sheet2_ex4", bundled=True)   # another problem for the folder: written
    assert recent.remembered(folder) == (recent.BUNDLED, "sheet2_ex4")
    recent.remember(tmp_path, SHEET)
    recent.remember(folder, "sheet2_ex4", bundled=True)   # the folder's entry, no longer the newest: moved last
    assert list(json.loads(path.read_text(encoding="utf-8"))["folders"])[-1] == str(folder)
