"""Classic backpropagation slips, each recognised by recomputing the whole solution exactly with it made."""
from __future__ import annotations

import re
from fractions import Fraction

from msgspec import Struct, field
import sympy as sp

from .algebra import Eval, ShapeError, T
from .datasets import solvable
from .engine import Work, evaluate, is_symbolic, leaf_values
from .errors import ProblemError
from .expr import BinOp, Call, Name, Neg, Num, Transpose
from .graph import Graph, build
from .problem import Problem
from .rules import backward, forward

ACTIVATIONS = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu", "softplus": "softplus"}
SQUARED_LOSSES = ("sse", "mse", "half_sse")
WEIGHT_ROLES = ("parameter", "derived")
SAMPLE_MARK = re.compile(r"\^\(\d+\)")  # x^(2): the copy of x for sample 2 (problem.py)


class Slip(Struct, frozen=True):
    """One classic mistake: a stable key and one line naming it in the sheet's names."""

    key: str
    says: str


class Slipped(Struct, frozen=True):
    """A slip and the solution recomputed with it made (engine.Work-compatible numbers)."""

    slip: Slip
    work: object


class SlippedWork:
    """A Work's numbers with one slip made: forward values, deltas and gradients, one update, the loss
    after it; the same exact SymPy numbers as engine.Work, and what it does not change is the real one's."""

    def __init__(self, real: Work, deltas: dict, rate=None):
        self.real, self.g, self.of = real, real.g, real.of
        self.values = real.values  # no slip here changes the forward pass
        self.deltas = deltas
        self.rate = rate

    def updated_leaves(self, only: dict | None = None) -> dict:
        """Given parameters after one step taken with this computation's gradients (and slipped rate)."""
        return self.real.updated_leaves(only, deltas=self.deltas, rate=self.rate)

    def loss_after(self, new: dict) -> dict:
        """Every node's value again, with the parameters in `new` moved."""
        return evaluate(self.g, leaf_values(self.g, new))


class Rewired(Eval):
    """Eval with the local derivative of one activation changed: taken as 1 (the derivative left out),
    or taken of the activation's output instead of its input (σ′(h) for σ′(z))."""

    def __init__(self, unit_targets: bool, func: str, how: str):
        super().__init__(unit_targets)
        self.func, self.how = func, how

    def apply_prime(self, name: str, a: T, *params: T) -> T:
        """The slipped derivative for the chosen function, the true one for every other."""
        if name != self.func:
            return super().apply_prime(name, a, *params)
        if self.how == "one":
            return self.lift(self.const(1), a.shape)
        return super().apply_prime(name, self.apply(name, a, *params), *params)


class Recipe(Struct, frozen=True):
    """Where a slip is made, as hooks of recompute: per node the algebra, values and expression its
    backward pass uses, and maps of the contributions (user, used, value) → value or None."""

    work: Work
    algebra: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    expr: dict = field(default_factory=dict)
    contributions: tuple = ()

    def __call__(self, known: dict | None = None) -> SlippedWork:
        """The solution recomputed with the slip made (see recompute for `known`)."""
        return SlippedWork(self.work, recompute(
            self.work, algebra_for=lambda n: self.algebra.get(n.name), env_for=lambda n: self.env.get(n.name),
            expr_for=lambda n: self.expr.get(n.name), contribution=self.contribute if self.contributions else None,
            known=known))

    def contribute(self, user: str, used: str, value):
        """A contribution with every map applied in turn; None once one leaves it out."""
        for f in self.contributions:
            if value is None:
                break
            value = f(user, used, value)
        return value

    def joined(self, other: Recipe) -> Recipe:
        """The same slip made at the places of both (in each sample's copy of a line)."""
        return Recipe(self.work, {**self.algebra, **other.algebra}, {**self.env, **other.env},
                      {**self.expr, **other.expr}, self.contributions + other.contributions)


