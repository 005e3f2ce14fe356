"""Steps written per neuron: each vector step as one line per component, each gradient per weight."""
from __future__ import annotations

import re

from msgspec.structs import replace
import sympy as sp

from .algebra import Eval, T, element_symbols
from .engine import Work, at, factored
from .detail import DEFAULT
from .errors import UsageError
from .expr import BinOp, Call, Neg, Num, Transpose, did_you_mean, names_in, walk
from .layers import LAYERS, PER_ENTRY, PER_ENTRY_BACK, WINDOWED
from .ops import ELEMENTWISE, LOSSES
from .rules import backward, forward
from .sheetnotation import FORMS
from .solution import Delta, Forward, Gradient, Reference
from .steps import element_gradients, flat
from .written import as_written, substituted_each

AUTO = "auto"
MOST_UNITS = 4  # the default writes a layer of at most this many units neuron by neuron


def check_form(form: str | None) -> str | None:
    """The notation form asked for (neuron, matrix, both), None for the problem's own; a UsageError else."""
    if form is None or form in FORMS or form == AUTO:
        return None if form == AUTO else form
    raise UsageError(f"unknown notation {form!r}{did_you_mean(str(form), FORMS)}; the notations are "
                     + ", ".join(FORMS), key="--notation")


def per_neuron(work: Work, sections: list, form: str | None, detail: str = DEFAULT) -> list:
    """Shown sections with each vector step written as `form` says: per component (neuron), as the
    vector alone (matrix), or the vector then its components (both); None chooses per step:
    per neuron for layers of at most MOST_UNITS units, gradients of at most that many weights (a
    recurrence: vectors).
    A forward line's numbers come from the pass of values (work.passes) its section shows. At brief
    detail (name = value) a vector stays one line, and a reference to an earlier part names the
    whole vector. Below full detail a component an earlier section wrote is named once more, not
    worked again (after an update, a neuron whose inputs did not change: "h₁ from (a)")."""
    if form == "matrix" or work.g.problem.samples or detail == "brief":
        return sections
    if form is None and work.g.problem.recurrence is not None:  # sheets write a recurrence in vectors
        return sections
    out, seen = [], {}
    for sec in sections:
        steps = []
        values = _pass_of(work, sec)
        for step in sec.steps:
            parts = [] if form is None and not _small(step) else _components(work, step, values)
            if not parts and not isinstance(step, (Forward, Delta, Gradient)):
                steps.append(step)
                continue
            steps.extend([step] if form == "both" and parts else [])
            # a single element asked on its own (derive k[2]) is the same step as that component
            # written earlier, so it too is named once more rather than worked again
            for part in parts or [step]:
                same = replace(part, rules=()) if hasattr(part, "rules") else part
                if detail != "full" and same in seen:
                    steps.append(_reference(part, None if seen[same] == sec.part else seen[same]))
                elif parts:
                    seen.setdefault(same, sec.part)
                    steps.append(part)
                else:
                    steps.append(part)
        out.append(replace(sec, steps=tuple(steps)) if steps != list(sec.steps) else sec)
    return out


def _reference(step, part) -> Reference:
    """A component shown before, named once more with its value."""
    kind = {Forward: "forward", Delta: "delta", Gradient: "gradient"}[type(step)]
    return Reference(kind, step.name, part, step.value, (), getattr(step, "of", "L"), getattr(step, "label", None),
                     getattr(step, "symbol", None))


def _small(step) -> bool:
    """Whether the default writes a step per component: a layer of at most MOST_UNITS units, a
    gradient of at most that many weights (so that a solution does not grow)."""
    if isinstance(step, Gradient):
        return step.shape == () or _count(step.shape) <= MOST_UNITS
    return all(n <= MOST_UNITS for n in getattr(step, "shape", ()))


def _pass_of(work: Work, sec) -> dict | None:
    """The pass of values whose every forward value the section shows (the forward pass, or one after
    an update); None when no pass holds them all."""
    shown = [s for s in sec.steps if type(s) is Forward and s.name in work.g.nodes]
    return next((v for v in work.passes if all(v[s.name].x == s.value or s.value == work.expressions[s.name].x
                                               and v is work.values for s in shown)), None)


