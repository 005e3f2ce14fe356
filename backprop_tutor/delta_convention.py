"""The sheet's δ convention: one δ per neuron, named by its index, the activation folded in.

Under `notation: {delta: output}` (δᵢ = ∂E/∂aᵢ) the δ of neuron i is that of its output node,
and a δ of an input node zⱼ is written out as δⱼ·f′(zⱼ); under `delta: input` (δᵢ = ∂E/∂zᵢ) it
is the other way round, and the product reads f′(zᵢ)·(Σⱼ wᵢⱼ·δⱼ) as such sheets write it.

A neuron's index is the number its node names end in (z5, a5 → 5); a node named without one
(y) takes the index its incoming weights end in when they all agree (w57, w67 → 7). Nodes with
no index keep their own δ_name.
"""
from __future__ import annotations

import re

from msgspec.structs import replace
import sympy as sp

from .algebra import Partial
from .engine import Work, delta_symbol
from .solution import Delta
from .written import as_written, substituted

_NUMBERED = re.compile(r"[A-Za-z]+_?(\d+)")
_WEIGHT = re.compile(r"[A-Za-z]+_?(\d)(\d)")


def neuron_index(work: Work, name: str) -> str | None:
    """The neuron a scalar forward node belongs to, as a string of digits, or None."""
    node = work.g.nodes[name]
    if node.role != "forward" or node.shape != ():
        return None
    m = _NUMBERED.fullmatch(name)
    if m:
        return m.group(1)
    ends = set()
    for used in work.g.nodes:
        n = work.g.nodes[used]
        if n.role == "parameter" and name in work.g.users.get(used, ()):
            w = _WEIGHT.fullmatch(used)
            if w is None:
                return None
            ends.add(w.group(2))
    return ends.pop() if len(ends) == 1 else None


def neurons(work: Work, convention: str) -> tuple[dict, set]:
    """(node → its δ symbol's name, for the node that carries the neuron's δ; the nodes folded away)."""
    groups: dict[str, list] = {}
    for node in work.g.computed:
        if node.name in work.sums and node.name != work.of:
            index = neuron_index(work, node.name)
            if index is not None:
                groups.setdefault(index, []).append(node.name)
    shown, folded = {}, set()
    for index, names in groups.items():
        keep = names[-1] if convention == "output" else names[0]
        shown[keep] = f"delta_{index}"
        folded |= set(names) - {keep}
    return shown, folded


def apply(work: Work, steps: dict) -> tuple[dict, frozenset]:
    """The delta steps written in the file's convention, and the nodes whose δ it folds away
    (their steps rewritten too, for a derivation that asks for one of them by name)."""
    convention = work.g.problem.notation.delta
    if convention is None:
        return steps, frozenset()
    shown, folded = neurons(work, convention)
    if not shown:
        return steps, frozenset()
    renames = {delta_symbol(n, ()): sp.Symbol(s, real=True) for n, s in shown.items()}
    for node in reversed(work.g.computed):  # users before the nodes they use: each folded δ once
        if node.name in folded:
            with sp.evaluate(False):
                renames[delta_symbol(node.name, ())] = steps[node.name].formula.xreplace(renames)
    values = work.scalar_values()
    values.update({sp.Symbol(s, real=True): work.deltas[n].x for n, s in shown.items()})
    out = {}
    for name, step in steps.items():
        formula, numbers = step.formula, step.numbers
        if isinstance(formula, sp.Expr) and not formula.atoms(sp.MatrixSymbol):  # scalars: vectors keep theirs
            with sp.evaluate(False):
                formula = formula.xreplace(renames)
            # δᵢ = ∂E/∂zᵢ sheets write the recursion f′(zᵢ)·(wᵢⱼ·δⱼ), and a gradient δᵢ·x as everyone does
            formula = as_written(formula, delta_first=convention == "output" or not isinstance(step, Delta))
            numbers = None if numbers is None else substituted(formula, values)
        changes = dict(formula=formula, numbers=numbers, leibniz=chain_in_convention(work, step.leibniz))
        if isinstance(step, Delta) and name in shown:
            changes["symbol"] = shown[name]
            used = step.formula.free_symbols if isinstance(step.formula, sp.Basic) else set()
            folded_in = [n.name for n in work.g.computed  # their rules now apply here
                         if n.name in folded and delta_symbol(n.name, ()) in used]
            changes["rules"] = tuple(dict.fromkeys(step.rules + tuple(r for f in folded_in for r in steps[f].rules)))
        out[name] = replace(step, **changes)
    return out, frozenset(folded)


def chain_in_convention(work: Work, formula):
    """A chain rule's Σ δ_c·∂c/∂name with the δs the convention shows: δ_a₃ → δ₃, and under
    `output` δ_z₃ → δ₃·∂a₃/∂z₃ (z₃'s δ is not one of the sheet's)."""
    convention = work.g.problem.notation.delta
    if convention is None or not isinstance(formula, sp.Basic):
        return formula
    shown, folded = neurons(work, convention)
    by_index = {neuron_index(work, n): n for n in shown}
    renames = {sp.Symbol(f"delta_{n}"): sp.Symbol(s) for n, s in shown.items()}  # as leibniz_sum names them
    if convention == "output":
        for f in folded:
            carrier = by_index[neuron_index(work, f)]
            renames[sp.Symbol(f"delta_{f}")] = sp.Mul(sp.Symbol(shown[carrier]),
                                                  Partial(sp.Symbol(carrier), sp.Symbol(f)), evaluate=False)
    with sp.evaluate(False):
        renamed = formula.xreplace(renames)
    return renamed.replace(lambda e: isinstance(e, sp.Mul) and any(isinstance(a, sp.Mul) for a in e.args),
                           lambda e: sp.Mul(*_factors(e), evaluate=False))


def _factors(e) -> list:
    """The factors of nested products, in order: δ₃·(∂a₃/∂z₃)·(∂z₃/∂w₁₃) as one product."""
    out = []
    for a in e.args:
        out.extend(_factors(a) if isinstance(a, sp.Mul) else [a])
    return out