def recompute(work: Work, algebra_for=None, env_for=None, expr_for=None, contribution=None,
              known: dict | None = None, record: dict | None = None) -> dict:
    """Every delta again by reverse accumulation (numbers only), with hooks that make a slip: per
    computed node the algebra, the values and the expression its backward pass uses, and a map
    of each contribution (user, used, value) → value, or None to leave it out.

    `record` collects each node's delta and contributions; given back as `known`, a node without
    a hook whose delta is unchanged reuses them (a slip recomputes only what lies below it).
    """
    g, ev = work.g, Eval(work.unit_targets)
    if work.of not in g.nodes:
        return dict(work.deltas)
    order = {n.name: i for i, n in enumerate(g.computed)}
    terms: dict[str, list] = {n: [] for n in g.nodes}
    deltas: dict[str, T] = {}
    above = g.ancestors(work.of)

    def close(name, shape):
        got = sorted(terms[name], key=lambda t: order.get(t[0], -1))  # the engine's order of the sum
        if not got:
            return ev.lift(T(sp.Integer(0), ()), shape)
        value = got[0][1]
        for _, v in got[1:]:
            value = ev.add(value, v)
        return value

    for node in reversed(g.computed):
        name = node.name
        if name not in above or name not in work.need:
            continue
        if name == work.of:  # the seed ∂L/∂L = 1, which the engine does not list among the deltas
            delta = ev.lift(T(sp.Integer(1), ()), node.shape)
        else:
            delta = deltas[name] = close(name, node.shape)
        hooks = ((expr_for and expr_for(node)), (algebra_for and algebra_for(node)), (env_for and env_for(node)))
        if known is not None and hooks == (None, None, None) and known[name][0].x == delta.x:
            acc = known[name][1]
        else:
            acc = {}
            backward(hooks[0] or node.expr, hooks[1] or ev, hooks[2] or work.values, delta, acc, work.need)
        if record is not None:
            record[name] = (delta, acc)
        for used, v in acc.items():
            if contribution is not None:
                v = contribution(name, used, v)
            if v is not None:
                terms[used].append((name, v))
    for name, real in work.deltas.items():
        if name not in deltas:
            node = g.nodes[name]
            deltas[name] = close(name, node.shape) if terms[name] or name in above else real
    return deltas


def slipped(problem: Problem | Graph, work: Work | None = None) -> list[Slipped]:
    """Every slip that applies to this problem, each recomputed exactly and each changing some number
    of the solution (a slip that changes nothing, such as z for h through an active ReLU, is left out).

    The slips (Slip.key): no_activation_derivative, post_for_pre_activation (σ′(h) for σ′(z)),
    pre_for_post_activation (z for h in a weight's gradient), squared_error_factor,
    weight_index_transposed (square matrices only), update_sign_flipped, learning_rate_left_out,
    bias_gradient_times_input, second_path_left_out, updated_weights_for_deltas; each once per place
    it can be made, its Slip.says naming the place. A problem without a loss, or whose values are
    symbolic, has none. Two slips may give the same numbers; each is listed. Pass the problem's Work
    when it has been computed already.
    """
    if work is None:
        graph = problem if isinstance(problem, Graph) else build(solvable(problem))
        work = Work(graph)
    if work.of not in work.g.nodes or any(is_symbolic(v.x) for v in work.values.values()):
        return []
    known: dict = {}
    recompute(work, record=known)
    step = work.updated_leaves() if work.g.problem.learning_rate is not None else None
    out = []
    for slip, make in candidates(work):
        try:
            computed = make(known)
            if _changes(work, computed, step):
                out.append(Slipped(slip, computed))
        except (ShapeError, ZeroDivisionError, ProblemError):
            continue  # the slip makes no computation at all here (a shape that no longer fits)
    return out


def _changes(work: Work, computed, step: dict | None) -> bool:
    """Whether a slip changes a number of the solution: a delta or gradient, or a parameter after the
    step (`step`: the real one, None without a learning rate)."""
    if any(computed.deltas[n].x != d.x for n, d in work.deltas.items()):
        return True
    return step is not None and computed.updated_leaves() != step


def candidates(work: Work) -> list:
    """(Slip, a function recomputing the solution with it) for every place each slip can be made.

    Over several samples (data:), a slip made in each sample's copy of a line is one slip, made in
    every copy: a student who slips in one sample slips the same way in the next.
    """
    out = []
    for find in (_activation_slips, _squared_error_slips, _update_slips, _z_for_h_slips,
                 _transposed_slips, _bias_slips, _path_slips, _updated_weights_slips):
        out.extend(find(work))
    if not work.g.problem.samples:
        return out
    merged: dict = {}
    for slip, make in out:
        plain = Slip(slip.key, SAMPLE_MARK.sub("", slip.says))
        if plain == slip or not isinstance(make, Recipe):
            merged[slip] = make
        elif plain in merged:
            merged[plain] = merged[plain].joined(make)
        else:
            merged[plain] = make
    made = {slip for slip, _ in out}
    return [(Slip(slip.key, slip.says + (" (in every sample)" if slip not in made else "")), make)
            for slip, make in merged.items()]


