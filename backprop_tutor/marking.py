"""A student's answers marked against the exact solution: right, wrong or missing, in the solution's
order; the first wrong step; and the slips whose recomputed value equals a wrong one."""
from __future__ import annotations

import math
import re
from fractions import Fraction

from msgspec import Struct
from msgspec.structs import replace
import sympy as sp

from .datasets import solvable
from .engine import Work, at
from .errors import ProblemError, TutorError, UsageError
from .expr import did_you_mean, shorten
from .graph import build
from .problem import Problem
from .reading import printable
from .slips import slipped as slips_of
from .solution import Delta, Forward, Gradient, LossValue, ThroughTime, Update
from .rounding import CHECKED
from .solver import solution as solution_of
from .studentanswers import StudentAnswer, Written

RIGHT, WRONG, MISSING = "right", "wrong", "missing"
MIN_DIGITS = 2  # a value is compared at the digits written, but never at fewer than two
GUARD_DIGITS = 30  # an irrational value is evaluated this many digits beyond those compared
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉′∂", "0123456789'd")
_GRADIENT = re.compile(r"d(?P<of>.+?)/d(?P<wrt>.+)")
_DELTA = re.compile(r"(?:δ|delta)_?(?P<name>.+)")
_ELEMENT = re.compile(r"_\{?(?P<i>\d)(?:,?(?P<j>\d))?\}?")
_PART = re.compile(r"\((?P<label>[^()]+)\)")
_KIND_RANK = {"value": 0, "loss": 1, "grad": 2, "updated": 3, "loss_after": 4, "result": 5}


class Quantity(Struct, frozen=True):
    """What one answer is: a forward value, the loss, ∂L/∂name, an updated parameter, the loss after
    the update (kind value, loss, grad, updated, loss_after); index counts from 1 (one element)."""

    kind: str
    name: str | None = None
    index: tuple | None = None

    @property
    def whole(self) -> "Quantity":
        """The quantity the element belongs to (itself when it is whole)."""
        return Quantity(self.kind, self.name, None)


class Mark(Struct, frozen=True):
    """One row of the marks: what was checked, as written, and how it compares.

    status is right, wrong or missing; entries marks each entry of a vector or matrix (True right);
    slips are the slips (slips.Slip) whose recomputed value equals the student's wrong value."""

    quantity: Quantity
    key: str | None          # the name as the student wrote it (None: missing)
    line: int | None
    part: str | None         # the sheet's part the value answers, when it is an asked one
    given: object            # Written, or a tuple (vector) or tuple of tuples (matrix) of them; None: missing
    exact: object            # the exact value (a SymPy number or matrix)
    shape: tuple
    status: str
    entries: tuple = ()
    slips: tuple = ()
    position: int = 0
    chain: int | None = None  # right by a chain rounded to this many decimals at each step (None: the exact one)
    chain_value: object = None  # that chain's value, beside the exact one


class Marking(Struct, frozen=True):
    """Every mark in the solution's order, the first wrong step's working (the Solution's own steps)
    and the slips that were tried; `solution` is the exact solution the marks compare with."""

    marks: tuple
    first_wrong: Mark | None
    working: tuple
    tried: tuple             # every slip recomputed for this problem (slips.Slip)
    solution: object
    require_all: bool = False

    @property
    def ok(self) -> bool:
        """Whether no answer is wrong (nor, with require_all, missing)."""
        bad = (WRONG, MISSING) if self.require_all else (WRONG,)
        return not any(m.status in bad for m in self.marks)


class Values:
    """The checkable values of one Work (the exact one, or one with a slip made), computed on demand:
    forward values, L, ∂L/∂name, the updated parameters and the loss after the update (of `only`)."""

    def __init__(self, work, only: dict | None):
        self.work, self.only = work, only
        self._updated = self._after = None

    def value(self, q: Quantity):
        """The value of a quantity (one element of it when it has an index)."""
        w = self.work
        if q.kind == "value":
            whole = w.values[q.name].x
        elif q.kind == "loss":
            whole = w.values["L"].x
        elif q.kind == "grad":
            whole = w.deltas[q.name].x
        elif q.kind == "updated":
            if self._updated is None:
                self._updated = w.updated_leaves(None)
            # a frozen parameter keeps its value through the update
            whole = self._updated[q.name] if q.name in self._updated else w.g.nodes[q.name].given
        elif q.kind == "loss_after":
            if self._after is None:
                self._after = w.loss_after(w.updated_leaves(self.only))["L"].x
            whole = self._after
        else:
            raise KeyError(q.kind)
        return at(whole, q.index) if q.index is not None and isinstance(whole, sp.MatrixBase) else whole


