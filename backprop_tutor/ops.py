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
    rule: str             # the derivative rule, shown to the student: words with math in $…$
    slope: Callable | None = None  # x -> f'(x) in a form whose value loses no digits, where the
                                   # textbook's does (1 − tanh²(z) is 1 − 1 for z ≈ 50)


ELEMENTWISE: dict[str, Elementwise] = {e.name: e for e in (
    Elementwise("relu", relu, lambda x: step(x), r"$\operatorname{relu}'(z) = \operatorname{step}(z)$: 1 if $z > 0$, else 0"),
    Elementwise("sigmoid", sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x)), r"$\sigma'(z) = \sigma(z) \cdot (1 - \sigma(z))$",
                lambda x: sigmoid(x) * sigmoid(-x)),
    Elementwise("tanh", sp.tanh, lambda x: 1 - sp.tanh(x) ** 2, r"$\tanh'(z) = 1 - \tanh^2(z)$",
                lambda x: 1 / sp.cosh(x) ** 2),
    Elementwise("exp", sp.exp, lambda x: sp.exp(x), r"$\exp'(z) = \exp(z)$"),
    Elementwise("log", sp.log, lambda x: 1 / x, r"$\log'(z) = 1/z$"),
    Elementwise("softplus", softplus, lambda x: sigmoid(x), r"$\operatorname{softplus}'(z) = \sigma(z)$"),
    Elementwise("abs", sp.Abs, lambda x: sp.sign(x), r"$|z|' = \operatorname{sign}(z)$"),
    Elementwise("cosh", sp.cosh, lambda x: sp.sinh(x), r"$\cosh'(z) = \sinh(z)$"),
    Elementwise("sinh", sp.sinh, lambda x: sp.cosh(x), r"$\sinh'(z) = \cosh(z)$"),
    Elementwise("sqrt", sp.sqrt, lambda x: 1 / (2 * sp.sqrt(x)), r"$(\sqrt{z})' = 1/(2\sqrt{z})$"),
    Elementwise("linear", linear, lambda x: sp.Integer(1), r"$\operatorname{linear}'(z) = 1$"),
    Elementwise("identity", linear, lambda x: sp.Integer(1), r"$\operatorname{identity}'(z) = 1$"),
    Elementwise("sign", sp.sign, lambda x: sp.Integer(0), r"$\operatorname{sign}'(z) = 0$ (almost everywhere)"),
    Elementwise("step", step, lambda x: sp.Integer(0), r"$\operatorname{step}'(z) = 0$ (almost everywhere)"),
)}


@dataclass(frozen=True)
class Loss:
    """loss(y, t) = scale(n) · Σᵢ term(yᵢ, tᵢ), and its gradient in y written with tensor operations."""

    name: str
    term: Callable        # (y_i, t_i) -> the i-th summand
    scale: Callable       # n -> the factor in front of the sum
    gradient: Callable    # (algebra, y, t, n) -> ∂loss/∂y, built from the algebra's operations
    definition: str       # rule texts: words with their math in $…$, read by prose.py
    rule: str


# How the losses are named in formulas and rules, as sheets name them (math of texsafe's safe subset).
LOSS_TEX = {"sse": r"\mathrm{SSE}", "half_sse": r"\tfrac12 \mathrm{SSE}", "mse": r"\mathrm{MSE}", "l1": r"\ell_1",
            "mae": r"\mathrm{MAE}", "log_cosh": r"\mathrm{LogCosh}", "cross_entropy": r"\mathrm{CE}",
            "bce": r"\mathrm{BCE}"}


def _defined(loss: str, sum_: str, y: str = "y") -> str:
    """The loss's definition, as rule text with its math in $…$."""
    return f"${LOSS_TEX[loss]}({y}, t) = {sum_}$"


def _derived(loss: str, wrt: str, slope: str, y: str = "y") -> str:
    """The loss's derivative rule, as rule text with its math in $…$."""
    name = LOSS_TEX[loss] if " " not in LOSS_TEX[loss] else f"({LOSS_TEX[loss]})"
    return f"$\\partial {name}/\\partial {wrt} = {slope}$"


def _c(A, v):
    return A.const(sp.sympify(v))


def xlogy(c, x):
    """c·log x, and 0 where c is 0 even at x = 0: the convention 0·log 0 = 0 of the cross-entropies."""
    return sp.Integer(0) if c == 0 else c * sp.log(x)


