"""Layers (convolution, pooling, normalisation, dropout): keyword arguments, the forward values, each backward
rule against sympy.diff through a definition written here with its own index loops, the bundled layer
problems against 50-digit central differences computed here from their YAML numbers, and the errors."""
from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
import sympy as sp
import yaml

from backprop_tutor import load, solve
from backprop_tutor.algebra import Eval, T
from backprop_tutor.expr import Call, ExprError, ExprLimitError, Name, Num, parse
from backprop_tutor.layers import KEYWORDS, LAYERS, forward, gradient
from backprop_tutor.ops import FUNCTIONS

from helpers import cli

ROOT = Path(__file__).resolve().parent.parent
CALLABLE = FUNCTIONS | frozenset(LAYERS)


def p(text):
    return parse(text, CALLABLE, keywords=KEYWORDS)


# -- keyword arguments -------------------------------------------------------------------------

def test_keywords_are_read_as_whole_numbers():
    assert p("conv1d(x, k, stride=2, padding=1)") == Call("conv1d", (Name("x"), Name("k")),
                                                          (("stride", 2), ("padding", 1)))
    assert p("maxpool2d(Z, 2)") == Call("maxpool2d", (Name("Z"), Num(Fraction(2))))
    assert p("conv1d(x, k)") == Call("conv1d", (Name("x"), Name("k")))


@pytest.mark.parametrize("text, message", [
    ("conv1d(x, k, strde=2)", "conv1d has no keyword 'strde' in 'conv1d(x, k, strde=2)' (did you mean stride?)"),
    ("conv1d(x, k, dilation=2)", "(known: stride, padding)"),
    ("relu(x=1)", "relu has no keyword 'x'"),
    ("conv1d(x, k, stride=1.5)", "stride= takes a whole number, not '1.5'"),
    ("conv1d(x, k, stride=-1)", "stride= takes a whole number, not '-'"),
    ("conv1d(x, k, stride=s)", "stride= takes a whole number, not 's'"),
    ("conv1d(x, k, stride=1, stride=2)", "the keyword 'stride' is given twice"),
    ("conv1d(x, stride=1, k)", "an argument without a name follows a keyword"),
    ("a = 1", "unexpected '='"),
    ("conv1d(x, k, stride==2)", "stride= takes a whole number, not '='"),
])
def test_bad_keywords_are_refused(text, message):
    with pytest.raises(ExprError) as e:
        p(text)
    assert message in str(e.value)


def test_a_keyword_value_is_held_to_its_limit():
    assert p("conv1d(x, k, padding=32)").keywords == (("padding", 32),)
    with pytest.raises(ExprLimitError, match="keyword_value"):
        p("conv1d(x, k, padding=33)")
    with pytest.raises(ExprLimitError, match="keyword_value"):
        p("conv1d(x, k, padding=" + "9" * 200 + ")")


# -- the rules against sympy.diff through definitions written here -----------------------------

def conv1d_def(x, k, s, pad):
    xp = [0] * pad + list(x) + [0] * pad
    n = (len(xp) - len(k)) // s + 1
    return [sum(k[j] * xp[s * i + j] for j in range(len(k))) for i in range(n)]


