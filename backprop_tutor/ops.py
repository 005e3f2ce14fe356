"""One table of every function the files may call: forward rule, local derivative, textbook name."""
from __future__ import annotations

from typing import Callable

import mpmath
from msgspec import Struct
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


def sigmoid_mp(x):
    """σ(x) of an mpmath number, at mpmath's working precision."""
    return 1 / (1 + mpmath.exp(-x))


def softplus_mp(x):
    """softplus(x) of an mpmath number, at mpmath's working precision."""
    return mpmath.log1p(mpmath.exp(x))


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
        return _evaluated(sigmoid_mp, self.args[0], prec)

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
        return _evaluated(softplus_mp, self.args[0], prec)

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



class Named(sp.Function):
    """A function of the table that the printers write by its name; a slope as f′ (shown_as)."""

    shown_as: str | None = None

    @classmethod
    def display_name(cls) -> str:
        """The name printers write: the function's own, or f′ for a slope."""
        return cls.shown_as or cls.__name__


def _real(*xs) -> bool:
    return all(x.is_number and x.is_extended_real for x in xs)


class leaky_relu(Named):
    """z where z > 0, else a·z."""

    @classmethod
    def eval(cls, z, a):
        if _real(z, a):
            return z if z > 0 else a * z

    def fdiff(self, argindex=1):
        z, a = self.args
        return leaky_relu_slope(z, a) if argindex == 1 else -relu(-z)


class leaky_relu_slope(Named):
    """1 where z > 0, else a (so a at 0 itself)."""

    shown_as = "leaky_relu′"

    @classmethod
    def eval(cls, z, a):
        if _real(z, a):
            return sp.Integer(1) if z > 0 else a

    def fdiff(self, argindex=1):
        return sp.Integer(0)


class elu(Named):
    """z where z > 0, else a·(e^z − 1)."""

    @classmethod
    def eval(cls, z, a):
        if _real(z, a):
            return z if z > 0 else a * (sp.exp(z) - 1)

    def fdiff(self, argindex=1):
        z, a = self.args
        return elu_slope(z, a) if argindex == 1 else sp.Min(sp.exp(z) - 1, 0)


class elu_slope(Named):
    """1 where z > 0, else a·e^z (so a at 0 itself)."""

    shown_as = "elu′"

    @classmethod
    def eval(cls, z, a):
        if _real(z, a):
            return sp.Integer(1) if z > 0 else a * sp.exp(z)

    def fdiff(self, argindex=1):
        z, a = self.args
        return (1 if argindex == 2 else a) * sp.exp(z) * (1 - step(z))


class silu(Named):
    """z·σ(z), also called swish."""

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.Integer(0)

    def fdiff(self, argindex=1):
        z = self.args[0]
        return sigmoid(z) * (1 + z * (1 - sigmoid(z)))

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return z / (1 + sp.exp(-z))

    def _eval_evalf(self, prec):
        return _evaluated(lambda x: x / (1 + mpmath.exp(-x)), self.args[0], prec)

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real


class gelu(Named):
    """z·Φ(z), Φ the standard normal distribution function (the erf form)."""

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.Integer(0)

    def fdiff(self, argindex=1):
        return gelu_slope(self.args[0])

    def _eval_rewrite_as_erf(self, z, **kwargs):
        return z * (1 + sp.erf(z / sp.sqrt(2))) / 2

    def _eval_evalf(self, prec):
        return _evaluated(lambda x: x * mpmath.ncdf(x), self.args[0], prec)

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real


class gelu_slope(Named):
    """Φ(z) + z·φ(z), φ the standard normal density."""

    shown_as = "gelu′"

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.Rational(1, 2)

    def fdiff(self, argindex=1):
        z = self.args[0]
        return sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi) * (2 - z ** 2)

    def _eval_rewrite_as_erf(self, z, **kwargs):
        return (1 + sp.erf(z / sp.sqrt(2))) / 2 + z * sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi)

    def _eval_evalf(self, prec):
        return _evaluated(lambda x: mpmath.ncdf(x) + x * mpmath.npdf(x), self.args[0], prec)

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real


class hardtanh(Named):
    """z clipped to [−1, 1]."""

    @classmethod
    def eval(cls, z):
        if _real(z):
            return sp.Integer(-1) if z < -1 else sp.Integer(1) if z > 1 else z

    def fdiff(self, argindex=1):
        return hardtanh_slope(self.args[0])


