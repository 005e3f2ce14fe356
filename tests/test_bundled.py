"""The bundled problems: `tutor list`, bare names, and that they ship inside the package."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from backprop_tutor.cli import app

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
NAMES = [p.stem for p in PROBLEMS]
WIDE = {"COLUMNS": "1000"}   # one table row per problem: titles and sources are not folded

runner = CliRunner()


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env or WIDE)


def test_there_are_bundled_problems():
    assert PROBLEMS, "problems/ holds the bundled problem files"


def test_list_shows_every_problem_with_its_title_and_source():
    result = run("list", "--no-color")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for path in PROBLEMS:
        head = yaml.safe_load(path.read_text(encoding="utf-8"))
        row = [line for line in lines if line.split() and line.split()[0] == path.stem]
        assert len(row) == 1, f"{path.stem}: one row in tutor list"
        assert str(head["title"]) in row[0], f"{path.stem}: title"
        assert str(head["source"]) in row[0], f"{path.stem}: source"


def test_list_shows_nothing_else():
    out = run("list", "--no-color").output.splitlines()
    listed = {line.split()[0] for line in out[1:] if line.strip()}
    assert listed == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_bare_name_solves_the_same_as_the_path(name, tmp_path, monkeypatch):
    by_path = run("solve", ROOT / "problems" / f"{name}.yaml", "--no-color")
    monkeypatch.chdir(tmp_path)          # no problems/ folder here: the name must be found bundled
    assert not Path(name).exists() and not Path(f"{name}.yaml").exists()
    by_name = run("solve", name, "--no-color")
    assert by_path.exit_code == 0, by_path.output
    assert by_name.exit_code == 0, by_name.output
    assert by_name.stdout == by_path.stdout


def test_unknown_bare_name_is_one_error_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("solve", "no_such_problem_here")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert "no_such_problem_here" in lines[0]
    assert "Traceback" not in result.stderr


def test_problems_are_inside_the_installed_package():
    folder = files("backprop_tutor.problems")
    shipped = sorted(item.name for item in folder.iterdir() if item.name.endswith(".yaml"))
    assert shipped == sorted(p.name for p in PROBLEMS)
    for path in PROBLEMS:
        assert (folder / path.name).read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_the_api_loads_a_bundled_problem_by_its_bare_name(tmp_path, monkeypatch):
    """load() and solve() take what the command line takes: a path or a bundled problem's name."""
    from backprop_tutor import ProblemError, UsageError, load, solve
    monkeypatch.chdir(tmp_path)  # away from the repository, where problems/ is no relative path
    by_name = load("ws24_sheet4_ex1")
    by_path = load(ROOT / "problems" / "ws24_sheet4_ex1.yaml")
    assert by_name.forward == by_path.forward and by_name.parameters == by_path.parameters
    assert load("ws24_sheet4_ex1.yaml").title == by_path.title
    assert solve("ws24_sheet4_ex1").loss == solve(by_path).loss
    (tmp_path / "ws24_sheet4_ex1").write_text("inputs: {x: 1}\nparameters: {w: 2}\nloss: w * x\n", encoding="utf-8")
    assert load("ws24_sheet4_ex1").title == "ws24_sheet4_ex1", "a file of that name comes first"
    with pytest.raises(ProblemError, match="no such file"):
        load("no_such_problem")
    with pytest.raises(UsageError, match="loads"):
        load("inputs: {x: 1}\nloss: x")
