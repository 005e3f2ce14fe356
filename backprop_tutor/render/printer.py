"""Base printer: one `_print_<StepClass>` method per step type, and a loud failure for any other."""
from __future__ import annotations

import sympy as sp


class Printer:
    """Dispatches each step of a Solution to the method named after the step's class."""

    format_name = "base"

    def __init__(self, digits: int = 4, exact: bool = False):
        self.digits = digits
        self.exact = exact

    def _closed(self, step) -> list:
        """With --exact, a value's closed form is shown before its decimal value."""
        return [step.closed] if self.exact and step.closed is not None else []

    def print_step(self, step):
        """Format one step."""
        method = getattr(self, f"_print_{type(step).__name__}", None)
        if method is None:
            raise NotImplementedError(f"the {self.format_name} printer has no rule for {type(step).__name__}")
        return method(step)


def negative_number(x) -> bool:
    """A number below zero (printed in parentheses after an operator)."""
    if isinstance(x, sp.UnevaluatedExpr):
        x = x.args[0]
    return isinstance(x, sp.Number) and x < 0


def spelled_out(e) -> bool:
    """A product of numbers only, as in a numbers-substituted row: printed factor by factor."""
    return not e.free_symbols and not any(isinstance(a, sp.Pow) and a.exp == -1 for a in e.args)


def negated(x):
    """x = −1·y (a subtraction written as an addition): y, else None."""
    if isinstance(x, (sp.Mul, sp.MatMul)) and len(x.args) == 2 and x.args[0] == -1:
        return x.args[1]
    return None


def positive_first(e):
    """A symbolic sum with its positive terms first (y − t, 1 − tanh²z), or None if already so."""
    terms = list(e.args)
    if not e.free_symbols or any(negated(t) for t in terms):
        return None
    ordered = [t for t in terms if not t.could_extract_minus_sign()]
    ordered += [t for t in terms if t.could_extract_minus_sign()]
    return None if ordered == terms else sp.Add(*ordered, evaluate=False)


class OurNumbers:
    """For SymPy printer subclasses: every number goes through the subclass's own _number."""

    def _print_Rational(self, e):
        return self._number(e)

    _print_Float = _print_Half = _print_Rational