class hardtanh_slope(Named):
    """1 where −1 < z < 1, else 0 (so 0 at ±1)."""

    shown_as = "hardtanh′"

    @classmethod
    def eval(cls, z):
        if _real(z):
            return sp.Integer(1) if -1 < z < 1 else sp.Integer(0)

    def fdiff(self, argindex=1):
        return sp.Integer(0)



class Elementwise(Struct, frozen=True):
    """A scalar function applied to every element."""

    name: str
    forward: Callable
    derivative: Callable  # x -> the textbook form of f'(x)
    rule: str             # the derivative rule, shown to the student: words with math in $…$
    slope: Callable | None = None  # x -> f'(x) in a form whose value loses no digits, where the
                                   # textbook's does (1 − tanh²(z) is 1 − 1 for z ≈ 50)
    params: tuple = ()    # names of constant arguments after z (the a of leaky_relu(z, a))


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
    Elementwise("leaky_relu", leaky_relu, leaky_relu_slope,
                r"leaky_relu′(z, a) = 1 if $z > 0$, else $a$ (also at $z = 0$)", params=("a",)),
    Elementwise("elu", elu, elu_slope,
                r"$\operatorname{elu}'(z, a) = 1$ if $z > 0$, else $a e^z$ (so $a$ at $z = 0$)", params=("a",)),
    Elementwise("silu", silu, lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x))),
                r"$\operatorname{silu}'(z) = \sigma(z) \cdot (1 + z (1 - \sigma(z)))$",
                lambda x: sigmoid(x) * (1 + x * sigmoid(-x))),
    Elementwise("gelu", gelu, gelu_slope,
                r"$\operatorname{gelu}'(z) = \Phi(z) + z \varphi(z)$, $\Phi$ and $\varphi$ the standard normal "
                r"distribution and density"),
    Elementwise("hardtanh", hardtanh, hardtanh_slope,
                r"$\operatorname{hardtanh}'(z) = 1$ if $-1 < z < 1$, else 0 (so 0 at $z = -1$ and $z = 1$)"),
)}


class Loss(Struct, frozen=True):
    """loss(y, t) = scale(n) · Σᵢ term(yᵢ, tᵢ), and its gradient in y written with tensor operations."""

    name: str
    term: Callable        # (y_i, t_i) -> the i-th summand
    scale: Callable       # n -> the factor in front of the sum
    gradient: Callable    # (algebra, y, t, n) -> ∂loss/∂y, built from the algebra's operations
    definition: str       # rule texts: words with their math in $…$, read by prose.py
    rule: str
    target_gradient: Callable | None = None  # (algebra, y, t, n) -> ∂loss/∂t, where it is not −∂loss/∂y
    params: tuple = ()    # names of constant arguments after y and t (the delta of huber)
    product: bool = False  # the term multiplies y and t (1 − t·y): a negative number is shown in brackets


# How the losses are named in formulas and rules, as sheets name them (math of texsafe's safe subset).
LOSS_TEX = {"sse": r"\mathrm{SSE}", "half_sse": r"\tfrac12 \mathrm{SSE}", "mse": r"\mathrm{MSE}", "l1": r"\ell_1",
            "mae": r"\mathrm{MAE}", "log_cosh": r"\mathrm{LogCosh}", "cross_entropy": r"\mathrm{CE}",
            "bce": r"\mathrm{BCE}", "hinge": r"\mathrm{hinge}", "squared_hinge": r"\mathrm{hinge}^2",
            "huber": r"\mathrm{Huber}", "nll": r"\mathrm{NLL}", "kl": r"\mathrm{KL}"}


def _defined(loss: str, sum_: str, y: str = "y") -> str:
    """The loss's definition, as rule text with its math in $…$."""
    return f"${LOSS_TEX[loss]}({y}, t) = {sum_}$"


def _derived(loss: str, wrt: str, slope: str, y: str = "y") -> str:
    """The loss's derivative rule, as rule text with its math in $…$."""
    name = LOSS_TEX[loss] if " " not in LOSS_TEX[loss] else f"({LOSS_TEX[loss]})"
    return f"$\\partial {name}/\\partial {wrt} = {slope}$"


def _c(A, v):
    return A.const(sp.sympify(v))


def _margin(A, y, t):
    """1 − t·y, the distance of a hinge loss's margin from 1."""
    return A.sub(_c(A, 1), A.mul(t, y))


