"""Graph → Diagram: the drawing model (nodes, edges, labels, layout hints), pure data for any printer."""
from __future__ import annotations

from msgspec import Struct
from msgspec.structs import replace
import sympy as sp

from .algebra import Eval, T, element_symbols
from .expr import BinOp, Call, Name
from .graph import Graph
from .ops import ELEMENTWISE
from .rules import forward

MAX_COLUMN_UNITS = 12
MAX_EDGES = 80
DENSE_EDGES = 6   # more edges than this between two columns: their weights go to a table, not on the edges
FULL_CROSSING = 6  # a complete layer of this many edges (2×3, 3×2): its labels meet mid-way, so a table too


class Unit(Struct, frozen=True):
    """One neuron: an element of an input, a forward node or the loss, with its activation and bias."""

    id: str
    label: str               # a node name (scalar) or an element name such as h1[2]
    kind: str                # input | neuron | output | loss
    activation: str | None = None
    bias: object = None      # the bias's name (b1[2]), a number for a constant, or None
    bias_value: object = None
    column: int = 0          # layout hint: the column, left to right
    row: float = 0           # layout hint: the place in the column, top to bottom (may be negative)
    shape: str = "circle"    # circle (a neuron) | box (a quantity) | op (an operation such as ⊗)
    dashed: bool = False     # drawn dashed: a gradient node


class Edge(Struct, frozen=True):
    """A connection from one unit to another, labelled with its weight."""

    source: str
    target: str
    weight: object = None    # a parameter element's name (W1[2,1], w13), a number, or None
    value: object = None
    route: str = "straight"  # straight | skip (around the columns in between) | back (right to left)
    labelled: bool = True    # the weight written on the edge; False when it stands in a table instead
    dashed: bool = False


class WeightTable(Struct, frozen=True):
    """The weights between two columns, as a table beside the figure: a row per target, a column per source."""

    sources: tuple           # unit labels
    targets: tuple
    cells: tuple             # per target, per source: (weight, value) or None where no edge


class Diagram(Struct, frozen=True):
    """Units column by column (inputs first, the loss last), the edges between them, and weight tables."""

    columns: tuple
    edges: tuple
    tables: tuple = ()
    kind: str = "network"    # network (neurons) | graph (a computational graph of whole quantities)

    @property
    def too_big(self) -> bool:
        """Whether a drawing of every neuron would be unreadable."""
        return len(self.edges) > MAX_EDGES or any(len(c) > MAX_COLUMN_UNITS for c in self.columns)


class _Layer(Struct, frozen=True):
    """A node as neurons: the pre-activation of each element and the activation applied to it."""

    name: str
    pre: list          # one SymPy expression per element, in the element symbols of the nodes used
    activation: str | None
    absorbed: str | None = None  # the node z of h = f(z), drawn inside h's neurons


