"""Each slip of slips.py made on a bundled problem, its value fed to tutor check: the diagnosis names it."""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from backprop_tutor import load
from backprop_tutor.datasets import solvable
from backprop_tutor.engine import Work
from backprop_tutor.graph import build
from backprop_tutor.marking import Quantity, Values, WRONG, agrees
from backprop_tutor.slips import slipped
from backprop_tutor.studentanswers import Written, significant_digits
from helpers import cli

ROOT = Path(__file__).resolve().parent.parent
# every bundled problem, sheet12_p2 first: each slip is made on the first of them where it applies
PROBLEMS = [str(ROOT / "problems" / "sheet12_p2.yaml")] + [str(p) for p in sorted((ROOT / "problems").glob("*.yaml"))
                                                          if p.stem != "sheet12_p2"]
DIGITS = 6


def text_of(v) -> str:
    """A value rounded by mpmath to DIGITS significant digits."""
    v = sp.sympify(v)
    if v.is_zero:
        return "0"
    with mpmath.workdps(60):
        return mpmath.nstr(mpmath.mpf(sp.N(v, 60)), DIGITS, strip_zeros=False)


def in_yaml(value) -> str:
    if not isinstance(value, sp.MatrixBase):
        return text_of(value)
    if value.cols == 1:
        return "[" + ", ".join(text_of(x) for x in value) + "]"
    return "[" + ", ".join("[" + ", ".join(text_of(x) for x in value.row(i)) + "]" for i in range(value.rows)) + "]"


def key_of(q: Quantity) -> str:
    return {"value": q.name, "loss": "L", "grad": f"dL/d{q.name}", "updated": f"{q.name}'",
            "loss_after": "L'"}[q.kind]


def quantities(work: Work) -> list:
    g = work.g
    out = [Quantity("value", n.name) for n in g.computed if n.role == "forward"]
    out += [Quantity("loss")] if "L" in g.nodes else []
    out += [Quantity("grad", n) for n in work.deltas if g.nodes[n].role in ("forward", "parameter")]
    if g.problem.learning_rate is not None and "L" in g.nodes:
        out += [Quantity("updated", n.name) for n in g.parameters if n.expr is None and n.name not in g.problem.frozen]
    return out


def differs(theirs, exact) -> bool:
    """Whether the slipped value, rounded to DIGITS, is wrong for the exact one (in some entry)."""
    a = list(theirs) if isinstance(theirs, sp.MatrixBase) else [theirs]
    b = list(exact) if isinstance(exact, sp.MatrixBase) else [exact]
    if len(a) != len(b) or any(getattr(x, "free_symbols", None) for x in a + b):
        return False
    return any(not agrees(Written(t, Fraction(t), significant_digits(t)), e)
               for t, e in zip((text_of(x) for x in a), b))


SEEN: set = set()  # every slip key some bundled problem has


def made_slips() -> list:
    """(problem, slip key, says, answer key, value) for each slip, on the first bundled problem where it
    changes a checkable value."""
    found: dict = {}
    for name in PROBLEMS:
        problem = solvable(load(name))
        work = Work(build(problem))
        exact = Values(work, None)
        for s in slipped(problem, work):
            SEEN.add(s.slip.key)
            if s.slip.key in found:
                continue
            theirs = Values(s.work, None)
            for q in quantities(work):
                try:
                    value = theirs.value(q)
                except (KeyError, TypeError, AttributeError):
                    continue
                if differs(value, exact.value(q)):
                    found[s.slip.key] = (name, s.slip.key, s.slip.says, key_of(q), in_yaml(value))
                    break
    return list(found.values())


CASES = made_slips()


def test_every_slip_of_the_bundled_problems_is_made_and_checked():
    assert len(CASES) >= 3, CASES
    assert {c[1] for c in CASES} == SEEN


@pytest.mark.parametrize("problem, slip, says, key, value", CASES, ids=[c[1] for c in CASES])
def test_check_names_the_slip_that_gives_the_students_value(problem, slip, says, key, value):
    result = cli("check", problem, "--answer", f"{key}={value}", "--json")
    assert result.exit_code == 1, (result.output, result.exception)
    row = next(m for m in json.loads(result.stdout)["marks"] if m["key"] == key)
    assert row["status"] == WRONG and slip in [s["key"] for s in row["slips"]], row
    text = cli("check", problem, "--answer", f"{key}={value}", "--no-color").stdout
    assert " ".join(says.split()) in " ".join(text.split()), text


def test_every_slip_is_documented_in_the_answers_guide():
    guide = (ROOT / "docs" / "answers-format.md").read_text(encoding="utf-8")
    assert SEEN and all(f"| `{key}` |" in guide for key in SEEN), sorted(SEEN)
