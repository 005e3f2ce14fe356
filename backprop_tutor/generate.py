"""new_problem(): a fresh practice problem with numbers a person can work by hand, checked by the exact engine.

The rules the numbers keep are in docs/new-problems.md; `broken_rule` checks them on the engine's values.
"""
from __future__ import annotations

import math
import random
import re
from fractions import Fraction

from msgspec import Struct
import sympy as sp

from .engine import Work
from .errors import UsageError
from .graph import build
from .limits import Limits, coerce
from .problem import loads

ACTIVATIONS = ("relu", "sigmoid", "tanh")
LOSSES = ("sse", "half_sse", "mse", "cross_entropy")
LAYOUTS = ("Wx", "xW")
SQUARED = ("sse", "half_sse", "mse")

INPUTS = (-2, -1, 1, 2, 3)                    # small integers, never 0 (a 0 input zeroes its weights' gradients)
TENTHS = tuple(k for k in range(-9, 10) if k)  # weights and biases: ±0.1 … ±0.9
LEARNING_RATE = Fraction(1, 10)
Z_BOUND = Fraction(9, 5)       # |z| ≤ 1.8 for σ and tanh units: σ′(z) ≥ 0.128, tanh′(z) ≥ 0.106
RELU_BOUND = 3                 # a ReLU unit's pre-activation lies in (0, 3]
SCORE_BOUND = 3                # an output's |pre-activation| ≤ 3 (before softmax or σ too)
TINY = Fraction(1, 10**4)      # no gradient element smaller than this in size
MAX_DECIMALS = 4               # exact nets of up to two layers: every number at most 4 decimals
TRIES = 400                    # whole candidates before giving up
UNIT_TRIES = 60                # weight rows drawn for one unit before the candidate is dropped
TARGET_TRIES = 40              # target draws for one candidate
REPEATS = 50                   # fresh draws for a variant whose numbers repeat an earlier one's


class Spec(Struct, frozen=True):
    """What to make: layer sizes (input and output counted), hidden activation, loss, layout, parts."""

    layers: tuple
    activation: str = "relu"
    loss: str = "sse"
    layout: str = "Wx"
    ask: bool = False
    wrt: str | None = None

    @property
    def depth(self) -> int:
        """The number of weight layers."""
        return len(self.layers) - 1

    @property
    def exact(self) -> bool:
        """Whether every number is a short decimal: no σ, tanh, softmax or log on the way."""
        return self.loss in SQUARED and (self.activation == "relu" or self.depth == 1)

    @property
    def decimals(self) -> int:
        """The most decimals a number of an exact net may have: 4 up to two layers, two more per layer after
        (each layer's weights add one decimal to the forward values and one to the deltas)."""
        return max(MAX_DECIMALS, 2 * self.depth)

    @property
    def loss_text(self) -> str:
        """The file's loss line."""
        if self.loss in SQUARED:
            return f"{self.loss}(y, t)"
        return "bce(sigmoid(y), t)" if self.layers[-1] == 1 else "cross_entropy(softmax(y), t)"


def spec(layers="2,2,1", activation="relu", loss="sse", layout="Wx", ask=False, wrt=None, limits=None) -> Spec:
    """The request checked against the choices and the limits; UsageError naming the option at fault."""
    lim = coerce(limits)
    sizes = _sizes(layers, lim)
    for value, choices, option in ((activation, ACTIVATIONS, "--activation"), (loss, LOSSES, "--loss"),
                                   (layout, LAYOUTS, "--layout")):
        if value not in choices:
            raise UsageError(f"{option} must be one of {', '.join(choices)}, not {_shown(value)}")
    if wrt is not None and not ask:
        raise UsageError("--wrt chooses the weight of the gradient part: give it with --ask")
    made = Spec(sizes, activation, loss, layout, bool(ask), wrt)
    if wrt is not None:
        _weight_index(made, wrt)
    return made


