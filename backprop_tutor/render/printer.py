"""Base printer: one `_print_<StepClass>` method per step type, and a loud failure for any other."""
from __future__ import annotations

import re

import sympy as sp
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul

from ..algebra import Partial, Weight
from ..notation import number_text, shape_text, shows_rounded


class Printer:
    """Dispatches each step of a Solution to the method named after the step's class."""

    format_name = "base"

    def __init__(self, digits: int = 4, exact: bool = False):
        self.digits = digits
        self.exact = exact

    def _closed(self, step) -> list:
        """With --exact, a value's closed form is shown before its decimal value."""
        return [step.closed] if self.exact and step.closed is not None else []

    def rounding_note(self, solution) -> str:
        """The one sentence at the top that says how numbers are shown (never repeated per line); none
        where every value is left as a symbol."""
        decimals = getattr(solution, "rounding", None)
        if decimals is not None:
            return (f"Each step rounded half up to {decimals} decimals before it is used, as by hand "
                    f"(--round-each-step off: exact).")
        if all(getattr(v, "free_symbols", None) for v in getattr(solution, "values", {"": 0}).values()):
            return ""
        if not self.exact:
            return f"Values rounded to {self.digits} significant digits; exact values carried."
        irrational = any(shows_rounded(v, self.digits, True) for v in solution.values.values())
        return (f"Exact values; irrational ones rounded to {self.digits} significant digits."
                if irrational else "Exact values.")

    def drift(self, decimals: int) -> str:
        """Why a step-rounded answer differs from its exact value, said beside it."""
        return f"the difference comes from rounding each step to {decimals} decimals"

    def quantity(self, r, inline: bool = False) -> str:
        """What a result is, as its answer mark and the answers table name it: ∂L/∂W₂₁ (a fraction
        unless inline, where the format draws one), W₂₁ (updated), L, in the sheet's names."""
        if r.kind in ("gradients", "derivatives"):
            return self.partial_inline(r.name, r.of) if inline else self.partial(r.name, r.of)
        if r.kind == "deltas":
            return self.name("delta_" + r.name)
        if r.kind == "updated":
            return self.name(r.name) + self.words("(updated)")
        if r.kind == "loss_after":
            return self.name("L") + self.words("after the update")
        if r.kind == "decisions":
            return self.words("decisions", alone=True)
        return self.name(r.name or "L")

    def referred(self, s) -> str:
        """The name a Reference step stands for: δ₃, ∂L/∂W₂₁, or a value's own name."""
        if s.kind == "delta":
            return self.name(s.symbol or "delta_" + s.name)
        if s.kind == "gradient":
            return self.partial(s.label or s.name, s.of)
        return self.name(s.name)

    def words(self, words: str, alone: bool = False) -> str:
        """Words beside math in the format (after a space unless alone)."""
        return words if alone else " " + words

    def partial_inline(self, name: str, of: str = "L") -> str:
        """∂of/∂name on one line."""
        return self.partial(name, of)

    def print_step(self, step):
        """Format one step."""
        method = getattr(self, f"_print_{type(step).__name__}", None)
        if method is None:
            raise NotImplementedError(f"the {self.format_name} printer has no rule for {type(step).__name__}")
        return method(step)


class PagePrinter(Printer):
    """The steps a page writes alike in every page format (LaTeX, Markdown, HTML); each format gives its
    own pieces: m (math), name, partial, align, inline, cell and _table."""

    def _print_Forward(self, s):
        return self.align(self.name(s.name), [s.formula, s.numbers, *self._closed(s), s.value], s.value, rules=s.rules)

    def _print_Gradient(self, s):
        lhs = self.partial(s.label if s.index is not None else s.name, s.of)
        note = check_note(s.check, self.digits)
        return self.align(lhs, worked_lines(s), s.value, [note] if note else [])

    def _print_ThroughTime(self, s):
        lhs = self.partial(s.name, s.of)
        box, self.boxing = getattr(self, "boxing", None), None  # the answer's box goes on the total
        out = self.align(lhs, [s.general], None, [THROUGH_TIME])
        out += "".join(self.align(self.m(f), [n, v], v) for _, f, n, v in s.terms)
        self.boxing = box
        note = check_note(s.check, self.digits)
        return out + self.align(lhs, [s.total, s.value], s.value, [note] if note else [])

    def _print_ChainRule(self, s):
        notes = (SHARED_DELTAS,) if s.shared and s.noted else ()
        return self.align(self.m(s.lhs), [s.formula], None, notes)

    def _print_WholeDerivative(self, s):
        lhs = self.partial(s.wrt, s.of)
        if not s.shown:
            return self.align(lhs, [s.value], s.value, (left_out(s),))
        return self.align(lhs, [s.expression, s.numbers, s.value], s.value)

    def _print_Dimensions(self, s):
        rows = [[self.inline(self.name(n)), self.cell(role), self.cell(shape_text(shape))] for n, role, shape in s.rows]
        return self._table(["name", "kind", "shape"], rows)


