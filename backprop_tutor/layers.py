"""Layers a sheet writes as one operation (convolution, pooling, normalisation, dropout): each one's
forward, its backward rule as sheets write it, and the rule's text; written once against an Algebra."""
from __future__ import annotations

import functools
from fractions import Fraction

from msgspec import Struct
import sympy as sp

from .algebra import Algebra, ScalarFunc, ShapeError, T, describe
from .expr import BinOp, Call, Num
from .limits import Limits
from .ops import step


class Layer(Struct, frozen=True):
    """One layer: how many tensor operands it takes, its whole-number settings (positional after the
    operands, or by keyword) with their defaults, and its definition and rule as rule text."""

    name: str
    operands: int
    settings: tuple = ()   # (keyword, default); a default of None means "the size" (a pooling's stride)
    definition: str = ""
    rule: str = ""


CONV1D_DEFINITION = r"cross-correlation: $z_i = \sum_j k_j x_{s(i-1)+j}$ (stride $s$, zeros as padding)"
CONV2D_DEFINITION = r"cross-correlation: $Z_{ij} = \sum_{a,b} K_{ab} X_{s(i-1)+a,s(j-1)+b}$ (stride $s$, zeros as padding)"
CONV1D_RULE = (r"$\partial L/\partial k_j = \sum_i \delta_i x_{s(i-1)+j}$ (the input correlated with $\delta$); "
               r"$\partial L/\partial x_m = \sum_i \delta_i k_{m-s(i-1)}$ (the full convolution of $\delta$ "
               "with the flipped kernel)")
CONV2D_RULE = (r"$\partial L/\partial K_{ab} = \sum_{i,j} \delta_{ij} X_{s(i-1)+a,s(j-1)+b}$ (the input correlated "
               r"with $\delta$); $\partial L/\partial X$ is the full convolution of $\delta$ with the flipped kernel")
MAXPOOL_DEFINITION = r"max-pooling: each output is the largest entry of its window"
MAXPOOL_RULE = (r"max-pooling: $\delta$ goes to the arg-max of each window (on a tie, to the first maximum "
                r"in reading order); the other entries get 0")
AVGPOOL_DEFINITION = r"average pooling: each output is the mean of its window"
AVGPOOL_RULE = r"average pooling: each entry of a window gets $\delta/n$, $n$ the window's size"
NORM_DEFINITION = (r"$\hat x = (x - \mu)/\sqrt{v + \varepsilon}$, $y = \gamma \odot \hat x + \beta$, "
                   r"$\mu$ the mean and $v$ the variance (with $1/n$) of each group")
NORM_RULE = (r"$\partial L/\partial x_i = \frac{1}{n \sigma} (n g_i - \sum_j g_j - \hat x_i \sum_j g_j \hat x_j)$, "
             r"$g = \gamma \odot \delta$, $\sigma = \sqrt{v + \varepsilon}$; "
             r"$\partial L/\partial \gamma = \sum \delta \odot \hat x$, $\partial L/\partial \beta = \sum \delta$")
DROPOUT_DEFINITION = r"inverted dropout: $y = m \odot x/(1 - p)$ with the given mask $m$ of 0s and 1s"
DROPOUT_RULE = r"dropout: $\delta_x = m \odot \delta_y/(1 - p)$"

LAYERS: dict[str, Layer] = {layer.name: layer for layer in (
    Layer("conv1d", 2, (("stride", 1), ("padding", 0)), CONV1D_DEFINITION, CONV1D_RULE),
    Layer("conv2d", 2, (("stride", 1), ("padding", 0)), CONV2D_DEFINITION, CONV2D_RULE),
    Layer("maxpool1d", 1, (("size", 2), ("stride", None)), MAXPOOL_DEFINITION, MAXPOOL_RULE),
    Layer("maxpool2d", 1, (("size", 2), ("stride", None)), MAXPOOL_DEFINITION, MAXPOOL_RULE),
    Layer("avgpool1d", 1, (("size", 2), ("stride", None)), AVGPOOL_DEFINITION, AVGPOOL_RULE),
    Layer("avgpool2d", 1, (("size", 2), ("stride", None)), AVGPOOL_DEFINITION, AVGPOOL_RULE),
    Layer("batchnorm", 4, (), "batch normalisation, per column over the rows of the batch: " + NORM_DEFINITION,
          NORM_RULE),
    Layer("layernorm", 4, (), "layer normalisation, per row: " + NORM_DEFINITION, NORM_RULE),
    Layer("dropout", 3, (), DROPOUT_DEFINITION, DROPOUT_RULE),  # worked as the expression spelled_out gives
)}