def diagram(graph: Graph, values: dict | None = None) -> Diagram:
    """The network of a graph as neurons, found from its forward lines evaluated element by element."""
    env = {n: T(element_symbols(n, node.shape), node.shape) for n, node in graph.nodes.items()}
    drawn = [n for n in graph.nodes.values() if n.role in ("input", "forward", "loss")]
    unit_of = {}   # element symbol → unit id
    for node in drawn:
        for s in _elements(env[node.name].x):
            unit_of[s] = s.name
    params = {s for n in graph.parameters for s in _elements(env[n.name].x)}

    layers = {}
    for node in drawn:
        if node.role == "input":
            continue
        layers[node.name] = _layer(graph, node, env, layers)
    absorbed = {l.absorbed for l in layers.values() if l.absorbed}
    for l in layers.values():  # h's neurons stand for z's elements too
        if l.absorbed:
            for zs, hs in zip(_elements(env[l.absorbed].x), _elements(env[l.name].x)):
                unit_of[zs] = hs.name

    order = {s: k for k, s in enumerate(unit_of)}
    symbols = set(unit_of)
    owner = {}     # unit id → the node drawn with it
    units, edges, column = {}, [], {}
    for node in drawn:
        name = node.name
        if name in absorbed:
            continue
        if node.role == "input":
            column[name] = 0
            units[name] = [Unit(s.name, s.name, "input") for s in _elements(env[name].x)]
            owner.update((u.id, name) for u in units[name])
            continue
        kind = "loss" if node.role == "loss" else "output" if _is_output(graph, name) else "neuron"
        if _is_gate(node.expr):   # f(a) * g(b): two branches of neurons, and ⊗ joining them element by element
            elements = _elements(env[name].x)
            for k, factor in enumerate((node.expr.left, node.expr.right), 1):
                branch, sources = f"{name}:{k}", set()
                units[branch] = []
                for s, pre in zip(elements, _elements(forward(factor.args[0], Eval(), env).x)):
                    weights, bias = _linear_parts(pre, symbols, params)
                    uid = f"{s.name}:{k}"
                    units[branch].append(Unit(uid, "", "neuron", factor.func, *_label(bias, values)))
                    owner[uid] = branch
                    for src in sorted(weights, key=order.get):
                        edges.append(Edge(unit_of[src], uid, *_label(weights[src], values)))
                        sources.add(owner[unit_of[src]])
                    edges.append(Edge(uid, s.name))
                column[branch] = 1 + max((column[n] for n in sources), default=0)
            units[name] = [Unit(s.name, s.name, kind, shape="op") for s in elements]
            owner.update((s.name, name) for s in elements)
            column[name] = 1 + max(column[f"{name}:1"], column[f"{name}:2"])
            continue
        layer = layers[name]
        units[name], sources = [], set()
        for s, pre in zip(_elements(env[name].x), layer.pre):
            weights, bias = _linear_parts(pre, symbols, params)
            bias_name, bias_value = _label(bias, values)
            units[name].append(Unit(s.name, s.name, kind, layer.activation, bias_name, bias_value))
            owner[s.name] = name
            for src in sorted(weights, key=order.get):
                weight, value = _label(weights[src], values)
                edges.append(Edge(unit_of[src], s.name, weight, value))
                sources.add(owner[unit_of[src]])
        column[name] = 1 + max((column[n] for n in sources), default=0)
    loss = [n.name for n in drawn if n.role == "loss"]
    last = max((c for n, c in column.items() if n not in loss), default=0)
    for n in loss:
        column[n] = last + 1
    width = max(column.values(), default=-1) + 1
    columns = tuple(tuple(u for n in units if column[n] == k for u in units[n]) for k in range(width))
    return _laid_out(_zero_biases(columns), edges)


def _zero_biases(columns: tuple) -> tuple:
    """A bias that is a literal 0 is drawn (+0) once any neuron has a bias, so every neuron shows one;
    in a network without biases none is drawn."""
    def zero(u):
        return u.bias is not None and not isinstance(u.bias, str) and u.bias == 0
    if any(u.bias is not None and not zero(u) for col in columns for u in col):
        return columns
    return tuple(tuple(replace(u, bias=None, bias_value=None) if zero(u) else u for u in col) for col in columns)


def _laid_out(columns: tuple, edges: list) -> Diagram:
    """Layout hints: each unit's column and row, skip routes, and tables for crowded columns."""
    columns = tuple(tuple(replace(u, column=k, row=i - (len(col) - 1) / 2) for i, u in enumerate(col))
                    for k, col in enumerate(columns))
    column = {u.id: u.column for col in columns for u in col}
    between: dict[tuple, list] = {}
    for e in edges:
        between.setdefault((column[e.source], column[e.target]), []).append(e)
    tables, out = [], []
    for (a, b), group in between.items():
        dense = _crowded(group) and any(e.weight is not None for e in group)
        if dense:
            tables.append(_table(columns[a], columns[b], group))
        route = "skip" if b - a > 1 else "straight"
        out += [(e, replace(e, route=route, labelled=not dense)) for e in group]
    order = {id(e): k for k, e in enumerate(edges)}
    out.sort(key=lambda pair: order[id(pair[0])])
    return Diagram(columns, tuple(e for _, e in out), tuple(tables))


