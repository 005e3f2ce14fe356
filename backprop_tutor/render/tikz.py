"""Diagram → a TikZ picture: neurons as circles left to right, weights on the arrows."""
from __future__ import annotations

import re

import sympy as sp

from ..diagram import Diagram, Unit
from ..notation import plain_tex_name, tex_number
from ..texsafe import escape_text

COLUMN_GAP = 3.2   # cm between columns
ROW_GAP = 1.8      # cm between units of a column
_ELEMENT = re.compile(r"^(.+?)\[(\d+)(?:,(\d+))?\]$")
_SAMPLE = re.compile(r"^(.+)\^\((\d+)\)$")


def default_name_tex(name: str) -> str:
    """A plain math-mode spelling of a name: W1[2,1] → W_{1,21}, w13 → w_{13}, Z_in → Z_{\\mathrm{in}}."""
    index = ""
    if not re.fullmatch(r"[A-Za-z0-9_]+(?:\^\(\d+\))?(?:\[\d+(?:,\d+)?\])?(?:\^\(\d+\))?", name):
        return plain_tex_name(name)
    m = _ELEMENT.match(name)
    if m:
        name, index = m.group(1), m.group(2) + (m.group(3) or "")
    sample = ""
    m = _SAMPLE.match(name)
    if m:
        name, sample = m.group(1), f"^{{({m.group(2)})}}"
    m = re.match(r"^([A-Za-z]+)(\d*)$", name)
    if m:
        letters, digits = m.groups()
    else:
        letters, _, rest = name.partition("_")
        digits = r"\mathrm{" + rest.replace("_", r"\_") + "}"
    if len(letters) > 1:
        letters = r"\mathrm{" + letters + "}"
    sub = ",".join(p for p in (digits, index) if p)
    return letters + (f"_{{{sub}}}" if sub else "") + sample


def to_tikz(diagram: Diagram, digits: int = 4, exact: bool = False, name_tex=default_name_tex) -> str:
    """A tikzpicture of the diagram; over the size limit, one box per named node instead of neurons."""
    if diagram.too_big:
        return _boxes(diagram, name_tex)
    place = _places(diagram.columns, COLUMN_GAP + 0.5 * max(0, _fan(diagram) - 2))
    column = {u.id: k for k, col in enumerate(diagram.columns) for u in col}
    ids = {u.id: f"n{i}" for i, u in enumerate(u for col in diagram.columns for u in col)}
    lines = [r"\begin{tikzpicture}[>=Stealth,",
             r"  unit/.style={draw, circle, minimum size=10mm, inner sep=1pt, align=center},",
             r"  input/.style={unit, fill=black!8},",
             r"  loss/.style={unit, double},",
             r"  weight/.style={sloped, above, font=\scriptsize, inner sep=1pt, fill=white}]"]
    for col in diagram.columns:
        for u in col:
            x, y = place[u.id]
            lines.append(rf"\node[{_style(u, digits, exact, name_tex)}] ({ids[u.id]}) at ({x:.2f},{y:.2f}) {{{_content(u, name_tex)}}};")
    outgoing: dict[str, list] = {}
    for e in diagram.edges:
        outgoing.setdefault(e.source, []).append(e)
    for source, edges in outgoing.items():
        for j, e in enumerate(edges):
            # labels of one unit's edges sit at different distances from it, so fanned-out labels do not collide
            pos = 0.5 if len(edges) == 1 else 0.22 + 0.5 * j / (len(edges) - 1)
            label = _weight(e.weight, e.value, digits, exact, name_tex)
            text = "" if label is None else rf" node[weight, pos={pos:.2f}] {{${label}$}}"
            bend = "to[bend left=12]" if column[e.target] - column[e.source] > 1 else "--"
            lines.append(rf"\draw[->] ({ids[e.source]}) {bend}{text} ({ids[e.target]});")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def _places(columns, gap: float) -> dict:
    """Each unit's (x, y) in cm: columns left to right, each centred on y = 0."""
    out = {}
    for k, col in enumerate(columns):
        for i, u in enumerate(col):
            out[u.id] = (k * gap, ((len(col) - 1) / 2 - i) * ROW_GAP)
    return out


def _fan(diagram: Diagram) -> int:
    counts: dict[str, int] = {}
    for e in diagram.edges:
        counts[e.source] = counts.get(e.source, 0) + 1
    return max(counts.values(), default=0)


def _style(u: Unit, digits: int, exact: bool, name_tex) -> str:
    bias = ""
    if u.bias is not None:
        bias = f", label={{[font=\\scriptsize]above:${_bias(u, digits, exact, name_tex)}$}}"
    return {"input": "input", "loss": "loss"}.get(u.kind, "unit") + bias


def _content(u: Unit, name_tex) -> str:
    text = f"${name_tex(u.label)}$"
    if u.activation:
        text += r"\\[-2pt]{\tiny " + escape_text(u.activation) + "}"
    return text


def _bias(u: Unit, digits: int, exact: bool, name_tex) -> str:
    text = _weight(u.bias, u.bias_value, digits, exact, name_tex)
    return text if text.startswith("-") else "+" + text


def _weight(weight, value, digits: int, exact: bool, name_tex) -> str | None:
    if _numeric(value):
        return tex_number(value, digits, exact)
    if weight is None:
        return None
    if _numeric(weight):
        return tex_number(weight, digits, exact)
    return name_tex(str(weight))


def _numeric(x) -> bool:
    return x is not None and not isinstance(x, str) and bool(sp.sympify(x).is_number)


def _boxes(diagram: Diagram, name_tex) -> str:
    """One box per named node, arrows between nodes: the picture of a network too big to draw by neurons."""
    nodes: dict[str, list] = {}
    column: dict[str, int] = {}
    for k, col in enumerate(diagram.columns):
        for u in col:
            name = node_name(u.label)
            nodes.setdefault(name, []).append(u)
            column[name] = k
    of_unit = {u.id: node_name(u.label) for col in diagram.columns for u in col}
    ids = {n: f"n{i}" for i, n in enumerate(nodes)}
    columns: list[list] = [[] for _ in diagram.columns]
    for n in nodes:
        columns[column[n]].append(n)
    lines = [r"\begin{tikzpicture}[>=Stealth,",
             r"  box/.style={draw, rounded corners, minimum height=9mm, minimum width=14mm, align=center}]"]
    for k, col in enumerate(columns):
        for i, n in enumerate(col):
            units = nodes[n]
            extra = [f"{len(units)} units" if len(units) > 1 else "1 unit"]
            if units[0].activation:
                extra.insert(0, escape_text(units[0].activation))
            if any(u.bias is not None for u in units):
                extra.append("+ bias")
            y = ((len(col) - 1) / 2 - i) * 1.8
            lines.append(rf"\node[box] ({ids[n]}) at ({k * 3.2:.2f},{y:.2f}) "
                         rf"{{${name_tex(n)}$\\[-2pt]{{\tiny {', '.join(extra)}}}}};")
    seen = []
    for e in diagram.edges:
        pair = (of_unit[e.source], of_unit[e.target])
        if pair not in seen:
            seen.append(pair)
            bend = "to[bend left=12]" if column[pair[1]] - column[pair[0]] > 1 else "--"
            lines.append(rf"\draw[->] ({ids[pair[0]]}) {bend} ({ids[pair[1]]});")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def node_name(label: str) -> str:
    """The node a unit belongs to: h1[2] → h1, w13 → w13."""
    m = _ELEMENT.match(label)
    return m.group(1) if m else label
