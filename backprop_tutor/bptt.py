"""Backpropagation through time: the gradient of a weight every time step uses, as sheets write it —
Σₜ δ_zₜ⋅hₜ₋₁ᵀ, then each step's term with its numbers, then the total. The terms are the engine's
own (one per use of the weight, from deltas computed once), so the work stays linear in the steps."""
from __future__ import annotations

from msgspec.structs import replace
import sympy as sp

from .engine import Work
from .items import Recurrence
from .solution import Gradient, ThroughTime
from .steps import delta_steps

TIME = sp.Symbol("t")
TITLE = "Gradients: backpropagation through time"
OFFSETS = {-1: "t-1", 0: "t", 1: "t+1"}


def shared_through_time(work: Work) -> dict:
    """Each parameter that two or more time steps use, and only they: name → ((t, users at t), …)."""
    r = work.g.problem.recurrence
    if r is None or work.of != "L":
        return {}
    out = {}
    for name, node in work.g.nodes.items():
        if node.role not in ("parameter", "derived") or name not in work.sums:
            continue
        users = work.sums[name].users
        steps = [r.step_of(u) for u in users]
        if not users or None in steps or len({b for b, _ in steps}) != 1 or len({t for _, t in steps}) < 2:
            continue
        by_step: dict = {}
        for u, (_, t) in zip(users, steps):
            by_step.setdefault(t, []).append(u)
        out[name] = tuple((t, tuple(us)) for t, us in sorted(by_step.items()))
    return out


def every_weight(work: Work) -> dict:
    """Each weight the time steps share → its gradient through time (for programs: --json)."""
    return {name: _through_time(work, delta_steps(work)[name], steps)
            for name, steps in shared_through_time(work).items() if name in delta_steps(work)}


def through_time(work: Work, sections: list) -> list:
    """The sections with each whole gradient of a weight the time steps share written through time."""
    shared = shared_through_time(work)
    if not shared:
        return sections
    out = []
    for sec in sections:
        steps = tuple(_through_time(work, s, shared[s.name]) if _whole_gradient(s) and s.name in shared else s
                      for s in sec.steps)
        title = TITLE if sec.title == "Gradients" and sec.part is None else sec.title
        out.append(sec if steps == sec.steps else replace(sec, steps=steps, title=title))
    return out


def _whole_gradient(step) -> bool:
    return isinstance(step, Gradient) and step.index is None and step.of == "L"


def _through_time(work: Work, step: Gradient, steps: tuple) -> ThroughTime:
    r = work.g.problem.recurrence
    by_user = {u: (f, n, v) for u, v, f, n in work.sums[step.name].terms}
    terms = []
    for t, users in steps:
        formula = _added([by_user[u][0] for u in users])
        numbers = _added([by_user[u][1] for u in users])
        value = _total([by_user[u][2] for u in users])
        terms.append((t, formula, None if numbers == value else numbers, value))
    last_t, last_users = steps[-1]
    general = sp.Sum(_in_time(_added([by_user[u][0] for u in last_users]), r, last_t),
                     (TIME, steps[0][0], last_t))
    total = _added([v for *_, v in terms])
    return ThroughTime(step.name, step.shape, general, tuple(terms), total, step.value, step.check, step.of)


def _added(parts: list):
    if len(parts) == 1:
        return parts[0]
    if any(isinstance(p, (sp.MatrixBase, sp.MatrixExpr)) for p in parts):
        return sp.MatAdd(*parts, evaluate=False)
    return sp.Add(*parts, evaluate=False)


def _total(values: list):
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def _in_time(formula, r: Recurrence, t: int):
    """The term of step t written for any step: each quantity of step t ± k named by its offset (hₜ₋₁)."""
    swap = {}
    for a in formula.atoms(sp.Symbol, sp.MatrixSymbol):
        name = str(a.name)
        prefix = "delta_" if name.startswith("delta_") else ""
        found = r.step_of(name[len(prefix):])
        if found is None or found[1] - t not in OFFSETS:
            continue
        shown = prefix + time_name(found[0], found[1] - t)
        swap[a] = sp.MatrixSymbol(shown, *a.shape) if isinstance(a, sp.MatrixSymbol) else sp.Symbol(shown)
    return formula.xreplace(swap)


def time_name(base: str, offset: int) -> str:
    """The name of a quantity at step t + offset: h_{t-1}; printers write it as the sheet does, hₜ₋₁."""
    return f"{base}_{{{OFFSETS[offset]}}}"


def time_names(names: dict, r: Recurrence | None) -> dict:
    """The printers' names (names_of) with each quantity of step t ± 1 written as math: h_{t-1} (a name
    not of letters alone is left to the printers' own escaping)."""
    if r is None:
        return names
    written = {}
    for base in r.bases:
        if base is None or not (base.isascii() and base.isalpha()):
            continue
        head = base if len(base) == 1 else f"\\mathrm{{{base}}}"
        written |= {time_name(base, k): f"{head}_{{{v}}}" for k, v in OFFSETS.items()}
    return names | {"latex": names.get("latex", {}) | written, "sheet": names.get("sheet", {}) | written}