def _sizes(layers, lim: Limits) -> tuple:
    text = layers if isinstance(layers, str) else ",".join(str(n) for n in layers)
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) < 2 or not all(p.isascii() and p.isdigit() and len(p) <= 3 for p in parts):
        raise UsageError(f"--layers takes the layer sizes, input and output counted, e.g. 2,2,1; not {_shown(text)}")
    sizes = tuple(int(p) for p in parts)
    if len(sizes) > lim.new_layers:
        raise UsageError(lim.message("new_layers", f"--layers: {len(sizes)} layers"))
    if min(sizes) < 1:
        raise UsageError("--layers: every layer needs at least one unit")
    if max(sizes) > lim.new_units:
        raise UsageError(lim.message("new_units", f"--layers: a layer of {max(sizes)} units"))
    return sizes


def _shown(value) -> str:
    text = "".join(c if c.isprintable() else "?" for c in str(value))
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def new_problem(layers="2,2,1", activation="relu", loss="sse", layout="Wx", seed=None, ask=False, wrt=None,
                limits=None) -> str:
    """A fresh problem file's text (YAML); the same seed gives the same text, byte for byte."""
    made = spec(layers, activation, loss, layout, ask, wrt, limits)
    seed = fresh_seed() if seed is None else _seed(seed)
    return generate(made, random.Random(seed), _command(made, seed), limits=limits)


def new_variants(count: int, layers="2,2,1", activation="relu", loss="sse", layout="Wx", seed=None, ask=False,
                 wrt=None, limits=None) -> list[str]:
    """`count` variants of one sheet: the same structure (and asked weight), pairwise different numbers."""
    lim = coerce(limits)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise UsageError(f"--variants needs a whole number of at least 1, not {_shown(count)}")
    if count > lim.variants:
        raise UsageError(lim.message("variants", f"--variants {count}"))
    made = spec(layers, activation, loss, layout, ask, wrt, limits)
    seed = fresh_seed() if seed is None else _seed(seed)
    if made.ask and made.wrt is None:  # one asked weight for every variant: the same sheet
        made = Spec(made.layers, made.activation, made.loss, made.layout, True,
                    _pick_weight(made, random.Random(f"{seed}/weight")))
    texts, numbers = [], set()
    for k in range(1, count + 1):
        for attempt in range(REPEATS):
            rng = random.Random(f"{seed}/{k}/{attempt}")
            text = generate(made, rng, _command(made, seed, count), f" (variant {k} of {count})", limits)
            body = text.split("\ninputs:", 1)[1]
            if body not in numbers:
                break
        else:
            raise UsageError(f"--variants {count}: could not find {count} different sets of numbers")
        numbers.add(body)
        texts.append(text)
    return texts


def fresh_seed() -> int:
    """A seed drawn from the system's randomness, written into the file so that it can be made again."""
    return random.SystemRandom().randrange(10**6)


def _seed(seed) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise UsageError(f"--seed needs a whole number from 0 to 2^32 - 1, not {_shown(seed)}")
    return seed


def _command(made: Spec, seed: int, variants: int | None = None) -> str:
    words = ["tutor new", f"--layers {','.join(map(str, made.layers))}", f"--activation {made.activation}",
             f"--loss {made.loss}", f"--layout {made.layout}", f"--seed {seed}"]
    if made.ask:
        words.append("--ask" + (f" --wrt '{made.wrt}'" if made.wrt else ""))
    if variants:
        words.append(f"--variants {variants}")
    return " ".join(words)


# -- drawing one candidate ---------------------------------------------------------------------------

class _Retry(Exception):
    """This candidate cannot meet the rules; draw another."""


def generate(made: Spec, rng: random.Random, source: str, suffix: str = "", limits=None) -> str:
    """The first candidate drawn from rng that the exact engine finds meets every rule, as YAML text."""
    weight = made.wrt or (_pick_weight(made, rng) if made.ask else None)
    last = "no candidate drawn"
    for _ in range(TRIES):
        try:
            numbers = _draw(made, rng)
        except _Retry as e:
            last = str(e)
            continue
        text = file_text(made, numbers, source, weight, suffix)
        last = broken_rule(made, Work(build(loads(text, "<new>", limits))))
        if last is None:
            return text
    raise UsageError(f"{source}: found no numbers that keep the rules in {TRIES} tries ({last}); "
                     "try fewer layers or units, or another activation")


