"""The chain rule for one quantity: Leibniz chain, local derivatives, shared deltas, whole expression."""
from __future__ import annotations

import weakref

from msgspec.structs import replace
import sympy as sp

from .algebra import Eval, Partial, Show, T, element_symbols, orient
from .bptt import through_time, time_names
from .datasets import solvable
from .delta_convention import chain_in_convention
from .engine import Work, at, evaluate, leibniz_sum, names_of, rules_of
from .detail import DEFAULT, EXTRAS, Condenser, check_detail
from .errors import LimitError
from .expr import BinOp, Call, Name, Neg, names_in, walk
from .graph import Graph, build
from .ops import linear, step
from .problem import Problem
from .rounding import chosen, differs
from .rules import backward, forward
from .solution import ChainRule, Derivation, LocalDerivative, Section, WholeDerivative
from .components import check_form, per_neuron
from .steps import read_as_by_hand, sheet_form, any_delta_step, delta_steps, element_gradient, flat, gradient_step

EXPAND_LIMIT = 250  # operations in the expanded form beyond which it is shown only on request
EXPAND_MAX = 5_000  # operations in the form written out in the leaves that --expand still writes
TIDY_MAX = 1_000  # operations beyond which common factors are no longer pulled out (it takes seconds)


def derive(problem: Problem | Graph, wrt: str, of: str = "L", expand: bool | None = None,
           detail: str = DEFAULT, round_each_step=None, notation: str | None = None) -> Derivation:
    """∂of/∂wrt for one name (a parameter, one weight, a node, a derived parameter).

    At normal detail: the Leibniz chain, the recursion (each δ once) and the result; the local
    derivatives and the whole derivative too at full detail or with expand. round_each_step as
    for solve(): N decimals at each step, "off", or None for the file's rounding:. notation (neuron,
    matrix, both) writes the recursion's vector steps as solve() does."""
    check_detail(detail)
    form = check_form(notation)
    graph = problem if isinstance(problem, Graph) else build(solvable(problem))
    decimals = chosen(round_each_step, graph.problem.round_each_step)
    work = _work(graph, of, {resolve_wrt(graph, wrt)[0]}, decimals)
    d = _in_form(work, shown(_as_sheet(work, _derivation(work, wrt, expand)), detail, EXTRAS if expand else ()),
                 form, detail)
    return _beside_exact(d, graph, wrt, decimals)


def _beside_exact(d: Derivation, graph: Graph, wrt: str, decimals: int | None) -> Derivation:
    """A step-rounded derivation with its chain's decimals, and the exact value where it differs."""
    if decimals is None:
        return d
    exact = _derivation(_work(graph, d.of, {resolve_wrt(graph, wrt)[0]}), wrt, False).whole.value
    return replace(d, rounding=decimals, exact=exact if differs(d.whole.value, exact, decimals) else None)


def derive_all(problem: Problem | Graph, of: str = "L", expand: bool | None = None,
               detail: str = DEFAULT, round_each_step=None, notation: str | None = None) -> list[Derivation]:
    """∂of/∂p for every parameter, from one backward pass whose deltas they share: at normal
    detail the first shows the recursion, each later one only what is new (its gradient)."""
    check_detail(detail)
    form = check_form(notation)
    graph = problem if isinstance(problem, Graph) else build(solvable(problem))
    decimals = chosen(round_each_step, graph.problem.round_each_step)
    work = _work(graph, of, {p.name for p in graph.parameters}, decimals)
    condenser = Condenser(detail, refer=False)
    out = []
    for i, p in enumerate(graph.parameters):
        d = _as_sheet(work, _derivation(work, p.name, expand))
        secs = d.sections if i == 0 or detail == "full" else tuple(  # the recursion is above: its gradient only
            replace(sec, title=f"Gradient: ∂{of}/∂{p.name}") for sec in d.sections
            if not any(isinstance(s, ChainRule) for s in sec.steps))
        d = shown(replace(d, sections=secs), detail, EXTRAS if expand else (), condenser)
        out.append(_beside_exact(_in_form(work, d, form, detail), graph, p.name, decimals))
    return out


def shown(d: Derivation, detail: str, extras=(), condenser: Condenser | None = None) -> Derivation:
    """A derivation with the sections it shows at a detail; extras (local, whole) shown at normal too."""
    condenser = condenser or Condenser(detail)
    secs = condenser.sections(d.sections, extras=lambda sec: extras, derivation=lambda sec: True)
    return replace(d, sections=secs, detail=detail)


