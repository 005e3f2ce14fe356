"""Cross-entropies of a sigmoid or a softmax, and log cosh, evaluated without cancellation.

Written out as on a sheet, bce(σ(z), t) takes log(1 − σ(z)), which for z ≈ 80 is the log of a
difference of two numbers equal to 35 digits, and of 0 for z ≥ 100. Here every quantity is a
sum of terms of one sign: log(1 − σ(z)) = −softplus(z), softplus(z) = max(z, 0) + log1p(e^−|z|),
log softmax(s)ᵢ = sᵢ − m − log1p(Σ_{j≠k} e^(sⱼ − m)) with m = s_k the largest score.
All functions take and return mpmath numbers; the caller sets the working precision.
"""
from __future__ import annotations

import mpmath


def softplus(z):
    """log(1 + e^z)."""
    return max(z, 0) + mpmath.log1p(mpmath.exp(-abs(z)))


def sigmoid(z):
    """1 / (1 + e^−z), from whichever side keeps e^(…) small."""
    if z >= 0:
        return 1 / (1 + mpmath.exp(-z))
    e = mpmath.exp(z)
    return e / (1 + e)


def bce_of_logit(z, t):
    """bce(σ(z), t) = t·softplus(−z) + (1 − t)·softplus(z), a t of 0 or 1 dropping its term."""
    return _times(t, softplus(-z)) + _times(1 - t, softplus(z))


def bce_of_logit_slope(z, t):
    """∂bce(σ(z), t)/∂z = σ(z) − t, written (1 − t)·σ(z) − t·σ(−z) so that t = 1 loses nothing."""
    return _times(1 - t, sigmoid(z)) - _times(t, sigmoid(-z))


def log_cosh(x):
    """log cosh x: log1p(2 sinh²(x/2)) near 0, else |x| − log 2 + log1p(e^−2|x|)."""
    a = abs(x)
    if a < 1:
        return mpmath.log1p(2 * mpmath.sinh(a / 2) ** 2)
    tail = mpmath.log1p(mpmath.exp(-2 * a)) if 2 * a < mpmath.mp.prec else 0  # else below the last digit
    return a - mpmath.log(2) + tail


def _times(c, x):
    return 0 if c == 0 else c * x


def _top(s):
    """The index of the largest score and r = Σ_{j≠k} e^(sⱼ − s_k), so that Σⱼ e^sⱼ = e^s_k (1 + r)."""
    k = max(range(len(s)), key=lambda i: s[i])
    return k, mpmath.fsum(mpmath.exp(v - s[k]) for j, v in enumerate(s) if j != k)


def neg_log_softmax(s):
    """−log softmax(s)ᵢ = (m − sᵢ) + log1p(r) for every i: two terms of one sign each."""
    k, r = _top(s)
    tail = mpmath.log1p(r)
    return [(s[k] - v) + tail for v in s]


def softmax(s):
    """softmax(s)ᵢ = e^(sᵢ − m) / (1 + r)."""
    k, r = _top(s)
    return [mpmath.exp(v - s[k]) / (1 + r) for v in s]


def softmax_cross_entropy(s, t):
    """cross_entropy(softmax(s), t) = Σᵢ tᵢ·(−log softmax(s)ᵢ), a tᵢ of 0 dropping its term."""
    return mpmath.fsum(_times(c, x) for c, x in zip(t, neg_log_softmax(s)))


def softmax_cross_entropy_slope(s, t):
    """∂L/∂s = softmax(s)·Σt − t; at the largest score, (Σ_{j≠k} tⱼ) − q·Σt with q = r/(1 + r) = 1 − p_k."""
    k, r = _top(s)
    p = softmax(s)
    rest = mpmath.fsum(c for j, c in enumerate(t) if j != k)
    total = rest + t[k]
    out = [pi * total - c for pi, c in zip(p, t)]
    out[k] = rest - (r / (1 + r)) * total
    return out


def logsumexp(s):
    """log Σᵢ e^sᵢ = m + log1p(r)."""
    k, r = _top(s)
    return s[k] + mpmath.log1p(r)