def check(problem: Problem, answers: tuple[StudentAnswer, ...], require_all: bool = False) -> Marking:
    """Mark a student's answers to a problem against its exact solution, diagnosing each wrong value
    by the slips (slips.py) whose recomputed value equals it."""
    problem = solvable(problem)
    graph = build(problem)
    work = Work(graph)
    chains = dict.fromkeys((*CHECKED, *([problem.round_each_step] if problem.round_each_step is not None else ())))
    return mark(work, answers, slips_of(problem, work), require_all, _rounded_chains(graph, sorted(chains)))


def _rounded_chains(graph, decimals: list) -> list:
    """(N, Work rounded to N decimals at each step) for each N; a chain that rounding breaks (a value
    rounded to 0 and then divided by) is left out, as no student's working could follow it either."""
    out = []
    for n in decimals:
        try:
            out.append((n, Work(graph, round_each_step=n)))
        except (TutorError, ArithmeticError, ValueError):
            continue
    return out


def mark(work: Work, answers: tuple[StudentAnswer, ...], slipped: list, require_all: bool = False,
         rounded: list = ()) -> Marking:
    """The marks of answers against a Work's solution; `slipped` are Slipped computations (slips.py);
    `rounded` are (N, Work rounded to N decimals at each step): an answer one of them gives is right."""
    solution = solution_of(work, form="matrix", drawing=False)  # a mark names a whole vector's element: the vector steps hold them
    reader = _Names(work, solution)
    exact = Values(work, reader.only)
    others = [(s.slip, Values(s.work, reader.only)) for s in slipped]
    chains = [(n, Values(w, reader.only)) for n, w in rounded]
    order, steps = _order(solution)
    given = [item for answer in answers for item in reader.items(answer)]
    marks = [_marked(quantity, answer, part, value, direct, exact, others, work, order, chains)
             for quantity, answer, part, value, direct in given]
    covered = {m.quantity for m in marks}
    for r, quantity, direct in reader.asked:
        if quantity in covered or quantity.whole in covered:
            continue
        if quantity.index is None and _all_elements(quantity, covered, r.shape):
            continue
        truth = r.value if direct is not None else exact.value(quantity)
        marks.append(Mark(quantity, None, None, r.part, None, truth, shape_of(truth), MISSING,
                          position=_position(quantity, order, work)))
        covered.add(quantity)
    marks.sort(key=lambda m: m.position)
    first = next((m for m in marks if m.status == WRONG), None)
    working = () if first is None else _working(first.quantity, steps, work)
    return Marking(tuple(marks), first, working, tuple(s.slip for s in slipped), solution, require_all)


def _working(q: Quantity, steps: dict, work: Work) -> tuple:
    """The solution's step that works q out; where the sheet's parts do not show it, the step of the
    whole solution (the problem solved without its ask: parts) that does."""
    found = steps.get(q) or steps.get(q.whole)
    if found or not work.g.problem.ask:
        return tuple(found or ())
    whole = Work(build(replace(work.g.problem, ask=())))
    steps = _order(solution_of(whole, form="matrix", drawing=False))[1]
    return tuple(steps.get(q) or steps.get(q.whole) or ())


def _all_elements(q: Quantity, covered: set, shape: tuple) -> bool:
    if not shape:
        return False
    rows, cols = (shape[0], shape[1]) if len(shape) == 2 else (shape[0], None)
    indices = [(i + 1, j + 1) for i in range(rows) for j in range(cols)] if cols else [(i + 1,) for i in range(rows)]
    return all(Quantity(q.kind, q.name, index) in covered for index in indices)


def _marked(q, answer, part, value, direct, exact, others, work, order, chains=()) -> Mark:
    truth = direct if direct is not None else exact.value(q)
    where = {"file": answer.file, "line": answer.line, "key": printable(shorten(answer.key, 80))}
    truths = _entries(truth)
    if any(getattr(t, "free_symbols", None) for t in truths):
        raise ProblemError("this value is a formula in this problem, not a number: check compares numbers",
                           **where)
    written = _written_entries(value, truths, truth, where)
    entries = tuple(agrees(w, t) for w, t in zip(written, truths))
    status = RIGHT if all(entries) else WRONG
    found, chain, chain_value = (), None, None
    if status == WRONG and direct is None:
        chain = next((n for n, values in chains if _slip_gives(values, q, written)), None)
        if chain is not None:
            status, entries = RIGHT, tuple(True for _ in entries)
            chain_value = dict(chains)[chain].value(q)
        else:
            found = tuple(slip for slip, values in others if _slip_gives(values, q, written))
    shape = shape_of(truth)
    return Mark(q, answer.key, answer.line, part, value, truth, shape, status, entries, found,
                _position(q, order, work), chain, chain_value)


