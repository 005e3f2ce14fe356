"""Problem → computational Graph: every quantity as a node, in topological order, with its shape."""
from __future__ import annotations

import re
from fractions import Fraction

from msgspec import Struct
import sympy as sp

from . import plainmath
from .algebra import Eval, Show, ShapeError, T, describe, in_range, symbol_for
from .expr import BinOp, Call, Name, Neg, Num, Transpose, names_in
from .errors import LimitError
from .layers import LAYERS, check
from .problem import Problem
from .ops import LOSSES
from .rules import forward

ROLES_GIVEN = ("input", "parameter", "target")


class Node(Struct, frozen=True):
    """One named quantity: a given leaf, a derived parameter, a forward line, or the loss L."""

    name: str
    role: str             # input | parameter | target | derived | forward | loss
    shape: tuple
    expr: object = None   # the syntax tree, for everything that is computed
    text: str | None = None
    line: int | None = None
    key: str | None = None
    given: object = None  # the stated value of a leaf: a SymPy number/matrix, or a symbol


class Graph(Struct, frozen=True):
    """Nodes in an order where each comes after everything it uses, and who uses whom."""

    problem: Problem
    nodes: dict
    users: dict

    @property
    def computed(self) -> list[Node]:
        """Derived parameters, forward lines and the loss, in order."""
        return [n for n in self.nodes.values() if n.expr is not None]

    @property
    def parameters(self) -> list[Node]:
        """Every trained quantity: the given parameters and the derived ones."""
        return [n for n in self.nodes.values() if n.role in ("parameter", "derived")]

    def ancestors(self, name: str) -> set:
        """The node and everything it is computed from."""
        out, todo = set(), [name]
        while todo:
            n = todo.pop()
            if n in out:
                continue
            out.add(n)
            if self.nodes[n].expr is not None:
                todo.extend(names_in(self.nodes[n].expr))
        return out

    def between(self, name: str, of: str) -> set:
        """The nodes on some path from `name` up to `of` (both included when connected)."""
        below = {name}
        for node in self.computed:
            if any(u in below for u in names_in(node.expr)):
                below.add(node.name)
        return below & self.ancestors(of)

    def resolve(self, text: str, key: str | None = None, line: int | None = None, inputs: bool = False):
        """A name as a user writes it (W2[2,1], W2_21, an alias, w13, h1) → (node name, index or None);
        with inputs=True an input is read the same way (x1, x[2], x)."""
        return _resolve(self, text, key, line, seen=(), closed=("target",) if inputs else ("input", "target"))

    def error(self, message, key=None, line=None):
        return self.problem.error(message, key=key, line=line)


def build(problem: Problem) -> Graph:
    """Check every name and shape and order the nodes."""
    lines = [("derived", l) for l in problem.derived] + [("forward", l) for l in problem.forward]
    if problem.loss is not None:
        lines.append(("loss", problem.loss))
    nodes = _nodes(problem, lines, {})
    wide = _broadcast_targets(nodes, lines)
    if wide:
        nodes = _nodes(problem, lines, wide)
    users: dict[str, list[str]] = {n: [] for n in nodes}
    for node in nodes.values():
        if node.expr is not None:
            for name in names_in(node.expr):
                users[name].append(node.name)
    graph = Graph(problem, nodes, {k: tuple(v) for k, v in users.items()})
    for name in problem.frozen:
        if nodes[name].role == "derived":
            raise problem.error(f"{name!r} is derived from other parameters; freeze those instead",
                                key="frozen")
    for alias, target in problem.aliases.items():
        graph.resolve(target, key=f"aliases.{alias}")
    for ask in problem.ask:
        if ask.kind in ("gradient", "update", "derive"):
            for name in ask.what:
                graph.resolve(name, key=f"ask part {ask.part}", line=ask.line)
    return graph