def parts_in_order(solution) -> list:
    """The solution's sections grouped by part, in order, each group with the results it ends in:
    [(sections, results)]; a solution without parts is one group that ends in all of its results."""
    if not any(section.part for section in solution.sections):  # no parts: each section ends in its own
        return [([section], [r for r in solution.results if r.section == i])
                for i, section in enumerate(solution.sections)]
    groups: list = []
    for section in solution.sections:
        if groups and groups[-1][-1].part == section.part:
            groups[-1].append(section)
        else:
            groups.append([section])
    last = {g[0].part: i for i, g in enumerate(groups)}  # a part's answer closes its last group
    return [(g, [r for r in solution.results if r.part == g[0].part] if last[g[0].part] == i else [])
            for i, g in enumerate(groups)]


def closes(step, result) -> bool:
    """Whether a step ends in exactly the value a result asks for, as the same quantity (so that the
    step's last line can carry the answer's mark)."""
    kind = type(step).__name__
    name = getattr(step, "label", None) or getattr(step, "name", None)
    of = getattr(step, "of", None)  # every entry below is evaluated, whatever the kind of step
    gradient = result.kind in ("gradients", "derivatives") and name == result.name and of == result.of
    same = {"Gradient": gradient, "ThroughTime": gradient,
            "WholeDerivative": result.kind == "derivatives" and getattr(step, "wrt", None) == result.name
            and of == result.of,
            "Update": result.kind == "updated" and name == result.name,
            "LossValue": result.kind == ("loss" if getattr(step, "before", None) is None else "loss_after"),
            "Forward": result.kind == "values" and name == result.name,
            "Delta": result.kind == "deltas" and name == result.name and of == result.of}.get(kind, False)
    if not same:
        return False
    value = step.new if kind == "Update" else step.value
    try:
        return bool(value == result.value)
    except TypeError:
        return False


def answer_steps(steps: list, results: list) -> dict:
    """Where each answer is marked: id of the step that ends in it (the last such step of the part) →
    the result; an answer no step ends in is left out (it is marked on a line of its own)."""
    boxes: dict = {}
    for r in results:
        step = next((s for s in reversed(steps) if id(s) not in boxes and closes(s, r)), None)
        if step is not None:
            boxes[id(step)] = r
    return boxes


NOT_CHECKED = "not checked (symbolic)"
SHARED_DELTAS = "with the deltas defined once each in the backward recursion"
THROUGH_TIME = "every time step uses the weight: one term per step"
FROZEN = "frozen: kept at its value"


def worked_lines(step) -> list:
    """A δ's or gradient's lines: the Leibniz chain (unless it only repeats the left-hand side, a single
    ∂L/∂y), the formula, the numbers, the value."""
    leibniz = None if isinstance(step.leibniz, Partial) else step.leibniz
    return [leibniz, step.formula, step.numbers, step.value]


def left_out(whole) -> str:
    """Why a whole derivative's expanded form is not shown: its size."""
    more = whole.expression is None
    return f"the expanded form has {'more than ' * more}{whole.size - more} operations and is left out"


def verdict(table) -> str:
    """What a truth table says of the gate: every row matches, or some do not ('' without a gate)."""
    if table.all_match is None:
        return ""
    return "Every row matches the gate." if table.all_match else "Some rows do not match the gate."


def check_note(check, digits: int) -> str | None:
    """The finite-difference check of a gradient as one line of plain text, or None without one."""
    if check is None:
        return None
    if check.estimate is None:
        return f"central finite difference: {NOT_CHECKED}"
    if check.exact is not None:  # each step rounded: the estimate checks the exact chain
        return (f"central finite difference of the exact loss (h = {number_text(check.step, 1)}): "
                f"{plain_value(check.estimate, digits)}, difference from the exact gradient "
                f"{plain_value(check.exact, digits)}: {plain_value(check.difference, 3)}")
    return (f"central finite difference (h = {number_text(check.step, 1)}): "
            f"{plain_value(check.estimate, digits)}, difference {plain_value(check.difference, 3)}")


