"""Which steps to show, and under which heading: the whole solution, or the sheet's parts from ask:."""
from __future__ import annotations

import dataclasses

import sympy as sp

from .algebra import Eval, T, element_symbols
from .rules import backward
from .solution import Dimensions, Gradient, Section


def sections(work, new: dict | None, after: dict | None) -> list[Section]:
    """The solution's sections: one per ask part when the problem has them, else the standard order."""
    if work.g.problem.ask:
        return _asked(work, new, after)
    return _whole(work, new, after)


def _whole(work, new, after) -> list[Section]:
    g = work.g
    lr = g.problem.learning_rate
    secs = [Section("Given", tuple(work.givens())),
            Section("Forward pass", tuple(_forward_steps(work, work.values)))]
    if "L" not in g.nodes:
        return secs
    secs += [Section("Loss", (work.forward_step(g.nodes["L"], work.values),)),
            Section("Backward pass: δ = ∂L/∂node, from the output back",
                    tuple(work.delta_steps[n.name] for n in reversed(g.computed) if n.role == "forward")),
            Section("Gradients", tuple(work.gradient_step(n.name) for n in g.parameters))]
    if lr is not None:
        secs.append(Section(f"Gradient-descent update (α = {_lr_text(lr)})", tuple(work.update_steps(new))))
        secs.append(Section("Loss after the update", (work.forward_step(g.nodes["L"], after),)))
    return secs


def _forward_steps(work, values):
    return [work.forward_step(n, values) for n in work.g.computed if n.role in ("derived", "forward")]


def _asked(work, new, after) -> list[Section]:
    g = work.g
    secs: list[Section] = []
    updated_only: dict | None = None
    for ask in g.problem.ask:
        if ask.kind == "show":
            what = ask.what[0]
            if what == "all":
                for s in _whole(work, new, after):
                    secs.append(Section(s.title, s.steps, ask.part))
                continue
            if what == "given":
                secs.append(Section("Given", tuple(work.givens()), ask.part))
            elif what == "dimensions":
                rows = tuple((n, node.role, node.shape) for n, node in g.nodes.items())
                secs.append(Section("Dimensions", (Dimensions(rows),), ask.part))
            elif what == "forward":
                secs.append(Section("Forward pass", tuple(_forward_steps(work, work.values)), ask.part))
            elif what == "loss":
                secs.append(Section("Loss", (work.forward_step(g.nodes["L"], work.values),), ask.part))
            elif what == "backward":
                secs.append(Section("Backward pass: δ = ∂L/∂node", tuple(
                    work.delta_steps[n.name] for n in reversed(g.computed) if n.role == "forward"), ask.part))
            elif what == "gradients":
                secs.append(Section("Gradients", tuple(work.gradient_step(n.name) for n in g.parameters),
                                    ask.part))
            elif what == "update":
                _need_rate(work, ask)
                secs.append(Section(_update_title(g), tuple(work.update_steps(new)), ask.part))
            elif what == "loss_after_update":
                _need_rate(work, ask)
                if updated_only is not None:
                    partial = work.updated_leaves(updated_only)
                    values = work.loss_after(partial)
                    names = ", ".join(_element_label(g, n, i) for n, idx in updated_only.items() for i in idx)
                    title = f"Loss with the updated {names} (every other weight unchanged)"
                else:
                    values, title = after, "Loss after the update"
                steps = _forward_steps(work, values) + [work.forward_step(g.nodes["L"], values)]
                secs.append(Section(title, tuple(steps), ask.part))
        elif ask.kind == "gradient":
            steps = []
            for text in ask.what:
                name, index = g.resolve(text)
                for d in _deltas_between(work, name):
                    if d not in steps:
                        steps.append(d)
                steps.append(element_gradient(work, name, index, text) if index else work.gradient_step(name))
            title = "Gradient " + ", ".join(f"∂L/∂{t}" for t in ask.what)
            secs.append(Section(title, tuple(steps), ask.part))
        elif ask.kind == "derive":
            from .derivation import derivation_for
            for text in ask.what:
                d = derivation_for(work, text, ask.options.get("of", "L"))
                secs += [Section(f"{sec.title}: ∂{d.of}/∂{text}", sec.steps, ask.part) for sec in d.sections]
        elif ask.kind == "truth_table":
            from .truth import truth_table
            secs.append(Section("Truth table", (truth_table(work, ask),), ask.part))
        elif ask.kind == "linear_pieces":
            from .pieces import linear_pieces
            secs.append(Section("Linear pieces and decision boundary", (linear_pieces(work, ask),), ask.part))
        elif ask.kind == "graph":
            from .structure import graph_structure
            kind = ask.what[0]
            title = ("Computational graph" if kind == "forward"
                     else "Computational graph with the gradient nodes of backpropagation")
            secs.append(Section(title, (graph_structure(work, kind),), ask.part))
        elif ask.kind == "update":
            _need_rate(work, ask)
            only: dict = {}
            for text in ask.what:
                name, index = g.resolve(text)
                if g.nodes[name].role == "derived":
                    raise g.error(f"{text!r} is derived; update the parameters it is made from",
                                  key=f"ask part {ask.part}", line=ask.line)
                only.setdefault(name, [])
                only[name].append(index or None)
            updated_only = {n: ([i for i in idx if i] or None) for n, idx in only.items()}
            partial = work.updated_leaves(updated_only)
            steps = []
            for name, idx in only.items():
                sub = {name: [i for i in idx if i] or None}
                for u in work.update_steps(partial, sub if sub[name] else None):
                    if u.name == name:
                        label = _label_for(g, ask.what, name, u.index)
                        steps.append(dataclasses.replace(u, label=label))
            secs.append(Section(_update_title(g), tuple(steps), ask.part))
    return secs