def _tenth(rng: random.Random) -> Fraction:
    return Fraction(rng.choice(TENTHS), 10)


def _draw(made: Spec, rng: random.Random) -> dict:
    """Inputs, each layer's weights (row per unit, Wx) and biases, and targets, layer by layer:
    each unit's row is drawn until its pre-activation keeps the rules."""
    x = [Fraction(rng.choice(INPUTS)) for _ in range(made.layers[0])]
    h, layers = x, []
    for k in range(made.depth):
        last = k == made.depth - 1
        rows, biases, zs = [], [], []
        for _ in range(made.layers[k + 1]):
            for _ in range(UNIT_TRIES):
                w, b = [_tenth(rng) for _ in h], _tenth(rng)
                z = sum((wi * hi for wi, hi in zip(w, h)), b)
                if _pre_ok(made, z, last) and not (last and made.exact and not _targets_near(made, z)):
                    break
            else:
                raise _Retry(f"no weights keep unit {len(rows) + 1} of layer {k + 1} in range")
            rows.append(w)
            biases.append(b)
            zs.append(z)
        layers.append((rows, biases))
        h = zs if last else [_activate(made.activation, z) for z in zs]
    return {"x": x, "layers": layers, "t": _targets(made, h, rng)}


def _pre_ok(made: Spec, z, last: bool) -> bool:
    if last:
        return z != 0 and abs(z) <= SCORE_BOUND
    if made.activation == "relu":
        return 0 < z <= RELU_BOUND
    return z != 0 and abs(z) <= Z_BOUND


def _activate(activation: str, z):
    if activation == "relu":
        return max(z, Fraction(0))
    return 1 / (1 + math.exp(-float(z))) if activation == "sigmoid" else math.tanh(float(z))


def _targets(made: Spec, y: list, rng: random.Random) -> list:
    """One-decimal targets near the outputs (a one-hot class, or 0/1 for one output, for cross_entropy);
    for an exact net, drawn until δ_y and the loss stay short."""
    if made.loss == "cross_entropy":
        if len(y) == 1:
            return [Fraction(rng.randrange(2))]
        hot = rng.randrange(len(y))
        return [Fraction(int(i == hot)) for i in range(len(y))]
    offsets = [k for k in range(-8, 9) if abs(k) >= 2]
    for _ in range(TARGET_TRIES):
        t = []
        for v in y:  # each output's target drawn among those whose δ_y entry is no longer than y
            near = round(float(v) * 10)
            fits = _targets_near(made, v) if made.exact else [Fraction(near + k, 10) for k in offsets]
            if not fits:
                raise _Retry("no target keeps δ_y short")
            t.append(rng.choice(fits))
        if not made.exact or _short_loss(made, y, t):
            return t
    raise _Retry("no targets keep the loss short")


def _targets_near(made: Spec, y) -> list:
    """The one-decimal targets about 0.2 to 0.8 away from an output y whose δ_y entry stays short."""
    near = round(float(y) * 10)
    return [Fraction(near + k, 10) for k in range(-8, 9) if abs(k) >= 2
            and _short_delta(made, y, Fraction(near + k, 10), made.layers[-1])]


SCALES = {"sse": (Fraction(2), Fraction(1)), "half_sse": (Fraction(1), Fraction(1, 2)), "mse": (Fraction(2), Fraction(1))}


def _short_delta(made: Spec, y, t, n: int) -> bool:
    """δ_y's entry (2(y − t), y − t, or 2(y − t)/n for mse) has no more decimals than y."""
    delta = SCALES[made.loss][0] * (y - t) / (n if made.loss == "mse" else 1)
    places = decimals(delta)
    return places is not None and places <= decimals(y)


def _short_loss(made: Spec, y: list, t: list) -> bool:
    """The loss within the decimals allowed."""
    loss = SCALES[made.loss][1] * sum((a - b) ** 2 for a, b in zip(y, t)) / (len(y) if made.loss == "mse" else 1)
    places = decimals(loss)
    return places is not None and places <= made.decimals


