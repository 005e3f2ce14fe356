"""The float path: a graph's forward pass, loss and gradients over a whole batch at once (NumPy).

The same rules as the exact engine (rules.py), read by an Algebra whose values are float64 arrays
of shape (batch, rows, cols): a scalar is (…, 1, 1), a vector a column (…, n, 1). A value that is
the same for every sample (a weight) has batch size 1 and is broadcast.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from .algebra import Algebra, ShapeError, T
from .errors import UsageError
from .expr import names_in
from .graph import Graph
from .ops import LOSSES
from .rules import backward, forward


def _sigmoid(z):
    # e^(−|z|) never overflows: σ(z) = 1/(1 + e^(−z)) for z ≥ 0 and e^z/(1 + e^z) below
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _normal_cdf(z):
    return 0.5 * (1 + np.vectorize(math.erf, otypes=[float])(z / math.sqrt(2)))


def _softplus(z):
    return np.logaddexp(0.0, z)


# name → (f, f′), the float readings of ops.ELEMENTWISE (a test checks each against that table)
FUNCTIONS = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * _sigmoid(-z)),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "exp": (np.exp, np.exp),
    "log": (np.log, lambda z: 1 / z),
    "softplus": (_softplus, _sigmoid),
    "abs": (np.abs, np.sign),
    "cosh": (np.cosh, np.sinh),
    "sinh": (np.sinh, np.cosh),
    "sqrt": (np.sqrt, lambda z: 1 / (2 * np.sqrt(z))),
    "linear": (lambda z: z, np.ones_like),
    "identity": (lambda z: z, np.ones_like),
    "sign": (np.sign, np.zeros_like),
    "step": (lambda z: (z > 0).astype(float), np.zeros_like),
    "leaky_relu": (lambda z, a: np.where(z > 0, z, a * z), lambda z, a: np.where(z > 0, 1.0, a)),
    "elu": (lambda z, a: np.where(z > 0, z, a * np.expm1(np.minimum(z, 0.0))),
            lambda z, a: np.where(z > 0, 1.0, a * np.exp(np.minimum(z, 0.0)))),
    "silu": (lambda z: z * _sigmoid(z), lambda z: _sigmoid(z) * (1 + z * _sigmoid(-z))),
    "gelu": (lambda z: z * _normal_cdf(z), lambda z: _normal_cdf(z) + z * np.exp(-z * z / 2) / np.sqrt(2 * np.pi)),
    "hardtanh": (lambda z: np.clip(z, -1.0, 1.0), lambda z: ((z > -1) & (z < 1)).astype(float)),
}


def _xlogy(c, x):
    """c·log x, and 0 where c is 0 (the cross-entropies' 0·log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c == 0, 0.0, c * np.log(np.where(c == 0, 1.0, x)))


# name → the i-th summand of the loss, as ops.LOSSES writes it (a test checks each against that table)
LOSS_TERMS = {
    "sse": lambda y, t: (y - t) ** 2,
    "half_sse": lambda y, t: (y - t) ** 2,
    "mse": lambda y, t: (y - t) ** 2,
    "l1": lambda y, t: np.abs(y - t),
    "mae": lambda y, t: np.abs(y - t),
    "log_cosh": lambda y, t: np.logaddexp(y - t, t - y) - np.log(2.0),
    "cross_entropy": lambda p, t: -_xlogy(t, p),
    "bce": lambda p, t: -(_xlogy(t, p) + _xlogy(1 - t, 1 - p)),
    "hinge": lambda y, t: np.maximum(0.0, 1 - t * y),
    "squared_hinge": lambda y, t: np.maximum(0.0, 1 - t * y) ** 2,
    "huber": lambda y, t, d: np.where(np.abs(y - t) <= d, (y - t) ** 2 / 2, d * (np.abs(y - t) - d / 2)),
    "nll": lambda y, t: t * y,
    "kl": lambda p, q: _xlogy(p, p) - _xlogy(p, q),
}


def dims(shape: tuple) -> tuple[int, int]:
    """The (rows, cols) an array of a node's shape has after its batch axis: a scalar is 1×1, a vector a column."""
    return (1, 1) if shape == () else (shape[0], 1) if len(shape) == 1 else shape


def _sum(a):
    return a.sum(axis=(1, 2), keepdims=True)


def _logsumexp(s, axes=(1, 2)):
    top = s.max(axis=axes, keepdims=True)
    return top + np.log(np.exp(s - top).sum(axis=axes, keepdims=True))


def _axes(shape: tuple) -> tuple:
    """The axes a softmax normalises over: the whole vector, or each row of a matrix."""
    return (2,) if len(shape) == 2 else (1, 2)


class Batch(Algebra):
    """The tensor operations on float arrays (batch, rows, cols), every sample at once."""

    def const(self, v) -> T:
        return T(np.full((1, 1, 1), float(v)), ())

    def mul(self, a: T, b: T) -> T:
        if a.shape == ():
            return T(self._scale(a.x, b.x, b.shape), b.shape)
        if b.shape == ():
            return T(self._scale(b.x, a.x, a.shape), a.shape)
        return super().mul(a, b)

    def _fill(self, x, shape):
        r, c = dims(shape)
        return np.broadcast_to(x, (x.shape[0], r, c))

    def tensor(self, name: str, shape: tuple, operands: list, entries, keywords: tuple = ()) -> T:
        """Each sample's entries by the layer's own rule on its numbers (a layer is held to layer_products)."""
        arrays = [np.asarray(t.x, dtype=float) for t in operands]
        samples = max(a.shape[0] for a in arrays)
        r, c = dims(shape)
        out = np.empty((samples, r, c))
        for b in range(samples):
            numbers = [a[b if a.shape[0] > 1 else 0].reshape(-1).tolist() for a in arrays]
            out[b] = np.asarray(entries(*numbers), dtype=float).reshape(r, c)
        return T(out, shape)

    def _add(self, a, b, shape):
        return a + b

    def _scale(self, s, a, shape):
        return s * a

    def _negate(self, a, shape):
        return -a

    def _hadamard(self, a, b, shape):
        return a * b

    def _div(self, a, b, shape):
        return a / b

    def _pow(self, a, k, shape):
        return a ** k

    def _hpow(self, a, k, shape):
        return a ** k

    def ratio(self, c: T, x: T) -> T:
        """c / x, and 0 where c is 0."""
        q = self.div(c, x)
        c_full = self.lift(c, q.shape).x
        with np.errstate(divide="ignore", invalid="ignore"):
            return T(np.where(c_full == 0, 0.0, q.x), q.shape)

    def _matmul(self, a, b):
        return np.matmul(a, b)

    def _dot(self, a, b):
        return _sum(a * b)

    def _transpose(self, a):
        return np.swapaxes(a, -1, -2)

    def _apply(self, name, a, shape, derivative, params=()):
        return FUNCTIONS[name][1 if derivative else 0](a, *params)

    def _pairwise(self, name, a, b, shape):
        return (np.maximum if name == "max" else np.minimum)(a, b)

    def _whole(self, name, a: T, shape):
        x = a.x
        if name == "log_softmax":
            return x - _logsumexp(x, _axes(a.shape))
        if name in ("max", "min"):
            return (np.max if name == "max" else np.min)(x, axis=(1, 2), keepdims=True)
        if name == "var":
            return np.mean((x - np.mean(x, axis=(1, 2), keepdims=True)) ** 2, axis=(1, 2), keepdims=True)
        if name == "norm":
            return np.sqrt(_sum(x * x))
        return _logsumexp(x)

    def _first_extreme(self, name, a: T):
        flat = a.x.reshape(a.x.shape[0], -1)
        first = (np.argmax if name == "max" else np.argmin)(flat, axis=1)  # the first in reading order
        return (np.arange(flat.shape[1]) == first[:, None]).astype(float).reshape(a.x.shape)

    def softmax(self, a: T) -> T:
        return T(np.exp(a.x - _logsumexp(a.x, _axes(a.shape))), a.shape)

    def _total(self, a):
        return _sum(a)

    def _take(self, x, w):
        block = x[:, w.rows.start:w.rows.stop, w.cols.start:w.cols.stop]
        return np.swapaxes(block, -1, -2) if w.across else block

    def _join(self, xs, windows, shape):
        r, c = dims(shape)
        out = np.zeros((max(x.shape[0] for x in xs), r, c))
        for x, w in zip(xs, windows):
            out[:, w.rows.start:w.rows.stop, w.cols.start:w.cols.stop] = np.swapaxes(x, -1, -2) if w.across else x
        return out

    def loss(self, name: str, y: T, t: T, *params: T) -> T:
        n = int(np.prod(dims(y.shape)))
        scale = float(LOSSES[name].scale(n))
        return T(scale * _sum(LOSS_TERMS[name](y.x, t.x, *(p.x for p in params))), ())

    def sigmoid_bce(self, z: T, t: T) -> T:
        return T(_sum(_softplus(z.x) - t.x * z.x), ())

    def sigmoid_bce_slope(self, z: T, t: T) -> T:
        return T(_sigmoid(z.x) - t.x, z.shape)

    def softmax_cross_entropy(self, s: T, t: T) -> T:
        return T(_sum(t.x) * _logsumexp(s.x) - _sum(t.x * s.x), ())

    def neg_log_softmax(self, s: T) -> T:
        return T(_logsumexp(s.x) - s.x, s.shape)


def _array(value, shape: tuple) -> np.ndarray:
    r, c = dims(shape)
    return np.asarray(value, dtype=float).reshape(-1, r, c)


def float_leaves(graph: Graph) -> dict:
    """Every leaf with a given value, as float64 of shape (1, rows, cols); leaves left as symbols
    are not in it (they are given per sample, see batch_of)."""
    out = {}
    for node in graph.nodes.values():
        if node.expr is not None:
            continue
        given = sp.sympify(node.given)
        if getattr(given, "free_symbols", None):
            continue
        out[node.name] = _array(np.array(given.tolist() if hasattr(given, "tolist") else given, dtype=float),
                                node.shape)
    return out


def batch_of(graph: Graph, name: str, values) -> np.ndarray:
    """Per-sample values of a leaf, as (B, rows, cols), from an array (B,), (B, n) or (B, m, n)."""
    shape = graph.nodes[name].shape
    a = np.asarray(values, dtype=float)
    r, c = dims(shape)
    if a.size % (r * c) or (a.ndim > 1 and int(np.prod(a.shape[1:])) != r * c):
        raise UsageError(f"{name} takes {r * c} number(s) per sample, not {a.shape[1:] or 1}")
    return a.reshape(-1, r, c)


def forward_batch(graph: Graph, leaves: dict) -> dict:
    """Every node's value for every sample: (B or 1, rows, cols) arrays by name."""
    env = _environment(graph, leaves)
    return {n: t.x for n, t in env.items()}


def _environment(graph: Graph, leaves: dict) -> dict:
    missing = [n for n, node in graph.nodes.items() if node.expr is None and n not in leaves]
    if missing:
        raise UsageError("no value for " + ", ".join(missing))
    A = Batch()
    env = {n: T(np.asarray(v, dtype=float), graph.nodes[n].shape) for n, v in leaves.items()}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for node in graph.computed:
            try:
                env[node.name] = forward(node.expr, A, env)
            except ShapeError as e:
                raise graph.error(f"{e} in {node.text!r}", key=node.key) from None
    return env


def loss_and_gradients(graph: Graph, leaves: dict, wrt, of: str = "L") -> tuple[float, dict]:
    """The mean over the batch of the loss, and its gradient in each name of wrt as (rows, cols)."""
    env = _environment(graph, leaves)
    batch = max(v.x.shape[0] for v in env.values())
    loss = env[of].x
    A = Batch()
    acc: dict = {of: T(np.full((batch, 1, 1), 1.0 / batch), ())}
    need = _between(graph, set(wrt), of)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for node in reversed(graph.computed):
            if node.name not in need or node.name not in acc:
                continue
            try:
                backward(node.expr, A, env, acc[node.name], acc, need)
            except ShapeError as e:
                raise graph.error(f"{e} in {node.text!r}", key=node.key) from None
    grads = {}
    for name in wrt:
        r, c = dims(graph.nodes[name].shape)
        g = acc.get(name)
        grads[name] = np.zeros((r, c)) if g is None else np.broadcast_to(g.x, (g.x.shape[0], r, c)).sum(axis=0)
    return float(np.mean(np.broadcast_to(loss, (batch, 1, 1)))), grads


def _between(graph: Graph, names: set, of: str) -> frozenset:
    """The names, and every node on a path from one of them up to `of`: what the backward pass must reach."""
    below = set(names)
    for node in graph.computed:
        if not below.isdisjoint(names_in(node.expr)):
            below.add(node.name)
    return frozenset(below & graph.ancestors(of)) | frozenset(names)


def natural(array, shape: tuple):
    """A (rows, cols) or (1, rows, cols) array as the node's own shape: a float, a vector or a matrix."""
    a = np.asarray(array, dtype=float).reshape(dims(shape))
    if shape == ():
        return float(a[0, 0])
    return a[:, 0].copy() if len(shape) == 1 else a.copy()
