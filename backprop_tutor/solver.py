"""solve(): a problem's whole solution, the engine's numbers arranged as the sheet asks."""
from __future__ import annotations

import dataclasses

import sympy as sp

from .answer import sections
from .diagram import diagram
from .engine import Work, names_of
from .graph import Graph, build
from .parts import part_answers
from .problem import Problem
from .solution import GraphStructure, Section, Solution


def solve(problem: Problem | Graph, verify: bool = False, closed_forms: bool = False) -> Solution:
    """Solve a problem completely: every step in the order a sheet asks for them.

    closed_forms also keeps each irrational forward value in closed form (σ(6/5)) while it is
    short, for printing with --exact; it costs a second, symbolic forward pass.
    """
    graph = problem if isinstance(problem, Graph) else build(problem)
    work = Work(graph, closed_forms=closed_forms)
    if verify and "L" in graph.nodes:
        work.verify()
    return solution(work)


def solution(work: Work) -> Solution:
    """The Solution of a graph whose engine has run: its sections, and every number as data."""
    p, g = work.g.problem, work.g
    has_lr = p.learning_rate is not None and "L" in g.nodes
    new = work.updated_leaves() if has_lr else None
    after = work.loss_after(new) if has_lr else None
    secs = sections(work, new, after)
    drawing = diagram(work.g, work.values)
    if drawing is not None and all(node.shape == () for node in g.nodes.values()):
        secs, drawing = _drawn_in_parts(secs, drawing)
    deltas = {n: work.deltas[n].x for n, node in g.nodes.items() if node.role == "forward" and n in work.deltas}
    grads = {n.name: work.deltas[n.name].x for n in g.parameters if n.name in work.deltas}
    updated = None
    if has_lr:
        updated = {n.name: (after[n.name].x) for n in g.parameters}
    return Solution(
        title=p.title, source=p.source, notes=p.notes, sections=tuple(secs),
        shapes={n: node.shape for n, node in g.nodes.items()},
        values={n: work.expressions[n].x for n, node in g.nodes.items() if node.role in ("forward", "loss")},
        loss=work.expressions["L"].x if "L" in g.nodes else None, deltas=deltas, gradients=grads, learning_rate=p.learning_rate and sp.Rational(p.learning_rate.numerator, p.learning_rate.denominator),
        updated=updated, loss_after=after["L"].x if has_lr else None,
        checks={k: v.x for k, v in work.checks.items()}, names=names_of(work.g),
        diagram=drawing, answers=part_answers(secs))


def _drawn_in_parts(secs: list[Section], drawing) -> tuple:
    """A network of scalars drawn neuron by neuron is its computational graph: a part that asks for the
    forward graph shows that drawing, and the solution does not draw it a second time at the top."""
    asked = [k for k, sec in enumerate(secs)
             if any(isinstance(s, GraphStructure) and s.kind == "forward" for s in sec.steps)]
    if not asked:
        return secs, drawing
    out = list(secs)
    for k in asked:
        steps = tuple(dataclasses.replace(s, network=drawing)
                      if isinstance(s, GraphStructure) and s.kind == "forward" else s for s in secs[k].steps)
        out[k] = dataclasses.replace(secs[k], steps=steps)
    return out, None