def _crowded(edges: list) -> bool:
    """Too many edges between two columns for their labels to stay apart."""
    sources, targets = {e.source for e in edges}, {e.target for e in edges}
    complete = len(edges) == len(sources) * len(targets) and min(len(sources), len(targets)) >= 2
    return len(edges) > DENSE_EDGES or (complete and len(edges) >= FULL_CROSSING)


def _table(sources: tuple, targets: tuple, edges: list) -> WeightTable:
    """The weights of the edges from one column into another, row per target."""
    used = {e.source for e in edges}
    sources = tuple(u for u in sources if u.id in used)
    targets = tuple(u for u in targets if any(e.target == u.id for e in edges))
    at = {(e.target, e.source): (e.weight, e.value) for e in edges}
    cells = tuple(tuple(at.get((t.id, s.id)) for s in sources) for t in targets)
    return WeightTable(tuple(u.label for u in sources), tuple(u.label for u in targets), cells)


def _layer(graph: Graph, node, env: dict, layers: dict) -> _Layer:
    """Split a node into activation and pre-activation, merging h = f(z) with a z used only by h."""
    expr = node.expr
    if isinstance(expr, Call) and expr.func in ELEMENTWISE and len(expr.args) == 1 + len(ELEMENTWISE[expr.func].params):
        arg = expr.args[0]  # the rest are constants (the slope of leaky_relu): the unit's function keeps them
        if isinstance(arg, Name) and arg.id in layers and graph.users[arg.id] == (node.name,) \
                and layers[arg.id].activation is None and graph.nodes[arg.id].role == "forward":
            return _Layer(node.name, layers[arg.id].pre, expr.func, arg.id)
        return _Layer(node.name, _elements(forward(arg, Eval(), env).x), expr.func)
    return _Layer(node.name, _elements(forward(expr, Eval(), env).x), None)


def _linear_parts(pre, units: set, params: set):
    """{unit symbol: coefficient or None} and the bias (the constant part, or None if not affine)."""
    pre = sp.sympify(pre)
    coefficients, nonlinear, constant = {}, set(), sp.Integer(0)
    for term in sp.Add.make_args(pre):
        used = term.free_symbols & units
        if not used:
            constant += term
            continue
        if len(used) == 1:
            s = next(iter(used))
            coefficient, rest = term.as_independent(s, as_Add=False)
            if rest == s:
                coefficients[s] = coefficients.get(s, sp.Integer(0)) + coefficient
                continue
        nonlinear |= used
    weights = {}
    for s in (pre.free_symbols & units):
        c = coefficients.get(s)
        weights[s] = c if s not in nonlinear and _is_weight(c, params) else None
    affine = not nonlinear and all(_free(c, units) for c in coefficients.values())
    bias = constant if affine and _is_weight(constant, params) else None
    return weights, bias


def _is_gate(expr) -> bool:
    """An elementwise product of two activations, f(a) * g(b), as in a gated linear unit."""
    return isinstance(expr, BinOp) and expr.op == "*" and all(
        isinstance(f, Call) and f.func in ELEMENTWISE and len(f.args) == 1 for f in (expr.left, expr.right))


def _is_weight(c, params: set) -> bool:
    """A coefficient worth writing on an edge: a plain number or one parameter element, or its negative."""
    return c is not None and (c.is_Number or c in params or -c in params)


def _free(c, symbols: set) -> bool:
    return not (c.free_symbols & symbols)


def _label(c, values: dict | None):
    """A weight or bias as (name or number, value when known)."""
    if c is None:
        return None, None
    if c.is_Number:
        return c, c
    if not c.is_Symbol:   # -b: a parameter subtracted
        value = _value_of((-c).name, values)
        return "-" + (-c).name, None if value is None else -value
    name = c.name
    return name, _value_of(name, values)


def _value_of(element: str, values: dict | None):
    if values is None:
        return None
    node, _, index = element.partition("[")
    if node not in values:
        return None
    x = getattr(values[node], "x", values[node])
    if not index:
        return x
    i = [int(k) - 1 for k in index.rstrip("]").split(",")]
    return x[i[0], i[1] if len(i) > 1 else 0]


