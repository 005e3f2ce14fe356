"""Two readings of the same tensor operations: Eval computes exact values, Show builds the formula.

A rule written once against these operations yields the formula (Show over symbols), the numbers
substituted (Show over values) and the value (Eval), so the three can never disagree. Where the
textbook's form of a value loses its digits (log(1 − σ(z)) for a large z, 1 − tanh²(z)), Eval
computes the same quantity in a form that does not (stable.py); the formula shown stays the
textbook's.
"""
from __future__ import annotations

import functools
import math
import re

import mpmath
from msgspec import Struct
import sympy as sp
from sympy import (HadamardPower, HadamardProduct, ImmutableMatrix, MatAdd, MatMul, MatrixExpr,
                   OneMatrix, Transpose)

from . import plainfunctions, plainmath, stable
from .limits import Limits
from .plainmath import NUMBERS
from .magnitude import (beyond_limits, exact_bits, exponential_beyond_limits, power_beyond_limits,
                        scores_beyond_limits)
from .ops import ELEMENTWISE, LOSSES, step

PRECISION = 40  # significant digits carried for values that are not rational
WORKING = PRECISION + 20  # digits the cancellation-free losses are computed with
EXPONENTIAL = frozenset({"exp", "sigmoid", "softplus", "cosh", "sinh", "silu", "elu", "gelu"})  # through e^z
SATURATING = {"sigmoid": 1, "tanh": 2}  # f(z) is e^(−k|z|) from where it saturates, for these k
MAX_EXTRA_DIGITS = 2000  # past |z| ≈ 4600 a saturated value is carried at PRECISION digits, as it comes
EXPONENTIAL_SLOPES = frozenset({"tanh"})  # tanh′ = 1/cosh² is computed through e^z too


ELEMENT = re.compile(r"^(.+)\[(\d+(?:,\d+)?)\]$")  # one element's symbol: name[i] or name[i,j]


class ShapeError(ValueError):
    """An operation that cannot be carried out on its operands (shapes that do not fit, a value
    that is not real); the caller names the file, line and key."""


class RangeError(ShapeError):
    """A value too large (or too small, or too long an exact fraction) to be computed in time."""


_UNMADE = object()  # a T's x not yet made from its plain values


class T:
    """A value or formula with its shape: () scalar, (n,) vector, (m, n) matrix. A matrix of numbers that
    Eval computes may be held as its plain values (plainmath.Plain), x made from them when first read."""

    __slots__ = ("_x", "shape", "plain")

    def __init__(self, x, shape: tuple, plain: plainmath.Plain | None = None):
        """x, or with plain values given, x as None: made from them when first read."""
        object.__setattr__(self, "_x", _UNMADE if plain is not None and x is None else x)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "plain", plain)

    @property
    def x(self):
        """The value or formula: a SymPy expression, or a SymPy matrix for a vector or a matrix (None where
        there is none: a gradient not checked, say)."""
        if self._x is _UNMADE:
            object.__setattr__(self, "_x", self.plain.matrix())
        return self._x

    def __setattr__(self, name, value):
        raise AttributeError(f"a {type(self).__name__} cannot be changed")

    def __eq__(self, other):
        return type(other) is T and self.shape == other.shape and self.x == other.x

    def __hash__(self):
        return hash((self.x, self.shape))

    def __repr__(self):
        return f"T(x={self.x!r}, shape={self.shape!r})"


class Window(Struct, frozen=True):
    """A block of a stored value (vectors are columns): its 0-based rows and columns, the shape it has
    read on its own, whether it is a row read as a vector (stored across), and its index as written."""

    rows: range
    cols: range
    shape: tuple
    across: bool
    label: str


def describe(shape: tuple) -> str:
    """A shape in words, for error messages."""
    if shape == ():
        return "a scalar"
    if len(shape) == 1:
        return f"a vector of length {shape[0]}"
    return f"a {shape[0]}×{shape[1]} matrix"


def matrix_dims(shape: tuple) -> tuple[int, int]:
    """How a shape is stored as a sympy matrix: vectors are columns."""
    return (shape[0], 1) if len(shape) == 1 else shape


class _NamedCall:
    """A function shown by name and kept unevaluated: its first argument is the name as a Symbol."""

    def __new__(cls, name, *args):
        return super().__new__(cls, sp.Symbol(name) if isinstance(name, str) else name, *args)

    @property
    def name(self):
        return self.args[0].name

    @property
    def operands(self):
        """What the printers write between the brackets."""
        return self.args[1:]

    def _sympystr(self, printer):
        return f"{self.name}({', '.join(printer._print(a) for a in self.operands)})"


class MatFunc(_NamedCall, MatrixExpr):
    """A named function applied elementwise to matrices, kept unevaluated for display."""

    @property
    def shape(self):
        return self.args[1].shape


class ShapedFunc(MatFunc):
    """A named function of whole tensors with a shape of its own (a convolution), for display:
    its arguments are the name, the rows and columns of its result, then its operands."""

    @property
    def shape(self):
        return self.args[1], self.args[2]

    @property
    def operands(self):
        return self.args[3:]


class Keyword(sp.Expr):
    """name = N among the operands of a ShapedFunc (stride = 2), for display."""

    def __new__(cls, name, value):
        return sp.Expr.__new__(cls, sp.Symbol(name), sp.Integer(value))

    @property
    def name(self):
        return self.args[0].name

    @property
    def value(self):
        return int(self.args[1])

    def _sympystr(self, printer):
        return f"{self.name}={self.value}"


class ScalarFunc(_NamedCall, sp.Expr):
    """A named function of matrices whose result is a scalar (sum, a loss), for display."""

    is_commutative = True


class Weight(sp.UnevaluatedExpr):
    """A number kept apart in a formula, (−1)·x rather than −x, that SymPy can still evaluate
    and ask the sign of (a bare UnevaluatedExpr inside σ(…) or log(…) makes it fail or loop)."""

    def _eval_evalf(self, prec):
        return self.args[0]._eval_evalf(prec)

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_extended_positive(self):
        return self.args[0].is_extended_positive

    def _eval_is_extended_negative(self):
        return self.args[0].is_extended_negative

    def _eval_is_zero(self):
        return self.args[0].is_zero

    def _eval_is_integer(self):
        return self.args[0].is_integer