def plain_value(value, digits: int) -> str:
    """A number, or a matrix as [a, b; c, d], in plain text."""
    if isinstance(value, sp.MatrixBase):
        return "[" + "; ".join(", ".join(number_text(v, digits) for v in value.row(i)) for i in range(value.rows)) + "]"
    return number_text(value, digits)


PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def decimal_padding(column: list) -> list:
    """For a column of plain decimals (as text, '-' for minus), the invisible text before and after each
    that lines them up on the decimal point in a centred column: [(before, after)]."""
    parts = [(c.startswith("-"), *c.lstrip("-").partition(".")[::2]) for c in column]
    sign = any(p[0] for p in parts)
    whole = max(len(p[1]) for p in parts)
    fraction = max(len(p[2]) for p in parts)
    return [(("" if negative or not sign else "-") + "0" * (whole - len(head)),
             ("." if fraction and not tail else "") + "0" * (fraction - len(tail)))
            for negative, head, tail in parts]


def unit_name(off) -> str:
    """The name of a unit that is off, as the file writes one element: Z_in[1], or z3 for a scalar."""
    return off.node if off.index is None else f"{off.node}[{','.join(map(str, off.index))}]"


def matrix_kind(value) -> str:
    """How an answer writes a value: scalar, column (a, b)ᵀ, row (a, b), or matrix."""
    if not isinstance(value, sp.MatrixBase):
        return "scalar"
    if value.rows == 1 and value.cols == 1:
        return "one"
    if value.cols == 1:
        return "column"
    return "row" if value.rows == 1 else "matrix"


def dot_operands(e) -> tuple:
    """A dot product w·x as a sheet writes it, wᵀx: (left, right, whether left takes a ᵀ). A vector
    of numbers is written as the row it becomes, (0.1, 0.2)(1, 2)ᵀ, never (0.1, 0.2)ᵀᵀ."""
    left, right = e.operands
    if isinstance(left, sp.MatrixBase):
        return left.T, right, False
    return left, right, True


def plain_given(step) -> bool:
    """A value the file states as a number (no derived parameter's formula): shown a few to a line."""
    return type(step).__name__ == "Given" and step.formula is None and step.role in ("input", "target", "parameter")


def negative_number(x) -> bool:
    """A number below zero (printed in parentheses after an operator)."""
    if isinstance(x, sp.UnevaluatedExpr):
        x = x.args[0]
    if isinstance(x, sp.MatrixBase) and x.shape == (1, 1):  # printed as its one number
        x = x[0, 0]
    return isinstance(x, sp.Number) and x < 0


def mixed(x, kind) -> bool:
    """Whether x is a product of the other kind (a matrix product inside ⊙, or ⊙ inside a matrix product)
    of two or more matrices: without brackets the reader could not tell which binds first."""
    return isinstance(x, kind) and sum(1 for a in x.args if getattr(a, "is_Matrix", False)) >= 2


def spelled_out(e) -> bool:
    """A product of numbers only, as in a numbers-substituted row: printed factor by factor."""
    return not e.free_symbols and not any(isinstance(a, sp.Pow) and a.exp == -1 for a in e.args)


def negated(x):
    """x = −1·y (a subtraction written as an addition): y, else None; y is the product of every
    other factor when there are several (−1·(−1/4)·2 is −((−1/4)·2))."""
    if isinstance(x, (sp.Mul, sp.MatMul)) and len(x.args) >= 2 and x.args[0] == -1:
        rest = x.args[1:]
        return rest[0] if len(rest) == 1 else type(x)(*rest, evaluate=False)
    return None


def leads_negative(t) -> bool:
    """A product of numbers led by a negative one, (−2)·(−0.25): SymPy would pull its sign out and
    print the rest evaluated (0.5 − −0.5); it is kept as a term of its own."""
    return isinstance(t, sp.Mul) and not t.free_symbols and negative_number(t.args[0])


def positive_first(e):
    """A symbolic sum with its positive terms first (y − t, 1 − tanh²z), or None if already so."""
    terms = list(e.args)
    if not e.free_symbols or any(negated(t) for t in terms):
        return None
    ordered = [t for t in terms if not t.could_extract_minus_sign()]
    ordered += [t for t in terms if t.could_extract_minus_sign()]
    return None if ordered == terms else sp.Add(*ordered, evaluate=False)


