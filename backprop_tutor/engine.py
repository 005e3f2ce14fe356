"""The engine: one graph's forward values, every delta once (reverse accumulation), the
gradients, one gradient-descent update and the finite-difference check; numbers, no headings."""
from __future__ import annotations

from msgspec import Struct
import sympy as sp

from .algebra import ELEMENT, Closed, Eval, Partial, Show, ShapeError, T, element_symbols, orient, symbol_for
from .expr import BinOp, Call, Index, names_in
from . import plainmath
from .graph import Graph, Node
from .layers import LAYERS
from .ops import (DEFINITIONS, ELEMENTWISE, INDEX_RULE, JOIN_RULE, JOINS, LOSSES, MATMUL_RULE, REDUCTIONS,
                  SIGMOID_BCE_RULE, SOFTMAX_CE_RULE, SOFTMAX_RULE, WHOLE)
from .rounding import ByHand, half_up, rounder
from .rules import backward, forward, fused_loss
from .written import as_written, over_samples, substituted

FD_STEP = sp.Rational(1, 10**6)  # h of the central finite difference that checks a gradient


def leaf_values(graph: Graph, overrides: dict | None = None) -> dict:
    """The given value of every leaf as a T, with some replaced (e.g. after an update)."""
    overrides = overrides or {}
    return {n.name: T(overrides.get(n.name, n.given), n.shape)
            for n in graph.nodes.values() if n.expr is None}


def evaluate(graph: Graph, leaves: dict, expressions: dict | None = None, algebra: Eval | None = None,
             fixed: dict | None = None, each=None, rounded=None) -> dict:
    """The forward pass: every node's value from the leaves' values.

    With `expressions`, a node whose value is symbolic is carried on as its own name (as a sheet
    writes tanh(y − t), not tanh of the whole network), and its expression is stored there.
    `fixed` replaces the values of some nodes, given or computed (a parameter moved by h).
    `each(node, value)` is called on every computed value, and may stop the pass by raising.
    `rounded(value)`, when given, rounds each computed value before anything uses it (rounding.py).
    """
    fixed = fixed or {}
    env = {**leaves, **{n: T(v, graph.nodes[n].shape) for n, v in fixed.items() if n in leaves}}
    ev = algebra or Eval()
    for node in graph.computed:
        if node.name in fixed:
            env[node.name] = T(fixed[node.name], node.shape)
            continue
        try:
            value = forward(node.expr, ev, env)
        except ShapeError as e:
            raise graph.error(f"{e} in {node.text!r}", key=node.key) from None
        except ZeroDivisionError:
            raise graph.error(f"division by zero in {node.text!r}", key=node.key) from None
        if rounded is not None:
            value = rounded(value)
        if each is not None:
            each(node, value)
        if expressions is not None:
            expressions[node.name] = value
            if is_symbolic(value.x):
                value = T(element_symbols(node.name, node.shape), node.shape)
        env[node.name] = value
    return env


def factored(x):
    """A symbolic value with common factors pulled out, as a sheet writes 2(y − t), not 2y − 2t."""
    if not is_symbolic(x):
        return x
    if isinstance(x, sp.MatrixBase):
        return x.applyfunc(sp.factor_terms)
    return sp.factor_terms(x)


def is_symbolic(x) -> bool:
    """Whether a value holds names (a symbolic problem), not numbers alone."""
    if isinstance(x, sp.MatrixBase) and plainmath.is_numbers(x):  # no set of every entry to build
        return False
    return bool(getattr(x, "free_symbols", None))


def leibniz_sum(of: str, name: str, users: tuple, as_partials: frozenset = frozenset()):
    """Σ over the users c of δ_c · ∂c/∂name, in Leibniz notation (∂of/∂name when c is `of`).

    Users named in `as_partials` (shared parameters) are written ∂of/∂c, as the multivariate
    chain rule is stated on sheets.
    """
    terms = []
    for c in users:
        factor = Partial(sp.Symbol(c), sp.Symbol(name))
        outer = Partial(sp.Symbol(of), sp.Symbol(c)) if c in as_partials else sp.Symbol(f"delta_{c}")
        terms.append(factor if c == of else sp.Mul(outer, factor, evaluate=False))
    if not terms:
        return sp.Integer(0)
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


