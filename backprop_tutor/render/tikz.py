"""Diagram → a TikZ picture: neurons as circles left to right, weights on the arrows."""
from __future__ import annotations

import re

import sympy as sp

from ..diagram import Diagram, Plot, Unit, WeightTable
from ..notation import function_tex, plain_tex_name, tex_number
from ..texsafe import escape_text

COLUMN_GAP = 3.2   # cm between columns
ROW_GAP = 1.8      # cm between units of a column
GRAPH_COLUMN_GAP = 2.2   # cm between columns of a computational graph
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


def to_tikz(diagram: Diagram, digits: int = 4, exact: bool = False, name_tex=default_name_tex,
            functions: dict | None = None) -> str:
    """A tikzpicture of the diagram; over the size limit, one box per named node instead of neurons.
    `functions` writes an activation as the sheet does (relu → ReL), as checked math."""
    if diagram.too_big:
        return _boxes(diagram, name_tex)
    gap = COLUMN_GAP + 0.5 * max(0, _fan(diagram) - 2) if diagram.kind == "network" else GRAPH_COLUMN_GAP
    units = [u for col in diagram.columns for u in col]
    place = {u.id: (u.column * gap, -u.row * ROW_GAP) for u in units}
    ids = {u.id: f"n{i}" for i, u in enumerate(units)}
    loss = next((u.label for u in units if u.kind == "loss"), "L")
    lines = [r"\begin{tikzpicture}[>=Stealth,",
             r"  unit/.style={draw, circle, minimum size=10mm, inner sep=1pt, align=center},",
             r"  input/.style={unit, fill=black!8},",
             r"  loss/.style={unit, double},",
             r"  box/.style={draw, rounded corners, minimum height=7mm, minimum width=9mm, inner sep=2pt},",
             r"  op/.style={draw, circle, inner sep=0pt, minimum size=6mm, font=\large},",
             r"  gradient/.style={box, dashed},",
             r"  weight/.style={sloped, above, font=\scriptsize, inner sep=1pt, fill=white}]"]
    for u in units:
        x, y = place[u.id]
        lines.append(rf"\node[{_style(u, digits, exact, name_tex)}] ({ids[u.id]}) at ({x:.2f},{y:.2f}) {{{_content(u, name_tex, loss, functions or {})}}};")
    outgoing: dict[str, list] = {}
    for e in diagram.edges:
        outgoing.setdefault(e.source, []).append(e)
    skips = 0
    for source, edges in outgoing.items():
        shown = [e for e in edges if e.labelled]
        for e in edges:
            label = _weight(e.weight, e.value, digits, exact, name_tex) if e.labelled else None
            text = ""
            if label is not None:
                j = shown.index(e)
                # labels of one unit's edges sit at different distances from it, so fanned-out labels do not collide
                pos = 0.5 if len(shown) == 1 else 0.22 + 0.5 * j / (len(shown) - 1)
                text = rf" node[weight, pos={pos:.2f}] {{${label}$}}"
            style = "->, dashed" if e.dashed else "->"
            a, b = ids[e.source], ids[e.target]
            if e.route == "skip":
                lines.append(rf"\draw[{style}] ({a}) {_around(diagram, place, e, skips)}{text} ({b});")
                skips += 1
            elif e.route == "back":
                lines.append(rf"\draw[{style}] ({a}) to[bend left=15]{text} ({b});")
            else:
                lines.append(rf"\draw[{style}] ({a}) --{text} ({b});")
    right = max((x for x, _ in place.values()), default=0) + 1.0
    top = max((y for _, y in place.values()), default=0) + 0.5
    for k, table in enumerate(diagram.tables):
        where = f"anchor=north west] (t{k}) at ({right:.2f},{top:.2f})" if k == 0 else \
            f"anchor=north west] (t{k}) at ([yshift=-3mm]t{k - 1}.south west)"
        lines.append(rf"\node[font=\footnotesize, inner sep=0pt, {where} {{{_tabular(table, digits, exact, name_tex)}}};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def _around(diagram: Diagram, place: dict, e, k: int) -> str:
    """Control points that take a skip edge around (above or below) the neurons of the columns it passes."""
    (x1, y1), (x2, y2) = place[e.source], place[e.target]
    inside = [place[u.id][1] for col in diagram.columns for u in col
              if min(x1, x2) < place[u.id][0] < max(x1, x2)]
    if not inside:
        return "--"
    low, high = min(inside), max(inside)
    below = (y1 + y2) / 2 <= (low + high) / 2
    y = low - 0.9 - 0.3 * k if below else high + 0.9 + 0.3 * k
    third = (x2 - x1) / 3
    return f".. controls ({x1 + third:.2f},{y:.2f}) and ({x2 - third:.2f},{y:.2f}) .."


def _tabular(table: WeightTable, digits: int, exact: bool, name_tex) -> str:
    """A weight table: the source units across, the target units down, each cell the weight of that edge."""
    head = " & ".join([""] + [f"${name_tex(s)}$" for s in table.sources])
    rows = [" & ".join([f"${name_tex(t)}$"] + [_cell(c, digits, exact, name_tex) for c in cells])
            for t, cells in zip(table.targets, table.cells)]
    title = rf"\multicolumn{{{len(table.sources) + 1}}}{{c}}{{weights: from (across) into (down)}}\\[2pt] "
    return ("\\begin{tabular}{r|" + "c" * len(table.sources) + "}" + title + head + r"\\ \hline "
            + r"\\ ".join(rows) + r"\end{tabular}")


def _cell(cell, digits: int, exact: bool, name_tex) -> str:
    if cell is None:
        return ""
    label = _weight(cell[0], cell[1], digits, exact, name_tex)
    return "" if label is None else f"${label}$"


def _fan(diagram: Diagram) -> int:
    counts: dict[str, int] = {}
    for e in diagram.edges:
        if e.labelled:
            counts[e.source] = counts.get(e.source, 0) + 1
    return max(counts.values(), default=0)


def _style(u: Unit, digits: int, exact: bool, name_tex) -> str:
    bias = ""
    if u.bias is not None:
        bias = f", label={{[font=\\scriptsize]above:${_bias(u, digits, exact, name_tex)}$}}"
    if u.shape == "box":
        return ("gradient" if u.dashed else "box") + (", fill=black!8" if u.kind in ("input", "parameter", "target") else "")
    if u.shape == "op":
        return "op" + (f", label={{right:${name_tex(u.label)}$}}" if u.label else "")
    return {"input": "input", "loss": "loss"}.get(u.kind, "unit") + bias


def _content(u: Unit, name_tex, loss: str = "L", functions: dict | None = None) -> str:
    sheet = function_tex(u.activation, {"functions": functions or {}}) if u.activation else None
    activation = f"${sheet}$" if sheet is not None else escape_text(u.activation or "")
    if u.shape == "op":
        return r"$\otimes$"
    if u.kind == "gradient":
        return rf"$\partial {name_tex(loss)}/\partial {name_tex(u.label)}$"
    if not u.label:   # a neuron without a name of its own: its activation only
        return r"{\small " + activation + "}"
    text = f"${name_tex(u.label)}$"
    if u.activation:
        text += r"\\[-2pt]{\tiny " + activation + "}"
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
    if str(weight).startswith("-"):
        return "-" + name_tex(str(weight)[1:])
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


def to_pgfplots(plot: Plot, name_tex=default_name_tex) -> str:
    """A pgfplots axis of a decision boundary: class areas shaded, piece borders dotted, the boundary thick."""
    x0, x1, y0, y1 = (_coordinate(v) for v in plot.window)
    lines = [r"\begin{tikzpicture}",
             rf"\begin{{axis}}[width=7.5cm, height=7.5cm, axis equal image, xmin={x0}, xmax={x1}, ymin={y0}, ymax={y1},",
             rf"  xlabel={{${name_tex(plot.axes[0])}$}}, ylabel={{${name_tex(plot.axes[1])}$}}, axis on top]"]
    for area in plot.areas:
        colour = "red!18" if area.above else "blue!18"
        lines.append(rf"\fill[{colour}] " + _path(area.corners) + ";")
    for border in plot.borders:
        lines.append(r"\draw[gray, densely dotted] " + _path(border) + ";")
    for a, b in plot.boundary:
        lines.append(r"\draw[very thick] " + _path((a, b), closed=False) + ";")
    for label, (cx, cy) in area_labels(plot):
        lines.append(rf"\node[font=\footnotesize, fill=white, fill opacity=0.7, text opacity=1, inner sep=1pt] "
                     rf"at (axis cs:{_coordinate(cx)},{_coordinate(cy)}) {{{escape_text(label)}}};")
    lines += [r"\end{axis}", r"\end{tikzpicture}"]
    return "\n".join(lines) + "\n"


def _path(points, closed: bool = True) -> str:
    text = " -- ".join(f"(axis cs:{_coordinate(x)},{_coordinate(y)})" for x, y in points)
    return text + (" -- cycle" if closed else "")


def _coordinate(v) -> str:
    return f"{float(v):.4g}"


def area_labels(plot: Plot) -> list:
    """Where each class is named: [(label, (x, y))], at the middle of the class's largest area."""
    out = []
    for label, above in dict.fromkeys((a.label, a.above) for a in plot.areas):
        biggest = max((a for a in plot.areas if a.above == above), key=lambda a: abs(_signed_area(a.corners)))
        out.append((label, _centroid(biggest.corners)))
    return out


def _signed_area(corners) -> float:
    pts = [(float(x), float(y)) for x, y in corners]
    return sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(pts, pts[1:] + pts[:1])) / 2


def _centroid(corners) -> tuple:
    pts = [(float(x), float(y)) for x, y in corners]
    return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
