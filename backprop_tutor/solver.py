"""solve(): a problem's whole solution, the engine's numbers arranged as the sheet asks."""
from __future__ import annotations

from msgspec.structs import replace
import sympy as sp

from .answer import sections
from .bptt import every_weight, through_time, time_names
from .components import check_form, per_neuron
from .detail import DEFAULT, Condenser, check_detail
from .datasets import solvable
from .engine import Work, names_of
from .errors import UsageError
from .expr import did_you_mean
from .graph import Graph, build
from .parts import part_answers
from .problem import Problem
from .results import results
from .rounding import chosen, differs
from .solution import GraphStructure, Section, Solution
from .steps import read_as_by_hand, sheet_form


def solve(problem: Problem | Graph, verify: bool = False, closed_forms: bool = False,
          parts: tuple | None = None, detail: str = DEFAULT, answers_only: bool = False,
          round_each_step=None, notation: str | None = None, drawing: bool = True) -> Solution:
    """Solve a problem completely: every step in the order a sheet asks for them.

    detail is brief (name = value), normal (formula, numbers, value; each δ and rule once) or full
    (every step as built, with its Leibniz line and rules each time); the values are the same.

    closed_forms also keeps each irrational forward value in closed form (σ(6/5)) while it is
    short, for printing with --exact; it costs a second, symbolic forward pass.
    parts=("c", "d") keeps only those parts of the file's ask: (see only_parts); answers_only=True
    marks the solution to be shown as its answers table alone.
    round_each_step=N rounds every intermediate value half up to N decimals, as by hand, and gives each
    answer that differs from the exact one its exact value; "off" is the exact chain; None (the default)
    takes the file's rounding: {each_step: N}.
    notation is neuron (each vector step per component), matrix or both; None takes the file's
    notation: form, else per neuron for layers of at most four units.
    drawing=False leaves the network's drawing out (Solution.diagram None, and none in a graph part):
    for printers that do not draw it (terminal, JSON, Markdown), which it would only slow down.
    """
    check_detail(detail)
    form = check_form(notation)
    graph = problem if isinstance(problem, Graph) else build(solvable(problem))
    decimals = chosen(round_each_step, graph.problem.round_each_step)
    work = Work(graph, closed_forms=closed_forms, round_each_step=decimals)
    if verify and "L" in graph.nodes:
        work.verify()
    whole = solution(work, detail, parts, form, drawing)
    if decimals is not None:
        exact = solution(Work(graph), detail, parts, form, drawing=False)  # only its answers are used
        whole = replace(whole, rounding=decimals, results=beside_exact(whole.results, exact.results, decimals))
    return replace(whole, answers_only=True) if answers_only else whole


def beside_exact(rounded: tuple, exact: tuple, decimals: int) -> tuple:
    """The step-rounded answers, each with its exact value where the two differ at `decimals` decimals."""
    return tuple(replace(r, exact=e.value, decimals=decimals) if differs(r.value, e.value, decimals) else r
                 for r, e in zip(rounded, exact))


def only_parts(whole: Solution, parts, problem: Problem | None = None) -> Solution:
    """A built solution cut to some of its ask: parts, their answers and table rows only (solve(parts=)
    chooses them before the steps are condensed, so a part shown alone refers to no part left out)."""
    keep = chosen_parts(whole.sections, parts, problem)
    return replace(whole, sections=tuple(s for s in whole.sections if s.part in keep),
                   answers=tuple(a for a in whole.answers if a.part in keep),
                   results=tuple(r for r in whole.results if r.part in keep))


def chosen_parts(secs, parts, problem: Problem | None = None) -> set:
    """The labels asked for (by label, "c" or "(c)"); a UsageError naming the parts there are for a
    label that is not one of them, or for a problem without parts."""
    labels = list(dict.fromkeys(sec.part for sec in secs if sec.part is not None))
    where = {"file": problem.path if problem is not None else None, "key": "--part"}
    if isinstance(parts, str):
        parts = (parts,)
    if not labels:
        raise UsageError("this problem has no parts (its file has no ask:); leave out --part", **where)
    if problem is not None and problem.ask:
        where["line"] = problem.ask[0].line
    keep = set()
    for given in parts:
        label = str(given).strip().strip("()")
        if label not in labels:
            raise UsageError(f"no part {given!r}{did_you_mean(label, labels)}; the parts are "
                             + ", ".join(labels), **where)
        keep.add(label)
    return keep


