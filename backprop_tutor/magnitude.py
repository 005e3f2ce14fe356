"""How large a number is, cheaply, and the sizes past which the engine refuses to compute one.

The estimates read a number's binary exponent or the bit lengths of its fraction, so checking a
value costs nothing next to computing it; a power or an exponential is checked before it is
computed, since computing it first is what would exhaust time or memory. Each check returns
what is wrong, in words, or None.
"""
from __future__ import annotations

import math

import sympy as sp

MAX_BITS = 2 ** 20            # |log2 |x|| of a value carried as a decimal number: about 10^±315,652
MAX_EXACT_BITS = 10_000       # numerator or denominator of an exact fraction: about 3,000 digits
MAX_EXP_ARGUMENT = 700_000    # |z| in e^z (σ, softplus, cosh, sinh, softmax too): e^700000 ≈ 10^304,006

_LOG10_2 = math.log10(2)


def beyond_limits(x) -> str | None:
    """Why an exact or decimal number is too large (or too small) to carry, or None."""
    if isinstance(x, sp.Rational):
        bits = exact_bits(x)
        if bits > MAX_EXACT_BITS:
            return (f"value too large: an exact number of {_digits(bits)} digits "
                    f"(at most {_digits(MAX_EXACT_BITS)} are carried)")
        return None
    size = log2_abs(x)
    if abs(size) > MAX_BITS:
        return (f"value too {'large' if size > 0 else 'small'}: about {decimal_exponent(size)}, "
                f"beyond the {decimal_exponent(math.copysign(MAX_BITS, size))} carried")
    return None


def power_beyond_limits(base, exponent) -> str | None:
    """Why base ** exponent (two numbers) would be too large to compute, or None."""
    exact = isinstance(base, sp.Rational) and isinstance(exponent, sp.Rational)
    bits = _power_bits(base, exponent)
    if bits <= (MAX_EXACT_BITS if exact else MAX_BITS):
        return None
    size = (f"an exact number of about {_digits(bits)} digits" if exact
            else f"about {decimal_exponent(bits if abs(base) > 1 else -bits)}")
    return f"value too large: {short(base)} ** {short(exponent)} is {size}"


def exponential_beyond_limits(name: str, x) -> str | None:
    """Why e^x, inside the function `name`, would be out of range, or None."""
    if x == 0 or log2_abs(x) <= _EXP_BITS or abs(x) <= MAX_EXP_ARGUMENT:
        return None
    return (f"value too large: {name}({short(x)}); the argument of exp, sigmoid, softplus, cosh, sinh, silu, elu "
            f"and gelu (and of tanh where it is differentiated) must lie within ±{MAX_EXP_ARGUMENT:,}")


_EXP_BITS = MAX_EXP_ARGUMENT.bit_length() - 1  # a cheap first test before comparing exactly


def scores_beyond_limits(scores: list) -> str | None:
    """Why a softmax of these scores would be out of range (e^(difference)), or None."""
    top, bottom = max(scores), min(scores)
    if top - bottom <= MAX_EXP_ARGUMENT:
        return None
    return (f"value too large: softmax of scores {short(bottom)} and {short(top)}; "
            f"scores may lie at most {MAX_EXP_ARGUMENT:,} apart")


def log2_abs(x) -> float:
    """log2 |x| to within a bit or so, for a nonzero number (exact, decimal or a closed form)."""
    if isinstance(x, sp.Rational):
        return _int_log2(abs(int(x.p))) - _int_log2(int(x.q))
    mpf = getattr(x, "_mpf_", None)
    if mpf is None:
        mpf = x.evalf(15)._mpf_
    _, mantissa, exponent, bits = mpf
    return exponent + bits if mantissa else -math.inf


def exact_bits(x: sp.Rational) -> int:
    """The longer of an exact fraction's numerator and denominator, in bits."""
    return max(abs(int(x.p)).bit_length(), int(x.q).bit_length())


def decimal_exponent(log2: float) -> str:
    """A size in bits as the power of ten a reader knows it by: 10^304,006."""
    if math.isinf(log2):
        return "infinity"
    return f"10^{round(log2 * _LOG10_2):,}"


def short(x) -> str:
    """A number short enough for a message."""
    if isinstance(x, sp.Integer) and abs(x) < 10 ** 12 or isinstance(x, sp.Rational) and exact_bits(x) < 40:
        return str(x)
    return str(x.evalf(4))


def _power_bits(base, exponent) -> float:
    """About how many bits base ** exponent takes: |exponent| · log2 |base|."""
    if base == 0 or exponent == 0:
        return 0.0
    if isinstance(base, sp.Rational) and isinstance(exponent, sp.Rational):
        # computed exactly, numerator and denominator alike (10 ** 3000: 9966 bits)
        return 0.0 if abs(base) == 1 else _size(exponent) * max(_int_log2(abs(int(base.p))),
                                                                  _int_log2(int(base.q)))
    return _size(exponent) * abs(log2_abs(base))


def _int_log2(n: int) -> float:
    bits = n.bit_length()
    if bits <= 1000:
        return math.log2(n)
    return bits - 1000 + math.log2(n >> (bits - 1000))


def _size(x) -> float:
    try:
        return abs(float(x))
    except OverflowError:
        return math.inf


def _digits(bits: float) -> str:
    return f"{round(bits * _LOG10_2):,}"