class Partial(sp.Expr):
    """∂of/∂wrt as a factor of a chain, kept in the order written (non-commutative)."""

    is_commutative = False

    def __new__(cls, of, wrt):
        return sp.Expr.__new__(cls, of, wrt)

    @property
    def of(self):
        return self.args[0]

    @property
    def wrt(self):
        return self.args[1]


def _broadcast(a: tuple, b: tuple, op: str) -> tuple:
    if a == b or b == ():
        return a
    if a == ():
        return b
    if {a, b} <= {(1,), ()} or (a == (1,) and b == ()) or (b == (1,) and a == ()):
        return (1,)
    raise ShapeError(f"cannot combine {describe(a)} and {describe(b)} with {op}")


class Algebra:
    """Shape rules shared by both readings; subclasses say what an operation produces.

    With unit_targets, the targets of a softmax cross-entropy are known to sum to 1, and its
    slope is written p − t, as sheets write it, instead of p·Σt − t.
    """

    def __init__(self, unit_targets: bool = False, limits: Limits | None = None):
        self.unit_targets = unit_targets
        self.limits = limits  # when given, a joined value is held to its matrix limits

    def const(self, v) -> T:
        return T(sp.sympify(v), ())

    def add(self, a: T, b: T) -> T:
        shape = _broadcast(a.shape, b.shape, "+")
        return T(self._add(self.lift(a, shape).x, self.lift(b, shape).x, shape), shape)

    def sub(self, a: T, b: T) -> T:
        return self.add(a, self.neg(b))

    def neg(self, a: T) -> T:
        return T(self._negate(a.x, a.shape), a.shape)

    def mul(self, a: T, b: T) -> T:
        """Scalar times anything, or the elementwise product of equal shapes."""
        if a.shape == () and a.x == 1:
            return b
        if a.shape == ():
            return T(self._scale(a.x, b.x, b.shape), b.shape)
        if b.shape == ():
            return T(self._scale(b.x, a.x, a.shape), a.shape)
        shape = _broadcast(a.shape, b.shape, "*")
        return T(self._hadamard(a.x, b.x, shape), shape)

    def div(self, a: T, b: T) -> T:
        if b.shape == () and a.shape != ():  # a matrix over a number: (1/b)·a, as a sheet writes Q Kᵀ/√d
            return self.mul(self.reciprocal(b), a)
        shape = _broadcast(a.shape, b.shape, "/")
        return T(self._div(self.lift(a, shape).x, self.lift(b, shape).x, shape), shape)

    def reciprocal(self, b: T) -> T:
        """1/b of a number."""
        return self.div(self.const(1), b)

    def pow(self, a: T, k: T) -> T:
        """a ** k entry by entry: equal shapes, or a scalar on either side spread over the other."""
        if k.shape == ():
            return T(self._pow(a.x, k.x, a.shape), a.shape)
        shape = _broadcast(a.shape, k.shape, "**")
        return T(self._hpow(self.lift(a, shape).x, self.lift(k, shape).x, shape), shape)

    def power_slope(self, a: T, k: T) -> T:
        """∂(a ** k)/∂a = k·a^(k − 1), entry by entry."""
        return self.mul(k, self.pow(a, self.sub(k, self.const(1))))

    def ratio(self, c: T, x: T) -> T:
        """c / x entry by entry, as it appears in the slope of c·log x (so 0 where c is 0)."""
        return self.div(c, x)

    # The cross-entropies of a sigmoid and of a softmax, as the textbook writes them; Eval
    # computes the same quantities without cancellation.
    def sigmoid_bce(self, z: T, t: T) -> T:
        """bce(σ(z), t)."""
        return self.loss("bce", self.apply("sigmoid", z), t)

    def sigmoid_bce_slope(self, z: T, t: T) -> T:
        """∂bce(σ(z), t)/∂z = σ(z) − t."""
        return self.sub(self.apply("sigmoid", z), t)

    def softmax_cross_entropy(self, s: T, t: T) -> T:
        """cross_entropy(softmax(s), t)."""
        return self.loss("cross_entropy", self.softmax(s), t)

    def softmax_cross_entropy_slope(self, s: T, t: T) -> T:
        """∂cross_entropy(softmax(s), t)/∂s = softmax(s)·Σt − t, or p − t for targets summing to 1."""
        if self.unit_targets:
            return self.sub(self.softmax(s), t)
        return self.sub(self.mul(self.total(t), self.softmax(s)), t)

    def neg_log_softmax(self, s: T) -> T:
        """−log softmax(s), the slope of cross_entropy(softmax(s), t) in t."""
        return self.neg(self.apply("log", self.softmax(s)))

    def matmul(self, a: T, b: T) -> T:
        sa, sb = a.shape, b.shape
        if sa == () or sb == ():
            raise ShapeError(f"@ needs vectors or matrices, not {describe(sa if sa == () else sb)}; use * for a scalar")
        inner_a = sa[-1] if len(sa) == 2 else sa[0]
        inner_b = sb[0]
        if inner_a != inner_b:
            raise ShapeError(f"cannot multiply {describe(sa)} @ {describe(sb)}: inner sizes {inner_a} and {inner_b} differ")
        if len(sa) == 1 and len(sb) == 1:
            return T(self._dot(a.x, b.x), ())
        if len(sa) == 1:  # x @ W: the row vector xᵀ times W, kept as the column Wᵀ x
            return T(self._matmul(self._transpose(b.x), a.x), (sb[1],))
        shape = (sa[0],) if len(sb) == 1 else (sa[0], sb[1])
        return T(self._matmul(a.x, b.x), shape)

    def outer(self, a: T, b: T) -> T:
        """a bᵀ for two vectors."""
        return T(self._matmul(a.x, self._transpose(b.x)), (a.shape[0], b.shape[0]))

    def transpose(self, a: T) -> T:
        if len(a.shape) < 2:
            return a
        return T(self._transpose(a.x), (a.shape[1], a.shape[0]))

    def apply(self, name: str, a: T, *params: T) -> T:
        """f(a) entry by entry; params are the function's constant arguments (the a of leaky_relu)."""
        return T(self._apply(name, a.x, a.shape, False, tuple(p.x for p in params)), a.shape)

    def apply_prime(self, name: str, a: T, *params: T) -> T:
        return T(self._apply(name, a.x, a.shape, True, tuple(p.x for p in params)), a.shape)

    def pairwise(self, name: str, a: T, b: T) -> T:
        """max(a, b) or min(a, b) entry by entry, a scalar spread over the other operand."""
        shape = _broadcast(a.shape, b.shape, name)
        return T(self._pairwise(name, self.lift(a, shape).x, self.lift(b, shape).x, shape), shape)

    def whole(self, name: str, a: T, shape: tuple) -> T:
        """A function of all of a's entries (max, var, logsumexp, …; log_softmax row by row) of the given shape."""
        return T(self._whole(name, a, shape), shape)

    def first_extreme(self, name: str, a: T) -> T:
        """1 at the first largest (max) or smallest (min) entry of a in reading order, 0 elsewhere."""
        return T(self._first_extreme(name, a), a.shape)

    def probabilities(self, s: T) -> T:
        """softmax(s) as a backward rule uses it; Show writes its numbers where s is numbers."""
        return self.softmax(s)

    def row_totals(self, m: T) -> T:
        """The sums of a matrix's rows, m𝟙."""
        return self.matmul(m, self.ones(m.shape[1]))

    def ones(self, n: int) -> T:
        """The vector of n ones, 𝟙."""
        return self.lift(self.const(1), (n,))

    def total(self, a: T) -> T:
        return a if a.shape == () else T(self._total(a.x), ())

    def take(self, a: T, w: Window) -> T:
        """The block of a that a window reads (x[2], x[1:3], W[2, :])."""
        return T(self._take(a.x, w), w.shape)

    def place(self, d: T, w: Window, shape: tuple) -> T:
        """A value of `shape` that is d in the window's slots and 0 elsewhere (the backward pass of take)."""
        return T(self._place(d.x, w, shape), shape)

    def join(self, parts: list, windows: list, shape: tuple) -> T:
        """The value of `shape` whose windows hold the parts (concat, stack)."""
        if self.limits is not None:
            _within(self.limits, shape)
        return T(self._join([p.x for p in parts], windows, shape), shape)

    def _take(self, x, w: Window):
        block = x[w.rows.start:w.rows.stop, w.cols.start:w.cols.stop]
        if w.shape == ():
            return block[0, 0]
        return block.T if w.across else block

    def _place(self, d, w: Window, shape: tuple):
        return self._join([d], [w], shape)

    def _join(self, xs: list, windows: list, shape: tuple):
        r, c = matrix_dims(shape)
        cells = [[sp.Integer(0)] * c for _ in range(r)]
        for x, w in zip(xs, windows):
            block = _entries(x, w)
            for i, row in zip(w.rows, block):
                for j, v in zip(w.cols, row):
                    cells[i][j] = v
        return ImmutableMatrix(cells)

    def tensor(self, name: str, shape: tuple, operands: list, entries, keywords: tuple = ()) -> T:
        """A function of whole tensors (a convolution, a pooling): its entries, row by row, are
        `entries` of the operands' element lists; `keywords` ((name, N) pairs) are shown after them."""
        raise NotImplementedError

    def lift(self, a: T, shape: tuple) -> T:
        """A scalar spread over a shape (broadcasting)."""
        if a.shape == shape or shape == ():
            return a
        if a.shape == () :
            return T(self._fill(a.x, shape), shape)
        return T(a.x, shape)  # (1,) and () only differ in name


