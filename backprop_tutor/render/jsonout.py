"""The JSON printer: the machine-readable object of the problem-format contract."""
from __future__ import annotations

import json

import sympy as sp

from ..solution import Solution


def number(x):
    """A value as JSON: a number where it is one, else the SymPy expression as text."""
    x = sp.sympify(x)
    if x.free_symbols or not x.is_number:
        return sp.sstr(x)
    if x.is_Integer:
        return int(x)
    return float(x)


def shaped(value, shape: tuple):
    """A value in its own shape: scalar, list, or list of lists."""
    if shape == ():
        return number(value[0] if isinstance(value, sp.MatrixBase) else value)
    if len(shape) == 1:
        return [number(v) for v in value]
    return [[number(v) for v in value.row(i)] for i in range(value.rows)]


def to_json(solution: Solution) -> dict:
    """The contract's object: values, loss, deltas, gradients, and the update where there is one."""
    s = solution.shapes
    out = {
        "title": solution.title,
        "values": {k: shaped(v, s[k]) for k, v in solution.values.items()},
        "loss": number(solution.loss),
        "deltas": {k: shaped(v, s[k]) for k, v in solution.deltas.items()},
        "gradients": {k: shaped(v, s[k]) for k, v in solution.gradients.items()},
    }
    if solution.learning_rate is not None:
        out["learning_rate"] = number(solution.learning_rate)
        out["updated"] = {k: shaped(v, s[k]) for k, v in solution.updated.items()}
        out["loss_after"] = number(solution.loss_after)
    if solution.checks:
        out["finite_differences"] = {k: shaped(v, s[k]) for k, v in solution.checks.items() if v is not None}
    return out


def dumps(solution: Solution) -> str:
    """The JSON text, indented for reading."""
    return json.dumps(to_json(solution), indent=2, ensure_ascii=False)
