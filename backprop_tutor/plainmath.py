"""Sums and products of SymPy numbers worked in Python's Fraction and mpmath's raw binary floats,
each result the very SymPy number SymPy's own operation gives (value, type and precision).

A SymPy number is an object whose every operation builds another; a layer of a wide network is
thousands of them. Here a matrix of numbers is read once into plain values, multiplied and summed
without building objects, and written back once: an exact fraction stays a Fraction, a decimal
number is its mpmath value with the precision SymPy would carry, rounded to nearest at each
operation in the same order, and an exact zero after rounding is the integer 0, as in SymPy.
"""
from __future__ import annotations

import functools
from fractions import Fraction

import sympy as sp
from sympy import EXRAW, QQ, ZZ
from sympy.polys.matrices import DomainMatrix
from mpmath.libmp import from_int, from_rational, fzero, mpf_add, mpf_mul, round_nearest

from .magnitude import MAX_BITS, MAX_EXACT_BITS

NUMBERS = (sp.Rational, sp.Float)  # the values the engine computes: an exact fraction or a decimal number
ZERO = Fraction(0)
MINUS_ONE = Fraction(-1)


def plain(x):
    """A SymPy number as a Fraction, or as (mpmath value, precision in bits) for a decimal number."""
    if x.is_Float:
        return (x._mpf_, x._prec)
    return Fraction(int(x.p), int(x.q))


def sympy_number(v):
    """A plain value back as the SymPy number it stands for."""
    if type(v) is Fraction:
        return sp.Integer(v.numerator) if v.denominator == 1 else sp.Rational(v.numerator, v.denominator)
    return sp.Float._new(v[0], v[1])


@functools.lru_cache(maxsize=256)  # a learning rate or a mean's 1/n meets every entry of a matrix
def _binary(a: Fraction, prec: int):
    return from_int(a.numerator, prec, round_nearest) if a.denominator == 1 else \
        from_rational(a.numerator, a.denominator, prec, round_nearest)


def _float_op(op, a, b):
    """op (mpf_add or mpf_mul) with at least one decimal operand, as SymPy's Float does it."""
    if type(a) is Fraction:  # (not isinstance: Fraction is an abstract number class, slow to ask)
        a, b = b, a
    if type(b) is Fraction:
        prec = a[1]
        value = op(a[0], _binary(b, prec), prec, round_nearest)
    else:
        prec = max(a[1], b[1])
        value = op(a[0], b[0], prec, round_nearest)
    return ZERO if value == fzero else (value, prec)


def mul(a, b):
    """a·b of two plain values."""
    if type(a) is Fraction and type(b) is Fraction:
        return a * b
    return _float_op(mpf_mul, a, b)


def add(a, b):
    """a + b of two plain values."""
    if type(a) is Fraction and type(b) is Fraction:
        return a + b
    return _float_op(mpf_add, a, b)


def sub(a, b):
    """a − b of two plain values, as SymPy's a + (−1)·b: an exact zero −b is the integer 0."""
    if type(a) is Fraction and type(b) is Fraction:
        return a - b
    return add(a, -b if type(b) is Fraction else _float_op(mpf_mul, MINUS_ONE, b))


def is_zero(v) -> bool:
    """Whether a plain value is zero (a product with it is left out of a matrix product's sum)."""
    return not v if type(v) is Fraction else v[0] == fzero


def is_numbers(*matrices) -> bool:
    """Whether every entry of the matrices is a number (not a formula)."""
    return all(_known(m) is not None or _exact(m) or all(v.is_Rational or v.is_Float for v in m.flat())
               for m in matrices)


_PLAIN = "plain_entries"  # a matrix built here keeps its entries' plain values: the next operation reads them


def _known(m):
    """The plain values a matrix built here keeps, or None."""
    return getattr(m, "__dict__", {}).get(_PLAIN)


def _exact(m) -> bool:
    """Whether SymPy stores the matrix as exact numbers (its domain ZZ or QQ: entries plain integers or
    rationals, which it turns into SymPy numbers again each time the matrix is read whole)."""
    rep = getattr(m, "_rep", None)  # (SymPy's own store of a matrix's entries)
    return rep is not None and (rep.domain.is_ZZ or rep.domain.is_QQ)


def entries(m: sp.MatrixBase) -> list:
    """The plain values of a matrix of numbers, row by row."""
    known = _known(m)
    if known is not None:
        return known
    if _exact(m):
        return [Fraction(int(v.numerator), int(v.denominator)) for v in m._rep.to_list_flat()]
    return [plain(v) for v in m.flat()]