def _as_sheet(work: Work, d: Derivation) -> Derivation:
    """A derivation's sections as the sheet writes them (1/N); its whole and deltas, for JSON, as computed."""
    return replace(d, sections=tuple(sheet_form(work, list(d.sections))))


def _in_form(work: Work, d: Derivation, form: str | None, detail: str) -> Derivation:
    """A shown derivation with its vector steps in the notation form (the file's when form is None)."""
    secs = list(d.sections) if detail == "brief" else through_time(work, list(d.sections))
    secs = per_neuron(work, secs, form or work.g.problem.notation.form, detail=detail)
    return replace(d, sections=tuple(read_as_by_hand(work, secs)))


def derivation_for(work: Work, wrt: str, of: str = "L", expand: bool | None = None) -> Derivation:
    """A derivation inside a solution: reuses the solution's backward pass when it starts from `of`."""
    name = work.g.resolve(wrt)[0]
    reuse = work.of == of and name in work.deltas
    return _derivation(work if reuse else _work(work.g, of, {name}), wrt, expand)


def resolve_wrt(graph: Graph, wrt: str, key: str = "--wrt") -> tuple:
    """A name to differentiate by, as Graph.resolve reads names (a parameter, one weight, a node,
    an alias), or an input read the same way (x1, x[2], x): its derivative is the saliency."""
    return graph.resolve(wrt, key=key, inputs=True)


def _work(graph: Graph, of: str, asked: set, decimals: int | None = None) -> Work:
    if of not in graph.nodes or graph.nodes[of].expr is None:
        computed = ", ".join(n.name for n in graph.computed)
        raise graph.error(f"--of {of!r} must name a computed node (one of: {computed})", key="--of")
    if graph.nodes[of].shape not in ((), (1,)):
        raise graph.error(f"--of {of!r} must be a scalar", key="--of")
    return Work(graph, of, asked=asked, round_each_step=decimals)


def _derivation(work: Work, wrt: str, expand: bool | None) -> Derivation:
    g, of = work.g, work.of
    name, index = resolve_wrt(g, wrt)
    label = wrt
    between = g.between(name, of)
    order = [n for n in reversed(g.computed) if n.name in between and n.name not in (of, name)]
    chain = _chain(g, name, of, between, label)
    if chain.factors == (chain.lhs,):  # ∂L/∂s = ∂L/∂s says nothing: the one factor, differentiated
        chain = replace(chain, formula=_local(work, of, name).derivative)
    elif chain.shared:
        chain = replace(chain, formula=chain_in_convention(work, chain.formula))
    locals_ = [_local(work, c, n) for n in [x.name for x in order] + [name]
               for c in g.users[n] if c in between]
    steps = delta_steps(work)
    deltas = [steps[n.name] for n in order if n.role == "forward" and n.name in steps]
    deltas += [steps[n.name] for n in order if n.role == "derived" and n.name != name]
    final = (element_gradient(work, name, index, label) if index
             else gradient_step(work, name) if name in steps and g.nodes[name].role in ("parameter", "derived")
             else any_delta_step(work, name))
    whole = _whole(work, name, index, label, between, expand)
    sections = [Section("Chain rule", (chain,)),
                Section("Local derivatives", tuple(locals_)),
                Section("Backward recursion: each δ defined once, then reused", tuple(deltas) + (final,)),
                Section("The whole derivative", (whole,))]
    sections = [Section(f"{sec.title}: ∂{of}/∂{label}", sec.steps) for sec in sections]
    p = g.problem
    return Derivation(p.title, p.source, p.notes, label, of, tuple(sections), chain, whole, time_names(names_of(g), g.problem.recurrence),
                      deltas=tuple(deltas))


def _count_paths(g: Graph, name: str, of: str, between: set) -> int:
    paths = {of: 1}
    for node in reversed(g.computed):
        n = node.name
        if n in between and n != of:
            paths[n] = sum(paths.get(c, 0) for c in g.users[n] if c in between)
    return sum(paths.get(c, 0) for c in g.users[name] if c in between) if name != of else 1


