"""Linear pieces of a ReLU network: one per activation pattern, with its region and classes."""
from __future__ import annotations

from itertools import product

import sympy as sp

from .algebra import T, element_symbols
from .ask import Ask
from .engine import evaluate, leaf_values
from .errors import LimitError
from .limits import Limits
from .ops import relu
from .solution import LinearPieces, Piece


def linear_pieces(work, ask: Ask, limits: Limits | None = None) -> LinearPieces:
    """Enumerate the ReLU patterns exactly; keep those whose region has an interior.
    With `limits`, more ReLUs than limits.relu_pieces (2^n patterns) is a LimitError."""
    g = work.g
    o = ask.options
    where = f"ask part {ask.part}"
    names = o["inputs"] or [n for n, node in g.nodes.items() if node.role == "input"]
    for n in names:
        if n not in g.nodes or g.nodes[n].role != "input":
            raise g.error(f"{n!r} is not an input", key=where, line=ask.line)
    computed = [n.name for n in g.computed if n.role == "forward"]
    output = o["output"] or (computed[-1] if computed else None)
    if output not in g.nodes or g.nodes[output].shape not in ((), (1,)):
        raise g.error("name a scalar output (output: y)", key=where, line=ask.line)
    symbols = {n: T(element_symbols(n, g.nodes[n].shape), g.nodes[n].shape) for n in names}
    variables = [s for t in symbols.values() for s in (list(t.x) if isinstance(t.x, sp.MatrixBase) else [t.x])]
    values = evaluate(g, leaf_values(g, {n: t.x for n, t in symbols.items()}))
    y = values[output].x
    y = y[0] if isinstance(y, sp.MatrixBase) else y
    arguments = _relu_arguments(y)
    if limits is not None and len(arguments) > limits.relu_pieces:
        raise LimitError(limits.message("relu_pieces", f"the output has {len(arguments)} ReLUs, "
                                        f"{2 ** len(arguments)} on/off patterns"), file=g.problem.path)
    pieces = []
    for active in product((True, False), repeat=len(arguments)):
        choice = dict(zip(arguments, active))
        region = []
        for a in arguments:  # innermost first, so every argument is linear once its inner ReLUs are fixed
            a_here = sp.expand(_fix(a, choice))
            region.append(sp.StrictGreaterThan(a_here, 0) if choice[a] else sp.LessThan(a_here, 0))
        piece = sp.expand(_fix(y, choice))
        if not all(_linear(e, variables) for e in [piece] + [r.lhs for r in region]):
            raise g.error("linear pieces need an output built from linear maps and relu of the inputs",
                          key=where, line=ask.line)
        strict = [r.lhs if r.rel_op == ">" else -r.lhs for r in region]
        if not feasible(strict, variables):
            continue
        below = _where(-piece, strict, variables)
        above = _where(piece, strict, variables)
        pieces.append(Piece(tuple(active), tuple(region), piece, below, above))
    return LinearPieces(output, tuple(str(v) for v in variables), y, tuple(arguments), tuple(pieces),
                        o["below"], o["above"])


def _where(e, strict: list, variables: list):
    """Where e > 0 on the region: False (nowhere), True (everywhere), or the condition, solved for one variable."""
    if not feasible(strict + [e], variables):
        return False
    if not feasible(strict + [-e], variables):
        return True
    free = [v for v in variables if e.has(v)]
    if len(free) == 1:
        v = free[0]
        c = e.coeff(v)
        bound = sp.solve(e, v)[0]
        return sp.StrictGreaterThan(v, bound) if c > 0 else sp.StrictLessThan(v, bound)
    return sp.StrictGreaterThan(e, 0)


def _relu_arguments(y) -> list:
    """The arguments of every ReLU in y, inner ones first."""
    found = sorted(y.atoms(relu), key=lambda e: (sp.count_ops(e), sp.default_sort_key(e)))
    return [e.args[0] for e in found]


def _fix(expr, choice: dict):
    """expr with each ReLU replaced by its argument (active) or 0, inner ReLUs fixed first."""
    if not expr.atoms(relu):
        return expr
    mapping = {relu(a): (_fix(a, choice) if active else sp.Integer(0)) for a, active in choice.items()}
    return expr.xreplace(mapping)


def _linear(e, variables) -> bool:
    """e is affine in the inputs: a polynomial of degree at most one, with no other function in it."""
    return e.is_polynomial(*variables) and sp.Poly(e, *variables).total_degree() <= 1


def feasible(strict: list, variables: list) -> bool:
    """Whether {e > 0 for every e} has a solution: Fourier–Motzkin elimination, exact."""
    rows = [sp.expand(e) for e in strict]
    for v in variables:
        pos, neg, rest = [], [], []
        for e in rows:
            c = e.coeff(v)
            (pos if c > 0 else neg if c < 0 else rest).append((c, e))
        rows = [e for _, e in rest]
        for cp, ep in pos:
            for cn, en in neg:
                rows.append(sp.expand(ep / cp + en / (-cn)))
    return all(e > 0 for e in rows)
