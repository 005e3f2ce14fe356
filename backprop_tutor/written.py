"""A backward formula as a sheet writes it: factors in chain order, signs and constants folded, zero terms gone.

The rules build a δ term the way the chain rule produces it: −1·(−δ), δ·(1/2)·2·z, a product
whose other operand is 0. `as_written` rewrites such a formula into the same value in the form a
sheet prints (δ₅ · w₃₅, δ · z); `substituted` puts the numbers into that form, so the formula line
and the numbers line of a step read alike and the numbers line still shows each value honestly.
"""
from __future__ import annotations

import sympy as sp

from .algebra import Weight

DELTA_PREFIX = "delta_"


def is_delta(x) -> bool:
    """A δ symbol (δ_y, δ₅): the factor a chain-rule term starts from."""
    return isinstance(x, (sp.Symbol, sp.MatrixSymbol)) and x.name.startswith(DELTA_PREFIX)


def as_written(expr, delta_first: bool = True):
    """expr with the sheet's order and no redundant constant: the same value.

    Products are flattened; their constant factors (signs, 1/2·2) are multiplied into one
    coefficient written in front; δ factors come first (or last, with delta_first=False, as
    a sheet that writes f′(z)·(w·δ) does); zero terms of a sum are dropped. Anything that is
    not a scalar sum or product (a matrix product, a function call) is kept, its arguments
    rewritten in turn.
    """
    if isinstance(expr, sp.MatrixBase) or not isinstance(expr, sp.Basic):
        return expr
    if isinstance(expr, (sp.MatrixExpr,)) or expr.is_Atom or isinstance(expr, Weight):
        return expr
    if isinstance(expr, sp.Add):
        terms = [as_written(t, delta_first) for t in _flat(expr, sp.Add)]
        terms = [t for t in terms if not _zero(t)]
        if not terms:
            return sp.Integer(0)
        return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)
    if isinstance(expr, sp.Mul):
        return _product(expr, delta_first)
    if isinstance(expr, sp.Pow):
        base = as_written(expr.base, delta_first)
        return sp.Pow(base, expr.exp, evaluate=False)
    if isinstance(expr, sp.Function) and expr.args:
        args = [as_written(a, delta_first) for a in expr.args]
        with sp.evaluate(False):
            return expr.func(*args)
    return expr


def _product(expr, delta_first: bool):
    coefficient, deltas, rest = sp.Integer(1), [], []
    for f in _flat(expr, sp.Mul):
        f = as_written(f, delta_first)
        if isinstance(f, sp.Mul):  # a factor that became a product: its own coefficient joins ours
            inner = list(f.args)
        else:
            inner = [f]
        for g in inner:
            if isinstance(g, sp.Rational):
                with sp.evaluate(True):
                    coefficient = sp.Rational(coefficient * g)
            elif is_delta(g) or any(is_delta(x) for x in g.free_symbols):  # δ, or a sum of δ terms
                deltas.append(g)
            else:
                rest.append(g)
    if coefficient == 0 or any(_zero(f) for f in rest):
        return sp.Integer(0)
    body = deltas + rest if delta_first else rest[::-1] + deltas  # the chain read backwards: f′(z)·w·δ
    sign = -1 if coefficient < 0 else 1
    magnitude = abs(coefficient)
    if magnitude != 1:  # 2·(y − t): the constant leads its own factors, after the δ
        at = len(deltas) if delta_first else 0
        body.insert(at, magnitude)
    if not body:
        return sp.Integer(sign) * magnitude
    product = body[0] if len(body) == 1 else sp.Mul(*body, evaluate=False)
    return product if sign == 1 else sp.Mul(sp.Integer(-1), product, evaluate=False)


def _flat(expr, kind) -> list:
    """The operands of nested sums (or products) as one list, in the order written."""
    out = []
    for a in expr.args:
        if isinstance(a, kind):
            out.extend(_flat(a, kind))
        else:
            out.append(a)
    return out


def _zero(x) -> bool:
    return isinstance(x, sp.Number) and x == 0


def substituted(formula, values: dict):
    """The formula with each symbol replaced by its value, kept unevaluated: the numbers line.

    A negative value is kept apart as a Weight, so that δ = −1 times 1.5 reads (−1)·1.5, not −1.5,
    and a term δ·w with δ = −1.5 reads + (−1.5)·2, not − 1.5·2.
    """
    return substituted_each([formula], values)[0]


def substituted_each(formulas: list, values: dict) -> list:
    """substituted() of each formula, all in one unevaluated pass (SymPy empties its whole cache on entering
    and on leaving one: a layer's lines, one per neuron, pay that once)."""
    subs = [_occurring(f, values) for f in formulas]
    with sp.evaluate(False):
        return [f.xreplace(s) for f, s in zip(formulas, subs)]


def _occurring(formula, values: dict) -> dict:
    """The values of the symbols that occur in the formula, a negative one kept apart as a Weight."""
    present = formula.free_symbols if isinstance(formula, sp.Basic) else None
    return {k: (Weight(v) if isinstance(v, sp.Number) and v < 0 else v) for k, v in values.items()
            if present is None or k in present or not getattr(k, "is_Symbol", False)}  # only what occurs


SAMPLES = sp.Symbol("N", positive=True, integer=True)  # the number of samples, as a sheet keeps it


def over_samples(expr, n: int):
    """expr with the mean's 1/n written 1/N, for a mean over n samples that stand for any number N."""
    if not isinstance(expr, sp.Basic) or n < 2:
        return expr
    one_over = sp.Rational(1, n)
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: over_samples(e, n))
    if isinstance(expr, sp.Mul) and one_over in expr.args:  # (1/3)(a + b) → a/N + b/N, as a sum over samples
        rest = [a for a in expr.args if a != one_over]
        if len(rest) == 1 and isinstance(rest[0], sp.Add):
            return sp.Add(*[t / SAMPLES for t in rest[0].args], evaluate=False)
    with sp.evaluate(False):
        return expr.xreplace({one_over: sp.Pow(SAMPLES, -1)})