def _chain(g: Graph, name: str, of: str, between: set, label: str) -> ChainRule:
    """A single product of factors when there is one path; else the sum with shared deltas."""
    of_s = sp.Symbol(of)
    lhs = Partial(of_s, sp.Symbol(label))
    if _count_paths(g, name, of, between) == 1:
        factors, n = [], name
        while n != of:
            c = next(u for u in g.users[n] if u in between)
            factors.append(Partial(sp.Symbol(c), sp.Symbol(label if n == name else n)))
            n = c
        factors.reverse()
        product = factors[0] if len(factors) == 1 else sp.Mul(*factors, evaluate=False)
        return ChainRule(of, label, lhs, product, tuple(factors), shared=False)
    users = tuple(c for c in g.users[name] if c in between)
    derived = frozenset(n for n, node in g.nodes.items() if node.role == "derived")
    total = leibniz_sum(of, label, users, derived)
    return ChainRule(of, label, lhs, total, (), shared=not set(users) <= derived)


def _local(work: Work, c: str, n: str) -> LocalDerivative:
    """∂c/∂n: differentiated symbolically for scalars, the matrix rule for vectors and matrices."""
    g = work.g
    node, used = g.nodes[c], g.nodes[n]
    rules = rules_of(node)
    only = frozenset({n})  # the other operands' slopes are not asked for here
    scalars = all(g.nodes[m].shape == () for m in names_in(node.expr))
    if node.shape == () and used.shape == () and scalars:  # the ops table's rules, applied to δ = 1
        ev, acc = Eval(work.unit_targets), {}
        backward(node.expr, ev, work.symbols, T(sp.Integer(1), ()), acc, only)
        expr = orient(_tidy(forward(node.expr, ev, work.symbols).x), work.targets)
        derivative = orient(_tidy(acc[n].x), work.targets)
        return LocalDerivative(c, n, Partial(sp.Symbol(c), sp.Symbol(n)), work.as_sheet(expr),
                               work.as_sheet(derivative), rules)
    acc: dict = {}
    if c == work.of:
        delta = Show().lift(T(sp.Integer(1), ()), node.shape)
    elif node.shape == ():
        delta = T(sp.Symbol(f"delta_{c}"), ())
    else:
        delta = T(sp.MatrixSymbol(f"delta_{c}", *_dims(node.shape)), node.shape)
    backward(node.expr, Show(work.unit_targets), work.symbols, delta, acc, only)
    return LocalDerivative(c, n, Partial(sp.Symbol(c), sp.Symbol(n)), None, acc[n].x, rules,
                           applied=c != work.of)


def _dims(shape):
    return (shape[0], 1) if len(shape) == 1 else shape


def _whole(work: Work, name: str, index, label: str, between: set, expand: bool | None) -> WholeDerivative:
    """The deltas substituted into each other: one expression in the file's names; with expand,
    every computed name replaced by its definition too, down to parameters, inputs and targets.

    An expression past EXPAND_MAX operations is refused with expand, and otherwise left out
    (its size then reported as EXPAND_MAX + 1): it grows exponentially with the depth."""
    g, of = work.g, work.of
    value = work.in_leaves(work.deltas[name].x) if expand else work.deltas[name].x
    value = at(value, index) if index else value
    try:
        expression, env = _expanded(work, name, index, label, between, expand)
    except _TooLong:
        if expand:
            raise LimitError(f"written out in parameters, inputs and targets, ∂{of}/∂{label} has more than "
                             f"{EXPAND_MAX} operations; without --expand it is shown in the names of the "
                             "forward pass", file=g.problem.path, key="--expand") from None
        return WholeDerivative(of, label, None, None, value, False, EXPAND_MAX + 1)
    expression = orient(_tidy(expression), work.targets)
    size = _ops(expression)
    shown = expand if expand is not None else size <= EXPAND_LIMIT
    subs = {}
    for k, node in g.nodes.items():
        if expand and node.expr is not None:
            continue
        for sym, val in zip(flat(env[k].x), flat(work.values[k].x)):
            if not (isinstance(val, sp.Basic) and val == sym):
                subs[sym] = val
    numbers = None
    if shown and subs and not _symbolic(work):
        with sp.evaluate(False):
            numbers = expression.xreplace(subs)
    return WholeDerivative(of, label, work.as_sheet(expression), numbers, value, shown, size)


def derivative_in_names(work: Work, name: str, index=None):
    """∂of/∂name (one element with index) with the deltas substituted, in the element names of the
    forward pass (Z_in[1], step(Z_in[1])), and those names' values; None when it is too long to write,
    or a leaf's that surely holds no step()."""
    sweep = _SWEEPS.get(work)
    if sweep is None:
        sweep = _SWEEPS[work] = _InNames(work)
    return sweep.derivative(name, index)


