"""The steps a solution and a derivation show, each built from the engine's numbers: forward
lines, the givens, gradients (a whole parameter or one weight) and update lines."""
from __future__ import annotations

import weakref

from msgspec.structs import replace
import sympy as sp

from .algebra import Eval, T, element_symbols
from .delta_convention import apply as convention
from .engine import FD_STEP, Work, at, leibniz_sum, rules_of
from .expr import names_in
from .graph import Node
from .rounding import read_by_hand
from .rules import backward, forward
from .solution import Check, Delta, Forward, Given, Gradient, LossValue, Update
from .written import as_written, substituted_each

_BUILT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # work → its delta steps, built once
_ALL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # the same, with those the δ convention folds away


def delta_steps(work: Work) -> dict:
    """δ_node (or ∂of/∂p for a parameter, a derived parameter or an input) for every node the
    backward pass closed, built once per Work and shared by every part that shows one."""
    if work not in _BUILT:
        out = {}
        for name, s in work.sums.items():
            node, value = work.g.nodes[name], work.deltas[name].x
            if node.role in ("parameter", "derived", "input"):
                out[name] = Gradient(name, node.shape, s.users, s.formula, s.numbers, value,
                                     leibniz=s.leibniz, of=work.of)
            else:
                rules = tuple(dict.fromkeys(r for u in s.users for r in rules_of(work.g.nodes[u])))
                out[name] = Delta(name, node.shape, s.users, s.formula, s.numbers, value, rules,
                                  leibniz=s.leibniz, of=work.of)
        out, folded = convention(work, {name: _as_sheet(work, step) for name, step in out.items()})
        _ALL[work] = out
        _BUILT[work] = {name: step for name, step in out.items() if name not in folded}
    return _BUILT[work]


def _as_sheet(work: Work, step):
    """A step whose formula writes a mean over general samples 1/N; its value stays the value for
    the samples given (1/3 for three), as every number the program gives does."""
    formula = work.as_sheet(step.formula)
    return step if formula is step.formula else replace(step, formula=formula)


def sheet_form(work: Work, sections: list) -> list:
    """The sections as the sheet writes them: a symbolic value with a mean over samples kept general
    shows 1/N (the value for the samples given stays in the Solution's numbers and in JSON)."""
    if work.g.problem.general_samples is None:
        return sections
    out = []
    for sec in sections:
        steps = tuple(_value_as_sheet(work, step) for step in sec.steps)
        out.append(sec if steps == sec.steps else replace(sec, steps=steps))
    return out


def _value_as_sheet(work: Work, step):
    mean = sp.Rational(1, work.g.problem.general_samples)
    changes = {}
    for field in ("numbers", "value"):  # 1/3 itself, or a symbolic value holding it
        x = getattr(step, field, None)
        if getattr(x, "free_symbols", None) or (isinstance(x, sp.Basic) and x == mean):
            shown = work.as_sheet(x)
            if shown is not x:
                changes[field] = shown
    return replace(step, **changes) if changes else step


def any_delta_step(work: Work, name: str):
    """The delta step of any node, one the sheet's convention folds away included (asked for itself)."""
    steps = delta_steps(work)
    return steps[name] if name in steps else _ALL[work][name]


def _closed_form(x):
    """A value's closed form when it has one worth showing (irrational, short), else None."""
    items = list(x) if isinstance(x, sp.MatrixBase) else [x]
    if any(getattr(v, "free_symbols", None) or v.has(sp.Float) for v in items):
        return None
    return x if not all(v.is_Rational for v in items) else None


def forward_step(work: Work, node: Node, values: dict) -> Forward | LossValue:
    """name = formula = numbers = value for one computed node (the loss too), from `values`."""
    formula = work.as_sheet(forward(node.expr, work.show, work.symbols).x)
    numbers = forward(node.expr, work.show, values).x
    value = (work.expressions if values is work.values else values)[node.name].x
    closed = _closed_form(work.closed[node.name].x) if work.closed and values is work.values else None
    if node.role == "loss":
        before = None if values is work.values else work.in_leaves(work.expressions["L"].x)
        return LossValue(node.name, formula, numbers, value, rules_of(node, derivative=False), before, closed)
    return Forward(node.name, node.shape, formula, numbers, value, rules_of(node, derivative=False), closed)


def givens(work: Work) -> list:
    """What the problem states: inputs, parameters, targets, and derived parameters with their formula."""
    out = []
    for node in work.g.nodes.values():
        if node.role in ("input", "parameter", "target"):
            out.append(Given(node.name, node.role, node.shape, node.given,
                             frozen=node.name in work.g.problem.frozen))
        elif node.role == "derived":
            out.append(Given(node.name, "derived", node.shape, work.expressions[node.name].x,
                             formula=forward(node.expr, work.show, work.symbols).x))
    return out


def gradient_step(work: Work, name: str) -> Gradient:
    """∂L/∂name for a whole parameter, with its finite-difference check when one was made."""
    step = delta_steps(work)[name]
    check = None
    if name in work.checks and work.checks[name].x is None:
        check = Check(FD_STEP, None, None)  # not checked: symbolic
    elif name in work.checks:
        est = work.checks[name]
        exact = work.exact_gradients.get(name)
        diff = Eval(work.unit_targets).sub(exact or T(step.value, step.shape), est)
        check = Check(FD_STEP, est.x, diff.x, exact.x if exact is not None else None)
    return replace(step, check=check)