class Eval(Algebra):
    """Computes values: exact where rational, otherwise numbers of PRECISION digits.

    Every value is checked against the limits of magnitude.py, and a power or an exponential
    before it is computed, so a runaway value stops with a RangeError instead of a hang.
    """

    def finish(self, e):
        if isinstance(e, NUMBERS):
            return in_range(e)
        e = sp.sympify(e)
        if e.is_Rational or e.is_Float:
            return in_range(e)
        if e.free_symbols or not e.is_number:
            return e
        v = e.evalf(PRECISION)
        if not v.is_real:
            raise ShapeError(f"the value {_brief(e)} is not a real number")
        return in_range(sp.Float(v, PRECISION))

    def each(self, m, f):
        return ImmutableMatrix(m.shape[0], m.shape[1], [self.finish(f(v)) for v in m])

    def zip(self, a, b, f):
        return ImmutableMatrix(a.shape[0], a.shape[1], [self.finish(f(u, v)) for u, v in zip(a, b)])

    def _fill(self, x, shape):
        r, c = matrix_dims(shape)
        return ImmutableMatrix(r, c, [x] * (r * c))

    def _add(self, a, b, shape):
        if shape == ():
            return self.finish(a + b)
        return self.zip(a, b, lambda u, v: u + v)

    # A matrix of numbers in, a matrix of numbers out: worked in plain values (plainmath.py), the result
    # held as plain values (T.plain) and made SymPy only when read.

    def add(self, a: T, b: T) -> T:
        shape = _broadcast(a.shape, b.shape, "+")
        a, b = self.lift(a, shape), self.lift(b, shape)
        pa, pb = _plain_pair(a, b)
        if pa is not None:
            return self._held(pa.rows, pa.cols, plainmath.entrywise(plainmath.add, pa.values, pb.values), shape)
        return super().add(a, b)

    def sub(self, a: T, b: T) -> T:
        shape = _broadcast(a.shape, b.shape, "-")
        a, b = self.lift(a, shape), self.lift(b, shape)
        pa, pb = _plain_pair(a, b)
        if pa is not None:  # a + (−1)·b in one pass
            return self._held(pa.rows, pa.cols, plainmath.entrywise(plainmath.sub, pa.values, pb.values), shape)
        return super().sub(a, b)

    def neg(self, a: T) -> T:
        return self.mul(T(sp.Integer(-1), ()), a)

    def mul(self, a: T, b: T) -> T:
        if a.shape == b.shape != ():
            pa, pb = _plain_pair(a, b)
            if pa is not None:
                return self._held(pa.rows, pa.cols, plainmath.entrywise(plainmath.mul, pa.values, pb.values), a.shape)
        scalar, m = (a, b) if a.shape == () and not a.x == 1 else (b, a) if b.shape == () else (None, None)
        if scalar is not None and m.shape != () and isinstance(scalar.x, NUMBERS):
            pm = _plain(m)
            if pm is not None:
                s = plainmath.plain(scalar.x)
                return self._held(pm.rows, pm.cols, [plainmath.mul(s, v) for v in pm.values], m.shape)
        return super().mul(a, b)

    def matmul(self, a: T, b: T) -> T:
        if len(a.shape) == 2 and len(b.shape) in (1, 2):
            pa, pb = _plain(a), _plain(b)
            if pa is not None and pb is not None and pa.cols == pb.rows:
                return self._held(pa.rows, pb.cols, plainmath.product(pa.rows, pa.cols, pb.cols, pa.values, pb.values),
                                  a.shape[:1] + b.shape[1:])
        return super().matmul(a, b)

    def outer(self, a: T, b: T) -> T:
        if len(a.shape) == len(b.shape) == 1:
            pa, pb = _plain(a), _plain(b)
            if pa is not None and pb is not None and pa.cols == pb.cols == 1:
                return self._held(pa.rows, pb.rows, plainmath.product(pa.rows, 1, pb.rows, pa.values, pb.values),
                                  (a.shape[0], b.shape[0]))
        return super().outer(a, b)

    def transpose(self, a: T) -> T:
        if len(a.shape) == 2 and a.plain is not None:
            return T(None, (a.shape[1], a.shape[0]), a.plain.transposed())
        return super().transpose(a)

    def _held(self, rows: int, cols: int, values: list, shape: tuple) -> T:
        """Plain values as a rows × cols value of the shape, each checked now as finish() checks it; its SymPy
        matrix made when read."""
        return T(None, shape, plainmath.Plain(rows, cols, plainmath.checked(values, in_range)))

    def _scale(self, s, a, shape):
        if shape == ():
            return self.finish(s * a)
        return self.each(a, lambda v: s * v)

    def _numbers(self, rows: int, cols: int, values: list):
        """Plain values computed by plainmath as a rows × cols matrix, each checked as finish() checks it."""
        return plainmath.matrix(rows, cols, values, in_range)

    def _hadamard(self, a, b, shape):
        return self.zip(a, b, lambda u, v: u * v)

    def _div(self, a, b, shape):
        if shape == ():
            if b == 0:
                raise ShapeError("division by zero")
            return self.finish(a / b)
        if any(v == 0 for v in b):
            raise ShapeError("division by zero")
        return self.zip(a, b, lambda u, v: u / v)

    def _pow(self, a, k, shape):
        return self._power(a, k) if shape == () else self.each(a, lambda v: self._power(v, k))

    def _hpow(self, a, k, shape):
        return self.zip(a, k, self._power)

    def _power(self, a, k):
        if _number(a) and _number(k):
            if isinstance(k, sp.Rational) and not k.is_Integer:
                a = _root_ready(a, k.q)
            _refuse(power_beyond_limits(a, k))
        return self.finish(a ** k)

    def power_slope(self, a: T, k: T) -> T:
        """k·a^(k − 1), taken as 0 where k is 0: a ** 0 is 1 everywhere, even at a = 0."""
        if not _numeric(a, k):
            return super().power_slope(a, k)
        shape = _broadcast(a.shape, k.shape, "**")
        bases, powers = _elements(self.lift(a, shape)), _elements(self.lift(k, shape))
        return _shaped([self.finish(0 if v == 0 else v * self._power(u, v - 1)) for u, v in zip(bases, powers)],
                       shape)

    def ratio(self, c: T, x: T) -> T:
        """c / x, and 0 where c is 0 (even where x is 0), for the convention 0·log 0 = 0."""
        if not _numeric(c, x):
            return super().ratio(c, x)
        shape = _broadcast(c.shape, x.shape, "/")
        cs, xs = _elements(self.lift(c, shape)), _elements(self.lift(x, shape))
        if any(v == 0 and u != 0 for u, v in zip(cs, xs)):
            raise ShapeError("division by zero")
        return _shaped([self.finish(0 if u == 0 else u / v) for u, v in zip(cs, xs)], shape)

    def _matmul(self, a, b):
        if plainmath.is_numbers(a, b):
            return self._numbers(a.rows, b.cols, plainmath.matmul_entries(a, b))
        return self.each(a * b, lambda v: v)

    def _dot(self, a, b):
        return self.finish(sum((u * v for u, v in zip(a, b)), sp.Integer(0)))

    def _transpose(self, a):
        return a.T

    def _apply(self, name, a, shape, derivative, params=()):
        op = ELEMENTWISE[name]
        f = lambda v: op.forward(v, *params)
        if derivative:  # a number by the form that keeps its digits; a formula as the textbook writes it
            f = lambda v: (op.slope if op.slope and _number(v) else op.derivative)(v, *params)
        if name in EXPONENTIAL or derivative and name in EXPONENTIAL_SLOPES:
            f = _guarded(name, f)
        elif name == "sqrt":
            f = _rooted(f)
        if not derivative and name in SATURATING:
            f = _kept_apart(name, f)
        if shape == ():
            return self.finish(f(a))
        if not params and plainfunctions.covers(name, derivative) and plainmath.is_numbers(a):
            return self._apply_plainly(name, a, derivative, f)
        return self.each(a, f)

    def _apply_plainly(self, name, a, derivative, f):
        """f of a matrix of numbers: a decimal entry worked by plainfunctions, with the same guard and the
        same extra digits as f; an exact entry through f itself (SymPy keeps σ(1/2) exact until evaluated)."""
        guarded = name in EXPONENTIAL or derivative and name in EXPONENTIAL_SLOPES
        apart = not derivative and name in SATURATING
        out = []
        for v, p in zip(a.flat(), plainmath.entries(a)):
            if type(p) is not tuple:  # an exact value (a Fraction)
                y = self.finish(f(v))
                if not isinstance(y, NUMBERS):  # kept in closed form (Closed): the matrix as SymPy builds it
                    return self.each(a, f)
                out.append(plainmath.plain(y))
                continue
            if guarded:
                _refuse(exponential_beyond_limits(name, v))
            y, prec = plainfunctions.value(name, derivative, p)
            extra = _extra_digits(name, float(v)) if apart else None
            out.append((y, prec) if extra is None else plainfunctions.widened(y, PRECISION + extra))
        return self._numbers(a.rows, a.cols, out)

    def _total(self, a):
        return self.finish(sum(a, sp.Integer(0)))

    def _pairwise(self, name, a, b, shape):
        f = sp.Max if name == "max" else sp.Min
        return self.finish(f(a, b)) if shape == () else self.zip(a, b, f)

    def _whole(self, name, a: T, shape):
        if name == "log_softmax":
            return _by_rows(a, lambda row: self._log_softmax(row)).x
        vs = _elements(a)
        n = len(vs)
        if name in ("max", "min"):
            if not _numeric(a):
                return self.finish((sp.Max if name == "max" else sp.Min)(*vs))
            return (max if name == "max" else min)(vs)
        if name == "var":
            mean = sum(vs, sp.Integer(0)) / n
            return self.finish(sum(((v - mean) ** 2 for v in vs), sp.Integer(0)) / n)
        if name == "norm":
            return self.finish(_rooted(sp.sqrt)(self.finish(sum((v ** 2 for v in vs), sp.Integer(0)))))
        if not _numeric(a):  # logsumexp
            return self.finish(sp.log(sum((sp.exp(v) for v in vs), sp.Integer(0))))
        return self._stably(lambda s: [stable.logsumexp(s)], (), _softmax_scores(a)).x

    def _log_softmax(self, a: T) -> T:
        if not _numeric(a):
            total = sp.log(sum((sp.exp(v) for v in a.x), sp.Integer(0)))
            return T(ImmutableMatrix([self.finish(v - total) for v in a.x]), a.shape)
        return self._stably(lambda s: [-v for v in stable.neg_log_softmax(s)], a.shape, _softmax_scores(a))

    def _first_extreme(self, name, a: T):
        vs = _elements(a)
        if not _numeric(a):  # v_i beats each earlier entry and no later one beats it: step() of differences
            sign = 1 if name == "max" else -1
            return _shaped([self.finish(sp.Mul(*[step(sign * (u - w)) for w in vs[:i]],
                                               *[1 - step(sign * (w - u)) for w in vs[i + 1:]]))
                            for i, u in enumerate(vs)], a.shape).x
        k = vs.index((max if name == "max" else min)(vs))
        return _shaped([sp.Integer(int(i == k)) for i in range(len(vs))], a.shape).x

    def tensor(self, name: str, shape: tuple, operands: list, entries, keywords: tuple = ()) -> T:
        if any(t.shape != () and not isinstance(t.x, sp.MatrixBase) for t in operands):
            raise ShapeError(f"{name} needs the values of its operands")
        return _shaped([self.finish(v) for v in entries(*(_elements(t) for t in operands))], shape)

    def loss(self, name: str, y: T, t: T, *params: T) -> T:
        rule = LOSSES[name]
        ys, ts, ps = _elements(y), _elements(t), [p.x for p in params]
        if name == "log_cosh" and _numeric(y, t):  # log cosh(1e−30) is log of 1 + 5e−61
            differences = [self.finish(u - v) for u, v in zip(ys, ts)]
            return self._stably(lambda d: [mpmath.fsum(map(stable.log_cosh, d))], (), differences)
        terms = (rule.term(u, v, *ps) for u, v in zip(ys, ts))
        return T(self.finish(rule.scale(len(ys)) * sum(terms, sp.Integer(0))), ())

    def softmax(self, a: T) -> T:
        if len(a.shape) == 2:
            return _by_rows(a, self.softmax)
        if not _numeric(a):
            return self._softmax_as_written(a)
        return self._stably(stable.softmax, a.shape, _softmax_scores(a))

    def _softmax_as_written(self, a: T) -> T:
        if len(a.shape) == 2:
            return _by_rows(a, self._softmax_as_written)
        exps = [sp.exp(v) for v in a.x]
        s = sum(exps, sp.Integer(0))
        return T(ImmutableMatrix([self.finish(e / s) for e in exps]), a.shape)

    def sigmoid_bce(self, z: T, t: T) -> T:
        if not _numeric(z, t):
            return super().sigmoid_bce(z, t)
        zs = _logits(z)
        return self._stably(lambda a, b: [mpmath.fsum(map(stable.bce_of_logit, a, b))], (), zs, _elements(t))

    def sigmoid_bce_slope(self, z: T, t: T) -> T:
        if not _numeric(z, t):
            return super().sigmoid_bce_slope(z, t)
        zs = _logits(z)
        return self._stably(lambda a, b: list(map(stable.bce_of_logit_slope, a, b)), z.shape, zs, _elements(t))

    def softmax_cross_entropy(self, s: T, t: T) -> T:
        if not _numeric(s, t):
            return super().softmax_cross_entropy(s, t)
        return self._stably(lambda a, b: [stable.softmax_cross_entropy(a, b)], (), _softmax_scores(s),
                            _elements(t))

    def softmax_cross_entropy_slope(self, s: T, t: T) -> T:
        if not _numeric(s, t):
            return super().softmax_cross_entropy_slope(s, t)
        return self._stably(stable.softmax_cross_entropy_slope, s.shape, _softmax_scores(s), _elements(t))

    def neg_log_softmax(self, s: T) -> T:
        if not _numeric(s):
            return super().neg_log_softmax(s)
        return self._stably(stable.neg_log_softmax, s.shape, _softmax_scores(s))

    def _stably(self, f, shape, *columns) -> T:
        """f of the columns' numbers at WORKING digits, back as numbers of PRECISION digits."""
        with mpmath.workdps(WORKING):
            out = f(*([mpmath.mpf(v.evalf(WORKING)) for v in column] for column in columns))
            values = [self.finish(sp.Float(v, PRECISION)) for v in out]
        return _shaped(values, shape)


