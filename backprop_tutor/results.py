"""Every value a solution asks for, part by part, as its answer marks and answers table show it;
a zero that a ReLU unit being off explains carries that unit."""
from __future__ import annotations

from msgspec.structs import replace
import sympy as sp

from .derivation import derivative_in_names
from .engine import Work, at
from .errors import TutorError
from .ops import step
from .parts import SCALAR_KINDS
from .solution import Gradient, LossValue, Off, Result, Update
from .steps import flat

DIFFERENTIATED = ("gradients", "derivatives", "deltas")  # kinds whose exact zero may have a ReLU behind it
NOT_ASKED = ("given",)  # stated in the file, not computed: no answer mark


def results(work: Work, answers: tuple, sections: list) -> tuple:
    """The asked values in order: each part's answer (parts.Answer.main) or, in a problem without
    ask: parts, the gradients, the updated weights and the loss after the update; a symbolic value
    as the sheet writes it (1/N for a mean over samples kept general)."""
    found = _asked(work, answers, sections)
    if work.g.problem.general_samples is None:  # no mean kept general: skip scanning every entry for symbols
        return found
    return tuple(replace(r, value=work.as_sheet(r.value)) if getattr(r.value, "free_symbols", None) else r
                 for r in found)


def _asked(work: Work, answers: tuple, sections: list) -> tuple:
    if not answers:
        return _whole(work, sections)
    out = []
    for answer in answers:
        for kind, name in answer.main:
            if kind in NOT_ASKED:
                continue
            if kind in SCALAR_KINDS:
                value, shape = answer.shown[kind]
                before = answer.shown["loss"][0] if kind == "loss_after" and "loss" in answer.shown else None
                out.append(Result(answer.part, kind, None, value, shape, before=before))
                continue
            value, shape = answer.shown[kind][name]
            if kind == "truth_table":
                out.append(Result(answer.part, "decisions", None, value, shape))
                continue
            of, wrt = _of_wrt(name) if kind in DIFFERENTIATED else ("L", name)
            off = relu_off(work, wrt) if kind in DIFFERENTIATED and of == work.of else ()
            out.append(Result(answer.part, kind, wrt, value, shape, of=of, off=off))
    return tuple(out)


def _whole(work: Work, sections: list) -> tuple:
    out, loss_after, loss_at = [], None, None
    for i, sec in enumerate(sections):
        for s in sec.steps:
            if isinstance(s, Gradient) and s.of == "L" and s.index is None:
                out.append(Result(None, "gradients", s.name, s.value, s.shape, off=relu_off(work, s.name), section=i))
            elif isinstance(s, Update) and not s.frozen:
                out.append(Result(None, "updated", s.label or s.name, s.new, s.shape, section=i))
            elif isinstance(s, LossValue) and s.before is not None:
                loss_after = Result(None, "loss_after", None, s.value, (), before=s.before, section=i)
            elif isinstance(s, LossValue):
                loss_at = i
    g, last = work.g, len(sections) - 1
    if loss_after is not None:
        out.append(loss_after)
    elif "L" in g.nodes:
        out.append(Result(None, "loss", None, work.expressions["L"].x, (), section=last if loss_at is None else loss_at))
    elif g.computed:  # no loss: what the network computes
        node = g.computed[-1]
        out.append(Result(None, "values", node.name, work.expressions[node.name].x, node.shape, section=last))
    return tuple(out)


def _of_wrt(name: str) -> tuple:
    """parts.py names ∂y/∂W (of other than the loss) dy/dW, and ∂L/∂W plainly W."""
    if "/" in name and name.startswith("d"):
        of, wrt = name.split("/", 1)
        return of[1:], wrt[1:]
    return "L", name


def relu_off(work: Work, wrt: str) -> tuple:
    """The ReLU units that are off (pre-activation ≤ 0) and make ∂of/∂wrt exactly 0, or its zero
    entries; () when the value has no zero, or a zero that no unit being off explains."""
    try:
        name, index = work.g.resolve(wrt, inputs=True)
    except TutorError:
        return ()
    if name not in work.deltas:
        return ()
    entries = flat(at(work.deltas[name].x, index))
    if any(getattr(v, "free_symbols", None) for v in entries) or not any(v == 0 for v in entries):
        return ()
    found = derivative_in_names(work, name, index)
    if found is None:
        return ()
    expression, env = found
    out: list = []
    for e, v in zip(flat(expression), entries):
        if v != 0:
            continue
        dead = [s for s in e.atoms(step) if env.off(s.args[0]) is not None]
        if not dead or not _vanishes(e, dead):
            return ()
        alone = dead if len(dead) == 1 else [s for s in dead if _vanishes(e, [s])]  # the one unit that suffices
        for s in sorted(alone or dead, key=str):
            node, k, value = env.off(s.args[0])
            unit = Off(node, _index(work.g.nodes[node].shape, k), value)
            if unit not in out:
                out.append(unit)
    return tuple(out)


def _vanishes(expression, dead) -> bool:
    """Whether the expression is 0 with the dead units' steps taken as 0: at once where each of its terms
    has one of them as a factor (SymPy's own product with 0, no factor of a formula being infinite),
    else by expanding it."""
    dead = set(dead)
    terms = expression.args if isinstance(expression, sp.Add) else (expression,)
    if all(t in dead or isinstance(t, sp.Mul) and any(f in dead for f in t.args) for t in terms):
        return True
    return sp.expand(expression.xreplace({s: 0 for s in dead})) == 0


def _index(shape: tuple, k: int):
    if shape == ():
        return None
    if len(shape) == 1:
        return (k + 1,)
    return (k // shape[1] + 1, k % shape[1] + 1)
