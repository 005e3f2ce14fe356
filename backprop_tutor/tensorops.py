"""Functions of a whole vector or matrix, and max/min of two operands: forward and backward, written
once against an Algebra (the rule texts are in ops.WHOLE)."""
from __future__ import annotations

import sympy as sp

from .algebra import Algebra, ShapeError, T, describe

REDUCING = ("max", "min", "logsumexp", "var", "norm")  # to one number (max and min of one operand)
VECTORS_ONLY = ("logsumexp", "var", "norm")


def forward(f: str, A: Algebra, args: list) -> T:
    """The value (or formula) of f(args)."""
    if f in ("max", "min") and len(args) == 2:
        return A.pairwise(f, *args)
    a = args[0]
    if a.shape == () or f in VECTORS_ONLY and len(a.shape) != 1:
        raise ShapeError(f"{f} needs a vector{' or a matrix' if f not in VECTORS_ONLY else ''}, not {describe(a.shape)}")
    if f == "softmax":
        return A.softmax(a)
    return A.whole(f, a, () if f in REDUCING else a.shape)


def backward(f: str, A: Algebra, args: list, delta: T) -> list:
    """For each argument, a function giving δ of that argument (of the full shape), or None."""
    if f in ("max", "min") and len(args) == 2:
        return _pairwise(f, A, args, delta)
    a = args[0]
    if f == "softmax":
        return [lambda: _through_softmax(A, a, delta)]
    if f == "log_softmax":
        return [lambda: _through_log_softmax(A, a, delta)]
    if f == "logsumexp":
        return [lambda: A.mul(delta, A.probabilities(a))]
    if f == "var":
        n = a.shape[0]
        mean = A.mul(A.const(sp.Rational(1, n)), A.total(a))
        return [lambda: A.mul(A.mul(A.const(sp.Rational(2, n)), delta), A.sub(a, A.lift(mean, a.shape)))]
    if f == "norm":
        return [lambda: _through_norm(A, a, delta)]
    return [lambda: A.mul(delta, A.first_extreme(f, a))]


def _pairwise(f, A, args, delta):
    """max(a, b): δ to a where a ≥ b (a tie to a), to b where b > a; min(a, b) the same with ≤ and <."""
    a, b = args
    later = A.apply("step", A.sub(b, a) if f == "max" else A.sub(a, b))  # 1 where b takes δ
    first = A.sub(A.const(1), later)
    return [lambda: A.mul(delta, first), lambda: A.mul(delta, later)]


def _through_softmax(A, s, delta):
    """p ⊙ (δ − pᵀδ) for p = softmax(s); row by row for a matrix, P ⊙ Δ − ((P ⊙ Δ)𝟙𝟙ᵀ) ⊙ P, written as a
    difference so that a line too long for the page breaks between its terms."""
    p = A.probabilities(s)
    if len(s.shape) == 1:
        return A.mul(p, A.sub(delta, A.lift(A.matmul(p, delta), p.shape)))
    weighted = A.mul(p, delta)
    return A.sub(weighted, A.mul(A.outer(A.row_totals(weighted), A.ones(s.shape[1])), p))


def _through_log_softmax(A, s, delta):
    """δ − softmax(s)·Σδ; row by row for a matrix, Δ − (Δ𝟙𝟙ᵀ) ⊙ P."""
    p = A.probabilities(s)
    if len(s.shape) == 1:
        return A.sub(delta, A.mul(A.total(delta), p))
    return A.sub(delta, A.mul(A.outer(A.row_totals(delta), A.ones(s.shape[1])), p))


def _through_norm(A, v, delta):
    """δ·v/‖v‖, refused at v = 0 where the norm has no derivative."""
    size = A.whole("norm", v, ())
    if size.x == 0:
        raise ShapeError("norm(v) has no derivative at v = 0")
    return A.mul(A.div(delta, size), v)