WINDOWED = frozenset({"conv1d", "conv2d", "maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d"})
"""Layers whose every output entry is one window's sum or maximum, written entry by entry."""
PER_ENTRY = WINDOWED | {"dropout"}
"""Layers written entry by entry in the forward pass."""
PER_ENTRY_BACK = PER_ENTRY - {"maxpool1d", "maxpool2d"}
"""Those written entry by entry in the backward pass too (max-pooling routes δ by the values instead)."""

KEYWORDS = {name: tuple(k for k, _ in layer.settings) for name, layer in LAYERS.items()}
"""The keywords each function takes, for the parser."""


def settings(call: Call) -> dict:
    """The call's whole-number settings (stride, padding, size), each given or its default; a ShapeError
    for a positional setting that is not a whole number or a setting given twice."""
    layer = LAYERS[call.func]
    extra = call.args[layer.operands:]
    if len(call.args) < layer.operands or len(extra) > len(layer.settings):
        most = layer.operands + len(layer.settings)
        took = f"{layer.operands} to {most}" if most > layer.operands else f"{most}"
        raise ShapeError(f"{call.func} takes {took} arguments, not {len(call.args)}")
    out = {}
    for (name, _), arg in zip(layer.settings, extra):
        if not (isinstance(arg, Num) and arg.value.denominator == 1 and arg.value >= 0):
            raise ShapeError(f"the {name} of {call.func} must be a whole number")
        out[name] = int(arg.value)
    for name, value in call.keywords:
        if name in out:
            raise ShapeError(f"the {name} of {call.func} is given twice")
        out[name] = value
    for name, default in layer.settings:
        out.setdefault(name, default)
    if "size" in out and out["stride"] is None:
        out["stride"] = out["size"]
    for name in ("stride", "size"):
        if out.get(name, 1) < 1:
            raise ShapeError(f"the {name} of {call.func} must be at least 1, not {out[name]}")
    return out


def products(call: Call, shapes: list) -> int:
    """The multiply-adds the layer costs on operands of these shapes (checked against layer_products)."""
    if call.func in ("batchnorm", "layernorm", "dropout"):
        return 4 * _count(shapes[0])
    return _count(_out_shape(call, shapes, settings(call))) * _window_size(call, shapes)


def check(call: Call, shapes: list, limits: Limits) -> str | None:
    """Why the layer is beyond layer_products, or None."""
    n = products(call, shapes)
    if n > limits.layer_products:
        return limits.message("layer_products", f"{call.func} takes {n} multiply-adds")
    return None


def spelled_out(call: Call):
    """A layer that is an expression of the others, as that expression (dropout(x, m, p) is
    m * x / (1 - p)); None for the others."""
    if call.func != "dropout":
        return None
    if len(call.args) != 3 or call.keywords:
        raise ShapeError(f"dropout takes 3 arguments (x, mask, p), not {len(call.args) + len(call.keywords)}")
    x, mask, p = call.args
    return BinOp("/", BinOp("*", mask, x), BinOp("-", Num(Fraction(1)), p))


def forward(call: Call, A: Algebra, args: list) -> T:
    """The layer's value (or formula) from its operands' values (or symbols)."""
    f = call.func
    opts = settings(call)
    if f in ("batchnorm", "layernorm") and not isinstance(call.args[3], Num):
        raise ShapeError(f"the ε of {f} must be a number such as 0.00001 (it is not trained)")
    shapes = [a.shape for a in args[:LAYERS[f].operands]]
    if f.startswith("conv"):
        x, k = args
        return A.tensor(f, _out_shape(call, shapes, opts), [x, k],
                        lambda xs, ks: [_sum([_times(ks[a], xs[m]) for a, m in w]) for w in _windows(call, shapes)],
                        _shown(opts, (("stride", 1), ("padding", 0))))
    if f.startswith(("maxpool", "avgpool")):
        pick = _first_max if f.startswith("max") else _mean
        return A.tensor(f, _out_shape(call, shapes, opts), [args[0]],
                        lambda xs: [pick([xs[m] for _, m in w]) for w in _windows(call, shapes)],
                        _shown(opts, (("size", None), ("stride", opts["size"]))))
    x, gamma, beta, eps = args
    groups = _norm_groups(f, x, gamma, beta, eps)
    return A.tensor(f, x.shape, [x, gamma, beta, eps],
                    lambda xs, gs, bs, es: _normalised(xs, gs, bs, es[0], groups, _feature(x.shape)))