class Closed(Eval):
    """Values in closed form (σ(6/5), e^(1/2)/3) while they stay short; past that, as Eval does."""

    LIMIT = 24  # operations in a closed form before it stops helping

    def finish(self, e):
        e = sp.sympify(e)
        if e.is_number and not e.is_Rational and not e.has(sp.Float) and sp.count_ops(e) <= self.LIMIT:
            if not e.evalf(PRECISION).is_real:
                raise ShapeError(f"the value {_brief(e)} is not a real number")
            return e
        return super().finish(e)

    # The closed form of a loss is the textbook's; where that is long or cannot be evaluated as
    # written (log of 1 − σ(800)), the cancellation-free number instead.
    def softmax(self, a: T) -> T:
        return self._closed_or(lambda: self._softmax_as_written(a), lambda: super(Closed, self).softmax(a))

    def sigmoid_bce(self, z: T, t: T) -> T:
        return self._closed_or(lambda: Algebra.sigmoid_bce(self, z, t), lambda: super(Closed, self).sigmoid_bce(z, t))

    def softmax_cross_entropy(self, s: T, t: T) -> T:
        return self._closed_or(lambda: Algebra.softmax_cross_entropy(self, s, t),
                               lambda: super(Closed, self).softmax_cross_entropy(s, t))

    def _closed_or(self, as_written, stably) -> T:
        try:
            value = as_written()
        except RangeError:
            raise
        except ShapeError:
            return stably()
        if any(isinstance(v, sp.Float) for v in _elements(value)):
            return stably()
        return value