# -- where each slip can be made --------------------------------------------------------------

def _activation_slips(work: Work):
    """1. relu′/σ′/tanh′ taken as 1 in a δ; 3b. σ′(h) for σ′(z), the output put in for the input."""
    for node in _backward_nodes(work):
        for call in _walk(node.expr):
            if not (isinstance(call, Call) and call.func in ACTIVATIONS and len(call.args) == 1):
                continue
            f, arg = call.func, _text(call.args[0])
            prime, delta = f"{ACTIVATIONS[f]}′", _delta(call.args[0])
            output = _text(Name(node.name)) if node.expr == call else f"{ACTIVATIONS[f]}({arg})"
            for how, key, says in (("one", "no_activation_derivative",
                                    f"{prime}({arg}) left out of {delta} (taken as 1)"),
                                   ("of_output", "post_for_pre_activation",
                                    f"{prime}({output}) used for {prime}({arg}) in {delta}")):
                yield Slip(key, says), Recipe(work, algebra={node.name: Rewired(work.unit_targets, f, how)})


def _z_for_h_slips(work: Work):
    """3a. the pre-activation used where the post-activation belongs: δ·zᵀ for δ·hᵀ in a weight's gradient."""
    g = work.g
    for node in g.computed:
        if not (isinstance(node.expr, Call) and node.expr.func in ACTIVATIONS and len(node.expr.args) == 1):
            continue
        pre = forward(node.expr.args[0], Eval(work.unit_targets), work.values)
        for user in g.users.get(node.name, ()):
            if user not in work.deltas or not any(_weighted_input(g, term) == node.name
                                                  for term in _summands(g.nodes[user].expr)):
                continue  # only where h is multiplied by a weight, whose gradient then reads z for h
            env = {**work.values, node.name: pre}
            says = (f"{_text(node.expr.args[0])} used for {_text(Name(node.name))} "
                    f"in the gradient of {_weights_of(g, user)}")
            yield Slip("pre_for_post_activation", says), Recipe(work, env={user: env})


def _squared_error_slips(work: Work):
    """2. the factor 2 of a squared error dropped (sse, mse, a written (y − t)²), or doubled where the ½
    is forgotten (half_sse, a written ½·(y − t)² or (y − t)²/2)."""
    for node in _backward_nodes(work):
        found = [e for e in _walk(node.expr) if _squared(e) or _halved(e)]
        for k, e in enumerate(found):
            half = _squared(e) and not (isinstance(e, Call) and e.func == "half_sse")
            factor = Num(Fraction(1, 2) if half else Fraction(2))
            nth = sum(1 for other in found[:k] if other == e)  # equal subtrees are told apart by place
            expr = _replaced(node.expr, e, nth, lambda x: BinOp("*", factor, x))
            inner = e.args[0] if isinstance(e, Call) else e.left if _squared(e) else None
            where = f" of {_text(inner)}" if isinstance(inner, Name) else ""
            says = (f"the factor 2 of the squared error{where} dropped" if half
                    else f"the ½ of the squared error{where} forgotten (its slope doubled)")
            yield Slip("squared_error_factor", says), Recipe(work, expr={node.name: expr})


def _squared(e) -> bool:
    """A squared error: sse, mse or half_sse, or a square written e ** 2."""
    return (isinstance(e, Call) and e.func in SQUARED_LOSSES
            or isinstance(e, BinOp) and e.op == "**" and e.right == Num(Fraction(2)))


def _halved(e) -> bool:
    """A ½ written before (or a /2 after) an expression that holds a square."""
    if not isinstance(e, BinOp):
        return False
    half = Num(Fraction(1, 2))
    rest = (e.right if e.left == half else e.left if e.right == half else None) if e.op == "*" else \
        e.left if e.op == "/" and e.right == Num(Fraction(2)) else None
    return rest is not None and any(_squared(x) and not isinstance(x, Call) for x in _walk(rest))


