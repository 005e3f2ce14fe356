"""A student's answers (an answers file or --answer NAME=VALUE pairs) read safely into plain data."""
from __future__ import annotations

import re
from fractions import Fraction

from msgspec import Struct

from .errors import LimitError, ProblemError
from .expr import ExprError, ExprLimitError, number, shorten
from .limits import DEFAULT, Limits
from .reading import Lookalike, printable, read_text, read_yaml

_FRACTION = re.compile(r"\s*([-+]?[0-9]+)\s*/\s*([0-9]+)\s*")
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


class Written(Struct, frozen=True):
    """One number as the student wrote it: its text, its exact value, and its significant digits
    (None for an exact fraction such as 6/25, which is compared exactly)."""

    text: str
    value: Fraction
    digits: int | None


class StudentAnswer(Struct, frozen=True):
    """One key of the answers: the name as written, its line, and its value: a Written, a tuple of
    them (a vector), a tuple of tuples (a matrix), or a mapping of names to such values (a part)."""

    key: str
    line: int | None
    value: object
    file: str


def significant_digits(text: str) -> int:
    """The significant digits a decimal shows: 0.240 has 3, 0.05 has 1; a whole number's trailing zeros
    do not count unless a point follows it (240 has 2, 240. has 3); a zero has 1."""
    mantissa = re.split(r"[eE]", text.strip().lstrip("+-"))[0].replace("_", "")
    digits = mantissa.replace(".", "").lstrip("0")
    if "." not in mantissa:
        digits = digits.rstrip("0")
    return max(len(digits), 1)


def read_answers(path, limits: Limits | None = None) -> tuple[StudentAnswer, ...]:
    """An answers file: a YAML mapping of names (or part labels) to the values the student computed."""
    limits = limits or DEFAULT
    name = str(path)
    doc = read_yaml(read_text(path, limits), name, limits)
    if not isinstance(doc.data, dict):
        raise ProblemError("an answers file is a mapping of names to values, e.g. L: 0.8089", file=name,
                           line=doc.line)
    if len(doc.data) > limits.answers:
        raise LimitError(limits.message("answers", f"the file gives {len(doc.data)} answers"), file=name,
                         line=doc.line)
    return tuple(StudentAnswer(str(k), doc.lines.get(k), _value(v, k, doc, name, limits), name)
                 for k, v in doc.data.items())


def parse_pairs(pairs, limits: Limits | None = None) -> tuple[StudentAnswer, ...]:
    """--answer NAME=VALUE pairs (VALUE as in an answers file: 0.24, 6/25, [0.7, 0.2])."""
    limits = limits or DEFAULT
    pairs = list(pairs)
    if len(pairs) > limits.answers:
        raise LimitError(limits.message("answers", f"{len(pairs)} answers are given"), file="--answer")
    out = []
    for pair in pairs:
        key, sep, text = str(pair).partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise ProblemError(f"{shorten(printable(str(pair)))!r}: write NAME=VALUE, e.g. --answer L=0.8089",
                               file="--answer")
        if len(key) > limits.answer_chars:
            raise LimitError(limits.message("answer_chars", f"the name has {len(key)} characters"),
                             file="--answer", key=printable(key))
        doc = read_yaml(text, "--answer", limits)
        doc.lines.clear()  # a value given on the command line has no line
        out.append(StudentAnswer(key, None, _value(doc.data, "", doc, "--answer", limits, shown=key), "--answer"))
    return tuple(out)


def _value(raw, path: str, doc, file: str, limits: Limits, shown: str | None = None, depth: int = 0):
    """A value of the answers as Written numbers: a number, a list (vector), a list of lists (matrix),
    or at the top a mapping of names (a part's answers)."""
    key = printable(shown if shown is not None else path)
    line = doc.lines.get(path)

    def fail(message, error=ProblemError):
        raise error(message, file=file, line=line, key=key)

    if shown is None and depth == 0 and len(path) > limits.answer_chars:
        fail(limits.message("answer_chars", f"the name has {len(path)} characters"), LimitError)
    if isinstance(raw, dict):
        if depth:
            fail("a part's answers are names and values, one level deep, e.g. e: {W21: 0.576}")
        if len(raw) > limits.answers:
            fail(limits.message("answers", f"{len(raw)} answers are given"), LimitError)
        return {str(k): _value(v, f"{path}.{k}" if path else str(k), doc, file, limits,
                               None if shown is None else f"{shown}.{k}", depth + 1) for k, v in raw.items()}
    if isinstance(raw, list):
        if not raw:
            fail("an empty list: write the values, e.g. [0.7, 0.2]")
        if len(raw) > limits.matrix_side:
            fail(limits.message("matrix_side", f"the list has {len(raw)} entries"), LimitError)
        if all(isinstance(r, list) for r in raw):
            rows = [_row(r, f"{path}[{i}]", doc, file, limits, key) for i, r in enumerate(raw)]
            if len({len(r) for r in rows}) != 1:
                fail("the rows of a matrix must have the same length")
            return tuple(rows)
        return _row(raw, path, doc, file, limits, key)
    return _number(raw, doc.texts.get(path), file, line, key, limits)


def _row(raw: list, path: str, doc, file: str, limits: Limits, key) -> tuple:
    if not raw or len(raw) > limits.matrix_side:
        raise ProblemError("a row must hold 1 to " f"{limits.matrix_side} numbers", file=file,
                           line=doc.lines.get(path), key=key)
    out = []
    for i, v in enumerate(raw):
        if isinstance(v, (list, dict)):
            raise ProblemError("a value is a number, a list of numbers (a vector) or a list of such lists "
                               "(a matrix)", file=file, line=doc.lines.get(f"{path}[{i}]"), key=key)
        out.append(_number(v, doc.texts.get(f"{path}[{i}]"), file, doc.lines.get(f"{path}[{i}]"), key, limits))
    return tuple(out)


def _number(raw, text: str | None, file: str, line, key, limits: Limits) -> Written:
    """A number as written: a decimal (its digits counted from its text) or an exact fraction p/q."""
    def fail(message, error=ProblemError):
        raise error(message, file=file, line=line, key=key)

    if isinstance(raw, Lookalike):
        fail(raw.why)
    if raw is None:
        fail("no value: write the number you computed")
    if isinstance(raw, Fraction) and text is not None:
        return Written(text, raw, significant_digits(text))
    if not isinstance(raw, str):
        fail("not a number")
    raw = raw.strip()
    m = _FRACTION.fullmatch(raw)
    try:
        if m:
            top, bottom = number(m.group(1), limits), number(m.group(2), limits)
            if bottom == 0:
                fail(f"{shorten(raw)!r} divides by zero")
            return Written(raw, top / bottom, None)
        if _DECIMAL.fullmatch(raw):
            return Written(raw, number(raw, limits), significant_digits(raw))
    except ExprLimitError as e:
        fail(str(e), LimitError)
    except ExprError:
        pass
    fail(f"{shorten(printable(raw))!r} is not a number: write a decimal (0.24) or a fraction (6/25)")