def gradient(call: Call, A: Algebra, args: list, delta: T, i: int) -> T:
    """∂L/∂(operand i) of the layer, given δ = ∂L/∂(its value), as sheets write it."""
    f = call.func
    opts = settings(call)
    shapes = [a.shape for a in args[:LAYERS[f].operands]]
    if f.startswith("conv"):
        return _conv_gradient(call, A, args, delta, i, shapes, opts)
    if f.startswith(("maxpool", "avgpool")):
        shown = _shown(opts, (("size", None), ("stride", opts["size"])))
        x = args[0]
        if f.startswith("max"):
            return A.tensor(f + "_back", x.shape, [delta, x],
                            lambda ds, xs: _routed(ds, xs, _windows(call, shapes)), shown)
        return A.tensor(f + "_back", x.shape, [delta],
                        lambda ds: _spread(ds, _count(x.shape), _windows(call, shapes)), shown)
    x, gamma, beta, eps = args
    groups = _norm_groups(f, x, gamma, beta, eps)
    feature = _feature(x.shape)
    if i == 0:
        return A.tensor(f + "_dx", x.shape, [delta, x, gamma, eps],
                        lambda ds, xs, gs, es: _norm_dx(ds, xs, gs, es[0], groups, feature))
    if i == 1:
        return A.tensor(f"{f}_dgamma", gamma.shape, [delta, x, eps],
                        lambda ds, xs, es: _norm_dparam(ds, xs, es[0], groups, feature, _count(gamma.shape), True))
    return A.tensor(f"{f}_dbeta", beta.shape, [delta],
                    lambda ds: _norm_dparam(ds, None, None, groups, feature, _count(beta.shape), False))


# -- convolution ------------------------------------------------------------------------------

def _conv_gradient(call, A, args, delta, i, shapes, opts):
    x, k = args
    s, p = opts["stride"], opts["padding"]
    n_x, n_k = _count(x.shape), _count(k.shape)
    if i == 1:  # the input correlated with δ (δ spread out by the stride)
        shown = _shown({"padding": p, "dilation": s}, (("padding", 0), ("dilation", 1)))
        return A.tensor(call.func, k.shape, [x, delta], lambda xs, ds: _scatter(
            n_k, ((a, _times(ds[o], xs[m])) for o, w in enumerate(_windows(call, shapes)) for a, m in w)), shown)
    side = min(k.shape[0], k.shape[1]) if len(k.shape) == 2 else k.shape[0]
    if s == 1 and p <= side - 1 and _square_or_vector(k.shape):  # the full convolution of δ with the flipped kernel
        flipped = A.tensor("flip", k.shape, [k], lambda ks: ks[::-1])
        return A.tensor(call.func, x.shape, [delta, flipped], lambda ds, fs: _scatter(
            n_x, ((m, _times(ds[o], fs[n_k - 1 - a])) for o, w in enumerate(_windows(call, shapes)) for a, m in w)),
                        _shown({"padding": side - 1 - p}, (("padding", 0),)))
    return A.tensor(call.func.replace("conv", "conv_transpose"), x.shape, [delta, k], lambda ds, ks: _scatter(
        n_x, ((m, _times(ds[o], ks[a])) for o, w in enumerate(_windows(call, shapes)) for a, m in w)),
                    _shown(opts, (("stride", 1), ("padding", 0))))


def _square_or_vector(shape) -> bool:
    return len(shape) == 1 or shape[0] == shape[1]


# -- windows -----------------------------------------------------------------------------------

def _grid(shape) -> tuple:
    """A 1-D shape as one row."""
    return (1, shape[0]) if len(shape) == 1 else shape


def _kernel(call: Call, shapes: list, opts: dict) -> tuple:
    if call.func.startswith("conv"):
        return _grid(shapes[1])
    size = opts["size"]
    return (1, size) if call.func.endswith("1d") else (size, size)