def _components(work: Work, step, values: dict | None) -> list:
    """The step's components as steps of their own, or [] for a step that has none to write."""
    shape = getattr(step, "shape", ())
    if shape == () or any(n == 1 for n in shape) and len(shape) == 2 or getattr(step, "index", None) is not None:
        return []
    kind = type(step)
    node = work.g.nodes.get(step.name)
    users = getattr(step, "users", ()) if kind is Delta else ()
    if node is None or not all(_entrywise(work.g.nodes[n].expr, PER_ENTRY if n == step.name else PER_ENTRY_BACK)
                               for n in (step.name, *users)
                               if n in work.g.nodes and work.g.nodes[n].expr is not None and n != work.of):
        return []  # softmax and the like mix the components: the vector form says it better
    if kind is Delta and work.of in users and not _entrywise(work.g.nodes[work.of].expr, LOSSES):
        return []  # a fused loss's δ (softmax(s) − t) is written as the vector it is
    if kind is Forward and step.name in work.g.nodes and work.g.nodes[step.name].role == "forward":
        return [] if values is None else _forward_components(work, step, values)
    if kind is Gradient and step.name in work.g.nodes and work.g.nodes[step.name].role == "parameter":
        if any(_layer_of_whole(work.g.nodes[u].expr) for u in work.g.users[step.name]):
            return []  # a normalisation's γ: its rule written once for the vector, not per weight
        return [replace(part, leibniz=None) for part in element_gradients(
            work, step.name, [(index, element_label(step.name, index)) for index in _indices(shape)])]
    if kind is Delta and step.symbol is None and step.of == work.of and step.name in work.deltas:
        return _delta_components(work, step)
    return []


def _entrywise(expr, also=()) -> bool:
    """Whether an expression applies only entry-by-entry functions (and sums, products, matrix
    products), or the functions in `also` (a loss, summed over the entries)."""
    if isinstance(expr, Call):
        return (expr.func in ELEMENTWISE or expr.func in also) and all(_entrywise(a, also) for a in expr.args)
    if isinstance(expr, BinOp):
        return _entrywise(expr.left, also) and _entrywise(expr.right, also)
    if isinstance(expr, (Neg, Transpose)):
        return _entrywise(expr.operand, also)
    return True


def _layer_of_whole(expr) -> bool:
    """Whether a line applies a layer whose backward pass is no sum per entry (a normalisation, a max-pooling)."""
    return any(isinstance(e, Call) and e.func in LAYERS and e.func not in PER_ENTRY_BACK for e in walk(expr))


def _windowed(expr) -> bool:
    """Whether a line applies a layer that reads windows (a convolution, a pooling)."""
    return any(isinstance(e, Call) and e.func in WINDOWED for e in walk(expr))


def element_label(name: str, index: tuple) -> str:
    """One element's name, as the sheet's notation map keys it: W2[2,1], u1[3]."""
    return f"{name}[{','.join(map(str, index))}]"


def _indices(shape: tuple) -> list:
    if len(shape) == 1:
        return [(i + 1,) for i in range(shape[0])]
    return [(i + 1, j + 1) for i in range(shape[0]) for j in range(shape[1])]


def _env(work: Work, names) -> dict:
    """The named nodes' element symbols; a scalar target spread over a vector output stays one symbol, t."""
    spread = {leaf.name for leaf in work.g.problem.targets if isinstance(leaf.value, Num)}
    nodes = work.g.nodes
    return {n: T(element_symbols(n, nodes[n].shape) if n not in spread or nodes[n].shape == ()
                 else sp.ImmutableMatrix(*_dims(nodes[n].shape), [sp.Symbol(n, real=True)] * _count(nodes[n].shape)),
                 nodes[n].shape) for n in dict.fromkeys(names)}


def _dims(shape: tuple) -> tuple:
    return (shape[0], 1) if len(shape) == 1 else shape


