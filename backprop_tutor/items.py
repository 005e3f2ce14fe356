"""The pieces a problem file is made of: a defined quantity (Line) and a given value (Leaf)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """One defined quantity: `name = expr`, with the text and line it came from."""

    name: str
    expr: object
    text: str
    line: int
    key: str


@dataclass(frozen=True)
class Leaf:
    """A given value: a number, a list (vector), a list of lists (matrix), or None (a symbol)."""

    name: str
    value: object  # Fraction-or-expression tree | list | list of lists | None
    line: int
    key: str