class _InNames:
    """One reverse sweep of ∂of/∂node in the element names for every node of a Work, shared by all the
    names asked about: ∂of/∂c is the same whichever name's path c lies on. A node whose derivative
    passes EXPAND_MAX operations, and every node behind it, is marked too long instead of written."""

    def __init__(self, work: Work):
        g, self.of, self.g = work.g, work.of, work.g
        self.env = ElementNames(g, work.values)
        self.ev = ev = Eval(work.unit_targets)
        memo: dict = {}
        reach = g.ancestors(self.of) | {self.of}
        self.expanded: dict[str, T] = {self.of: ev.lift(T(sp.Integer(1), ()), g.nodes[self.of].shape)}
        self.too_long: set = set()
        self.step_free: set = set()
        for node in reversed(g.computed):
            c = node.name
            if c not in reach or c not in self.expanded:
                continue
            if c in self.too_long:
                self.too_long.update(u for u in names_in(node.expr) if u in reach)
                continue
            delta = self.expanded[c]
            entries = flat(delta.x)
            surely = product_bound(node.expr, node.shape, g.nodes, sum(size_of(e, memo) for e in entries) - len(entries))
            skipped = {u for u, bound in surely.items() if bound > EXPAND_MAX and u in reach}
            self.too_long |= skipped
            free = self._step_free(node, entries) & reach
            self.step_free |= free
            acc: dict = {}
            backward(node.expr, ev, self.env, delta, acc,
                     need=reach - self.too_long - free if skipped or free else None)
            for used, contribution in acc.items():
                if used not in reach or used in self.too_long:
                    continue
                self.expanded[used] = ev.add(self.expanded[used], contribution) if used in self.expanded \
                    else contribution
                if size_of(self.expanded[used].x, memo) > EXPAND_MAX:
                    self.too_long.add(used)

    def _step_free(self, node, entries: list) -> set:
        """The leaves (parameters, inputs) only this node uses, when no unit that is off can reach their ∂
        through it: its δ holds no step() of a computed element that is ≤ 0, and its line either calls no
        function (only sums, products, transposes, indexing) or names no computed node (so no step() of one
        can arise in it). The sweep need not write their ∂."""
        g = self.g
        names = names_in(node.expr)
        leaves = {u for u in names if g.nodes[u].expr is None and g.users[u] == (node.name,)}
        if not leaves or any(g.nodes[u].expr is not None for u in names) \
                and any(isinstance(e, Call) for e in walk(node.expr)):
            return set()
        for e in entries:
            if isinstance(e, sp.Basic) and any(self.env.off(s.args[0]) for s in e.atoms(step)):
                return set()
        return leaves

    def derivative(self, name: str, index):
        """(∂of/∂name or its element, the element names), or None when it is too long to write or surely
        holds no step() (a leaf the sweep did not write)."""
        if name in self.step_free or (self.g.between(name, self.of) | {name}) - {self.of} & self.too_long:
            return None
        zero = self.ev.lift(T(sp.Integer(0), ()), self.g.nodes[name].shape)
        total = self.expanded.get(name, zero).x
        return (at(total, index) if index else total), self.env


class ElementNames(dict):
    """Each node of a graph as the matrix of its element names (Z_in[1], …), made when first asked for:
    a sweep that stops at a product too long to write never names the elements behind it. With the
    nodes' values, it tells which element names are units that are off."""

    def __init__(self, graph, values: dict):
        super().__init__()
        self.graph, self.values = graph, values
        self.owners: dict = {}
        self.found_off: dict = {}

    def __missing__(self, name: str) -> T:
        shape = self.graph.nodes[name].shape
        self[name] = names = T(element_symbols(name, shape), shape)
        for k, symbol in enumerate(flat(names.x)):
            self.owners[symbol] = (name, k)
        return names

    def off(self, symbol) -> tuple | None:
        """(node, position, value) when symbol (a step()'s argument) names an element of a computed node
        whose value is ≤ 0: a unit that is off; otherwise None."""
        if symbol not in self.found_off:
            owner, found = self.owners.get(symbol), None
            if owner is not None and self.graph.nodes[owner[0]].expr is not None:
                value = flat(self.values[owner[0]].x)[owner[1]]
                found = (*owner, value) if value.is_nonpositive is True else None
            self.found_off[symbol] = found
        return self.found_off[symbol]