def _update_slips(work: Work):
    """5. the update's sign flipped (w + α g); 6. the learning rate left out (w − g)."""
    lr = work.g.problem.learning_rate
    if lr is None:
        return
    rate = sp.Rational(lr.numerator, lr.denominator)
    yield Slip("update_sign_flipped", "the sign of the update flipped (w + α·∂L/∂w)"), \
        lambda known: SlippedWork(work, work.deltas, rate=-rate)
    yield Slip("learning_rate_left_out", "the learning rate left out (w − ∂L/∂w)"), \
        lambda known: SlippedWork(work, work.deltas, rate=sp.Integer(1))


def _transposed_slips(work: Work):
    """4. a square weight matrix's gradient transposed, and W·δ for Wᵀ·δ in the delta below it."""
    g = work.g
    for node in g.parameters:
        if len(node.shape) != 2 or node.shape[0] != node.shape[1] or node.shape[0] < 2:
            continue
        if node.name in work.deltas:
            def flip(user, used, v, name=node.name):
                return T(v.x.T, v.shape) if used == name else v
            yield Slip("weight_index_transposed", f"∂L/∂{_text(Name(node.name))} transposed (index ij for ji)"), \
                Recipe(work, contributions=(flip,))
        for user in g.users.get(node.name, ()):
            if user in work.deltas and any(isinstance(e, BinOp) and e.op == "@" and Name(node.name) in (e.left, e.right)
                                           for e in _walk(g.nodes[user].expr)):
                env = {**work.values, node.name: T(work.values[node.name].x.T, node.shape)}
                w = _text(Name(node.name))
                says = f"{w}·δ for {w}ᵀ·δ where the delta passes back through {_text(Name(user))}"
                yield Slip("weight_index_transposed", says), Recipe(work, env={user: env})


def _bias_slips(work: Work):
    """7. a bias's gradient multiplied by an input, as if it were a weight (∂L/∂b = δ·x)."""
    g = work.g
    for bias in g.parameters:
        if bias.name not in work.deltas:
            continue
        beside: dict[int, dict] = {}  # k → {user: its k-th weighted input}, each beside the bias
        for user in g.users.get(bias.name, ()):
            terms = _summands(g.nodes[user].expr)
            if Name(bias.name) not in terms:
                continue
            inputs = [a for a in map(lambda t: _weighted_input(g, t), terms)
                      if a is not None and g.nodes[a].shape in ((), bias.shape)]
            for k, a in enumerate(inputs):
                beside.setdefault(k, {})[user] = a
        for where in beside.values():
            def times(user, used, v, name=bias.name, where=dict(where)):
                if used != name or user not in where:
                    return v
                return Eval(work.unit_targets).mul(v, work.values[where[user]])
            inputs = ", ".join(dict.fromkeys(SAMPLE_MARK.sub("", _text(Name(a))) for a in where.values()))
            says = f"∂L/∂{_text(Name(bias.name))} multiplied by {inputs} (the bias taken for a weight)"
            yield Slip("bias_gradient_times_input", says), Recipe(work, contributions=(times,))


def _path_slips(work: Work):
    """8. one path's term left out of the delta of a node (or gradient of a parameter) with two users."""
    g = work.g
    for name in work.deltas:
        users = [u for u in dict.fromkeys(g.users.get(name, ())) if u in work.deltas and u in work.need]
        if len(users) < 2 or g.problem.samples and g.nodes[name].role in WEIGHT_ROLES:
            # over several samples a parameter's users are the copies of one line, not two paths
            continue
        for user in users:
            def drop(u, used, v, name=name, user=user):
                return None if (u, used) == (user, name) else v
            says = f"the term through {_text(Name(user))} left out of ∂L/∂{_text(Name(name))} (it has two users)"
            yield Slip("second_path_left_out", says), Recipe(work, contributions=(drop,))


