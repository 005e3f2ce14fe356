"""Which steps to show, and under which heading: the whole solution, or the sheet's parts from ask:."""
from __future__ import annotations

from msgspec.structs import replace

from .derivation import derivation_for
from .engine import Work
from .pieces import linear_pieces
from .problem import format_decimal
from .solution import Dimensions, Gradient, GraphStructure, Section
from .steps import (delta_steps, element_gradient, forward_step, forward_steps, givens, gradient_step,
                    update_steps)
from .structure import graph_structure
from .truth import truth_table


def sections(work: Work, new: dict | None, after: dict | None) -> list[Section]:
    """The solution's sections: one per ask part when the problem has them, else the standard order."""
    answers = _Answers(work, new, after)
    if not work.g.problem.ask:
        return answers.whole()
    out: list[Section] = []
    answers.earlier = out
    for ask in work.g.problem.ask:
        found = getattr(answers, ask.kind)(ask)
        out += [replace(sec, part=ask.part, request=(ask.kind, *ask.what)) for sec in found]
    return out


class _Answers:
    """One method per kind of part; each returns the sections that answer it."""

    def __init__(self, work, new, after):
        self.work, self.g, self.new, self.after = work, work.g, new, after
        self.updated_only: dict | None = None  # set by an update: part that names single weights
        self.earlier: list[Section] = []  # the sections of the parts answered so far

    def whole(self) -> list[Section]:
        """Everything, in the order a worked solution is written."""
        kinds = ["given", "forward"]
        if "L" in self.g.nodes:
            kinds += ["loss", "backward", "gradients"]
            if self.g.problem.learning_rate is not None:
                kinds += ["update", "loss_after_update"]
        # a section with nothing to show (no δ when the loss uses no parameter) is left out, so that
        # each answer closes the section it was computed in
        return [sec for kind in kinds for sec in self._shown(kind, None) if sec.steps]

    def show(self, ask) -> list[Section]:
        return self.whole() if ask.what[0] == "all" else self._shown(ask.what[0], ask)

    def _shown(self, what: str, ask) -> list[Section]:
        w, g = self.work, self.g
        if what == "given":
            return [Section("Given", tuple(givens(w)))]
        if what == "dimensions":
            return [Section("Dimensions", (Dimensions(tuple((n, node.role, node.shape) for n, node in g.nodes.items())),))]
        if what == "forward":
            return [Section("Forward pass", tuple(forward_steps(w, w.values)))]
        if what == "loss":
            return [Section("Loss", (forward_step(w, g.nodes["L"], w.values),))]
        if what == "backward":
            return [Section("Backward pass: δ = ∂L/∂node, from the output back",
                            tuple(delta_steps(w)[n.name] for n in reversed(g.computed)
                                  if n.role == "forward" and n.name in delta_steps(w)))]
        if what == "gradients":
            return [Section("Gradients", tuple(gradient_step(w, n.name) for n in g.parameters))]
        _need_rate(w, ask)
        if what == "update":
            return [Section(_update_title(g), tuple(update_steps(w, self.new)))]
        if self.updated_only is None:  # loss_after_update
            values, title = self.after, "Loss after the update"
            names = [n.name for n in g.parameters if n.expr is None and n.name not in g.problem.frozen]
        else:
            values = w.loss_after(w.updated_leaves(self.updated_only))
            names = [_element_label(g, n, i) for n, idx in self.updated_only.items() for i in (idx or [None])]
            title = f"Loss with the updated {', '.join(names)} (every other weight unchanged)"
        loss = replace(forward_step(w, g.nodes["L"], values), updated=tuple(names))
        return [Section(title, tuple(forward_steps(w, values) + [loss]))]

    def gradient(self, ask) -> list[Section]:
        steps = []
        for text in ask.what:
            name, index = self.g.resolve(text)
            steps += [d for d in _deltas_between(self.work, name) if d not in steps]
            steps.append(element_gradient(self.work, name, index, text) if index
                         else gradient_step(self.work, name))
        return [Section("Gradient " + ", ".join(f"∂L/∂{t}" for t in ask.what), tuple(steps))]

    def update(self, ask) -> list[Section]:
        """One step for the named weights only: {name: [indices]} or {name: None} for a whole parameter."""
        _need_rate(self.work, ask)
        only: dict = {}
        for text in ask.what:
            name, index = self.g.resolve(text)
            if self.g.nodes[name].role == "derived":
                raise self.g.error(f"{text!r} is derived; update the parameters it is made from",
                                   key=f"ask part {ask.part}", line=ask.line)
            if index is None:
                only[name] = None
            elif only.get(name, []) is not None:
                only.setdefault(name, []).append(index)
        self.updated_only = only
        partial = self.work.updated_leaves(only)
        steps = [replace(u, label=_label_for(self.g, ask.what, u.name, u.index))
                 for u in update_steps(self.work, partial, only)]
        asked = [self.g.resolve(text) for text in ask.what]
        steps.sort(key=lambda u: asked.index((u.name, u.index)) if (u.name, u.index) in asked else len(asked))
        steps = [replace(u, shown_in=self._shown_in(u.name, u.index)) for u in steps]
        # a gradient no earlier part showed is shown here, before it is subtracted
        unseen = [u.label or u.name for u in steps if u.shown_in is None and u.gradient is not None]
        shown = self.gradient(replace(ask, what=tuple(unseen)))[0].steps if unseen else ()
        return [Section(_update_title(self.g), tuple(shown) + tuple(steps))]

    def _shown_in(self, name: str, index) -> str | None:
        """The earliest part that showed ∂L/∂name (or the whole parameter's gradient, which holds it)."""
        for sec in self.earlier:
            for s in sec.steps:
                if isinstance(s, Gradient) and s.name == name and s.of == "L" and s.index in (index, None):
                    return sec.part
        return None

    def derive(self, ask) -> list[Section]:
        out = []
        for text in ask.what:
            d = derivation_for(self.work, text, ask.options.get("of", "L"))
            out += list(d.sections)
        return out

    def truth_table(self, ask) -> list[Section]:
        return [Section("Truth table", (truth_table(self.work, ask),))]

    def linear_pieces(self, ask) -> list[Section]:
        return [Section("Linear pieces and decision boundary", (linear_pieces(self.work, ask),))]

    def graph(self, ask) -> list[Section]:
        kind = ask.what[0]
        title = ("Computational graph" if kind == "forward"
                 else "Computational graph with the gradient nodes of backpropagation")
        step = graph_structure(self.work, kind)
        if kind == "backward":
            earlier = [sec.part for sec in self.earlier for s in sec.steps
                       if isinstance(s, GraphStructure) and s.kind == "forward"]
            step = replace(step, forward_in=earlier[0] if earlier else None)
        return [Section(title, (step,))]


def _need_rate(work, ask):
    if work.g.problem.learning_rate is None:
        where = {} if ask is None else {"key": f"ask part {ask.part}", "line": ask.line}
        raise work.g.error("this part needs a learning_rate in the file", **where)


def _update_title(g):
    return f"Gradient-descent update w ← w − α·∂L/∂w (α = {_lr_text(g.problem.learning_rate)})"


def _lr_text(lr):
    return format_decimal(lr)


def _label_for(g, asked, name, index):
    for text in asked:
        if g.resolve(text) == (name, index):
            return text
    return None


def _element_label(g, name, index):
    if index is None:
        return name
    for alias, target in g.problem.aliases.items():
        if g.resolve(target) == (name, index):
            return alias
    return f"{name}[{','.join(map(str, index))}]"


def _deltas_between(work, name: str) -> list:
    """The deltas a gradient needs: every node on a path from the parameter to the loss, output first."""
    between = work.g.between(name, work.of)
    steps = delta_steps(work)
    return [steps[n.name] for n in reversed(work.g.computed)
            if n.role == "forward" and n.name in between and n.name in steps]