def _slip_gives(values: Values, q: Quantity, written: list) -> bool:
    """Whether a slipped computation has the student's value for q, at the student's digits."""
    try:
        theirs = _entries(values.value(q))
    except (KeyError, IndexError, TypeError, AttributeError, TutorError, ZeroDivisionError):
        return False  # the slip leaves this quantity out, or cannot be made here
    if len(theirs) != len(written) or any(getattr(t, "free_symbols", None) for t in theirs):
        return False
    return all(agrees(w, t) for w, t in zip(written, theirs))


def _entries(value) -> list:
    """A value's entries, row by row."""
    if isinstance(value, sp.MatrixBase):
        return list(value)
    return [_exact(value)]


def _written_entries(value, truths: list, truth, where: dict) -> list:
    """The student's numbers, row by row, checked against the shape of the exact value."""
    if isinstance(value, dict):
        raise ProblemError("names and values belong under a part label (e: {W21: 0.576}), not here", **where)
    if isinstance(value, Written):
        flat = [value]
    elif value and isinstance(value[0], tuple):
        if not isinstance(truth, sp.MatrixBase) or truth.rows != len(value) or truth.cols != len(value[0]):
            raise ProblemError(f"a matrix of {len(value)}×{len(value[0])} is given; the value is "
                               f"{_described(truth)}", **where)
        flat = [w for row in value for w in row]
    else:
        if not isinstance(truth, sp.MatrixBase) or 1 not in truth.shape:
            raise ProblemError(f"a vector of {len(value)} entries is given; the value is {_described(truth)}",
                               **where)
        flat = list(value)
    if len(flat) != len(truths):
        raise ProblemError(f"{len(flat)} {'entry is' if len(flat) == 1 else 'entries are'} given; the value is "
                           f"{_described(truth)}", **where)
    return flat


def _exact(value):
    """An engine value as a SymPy number (a plain int or Fraction made exact; never text)."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, (int, Fraction)):
        return sp.Rational(value.numerator, value.denominator)
    raise TypeError(f"not an exact value: {type(value).__name__}")


def shape_of(value) -> tuple:
    """A value's shape as the solution writes it: () a number, (n,) a vector, (m, n) a matrix."""
    if not isinstance(value, sp.MatrixBase):
        return ()
    return (value.rows,) if value.cols == 1 else value.shape


def _described(truth) -> str:
    if not isinstance(truth, sp.MatrixBase):
        return "one number"
    if 1 in truth.shape:
        return f"a vector of {len(truth)} entries"
    return f"a {truth.rows}×{truth.cols} matrix"


def agrees(written: Written, exact) -> bool:
    """The rule of marking: a fraction must equal the exact value; a decimal must equal the exact value
    rounded to the significant digits written (at least two); on an exact tie either neighbour is
    right. An exact zero is right only as zero, and zero only for an exact zero."""
    exact = _exact(exact)
    if written.digits is None:
        return exact.is_Rational and Fraction(int(exact.p), int(exact.q)) == written.value
    if exact.is_zero:
        return written.value == 0
    if written.value == 0:
        return False
    return written.value in rounded(exact, max(MIN_DIGITS, written.digits))


def rounded(exact, digits: int) -> set:
    """The value (a SymPy number) rounded to `digits` significant digits, exactly: one Fraction, or
    both neighbours when it lies exactly halfway."""
    x = _as_fraction(exact, digits)
    sign, x = (-1 if x < 0 else 1), abs(x)
    e = _exponent(x)
    quantum = Fraction(10) ** (e - digits + 1)
    q = x / quantum
    low = math.floor(q)
    rest = q - low
    candidates = [low] if rest < Fraction(1, 2) else [low + 1] if rest > Fraction(1, 2) else [low, low + 1]
    return {sign * c * quantum for c in candidates}


def _as_fraction(exact, digits: int) -> Fraction:
    """A rational value as it is; an irrational one (σ, tanh, exp) evaluated far beyond the digits compared."""
    if exact.is_Rational:
        return Fraction(int(exact.p), int(exact.q))
    value = sp.N(exact, digits + GUARD_DIGITS)
    if not value.is_Float:
        raise ProblemError(f"{shorten(str(exact))} is not a real number")
    return Fraction(sp.Rational(value).p, sp.Rational(value).q)


