"""solve(): a problem's whole solution, the engine's numbers arranged as the sheet asks."""
from __future__ import annotations

import sympy as sp

from .answer import sections
from .detail import DEFAULT, Condenser, check_detail
from .diagram import diagram
from .engine import Work, names_of
from .graph import Graph, build
from .parts import part_answers
from .problem import Problem
from .solution import Solution


def solve(problem: Problem | Graph, verify: bool = False, closed_forms: bool = False,
          detail: str = DEFAULT) -> Solution:
    """Solve a problem completely: every step in the order a sheet asks for them.

    detail is brief (name = value), normal (formula, numbers, value; each δ and rule once) or full
    (every step as built, with its Leibniz line and rules each time); the values are the same.

    closed_forms also keeps each irrational forward value in closed form (σ(6/5)) while it is
    short, for printing with --exact; it costs a second, symbolic forward pass.
    """
    check_detail(detail)
    graph = problem if isinstance(problem, Graph) else build(problem)
    work = Work(graph, closed_forms=closed_forms)
    if verify and "L" in graph.nodes:
        work.verify()
    return solution(work, detail)


def solution(work: Work, detail: str = DEFAULT) -> Solution:
    """The Solution of a graph whose engine has run: its sections, and every number as data."""
    p, g = work.g.problem, work.g
    has_lr = p.learning_rate is not None and "L" in g.nodes
    new = work.updated_leaves() if has_lr else None
    after = work.loss_after(new) if has_lr else None
    secs = sections(work, new, after)
    extras = {(a.part, (a.kind, *a.what)): a.options.get("show", ()) for a in p.ask}
    shown = Condenser(detail).sections(secs, extras=lambda sec: extras.get((sec.part, sec.request), ()),
                                       derivation=lambda sec: sec.request[:1] == ("derive",))
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
        checks={k: v.x for k, v in work.checks.items()}, names=names_of(work.g),
        diagram=diagram(work.g, work.values), answers=part_answers(secs), detail=detail)