LOSSES: dict[str, Loss] = {l.name: l for l in (
    Loss("sse", lambda y, t: (y - t) ** 2, lambda n: sp.Integer(1),
         lambda A, y, t, n: A.mul(_c(A, 2), A.sub(y, t)),
         _defined("sse", r"\sum_i (y_i - t_i)^2"), _derived("sse", "y", "2(y - t)")),
    Loss("half_sse", lambda y, t: (y - t) ** 2, lambda n: sp.Rational(1, 2),
         lambda A, y, t, n: A.sub(y, t),
         _defined("half_sse", r"\tfrac12 \sum_i (y_i - t_i)^2"), _derived("half_sse", "y", "y - t")),
    Loss("mse", lambda y, t: (y - t) ** 2, lambda n: sp.Rational(1, n),
         lambda A, y, t, n: A.mul(_c(A, sp.Rational(2, n)), A.sub(y, t)),
         _defined("mse", r"(1/n) \sum_i (y_i - t_i)^2"), _derived("mse", "y", "(2/n)(y - t)")),
    Loss("l1", lambda y, t: sp.Abs(y - t), lambda n: sp.Integer(1),
         lambda A, y, t, n: A.apply("sign", A.sub(y, t)),
         _defined("l1", r"\sum_i |y_i - t_i|"), _derived("l1", "y", r"\operatorname{sign}(y - t)")),
    Loss("mae", lambda y, t: sp.Abs(y - t), lambda n: sp.Rational(1, n),
         lambda A, y, t, n: A.mul(_c(A, sp.Rational(1, n)), A.apply("sign", A.sub(y, t))),
         _defined("mae", r"(1/n) \sum_i |y_i - t_i|"), _derived("mae", "y", r"\operatorname{sign}(y - t)/n")),
    Loss("log_cosh", lambda y, t: sp.log(sp.cosh(y - t)), lambda n: sp.Integer(1),
         lambda A, y, t, n: A.apply("tanh", A.sub(y, t)),
         _defined("log_cosh", r"\sum_i \log\cosh(y_i - t_i)"),
         r"$\partial \log\cosh(y - t)/\partial y = \sinh(y - t)/\cosh(y - t) = \tanh(y - t)$"),
    Loss("cross_entropy", lambda p, t: xlogy(-t, p), lambda n: sp.Integer(1),
         lambda A, p, t, n: A.neg(A.ratio(t, p)),
         _defined("cross_entropy", r"-\sum_i t_i \log p_i", "p"), _derived("cross_entropy", "p_i", "-t_i/p_i", "p")),
    Loss("bce", lambda p, t: -(xlogy(t, p) + xlogy(1 - t, 1 - p)), lambda n: sp.Integer(1),
         lambda A, p, t, n: A.sub(A.ratio(A.sub(_c(A, 1), t), A.sub(_c(A, 1), p)), A.ratio(t, p)),
         _defined("bce", r"-\sum_i [t_i \log p_i + (1 - t_i) \log(1 - p_i)]", "p"),
         _derived("bce", "p_i", r"(1 - t_i)/(1 - p_i) - t_i/p_i = (p_i - t_i)/(p_i (1 - p_i))", "p")),
)}

DEFINITIONS = {
    "relu": r"$\operatorname{relu}(z) = \max(0, z)$",
    "sigmoid": r"$\sigma(z) = 1/(1 + e^{-z})$",
    "softplus": r"$\operatorname{softplus}(z) = \log(1 + e^z)$",
    "step": r"$\operatorname{step}(z) = 1$ if $z > 0$, else 0",
    "softmax": r"$\operatorname{softmax}(s)_i = e^{s_i} / \sum_j e^{s_j}$",
}

REDUCTIONS = {"sum": r"$\operatorname{sum}(v) = \sum_i v_i$", "mean": r"$\operatorname{mean}(v) = (1/n) \sum_i v_i$"}
MATMUL_RULE = r"$z = W x$: $\delta_x = W^\top \delta_z$, $\delta_W = \delta_z x^\top$ (for $z = x^\top W$: $\delta_W = x \delta_z^\top$)"
SOFTMAX_CE_RULE = (r"$\mathrm{CE}(\operatorname{softmax}(s), t)$: $\partial L/\partial s = \operatorname{softmax}(s) \sum_i t_i - t = p - t$ "
                   "when the targets sum to 1")
SIGMOID_BCE_RULE = r"$\mathrm{BCE}(\sigma(z), t)$: $\partial L/\partial z = \sigma(z) - t$, and $\partial L/\partial t = -z$"
SOFTMAX_RULE = r"softmax: $\partial L/\partial s = p \odot (\partial L/\partial p - p^\top \partial L/\partial p)$, $p = \operatorname{softmax}(s)$"

FUNCTIONS = frozenset(ELEMENTWISE) | frozenset(LOSSES) | frozenset(REDUCTIONS) | {"softmax"}