def names_of(graph: Graph) -> dict:
    """How printers should write names: the file's latex: map and notation: block (names, loss symbol,
    functions), and each alias as the weight it names."""
    names = {}
    for alias, target in graph.problem.aliases.items():
        name, index = graph.resolve(target)
        names[alias] = f"{name}[{','.join(map(str, index))}]" if index else name
    notation = graph.problem.notation
    sheet = notation.name_map() | ({"L": notation.loss} if notation.loss else {})
    # notation: names supersede the LaTeX-only latex: map; the terminal reads only the former
    return {"aliases": names, "latex": dict(graph.problem.latex) | sheet, "sheet": sheet,
            "functions": notation.function_map()}


def delta_symbol(name: str, shape: tuple):
    """The symbol δ_name standing for ∂L/∂name in formulas."""
    return symbol_for(f"delta_{name}", shape)


def rules_of(node: Node, derivative: bool = True) -> tuple:
    """The rules a node's expression uses, in words: derivative rules, or else definitions."""
    out = []

    def add(rule):
        if rule and rule not in out:
            out.append(rule)

    def walk(e):
        if derivative and not names_in(e):
            return  # a constant (√2) is not differentiated: its rule would be out of place
        if isinstance(e, Call):
            f = e.func
            if f in ELEMENTWISE:
                add(ELEMENTWISE[f].rule if derivative else DEFINITIONS.get(f))
            elif derivative and fused_loss(e):
                add(SOFTMAX_CE_RULE if f == "cross_entropy" else SIGMOID_BCE_RULE)
                walk(e.args[0].args[0])
                return
            elif f in LOSSES:
                add(LOSSES[f].rule if derivative else LOSSES[f].definition)
            elif f in REDUCTIONS:
                add(REDUCTIONS[f])
            elif f == "softmax":
                add(SOFTMAX_RULE if derivative else DEFINITIONS["softmax"])
            elif f in WHOLE:
                add(WHOLE[f].rule if derivative else WHOLE[f].definition)
            elif f in JOINS and derivative:
                add(JOIN_RULE)
            elif f in LAYERS:
                add(LAYERS[f].rule if derivative else LAYERS[f].definition)
            for a in e.args:
                walk(a)
        if isinstance(e, BinOp) and e.op == "@" and derivative:
            add(MATMUL_RULE)
        if isinstance(e, Index) and derivative:
            add(INDEX_RULE)
        for child in ("left", "right", "operand"):
            if hasattr(e, child):
                walk(getattr(e, child))

    if node.expr is not None:
        walk(node.expr)
    return tuple(out)


def asked_names(graph: Graph) -> set:
    """The parameters whose gradient a solution shows: all of them, unless the file's ask parts
    name some (gradient:, update:, derive:) and none shows every gradient (show: gradients, all)."""
    everything = {n.name for n in graph.parameters}
    if not graph.problem.ask:
        return everything
    out = set()
    for ask in graph.problem.ask:
        if ask.kind == "show" and ask.what[0] in ("gradients", "all"):
            out |= everything
        elif ask.kind in ("gradient", "update", "derive"):
            out |= {graph.resolve(text)[0] for text in ask.what}
    return out


def wanted(graph: Graph, asked: set) -> frozenset:
    """The names whose gradient is computed: the trained parameters (derived ones too) and the
    names asked about. Inputs and targets are not among them, frozen parameters only when asked."""
    frozen = set(graph.problem.frozen)
    return frozenset({n.name for n in graph.parameters if n.name not in frozen} | set(asked))


def differentiated(graph: Graph, of: str, names: frozenset) -> frozenset:
    """The names a backward pass reaches: those given and every node on a path from one of them
    up to `of`; nodes computed from inputs and targets alone are left out."""
    out = set()
    for name in names:
        out |= graph.between(name, of)
    return frozenset(out)


def unit_targets(graph: Graph, values: dict) -> bool:
    """Whether every softmax cross-entropy of the graph has targets whose given values sum to
    exactly 1 (a one-hot target): its slope is then p − t, as sheets write it."""
    found = False
    for node in graph.computed:
        for call in _calls(node.expr):
            if fused_loss(call) != "cross_entropy":
                continue
            if any(graph.nodes[n].role != "target" for n in names_in(call.args[1])):
                return False  # a target computed or trained: its sum is not fixed
            try:
                ev = Eval()
                scores = forward(call.args[0].args[0], ev, values)
                total = ev.total(ev.lift(forward(call.args[1], ev, values), scores.shape)).x
            except (ShapeError, KeyError):
                return False
            if not (isinstance(total, sp.Rational) and total == 1):
                return False
            found = True
    return found


