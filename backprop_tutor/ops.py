"""One table of every function the files may call: forward rule, local derivative, textbook name."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import mpmath
import sympy as sp
from sympy.core.evalf import prec_to_dps


def _evaluated(f, x, prec):
    """f (an mpmath function) of x to prec bits as a Float, or None if x is not a real number.

    x is evaluated in its own right first: a formula built unevaluated (σ(−1·0.5) shown with
    its numbers, a weight of −1 kept apart) would otherwise be evaluated unevaluated, and SymPy
    loops on that.
    """
    with sp.evaluate(True):
        v = x.doit().evalf(prec_to_dps(prec) + 5)
    if not (v.is_Float or v.is_Rational):
        return None
    with mpmath.workprec(prec + 20):
        return sp.Float(f(mpmath.mpf(v)), precision=prec)


class step(sp.Function):
    """Heaviside step with step(0) = 0, the derivative of relu used by every textbook."""

    @classmethod
    def eval(cls, x):
        if x.is_number and x.is_extended_real:
            return sp.Integer(1) if x > 0 else sp.Integer(0)

    def fdiff(self, argindex=1):
        return sp.Integer(0)



class relu(sp.Function):
    """max(0, x)."""

    @classmethod
    def eval(cls, x):
        if x.is_number and x.is_extended_real:
            return x if x > 0 else sp.Integer(0)

    def fdiff(self, argindex=1):
        return step(self.args[0])

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sp.Max(0, x)



class sigmoid(sp.Function):
    """The logistic function 1 / (1 + e^(-x))."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec):
        return _evaluated(lambda x: 1 / (1 + mpmath.exp(-x)), self.args[0], prec)

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return self.args[0].is_extended_real




class softplus(sp.Function):
    """log(1 + e^x), whose derivative is the sigmoid."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    def _eval_evalf(self, prec):
        return _evaluated(lambda x: mpmath.log1p(mpmath.exp(x)), self.args[0], prec)

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real



class linear(sp.Function):
    """The identity, kept visible in formulas as the output layer's activation."""

    @classmethod
    def eval(cls, x):
        if x.is_number:
            return x

    def fdiff(self, argindex=1):
        return sp.Integer(1)



@dataclass(frozen=True)
class Elementwise:
    """A scalar function applied to every element."""

    name: str
    forward: Callable
    derivative: Callable  # x -> the textbook form of f'(x)
    rule: str             # the derivative rule in words, shown to the student
    slope: Callable | None = None  # x -> f'(x) in a form whose value loses no digits, where the
                                   # textbook's does (1 − tanh²(z) is 1 − 1 for z ≈ 50)


ELEMENTWISE: dict[str, Elementwise] = {e.name: e for e in (
    Elementwise("relu", relu, lambda x: step(x), "relu′(z) = step(z): 1 if z > 0, else 0"),
    Elementwise("sigmoid", sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x)), "σ′(z) = σ(z)·(1 − σ(z))",
                lambda x: sigmoid(x) * sigmoid(-x)),
    Elementwise("tanh", sp.tanh, lambda x: 1 - sp.tanh(x) ** 2, "tanh′(z) = 1 − tanh²(z)",
                lambda x: 1 / sp.cosh(x) ** 2),
    Elementwise("exp", sp.exp, lambda x: sp.exp(x), "exp′(z) = exp(z)"),
    Elementwise("log", sp.log, lambda x: 1 / x, "log′(z) = 1/z"),
    Elementwise("softplus", softplus, lambda x: sigmoid(x), "softplus′(z) = σ(z)"),
    Elementwise("abs", sp.Abs, lambda x: sp.sign(x), "|z|′ = sign(z)"),
    Elementwise("cosh", sp.cosh, lambda x: sp.sinh(x), "cosh′(z) = sinh(z)"),
    Elementwise("sinh", sp.sinh, lambda x: sp.cosh(x), "sinh′(z) = cosh(z)"),
    Elementwise("sqrt", sp.sqrt, lambda x: 1 / (2 * sp.sqrt(x)), "√z′ = 1/(2√z)"),
    Elementwise("linear", linear, lambda x: sp.Integer(1), "linear′(z) = 1"),
    Elementwise("identity", linear, lambda x: sp.Integer(1), "identity′(z) = 1"),
    Elementwise("sign", sp.sign, lambda x: sp.Integer(0), "sign′(z) = 0 (almost everywhere)"),
    Elementwise("step", step, lambda x: sp.Integer(0), "step′(z) = 0 (almost everywhere)"),
)}


@dataclass(frozen=True)
class Loss:
    """loss(y, t) = scale(n) · Σᵢ term(yᵢ, tᵢ), and its gradient in y written with tensor operations."""

    name: str
    term: Callable        # (y_i, t_i) -> the i-th summand
    scale: Callable       # n -> the factor in front of the sum
    gradient: Callable    # (algebra, y, t, n) -> ∂loss/∂y, built from the algebra's operations
    definition: str
    rule: str