def _is_output(graph: Graph, name: str) -> bool:
    """A forward node that only the loss uses (or nothing)."""
    return all(graph.nodes[u].role == "loss" for u in graph.users[name])


def _elements(x) -> list:
    return list(x) if isinstance(x, sp.MatrixBase) else [x]


def graph_diagram(structure) -> Diagram:
    """A computational graph (GraphStructure) as a Diagram: one box per quantity, the gradient nodes dashed below."""
    role = dict(structure.nodes)
    value_nodes = [n for n, r in structure.nodes if r != "gradient"]
    into: dict[str, list] = {}
    for a, b in structure.edges:
        into.setdefault(b, []).append(a)
    column: dict[str, int] = {}
    for n in value_nodes:   # computed nodes: one column after the latest thing they read
        if role[n] not in ("input", "parameter", "target"):
            column[n] = 1 + max((column.get(a, 0) for a in into.get(n, []) if a in column), default=0)
    for n in value_nodes:   # a leaf stands one column before its first user
        if n not in column:
            users = [column[b] for a, b in structure.edges if a == n and b in column]
            column[n] = max(0, min(users, default=1) - 1)
    row = _ordered(value_nodes, column, [(a, b) for a, b in structure.edges if a in column and b in column])
    rows: dict[int, int] = {}
    units = []
    for n in sorted(value_nodes, key=lambda n: (column[n], row[n])):
        k = column[n]
        units.append(Unit(n, n, role[n], column=k, row=rows.get(k, 0), shape="box"))
        rows[k] = rows.get(k, 0) + 1
    band = max(rows.values(), default=0) + 0.5   # the gradient nodes sit in a band of their own
    below: dict[int, int] = {}
    for n, r in structure.nodes:
        if r == "gradient":
            quantity = n.removeprefix("delta_")
            k = column.get(quantity, 0)
            units.append(Unit(n, quantity, "gradient", column=k, row=band + below.get(k, 0), shape="box", dashed=True))
            below[k] = below.get(k, 0) + 1
    col_of = {u.id: u.column for u in units}
    edges = []
    for a, b in structure.edges:
        if a not in col_of or b not in col_of:
            continue
        # bent: a gradient flowing right to left, or an edge along a column that would run through its boxes
        back = col_of[b] < col_of[a] or col_of[b] == col_of[a]
        route = "back" if back else "straight"
        edges.append(Edge(a, b, route=route, dashed=role.get(b) == "gradient"))
    width = max(col_of.values(), default=-1) + 1
    columns = tuple(tuple(u for u in units if u.column == k) for k in range(width))
    return Diagram(columns, tuple(edges), kind="graph")


def _ordered(nodes: list, column: dict, edges: list, sweeps: int = 4) -> dict:
    """Rows within each column that keep neighbours level (the barycentre heuristic), so fewer edges cross."""
    row = {}
    for n in nodes:
        row[n] = sum(1 for m in row if column[m] == column[n])
    near: dict[str, list] = {n: [] for n in nodes}
    for a, b in edges:
        near[a].append(b)
        near[b].append(a)
    for _ in range(sweeps):
        for k in sorted(set(column.values())):
            here = [n for n in nodes if column[n] == k]
            centre = {n: sum(row[m] for m in near[n]) / len(near[n]) if near[n] else row[n] for n in here}
            for i, n in enumerate(sorted(here, key=lambda n: (centre[n], row[n]))):
                row[n] = i
    return row


class Area(Struct, frozen=True):
    """A convex polygon of the input plane where the output has one sign: its class and its corners."""

    label: str
    above: bool              # True where the output is > 0, False where it is < 0
    corners: tuple           # ((x, y), ...) exact, counter-clockwise


class Plot(Struct, frozen=True):
    """A decision boundary in the plane of two inputs: shaded class areas, piece borders and the boundary."""

    axes: tuple              # the two input names (x, y)
    window: tuple            # (xmin, xmax, ymin, ymax), exact
    areas: tuple             # Area per piece and sign
    borders: tuple           # the pieces' outlines, as polygons ((x, y), ...)
    boundary: tuple          # segments ((x1, y1), (x2, y2)) where the output is 0
    formulas: tuple = ()     # the output on each of the borders' polygons: its linear piece there