def _calls(e):
    """Every function call in an expression."""
    if isinstance(e, Call):
        yield e
        for a in e.args:
            yield from _calls(a)
    for child in ("left", "right", "operand"):
        if hasattr(e, child):
            yield from _calls(getattr(e, child))


class DeltaSum(Struct, frozen=True):
    """How one δ (or gradient) was summed: the nodes using it, the sum in symbols and in numbers
    (None where they would be the same names again), the sum in Leibniz notation, and each user's
    term as (user, value, formula, numbers)."""

    users: tuple
    formula: object
    numbers: object
    leibniz: object
    terms: tuple = ()


class Work:
    """The three readings of one graph: values (Eval), formulas and numbers (Show).

    `asked` names what must be differentiated besides the trained parameters (default: what the
    file's ask parts show; see asked_names). `round_each_step=N` rounds every value a step produces
    (forward values, the loss, each δ and gradient, each updated weight) half up to N decimals
    before later steps use it, as by hand; None keeps every value exact.
    """

    def __init__(self, graph: Graph, of: str = "L", closed_forms: bool = False, asked: set | None = None,
                 round_each_step: int | None = None):
        self.g, self.of = graph, of
        self.decimals = round_each_step
        self.rounded = rounder(round_each_step)
        self.wanted = wanted(graph, asked_names(graph) if asked is None else set(asked))
        self.need = differentiated(graph, of, self.wanted) if of in graph.nodes else frozenset()
        self.targets = {n for n, node in graph.nodes.items() if node.role == "target"}
        self.derived = frozenset(n for n, node in graph.nodes.items() if node.role == "derived")
        self.expressions: dict[str, T] = {}
        self.values = evaluate(graph, leaf_values(graph), self.expressions, rounded=self.rounded)
        self.unit_targets = unit_targets(graph, self.values)
        self.ev = Eval(self.unit_targets) if self.rounded is None else ByHand(self.unit_targets, self.decimals)
        self.show = Show(self.unit_targets)
        self.expressions = {n: T(orient(t.x, self.targets), t.shape) for n, t in self.expressions.items()}
        self.closed = evaluate(graph, leaf_values(graph), algebra=Closed()) if closed_forms else None
        self.symbols = {n: T(symbol_for(n, node.shape), node.shape) for n, node in graph.nodes.items()}
        self.deltas: dict[str, T] = {}
        self.sums: dict[str, DeltaSum] = {}  # how each δ was summed, for the steps that show it
        self.checks: dict[str, T] = {}
        self.exact_gradients: dict[str, T] = {}  # with each step rounded and checked: the exact chain's
        self.contributions: dict[tuple, object] = {}  # (user, used) → the symbolic term of δ_used
        self._in_leaves: dict | None = None
        self.passes: list[dict] = [self.values]  # every pass of values worked: the forward pass, each after an update
        if of in graph.nodes:
            self._backward()

    def _backward(self):
        """Reverse accumulation: each node's delta from the deltas of the nodes that use it."""
        terms: dict[str, list] = {n: [] for n in self.g.nodes}
        seed = self.g.nodes[self.of]
        one = self.ev.lift(T(sp.Integer(1), ()), seed.shape)
        above = self.g.ancestors(self.of)
        for node in reversed(self.g.computed):
            name = node.name
            if name not in above or name not in self.need:
                continue
            if name == self.of:
                readings = (one, one, one)
            else:
                self._close(node, terms[name])
                d = self.deltas[name]
                readings = (d, T(delta_symbol(name, node.shape), node.shape), d)
            parts = []
            for A, env, delta in ((self.ev, self.values, readings[0]), (self.show, self.symbols, readings[1]),
                                  (self.show, self.values, readings[2])):
                acc: dict[str, T] = {}
                try:
                    backward(node.expr, A, env, delta, acc, self.need)
                except ShapeError as e:
                    raise self.g.error(f"{e} in {node.text!r}", key=node.key) from None
                parts.append(acc)
            for used in parts[0]:
                terms[used].append((name, parts[0][used], parts[1][used], parts[2][used]))
                self.contributions[(name, used)] = parts[1][used].x
        for node in self.g.nodes.values():  # parameters, and inputs when asked about (a saliency)
            if node.role in ("parameter", "derived", "input") and node.name in self.wanted \
                    and (node.expr is None or node.name not in above):
                self._close(node, terms[node.name])
        for node in self.g.computed:  # `of` does not depend on these at all
            if node.name not in above and node.name not in self.deltas:
                self._close(node, [])

    def _close(self, node: Node, terms: list):
        """Sum the contributions of every user into δ_node, in all three readings."""
        order = {n.name: i for i, n in enumerate(self.g.computed)}
        terms = sorted(terms, key=lambda t: order.get(t[0], -1))  # the users in the sheet's order: z₅ before z₆
        if not terms:
            value = self.ev.lift(T(sp.Integer(0), ()), node.shape)
            formula = numbers = value.x
        else:
            value, formula, numbers = terms[0][1], terms[0][2], terms[0][3]
            for _, v, f, n in terms[1:]:
                value = self.ev.add(value, v)
                formula, numbers = self.show.add(formula, f), self.show.add(numbers, n)
            value = T(orient(factored(value.x), self.targets), value.shape)
            if self.rounded is not None:
                value = self.rounded(value)
            formula = as_written(formula.x)
            # symbolic values: the numbers would only be the same names again
            numbers = None if is_symbolic(value.x) else self._numbers_of(formula, numbers.x)
        self.deltas[node.name] = value
        users = tuple(t[0] for t in terms)
        self.sums[node.name] = DeltaSum(users, formula, numbers, leibniz_sum(self.of, node.name, users, self.derived),
                                        tuple((u, v.x, f.x, n.x) for u, v, f, n in terms))

    def as_sheet(self, x):
        """A formula or symbolic value with a mean over samples kept general written 1/N, not 1/3."""
        n = self.g.problem.general_samples
        if n is None or "N" in self.g.nodes:
            return x
        shown = over_samples(x, n)
        return x if shown == x else shown

    def _numbers_of(self, formula, numbers):
        """The numbers line of a δ: its formula with the values put in, so that both read alike;
        a formula of vectors or matrices keeps the numbers its rule wrote."""
        if not isinstance(formula, sp.Basic) or isinstance(formula, sp.MatrixBase) or \
                formula.atoms(sp.MatrixSymbol, sp.ImmutableMatrix):  # entries spelled out (indexing) too
            return numbers
        return substituted(formula, self.scalar_values() | self._entry_values(formula))

    def _entry_values(self, formula) -> dict:
        """Each entry of a vector or matrix that a formula names (W[1,2], delta_s[2,1]), mapped to its value."""
        out = {}
        for symbol in formula.free_symbols:
            m = ELEMENT.match(symbol.name)
            name = m.group(1).removeprefix("delta_") if m else None
            if name not in self.g.nodes or self.g.nodes[name].shape == ():
                continue
            source = self.deltas if m.group(1).startswith("delta_") else self.values
            if name in source and not is_symbolic(source[name].x):
                out[symbol] = at(source[name].x, tuple(int(k) for k in m.group(2).split(",")))
        return out

    def scalar_values(self) -> dict:
        """Each scalar name's symbol and each scalar δ's symbol, mapped to its value."""
        out = {}
        for n, node in self.g.nodes.items():
            if node.shape == ():
                out[self.symbols[n].x] = self.values[n].x
                if n in self.deltas:
                    out[delta_symbol(n, ())] = self.deltas[n].x
        return out

    def in_leaves(self, x):
        """A symbolic value with every computed node's name replaced by its value in the leaves
        (parameters, inputs, targets): after an update, the names of the pass before mean nothing."""
        if not is_symbolic(x):
            return x
        if self._in_leaves is None:
            full = evaluate(self.g, leaf_values(self.g))
            self._in_leaves = {}
            for node in self.g.computed:
                symbols, values = element_symbols(node.name, node.shape), full[node.name].x
                pairs = zip(symbols, values) if node.shape != () else [(symbols, values)]
                self._in_leaves.update((k, v) for k, v in pairs if k != v)
        if isinstance(x, sp.MatrixBase):
            return factored(x.applyfunc(lambda v: v.xreplace(self._in_leaves)))
        return factored(x.xreplace(self._in_leaves))

    # -- after the backward pass ------------------------------------------------------------
    def updated_leaves(self, only: dict | None = None, deltas: dict | None = None, rate=None) -> dict:
        """Given parameters after one step; `only` limits it: {name: [indices], or None for all of it}.

        `deltas` and `rate` replace the gradients and the learning rate of the step (a step
        recomputed with a slip made, see slips.py); by default they are this Work's and the file's.
        """
        lr = self.g.problem.learning_rate if rate is None else rate
        deltas = self.deltas if deltas is None else deltas
        new = {}
        for node in self.g.parameters:
            if node.expr is not None or node.name in self.g.problem.frozen:
                continue
            if only is not None and node.name not in only:
                continue
            grad = self.in_leaves(deltas[node.name].x)
            try:
                stepped = self.ev.sub(T(node.given, node.shape),
                                      self.ev.mul(self.ev.const(lr), T(grad, node.shape))).x
            except ShapeError as e:
                raise self.g.error(f"{e} in the update of {node.name}", key=node.key, line=node.line) from None
            if is_symbolic(stepped):  # w − 3(3w − 5)/10 is w/10 + 3/2: the step carried out
                stepped = stepped.applyfunc(sp.expand_mul) if isinstance(stepped, sp.MatrixBase) \
                    else sp.expand_mul(stepped)
            if self.rounded is not None:
                stepped = half_up(stepped, self.decimals)
            if only is not None and only[node.name] is not None:
                stepped = _take_elements(node.given, stepped, only[node.name], node.shape)
            new[node.name] = stepped
        return new

    def loss_after(self, new: dict) -> dict:
        """Every node's value again, with the parameters in `new` moved (the loss after an update)."""
        values = evaluate(self.g, leaf_values(self.g, new), rounded=self.rounded)
        self.passes.append(values)
        return values

    def verify(self):
        """A central finite difference for every gradient element. With each step rounded the difference
        quotient is of the exact loss, so it checks the exact chain's gradient (kept in exact_gradients)."""
        exact = None if self.decimals is None else Work(self.g, self.of, asked=set(self.wanted))
        for node in self.g.parameters:
            if node.name in self.deltas:
                self.checks[node.name] = self._finite_difference(node)
                if exact is not None:
                    self.exact_gradients[node.name] = exact.deltas[node.name]

    def _finite_difference(self, node: Node) -> T:
        """(L(p + h) − L(p − h)) / 2h for each element p of the parameter; a derived one is moved
        where it is used, as if it were free. None where the parameter, its gradient or the
        estimate is symbolic: a difference of two formulas checks nothing."""
        value = self.values[node.name].x
        if is_symbolic(value) or is_symbolic(self.deltas[node.name].x):
            return T(None, node.shape)
        estimate = self._estimate(node, value)
        return T(None, node.shape) if is_symbolic(estimate.x) else estimate

    def _estimate(self, node: Node, value) -> T:
        h = FD_STEP

        def loss_with(moved):
            return evaluate(self.g, leaf_values(self.g), fixed={node.name: moved})["L"].x

        if node.shape == ():
            return T(self.ev.finish((loss_with(value + h) - loss_with(value - h)) / (2 * h)), ())
        out = []
        for k in range(len(value)):
            plus, minus = list(value), list(value)
            plus[k] += h
            minus[k] -= h
            rows, cols = value.shape
            estimate = (loss_with(sp.ImmutableMatrix(rows, cols, plus))
                        - loss_with(sp.ImmutableMatrix(rows, cols, minus))) / (2 * h)
            out.append(self.ev.finish(estimate))
        return T(sp.ImmutableMatrix(*value.shape, out), node.shape)


def at(m, index):
    """One element of a matrix or vector, by indices counted from 1."""
    if index is None:
        return m
    return m[index[0] - 1, index[1] - 1 if len(index) > 1 else 0]


def _take_elements(old, new, indices, shape):
    """old with only the given elements replaced from new."""
    rows = [[old[i, j] for j in range(old.shape[1])] for i in range(old.shape[0])]
    for index in indices:
        i, j = index[0] - 1, (index[1] - 1 if len(index) > 1 else 0)
        rows[i][j] = new[i, j]
    return sp.ImmutableMatrix(rows)