def _c(A, v):
    return A.const(sp.sympify(v))


def xlogy(c, x):
    """c·log x, and 0 where c is 0 even at x = 0: the convention 0·log 0 = 0 of the cross-entropies."""
    return sp.Integer(0) if c == 0 else c * sp.log(x)


LOSSES: dict[str, Loss] = {l.name: l for l in (
    Loss("sse", lambda y, t: (y - t) ** 2, lambda n: sp.Integer(1),
         lambda A, y, t, n: A.mul(_c(A, 2), A.sub(y, t)),
         "sse(y, t) = Σᵢ (yᵢ − tᵢ)²", "∂sse/∂y = 2(y − t)"),
    Loss("half_sse", lambda y, t: (y - t) ** 2, lambda n: sp.Rational(1, 2),
         lambda A, y, t, n: A.sub(y, t),
         "half_sse(y, t) = ½ Σᵢ (yᵢ − tᵢ)²", "∂half_sse/∂y = y − t"),
    Loss("mse", lambda y, t: (y - t) ** 2, lambda n: sp.Rational(1, n),
         lambda A, y, t, n: A.mul(_c(A, sp.Rational(2, n)), A.sub(y, t)),
         "mse(y, t) = (1/n) Σᵢ (yᵢ − tᵢ)²", "∂mse/∂y = (2/n)(y − t)"),
    Loss("l1", lambda y, t: sp.Abs(y - t), lambda n: sp.Integer(1),
         lambda A, y, t, n: A.apply("sign", A.sub(y, t)),
         "l1(y, t) = Σᵢ |yᵢ − tᵢ|", "∂l1/∂y = sign(y − t)"),
    Loss("mae", lambda y, t: sp.Abs(y - t), lambda n: sp.Rational(1, n),
         lambda A, y, t, n: A.mul(_c(A, sp.Rational(1, n)), A.apply("sign", A.sub(y, t))),
         "mae(y, t) = (1/n) Σᵢ |yᵢ − tᵢ|", "∂mae/∂y = sign(y − t)/n"),
    Loss("log_cosh", lambda y, t: sp.log(sp.cosh(y - t)), lambda n: sp.Integer(1),
         lambda A, y, t, n: A.apply("tanh", A.sub(y, t)),
         "log_cosh(y, t) = Σᵢ log cosh(yᵢ − tᵢ)",
         "∂/∂y log cosh(y − t) = sinh(y − t)/cosh(y − t) = tanh(y − t)"),
    Loss("cross_entropy", lambda p, t: xlogy(-t, p), lambda n: sp.Integer(1),
         lambda A, p, t, n: A.neg(A.ratio(t, p)),
         "cross_entropy(p, t) = −Σᵢ tᵢ log pᵢ", "∂cross_entropy/∂pᵢ = −tᵢ/pᵢ"),
    Loss("bce", lambda p, t: -(xlogy(t, p) + xlogy(1 - t, 1 - p)), lambda n: sp.Integer(1),
         lambda A, p, t, n: A.sub(A.ratio(A.sub(_c(A, 1), t), A.sub(_c(A, 1), p)), A.ratio(t, p)),
         "bce(p, t) = −Σᵢ [tᵢ log pᵢ + (1 − tᵢ) log(1 − pᵢ)]",
         "∂bce/∂pᵢ = (1 − tᵢ)/(1 − pᵢ) − tᵢ/pᵢ = (pᵢ − tᵢ)/(pᵢ(1 − pᵢ))"),
)}

DEFINITIONS = {
    "relu": "relu(z) = max(0, z)",
    "sigmoid": "σ(z) = 1/(1 + e^(−z))",
    "softplus": "softplus(z) = log(1 + e^z)",
    "step": "step(z) = 1 if z > 0, else 0",
    "softmax": "softmax(s)ᵢ = e^(sᵢ) / Σⱼ e^(sⱼ)",
}

REDUCTIONS = {"sum": "sum(v) = Σᵢ vᵢ", "mean": "mean(v) = (1/n) Σᵢ vᵢ"}
MATMUL_RULE = "z = W x: δ_x = Wᵀ·δ_z, δ_W = δ_z·xᵀ (for z = xᵀW: δ_W = x·δ_zᵀ)"
SOFTMAX_CE_RULE = "cross_entropy(softmax(s), t): ∂L/∂s = softmax(s)·Σt − t = p − t when the targets sum to 1"
SIGMOID_BCE_RULE = "bce(σ(z), t): ∂L/∂z = σ(z) − t, and ∂L/∂t = −z"
SOFTMAX_RULE = "softmax: ∂L/∂s = p ⊙ (∂L/∂p − (pᵀ ∂L/∂p)), p = softmax(s)"

FUNCTIONS = frozenset(ELEMENTWISE) | frozenset(LOSSES) | frozenset(REDUCTIONS) | {"softmax"}
