"""A plain-text table in the terminal's width (tutor list): columns two spaces apart, long cells wrapped
at spaces; the widths chosen as Rich chooses a table's, without importing it."""
from __future__ import annotations

PAD = 1   # a space on each inner side of a column: two between columns, none at the table's edges


def table(header: tuple, rows: list, width: int, style=str) -> list[str]:
    """The lines of a table: the header (each cell passed through style, e.g. bold), then the rows."""
    n = len(header)
    padding = [PAD * ((k > 0) + (k < n - 1)) for k in range(n)]
    natural = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    widths = [w - p for w, p in zip(fitted([min(w + p, width) for w, p in zip(natural, padding)], width), padding)]
    lines = [_line([style(h) + " " * (w - len(h)) for h, w in zip(header, widths)])]
    for row in rows:
        cells = [wrapped(str(cell), max(w, 1)) for cell, w in zip(row, widths)]
        for k in range(max(len(c) for c in cells)):
            lines.append(_line([(c[k] if k < len(c) else "").ljust(w) for c, w in zip(cells, widths)]))
    return lines


def fitted(widths: list, room: int) -> list:
    """Column widths that fit in room: the widest cut down towards the next widest, again and again;
    if that is not enough, every column cut alike."""
    widths = list(widths)
    while sum(widths) > room:
        top = max(widths)
        below = max((w for w in widths if w != top), default=0)
        shares = [int(w == top) for w in widths]
        before = list(widths)
        widths = shared_cut(sum(widths) - room, shares, [min(sum(widths) - room, top - below)] * len(widths), widths)
        if widths == before:
            break
    if sum(widths) > room:
        widths = shared_cut(sum(widths) - room, [1] * len(widths), widths, widths)
    return widths


def shared_cut(total: int, shares: list, most: list, widths: list) -> list:
    """widths less `total`, split by shares, each cut at most its `most`."""
    shares = [s if m else 0 for s, m in zip(shares, most)]
    left, out = sum(shares), []
    for share, limit, w in zip(shares, most, widths):
        if share and left > 0:
            cut = min(limit, round(share * total / left))
            out.append(w - cut)
            total -= cut
            left -= share
        else:
            out.append(w)
    return out


def wrapped(text: str, width: int) -> list[str]:
    """Text in lines of at most width, broken at spaces; a word longer than a line starts a line of its
    own and is cut into pieces."""
    lines, line = [], ""
    for word in text.split():
        joined = f"{line} {word}" if line else word
        if len(joined) <= width:
            line = joined
            continue
        if line:
            lines.append(line)
        while len(word) > width:
            lines.append(word[:width])
            word = word[width:]
        line = word
    return lines + [line]


def _line(cells: list) -> str:
    return (" " * (2 * PAD)).join(cells).rstrip()
