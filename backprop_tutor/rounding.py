"""Rounding each step as by hand: a value rounded half up to N decimals, exactly, before it is used."""
from __future__ import annotations

import sympy as sp

from .algebra import Eval, T, Weight
from .errors import UsageError
from .limits import ROUND_DECIMALS

PRECISION = 60     # significant digits at which σ, tanh, exp… are evaluated before they are rounded
MAX_DECIMALS = ROUND_DECIMALS  # the most decimals `rounding: {each_step: N}` and --round-each-step take
# σ′, tanh′ and exp′ as a sheet writes them, through the unit's output o: by hand o is the rounded value
THROUGH_OUTPUT = {"sigmoid": lambda o: o * (1 - o), "tanh": lambda o: 1 - o ** 2, "exp": lambda o: o}
_WANTED = f"takes a number of decimals from 0 to {ROUND_DECIMALS}, or off"
CHECKED = (2, 3, 4)  # the step-rounded chains tutor check compares an answer with, besides the exact one


def half_up(x, decimals: int):
    """x rounded to `decimals` decimals, half away from zero as people write it (0.125 → 0.13,
    −0.125 → −0.13), as an exact Rational; a matrix entry by entry; a symbolic or non-real value as it is."""
    if isinstance(x, sp.MatrixBase):
        return sp.ImmutableMatrix(x.rows, x.cols, [half_up(v, decimals) for v in x])
    x = sp.sympify(x)
    if x.free_symbols or not x.is_number or x.is_extended_real is False or not x.is_finite:
        return x
    if not isinstance(x, sp.Rational):
        x = sp.Rational(sp.Float(x.evalf(PRECISION), PRECISION))
    scale = sp.Integer(10) ** decimals
    scaled = abs(x) * scale
    whole = sp.floor(scaled + sp.Rational(1, 2))
    return sp.sign(x) * whole / scale


def read_by_hand(numbers, decimals: int | None):
    """A δ's or gradient's numbers line as a student rounding each step writes it: σ(1.057), tanh(…) and
    exp(…) of a number read as that unit's rounded output (0.742), the value the chain goes on with."""
    if decimals is None or not isinstance(numbers, sp.Basic):
        return numbers

    read = {}
    for e in numbers.atoms(sp.Function):
        if type(e).__name__ in THROUGH_OUTPUT and len(e.args) == 1 and e.args[0].is_number:
            o = half_up(e, decimals)
            read[e] = Weight(o) if o < 0 else o  # kept apart, as substituted() keeps a negative value: (−0.5)
    if not read:
        return numbers
    with sp.evaluate(False):
        return numbers.xreplace(read)


def rounder(decimals: int | None):
    """A function rounding a value (a T or a plain value) to `decimals` decimals; None for the exact chain."""
    if decimals is None:
        return None

    def rounded(value):
        return type(value)(half_up(value.x, decimals), value.shape) if hasattr(value, "shape") and hasattr(value, "x") \
            else half_up(value, decimals)
    return rounded


def differs(rounded, exact, decimals: int) -> bool:
    """Whether a step-rounded value and the exact one differ once the exact one is rounded to the same decimals."""
    if getattr(rounded, "free_symbols", None) or getattr(exact, "free_symbols", None):
        return False
    try:
        return sp.ImmutableMatrix(half_up(exact, decimals)) != sp.ImmutableMatrix(rounded) \
            if isinstance(exact, sp.MatrixBase) else half_up(exact, decimals) != rounded
    except (TypeError, ValueError):
        return False


def chosen(given, from_file: int | None) -> int | None:
    """The decimals a chain is rounded to: `given` (N, or "off" for the exact chain) over the file's setting."""
    if given is None:
        return from_file
    if given is False or (isinstance(given, str) and given.strip().lower() == "off"):
        return None
    try:
        n = int(given)
    except (TypeError, ValueError):
        raise UsageError(_WANTED + f", not {str(given)[:40]!r}", key="--round-each-step") from None
    if isinstance(given, bool) or str(n) != str(given).strip() and n != given or not 0 <= n <= MAX_DECIMALS:
        raise UsageError(_WANTED + f", not {str(given)[:40]!r}", key="--round-each-step")
    return n


class ByHand(Eval):
    """Values as a student working by hand computes them: σ′(z) is o(1 − o) with the unit's output o
    rounded as the forward pass wrote it (likewise tanh′ = 1 − o², exp′ = o)."""

    def __init__(self, unit_targets: bool, decimals: int):
        super().__init__(unit_targets)
        self.decimals = decimals

    def apply_prime(self, name: str, a: T, *params: T) -> T:
        """The derivative of an elementwise function at a, through its rounded output where a sheet does."""
        if name not in THROUGH_OUTPUT:
            return super().apply_prime(name, a, *params)
        o, slope = half_up(self.apply(name, a).x, self.decimals), THROUGH_OUTPUT[name]
        return T(o.applyfunc(slope) if isinstance(o, sp.MatrixBase) else slope(o), a.shape)