def _updated_weights_slips(work: Work):
    """9. the weights above already updated when the deltas below them are computed (the step taken
    layer by layer, each layer's δ with the new weights of the layer above)."""
    if work.g.problem.learning_rate is None:
        return

    def make(known):
        deltas = work.deltas
        for _ in range(len(work.g.parameters) + 1):  # to the fixed point: one round per layer
            updated = SlippedWork(work, deltas).updated_leaves()
            env = {**work.values, **{n: T(v, work.g.nodes[n].shape) for n, v in updated.items()}}
            again = recompute(work, env_for=lambda node: env)
            if {n: d.x for n, d in again.items()} == {n: d.x for n, d in deltas.items()}:
                break
            deltas = again
        return SlippedWork(work, deltas)

    yield Slip("updated_weights_for_deltas", "the already-updated weights used for the deltas of the layer below"), make


# -- small tools ------------------------------------------------------------------------------

def _backward_nodes(work: Work) -> list:
    """The computed nodes the backward pass goes through."""
    above = work.g.ancestors(work.of)
    return [n for n in work.g.computed if n.name in above and n.name in work.need]


def _walk(e):
    """Every node of an expression tree, in order."""
    yield e
    for child in (getattr(e, "args", None) or ()) if isinstance(e, Call) else \
            [getattr(e, a) for a in ("left", "right", "operand") if hasattr(e, a)]:
        yield from _walk(child)


def _replaced(e, target, k: int, f):
    """The expression with the k-th occurrence (in _walk order) of `target` replaced by f(target)."""
    seen = [0]

    def go(x):
        if x == target:
            seen[0] += 1
            if seen[0] - 1 == k:
                return f(x)
        if isinstance(x, Call):
            return Call(x.func, tuple(go(a) for a in x.args))
        if isinstance(x, BinOp):
            return BinOp(x.op, go(x.left), go(x.right))
        if isinstance(x, (Neg, Transpose)):
            return type(x)(go(x.operand))
        return x
    return go(e)


def _summands(e) -> list:
    """The terms of a sum a + b + c (a single term otherwise)."""
    if isinstance(e, BinOp) and e.op == "+":
        return _summands(e.left) + _summands(e.right)
    return [e]


def _weighted_input(g: Graph, term):
    """The name x of a term w·x, x·w, W @ x or x @ W whose other factor is a trained parameter."""
    if isinstance(term, BinOp) and term.op in "*@" and isinstance(term.left, Name) and isinstance(term.right, Name):
        left, right = g.nodes[term.left.id], g.nodes[term.right.id]
        if left.role in WEIGHT_ROLES and right.role not in WEIGHT_ROLES:
            return right.name
        if right.role in WEIGHT_ROLES and left.role not in WEIGHT_ROLES:
            return left.name
    return None


def _weights_of(g: Graph, user: str) -> str:
    """The trained parameters a node uses directly, for naming the gradient a slip changes there."""
    names = [n for n in dict.fromkeys(_names(g.nodes[user].expr)) if g.nodes[n].role in WEIGHT_ROLES]
    return ", ".join(_text(Name(n)) for n in names) if names else _text(Name(user))


def _names(e):
    return [x.id for x in _walk(e) if isinstance(x, Name)]


_SUBSCRIPTS = str.maketrans("0123456789aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
_LETTERS_DIGITS = re.compile(r"^([A-Za-z]+)_?(\d+)$")
_INDEXED = re.compile(r"^([A-Za-z]+)_([0-9aehijklmnoprstuvx]+)$")


def _text(e) -> str:
    """A name as a sheet writes it (z2 as z₂, net_h1 as netₕ₁); any other expression as an ellipsis."""
    if isinstance(e, Name):
        mark = SAMPLE_MARK.search(e.id)
        name = e.id[:mark.start()] if mark else e.id
        m = _LETTERS_DIGITS.match(name) or _INDEXED.match(name)
        return (m.group(1) + m.group(2).translate(_SUBSCRIPTS) if m else name) + (mark.group() if mark else "")
    return "…"


def _delta(e) -> str:
    """δ of a node as a sheet writes it: δ₂ for z2, δ(netₕ₁) for a longer name, δ of an expression."""
    if not isinstance(e, Name):
        return "δ"
    mark = SAMPLE_MARK.search(e.id)
    m = _LETTERS_DIGITS.match(e.id[:mark.start()] if mark else e.id)
    return "δ" + m.group(2).translate(_SUBSCRIPTS) + (mark.group() if mark else "") if m else f"δ({_text(e)})"