class huber_term(Named):
    """The Huber term of a difference d: d²/2 where |d| ≤ δ, else δ(|d| − δ/2)."""

    shown_as = "huber"

    @classmethod
    def eval(cls, d, delta):
        if _real(d, delta):
            return d ** 2 / 2 if abs(d) <= delta else delta * (abs(d) - delta / 2)

    def fdiff(self, argindex=1):
        d, delta = self.args
        return sp.Max(-delta, sp.Min(delta, d)) if argindex == 1 else relu(sp.Abs(d) - delta)


def _inverse(A, c):
    """1/c of a constant, worked out where it is a number."""
    return A.const(1 / c.x) if isinstance(c.x, sp.Number) else A.div(A.const(1), c)


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
    Loss("hinge", lambda y, t: relu(1 - t * y), lambda n: sp.Integer(1),
         lambda A, y, t, n: A.neg(A.mul(t, A.apply("step", _margin(A, y, t)))),
         _defined("hinge", r"\sum_i \max(0, 1 - t_i y_i) = \sum_i \operatorname{relu}(1 - t_i y_i)"),
         _derived("hinge", "y_i", r"-t_i") + r" where $t_i y_i < 1$, else 0 (0 at the kink $t_i y_i = 1$ too)",
         lambda A, y, t, n: A.neg(A.mul(y, A.apply("step", _margin(A, y, t)))), product=True),
    Loss("squared_hinge", lambda y, t: relu(1 - t * y) ** 2, lambda n: sp.Integer(1),
         lambda A, y, t, n: A.mul(_c(A, -2), A.mul(t, A.apply("relu", _margin(A, y, t)))),
         _defined("squared_hinge", r"\sum_i \max(0, 1 - t_i y_i)^2 = \sum_i \operatorname{relu}^2(1 - t_i y_i)"),
         _derived("squared_hinge", "y_i", r"-2 t_i \max(0, 1 - t_i y_i)"),
         lambda A, y, t, n: A.mul(_c(A, -2), A.mul(y, A.apply("relu", _margin(A, y, t)))), product=True),
    Loss("huber", lambda y, t, delta: huber_term(y - t, delta), lambda n: sp.Integer(1),
         lambda A, y, t, n, delta: A.mul(delta, A.apply("hardtanh", A.mul(_inverse(A, delta), A.sub(y, t)))),
         r"$\mathrm{Huber}(y, t, \delta) = \sum_i \operatorname{huber}(y_i - t_i, \delta)$, $\operatorname{huber}(d, \delta) = d^2/2$ "
         r"where $|d| \le \delta$, else $\delta (|d| - \delta/2)$",
         _derived("huber", "y_i", r"\max(-\delta, \min(\delta, y_i - t_i)) = "
                                  r"\delta \operatorname{hardtanh}((y_i - t_i)/\delta)"),
         params=("delta",)),
    Loss("nll", lambda y, t: t * y, lambda n: sp.Integer(-1),
         lambda A, y, t, n: A.neg(t),
         _defined("nll", r"-\sum_i t_i \ell_i", r"\ell") + r", $\ell$ log-probabilities (log_softmax)",
         _derived("nll", r"\ell_i", "-t_i", r"\ell"),
         lambda A, y, t, n: A.neg(y)),
    Loss("kl", lambda p, q: xlogy(p, p) - xlogy(p, q), lambda n: sp.Integer(1),
         lambda A, p, q, n: A.add(A.apply("log", A.div(p, q)), _c(A, 1)),
         r"$\mathrm{KL}(p, q) = \sum_i p_i \log(p_i/q_i)$, a term with $p_i = 0$ counting 0",
         r"$\partial \mathrm{KL}/\partial p_i = \log(p_i/q_i) + 1$, $\partial \mathrm{KL}/\partial q_i = -p_i/q_i$",
         lambda A, p, q, n: A.neg(A.ratio(p, q))),
)}

DEFINITIONS = {
    "relu": r"$\operatorname{relu}(z) = \max(0, z)$",
    "sigmoid": r"$\sigma(z) = 1/(1 + e^{-z})$",
    "softplus": r"$\operatorname{softplus}(z) = \log(1 + e^z)$",
    "step": r"$\operatorname{step}(z) = 1$ if $z > 0$, else 0",
    "softmax": r"$\operatorname{softmax}(s)_i = e^{s_i} / \sum_j e^{s_j}$, row by row for a matrix",
    "leaky_relu": r"leaky_relu(z, a) = $z$ if $z > 0$, else $a z$",
    "elu": r"elu(z, a) = $z$ if $z > 0$, else $a (e^z - 1)$",
    "silu": r"$\operatorname{silu}(z) = z \sigma(z)$",
    "gelu": r"$\operatorname{gelu}(z) = z \Phi(z)$, $\Phi$ the standard normal distribution function",
    "hardtanh": r"$\operatorname{hardtanh}(z) = \max(-1, \min(1, z))$",
}


