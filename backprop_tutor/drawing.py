"""A problem → the data of its drawing: the diagram, and the solved numbers to write beside it."""
from __future__ import annotations

import re

from msgspec import Struct, field
import sympy as sp

from .diagram import Diagram, diagram, graph_diagram
from .display import printer
from .engine import Work, names_of
from .errors import UsageError
from .graph import build
from .problem import Problem
from .structure import graph_structure

KINDS = ("network", "graph")
ELEMENT = re.compile(r"^(.+)\[(\d+(?:,\d+)?)\]$")  # one element: name[i] or name[i,j]


class Drawing(Struct, frozen=True):
    """A diagram with the numbers to write on it (each looked up by unit id or edge); pure data."""

    diagram: Diagram
    names: dict = field(default_factory=dict)       # the sheet's notation (names_of)
    values: dict = field(default_factory=dict)      # unit id → forward value (a number or a matrix)
    gradients: dict = field(default_factory=dict)   # unit id → ∂L/∂ its bias (network); graph: in values
    edge_gradients: dict = field(default_factory=dict)  # (source, target) → ∂L/∂ of the edge's weight
    loss: str = "L"
    title: str = ""

    def _repr_svg_(self):
        """In a notebook, the drawing itself: laid out by Graphviz's dot (through the printer display.py names)."""
        return printer("svg")(self)


def draw(problem: Problem, kind: str = "network", gradients: bool = False, values: bool = False) -> Drawing:
    """The drawing of a problem: its network of neurons or (kind graph) its computational graph;
    gradients adds ∂L/∂ numbers (network) or the dashed gradient nodes (graph); values the forward values."""
    if kind not in KINDS:
        raise UsageError(f"no drawing of kind {kind!r}; the kinds are " + ", ".join(KINDS))
    graph = build(problem)
    if kind == "network" and problem.samples:
        raise UsageError("a problem over several samples has no one network of numbers to draw; "
                         "draw its computational graph (--graph)", file=problem.path)
    work = Work(graph)
    names = names_of(graph)
    forward = {n: getattr(v, "x", v) for n, v in work.values.items() if _known(getattr(v, "x", v))}
    deltas = {n: getattr(v, "x", v) for n, v in work.deltas.items() if _known(getattr(v, "x", v))}
    if kind == "graph":
        shown = graph_diagram(graph_structure(work, "backward" if gradients else "forward"))
        units = [u for col in shown.columns for u in col]
        found = {u.id: forward[u.id] for u in units if values and not u.dashed and u.id in forward}
        found.update({u.id: deltas[u.label] for u in units if values and u.dashed and u.label in deltas})
        return Drawing(shown, names, found, title=problem.title)
    shown = diagram(graph, work.values)
    units = [u for col in shown.columns for u in col]
    found = {}
    if values:
        found = {u.id: v for u in units if (v := entry(u.id, forward)) is not None}
    bias, edge = {}, {}
    if gradients:
        bias = {u.id: g for u in units
                if isinstance(u.bias, str) and (g := entry(u.bias.lstrip("-"), deltas)) is not None}
        edge = {(e.source, e.target): g for e in shown.edges
                if isinstance(e.weight, str) and (g := entry(e.weight.lstrip("-"), deltas)) is not None}
    return Drawing(shown, names, found, bias, edge, title=problem.title)


def entry(element: str, table: dict):
    """The number an element name stands for in a table of values: h1[2] → table['h1'][1], w13 → table['w13']."""
    m = ELEMENT.match(element)
    name, index = (m.group(1), [int(k) - 1 for k in m.group(2).split(",")]) if m else (element, None)
    if name not in table:
        return None
    x = table[name]
    if index is None:
        return x[0, 0] if getattr(x, "shape", None) == (1, 1) else x
    try:
        return x[index[0], index[1] if len(index) > 1 else 0]
    except (IndexError, TypeError):
        return None


def _known(x) -> bool:
    """A value made of numbers only (a sheet may leave a quantity as a symbol)."""
    return not getattr(sp.sympify(x), "free_symbols", set())