def _count(shape: tuple) -> int:
    return shape[0] if len(shape) == 1 else shape[0] * shape[1]


def _values(work: Work, env: dict, names, values: dict | None = None) -> dict:
    """Each element symbol of the named nodes (those a formula can hold) → its value."""
    values = work.values if values is None else values
    subs = {}
    for n in dict.fromkeys(names):
        subs.update(zip(flat(env[n].x), flat(values[n].x)))
    return subs


def _forward_components(work: Work, step: Forward, values: dict) -> list:
    """z_j = Σ_i W_ji x_i + b_j (or its xW layout) for each j: the node's rule applied to element
    symbols, then the engine's values put in; the value is the engine's own component."""
    node = work.g.nodes[step.name]
    names = names_in(node.expr)
    env = _env(work, names)
    formulas = flat(forward(node.expr, Eval(work.unit_targets), env).x)
    subs = _values(work, env, names, values)
    indices = _indices(node.shape)
    written = [in_reading_order(as_written(formula), names, by_window=_windowed(node.expr)) for formula in formulas]
    out = []
    for index, line, numbers in zip(indices, written, substituted_each(written, subs)):
        closed = None if step.closed is None else at(step.closed, index)
        out.append(Forward(element_label(step.name, index), (), line, numbers,
                           at(step.value, index), step.rules if set(index) == {1} else (), closed))
    return out


def _delta_components(work: Work, step: Delta) -> list:
    """δ_j = f′(z_j) Σ_k w_jk δ_k for each j: the backward rule of every user applied to element
    symbols of its δ, then the engine's values and deltas put in."""
    g, ev = work.g, Eval(work.unit_targets)
    held = [n for u in step.users for n in names_in(g.nodes[u].expr)]
    env = _env(work, held)
    total = None
    for u in step.users:
        unode = g.nodes[u]
        delta = (ev.lift(T(1, ()), unode.shape) if u == work.of
                 else T(element_symbols(f"delta_{u}", unode.shape), unode.shape))
        acc: dict = {}
        backward(unode.expr, ev, env, delta, acc, need={step.name})
        total = acc[step.name] if total is None else ev.add(total, acc[step.name])
    subs = _values(work, env, held)
    for n, node in g.nodes.items():
        if n in step.users and n != work.of and n in work.deltas:
            subs.update(zip(flat(element_symbols(f"delta_{n}", node.shape)), flat(work.deltas[n].x)))
    indices = _indices(step.shape)
    # 2(y₁ − t₁), as the sheet writes it, not 2y₁ − 2t₁
    written = [as_written(factored(at(total.x, index))) for index in indices]
    out = []
    for index, line, numbers in zip(indices, written, substituted_each(written, subs)):
        out.append(replace(step, name=element_label(step.name, index), shape=(), formula=line,
                           numbers=numbers,
                           value=None if step.value is None else at(work.deltas[step.name].x, index),
                           leibniz=None, rules=step.rules if set(index) == {1} else ()))
    return out


_ELEMENT = re.compile(r"(?P<name>[^\[]+)\[(?P<index>[0-9,]+)\]$")


def in_reading_order(formula, names: list, by_window: bool = False):
    """A sum's terms in the order the line names them (W x + b: the weighted inputs, then the bias),
    each name's terms by index (W₁₁x₁ + W₂₁x₂), rather than SymPy's alphabetical order; `by_window`:
    by the first name's index read row by row (a convolution's window: K₁₁X₁₁ + K₁₂X₁₂ + K₂₁X₂₁)."""
    if not isinstance(formula, sp.Add):
        return formula

    def key(term):
        places = []
        for symbol in term.free_symbols:
            m = _ELEMENT.match(symbol.name)
            base = m.group("name") if m else symbol.name
            index = tuple(int(i) for i in m.group("index").split(",")) if m else ()
            if base in names:
                places.append((names.index(base), index if by_window else index[::-1]))
        return min(places, default=(len(names), ()))
    terms = sorted(formula.args, key=key)
    return formula if list(terms) == list(formula.args) else sp.Add(*terms, evaluate=False)