def _nodes(problem: Problem, lines: list, wide: dict) -> dict[str, Node]:
    """Every node with its shape, in order; `wide` gives scalar targets the shape they are broadcast to."""
    nodes: dict[str, Node] = {}
    for role, leaves in (("input", problem.inputs), ("parameter", problem.parameters),
                         ("target", problem.targets)):
        for leaf in leaves:
            value, shape = _given(problem, leaf)
            if leaf.name in wide:
                shape = wide[leaf.name]
                value = sp.ImmutableMatrix(*_dims(shape), [value] * _size(shape))
            nodes[leaf.name] = Node(leaf.name, role, shape, line=leaf.line, key=leaf.key, given=value)
    show = Show(limits=problem.limits)
    for position, (role, line) in enumerate(lines):
        env = {}
        for name in names_in(line.expr):
            if name not in nodes:
                later = any(l.name == name for _, l in lines[position + 1:])
                why = ("is the line's own name: a line cannot use itself (a loop)" if name == line.name
                       else "is defined further down: a line may only use names defined above it" if later
                       else "is not defined")
                raise problem.error(f"the name {name!r} {why} (known: {', '.join(nodes)})", key=line.key)
            n = nodes[name]
            env[name] = T(symbol_for(name, n.shape), n.shape)
        try:
            shape = forward(line.expr, show, env).shape
            _check_layers(problem, line, show, env)
        except ShapeError as e:
            raise problem.error(f"{e} in {line.text!r}", key=line.key) from None
        if role == "loss" and shape != ():
            raise problem.error(f"the loss must be a scalar, not {describe(shape)}; use e.g. sse(y, t)",
                                key=line.key)
        nodes[line.name] = Node(line.name, role, shape, line.expr, line.text, line.line, line.key)
    return nodes


def _check_layers(problem: Problem, line, show: Show, env: dict) -> None:
    """Refuse a layer (a convolution, a pooling) of more multiply-adds than layer_products allows."""
    for e in _walk(line.expr):
        if isinstance(e, Call) and e.func in LAYERS:
            shapes = [forward(a, show, env).shape for a in e.args[:LAYERS[e.func].operands]]
            why = check(e, shapes, problem.limits)
            if why:
                error = problem.error(f"{why} in {line.text!r}", key=line.key)
                raise LimitError(error.message, file=error.file, line=error.line, key=error.key)


def _broadcast_targets(nodes: dict, lines: list) -> dict:
    """Numeric scalar targets used only as loss(y, t) beside a vector or matrix y, with the shape each
    is broadcast to: its number in every component, so the sheet's formula y − t stays as written."""
    show = Show()
    env = {n: T(symbol_for(n, node.shape), node.shape) for n, node in nodes.items()}
    candidates = {n for n, node in nodes.items()
                  if node.role == "target" and node.shape == ()}
    uses = {n: 0 for n in candidates}
    beside: dict = {n: [] for n in candidates}
    for _, line in lines:
        for e in _walk(line.expr):
            if isinstance(e, Name) and e.id in candidates:
                uses[e.id] += 1
            elif isinstance(e, Call) and e.func in LOSSES and len(e.args) == 2 and isinstance(e.args[1], Name) \
                    and e.args[1].id in candidates:
                beside[e.args[1].id].append(forward(e.args[0], show, env).shape)
    return {n: shapes[0] for n, shapes in beside.items()
            if shapes and len(shapes) == uses[n] and len(set(shapes)) == 1 and shapes[0] != ()}


def _walk(e):
    """Every node of an expression tree."""
    stack = [e]
    while stack:
        e = stack.pop()
        yield e
        if isinstance(e, Call):
            stack.extend(e.args)
        elif isinstance(e, BinOp):
            stack.extend((e.left, e.right))
        elif isinstance(e, (Neg, Transpose)):
            stack.append(e.operand)


def _dims(shape: tuple) -> tuple:
    return (shape[0], 1) if len(shape) == 1 else shape