def matrix(rows: int, cols: int, values: list, check=None) -> sp.ImmutableMatrix:
    """Plain values as a matrix of SymPy numbers, the plain values kept with it; with check, each first
    passed through checked(). Exact values go straight into SymPy's own store (ZZ or QQ), without the
    round of conversions SymPy makes from a list."""
    if check is not None:
        checked(values, check)
    if all(type(v) is Fraction for v in values):
        m = _stored(rows, cols, values, ZZ if all(v.denominator == 1 for v in values) else QQ)
    else:
        m = _stored(rows, cols, values, EXRAW)
    m.__dict__[_PLAIN] = values
    return m


def checked(values: list, check) -> list:
    """The values, each passed through check (which may raise) unless it is plainly within the limits of
    magnitude.py."""
    for v in values:
        if not _plainly_in_range(v):
            check(sympy_number(v))
    return values


class Plain:
    """A matrix of numbers as plain values, row by row; its SymPy matrix made when first asked for, so a
    value only passed on to the next operation never becomes SymPy numbers."""

    __slots__ = ("rows", "cols", "values", "_matrix")

    def __init__(self, rows: int, cols: int, values: list, made: sp.ImmutableMatrix | None = None):
        self.rows, self.cols, self.values, self._matrix = rows, cols, values, made

    def matrix(self) -> sp.ImmutableMatrix:
        """The values as SymPy's matrix (made once)."""
        if self._matrix is None:
            self._matrix = matrix(self.rows, self.cols, self.values)
        return self._matrix

    def transposed(self) -> Plain:
        """The transpose, its values read column by column."""
        rows, cols, values = self.rows, self.cols, self.values
        return Plain(cols, rows, [values[i * cols + j] for j in range(cols) for i in range(rows)])


def _plainly_in_range(v) -> bool:
    """Whether a plain value is surely within the limits (a nonzero finite decimal number well inside
    them, or an exact fraction short enough); check() decides the others."""
    if type(v) is Fraction:
        return max(abs(v.numerator).bit_length(), v.denominator.bit_length()) <= MAX_EXACT_BITS
    _, mantissa, exponent, bits = v[0]
    return bool(mantissa) and abs(exponent + bits) < MAX_BITS


def _stored(rows: int, cols: int, values: list, domain) -> sp.ImmutableMatrix:
    """The matrix SymPy builds from these numbers: in ZZ if every one is an integer, QQ if every one is
    exact, else of SymPy numbers (EXRAW); zeros left out, as SymPy leaves them out."""
    stored: dict = {}
    for n, v in enumerate(values):
        if not is_zero(v):
            i, j = divmod(n, cols)
            if domain is EXRAW:
                element = sympy_number(v)
            else:
                element = domain(v.numerator) if domain is ZZ else domain(v.numerator, v.denominator)
            stored.setdefault(i, {})[j] = element
    return DomainMatrix(stored, (rows, cols), domain).to_Matrix().as_immutable()


def matmul_entries(a: sp.MatrixBase, b: sp.MatrixBase) -> list:
    """The entries of a·b as plain values, row by row, for two matrices of numbers."""
    return product(a.rows, a.cols, b.cols, entries(a), entries(b))


def product(rows: int, inner: int, columns: int, flat_a: list, flat_b: list) -> list:
    """The entries of a·b (a rows × inner, b inner × columns, both plain values row by row), row by row:
    entry for entry what SymPy's product gives (each the sum, in order, of the products of nonzero
    entries; the integer 0 where no product or a zero sum is left)."""
    left = [[(k, u) for k, u in enumerate(flat_a[i * inner:(i + 1) * inner]) if not is_zero(u)] for i in range(rows)]
    right = [[(j, v) for j, v in enumerate(flat_b[k * columns:(k + 1) * columns]) if not is_zero(v)]
             for k in range(inner)]  # each row's nonzero entries, found once
    out = []
    for i in range(rows):
        terms: list[list] = [[] for _ in range(columns)]
        for k, u in left[i]:
            for j, v in right[k]:
                terms[j].append(mul(u, v))
        for column in terms:
            out.append(functools.reduce(add, column, ZERO))
    return out


def entrywise(op, a: list, b: list) -> list:
    """op (add, sub or mul) of two equally long lists of plain values, entry by entry."""
    return [op(u, v) for u, v in zip(a, b)]