def in_range(x):
    """x itself (an exact or a decimal number), if it is within the limits of magnitude.py."""
    if isinstance(x, sp.Float) and not x._mpf_[1] and x._mpf_[2]:  # mpmath's infinities and nan
        raise ShapeError(f"the value {x} is not a real number")
    if x:  # (a number's truth is whether it is nonzero, without SymPy's comparison machinery)
        _refuse(beyond_limits(x))
    return x


def _refuse(why: str | None):
    if why:
        raise RangeError(why)


def _kept_apart(name, f):
    """f of a number, with as many more digits as it takes to keep it apart from the value it saturates at.

    σ(800) is 1 − e^−800: at PRECISION digits it would be 1, and 1 − σ(z), log(1 − p) or p(1 − p)
    computed from it on a later line would be 0. The extra digits keep them right to PRECISION digits.
    """
    def apart(v):
        extra = _extra_digits(name, float(v)) if _number(v) else None
        return f(v) if extra is None else f(v).evalf(PRECISION + extra)
    return apart


def _extra_digits(name: str, v: float) -> int | None:
    """The digits σ(v) or tanh(v) needs beyond PRECISION to stay apart from its limit, or None for none."""
    extra = SATURATING[name] * abs(v) * math.log10(math.e) + 5
    return int(extra) if 10 < extra <= MAX_EXTRA_DIGITS else None