def decimals(value) -> int | None:
    """How many decimals an exact number has (None: it has no finite decimal form)."""
    q = Fraction(value).denominator if not isinstance(value, sp.Basic) else int(sp.Rational(value).q)
    twos = fives = 0
    while q % 2 == 0:
        q, twos = q // 2, twos + 1
    while q % 5 == 0:
        q, fives = q // 5, fives + 1
    return max(twos, fives) if q == 1 else None


def _pick_weight(made: Spec, rng: random.Random) -> str:
    """A weight of the first layer, the longest chain back from the loss, as the file writes it."""
    rows, cols = _matrix_dims(made, 1)
    return f"W1[{rng.randint(1, rows)},{rng.randint(1, cols)}]"


def _matrix_dims(made: Spec, layer: int) -> tuple:
    n_in, n_out = made.layers[layer - 1], made.layers[layer]
    return (n_out, n_in) if made.layout == "Wx" else (n_in, n_out)


def _weight_index(made: Spec, name: str) -> tuple:
    """The layer, row and column of a weight named W2[1,2] (or W2_12), as the file writes the matrix."""
    m = re.fullmatch(r"W(\d)(?:\[(\d+),(\d+)\]|_(\d)(\d))", str(name))
    if not m:
        raise UsageError(f"--wrt names one weight, as W1[2,1] or W1_21; not {_shown(name)}")
    layer = int(m[1])
    row, col = (int(m[2]), int(m[3])) if m[2] else (int(m[4]), int(m[5]))
    if not 1 <= layer <= made.depth:
        raise UsageError(f"--wrt {name}: the network has weight layers W1 to W{made.depth}")
    rows, cols = _matrix_dims(made, layer)
    if not (1 <= row <= rows and 1 <= col <= cols):
        raise UsageError(f"--wrt {name}: W{layer} is a {rows}×{cols} matrix in the {made.layout} layout")
    return layer, row, col


# -- the rules, on the exact engine's values ------------------------------------------------------------

def hidden_names(made: Spec) -> list:
    """The nodes of the hidden pre-activations, z1 … (the network shorthand's names)."""
    return [f"z{k}" for k in range(1, made.depth)]


def entries(value) -> list:
    """The numbers of a value: a scalar, or a vector's or matrix's entries."""
    return list(value) if isinstance(value, sp.MatrixBase) else [value]


def broken_rule(made: Spec, work: Work) -> str | None:
    """The first rule the engine's numbers break, in words; None when they keep every one."""
    for name in hidden_names(made):
        for z in entries(work.values[name].x):
            if made.activation == "relu" and not z > 0:
                return f"a ReLU unit is off or at 0 ({name} = {z})"
            if made.activation != "relu" and not (z != 0 and abs(z) <= Z_BOUND):
                return f"a pre-activation outside 0 < |z| ≤ 1.8 ({name} ≈ {float(z):.3g})"
    gradients = {n.name: work.deltas[n.name].x for n in work.g.parameters}
    for name, g in gradients.items():
        small = [v for v in entries(g) if abs(v) < TINY]
        if small:
            return f"a gradient element of {name} is 0 or smaller than 0.0001"
    if made.exact:
        updated = work.updated_leaves()
        groups = [("value", v.x) for v in work.values.values()] + [("δ", d.x) for d in work.deltas.values()] \
            + [("updated weight", u) for u in updated.values()]
        for what, value in groups:
            for v in entries(value):
                d = decimals(v)
                if d is None or d > made.decimals:
                    return f"a {what} with more than {made.decimals} decimals ({v})"
    return None


# -- the file -----------------------------------------------------------------------------------------

def number(value) -> str:
    """An exact decimal as the file writes it: -0.3, 2, 1.25 (never through a binary float)."""
    value = Fraction(value)
    places = decimals(value)
    if places is None:
        raise ValueError(f"{value} has no finite decimal form")
    sign = "-" if value < 0 else ""
    scaled = abs(value.numerator) * 10**places // value.denominator
    whole, frac = divmod(scaled, 10**places)
    return sign + str(whole) + (f".{frac:0{places}d}".rstrip("0") if places else "")


