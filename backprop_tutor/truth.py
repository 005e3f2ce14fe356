"""Truth tables: a unit evaluated on each input of a gate and decided by a threshold."""
from __future__ import annotations

import sympy as sp

from .algebra import Eval, ShapeError
from .ask import Ask
from .engine import evaluate, leaf_values
from .graph import Graph
from .rules import forward
from .solution import TruthRow, TruthTable
from .steps import forward_step


def truth_table(work, ask: Ask) -> TruthTable:
    """Every row of the table: output = the unit's value, decision = output > threshold."""
    g: Graph = work.g
    o = ask.options
    where = f"ask part {ask.part}"
    inputs = [n for n, node in g.nodes.items() if node.role == "input"]
    name = o["input"] or (inputs[0] if len(inputs) == 1 else None)
    if name not in inputs:
        raise g.error("name the input the rows are for (input: x)", key=where, line=ask.line)
    computed = [n.name for n in g.computed if n.role == "forward"]
    output = o["output"] or (computed[-1] if computed else None)
    if output not in g.nodes or g.nodes[output].shape not in ((), (1,)):
        raise g.error("name a scalar output (output: y)", key=where, line=ask.line)
    shape = g.nodes[name].shape
    rows = []
    for k, raw in enumerate(o["rows"]):
        try:
            value = _given(raw)
        except ShapeError as e:  # a row too large to compute, say
            raise g.error(f"row {k + 1}: {e}", key=where, line=ask.line) from None
        is_vector = isinstance(value, sp.MatrixBase)
        if (shape == ()) == is_vector or (is_vector and (value.rows,) != shape):
            raise g.error(f"row {k + 1} does not have the shape of {name}", key=where, line=ask.line)
        values = evaluate(g, leaf_values(g, {name: value}))
        out = values[output].x
        out = out[0] if isinstance(out, sp.MatrixBase) else out
        decision = 1 if out > o["threshold"] else 0
        expected = None if o["expect"] is None else _given(o["expect"][k])
        rows.append(TruthRow(value, out, decision, expected,
                             None if expected is None else decision == expected))
    all_match = None if o["expect"] is None else all(r.matches for r in rows)
    formula = forward_step(work, g.nodes[output], work.values).formula
    threshold = sp.Rational(o["threshold"].numerator, o["threshold"].denominator)
    return TruthTable(name, output, formula, threshold, tuple(rows), all_match)


def _given(raw):
    """A row as written in the file (a number or a list) → SymPy."""
    if isinstance(raw, list):
        return sp.ImmutableMatrix([forward(x, Eval(), {}).x for x in raw])
    return forward(raw, Eval(), {}).x

