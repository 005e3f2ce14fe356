"""derive --all: every section is headed by the derivative it belongs to, so the blocks can be told apart."""
import os
import re
import subprocess
import sys
from pathlib import Path

from backprop_tutor import load
from backprop_tutor.derivation import derive_all

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "problems" / "ws24_sheet4_ex1.yaml"


def test_each_derivation_heads_its_sections_with_its_parameter():
    problem = load(FILE)
    names = [p.name for p in problem.parameters]
    results = derive_all(problem)
    assert [d.wrt for d in results] == names
    for d in results:
        for section in d.sections:
            assert section.title.endswith(f": ∂L/∂{d.wrt}"), section.title


def test_the_terminal_headings_name_the_parameter():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    out = subprocess.run([sys.executable, "-m", "backprop_tutor", "derive", str(FILE), "--all", "--no-color", "--detail", "full"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    headings = [line for line in out.stdout.splitlines() if "───" in line and line[0] != " "]
    named = [re.search(r"∂L/∂(\S+)", h) for h in headings]
    assert all(named), headings
    per_name = [m.group(1) for m in named]
    assert len(set(per_name)) == len(load(FILE).parameters)
    assert all(per_name.count(n) == 4 for n in set(per_name))


def test_an_ask_derive_part_is_headed_once():
    text = ("inputs: {x: 2}\nparameters: {w: 3}\ntargets: {t: 1}\nforward: {y: w * x}\n"
            "loss: half_sse(y, t)\nask:\n  - {part: a, derive: w}\n")
    from backprop_tutor import loads, solve
    for section in solve(loads(text)).sections:
        assert section.title.count("∂L/∂w") == 1, section.title
