"""How much a solution shows: each step at brief, normal or full detail; each δ, step and rule once."""
from __future__ import annotations

from msgspec.structs import replace

from .errors import UsageError
from .solution import (ChainRule, Delta, Forward, Given, Gradient, GraphStructure, LocalDerivative, LossValue, Reference,
                       Update, WholeDerivative)

DETAILS = ("brief", "normal", "full")
DEFAULT = "normal"
EXTRAS = ("local", "whole")  # the blocks of a derivation shown at normal detail only when asked for


def check_detail(detail) -> str:
    """The detail asked for, or a UsageError naming the three there are."""
    if detail not in DETAILS:
        raise UsageError(f"must be one of {', '.join(DETAILS)}, not {detail!r}", key="--detail")
    return detail


_KINDS = {Delta: "delta", Gradient: "gradient", Forward: "forward", LossValue: "loss", Given: "given"}


class Condenser:
    """Walks the sections of one solution in order and keeps what each shows at the chosen detail.

    At normal and brief: a step an earlier section showed becomes a one-line Reference to it (or,
    with refer=False, is left out); each rule is stated beside its first use only; the Leibniz line
    and the "sum over the users" note of a δ are left out; in a derivation, a symbolic δ's value
    (the same δ expanded into its leaves) is left out but for the result, and the local derivatives
    and the whole derivative are shown only when asked for. At brief each step is only name = value.
    At full every section is kept as built.
    """

    def __init__(self, detail: str = DEFAULT, refer: bool = True):
        self.detail, self.refer = check_detail(detail), refer
        self.seen: list = []     # (step, the part that showed it)
        self.rules: set = set()
        self.referred: list = []  # (step, part) already named once more in that part

    def sections(self, secs, extras=lambda sec: (), derivation=lambda sec: False) -> tuple:
        """The sections as shown: `extras(sec)` names the derivation blocks asked for (local, whole),
        `derivation(sec)` tells a section of a derivation."""
        if self.detail == "full":
            return tuple(secs)
        out = []
        repeated = set()  # parts whose derivation only repeats an earlier part's: their answer is the whole derivative
        for sec in secs:
            kinds = {type(s) for s in sec.steps}
            asked = set(extras(sec))
            if kinds == {LocalDerivative} and ("local" not in asked or self.detail == "brief"):
                continue
            if kinds == {WholeDerivative} and "whole" not in asked and sec.part not in repeated:
                continue
            if kinds == {ChainRule} and self.detail == "brief":
                continue
            steps = []
            for i, step in enumerate(sec.steps):
                kept = self._step(step, sec.part, derivation(sec), last=i == len(sec.steps) - 1)
                if kept is not None:
                    steps.append(kept)
            if steps and derivation(sec) and all(isinstance(s, Reference) and s.part != sec.part for s in steps):
                repeated.add(sec.part)  # an earlier part derived it all: this one asks for it as one expression
                continue
            steps = _used(steps)
            if steps:
                out.append(replace(sec, steps=tuple(steps)))
        return tuple(out)

    def _step(self, step, part, in_derivation: bool, last: bool):
        earlier = next((where for s, where in self.seen if s == step), _NOWHERE)
        if earlier is not _NOWHERE:
            if any(s == step and where == part for s, where in self.referred):
                return None  # named once already in this part
            self.referred.append((step, part))
            return self._reference(step, None if earlier == part else earlier)  # None: "from above"
        self.seen.append((step, part))
        if self.detail == "brief":
            return _brief(step)
        return self._normal(step, in_derivation and not last)

    def _reference(self, step, part):
        kind = _KINDS.get(type(step))
        if kind is None or not self.refer:
            return None  # a chain rule, a local derivative: nothing to name again
        value = getattr(step, "value", None)
        numeric = not getattr(value, "free_symbols", None)
        return Reference(kind, step.name, part, value if numeric else None, getattr(step, "shape", ()),
                         getattr(step, "of", "L"), getattr(step, "label", None), getattr(step, "symbol", None))

    def _normal(self, step, drop_symbolic_value: bool):
        changes = {}
        if hasattr(step, "rules"):
            fresh = tuple(r for r in step.rules if r not in self.rules)
            self.rules.update(fresh)
            changes["rules"] = fresh
        if isinstance(step, (Delta, Gradient)):
            changes["leibniz"] = None
        if isinstance(step, ChainRule):
            changes["noted"] = False
        if isinstance(step, GraphStructure):
            changes["listed"] = False  # the drawing shows it
        if isinstance(step, Delta):
            changes["summed"] = False
            if drop_symbolic_value and getattr(step.value, "free_symbols", None):
                changes["value"] = None
        return replace(step, **changes) if changes else step


_NOWHERE = object()


def _used(steps: list) -> list:
    """The steps, with a Reference kept only where a step after it is built from it directly."""
    used = {u for s in steps if not isinstance(s, Reference) for u in getattr(s, "users", ())}
    return [s for s in steps if not isinstance(s, Reference) or s.name in used]


def _brief(step):
    """name = value: the formula, the numbers, the Leibniz line and the rules left out."""
    if isinstance(step, (Delta, Gradient)):
        out = replace(step, leibniz=None, formula=None, numbers=None)
        return replace(out, rules=(), summed=False) if isinstance(out, Delta) else out
    if isinstance(step, (Forward, LossValue)):
        return replace(step, formula=None, numbers=None, rules=(), closed=None)
    if isinstance(step, Update):
        return replace(step, numbers=None)
    if isinstance(step, WholeDerivative):
        return replace(step, shown=False)
    if isinstance(step, (ChainRule, LocalDerivative)):
        return None
    return step