def _guarded(name, f):
    """f, refusing an argument whose exponential would be out of range, before computing it."""
    def checked(v):
        if _number(v):
            _refuse(exponential_beyond_limits(name, v))
        return f(v)
    return checked


def _root_ready(a, n: int):
    """a itself for an n-th root if that is exact or a is short; else a as a decimal number.

    SymPy looks for factors of a long integer that is not an exact power for seconds on end
    (√(7^3500 + 1)); the decimal root is what finish() would make of the result anyway.
    """
    if not isinstance(a, sp.Rational) or exact_bits(a) <= 256:
        return a
    if sp.integer_nthroot(abs(int(a.p)), n)[1] and sp.integer_nthroot(int(a.q), n)[1]:
        return a
    return sp.Float(a, PRECISION + 10)


def _rooted(f):
    """f of a square root, its argument made ready as _root_ready makes it."""
    return lambda v: f(_root_ready(v, 2))


def _logits(z: T) -> list:
    """The arguments of a sigmoid inside a loss, checked as _guarded checks them."""
    zs = _elements(z)
    for v in zs:
        _refuse(exponential_beyond_limits("sigmoid", v))
    return zs


def _softmax_scores(s: T) -> list:
    """The scores of a softmax, refused when two lie so far apart that e^(difference) is out of range."""
    ss = _elements(s)
    _refuse(scores_beyond_limits(ss))
    return ss


def _number(x) -> bool:
    return isinstance(x, sp.Basic) and x.is_number and not x.free_symbols


def _numeric(*values: T) -> bool:
    return all(_number(v) for t in values for v in _elements(t))


def _by_rows(a: T, f) -> T:
    """f of each row of a matrix (a vector to a vector), the rows put back together; f(a) for a vector."""
    if len(a.shape) != 2:
        return f(a)
    rows = [f(T(ImmutableMatrix(a.x.row(i).T), (a.shape[1],))).x for i in range(a.shape[0])]
    return T(ImmutableMatrix.vstack(*[r.T for r in rows]), a.shape)


def _shaped(values: list, shape: tuple):
    """A list of numbers as a value of the shape: the number itself for a scalar."""
    if shape == ():
        return T(values[0], ())
    r, c = matrix_dims(shape)
    return T(ImmutableMatrix(r, c, values), shape)


def _brief(e) -> str:
    """An expression for a message, cut short if a long number makes it long."""
    text = str(e)
    return text if len(text) <= 80 else text[:60] + "…" + text[-15:]


