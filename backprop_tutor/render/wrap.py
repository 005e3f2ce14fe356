"""Breaking a pretty-printed formula that is too wide into lines, only where no symbol is cut."""
from __future__ import annotations

from itertools import accumulate

BREAK_BEFORE = "+-=≈⋅"   # a continuation line starts with one of these
TALL_OPENING, TALL_CLOSING = "⎛⎜⎝⎡⎢⎣", "⎞⎟⎠⎤⎥⎦"   # parentheses and brackets of several rows
MIN_PIECE = 12           # columns a continuation line keeps for itself, however deep its indent


def wrap_picture(rows: list[str], width: int, indent: int = 4) -> list[str]:
    """The rows of a formula picture as lines of at most width columns, broken only between symbols.

    A line breaks at a column that is blank from top to bottom (a space between two terms), or just
    before a ⋅ between two factors: never inside a name, a number, a fraction, or between a function
    and its parentheses. Of those places that fit it takes, in the right half of the line, the one
    least deep in parentheses, then before a + or − rather than a ⋅, then the last; the pieces after
    the first are indented. Only a picture without any such place is cut at the width, as a last resort.
    """
    rows = [r.rstrip() for r in rows]
    span = max((len(r) for r in rows), default=0)
    rows = [r.ljust(span) for r in rows]
    indent = indent if width - indent >= max(MIN_PIECE, width // 2) else min(4, max(0, width - MIN_PIECE))
    out, start, room = [], 0, max(1, width)
    depths = (_depths(rows, "([", ")]"), _depths(rows, TALL_OPENING, TALL_CLOSING)) if span > room else None
    while span - start > room:
        cut = _best_break(rows, start, start + room, depths)
        if cut is None:  # one unbroken symbol wider than the line: cut it rather than lose the rest
            cut = start + room
        out += _piece(rows, start, cut, 0 if not out else indent)
        start = cut
        while start < span and _blank_column(rows, start):
            start += 1
        room = max(1, width - indent)
    out += _piece(rows, start, span, 0 if not out else indent)
    return out


def _blank_column(rows: list[str], c: int) -> bool:
    return all(r[c] == " " for r in rows)


def _clean_boundary(rows: list[str], c: int) -> bool:
    """A break before column c cuts nothing: the column is blank, or holds a ⋅ with space before it
    in every other row."""
    if _blank_column(rows, c):
        return True
    return any(r[c] == "⋅" for r in rows) and all(r[c - 1] == " " or r[c] in " ⋅" for r in rows)


def _depths(rows: list[str], opening: str, closing: str) -> list:
    """For each row, the depth in brackets before each column: [0, after the 1st character, …], so that a
    stretch's depth is a difference of two, however often it is asked (the line is broken many times)."""
    steps = {**dict.fromkeys(opening, 1), **dict.fromkeys(closing, -1)}
    return [list(accumulate((steps.get(ch, 0) for ch in r), initial=0)) for r in rows]


def _best_break(rows: list[str], start: int, end: int, depths: tuple) -> int | None:
    """The column to break before within (start, end] (see wrap_picture), or None; depths are the
    rows' _depths in round brackets and in tall ones."""
    clean = [c for c in range(end, start, -1) if c < len(rows[0]) and _clean_boundary(rows, c)]
    if not clean:
        return None
    half = start + (end - start) // 2
    right = [c for c in clean if c >= half] or clean
    round_, tall_ = depths

    def cost(c):
        inline = max(d[c] for d in round_)   # inside f(…): only if nothing else
        tall = max(d[c] - d[start] for d in tall_)
        after = c + 1 if _blank_column(rows, c) else c
        signs = {r[after] for r in rows} if after < len(rows[0]) else set()
        rank = 0 if signs & set(BREAK_BEFORE) - {"⋅"} else 1 if "⋅" in signs else 2
        return inline, tall, rank, -c

    return min(right, key=cost)


def _piece(rows: list[str], start: int, end: int, indent: int) -> list[str]:
    """Columns start…end of the picture, without the blank rows above and below it, each indented."""
    cut = [r[start:end].rstrip() for r in rows]
    ink = [i for i, r in enumerate(cut) if r]
    return [" " * indent + r if r else "" for r in cut[ink[0]:ink[-1] + 1]] if ink else []