def update_steps(work: Work, new: dict, only: dict | None = None) -> list:
    """w ← w − α·g for every parameter, or for `only` {name: [indices], or None for all of it}."""
    lr = work.g.problem.learning_rate
    out = []
    for node in work.g.parameters:
        if node.expr is not None or (only is not None and node.name not in only):
            continue
        frozen = node.name in work.g.problem.frozen
        if node.name not in work.deltas:  # frozen and not asked about: kept, no gradient
            out.append(Update(node.name, node.shape, node.given, lr, None, None, node.given, frozen))
            continue
        grad = work.in_leaves(work.deltas[node.name].x)
        stepped = new.get(node.name, node.given)
        indices = None if only is None else only[node.name]
        if indices is None:
            out.append(Update(node.name, node.shape, node.given, lr, grad,
                              _update_numbers(work, node.given, grad, node.shape), stepped, frozen))
            continue
        for index in indices:
            old, g = at(node.given, index), at(grad, index)
            out.append(Update(node.name, (), old, lr, g, _update_numbers(work, old, g, ()),
                              at(stepped, index), frozen, index=index))
    return out


def _update_numbers(work: Work, old, grad, shape):
    lr = work.ev.const(work.g.problem.learning_rate)
    return work.show.sub(T(old, shape), work.show.mul(lr, T(grad, shape))).x


def forward_steps(work: Work, values: dict) -> list:
    """One forward line per computed node before the loss, from the given values."""
    return [forward_step(work, n, values) for n in work.g.computed if n.role in ("derived", "forward")]


def element_gradient(work: Work, name: str, index: tuple, label: str) -> Gradient:
    """∂L/∂(one weight): the chain rule written with the elements it touches."""
    return element_gradients(work, name, [(index, label)])[0]


def element_gradients(work: Work, name: str, asked: list) -> list:
    """∂L/∂(each weight asked), for (index, label) pairs: the chain rule written with the elements it touches,
    worked once for the whole parameter and read for each weight."""
    g, ev = work.g, Eval(work.unit_targets)
    total = ev.lift(T(sp.Integer(0), ()), g.nodes[name].shape)  # a weight the loss does not use: 0
    above = g.ancestors(work.of)
    users = tuple(u for u in g.users[name] if u in above)
    held = {n for u in users for n in names_in(g.nodes[u].expr)} | set(users)  # what the formula can hold
    env = {n: T(element_symbols(n, g.nodes[n].shape), g.nodes[n].shape) for n in held}
    for u in users:
        node = g.nodes[u]
        delta = (ev.lift(T(sp.Integer(1), ()), node.shape) if u == work.of
                 else T(element_symbols(f"delta_{u}", node.shape), node.shape))
        acc: dict = {}
        backward(node.expr, ev, env, delta, acc, need={name})
        total = acc[name] if u == users[0] else ev.add(total, acc[name])
    subs = {}
    for n, node in g.nodes.items():
        if n not in held:
            continue
        for sym, val in zip(flat(env[n].x), flat(work.values[n].x)):
            subs[sym] = val
        if n != work.of and n in work.deltas:
            for sym, val in zip(flat(element_symbols(f"delta_{n}", node.shape)), flat(work.deltas[n].x)):
                subs[sym] = val
    leibniz = {label: leibniz_sum(work.of, label, users) for _, label in asked}
    formulas = [as_written(at(total.x, index)) for index, _ in asked]
    out = []
    for (index, label), formula, numbers in zip(asked, formulas, substituted_each(formulas, subs)):
        value = at(work.deltas[name].x, index)
        check = None
        if name in work.checks and work.checks[name].x is None:
            check = Check(FD_STEP, None, None)  # not checked: symbolic
        elif name in work.checks:
            est = at(work.checks[name].x, index)
            exact = at(work.exact_gradients[name].x, index) if name in work.exact_gradients else None
            check = Check(FD_STEP, est, ev.finish((value if exact is None else exact) - est), exact)
        out.append(Gradient(name, (), users, formula, numbers, value, check, label=label, index=index,
                            leibniz=leibniz[label], of=work.of))
    return out


def flat(x) -> list:
    """The elements of a matrix in order, or a scalar alone in a list."""
    return x.flat() if isinstance(x, sp.MatrixBase) else [x]  # (all at once: an entry read alone costs more)



def read_as_by_hand(work: Work, sections: list) -> list:
    """With each step rounded: every δ's and gradient's numbers line reads σ(z) of a number as the unit's
    rounded output, as the chain uses it (the forward lines keep σ(1.2) = 0.769, which is where it is rounded)."""
    if work.decimals is None:
        return sections
    out = []
    for sec in sections:
        steps = tuple(replace(s, numbers=read_by_hand(s.numbers, work.decimals))
                      if isinstance(s, (Delta, Gradient)) and s.numbers is not None else s for s in sec.steps)
        out.append(sec if steps == sec.steps else replace(sec, steps=steps))
    return out