def _checked_shapes(call: Call, shapes: list, opts: dict):
    f = call.func
    want = 1 if f.endswith("1d") else 2
    for shape, what in zip(shapes, ("input", "kernel")):
        if len(shape) != want:
            kind = "a vector" if want == 1 else "a matrix"
            raise ShapeError(f"the {what} of {f} must be {kind}, not {describe(shape)}")
    (h, w), (kh, kw) = _grid(shapes[0]), _kernel(call, shapes, opts)
    p = opts.get("padding", 0)
    ph = 0 if want == 1 else p
    if kh > h + 2 * ph or kw > w + 2 * p:
        what = "kernel" if f.startswith("conv") else "window"
        raise ShapeError(f"the {what} of {f} ({kh}×{kw}) is larger than its input ({h}×{w}"
                         + (f" padded by {p}" if p else "") + ")")
    return (h, w), (kh, kw), (1 if want == 1 else opts["stride"], opts["stride"]), (ph, p)


def _windows(call: Call, shapes: list) -> tuple:
    """For each output entry in reading order, the (kernel entry, input entry) pairs of its window that
    lie inside the input (padding reads zeros), both as row-major positions; worked out once per layer."""
    return _window_table(call, tuple(shapes))


@functools.lru_cache(maxsize=64)
def _window_table(call: Call, shapes: tuple) -> tuple:
    opts = settings(call)
    (h, w), (kh, kw), (sh, sw), (ph, pw) = _checked_shapes(call, shapes, opts)
    out = []
    for i in range((h + 2 * ph - kh) // sh + 1):
        for j in range((w + 2 * pw - kw) // sw + 1):
            out.append(tuple((a * kw + b, r * w + c) for a in range(kh) for b in range(kw)
                             for r, c in [(i * sh + a - ph, j * sw + b - pw)] if 0 <= r < h and 0 <= c < w))
    return tuple(out)


def _window_size(call: Call, shapes: list) -> int:
    kh, kw = _kernel(call, shapes, settings(call))
    return kh * kw


def _out_shape(call: Call, shapes: list, opts: dict) -> tuple:
    (h, w), (kh, kw), (sh, sw), (ph, pw) = _checked_shapes(call, shapes, opts)
    cols = (w + 2 * pw - kw) // sw + 1
    return (cols,) if call.func.endswith("1d") else ((h + 2 * ph - kh) // sh + 1, cols)


def _shown(opts: dict, defaults: tuple) -> tuple:
    """The settings worth writing in a formula: those not at their default."""
    out = []
    for name, default in defaults:
        if opts.get(name, default) != default:
            out.append((name, opts[name]))
    return tuple(out)


# -- arithmetic on element lists (numbers, or symbols for the per-entry lines) -----------------

def _numeric(*values) -> bool:
    """Numbers all (exact ones, or the floats of the floating-point path), not symbols."""
    return all(isinstance(v, (int, float)) or isinstance(v, sp.Basic) and v.is_number for v in values)


def _times(a, b):
    """a·b, kept in this order when it has symbols (K₁₁X₁₁, as the window is read)."""
    return a * b if _numeric(a, b) else sp.Mul(a, b, evaluate=False)


def _sum(terms: list):
    """Σ terms, kept in this order when they have symbols; 0 for none."""
    if not terms:
        return sp.Integer(0)
    if len(terms) == 1:
        return terms[0]
    return sum(terms[1:], terms[0]) if _numeric(*terms) else sp.Add(*terms, evaluate=False)


def _scatter(n: int, pairs) -> list:
    """n sums, each of the terms (position, term) sent to it, in the order they come."""
    bins: list = [[] for _ in range(n)]
    for m, term in pairs:
        bins[m].append(term)
    return [_sum(b) for b in bins]


def _first_max(values: list):
    if _numeric(*values):
        return max(values)  # the value; which entry holds it matters only to the backward pass
    return ScalarFunc("max", *values)  # every entry of the window written, the equal ones too


def _mean(values: list):
    return _sum(values) / len(values)


def _first_argmax(values: list) -> list:
    """1 for the entry that gets δ (the first maximum in reading order), 0 for the others; with symbols,
    the same as steps: step(v_m − v_j) for each earlier j, 1 − step(v_j − v_m) for each later j."""
    if _numeric(*values):
        top = max(values)
        first = values.index(top)
        return [sp.Integer(int(m == first)) for m in range(len(values))]
    out = []
    for m, v in enumerate(values):
        factors = [step(v - u) for u in values[:m]] + [1 - step(u - v) for u in values[m + 1:]]
        out.append(sp.Mul(*factors))
    return out


def _routed(ds: list, xs: list, windows: list) -> list:
    pairs = []
    for o, w in enumerate(windows):
        for (_, m), gets in zip(w, _first_argmax([xs[m] for _, m in w])):
            if gets != 0:
                pairs.append((m, ds[o] if gets == 1 else _times(gets, ds[o])))
    return _scatter(len(xs), pairs)


def _spread(ds: list, n: int, windows: list) -> list:
    return _scatter(n, ((m, ds[o] / len(w)) for o, w in enumerate(windows) for _, m in w))


# -- normalisation -----------------------------------------------------------------------------

def _norm_groups(f: str, x: T, gamma: T, beta: T, eps: T) -> list:
    """The row-major positions normalised together: the columns of a batch, the rows of a layer."""
    if eps.shape != ():
        raise ShapeError(f"the ε of {f} must be a scalar, not {describe(eps.shape)}")
    features = x.shape[-1]
    if f == "batchnorm" and len(x.shape) != 2:
        raise ShapeError(f"batchnorm needs a batch (a matrix, one sample per row), not {describe(x.shape)}")
    if len(x.shape) not in (1, 2):
        raise ShapeError(f"{f} needs a vector or a matrix, not {describe(x.shape)}")
    for what, v in (("γ", gamma), ("β", beta)):
        if v.shape not in ((features,), ()) and not (features == 1 and v.shape == (1,)):
            raise ShapeError(f"the {what} of {f} must be a vector of length {features}, not {describe(v.shape)}")
    rows = 1 if len(x.shape) == 1 else x.shape[0]
    if f == "batchnorm":
        if rows < 2:
            raise ShapeError("batchnorm needs a batch of at least 2 rows")
        return [[r * features + j for r in range(rows)] for j in range(features)]
    if features < 2:
        raise ShapeError("layernorm needs at least 2 entries in a row")
    return [[r * features + j for j in range(features)] for r in range(rows)]


def _feature(shape: tuple):
    """Which γ and β entry a row-major position uses: its column."""
    return lambda m: m % shape[-1]


def _at(values: list, j: int):
    return values[0] if len(values) == 1 else values[j]


def _statistics(xs: list, eps, group: list):
    """μ, σ = √(v + ε) and x̂ of one group (v with 1/n)."""
    n = len(group)
    values = [xs[m] for m in group]
    if _numeric(*values):
        mu = _sum(values) / n
        var = _sum([(v - mu) ** 2 for v in values]) / n
    else:  # one entry's formula, written with the group's mean and variance by name
        mu, var = ScalarFunc("mean", *values), ScalarFunc("var", *values)
    sigma = (var + eps) ** 0.5 if isinstance(var + eps, float) else sp.sqrt(var + eps)
    if sigma == 0:
        raise ShapeError("the variance plus ε is 0: the normalisation divides by zero")
    return mu, sigma, {m: (xs[m] - mu) / sigma for m in group}


def _normalised(xs, gs, bs, eps, groups, feature) -> list:
    out = [None] * len(xs)
    for group in groups:
        _, _, hat = _statistics(xs, eps, group)
        for m in group:
            out[m] = _at(gs, feature(m)) * hat[m] + _at(bs, feature(m))
    return out


def _norm_dx(ds, xs, gs, eps, groups, feature) -> list:
    out = [None] * len(xs)
    for group in groups:
        n = len(group)
        _, sigma, hat = _statistics(xs, eps, group)
        g = {m: ds[m] * _at(gs, feature(m)) for m in group}
        total = _sum(list(g.values()))
        along = _sum([g[m] * hat[m] for m in group])
        for m in group:
            out[m] = (n * g[m] - total - hat[m] * along) / (n * sigma)
    return out


def _norm_dparam(ds, xs, eps, groups, feature, n_features: int, scaled: bool) -> list:
    out = [0] * n_features
    for group in groups:
        hat = _statistics(xs, eps, group)[2] if scaled else {}
        for m in group:
            j = feature(m) if n_features > 1 else 0
            out[j] += ds[m] * hat[m] if scaled else ds[m]
    return out


# -- shapes --------------------------------------------------------------------------------------

def _count(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d
    return n

