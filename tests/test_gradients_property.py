"""Property-based tests: random problem files against oracles that do not use the engine's backward pass.

Each example is a YAML problem text written here from a small description (Spec): the layered
`network:` shorthand in both layouts, `forward:` lines with vectors, or scalar chains with skip
connections, shared weights and derived parameters. The oracles:

* a central finite difference of the loss, each loss computed by solving the problem again with
  one parameter element moved by ±h (h = 0.000001, written into the YAML as an exact decimal);
* the loss of a fresh problem whose parameters are the reported updated values;
* exactness: ReLU/linear networks with squared losses on decimal weights give Rationals only, and
  there a central difference of the (piecewise quadratic) loss equals the gradient exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

import re

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backprop_tutor import loads, solve
from backprop_tutor.ops import ELEMENTWISE, JOINS, LOSSES, WHOLE

H = Fraction(1, 10**6)
KINK_MARGIN = sp.Rational(1, 10**3)

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# How a hidden (or output) activation is written, where it has kinks ("zero": at 0, "halves": at ±1/2, "max2": at −1/5,
# "ties": where two entries are equal, None: nowhere), and the name the `network:` shorthand accepts
# for it (None: only expressible as a forward line).
ACTIVATIONS = {
    "relu": ("relu({0})", "zero", "relu"),
    "sigmoid": ("sigmoid({0})", False, "sigmoid"),
    "tanh": ("tanh({0})", False, "tanh"),
    "softplus": ("softplus({0})", False, "softplus"),
    "linear": ("linear({0})", False, "linear"),
    "identity": ("identity({0})", False, "identity"),
    "exp": ("exp({0})", False, "exp"),
    "abs": ("abs({0})", "zero", "abs"),
    "cosh": ("cosh({0})", False, "cosh"),
    "sinh": ("sinh({0})", False, "sinh"),
    "step": ("step({0})", "zero", "step"),
    "sign": ("sign({0})", "zero", "sign"),
    # log and sqrt with arguments kept positive
    "log": ("log(1 + exp({0}))", False, None),
    "sqrt": ("sqrt(1 + {0}**2)", False, None),
    # a node used twice in one expression (swish)
    "swish": ("{0} * sigmoid({0})", False, None),
    "leaky_relu": ("leaky_relu({0}, 0.1)", "zero", None),
    "elu": ("elu({0}, 0.7)", "zero", None),
    "silu": ("silu({0})", False, None),
    "gelu": ("gelu({0})", False, None),
    "hardtanh": ("hardtanh(2 * {0})", "halves", None),
    "max2": ("max({0}, 0.5 * {0} - 0.1)", "max2", None),
    "min2": ("min(0.3 * {0}, {0})", "zero", None),
}
# Functions of a whole vector, as a vector-to-vector activation (forward lines with vectors only).
WHOLE_ACTIVATIONS = {
    "softmax": ("softmax({0})", False),
    "log_softmax": ("log_softmax({0})", False),
    "logsumexp": ("{0} - logsumexp({0})", False),
    "var": ("{0} * var({0})", False),
    "norm": ("{0} * norm({0} * {0} + 0.1)", False),  # never the zero vector, where norm has no slope
    "max": ("{0} - max({0})", "ties"),
    "min": ("{0} * min({0})", "ties"),
}
ACTIVATIONS |= {f"whole_{k}": (template, kink, None) for k, (template, kink) in WHOLE_ACTIVATIONS.items()}
VECTOR_ONLY = {f"whole_{k}" for k in WHOLE_ACTIVATIONS}
HUBER_DELTA = Fraction(1, 2)
EXACT_ACTIVATIONS = ("relu", "linear", "identity")

DERIVED = ("log(1 + exp(v))", "-log(1 + exp(-v))", "2*v", "v**2", "sigmoid(v)", "tanh(v)", "v/2 + 0.1")
EXACT_DERIVED = ("2*v", "v/2 + 0.1", "-v", "v**2")

MODES = ("Wx", "xW", "fwd_Wx", "fwd_xW", "scalar")
VECTOR_MODES = ("Wx", "xW", "fwd_Wx", "fwd_xW")


# -- numbers and YAML text ------------------------------------------------------------------------

def num(v) -> str:
    """A number as YAML text that the contract reads back exactly."""
    if isinstance(v, Fraction):
        d = v.denominator
        while d % 2 == 0:
            d //= 2
        while d % 5 == 0:
            d //= 5
        if d == 1:
            return format(Decimal(v.numerator) / Decimal(v.denominator), "f")
        return f"'{v.numerator}/{v.denominator}'"
    v = sp.sympify(v)
    if v.is_Rational:
        return f"'{v.p}/{v.q}'"
    if v.is_Float:
        return f"'{sp.Float(v, 40)}'"
    raise TypeError(f"not a number: {v!r}")


def text_of(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(text_of(v) for v in value) + "]"
    return num(value)


def from_sympy(value, like):
    """A sympy scalar / n×1 / m×n matrix back into the nested-list form of `like`."""
    if isinstance(like, list) and isinstance(like[0], list):
        return [[value[i, j] for j in range(len(like[0]))] for i in range(len(like))]
    if isinstance(like, list):
        return [value[i, 0] for i in range(len(like))]
    return value


def indices(value):
    if isinstance(value, list) and isinstance(value[0], list):
        return [(i, j) for i in range(len(value)) for j in range(len(value[0]))]
    if isinstance(value, list):
        return [(i,) for i in range(len(value))]
    return [()]


def moved(value, index, by):
    """A copy of value with one element changed by `by`."""
    if index == ():
        return value + by
    if len(index) == 1:
        out = list(value)
        out[index[0]] += by
        return out
    out = [list(r) for r in value]
    out[index[0]][index[1]] += by
    return out


def element(m, index):
    if index == ():
        return m
    return m[index[0], 0] if len(index) == 1 else m[index[0], index[1]]


def elements(v):
    return list(v) if isinstance(v, sp.MatrixBase) else [v]


@dataclass(frozen=True)
class Spec:
    """A problem as data; `render` writes it as the YAML text a student would."""

    mode: str
    inputs: dict
    targets: dict
    params: dict                  # base parameters: Fraction | list | list of lists
    derived: dict                 # derived parameters: name -> expression of base parameters
    loss: str
    layers: tuple = ()            # network mode: (weight name, bias name or None, activation)
    lines: tuple = ()             # forward mode: (name, expression)
    kinks: tuple = ()             # (node, kind): its elements must stay away from that kind of kink
    residual: bool = False        # l1/mae: y − t must stay away from 0 (huber: from ±delta; hinge: t·y from 1)
    learning_rate: Fraction | None = None
    frozen: tuple = ()
    exact_fd: tuple = field(default=())   # parameters whose loss is piecewise quadratic in them

    def render(self, params=None, derived=None, with_rate=True) -> str:
        params = {**self.params, **(params or {})}
        derived = {**self.derived, **(derived or {})}
        out = ["inputs:"] + [f"  {k}: {text_of(v)}" for k, v in self.inputs.items()]
        in_network = {w for w, _, _ in self.layers} | {b for _, b, _ in self.layers if b}
        plain = [k for k in params if k not in in_network]
        if plain or derived:
            out.append("parameters:")
            out += [f"  {k}: {text_of(params[k])}" for k in plain]
            out += [f"  {k}: {text_of(v) if not isinstance(v, str) else repr(v)}"
                    for k, v in derived.items()]
        out.append("targets:")
        out += [f"  {k}: {text_of(v)}" for k, v in self.targets.items()]
        if self.layers:
            out += ["network:", f"  layout: {self.mode}", "  input: x", "  layers:"]
            for w, b, act in self.layers:
                bias = f", bias: {text_of(params[b])}" if b else ""
                out.append(f"    - {{weights: {text_of(params[w])}{bias}, activation: {act}}}")
        else:
            out.append("forward:")
            out += [f"  {name}: {expr}" for name, expr in self.lines]
        out.append(f"loss: {self.loss}")
        if with_rate and self.learning_rate is not None:
            out.append(f"learning_rate: {num(self.learning_rate)}")
            out.append(f"frozen: [{', '.join(self.frozen)}]")
        return "\n".join(out) + "\n"


def loss_of(spec: Spec, **changes):
    return solve(loads(spec.render(with_rate=False, **changes))).loss


# -- strategies -----------------------------------------------------------------------------------

tenths = st.integers(-9, 9).map(lambda k: Fraction(k, 10))


def vector(n):
    return st.lists(tenths, min_size=n, max_size=n)


def matrix(rows, cols):
    return st.lists(vector(cols), min_size=rows, max_size=rows)


@st.composite
def target_for(draw, loss, m):
    """A target of size m (m = 0: a scalar) that fits the loss."""
    if loss in ("cross_entropy", "nll"):
        if draw(st.booleans()):
            hot = draw(st.integers(0, m - 1))
            return [Fraction(int(i == hot)) for i in range(m)]
        weights = draw(st.lists(st.integers(0, 4), min_size=m, max_size=m).filter(any))
        return [Fraction(w, sum(weights)) for w in weights]  # a probability vector
    if loss == "kl":
        weights = draw(st.lists(st.integers(1, 4), min_size=m, max_size=m))
        return [Fraction(w, sum(weights)) for w in weights]  # every q_i > 0
    one = st.integers(1, 9).map(lambda k: Fraction(k, 10)) if loss == "bce" else tenths
    if loss in ("hinge", "squared_hinge"):
        one = st.sampled_from((Fraction(-1), Fraction(1)))
    return draw(one) if m == 0 else draw(st.lists(one, min_size=m, max_size=m))


@st.composite
def problems(draw, mode=None, loss=None, activation=None, exact=False, rate=False):
    if loss is None:
        losses = ("sse", "half_sse", "mse") if exact else tuple(LOSSES)
        if mode == "scalar":
            losses = tuple(l for l in losses if l not in SOFTMAX_LOSSES)  # softmax needs a vector
        loss = draw(st.sampled_from(losses))
    if mode is None:
        modes = MODES
        if loss in SOFTMAX_LOSSES:
            modes = VECTOR_MODES
        if activation is not None and ACTIVATIONS[activation][2] is None:
            modes = tuple(m for m in modes if m.startswith("fwd") or m == "scalar")
        if activation in VECTOR_ONLY:
            modes = tuple(m for m in modes if m.startswith("fwd"))
        mode = draw(st.sampled_from(modes))
    network = mode in ("Wx", "xW")
    pool = EXACT_ACTIVATIONS if exact else tuple(a for a in ACTIVATIONS if (not network or ACTIVATIONS[a][2])
                                                 and (mode.startswith("fwd") or a not in VECTOR_ONLY))
    depth = draw(st.integers(2 if activation else 1, 3))
    acts = [draw(st.sampled_from(pool)) for _ in range(depth)]
    if activation:
        acts[0] = activation
    if loss == "bce":
        acts[-1] = "sigmoid"
    elif loss in SOFTMAX_LOSSES:
        acts[-1] = "linear"
    kinks = tuple((f"z{k}", ACTIVATIONS[a][1]) for k, a in enumerate(acts, 1) if ACTIVATIONS[a][1])

    if mode == "scalar":
        spec = draw(scalar_chain(loss, acts, exact))
    else:
        sizes = [draw(st.integers(1, 3)) for _ in range(depth + 1)]
        if loss in SOFTMAX_LOSSES:
            sizes[-1] = draw(st.integers(2, 3))
        spec = draw((network_spec if network else forward_spec)(mode, loss, acts, sizes, exact))
    spec = replace(spec, kinks=kinks, residual=loss in ("l1", "mae", "huber", "hinge", "squared_hinge"))
    if rate:
        base = list(spec.params)
        frozen = tuple(draw(st.lists(st.sampled_from(base), unique=True, max_size=len(base))))
        lr = draw(st.sampled_from((Fraction(1, 10), Fraction(1, 20), Fraction(1, 2), Fraction(1))))
        spec = replace(spec, learning_rate=lr, frozen=frozen)
    return spec


SOFTMAX_LOSSES = ("cross_entropy", "nll", "kl")  # losses of a probability vector made from y


def loss_text(loss, y="y", t="t"):
    return {"cross_entropy": f"cross_entropy(softmax({y}), {t})", "nll": f"nll(log_softmax({y}), {t})",
            "kl": f"kl(softmax({y}), {t})", "huber": f"huber({y}, {t}, {HUBER_DELTA})"}.get(loss, f"{loss}({y}, {t})")


@st.composite
def network_spec(draw, mode, loss, acts, sizes, exact):
    params, layers = {}, []
    for k, act in enumerate(acts, 1):
        rows, cols = (sizes[k], sizes[k - 1]) if mode == "Wx" else (sizes[k - 1], sizes[k])
        params[f"W{k}"] = draw(matrix(rows, cols))
        bias = None
        if draw(st.booleans()):
            bias = f"b{k}"
            params[bias] = draw(vector(sizes[k]))
        layers.append((f"W{k}", bias, ACTIVATIONS[act][2]))
    return Spec(mode, {"x": draw(vector(sizes[0]))}, {"t": draw(target_for(loss, sizes[-1]))}, params, {},
                loss_text(loss), layers=tuple(layers), exact_fd=tuple(params))


@st.composite
def forward_spec(draw, mode, loss, acts, sizes, exact):
    """`forward:` lines with vectors; optionally a skip connection and a shared scalar gain."""
    params, derived, lines = {}, {}, []
    depth = len(acts)
    gain = None
    if draw(st.booleans()):  # a scalar gain g shared by several layers, free or derived from v
        gain = "g"
        if draw(st.booleans()):
            params["v"] = draw(tenths)
            derived["g"] = draw(st.sampled_from(EXACT_DERIVED if exact else DERIVED))
        else:
            params["g"] = draw(tenths)
    h = "x"
    dims = {"x": sizes[0]}
    for k, act in enumerate(acts, 1):
        rows, cols = (sizes[k], sizes[k - 1]) if mode == "fwd_Wx" else (sizes[k - 1], sizes[k])
        params[f"W{k}"] = draw(matrix(rows, cols))
        z = f"W{k} @ {h}" if mode == "fwd_Wx" else f"{h} @ W{k}"
        if gain and draw(st.booleans()):
            z = f"{gain} * ({z})"
        if draw(st.booleans()):
            params[f"b{k}"] = draw(vector(sizes[k]))
            z += f" + b{k}"
        if k == depth and depth >= 2 and draw(st.booleans()):  # skip connection from an earlier node
            src = draw(st.sampled_from(["x"] + [f"h{j}" for j in range(1, depth - 1)]))
            n = dims[src]
            params["S"] = draw(matrix(sizes[k], n) if mode == "fwd_Wx" else matrix(n, sizes[k]))
            z += f" + S @ {src}" if mode == "fwd_Wx" else f" + {src} @ S"
        lines.append((f"z{k}", z))
        h = "y" if k == depth else f"h{k}"
        dims[h] = sizes[k]
        lines.append((h, ACTIVATIONS[act][0].format(f"z{k}")))
    exact_fd = tuple(p for p in params if p not in ("v", "g"))  # g may be used by several layers
    return Spec(mode, {"x": draw(vector(sizes[0]))}, {"t": draw(target_for(loss, sizes[-1]))}, params,
                derived, loss_text(loss), lines=tuple(lines), exact_fd=exact_fd)


@st.composite
def scalar_chain(draw, loss, acts, exact):
    """z_k = w_k*h_(k-1) + b_k, h_k = act(z_k); weights free, derived from v, or v itself (shared)."""
    params, derived, lines = {"v": draw(tenths)}, {}, []
    depth = len(acts)
    h = "x"
    for k, act in enumerate(acts, 1):
        kind = draw(st.sampled_from(("free", "derived", "shared")))
        w = "v" if kind == "shared" else f"w{k}"
        if kind == "free":
            params[w] = draw(tenths)
        elif kind == "derived":
            derived[w] = draw(st.sampled_from(EXACT_DERIVED if exact else DERIVED))
        z = f"{w}*{h}"
        if draw(st.booleans()):
            params[f"b{k}"] = draw(tenths)
            z += f" + b{k}"
        if k == depth and depth >= 2 and draw(st.booleans()):  # skip: z2 = w2*h1 + s*h0
            src = draw(st.sampled_from(["x"] + [f"h{j}" for j in range(1, depth - 1)]))
            params["s"] = draw(tenths)
            z += f" + s*{src}"
        lines.append((f"z{k}", z))
        h = "y" if k == depth else f"h{k}"
        lines.append((h, ACTIVATIONS[act][0].format(f"z{k}")))
    if not derived and not any(e.startswith("v*") for _, e in lines):
        params.pop("v")  # v is used by nothing
    exact_fd = tuple(p for p in params if p != "v") + tuple(derived)
    return Spec("scalar", {"x": draw(tenths)}, {"t": draw(target_for(loss, 0))}, params, derived,
                loss_text(loss), lines=tuple(lines), exact_fd=exact_fd)


# Forward lines that read entries and join values: x's slice i:j and entry k, S's entry (1, c), W's column d.
INDEXED_LINES = (
    ("u", "concat(x[{i}:{j}], x[{k}])"),
    ("z", "W @ u"),
    ("h", "{act}(z)"),
    ("S", "stack(h, V[1, :] * h)"),
    ("T", "concat(V, S)"),
    ("y", "T[4, :] + S[1, {c}] * W[:, {d}] + sum(stack(h[1], W[1, 1]))"),
)


@st.composite
def indexed_spec(draw, loss):
    """INDEXED_LINES with random sizes and indices: x of length n, m outputs."""
    n, m = draw(st.integers(2, 4)), draw(st.integers(1, 3))
    i = draw(st.integers(1, n))
    j, k = draw(st.integers(i, n)), draw(st.integers(1, n))
    width = j - i + 2
    act = draw(st.sampled_from(("tanh", "sigmoid", "relu", "linear", "softplus")))
    fill = dict(i=i, j=j, k=k, act=act, c=draw(st.integers(1, m)), d=draw(st.integers(1, width)))
    lines = tuple((name, text.format(**fill)) for name, text in INDEXED_LINES)
    params = {"W": draw(matrix(m, width)), "V": draw(matrix(2, m))}
    return Spec("fwd_Wx", {"x": draw(vector(n))}, {"t": draw(target_for(loss, m))}, params, {}, loss_text(loss),
                lines=lines, kinks=(("z", "zero"),) if act == "relu" else (), exact_fd=())


# -- the checks -----------------------------------------------------------------------------------

NEAR_KINK = {
    "zero": lambda es: any(abs(e) < KINK_MARGIN for e in es),
    "halves": lambda es: any(abs(abs(e) - sp.Rational(1, 2)) < KINK_MARGIN for e in es),
    "max2": lambda es: any(abs(e + sp.Rational(1, 5)) < KINK_MARGIN for e in es),  # z = z/2 − 0.1
    "ties": lambda es: any(abs(a - b) < KINK_MARGIN for i, a in enumerate(es) for b in es[i + 1:]),
}


def residual_kink(loss: str):
    """Where the loss of y and t has a kink, as a test of (y_i, t_i)."""
    if loss.startswith("huber"):
        return lambda y, t: abs(abs(y - t) - sp.Rational(HUBER_DELTA.numerator, HUBER_DELTA.denominator))
    if "hinge" in loss:
        return lambda y, t: abs(1 - t * y)
    return lambda y, t: abs(y - t)


def away_from_kinks(spec: Spec, sol) -> bool:
    for node, kind in spec.kinks:
        if NEAR_KINK[kind](elements(sol.values[node])):
            return False
    if spec.residual:
        t = spec.targets["t"]
        ts = t if isinstance(t, list) else [t]
        distance = residual_kink(spec.loss)
        if any(distance(y, sp.Rational(ti.numerator, ti.denominator)) < KINK_MARGIN
               for y, ti in zip(elements(sol.values["y"]), ts)):
            return False
    return True


def close(g, fd, loss) -> bool:
    # 1e-6·(1+|g|) for the O(h²) error of the central difference, plus the rounding of 40-digit
    # losses divided by 2h (only matters when the loss is large).
    err = abs(sp.N(g - fd, 50))
    bound = sp.Rational(1, 10**6) * (1 + abs(g)) + sp.Rational(1, 10**30) * (1 + abs(loss))
    return bool(err <= bound)


def check_gradients(spec: Spec):
    sol = solve(loads(spec.render(with_rate=False)))
    assume(away_from_kinks(spec, sol))
    assert set(sol.gradients) == set(spec.params) | set(spec.derived)
    two_h = 2 * sp.Rational(H.numerator, H.denominator)
    failures = []
    for name, value in spec.params.items():
        for index in indices(value):
            up = loss_of(spec, params={name: moved(value, index, H)})
            down = loss_of(spec, params={name: moved(value, index, -H)})
            fd, g = (up - down) / two_h, element(sol.gradients[name], index)
            if not close(g, fd, sol.loss):
                failures.append((name, index, g, sp.N(fd, 20)))
    for name, expr in spec.derived.items():  # the derived value itself moved by ±h
        up = loss_of(spec, derived={name: f"({expr}) + {num(H)}"})
        down = loss_of(spec, derived={name: f"({expr}) - {num(H)}"})
        fd, g = (up - down) / two_h, sol.gradients[name]
        if not close(g, fd, sol.loss):
            failures.append((name, (), g, sp.N(fd, 20)))
    assert not failures, f"gradient ≠ finite difference for\n{spec.render()}\n{failures}"


@pytest.mark.parametrize("loss", sorted(LOSSES))
@settings(max_examples=5, **SETTINGS)
@given(data=st.data())
def test_gradient_equals_finite_difference_for_every_loss(loss, data):
    check_gradients(data.draw(problems(loss=loss)))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@settings(max_examples=2, **SETTINGS)
@given(data=st.data())
def test_gradient_equals_finite_difference_for_every_activation(activation, data):
    check_gradients(data.draw(problems(activation=activation)))


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=3, **SETTINGS)
@given(data=st.data())
def test_gradient_equals_finite_difference_for_every_layout(mode, data):
    check_gradients(data.draw(problems(mode=mode)))


def test_the_package_solve_stays_callable():
    """`backprop_tutor.solve` is the public entry point and must stay a function, even after the
    engine module behind it has been imported (a submodule of the same name would replace it)."""
    import backprop_tutor

    problem = loads("inputs: {x: 1}\nparameters: {w: 0.5}\ntargets: {t: 0}\n"
                    "forward: {y: w*x}\nloss: sse(y, t)\n")
    backprop_tutor.solve(problem)
    assert callable(backprop_tutor.solve)
    assert backprop_tutor.solve(problem).loss == sp.Rational(1, 4)


@pytest.mark.parametrize("loss", ("sse", "half_sse", "mse", "log_cosh"))
@settings(max_examples=3, **SETTINGS)
@given(data=st.data())
def test_gradient_equals_finite_difference_through_indexing_and_joins(loss, data):
    check_gradients(data.draw(indexed_spec(loss)))


def test_the_generators_cover_every_row_of_the_tables():
    """A new activation, function of a whole vector or loss in ops.py must be added to the generators above,
    and so must a way of reading entries or joining values."""
    called = {f for template, _, _ in ACTIVATIONS.values() for f in re.findall(r"(\w+)\(", template)}
    assert set(ELEMENTWISE) | set(WHOLE) | {"softmax"} <= called
    assert {f for loss in LOSSES for f in re.findall(r"(\w+)\(", loss_text(loss))} >= set(LOSSES)
    indexed = " ".join(text for _, text in INDEXED_LINES)
    assert set(JOINS) <= set(re.findall(r"(\w+)\(", indexed))
    for read in (r"x\[\{i\}:\{j\}\]", r"x\[\{k\}\]", r"\w\[\d, :\]", r"\w\[:, \{d\}\]", r"\w\[\d, \d\]"):
        assert re.search(read, indexed), read  # a slice, an entry, a row, a column, a matrix entry


# -- one gradient step ------------------------------------------------------------------------------

def rel_close(a, b, tol=sp.Rational(1, 10**25)) -> bool:
    return bool(abs(sp.N(a - b, 60)) <= tol * max(abs(a), abs(b)) + sp.Rational(1, 10**35))


@settings(max_examples=30, **SETTINGS)
@given(spec=problems(rate=True))
def test_loss_after_is_the_loss_of_the_updated_parameters(spec):
    sol = solve(loads(spec.render()))
    lr = sp.Rational(spec.learning_rate.numerator, spec.learning_rate.denominator)
    assert set(sol.updated) == set(spec.params) | set(spec.derived)
    new = {}
    for name, old in spec.params.items():
        updated = sol.updated[name]
        for index in indices(old):
            before = sp.Rational(element_of(old, index).numerator, element_of(old, index).denominator)
            after = element(updated, index)
            if name in spec.frozen:
                assert after == before, f"frozen {name} moved"
            else:
                expected = before - lr * element(sol.gradients[name], index)
                assert rel_close(after, expected), (name, index, after, expected)
        new[name] = from_sympy(updated, old)
    # derived parameters recomputed from the updated base parameters
    fresh = solve(loads(spec.render(params=new, with_rate=False)))
    assert rel_close(fresh.loss, sol.loss_after), (spec.render(), fresh.loss, sol.loss_after)
    # every parameter, derived ones too, replaced by its reported updated value
    if spec.derived:
        flat = replace(spec, params={**spec.params, **new, **{d: sol.updated[d] for d in spec.derived}},
                       derived={})
        assert rel_close(solve(loads(flat.render(with_rate=False))).loss, sol.loss_after)


def element_of(value, index):
    if index == ():
        return value
    return value[index[0]] if len(index) == 1 else value[index[0]][index[1]]


# -- exactness --------------------------------------------------------------------------------------

def all_rational(values) -> bool:
    return all(isinstance(e, sp.Rational) for v in values for e in elements(v))


@settings(max_examples=25, **SETTINGS)
@given(spec=problems(exact=True, rate=True))
def test_relu_and_linear_networks_stay_exact(spec):
    sol = solve(loads(spec.render()))
    assert all_rational(sol.values.values()), sol.values
    assert all_rational(sol.gradients.values()), sol.gradients
    assert all_rational(sol.updated.values()), sol.updated
    assert isinstance(sol.loss, sp.Rational) and isinstance(sol.loss_after, sp.Rational)
    new = {name: from_sympy(sol.updated[name], old) for name, old in spec.params.items()}
    assert solve(loads(spec.render(params=new, with_rate=False))).loss == sol.loss_after
    # Away from kinks the loss is quadratic in a weight used once: the central difference is exact.
    assume(away_from_kinks(spec, sol))
    two_h = 2 * sp.Rational(H.numerator, H.denominator)
    for name in spec.exact_fd:
        if name in spec.derived:
            expr = spec.derived[name]
            up = loss_of(spec, derived={name: f"({expr}) + {num(H)}"})
            down = loss_of(spec, derived={name: f"({expr}) - {num(H)}"})
            assert (up - down) / two_h == sol.gradients[name], name
            continue
        value = spec.params[name]
        for index in indices(value):
            up = loss_of(spec, params={name: moved(value, index, H)})
            down = loss_of(spec, params={name: moved(value, index, -H)})
            assert (up - down) / two_h == element(sol.gradients[name], index), (name, index)


# -- layers ---------------------------------------------------------------------------------------

LAYER_SIZES = st.integers(2, 4)


@st.composite
def layer_spec(draw, layer):
    """A forward line through one layer of layers.py, with trained parameters before and in it."""
    x = draw(vector(draw(st.integers(2, 3))))
    params, inputs, lines = {}, {"x": x}, []
    if layer in ("conv1d", "maxpool1d", "avgpool1d", "layernorm", "dropout"):
        n = draw(st.integers(3, 6))
        params["W"] = draw(matrix(n, len(x)))
        lines.append(("z1", "W @ x"))
        if layer == "conv1d":
            m = draw(st.integers(1, 3))
            params["k"] = draw(vector(m))
            s, pad = draw(st.integers(1, 2)), draw(st.integers(0, m - 1))
            call, out = f"conv1d(z1, k, stride={s}, padding={pad})", ((n + 2 * pad - m) // s + 1,)
        elif layer.endswith("pool1d"):
            size, s = draw(st.integers(1, 3)), draw(st.integers(1, 2))
            call, out = f"{layer}(z1, {size}, stride={s})", ((n - size) // s + 1,)
        elif layer == "layernorm":
            params["g"], params["b"] = draw(vector(n)), draw(vector(n))
            call, out = "layernorm(z1, g, b, 0.01)", (n,)
        else:
            inputs["m"] = draw(st.lists(st.sampled_from([Fraction(0), Fraction(1)]), min_size=n, max_size=n))
            call, out = "dropout(z1, m, 0.25)", (n,)
    else:
        rows, cols = draw(LAYER_SIZES), draw(LAYER_SIZES)
        inputs["X"] = draw(matrix(rows, len(x)))
        params["W"] = draw(matrix(len(x), cols))
        lines.append(("z1", "X @ W"))
        if layer == "conv2d":
            k = draw(st.integers(1, 2))
            params["K"] = draw(matrix(k, k))
            s, pad = draw(st.integers(1, 2)), draw(st.integers(0, k - 1))
            call = f"conv2d(z1, K, stride={s}, padding={pad})"
            out = ((rows + 2 * pad - k) // s + 1, (cols + 2 * pad - k) // s + 1)
        elif layer.endswith("pool2d"):
            size = draw(st.integers(1, min(rows, cols)))
            call, out = f"{layer}(z1, size={size})", ((rows - size) // size + 1, (cols - size) // size + 1)
        else:
            params["g"], params["b"] = draw(vector(cols)), draw(vector(cols))
            call, out = "batchnorm(z1, g, b, 0.01)", (rows, cols)
    lines.append(("y", call))
    target = draw(vector(out[0]) if len(out) == 1 else matrix(*out))
    return Spec("layer", inputs, {"t": target}, params, {}, "half_sse(y, t)", lines=tuple(lines),
                exact_fd=tuple(params))


def no_near_ties(spec: Spec, sol) -> bool:
    """Max-pooling is differentiable only where each window's maximum is strict: no two entries of
    z1 within the margin of each other (a stricter condition, simple to state)."""
    if not any("maxpool" in e for _, e in spec.lines):
        return True
    z = sorted(elements(sol.values["z1"]))
    return all(b - a > KINK_MARGIN for a, b in zip(z, z[1:]))


LAYER_NAMES = ("conv1d", "conv2d", "maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d", "batchnorm", "layernorm",
               "dropout")


@pytest.mark.parametrize("layer", LAYER_NAMES)
@settings(max_examples=4, **SETTINGS)
@given(data=st.data())
def test_gradient_equals_finite_difference_for_every_layer(layer, data):
    spec = data.draw(layer_spec(layer))
    assume(no_near_ties(spec, solve(loads(spec.render(with_rate=False)))))
    check_gradients(spec)


def test_the_layer_generator_covers_every_layer():
    from backprop_tutor.layers import LAYERS
    assert set(LAYERS) == set(LAYER_NAMES)
