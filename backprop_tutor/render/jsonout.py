"""The JSON printer: the machine-readable object of the problem-format contract."""
from __future__ import annotations

import json
import sys

import mpmath
import sympy as sp
from sympy.printing.str import StrPrinter

from ..solution import Delta, Solution
from .printer import positive_first

DIGITS_BEYOND_DOUBLE = 17  # significant digits of a number written as a string, as many as a double's


def number(x):
    """A value as JSON: a number where a double can hold it, else a string.

    The string is the decimal value (1.970071114017047e+434) for a number beyond the range of
    a double, which JSON cannot write (no Infinity, no NaN), and the SymPy expression for a
    value that depends on a symbol.
    """
    if isinstance(x, (sp.Rational, sp.Float)):  # the engine's numbers: no need to ask SymPy what they are
        if x and not _in_double_range(x):
            return _decimal(x)
        if isinstance(x, sp.Integer):
            return int(x)
        return x.p / x.q if x.is_Rational else float(x)  # (int / int is the nearest double, as float(x) is)
    x = sp.sympify(x)
    if x.free_symbols or not x.is_number:
        return text(x)
    if not x.is_zero and not _in_double_range(x):
        return _decimal(x)
    if x.is_Integer:
        return int(x)
    return float(x)


def _in_double_range(x) -> bool:
    """Whether a nonzero number is a normal double: 2.2e−308 ≤ |x| ≤ 1.8e308."""
    from ..magnitude import log2_abs
    size = log2_abs(x)
    if abs(size) < sys.float_info.max_exp - 2:  # clear of both ends: no need to look closer
        return True
    magnitude = abs(x.evalf(30))
    return sys.float_info.min <= magnitude <= sys.float_info.max


def _decimal(x) -> str:
    if not x.is_extended_real or x.is_infinite:  # the engine never passes these on; never write them
        raise ValueError(f"{x} is not a finite real number")
    with mpmath.workdps(DIGITS_BEYOND_DOUBLE + 10):
        return mpmath.nstr(mpmath.mpf(x.evalf(DIGITS_BEYOND_DOUBLE + 10)), DIGITS_BEYOND_DOUBLE)


def shaped(value, shape: tuple):
    """A value in its own shape: scalar, list, or list of lists."""
    return in_shape(value, shape, number)


def in_shape(value, shape: tuple, write):
    """write applied to each entry of a value, kept in the value's own shape: scalar, list, or list of lists."""
    if shape == ():
        return write(value[0] if isinstance(value, sp.MatrixBase) else value)
    if len(shape) == 1:  # (a matrix's entries read all at once: one read alone costs more)
        return [write(v) for v in (value.flat() if isinstance(value, sp.MatrixBase) else value)]
    return [[write(v) for v in row] for row in value.tolist()]


class _Text(StrPrinter):
    """SymPy syntax in the file's names, with ∂a/∂b written da/db, sums in the order the terminal shows."""

    def _print_Add(self, expr, order=None):
        ordered = positive_first(expr)  # y - 1, not SymPy's -1 + y
        return super()._print_Add(expr if ordered is None else ordered, order)

    def _print_Partial(self, e):
        return f"d{self._print(e.of)}/d{self._print(e.wrt)}"

    def _print_MatFunc(self, e):
        return f"{e.name}({', '.join(self._print(a) for a in e.operands)})"

    _print_ScalarFunc = _print_MatFunc

    def _print_Keyword(self, e):
        return f"{e.name}={e.value}"


def text(expr) -> str:
    """An expression as SymPy-syntax text."""
    return _Text({"order": "none"}).doprint(expr)


def derivation_json(d) -> dict:
    """`tutor derive --json`: wrt, of, the chain as strings, the expression and its value."""
    if d.chain.factors:
        chain = [text(f) for f in d.chain.factors]
    else:
        chain = [f"{text(d.chain.lhs)} = {text(d.chain.formula)}"]
        chain += [f"{step.symbol or 'delta_' + step.name} = {text(step.leibniz)}"
                  for step in d.deltas if isinstance(step, Delta)]
    out = {"wrt": d.wrt, "of": d.of, "chain": chain, "expression": _expression(d.whole.expression),
           "value": _plain(d.whole.value)}
    if getattr(d, "rounding", None) is not None:
        out["rounding"] = {"each_step": d.rounding, "exact_value": None if d.exact is None else _plain(d.exact)}
    return out