def solution(work: Work, detail: str = DEFAULT, parts=None, form: str | None = None,
             drawing: bool = True) -> Solution:
    """The Solution of a graph whose engine has run: its sections (of `parts` only, when given, each
    vector step in the notation form given, else the file's), every number as data, and with `drawing`
    the network's drawing."""
    p, g = work.g.problem, work.g
    has_lr = p.learning_rate is not None and "L" in g.nodes
    new = work.updated_leaves() if has_lr else None
    after = work.loss_after(new) if has_lr else None
    secs = sections(work, new, after)
    # over several samples the forward lines are copied once per sample: a drawing of the copies is
    # not the sheet's network, so none is drawn
    drawn = None
    if drawing and not p.samples:
        from .diagram import diagram  # loaded only for a printer that draws: 7 record types, 5 ms
        drawn = diagram(work.g, work.values)
    if drawn is not None and all(node.shape == () for node in g.nodes.values()):
        secs, drawn = _drawn_in_parts(secs, drawn)
    elif any(isinstance(s, GraphStructure) for sec in secs for s in sec.steps):
        drawn = None  # the sheet asks for the graph of its vectors: the parts draw it, not the neurons
    answers = part_answers(secs)
    found = results(work, answers, secs)
    if parts is not None:
        keep = chosen_parts(secs, parts, p)
        secs = [sec for sec in secs if sec.part in keep]
        answers = tuple(a for a in answers if a.part in keep)
        found = tuple(r for r in found if r.part in keep)
    extras = {(a.part, (a.kind, *a.what)): a.options.get("show", ()) for a in p.ask}
    shown = Condenser(detail).sections(sheet_form(work, secs), extras=lambda sec: extras.get((sec.part, sec.request), ()),
                                       derivation=lambda sec: sec.request[:1] == ("derive",))
    if detail != "brief":
        shown = through_time(work, list(shown))
    # written per neuron after condensing, so that a later part names a whole vector once ("δ_y from (c)")
    shown = tuple(read_as_by_hand(work, per_neuron(work, list(shown), form or p.notation.form, detail)))
    deltas = {n: work.deltas[n].x for n, node in g.nodes.items() if node.role == "forward" and n in work.deltas}
    grads = {n.name: work.deltas[n.name].x for n in g.parameters if n.name in work.deltas}
    updated = None
    if has_lr:
        updated = {n.name: (after[n.name].x) for n in g.parameters}
    return Solution(
        title=p.title, source=p.source, notes=p.notes, sections=shown,
        shapes={n: node.shape for n, node in g.nodes.items()},
        values={n: work.expressions[n].x for n, node in g.nodes.items() if node.role in ("forward", "loss")},
        loss=work.expressions["L"].x if "L" in g.nodes else None, deltas=deltas, gradients=grads, learning_rate=p.learning_rate and sp.Rational(p.learning_rate.numerator, p.learning_rate.denominator),
        updated=updated, loss_after=after["L"].x if has_lr else None,
        checks={k: v.x for k, v in work.checks.items()}, names=time_names(names_of(work.g), p.recurrence),
        diagram=drawn, answers=answers, results=found, detail=detail, through_time=every_weight(work))


def _drawn_in_parts(secs: list[Section], drawing) -> tuple:
    """A network of scalars drawn neuron by neuron is its computational graph: a part that asks for the
    forward graph shows that drawing, and the solution does not draw it a second time at the top."""
    asked = [k for k, sec in enumerate(secs)
             if any(isinstance(s, GraphStructure) and s.kind == "forward" for s in sec.steps)]
    if not asked:
        return secs, drawing
    out = list(secs)
    for k in asked:
        steps = tuple(replace(s, network=drawing)
                      if isinstance(s, GraphStructure) and s.kind == "forward" else s for s in secs[k].steps)
        out[k] = replace(secs[k], steps=steps)
    return out, None
