"""Breaking a long line of LaTeX math at its outermost + and · so that it fits the page's width."""
from __future__ import annotations

import functools
import re

# Widths in em of 11 pt Computer Modern math, rounded up: a line estimated to fit does fit.
_WIDE = {"cdot": 0.8, "odot": 1.6, "approx": 1.6, "leftarrow": 2.0, "quad": 1.0, "qquad": 2.0,
         "partial": 0.6, "infty": 1.0, "ldots": 1.2, "cdots": 1.2, "alpha": 0.7, "sigma": 0.6,
         "delta": 0.5, "hat": 0.0, "mathbf": 0.0, "operatorname": 0.0, "text": 0.0, "mathrm": 0.0,
         "left": 0.0, "right": 0.0, "bigl": 0.0, "bigr": 0.0, "displaystyle": 0.0}
_BINARY = {"+": 1.4, "-": 1.4, "=": 1.5, "<": 1.5, ">": 1.5, ",": 0.45, "(": 0.4, ")": 0.4, "[": 0.3,
           "]": 0.3, "|": 0.3, " ": 0.0, "&": 1.0, "'": 0.3, ".": 0.3}
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[{}^_]|[^\\{}^_]")
_BREAK_AT = (("+", "-"), ("\\cdot",))  # preferred first: between terms, then between factors


@functools.lru_cache(maxsize=4096)  # a page measures the same lines again as it lays out each display
def width(tex: str) -> float:
    """An upper estimate of the width in em of a line of LaTeX math (display style, 11 pt)."""
    tokens = _TOKEN.findall(tex)
    total, _ = _width(tokens, 0, 1.0)
    return total


def _group(tokens: list, i: int, scale: float) -> tuple[float, int]:
    """The width of one argument (a {...} group or one token) starting at i, and the index after it."""
    if i < len(tokens) and tokens[i] == "{":
        return _width(tokens, i + 1, scale, closing=True)
    if i >= len(tokens):
        return 0.0, i
    return _width(tokens[i:i + 1], 0, scale)[0], i + 1


def _width(tokens: list, i: int, scale: float, closing: bool = False) -> tuple[float, int]:
    total = 0.0
    while i < len(tokens):
        t = tokens[i]
        if t == "}" and closing:
            return total, i + 1
        if t in "{}":
            i += 1
            if t == "{":
                inner, i = _width(tokens, i, scale, closing=True)
                total += inner
            continue
        if t in ("^", "_"):
            w, i = _group(tokens, i + 1, scale * 0.7)
            total += w
            continue
        if t in ("\\frac", "\\tfrac", "\\dfrac"):
            size = scale * (0.7 if t == "\\tfrac" else 1.0)
            top, i = _group(tokens, i + 1, size)
            bottom, i = _group(tokens, i, size)
            total += max(top, bottom) + 0.4 * scale
            continue
        if t == "\\begin":
            w, i = _matrix(tokens, i, scale)
            total += w
            continue
        if t == "\\end":  # an environment's name is not typeset
            _, i = _group(tokens, i + 1, 0.0)
            continue
        if t.startswith("\\"):
            name = t[1:]
            total += scale * _WIDE.get(name, 0.2 if not name.isalpha() else 0.6 if len(name) <= 5 else 1.6)
            if name in ("tanh", "tan", "sin", "cos", "exp", "log", "max", "min", "ln"):
                total += scale * 0.5 * (len(name) - 1)
        else:
            total += scale * _BINARY.get(t, 0.6)
        i += 1
    return total, i


def _matrix(tokens: list, i: int, scale: float) -> tuple[float, int]:
    """The width of an environment (a matrix: its widest cell in each column) from its \\begin at i."""
    _, i = _group(tokens, i + 1, 0.0)
    rows, cell, depth = [[]], [], 0
    while i < len(tokens) and not (depth == 0 and tokens[i] == "\\end"):
        t = tokens[i]
        depth += t in ("{", "\\begin") or -(t in ("}", "\\end"))
        if depth == 0 and t in ("&", "\\\\"):
            rows[-1].append(cell)
            cell = []
            if t == "\\\\":
                rows.append([])
        else:
            cell.append(t)
        i += 1
    rows[-1].append(cell)
    _, i = _group(tokens, i + 1, 0.0)
    columns: dict = {}
    for row in rows:
        for k, c in enumerate(row):
            columns[k] = max(columns.get(k, 0.0), _width(c, 0, scale)[0])
    return sum(columns.values()) + scale * (1.0 * len(columns) + 0.8), i


def pieces(tex: str, operators: tuple) -> list[str]:
    """tex cut before each outermost occurrence of one of the operators (outside braces and \\left…\\right)."""
    tokens = _TOKEN.findall(tex)
    out, current, depth = [], "", 0
    for k, t in enumerate(tokens):
        if t in ("{", "\\left", "\\begin"):
            depth += 1
        elif t in ("}", "\\right", "\\end"):
            depth -= 1
        if depth == 0 and t in operators and current.strip() and _binary(tokens, k):
            out.append(current.strip())
            current = ""
        current += t
    out.append(current.strip())
    return out


def _binary(tokens: list, k: int) -> bool:
    """True when the operator at k has an operand before it (not a leading sign, not after another operator)."""
    before = next((t for t in reversed(tokens[:k]) if t != " "), None)
    return before is not None and before not in ("+", "-", "=", "\\cdot", "(", "&", ",")


def break_line(tex: str, room: float) -> list[str]:
    """tex as lines each at most room em wide where possible: cut between terms, else between factors,
    else inside the outermost parentheses (written as \\bigl( … \\bigr), which may span lines).

    The first line is as given; each further line starts with the operator it was cut before.
    """
    if width(tex) <= room:
        return [tex]
    for operators in _BREAK_AT:
        parts = pieces(tex, operators)
        if len(parts) > 1:
            break
    else:
        return _open(tex, room)
    lines: list[str] = []
    for part in parts:
        if lines and width(lines[-1] + " " + part) <= room:
            lines[-1] += " " + part
        elif width(part) > room:
            more = break_line(part, room)
            if lines and len(more) > 1 and width(lines[-1] + " " + more[0]) <= room:
                lines[-1] += " " + more.pop(0)
            lines += more
        else:
            lines.append(part)
    return lines


_PARENTHESISED = re.compile(r"^((?:[-+]|\\cdot)?\s*)\\left\((.*)\\right\)$", re.S)


def _one_group(inside: str) -> bool:
    """True when every \\left and { inside is closed inside (the outer parentheses are one pair)."""
    depth = 0
    for t in _TOKEN.findall(inside):
        depth += t in ("{", "\\left") or -(t in ("}", "\\right"))
        if depth < 0:
            return False
    return depth == 0


def _open(tex: str, room: float) -> list[str]:
    """One factor in parentheses too long for a line: its inside cut, between \\bigl( and \\bigr)."""
    found = _PARENTHESISED.match(tex)
    if not found or not _one_group(found.group(2)) or len(pieces(found.group(2), ("+", "-"))) < 2 and len(pieces(found.group(2), ("\\cdot",))) < 2:
        return [tex]
    big = "Big" if "\\frac" in found.group(2) else "big"
    lines = break_line(found.group(2), room - 1.0)
    lines[0] = f"{found.group(1)}\\{big}l({lines[0]}"
    lines[-1] = f"{lines[-1]}\\{big}r)"
    return lines


__all__ = ["width", "pieces", "break_line"]