def boundary_plot(pieces, window: tuple | None = None, threshold=0) -> Plot | None:
    """The linear pieces of an output of two inputs drawn as a plot; None for any other number of inputs.
    `window` (xmin, xmax, ymin, ymax), exact, else one around every corner; the boundary is output = threshold."""
    if len(pieces.inputs) != 2:
        return None
    found = {str(v): v for e in pieces.arguments + (pieces.formula,) for v in e.free_symbols}
    a, b = (found.get(n, sp.Symbol(n)) for n in pieces.inputs)
    level = sp.Rational(threshold)
    lines = [sp.expand(e) for e in pieces.arguments] + [sp.expand(p.expression - level) for p in pieces.pieces]
    window = tuple(map(sp.Rational, window)) if window else _window([e for e in lines if _is_line(e, a, b)], a, b)
    x0, x1, y0, y1 = window
    box = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    areas, borders, boundary, formulas = [], [], [], []
    for piece in pieces.pieces:
        region = box
        for r in piece.region:
            region = _clip(region, r.lhs if r.rel_op == ">" else -r.lhs, a, b)
        if len(region) < 3:
            continue
        borders.append(tuple(region))
        formulas.append(piece.expression)
        for above, label in ((True, pieces.above), (False, pieces.below)):
            part = _clip(region, piece.expression - level if above else level - piece.expression, a, b)
            if len(part) >= 3 and _area(part) > 0:
                areas.append(Area(label, above, tuple(part)))
        ends = _crossing(region, sp.expand(piece.expression - level), a, b)
        if ends:
            boundary.append(ends)
    return Plot(tuple(pieces.inputs), window, tuple(areas), tuple(borders), tuple(boundary), tuple(formulas))


def _is_line(e, a, b) -> bool:
    return e.free_symbols <= {a, b} and bool(e.free_symbols) and sp.Poly(e, a, b).total_degree() == 1


def _window(lines: list, a, b) -> tuple:
    """A square around the origin and every crossing of two lines, with a margin."""
    xs, ys = [sp.Integer(0)], [sp.Integer(0)]
    for i, e in enumerate(lines):
        for f in lines[i + 1:]:
            point = sp.solve([e, f], [a, b], dict=True)
            if point and a in point[0] and b in point[0] and point[0][a].is_Rational and point[0][b].is_Rational:
                xs.append(point[0][a])
                ys.append(point[0][b])
    half = max(max(abs(v) for v in xs + ys), sp.Integer(1)) * 2
    return (-half, half, -half, half)


def _clip(polygon: list, e, a, b) -> list:
    """The part of a convex polygon where the linear e ≥ 0 (one Sutherland-Hodgman step, exact)."""
    value = [e.subs({a: x, b: y}) for x, y in polygon]
    out = []
    for k, (p, v) in enumerate(zip(polygon, value)):
        q, w = polygon[(k + 1) % len(polygon)], value[(k + 1) % len(polygon)]
        if v >= 0:
            out.append(p)
        if (v > 0 and w < 0) or (v < 0 and w > 0):
            t = v / (v - w)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return [p for k, p in enumerate(out) if p != out[k - 1]] if len(out) > 1 else out


def _crossing(polygon: list, e, a, b):
    """The segment of the line e = 0 inside a convex polygon, or None."""
    if not e.free_symbols:
        return None
    points = []
    value = [e.subs({a: x, b: y}) for x, y in polygon]
    for k, (p, v) in enumerate(zip(polygon, value)):
        q, w = polygon[(k + 1) % len(polygon)], value[(k + 1) % len(polygon)]
        if v == 0:
            points.append(p)
        elif (v > 0 and w < 0) or (v < 0 and w > 0):
            t = v / (v - w)
            points.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    points = list(dict.fromkeys(points))
    return (points[0], points[-1]) if len(points) >= 2 else None


def _area(polygon: list):
    return sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(polygon, polygon[1:] + polygon[:1])) / 2