def _vector(values) -> str:
    return "[" + ", ".join(number(v) for v in values) + "]"


def _matrix(rows) -> str:
    return "[" + ", ".join(_vector(r) for r in rows) + "]"


WORDS = {"relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh"}
LOSS_NAMES = {"sse": "the sum of squared errors", "half_sse": "half the sum of squared errors",
              "mse": "the mean squared error", "cross_entropy": "the cross-entropy"}
LOSS_MATH = {"sse": r"L = \sum_i (y_i - t_i)^2", "half_sse": r"L = \frac{1}{2} \sum_i (y_i - t_i)^2",
             "mse": r"L = \frac{1}{n} \sum_i (y_i - t_i)^2"}


def _notes(made: Spec) -> str:
    sizes, k = made.layers, made.layers[-1]
    hidden = ", ".join(f"{n} {WORDS[made.activation]} hidden unit{'s' * (n != 1)}" for n in sizes[1:-1])
    if made.loss in SQUARED:
        output, loss = f"{k} linear output{'s' * (k != 1)}", f"${LOSS_MATH[made.loss]}$"
    elif k == 1:
        output, loss = "1 output $y$", r"the binary cross-entropy of $p = \sigma(y)$, $L = -t \log p - (1 - t) \log(1 - p)$"
    else:
        output = f"{k} output scores $y$"
        loss = r"$p = \mathrm{softmax}(y)$ and the cross-entropy $L = -\sum_i t_i \log p_i$"
    net = ", ".join(p for p in (f"{sizes[0]} input{'s' * (sizes[0] != 1)}", hidden, output) if p)
    layout = (r"one row per neuron, $z = W x + b$" if made.layout == "Wx"
              else r"one row per input, $z = W^\top x + b$")
    return (f"{net}; {loss}; learning rate $\\alpha = 0.1$. The weight matrices are written {layout}.")


def _title(made: Spec) -> str:
    shape = "-".join(map(str, made.layers))
    if made.depth == 1:
        kind = "a single layer"
    else:
        kind = f"{WORDS[made.activation]} hidden unit{'s' * (sum(made.layers[1:-1]) != 1)}"
    return f"Practice: a {shape} network, {kind}, {LOSS_NAMES[made.loss]}"


def file_text(made: Spec, numbers: dict, source: str, weight: str | None, suffix: str = "") -> str:
    """The problem file: title, source (the command that makes it again), notes, the network, the parts."""
    lines = [f'title: "{_title(made)}{suffix}"', f'source: "{source}"', "notes: >"]
    lines += ["  " + line for line in _wrapped(_notes(made), 92)]
    lines += ["", "inputs:", f"  x: {_vector(numbers['x'])}", "", "network:", f"  layout: {made.layout}",
              "  input: x", "  layers:"]
    for k, (rows, biases) in enumerate(numbers["layers"]):
        last = k == made.depth - 1
        matrix = rows if made.layout == "Wx" else [list(col) for col in zip(*rows)]
        activation = "linear" if last else made.activation
        lines.append(f"    - {{weights: {_matrix(matrix)}, bias: {_vector(biases)}, activation: {activation}}}")
    lines += ["", "targets:", f"  t: {_vector(numbers['t'])}", f"loss: {made.loss_text}",
              f"learning_rate: {number(LEARNING_RATE)}"]
    if weight is not None:
        quoted = f'"{weight}"'
        lines += ["", "ask:", "  - {part: a, show: forward}", "  - {part: b, show: loss}",
                  f"  - {{part: c, gradient: {quoted}}}", f"  - {{part: d, update: [{quoted}]}}",
                  "  - {part: e, show: loss_after_update}"]
    return "\n".join(lines) + "\n"


def _wrapped(text: str, width: int) -> list:
    words = []
    for word in text.split():  # math between $ … $ stays on one line
        if words and words[-1].count("$") % 2:
            words[-1] += " " + word
        else:
            words.append(word)
    out, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return out + [line]