def _size(shape: tuple) -> int:
    return shape[0] * (shape[1] if len(shape) > 1 else 1)


def _given(problem: Problem, leaf):
    """A leaf's stated value as SymPy, and its shape; None stays a symbol."""
    ev = Eval()

    def number(node, key, element=None):
        """An entry: its exact value as a Fraction, another value as SymPy, an open one as its symbol."""
        if node is None:  # an element left open: the symbol x[i] or W[i,j], as derive writes elements
            return sp.Symbol(f"{leaf.name}[{element}]", real=True)
        if isinstance(node, Num):
            return node.value
        try:
            v = forward(node, ev, {}).x
        except ShapeError as e:
            raise problem.error(str(e), key=key) from None
        if not v.is_real:
            raise problem.error(f"the value {v} is not a real number", key=key)
        return Fraction(int(v.p), int(v.q)) if v.is_Rational else v

    v = leaf.value
    if v is None:
        return symbol_for(leaf.name, ()), ()
    if isinstance(v, list) and isinstance(v[0], list):
        rows = [[number(x, leaf.key, f"{i + 1},{j + 1}") for j, x in enumerate(row)] for i, row in enumerate(v)]
        return _matrix([x for row in rows for x in row], len(rows), len(rows[0])), (len(rows), len(rows[0]))
    if isinstance(v, list):
        return _matrix([number(x, leaf.key, i + 1) for i, x in enumerate(v)], len(v), 1), (len(v),)
    return _sympy(number(v, leaf.key)), ()


def _matrix(entries: list, rows: int, cols: int) -> sp.ImmutableMatrix:
    """A leaf's stated entries as a matrix: exact numbers stored straight from their fractions (plainmath)."""
    if all(type(x) is Fraction for x in entries):
        return plainmath.matrix(rows, cols, entries, in_range)
    return sp.ImmutableMatrix(rows, cols, [_sympy(x) for x in entries])


def _sympy(x):
    """An entry as SymPy: a Fraction as its exact number."""
    return plainmath.sympy_number(x) if type(x) is Fraction else x


_INDEXED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[\s*(\d+)\s*(?:,\s*(\d+)\s*)?\]$")
_SUFFIXED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*?)_(\d)(\d)?$")


def _resolve(graph: Graph, text: str, key, line, seen, closed):
    nodes, aliases = graph.nodes, graph.problem.aliases
    if not text.isprintable():
        raise graph.error(f"{text!r} holds a control character (a line break, a tab); write the name alone",
                          key=key, line=line)
    text = text.strip(" ")
    if text in aliases and text not in seen:
        return _resolve(graph, aliases[text], key, line, seen + (text,), closed)
    if text in nodes and nodes[text].role not in closed:
        return text, None
    m = _INDEXED.fullmatch(text) or (_SUFFIXED.fullmatch(text) if text not in nodes else None)
    if m and m.group(1) in nodes and nodes[m.group(1)].role not in closed:
        name = m.group(1)
        index = tuple(int(g) for g in m.groups()[1:] if g is not None)
        shape = nodes[name].shape
        if len(index) == 1 and len(shape) == 2 and shape[1] == 1:
            index = (index[0], 1)
        if len(index) != len(shape) or any(i < 1 or i > n for i, n in zip(index, shape)):
            raise graph.error(f"{text!r} is out of range: {name} is {describe(shape)} "
                              f"(indices count from 1; names: {', '.join(_names(graph, closed))})", key=key, line=line)
        return name, index
    raise graph.error(f"{text!r} names nothing in this problem (names: {', '.join(_names(graph, closed))}; "
                      f"a single weight is written like W2[2,1])", key=key, line=line)


def _names(graph: Graph, closed=("input", "target")) -> list:
    """Every name a user may differentiate by: parameters, computed nodes (inputs where open), aliases."""
    return [n for n, node in graph.nodes.items() if node.role not in closed] + list(graph.problem.aliases)
