"""The computational graph as nodes and edges, and the gradient nodes backpropagation adds."""
from __future__ import annotations

import sympy as sp

from .expr import names_in
from .solution import GraphStructure
from .steps import delta_steps


def graph_structure(work, kind: str) -> GraphStructure:
    """forward: every quantity and who uses whom; backward: plus δ nodes and what each one needs."""
    g = work.g
    nodes = [(n, node.role) for n, node in g.nodes.items()]
    edges = [(u, n.name) for n in g.computed for u in names_in(n.expr)]
    if kind == "backward":
        for name, step in delta_steps(work).items():
            if not step.users:
                continue
            nodes.append((f"delta_{name}", "gradient"))
            for user in step.users:
                if user != work.of:
                    edges.append((f"delta_{user}", f"delta_{name}"))
                term = work.contributions[(user, name)]
                for s in sorted(_names(term), key=str):
                    if s in g.nodes:
                        edges.append((s, f"delta_{name}"))
    return GraphStructure(kind, tuple(nodes), tuple(dict.fromkeys(edges)))


def _names(expr) -> set:
    """The quantities a formula reads (its symbols, δ symbols excluded)."""
    out = set()
    for s in expr.atoms(sp.Symbol, sp.MatrixSymbol):
        name = s.name
        if not name.startswith("delta_"):
            out.add(name)
    return out