class Whole(Struct, frozen=True):
    """A function of a whole vector or matrix (or of two operands, elementwise), with its rule texts;
    tensorops.py computes it and its backward pass."""

    name: str
    arity: tuple          # how many arguments it takes
    definition: str
    rule: str


WHOLE: dict[str, Whole] = {w.name: w for w in (
    Whole("max", (1, 2), r"$\max(a, b)$ entry by entry; $\max(v)$ the largest $v_i$",
          r"$\max(a, b)$: $\delta$ goes to $a$ where $a \ge b$ (a tie to the first operand), else to $b$; "
          r"$\max(v)$: $\delta$ goes to the first largest $v_i$"),
    Whole("min", (1, 2), r"$\min(a, b)$ entry by entry; $\min(v)$ the smallest $v_i$",
          r"$\min(a, b)$: $\delta$ goes to $a$ where $a \le b$ (a tie to the first operand), else to $b$; "
          r"$\min(v)$: $\delta$ goes to the first smallest $v_i$"),
    Whole("log_softmax", (1,), r"log_softmax: $s_i - \log \sum_j e^{s_j}$, row by row for a matrix",
          r"log_softmax: $\partial L/\partial s = g - \operatorname{softmax}(s) \sum_i g_i$, "
          r"$g = \partial L/\partial \ell$ (row by row)"),
    Whole("logsumexp", (1,), r"$\operatorname{logsumexp}(v) = \log \sum_i e^{v_i}$",
          r"$\partial \operatorname{logsumexp}(v)/\partial v = \operatorname{softmax}(v)$"),
    Whole("var", (1,), r"$\operatorname{var}(v) = (1/n) \sum_i (v_i - \bar{v})^2$, $\bar{v}$ the mean",
          r"$\partial \operatorname{var}(v)/\partial v_i = (2/n)(v_i - \bar{v})$"),
    Whole("norm", (1,), r"$\operatorname{norm}(v) = \sqrt{\sum_i v_i^2}$",
          r"$\partial \operatorname{norm}(v)/\partial v = v / \operatorname{norm}(v)$ (none at $v = 0$)"),
)}

REDUCTIONS = {"sum": r"$\operatorname{sum}(v) = \sum_i v_i$", "mean": r"$\operatorname{mean}(v) = (1/n) \sum_i v_i$"}
MATMUL_RULE = r"$z = W x$: $\delta_x = W^\top \delta_z$, $\delta_W = \delta_z x^\top$ (for $z = x^\top W$: $\delta_W = x \delta_z^\top$)"
SOFTMAX_CE_RULE = (r"$\mathrm{CE}(\operatorname{softmax}(s), t)$: $\partial L/\partial s = \operatorname{softmax}(s) \sum_i t_i - t = p - t$ "
                   "when the targets sum to 1")
SIGMOID_BCE_RULE = r"$\mathrm{BCE}(\sigma(z), t)$: $\partial L/\partial z = \sigma(z) - t$, and $\partial L/\partial t = -z$"
SOFTMAX_RULE = (r"softmax: $\partial L/\partial s = p \odot (\partial L/\partial p - p^\top \partial L/\partial p)$, "
                r"$p = \operatorname{softmax}(s)$; row by row for a matrix")

INDEX_RULE = r"indexing: $\delta_x$ is $\delta_y$ in the entries read, 0 elsewhere"
JOIN_RULE = r"concat, stack: each part's $\delta$ is the entries of $\delta$ it fills"
JOINS = frozenset({"concat", "stack"})  # join values

FUNCTIONS = frozenset(ELEMENTWISE) | frozenset(LOSSES) | frozenset(REDUCTIONS) | frozenset(WHOLE) | JOINS | {"softmax"}
# Names a file may not give a node or parameter: the functions there were before the rest, so that
# every file reads as it did; a later function's name is reserved only where it is called.
RESERVED = frozenset({"relu", "sigmoid", "tanh", "exp", "log", "softplus", "abs", "cosh", "sinh", "sqrt",
                      "linear", "identity", "sign", "step", "sse", "half_sse", "mse", "l1", "mae", "log_cosh",
                      "cross_entropy", "bce", "sum", "mean", "softmax"})
