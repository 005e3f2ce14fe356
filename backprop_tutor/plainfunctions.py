"""σ, tanh, exp and softplus of decimal numbers, and their slopes, worked in mpmath without SymPy
objects: each result the very Float (value and precision) SymPy gives for the same formula.

SymPy evaluates f(x) of a decimal x as soon as it is built, at the digits x carries, through a chain of
roundings: ops._evaluated for the functions of ops.py, Function._eval_evalf for its own tanh and cosh,
evalf_pow for exp. Each is retraced here step by step, so a wide layer costs one mpmath call per unit
instead of a SymPy expression and its evaluation. tests/test_speed.py compares both on random values.
"""
from __future__ import annotations

import mpmath
from mpmath.libmp import from_int, mpf_div, mpf_exp, mpf_mul, mpf_neg, mpf_pow_int, round_nearest
from sympy.core.evalf import dps_to_prec, prec_to_dps
from sympy.core.numbers import mpf_norm

from .ops import sigmoid_mp, softplus_mp

ONE = from_int(1)


def _digits(prec: int) -> int:
    """The bits of a result SymPy evaluates at the digits of an argument carrying prec bits."""
    return dps_to_prec(prec_to_dps(prec))


def _ours(f, x, prec: int):
    """A function of ops.py at prec bits, as SymPy's evalf reaches it: ops._evaluated at prec + 4 bits
    (the argument read at 5 digits more, f worked at 20 bits more), then rounded to prec."""
    wide = prec + 4
    argument = mpf_norm(x, dps_to_prec(prec_to_dps(wide) + 5))
    with mpmath.workprec(wide + 20):
        y = f(mpmath.mpf(argument))._mpf_
    return mpf_norm(mpf_norm(y, wide), prec)


def _sympys(name: str, x, prec: int):
    """One of SymPy's own functions (tanh, cosh) at prec bits, as Function._eval_evalf reaches it:
    the argument at 5 bits more, mpmath at prec + 4 bits, then rounded to prec."""
    wide = prec + 4
    with mpmath.workprec(wide):
        y = getattr(mpmath, name)(mpmath.mpf(mpf_norm(x, wide + 5)))._mpf_
    return mpf_norm(mpf_norm(y, wide), prec)


def _sigmoid(x, prec):
    return _ours(sigmoid_mp, x, prec)


def _sigmoid_slope(x, prec):  # σ(x)·σ(−x), the form of ops.py that keeps its digits
    return mpf_mul(_sigmoid(x, prec), _sigmoid(mpf_neg(x), prec), prec, round_nearest)


def _tanh(x, prec):
    return _sympys("tanh", x, prec)


def _tanh_slope(x, prec):  # 1/cosh²(x), each operation rounded to nearest as SymPy's Float rounds it
    return mpf_div(ONE, mpf_pow_int(_sympys("cosh", x, prec), 2, prec, round_nearest), prec, round_nearest)


def _exp(x, prec):  # evalf_pow: e^x at prec + 4 bits, rounded down (mpmath's fast rounding), then to prec
    return mpf_norm(mpf_exp(x, prec + 4), prec)


def _softplus(x, prec):
    return _ours(softplus_mp, x, prec)


FORWARD = {"sigmoid": _sigmoid, "tanh": _tanh, "exp": _exp, "softplus": _softplus}
SLOPE = {"sigmoid": _sigmoid_slope, "tanh": _tanh_slope, "exp": _exp, "softplus": _sigmoid}


def covers(name: str, derivative: bool) -> bool:
    """Whether f (or its slope) of a decimal number is worked here."""
    return name in (SLOPE if derivative else FORWARD)


def widened(y, digits: int) -> tuple:
    """A result carried at more digits, as SymPy's evalf(digits) of a Float carries it: the same value."""
    prec = dps_to_prec(digits)
    return mpf_norm(y, prec), prec


def value(name: str, derivative: bool, x: tuple) -> tuple:
    """f(x) or f′(x) of a decimal number x = (mpmath value, precision in bits), as (value, precision)."""
    mpf, prec = x
    prec = _digits(prec)
    return (SLOPE if derivative else FORWARD)[name](mpf, prec), prec