class Show(Algebra):
    """Builds unevaluated SymPy formulas; leaves are symbols or values."""

    def _fill(self, x, shape):
        return MatMul(x, OneMatrix(*matrix_dims(shape)), evaluate=False)

    def ones(self, n: int) -> T:
        return T(OneMatrix(n, 1), (n,))

    def reciprocal(self, b: T) -> T:
        return T(sp.Pow(b.x, -1, evaluate=False), ())

    def probabilities(self, s: T) -> T:
        if isinstance(s.x, ImmutableMatrix) and _numeric(s):  # p by its values, as p − t is written
            return Eval().softmax(s)
        return self.softmax(s)

    def row_totals(self, m: T) -> T:
        if _numbers_only(m.x):  # the row sums by their values: a line of three matrices is too wide to read
            return Eval().row_totals(T(m.x.doit(), m.shape))
        return super().row_totals(m)

    def _add(self, a, b, shape):
        if shape == ():
            return sp.Add(a, b, evaluate=False)
        return MatAdd(a, b, evaluate=False)

    def _scale(self, s, a, shape):
        if s == -1:  # a factor that is −1 (a weight of −1), kept apart from a minus sign
            s = Weight(s)
        if shape == ():
            return sp.Mul(s, a, evaluate=False)
        return MatMul(s, a, evaluate=False)

    def _negate(self, a, shape):
        if shape == ():
            return sp.Mul(sp.Integer(-1), a, evaluate=False)
        return MatMul(sp.Integer(-1), a, evaluate=False)

    def _hadamard(self, a, b, shape):
        return HadamardProduct(a, b, evaluate=False)

    def _div(self, a, b, shape):
        if shape == ():
            return sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False)
        return HadamardProduct(a, HadamardPower(b, -1), evaluate=False)

    def _pow(self, a, k, shape):
        return sp.Pow(a, k, evaluate=False) if shape == () else HadamardPower(a, k)

    def _hpow(self, a, k, shape):
        return HadamardPower(a, k)

    def _matmul(self, a, b):
        return MatMul(a, b, evaluate=False)

    def _dot(self, a, b):
        return ScalarFunc("dot", a, b)

    def _transpose(self, a):
        if isinstance(a, ImmutableMatrix):
            return a.T
        return Transpose(a)

    def _apply(self, name, a, shape, derivative, params=()):
        op = ELEMENTWISE[name]
        f = op.derivative if derivative else op.forward
        if shape == ():
            with sp.evaluate(False):
                return f(a, *params)
        if derivative and isinstance(a, ImmutableMatrix):  # the rule spelled out on each number
            with sp.evaluate(False):
                return ImmutableMatrix(a.shape[0], a.shape[1], [f(v, *params) for v in a])
        return MatFunc(name + ("′" if derivative else ""), a, *params)

    def _total(self, a):
        return ScalarFunc("sum", a)

    def _pairwise(self, name, a, b, shape):
        return ScalarFunc(name, a, b) if shape == () else MatFunc(name, a, b)

    def _whole(self, name, a: T, shape):
        return ScalarFunc(name, a.x) if shape == () else MatFunc(name, a.x)

    def _first_extreme(self, name, a: T):
        if isinstance(a.x, ImmutableMatrix) and _numeric(a):  # the one-hot vector itself, as a sheet writes it
            return Eval().first_extreme(name, a).x
        return MatFunc(f"onehot_arg{name}", a.x)

    def _take(self, x, w: Window):
        """A name's block as the sheet writes it, x_{1:3} or W_{2,:}; numbers as they are."""
        if isinstance(x, sp.MatrixSymbol) and "[" not in x.name:
            return symbol_for(f"{x.name}[{w.label}]", w.shape)
        if isinstance(x, sp.MatrixSymbol):  # a block of a block: its entries by name
            return super()._take(_named_elements(x, x.shape), w)
        return super()._take(x, w)

    def _join(self, xs: list, windows: list, shape: tuple):
        """Entry by entry where every part can be written so ((x₁, x₂, 1)ᵀ, (δ₁, 0, 0)ᵀ), else in blocks."""
        explicit = [_explicit(x, w) for x, w in zip(xs, windows)]
        if all(e is not None for e in explicit):
            return super()._join(explicit, windows, shape)
        return _blocks(xs, windows, shape)

    def tensor(self, name: str, shape: tuple, operands: list, entries, keywords: tuple = ()) -> T:
        shown = [t.x for t in operands] + [Keyword(k, v) for k, v in keywords]
        if shape == ():
            return T(ScalarFunc(name, *shown), ())
        return T(ShapedFunc(name, *matrix_dims(shape), *shown), shape)

    def loss(self, name: str, y: T, t: T, *params: T) -> T:
        rule = LOSSES[name]
        ps = [p.x for p in params]
        if y.shape != () and not (isinstance(y.x, ImmutableMatrix) and isinstance(t.x, ImmutableMatrix)):
            return T(ScalarFunc(name, y.x, t.x, *ps), ())
        ys, ts = _elements(y), _elements(t)
        u, v = sp.Dummy("y", real=True), sp.Dummy("t", real=True)
        with sp.evaluate(False):  # built on symbols in the written order, then the numbers put in
            term = rule.term(u, v, *ps)
            terms = [term.xreplace({u: _apart(a, rule), v: _apart(b, rule)}) for a, b in zip(ys, ts)]
            total = terms[0] if len(terms) == 1 else sp.Add(*terms)
            scale = rule.scale(len(ys))
            return T(total if scale == 1 else sp.Mul(scale, total), ())

    def softmax(self, a: T) -> T:
        return T(MatFunc("softmax", a.x), a.shape)

    def softmax_cross_entropy_slope(self, s: T, t: T) -> T:
        """p − t with p's numbers when the scores are numbers (p = softmax(s) shown by its values)."""
        if self.unit_targets and isinstance(s.x, ImmutableMatrix) and _numeric(s):
            return self.sub(Eval().softmax(s), t)
        return super().softmax_cross_entropy_slope(s, t)


def _apart(x, rule):
    """A negative number kept apart, (−1)⋅4.2 rather than −4.2, where the loss's term multiplies output and target."""
    return Weight(x) if rule.product and isinstance(x, sp.Number) and x < 0 else x


def _within(limits: Limits, shape: tuple) -> None:
    """Refuse a joined value larger than the limits allow for a given one."""
    r, c = matrix_dims(shape)
    if max(r, c) > limits.matrix_side:
        raise ShapeError(limits.message("matrix_side", f"the joined value would be {describe(shape)}"))
    if r * c > limits.matrix_elements:
        raise ShapeError(limits.message("matrix_elements", f"the joined value would have {r * c} entries"))


def _explicit(x, w: Window):
    """A part as numbers or element symbols (x₁, x₂ for the name x), or None for a formula of matrices."""
    if w.shape == () and not isinstance(x, MatrixExpr):
        return x
    if isinstance(x, ImmutableMatrix):
        return x
    if isinstance(x, sp.MatrixSymbol):
        return _named_elements(x, w.shape)
    r, c = x.shape
    return _spelled(x) if r * c <= SPELLED_ENTRIES else None


SPELLED_ENTRIES = 12  # a formula of matrices this small is written entry by entry where it is placed or joined


def _spelled(e):
    """A formula of matrices as the matrix of its entries' formulas (δ_a·x₁, σ′(g₁)), or None where an
    entry cannot be written alone (softmax mixes the entries)."""
    if isinstance(e, ImmutableMatrix):
        return e
    if isinstance(e, sp.MatrixSymbol):
        return _named_elements(e, (e.rows,) if e.cols == 1 else e.shape)
    if isinstance(e, MatFunc):
        inner = _spelled(e.args[1])
        if inner is not None and e.name == "softmax" and not inner.free_symbols:  # numbers: its values
            return Eval().softmax(T(inner, (inner.rows,))).x
        if inner is None or e.name.removesuffix("′") not in ELEMENTWISE or len(e.args) != 2:
            return None  # a function with constants (leaky_relu(z, a)) stays as it is
        return inner.applyfunc(lambda v: ScalarFunc(e.name, v))
    if isinstance(e, (MatAdd, MatMul, HadamardProduct, HadamardPower, Transpose, OneMatrix)):
        args = [_spelled(a) if isinstance(a, MatrixExpr) else _spelled_scalar(a) for a in e.args]
        if any(a is None for a in args):
            return None
        with sp.evaluate(False):  # each entry's arithmetic shown, as the numbers line shows it
            return ImmutableMatrix((type(e)(*args) if args else e).as_explicit())
    return None