def _need_rate(work, ask):
    if work.g.problem.learning_rate is None:
        raise work.g.error("this part needs a learning_rate in the file", key=f"ask part {ask.part}",
                           line=ask.line)


def _update_title(g):
    return f"Gradient-descent update w ← w − α·∂L/∂w (α = {_lr_text(g.problem.learning_rate)})"


def _lr_text(lr):
    from .problem import format_decimal
    return format_decimal(lr)


def _label_for(g, asked, name, index):
    for text in asked:
        if g.resolve(text) == (name, index):
            return text
    return None


def _element_label(g, name, index):
    for alias, target in g.problem.aliases.items():
        if g.resolve(target) == (name, index):
            return alias
    return f"{name}[{','.join(map(str, index))}]"


def _deltas_between(work, name: str) -> list:
    """The deltas a gradient needs: every node on a path from the parameter to the loss, output first."""
    between = work.g.between(name, work.of)
    return [work.delta_steps[n.name] for n in reversed(work.g.computed)
            if n.role == "forward" and n.name in between]


def element_gradient(work, name: str, index: tuple, label: str) -> Gradient:
    """∂L/∂(one weight): the chain rule written with the elements it touches."""
    g, ev = work.g, Eval()
    env = {n: T(element_symbols(n, node.shape), node.shape) for n, node in g.nodes.items()}
    total = None
    above = g.ancestors(work.of)
    users = tuple(u for u in g.users[name] if u in above)
    for u in users:
        node = g.nodes[u]
        delta = (ev.lift(T(sp.Integer(1), ()), node.shape) if u == work.of
                 else T(element_symbols(f"delta_{u}", node.shape), node.shape))
        acc: dict = {}
        backward(node.expr, ev, env, delta, acc)
        total = acc[name] if total is None else ev.add(total, acc[name])
    from .solver import _at
    formula = _at(total.x, index)
    subs = {}
    for n, node in g.nodes.items():
        for sym, val in zip(_flat(env[n].x), _flat(work.values[n].x)):
            subs[sym] = val
        if n != work.of and n in work.deltas:
            for sym, val in zip(_flat(element_symbols(f"delta_{n}", node.shape)), _flat(work.deltas[n].x)):
                subs[sym] = val
    with sp.evaluate(False):
        numbers = formula.xreplace(subs)
    value = _at(work.deltas[name].x, index)
    check = None
    if name in work.checks and work.checks[name].x is not None:
        from .solution import Check
        from .solver import FD_STEP
        est = _at(work.checks[name].x, index)
        check = Check(FD_STEP, est, ev.finish(value - est))
    from .solver import leibniz_sum
    leibniz = leibniz_sum(work.of, label, users)
    return Gradient(name, (), users, formula, numbers, value, check, label=label, index=index,
                    leibniz=leibniz, of=work.of)


def _flat(x):
    return list(x) if isinstance(x, sp.MatrixBase) else [x]