def _exponent(x: Fraction) -> int:
    """e with 10^e ≤ x < 10^(e+1), for x > 0."""
    e = math.floor(math.log10(x.numerator) - math.log10(x.denominator))
    while Fraction(10) ** e > x:
        e -= 1
    while Fraction(10) ** (e + 1) <= x:
        e += 1
    return e


def _order(solution) -> tuple:
    """Each quantity's position in the solution's steps, and the first step that works it out."""
    order, steps = {}, {}
    position = 0
    for step in solution.steps():
        found = _shown(step)
        if found is None:
            continue
        position += 1
        order.setdefault(found, position)
        order.setdefault(found.whole, position)
        steps.setdefault(found, (step,))
        steps.setdefault(found.whole, (step,))
    return order, steps


def _shown(step) -> Quantity | None:
    """What a step of the solution works out, as a quantity; None for any other step."""
    if isinstance(step, Forward):
        return Quantity("value", step.name)
    if isinstance(step, LossValue):
        return Quantity("loss" if step.before is None else "loss_after")
    if isinstance(step, Delta) and step.of == "L":
        return Quantity("grad", step.name)
    if isinstance(step, Gradient) and step.of == "L":
        return Quantity("grad", step.name, step.index)
    if isinstance(step, ThroughTime) and step.of == "L":
        return Quantity("grad", step.name)
    if isinstance(step, Update):
        return Quantity("updated", step.name, step.index)
    return None


def _position(q: Quantity, order: dict, work) -> int:
    """Where a quantity stands in the solution; one it does not show comes after, in the usual order."""
    if q in order:
        return order[q]
    if q.whole in order:
        return order[q.whole]
    names = list(work.g.nodes)
    rank = names.index(q.name) if q.name in names else 0
    if q.kind == "grad":
        rank = len(names) - rank
    return 100_000 + 1_000 * _KIND_RANK.get(q.kind, 9) + rank