# ∂L/∂W21 in a section's title: each printer writes both names in the sheet's notation
PARTIAL_IN_TITLE = re.compile(r"∂([A-Za-z][A-Za-z0-9_]*(?:\^\(\d+\))?)/∂([A-Za-z][A-Za-z0-9_]*(?:\^\(\d+\))?"
                              r"(?:\[\d+(?:,\d+)?\])?)")

EXACT_DIGITS = 12  # an exact decimal in a formula is written in full up to this many digits, else p/q


def is_value(x) -> bool:
    """A number, or a matrix of numbers: a value line, shown to the chosen digits."""
    if isinstance(x, sp.MatrixBase):
        return all(isinstance(v, sp.Number) for v in x)
    return isinstance(x, sp.Number)


def rounded_inside(x) -> bool:
    """Whether a formula, printed as a formula, shows a number only approximately: a decimal
    number carried at high precision (an exact rational in a formula is shown exactly)."""
    items = list(x) if isinstance(x, sp.MatrixBase) else [x]
    return any(isinstance(a, sp.Float) for v in items if isinstance(v, sp.Basic) for a in v.atoms(sp.Number))


class OurNumbers:
    """For SymPy printer subclasses: every number goes through the subclass's own _number; inside
    a formula (anything but a bare value), an exact rational is written exactly: 1/3, not 0.3333."""

    in_formula = False

    def _print_Rational(self, e):
        if self.in_formula and not e.is_Integer and shows_rounded(e, self.digits, self.exact):
            return self._exactly(e)
        return self._number(e)

    def _print_Float(self, e):
        return self._number(e)

    _print_Half = _print_Rational

    def is_rounded(self, value) -> bool:
        """True when the printed value is not the exact value."""
        return shows_rounded(value, self.digits, self.exact)

    def line_rounded(self, part) -> bool:
        """True when a line of a worked step, printed, shows some number only approximately."""
        if isinstance(part, sp.Basic) and is_value(part):
            return self.is_rounded(part)
        return rounded_inside(part)

    def _print(self, expr, **kwargs):
        if self._print_level == 0:  # the whole expression: a value, or a formula
            self.in_formula = not is_value(expr)
        return super()._print(expr, **kwargs)


class SignedTerms:
    """For the LaTeX and MathML printers: a sum as a sheet writes it, a positive term first where one
    leads negative, a negated term after −, a negative number in parentheses after + (the subclass
    writes the terms with its own _join_terms)."""

    def _print_Add(self, e, order=None):
        ordered = positive_first(e)
        if ordered is not None:
            return super()._print_Add(ordered, order)
        terms = list(e.args)
        if not any(negated(t) or (i and (negative_number(t) or leads_negative(t))) for i, t in enumerate(terms)):
            return super()._print_Add(e, order)
        return self._join_terms(terms)

    def _print_MatAdd(self, e):
        return self._join_terms(list(e.args))


def entry_by_entry(expr):
    """A displayed sum or scalar multiple of explicit matrices (W − 0.1·G) as one matrix whose entries are
    the same arithmetic done entry by entry (w₁₁ − 0.1·g₁₁), unevaluated; None for anything else."""
    def entry(e, i, j):
        if isinstance(e, sp.MatrixBase):
            v = e[i, j]
            return Weight(v) if isinstance(v, sp.Number) and v < 0 else v
        if isinstance(e, MatAdd):
            return sp.Add(*[entry(a, i, j) for a in e.args], evaluate=False)
        if isinstance(e, sp.Transpose):
            return entry(e.arg, j, i)
        if isinstance(e, HadamardProduct):
            return sp.Mul(*[entry(a, i, j) for a in e.args], evaluate=False)
        if isinstance(e, MatMul):
            scalars = [a for a in e.args if not getattr(a, "is_Matrix", False)]
            matrices = [a for a in e.args if getattr(a, "is_Matrix", False)]
            if len(matrices) == 1:
                return sp.Mul(*scalars, entry(matrices[0], i, j), evaluate=False)
            if len(matrices) == 2:  # a row times a column: the sum a neuron writes out
                a, b = matrices
                terms = [sp.Mul(entry(a, i, k), entry(b, k, j), evaluate=False) for k in range(a.shape[1])]
                total = terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)
                return sp.Mul(*scalars, total, evaluate=False) if scalars else total
        raise ValueError("not entrywise")

    if not isinstance(expr, (MatAdd, MatMul, HadamardProduct)):
        return None
    try:
        rows, cols = expr.shape
        with sp.evaluate(False):
            return sp.ImmutableMatrix(rows, cols, [entry(expr, i, j) for i in range(rows) for j in range(cols)])
    except (ValueError, TypeError, AttributeError):
        return None