def conv2d_def(X, K, s, pad):
    H, W = len(X), len(X[0])
    Xp = [[0] * (W + 2 * pad) for _ in range(H + 2 * pad)]
    for r in range(H):
        for c in range(W):
            Xp[r + pad][c + pad] = X[r][c]
    kh, kw = len(K), len(K[0])
    return [[sum(K[a][b] * Xp[s * i + a][s * j + b] for a in range(kh) for b in range(kw))
             for j in range((W + 2 * pad - kw) // s + 1)] for i in range((H + 2 * pad - kh) // s + 1)]


def pool_def(X, size, s, kind):
    rows = len(X)
    out = []
    for i in range((rows - size) // s + 1 if rows > 1 else 1):
        row = []
        for j in range((len(X[0]) - size) // s + 1):
            window = [X[s * i + a][s * j + b] for a in range(size if rows > 1 else 1) for b in range(size)]
            row.append(sp.Max(*window) if kind == "max" else sum(window) / len(window))
        out.append(row)
    return out


def norm_def(rows, gamma, beta, eps, per_column):
    """Normalisation written out: mean and 1/n variance of each column (batch) or row (layer)."""
    n_r, n_c = len(rows), len(rows[0])
    out = [[None] * n_c for _ in range(n_r)]
    groups = ([[(r, c) for r in range(n_r)] for c in range(n_c)] if per_column
              else [[(r, c) for c in range(n_c)] for r in range(n_r)])
    for g in groups:
        mu = sum(rows[r][c] for r, c in g) / len(g)
        var = sum((rows[r][c] - mu) ** 2 for r, c in g) / len(g)
        for r, c in g:
            out[r][c] = gamma[c] * (rows[r][c] - mu) / sp.sqrt(var + eps) + beta[c]
    return out


def rand(rng, n):
    return [sp.Rational(rng.randint(-9, 9), rng.choice([1, 2, 4, 5])) for _ in range(n)]


def as_T(values, shape):
    if len(shape) == 1:
        return T(sp.ImmutableMatrix(values), shape)
    return T(sp.ImmutableMatrix(shape[0], shape[1], values), shape)


def via_layers(text, operands, delta=None, i=None):
    call = p(text)
    ev = Eval()
    if delta is None:
        return list(forward(call, ev, operands).x)
    return list(gradient(call, ev, operands, delta, i).x)


@pytest.mark.parametrize("seed", range(8))
def test_conv1d_forward_and_both_gradients_equal_sympy_diff(seed):
    rng = random.Random(seed)
    n, m = rng.randint(3, 8), rng.randint(1, 3)
    s, pad = rng.randint(1, 3), rng.randint(0, m - 1)
    xs, ks = sp.symbols(f"x1:{n + 1}"), sp.symbols(f"k1:{m + 1}")
    xv, kv = rand(rng, n), rand(rng, m)
    z = conv1d_def(xs, ks, s, pad)
    dv = rand(rng, len(z))
    L = sum(d * zi for d, zi in zip(dv, z))
    at = dict(zip(xs, xv)) | dict(zip(ks, kv))
    text = f"conv1d(x, k, stride={s}, padding={pad})"
    ops = [as_T(xv, (n,)), as_T(kv, (m,))]
    assert via_layers(text, ops) == [sp.sympify(zi).subs(at) for zi in z]
    delta = as_T(dv, (len(z),))
    assert via_layers(text, ops, delta, 0) == [sp.diff(L, v).subs(at) for v in xs]
    assert via_layers(text, ops, delta, 1) == [sp.diff(L, v).subs(at) for v in ks]


@pytest.mark.parametrize("seed", range(6))
def test_conv2d_forward_and_both_gradients_equal_sympy_diff(seed):
    rng = random.Random(100 + seed)
    H, W, kh = rng.randint(2, 5), rng.randint(2, 5), rng.randint(1, 2)
    s, pad = rng.randint(1, 2), rng.randint(0, kh - 1)
    X = [[sp.Symbol(f"X{r}{c}") for c in range(W)] for r in range(H)]
    K = [[sp.Symbol(f"K{a}{b}") for b in range(kh)] for a in range(kh)]
    xv, kv = rand(rng, H * W), rand(rng, kh * kh)
    flatX, flatK = [v for row in X for v in row], [v for row in K for v in row]
    Z = conv2d_def(X, K, s, pad)
    z = [v for row in Z for v in row]
    dv = rand(rng, len(z))
    L = sum(d * zi for d, zi in zip(dv, z))
    at = dict(zip(flatX, xv)) | dict(zip(flatK, kv))
    text = f"conv2d(X, K, stride={s}, padding={pad})"
    ops = [as_T(xv, (H, W)), as_T(kv, (kh, kh))]
    assert via_layers(text, ops) == [sp.sympify(v).subs(at) for v in z]
    delta = as_T(dv, (len(Z), len(Z[0])))
    assert via_layers(text, ops, delta, 0) == [sp.diff(L, v).subs(at) for v in flatX]
    assert via_layers(text, ops, delta, 1) == [sp.diff(L, v).subs(at) for v in flatK]


def test_the_full_convolution_with_the_flipped_kernel_is_what_is_shown():
    from backprop_tutor.algebra import Show
    call = p("conv1d(h, k)")
    shown = gradient(call, Show(), [T(sp.MatrixSymbol("h", 4, 1), (4,)), T(sp.MatrixSymbol("k", 2, 1), (2,))],
                     T(sp.MatrixSymbol("d", 3, 1), (3,)), 0)
    assert str(shown.x) == "conv1d(d, flip(k), padding=1)"
    shown = gradient(call, Show(), [T(sp.MatrixSymbol("h", 4, 1), (4,)), T(sp.MatrixSymbol("k", 2, 1), (2,))],
                     T(sp.MatrixSymbol("d", 3, 1), (3,)), 1)
    assert str(shown.x) == "conv1d(h, d)"


@pytest.mark.parametrize("kind, seed", [(k, s) for k in ("max", "avg") for s in range(4)])
def test_pooling_forward_and_gradient_equal_sympy_diff(kind, seed):
    rng = random.Random(200 + seed)
    H, W, size = rng.randint(2, 5), rng.randint(2, 6), 2
    s = rng.randint(1, 2)
    X = [[sp.Symbol(f"X{r}{c}", real=True) for c in range(W)] for r in range(H)]
    flat = [v for row in X for v in row]
    xv = [sp.Integer(v) for v in rng.sample(range(-20, 20), H * W)]  # no ties: the max is differentiable
    M = pool_def(X, size, s, kind)
    m = [v for row in M for v in row]
    dv = rand(rng, len(m))
    L = sum(d * v for d, v in zip(dv, m))
    at = dict(zip(flat, xv))
    text = f"{kind}pool2d(X, size={size}, stride={s})"
    ops = [as_T(xv, (H, W))]
    assert via_layers(text, ops) == [v.subs(at) for v in m]
    grads = [sp.diff(L, v) for v in flat]
    assert via_layers(text, ops, as_T(dv, (len(M), len(M[0]))), 0) == [g.subs(at) for g in grads]


def test_pool1d_matches_its_definition():
    xv = [sp.Integer(v) for v in (3, -1, 4, 1, 5, 9, 2)]
    assert via_layers("maxpool1d(x, 2)", [as_T(xv, (7,))]) == [3, 4, 9]
    assert via_layers("avgpool1d(x, 3, 2)", [as_T(xv, (7,))]) == [2, sp.Rational(10, 3), sp.Rational(16, 3)]


def test_max_pooling_routes_a_tie_to_the_first_maximum_in_reading_order():
    X = as_T([2, 5, 5, 1, 5, 0, 3, 3, 3, 3, 1, 1, 0, 0, 0, 0], (4, 4))
    d = as_T([10, 20, 30, 40], (2, 2))
    dx = via_layers("maxpool2d(X, 2)", [X], d, 0)
    # windows: (2, 5 / 5, 0) → the 5 at (1,2); (5, 1 / 3, 3) → (1,3); (3, 3 / 0, 0) → (3,1); (1, 1 / 0, 0) → (3,3)
    expected = [0] * 16
    expected[1], expected[2], expected[8], expected[10] = 10, 20, 30, 40
    assert dx == expected


@pytest.mark.parametrize("per_column, seed", [(True, 0), (True, 1), (False, 2), (False, 3)])
def test_normalisation_backward_formula_equals_the_chain_rule_through_mean_and_variance(per_column, seed):
    rng = random.Random(300 + seed)
    rows, cols = (3, 2) if per_column else (2, 3)
    X = [[sp.Symbol(f"x{r}{c}", real=True) for c in range(cols)] for r in range(rows)]
    g = [sp.Symbol(f"g{c}", real=True) for c in range(cols)]
    b = [sp.Symbol(f"b{c}", real=True) for c in range(cols)]
    eps = sp.Rational(1, 100)
    flat = [v for row in X for v in row]
    Y = norm_def(X, g, b, eps, per_column)
    dv = rand(rng, rows * cols)
    L = sum(d * y for d, y in zip(dv, (v for row in Y for v in row)))
    xv, gv, bv = rand(rng, rows * cols), rand(rng, cols), rand(rng, cols)
    at = dict(zip(flat, xv)) | dict(zip(g, gv)) | dict(zip(b, bv))
    f = "batchnorm" if per_column else "layernorm"
    ops = [as_T(xv, (rows, cols)), as_T(gv, (cols,)), as_T(bv, (cols,)), T(eps, ())]
    delta = as_T(dv, (rows, cols))
    text = f"{f}(X, g, b, 0.01)"
    close = lambda got, want: all(abs(sp.N(u - v, 50)) < 1e-35 for u, v in zip(got, want))  # noqa: E731
    assert close(via_layers(text, ops), [y.subs(at) for row in Y for y in row])
    assert close(via_layers(text, ops, delta, 0), [sp.diff(L, v).subs(at) for v in flat])
    assert close(via_layers(text, ops, delta, 1), [sp.diff(L, v).subs(at) for v in g])
    assert close(via_layers(text, ops, delta, 2), [sp.diff(L, v).subs(at) for v in b])


def test_dropout_scales_the_kept_entries_and_sends_delta_through_them():
    from backprop_tutor.rules import backward, forward as forward_of
    env = {"x": as_T([1, 2, 3, 4], (4,)), "m": as_T([1, 0, 1, 1], (4,)), "p": T(sp.Rational(1, 2), ())}
    call = p("dropout(x, m, p)")
    assert list(forward_of(call, Eval(), env).x) == [2, 0, 6, 8]
    acc = {}
    backward(call, Eval(), env, as_T([1, 1, 1, 1], (4,)), acc)
    assert list(acc["x"].x) == [2, 0, 2, 2]


# -- the bundled problems against central differences computed here ----------------------------

def given(path):
    """The YAML's numbers as mpmath numbers (exact decimals read from their text)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))

    def num(v):
        if isinstance(v, list):
            return [num(u) for u in v]
        f = Fraction(str(v))
        return mpmath.mpf(f.numerator) / f.denominator
    values = {}
    for section in ("inputs", "parameters", "targets"):
        for name, v in (raw.get(section) or {}).items():
            values[name] = num(v)
    return values


def conv1d_stride2_loss(v):
    z = [sum(v["k"][j] * v["x"][2 * i + j] for j in range(3)) + v["b"] for i in range(3)]
    return sum((zi - ti) ** 2 for zi, ti in zip(z, v["t"])) / 2, z


def conv2d_maxpool_loss(v):
    X, K, b = v["X"], v["K"], v["b"]
    Z = [[sum(K[a][c] * X[i + a][j + c] for a in range(2) for c in range(2)) + b for j in range(4)]
         for i in range(4)]
    M = [[max(Z[2 * i + a][2 * j + c] for a in range(2) for c in range(2)) for j in range(2)] for i in range(2)]
    return sum((M[i][j] - v["T"][i][j]) ** 2 for i in range(2) for j in range(2)) / 2, M


def normalised(values, gamma, beta, eps):
    """Layer normalisation of one group of values, written out."""
    n = len(values)
    mu = mpmath.fsum(values) / n
    var = mpmath.fsum((v - mu) ** 2 for v in values) / n
    return [g * (v - mu) / mpmath.sqrt(var + eps) + b for v, g, b in zip(values, gamma, beta)]


def batchnorm_batch3_loss(v):
    X, W = v["X"], v["W"]
    Z = [[sum(X[r][i] * W[i][c] for i in range(2)) for c in range(2)] for r in range(3)]
    eps = mpmath.mpf(1) / 100
    columns = [normalised([Z[r][c] for r in range(3)], [v["gamma"][c]] * 3, [v["beta"][c]] * 3, eps)
               for c in range(2)]
    Y = [[columns[c][r] for c in range(2)] for r in range(3)]
    return mpmath.fsum((Y[r][c] - v["T"][r][c]) ** 2 for r in range(3) for c in range(2)) / 2, Y


def layernorm_loss(v):
    z = [sum(v["W"][r][i] * v["x"][i] for i in range(2)) for r in range(3)]
    y = normalised(z, v["gamma"], v["beta"], mpmath.mpf(1) / 100)
    return mpmath.fsum((a - b) ** 2 for a, b in zip(y, v["t"])) / 2, y


LOSSES = {"conv1d_stride2": conv1d_stride2_loss, "conv2d_maxpool": conv2d_maxpool_loss,
          "batchnorm_batch3": batchnorm_batch3_loss, "layernorm": layernorm_loss}


def central(loss, values, name, index):
    h = mpmath.mpf(10) ** -15

    def moved(by):
        v = {k: (list(map(list, x)) if x and isinstance(x, list) and isinstance(x[0], list)
                 else list(x) if isinstance(x, list) else x) for k, x in values.items()}
        if index is None:
            v[name] = v[name] + by
        elif len(index) == 1:
            v[name][index[0]] += by
        else:
            v[name][index[0]][index[1]] += by
        return loss(v)[0]
    return (moved(h) - moved(-h)) / (2 * h)


@pytest.mark.parametrize("stem", sorted(LOSSES))
def test_every_gradient_of_a_layer_problem_equals_a_central_difference(stem):
    path = ROOT / "problems" / f"{stem}.yaml"
    solution = solve(load(path))
    with mpmath.workdps(50):
        values = given(path)
        for name, grad in solution.gradients.items():
            value = values[name]
            if isinstance(grad, sp.MatrixBase):
                entries = [(i, j) for i in range(grad.rows) for j in range(grad.cols)]
                for i, j in entries:
                    index = (i, j) if isinstance(value[0], list) else (i * grad.cols + j,)
                    estimate = central(LOSSES[stem], values, name, index)
                    assert abs(estimate - mpmath.mpf(sp.N(grad[i, j], 50))) < mpmath.mpf(10) ** -25, (name, i, j)
            else:
                estimate = central(LOSSES[stem], values, name, None)
                assert abs(estimate - mpmath.mpf(sp.N(grad, 50))) < mpmath.mpf(10) ** -25, name


@pytest.mark.parametrize("stem, output", [("conv1d_stride2", "z"), ("conv2d_maxpool", "M"),
                                          ("batchnorm_batch3", "Y"), ("layernorm", "y")])
def test_the_forward_values_of_a_layer_problem_equal_the_definition(stem, output):
    path = ROOT / "problems" / f"{stem}.yaml"
    solution = solve(load(path))
    with mpmath.workdps(50):
        loss, out = LOSSES[stem](given(path))
        flat = [v for row in out for v in (row if isinstance(row, list) else [row])]
        digits = mpmath.mpf(10) ** -35  # exact problems agree exactly; the others to their 40 digits
        assert all(abs(mpmath.mpf(sp.N(v, 50)) - w) < digits for v, w in zip(solution.values[output], flat))
        assert abs(mpmath.mpf(sp.N(solution.values["L"], 50)) - loss) < digits


# -- errors: one line naming file, line and key, exit status 2 ----------------------------------

BASE = "inputs:\n  x: {x}\nparameters:\n  k: {k}\nforward:\n  z: {line}\nloss: sum(z)\n"


@pytest.mark.parametrize("x, k, line, message", [
    ("[1, 2]", "[1, 2, 3]", "conv1d(x, k)", "the kernel of conv1d (1×3) is larger than its input (1×2)"),
    ("[1, 2, 3]", "[1, 2]", "conv1d(x, k, stride=0)", "the stride of conv1d must be at least 1, not 0"),
    ("[1, 2, 3]", "[[1, 2]]", "conv1d(x, k)", "the kernel of conv1d must be a vector, not a 1×2 matrix"),
    ("[1, 2, 3]", "[1, 2]", "conv2d(x, k)", "the input of conv2d must be a matrix, not a vector of length 3"),
    ("[1, 2, 3]", "[1, 2]", "conv1d(x, k, 1.5)", "the stride of conv1d must be a whole number"),
    ("[1, 2, 3]", "[1, 2]", "conv1d(x, k, 1, 0, 3)", "conv1d takes 2 to 4 arguments, not 5"),
    ("[1, 2, 3]", "[1, 2]", "conv1d(x, k, strides=2)", "(did you mean stride?)"),
    ("[1, 2, 3]", "[1, 2]", "maxpool1d(x, 4)", "the window of maxpool1d (1×4) is larger than its input (1×3)"),
    ("[[1, 2], [3, 4]]", "[1, 2]", "batchnorm(x, k, k, x)", "the ε of batchnorm must be a number"),
    ("[[1, 2], [1, 2]]", "[1, 2]", "batchnorm(x, k, k, 0)", "divides by zero"),
])
def test_a_bad_layer_is_one_line_naming_file_line_and_key(tmp_path, x, k, line, message):
    path = tmp_path / "p.yaml"
    path.write_text(BASE.format(x=x, k=k, line=line), encoding="utf-8")
    result = cli("solve", path)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}:6: forward.z: "), result.stderr
    assert message in lines[0], lines[0]


def test_a_layer_beyond_layer_products_is_refused_and_the_limit_can_be_raised(tmp_path):
    path = tmp_path / "p.yaml"
    x = [[1] * 32 for _ in range(32)]
    path.write_text(BASE.format(x=x, k=[[1] * 3] * 3, line="conv2d(x, k)"), encoding="utf-8")
    result = cli("solve", path)
    assert result.exit_code == 2
    assert "conv2d takes 8100 multiply-adds (the limit is 4000; raise it with --limit layer_products=N)" \
        in result.stderr and ":6: forward.z:" in result.stderr
    small = tmp_path / "small.yaml"
    small.write_text(BASE.format(x=[[1, 2, 3]] * 3, k=[[1, 2]] * 2, line="conv2d(x, k)"), encoding="utf-8")
    assert cli("solve", small, "--answers").exit_code == 0
    result = cli("--limit", "layer_products=15", "solve", small)
    assert result.exit_code == 2 and "conv2d takes 16 multiply-adds (the limit is 15" in result.stderr