class _Names:
    """The names a student may write for a problem's quantities, and the asked values (solve's results)."""

    def __init__(self, work: Work, solution):
        self.work, self.g, self.solution = work, work.g, solution
        problem = self.g.problem
        notation = problem.notation
        self.losses = {"L"} | ({_plain(notation.loss)} if notation.loss else set())
        self.symbols = {_plain(math_text): name for name, math_text in notation.name_map().items()}
        self.has_rate = problem.learning_rate is not None and "L" in self.g.nodes
        self.only = self._only()
        self.asked = [(r, *self._result(r)) for r in solution.results]
        self.labels = list(dict.fromkeys(r.part for r in solution.results if r.part is not None))

    def _only(self) -> dict | None:
        """The weights the loss after the update moves: those its step names (see answer.py), else all."""
        for step in self.solution.steps():
            if isinstance(step, LossValue) and step.before is not None and step.updated:
                only: dict = {}
                for text in step.updated:
                    try:
                        name, index = self.g.resolve(text)
                    except TutorError:
                        return None
                    if index is None:
                        only[name] = None
                    elif only.get(name, []) is not None:
                        only.setdefault(name, []).append(index)
                return only
        return None

    def _result(self, r) -> tuple:
        """An asked value (solution.Result) as a quantity; the value itself where no quantity says it."""
        if r.kind == "values" and r.name in self.g.nodes:
            return Quantity("value", r.name), None
        if r.kind in ("loss", "loss_after"):
            return Quantity(r.kind), None
        if r.kind in ("gradients", "derivatives", "deltas", "updated") and r.of == "L":
            try:
                name, index = self.g.resolve(r.name)
            except TutorError:
                return Quantity("result", f"{r.part}:{r.name}"), r.value
            return Quantity("updated" if r.kind == "updated" else "grad", name, index), None
        return Quantity("result", f"{r.part}:{r.kind}:{r.name}"), r.value

    def items(self, answer: StudentAnswer) -> list:
        """(quantity, answer, part, value, direct value or None) for each value one answer gives."""
        where = {"file": answer.file, "line": answer.line, "key": printable(shorten(answer.key, 80))}
        label = self._label(answer.key)
        if label is None:
            q = self.quantity(answer.key, where)
            return [(q, answer, self._part_of(q), answer.value, None)]
        mine = [a for a in self.asked if a[0].part == label]
        if len(mine) == 1 and not isinstance(answer.value, dict):
            r, q, direct = mine[0]
            return [(q, answer, label, answer.value, direct)]
        if not isinstance(answer.value, dict):
            names = ", ".join(r.name or r.kind for r, _, _ in mine)
            raise ProblemError(f"part ({label}) asks for {len(mine)} values ({names}): give them by name, "
                               f"e.g. {label}: {{{mine[0][0].name}: ...}}", **where)
        out = []
        for name, value in answer.value.items():
            sub = {**where, "key": printable(shorten(f"{answer.key}.{name}", 80))}
            found = [a for a in mine if (a[0].name or a[0].kind) == name]  # as solve --json names them
            if not found:
                q = self.quantity(name, sub)
                found = [a for a in mine if a[1] in (q, q.whole)] or [(None, q, None)]
            r, q, direct = found[0]
            out.append((q, answer, label, value, direct))
        return out

    def _label(self, key: str) -> str | None:
        """The part label a key names: (c) always, c when no name is spelt so."""
        m = _PART.fullmatch(key.strip())
        if m and m.group("label").strip() in self.labels:
            return m.group("label").strip()
        if key.strip() in self.labels:
            try:
                self.quantity(key, {})
            except TutorError:
                return key.strip()
        return None

    def _part_of(self, q: Quantity) -> str | None:
        """The part that asks for a quantity (or for the whole it belongs to), if one does."""
        return next((r.part for r, asked, _ in self.asked if asked in (q, q.whole)), None)

    def quantity(self, key: str, where: dict) -> Quantity:
        """A name as a student writes it → the quantity it is, or a one-line error with a suggestion."""
        text = key.translate(_SUBSCRIPTS).replace(" ", "")
        updated = text.endswith("'")
        if updated:
            text = text[:-1]
        if text in self.losses:
            if updated:
                self._need_rate(where)
            return Quantity("loss_after" if updated else "loss")
        m = _GRADIENT.fullmatch(text)
        d = _DELTA.fullmatch(text) if m is None else None
        if (m and m.group("of") in self.losses) or d:
            name, index = self._resolve(m.group("wrt") if m else d.group("name"), key, where)
            if name not in self.work.deltas:
                raise ProblemError(f"∂L/∂{name} is not part of this problem's backward pass", **where)
            if updated:
                raise ProblemError("a gradient is not updated; write the parameter with ' (W21')", **where)
            return Quantity("grad", name, index)
        name, index = self._resolve(text, key, where)
        node = self.g.nodes[name]
        if updated:
            if node.role != "parameter":
                raise ProblemError(f"{name} is not a parameter that the update moves", **where)
            self._need_rate(where)
            return Quantity("updated", name, index)
        if node.role in ("parameter", "derived"):
            raise ProblemError(f"{name} is given; write {key}' for its value after the update or dL/d{key} for "
                               "its gradient", **where)
        return Quantity("value", name, index)

    def _need_rate(self, where: dict):
        if not self.has_rate:
            raise ProblemError("this problem has no learning_rate, so no update to check", **where)

    def _resolve(self, text: str, key: str, where: dict) -> tuple:
        """A name, an element, an alias or a display symbol of the notation: block → (node, index)."""
        for symbol, name in self.symbols.items():
            if text == symbol:
                text = name
                break
            if text.startswith(symbol):
                m = _ELEMENT.fullmatch(text[len(symbol):])
                if m:
                    text = f"{name}[{m.group('i')}{',' + m.group('j') if m.group('j') else ''}]"
                    break
        try:
            name, index = self.g.resolve(text, inputs=True)
        except TutorError as e:
            if "out of range" in e.message:
                raise ProblemError(e.message, **where) from None
            raise ProblemError("names nothing in this problem" + (did_you_mean(key, self.spellings())
                               or f" (names: {', '.join(self.spellings()[:12])}, ...)"), **where) from None
        role = self.g.nodes[name].role
        if role in ("input", "target"):
            raise ProblemError(f"{name} is given (an {role}), not computed: nothing to check", **where)
        return name, index

    def spellings(self) -> list:
        """The names a student may write, for a suggestion."""
        out = [n for n, node in self.g.nodes.items() if node.role in ("forward", "loss")]
        out += [f"dL/d{n}" for n in self.work.deltas if self.g.nodes[n].role not in ("loss",)]
        out += list(self.g.problem.aliases) + [f"dL/d{a}" for a in self.g.problem.aliases]
        if self.has_rate:
            out += [f"{n.name}'" for n in self.g.parameters if n.expr is None] + ["L'"]
        return out + self.labels


def _plain(math_text: str) -> str:
    """A display symbol as a student may type it: without spaces."""
    return str(math_text).replace(" ", "")