def _named_elements(x, shape: tuple):
    """The element symbols of a named value of `shape`, x₁, x₂ for x; by its index for x[1:2] (x₁, x₂)
    or W[:,3] (W₁₃, W₂₃)."""
    base, _, label = x.name.partition("[")
    if not label:
        return element_symbols(x.name, shape)
    sizes, spans = iter(x.shape), []  # one slice: the rows (a vector is a column); two: rows and columns
    for part in label.rstrip("]").split(","):
        start, colon, _ = part.partition(":")
        if not colon:
            spans.append([int(part)])
            continue
        first = int(start or 1)
        spans.append(range(first, first + next(sizes)))
    names = [",".join(map(str, index)) for index in _product(spans)]
    return ImmutableMatrix(*x.shape, [sp.Symbol(f"{base}[{n}]", real=True) for n in names])


def _product(spans: list) -> list:
    out = [()]
    for span in spans:
        out = [index + (k,) for index in out for k in span]
    return out


def _blocks(xs: list, windows: list, shape: tuple):
    """The parts as blocks of a matrix, zeros in the slots none of them fills."""
    r, c = matrix_dims(shape)
    row_cuts = sorted({0, r} | {k for w in windows for k in (w.rows.start, w.rows.stop)})
    col_cuts = sorted({0, c} | {k for w in windows for k in (w.cols.start, w.cols.stop)})
    grid = []
    for top, bottom in zip(row_cuts, row_cuts[1:]):
        row = []
        for left, right in zip(col_cuts, col_cuts[1:]):
            block = next((_as_block(x, w) for x, w in zip(xs, windows)
                          if w.rows.start == top and w.cols.start == left), None)
            row.append(block if block is not None else sp.ZeroMatrix(bottom - top, right - left))
        grid.append(row)
    return sp.BlockMatrix(grid)


def _as_block(x, w: Window):
    if w.shape == ():
        return ImmutableMatrix([[x]])
    return Transpose(x) if w.across else x


def _spelled_scalar(e):
    """A scalar formula with the dot products and sums of matrices in it written out, where they can be."""
    if isinstance(e, ScalarFunc) and e.name in ("dot", "sum"):
        args = [_spelled(a) for a in e.args[1:]]
        if all(a is not None for a in args):
            with sp.evaluate(False):
                terms = list(args[0]) if e.name == "sum" else [sp.Mul(u, v) for u, v in zip(*args)]
                return sp.Add(*terms)
    return e


def _entries(x, w: Window) -> list:
    """The rows of a value as it sits in a window's slots (a row read as a vector laid back across)."""
    if w.shape == ():
        return [[x]]
    rows = [list(x.row(i)) for i in range(x.rows)]
    return [list(col) for col in zip(*rows)] if w.across else rows


def _numbers_only(e) -> bool:
    """Whether a formula is built of number matrices alone (no symbol, no function of one)."""
    return isinstance(e, sp.Basic) and not e.free_symbols and not e.atoms(MatFunc) and \
        all(isinstance(a, ImmutableMatrix) for a in e.atoms(sp.MatrixBase))


def _plain(a: T) -> plainmath.Plain | None:
    """A vector's or a matrix's plain values, if it holds numbers only: those it was computed as, or read
    from its SymPy matrix."""
    if a.plain is not None:
        return a.plain
    x = a.x
    if a.shape == () or not isinstance(x, sp.MatrixBase) or not plainmath.is_numbers(x):
        return None
    return plainmath.Plain(x.rows, x.cols, plainmath.entries(x), x)


def _plain_pair(a: T, b: T) -> tuple:
    """The plain values of two vectors or matrices of one shape, both of numbers only, or (None, None)."""
    if a.shape != b.shape or a.shape == ():
        return None, None
    pa = _plain(a)
    pb = _plain(b) if pa is not None else None
    return (pa, pb) if pb is not None and (pa.rows, pa.cols) == (pb.rows, pb.cols) else (None, None)


def _elements(a: T) -> list:
    if a.shape == ():
        return [a.x]
    return a.x.flat() if isinstance(a.x, sp.MatrixBase) else list(a.x)  # (a matrix read whole, as steps.flat does)


def symbol_for(name: str, shape: tuple):
    """The SymPy symbol that stands for a named quantity of the given shape."""
    if shape == ():
        return sp.Symbol(name, real=True)
    return sp.MatrixSymbol(name, *matrix_dims(shape))


@functools.lru_cache(maxsize=1024)  # the same names are asked for by every step that writes elements
def element_symbols(name: str, shape: tuple):
    """A matrix of symbols name[i] / name[i,j] standing for the elements of a quantity."""
    if shape == ():
        return sp.Symbol(name, real=True)
    if len(shape) == 1:
        return sp.ImmutableMatrix([sp.Symbol(f"{name}[{i + 1}]", real=True) for i in range(shape[0])])
    return sp.ImmutableMatrix(shape[0], shape[1],
                              [sp.Symbol(f"{name}[{i + 1},{j + 1}]", real=True)
                               for i in range(shape[0]) for j in range(shape[1])])


_ODD = (sp.tanh, sp.sinh, sp.sign, sp.atan, sp.asinh)
_EVEN = (sp.cosh, sp.Abs)


def orient(expr, targets: set):
    """Odd functions of a difference written output minus target, as sheets do: tanh(y − t), not −tanh(t − y)."""
    if isinstance(expr, sp.MatrixBase):
        return expr if plainmath.is_numbers(expr) else expr.applyfunc(lambda e: orient(e, targets))
    if not targets or not getattr(expr, "free_symbols", None):
        return expr

    def positive_target(arg):
        return any(t.is_Symbol and t.name in targets for t in arg.args) if isinstance(arg, sp.Add) else False

    def flip(e):
        inner = e.func(-e.args[0], evaluate=False)
        return inner if isinstance(e, _EVEN) else -inner

    return expr.replace(lambda e: isinstance(e, _ODD + _EVEN) and positive_target(e.args[0]), flip)