def product_bound(expr, shape: tuple, nodes: dict, excess: int) -> dict:
    """A lower bound of the size of ∂/∂name for each name multiplied in a matrix product A @ B of two
    names at the top of expr (under + and − only, of expr's own shape), when the δ coming down has
    `excess` = its size less its count of entries: each entry of the name's δ sums one product per
    entry of the contracted side, each at least as long as the δ entry it carries, so the whole is at
    least inner × excess. Lets a sweep skip a product it would only find too long after building it."""
    out: dict = {}
    todo = [expr]
    while todo:
        e = todo.pop()
        if isinstance(e, Neg):
            todo.append(e.operand)
        elif isinstance(e, BinOp) and e.op in "+-":
            todo.extend([e.left, e.right])
        elif isinstance(e, BinOp) and e.op == "@" and isinstance(e.left, Name) and isinstance(e.right, Name):
            a, b = nodes[e.left.id].shape, nodes[e.right.id].shape
            if _product_shape(a, b) == shape:
                inner = a[-1]
                for name in (e.left.id, e.right.id):
                    out[name] = max(out.get(name, 0), inner * excess)
    return out


def _product_shape(a: tuple, b: tuple):
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return (b[1],)
    return (a[0],) if len(b) == 1 else (a[0], b[1])


_SWEEPS: "weakref.WeakKeyDictionary[Work, _InNames]" = weakref.WeakKeyDictionary()


class _TooLong(Exception):
    """An expression past EXPAND_MAX operations."""


def _expanded(work: Work, name: str, index, label: str, between: set, expand: bool | None):
    """∂of/∂name with the deltas substituted (and with expand, the forward definitions too), and
    the values the names were given; _TooLong as soon as a part passes EXPAND_MAX operations."""
    g, ev, of = work.g, Eval(work.unit_targets), work.of
    env = {k: T(element_symbols(k, node.shape), node.shape) for k, node in g.nodes.items()}
    memo: dict = {}  # sizes of subexpressions, shared by every check
    if expand:
        leaves = {k: env[k] for k, node in g.nodes.items() if node.expr is None}
        env = evaluate(g, leaves, each=lambda node, v: _at_most(v.x, memo))
    expanded: dict[str, T] = {of: ev.lift(T(sp.Integer(1), ()), g.nodes[of].shape)}
    for node in reversed(g.computed):
        c = node.name
        if c not in between or c not in expanded:
            continue
        acc: dict = {}
        backward(node.expr, ev, env, expanded[c], acc)
        for used, contribution in acc.items():
            if used in between or used == name:
                expanded[used] = ev.add(expanded[used], contribution) if used in expanded else contribution
                _at_most(expanded[used].x, memo)
    total = expanded.get(name, ev.lift(T(sp.Integer(0), ()), g.nodes[name].shape)).x
    return (at(total, index) if index else total), env


def _at_most(expr, memo: dict):
    if size_of(expr, memo) > EXPAND_MAX:
        raise _TooLong


def size_of(expr, memo: dict | None = None) -> int:
    """The operations of an expression as written out (a subexpression counted each time it
    appears), computed once per distinct subexpression."""
    memo = {} if memo is None else memo
    if isinstance(expr, sp.MatrixBase):
        return sum(size_of(v, memo) for v in expr)
    stack, order = [expr], []
    while stack:  # children before parents, without recursion
        e = stack.pop()
        if e in memo:
            continue
        order.append(e)
        stack.extend(a for a in e.args if a not in memo)
    for e in reversed(order):
        if e not in memo:
            memo[e] = 1 + sum(memo.get(a, 1) for a in e.args) if e.args else 0
    return memo[expr]


def _tidy(expr):
    """The form a sheet prints: linear(z) is z, common factors pulled out; matrices element by element."""
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(_tidy)
    expr = expr.replace(lambda e: isinstance(e, linear), lambda e: e.args[0])
    return sp.factor_terms(expr) if size_of(expr) <= TIDY_MAX else expr


def _ops(expr) -> int:
    if isinstance(expr, sp.MatrixBase):
        return sum(_ops(v) for v in expr)
    size = size_of(expr)
    return sp.count_ops(expr) if size <= TIDY_MAX else size


def _symbolic(work: Work) -> bool:
    return any(getattr(v.x, "free_symbols", None) for v in work.values.values())