def _expression(e):
    if e is None:  # written out, it would be too long to help
        return None
    if isinstance(e, sp.MatrixBase):
        return [[text(v) for v in e.row(i)] for i in range(e.rows)] if e.cols > 1 else [text(v) for v in e]
    return text(e)


def _plain(value):
    if isinstance(value, sp.MatrixBase):
        return [[number(v) for v in value.row(i)] for i in range(value.rows)] if value.cols > 1 \
            else [number(v) for v in value]
    return number(value)


def to_json(solution: Solution, comment: str | None = None) -> dict:
    """The contract's object: values, loss, deltas, gradients, the update where there is one, and the answers
    by part; the notes as written, and the file's comment only when given."""
    s = solution.shapes
    out = {
        "title": solution.title,
        **({"notes": solution.notes} if solution.notes else {}),
        **({"comment": comment} if comment else {}),
        "values": {k: shaped(v, s[k]) for k, v in solution.values.items()},
        "loss": None if solution.loss is None else number(solution.loss),
        "deltas": {k: shaped(v, s[k]) for k, v in solution.deltas.items()},
        "gradients": {k: shaped(v, s[k]) for k, v in solution.gradients.items()},
    }
    if solution.learning_rate is not None:
        out["learning_rate"] = number(solution.learning_rate)
        out["updated"] = {k: shaped(v, s[k]) for k, v in solution.updated.items()}
        out["loss_after"] = number(solution.loss_after)
    if solution.checks:
        out["finite_differences"] = {k: shaped(v, s[k]) for k, v in solution.checks.items() if v is not None}
    if solution.through_time:
        out["through_time"] = {name: {"formula": text(w.general),
                                      "terms": [{"t": t, "value": shaped(v, w.shape)} for t, _, _, v in w.terms],
                                      "total": shaped(w.value, w.shape)} for name, w in solution.through_time.items()}
    out["answers"] = {a.part: answer_json(a) for a in solution.answers}
    if solution.rounding is not None:
        out["rounding"] = {"each_step": solution.rounding, "differs": [
            {"part": r.part, "kind": r.kind, "name": r.name, "value": shaped(r.value, r.shape),
             "exact": shaped(r.exact, r.shape)} for r in solution.results if r.exact is not None]}
    return out


def answers_json(solution: Solution) -> str:
    """`tutor solve --answers --json`: only the answers by part, as the whole object holds them."""
    return json.dumps({"answers": {a.part: answer_json(a) for a in solution.answers}}, indent=2,
                      ensure_ascii=False, allow_nan=False)


def answer_json(answer) -> dict:
    """One part: its title, its answer, what it shows by kind and name, and all of it again as exact text."""
    out, exact = {"title": answer.title}, {}
    if answer.main:
        out["answer"], exact["answer"] = _main(answer, shaped), _main(answer, exact_shaped)
    for kind, entries in answer.shown.items():
        if isinstance(entries, tuple):
            out[kind], exact[kind] = shaped(*entries), exact_shaped(*entries)
        else:
            out[kind] = {name: shaped(*e) for name, e in entries.items()}
            exact[kind] = {name: exact_shaped(*e) for name, e in entries.items()}
    if answer.after_updating:
        out["after_updating"] = list(answer.after_updating)
    if exact:
        out["exact"] = exact
    return out


def _main(answer, write):
    """The part's answer: the one value it asks for, or a mapping by name when it asks for several."""
    def entry(kind, name):
        return answer.shown[kind] if name is None else answer.shown[kind][name]

    if len(answer.main) == 1:
        return write(*entry(*answer.main[0]))
    return {kind if name is None else name: write(*entry(kind, name)) for kind, name in answer.main}


def exact_text(x):
    """A value as exact text: a fraction "6/25", an integer, a formula in the file's names where it holds
    a symbol; None for a number known only to high precision (a value of exp, tanh, ...)."""
    if isinstance(x, int):
        return str(x)
    if not isinstance(x, sp.Basic):  # the engine gives only SymPy values; anything else has no exact form
        return None
    if x.free_symbols or not x.is_number:
        return text(x)
    if x.is_Rational:
        return str(x)
    return None


def exact_shaped(value, shape: tuple):
    """exact_text in the value's own shape."""
    return in_shape(value, shape, exact_text)


def dumps(solution: Solution, comment: str | None = None) -> str:
    """The JSON text, indented for reading."""
    return json.dumps(to_json(solution, comment), indent=2, ensure_ascii=False, allow_nan=False)
