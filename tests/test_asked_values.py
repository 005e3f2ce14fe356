"""Every asked value of the bundled problems stays what it was, in JSON and on the terminal.

tests/data/asked_values.json holds, for each bundled problem with `ask:`, each part's asked
values (its answer's (kind, name) pairs) as exact text: a fraction, an integer, a formula in the
file's names, or, for a number known only to high precision, its first 40 significant digits.
It was written once from the solver, before the output was condensed; to write it again (only
when a value changes on purpose, and say why):

    python -c "import tests.test_asked_values as t; t.write_fixture()"
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from backprop_tutor import load
from backprop_tutor.bundled import bundled
from backprop_tutor.notation import number_text
from backprop_tutor.render.jsonout import exact_text, to_json
from backprop_tutor.solver import solve

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "data" / "asked_values.json"
HIGH = 40  # significant digits kept for a number with no exact form


def _text(x) -> str:
    exact = exact_text(x)
    return exact if exact is not None else str(sp.N(x, HIGH))


def _entries(value, shape) -> list:
    """The entries of a value, flat, in row order."""
    return list(value) if isinstance(value, sp.MatrixBase) else [value]


def asked(solution) -> dict:
    """part → "kind/name" → the asked value's entries as text."""
    out = {}
    for answer in solution.answers:
        values = {}
        for kind, name in answer.main:
            value, shape = answer.shown[kind] if name is None else answer.shown[kind][name]
            values[f"{kind}/{'' if name is None else name}"] = [_text(v) for v in _entries(value, shape)]
        out[answer.part] = values
    return out


def asking() -> list:
    """The bundled problems that have an ask: block."""
    return [e for e in bundled() if load(e.path).ask]


def write_fixture():
    """Write tests/data/asked_values.json from the solver as it is now."""
    data = {e.name: asked(solve(load(e.path))) for e in asking()}
    FIXTURE.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


FIXED = json.loads(FIXTURE.read_text(encoding="utf-8")) if FIXTURE.exists() else {}
NAMES = sorted(FIXED)


def test_every_asking_problem_is_in_the_fixture():
    assert sorted(e.name for e in asking()) == NAMES


def _same(text: str, value) -> bool:
    """An entry equal to the fixture's text: exactly, or to the fixture's digits for a number without an exact form."""
    if exact_text(value) is not None or not isinstance(value, sp.Basic) or not value.is_number:
        return _text(value) == text
    return abs(sp.N(value, HIGH) - sp.Float(text, HIGH)) <= sp.Float(10) ** (-HIGH + 5) * max(1, abs(sp.Float(text, HIGH)))


@pytest.mark.parametrize("name", NAMES)
def test_asked_values_are_unchanged_in_json(name):
    entry = next(e for e in bundled() if e.name == name)
    solution = solve(load(entry.path))
    answers = to_json(solution)["answers"]
    assert sorted(answers) == sorted(FIXED[name])
    for answer in solution.answers:
        want = FIXED[name][answer.part]
        got = {f"{k}/{'' if n is None else n}" for k, n in answer.main}
        assert got == set(want), (name, answer.part)
        exact = answers[answer.part].get("exact", {})
        for key, texts in want.items():
            kind, _, item = key.partition("/")
            value, shape = answer.shown[kind] if not item else answer.shown[kind][item]
            entries = _entries(value, shape)
            assert len(entries) == len(texts)
            assert all(_same(t, v) for t, v in zip(texts, entries)), (name, answer.part, key)
            written = exact[kind] if not item else exact[kind][item]
            flat = [written] if shape == () else [x for row in written for x in (row if isinstance(row, list) else [row])]
            assert [exact_text(v) for v in entries] == flat


def _parts_text(output: str) -> dict:
    """The terminal output of each part: from its first heading to the next part's."""
    out, part = {}, None
    lines = output.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^\(([^)\s]+)\) ", line)
        ruled = "───" in line or (i + 1 < len(lines) and set(lines[i + 1].strip()) == {"─"})
        if m and ruled:
            part = m.group(1)
        if part is not None:
            out[part] = out.get(part, "") + line + "\n"
    return out


def _terminal(name: str) -> str:
    env = dict(os.environ, COLUMNS="80", PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "backprop_tutor", "solve", name, "--no-color"],
                         capture_output=True, text=True, env=env, check=True, cwd=str(FIXTURE.parent))
    return run.stdout.replace("−", "-")


@pytest.mark.parametrize("name", NAMES)
def test_asked_numbers_appear_in_their_part(name):
    """Each numeric asked entry, rounded as the terminal rounds it (4 significant digits), is in its part."""
    entry = next(e for e in bundled() if e.name == name)
    solution = solve(load(entry.path))
    parts = _parts_text(_terminal(name))
    for answer in solution.answers:
        for kind, item in answer.main:
            value, shape = answer.shown[kind] if item is None else answer.shown[kind][item]
            for v in _entries(value, shape):
                if getattr(v, "free_symbols", None):
                    continue  # a formula is drawn in two dimensions: its value is checked in JSON above
                shown = number_text(v, 4).replace("−", "-")
                assert shown in parts.get(answer.part, ""), (name, answer.part, kind, item, shown)
