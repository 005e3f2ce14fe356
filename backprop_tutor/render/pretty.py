"""SymPy's Unicode pretty printer, taught our names and our number format."""
from __future__ import annotations

import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict

from ..notation import display_name, number_text, rounded

_FUNCTION_NAMES = {"sigmoid": "σ", "sigmoid′": "σ′"}


class MathPrinter(PrettyPrinter):
    """Pretty-prints formulas with the file's names and numbers to the chosen digits."""

    def __init__(self, digits: int = 4, exact: bool = False):
        super().__init__({"use_unicode": True, "order": "none", "wrap_line": False})
        self.digits, self.exact = digits, exact

    def _number(self, x):
        return prettyForm(number_text(x, self.digits, self.exact))

    def _print_Rational(self, e):
        return self._number(e)

    def _print_Float(self, e):
        return self._number(e)

    def _print_Half(self, e):
        return self._number(e)

    def _print_Symbol(self, e, bold_name=False):
        return super()._print_Symbol(sp.Symbol(display_name(e.name)), bold_name)

    def _print_MatrixSymbol(self, e):
        return super()._print_Symbol(sp.Symbol(display_name(e.name)))

    def _named_call(self, name, args):
        inner = self._print_seq(args, delimiter=", ")
        inner = prettyForm(*inner.parens())
        return prettyForm(*inner.left(_FUNCTION_NAMES.get(name, name)))

    def _print_MatFunc(self, e):
        return self._named_call(e.name, e.args[1:])

    def _print_ScalarFunc(self, e):
        return self._named_call(e.name, e.args[1:])

    def _print_sigmoid(self, e):
        return self._named_call("sigmoid", e.args)

    def _print_OneMatrix(self, e):
        return prettyForm("𝟙")

    def form(self, expr) -> prettyForm:
        return self._print(expr)

    def is_rounded(self, value) -> bool:
        """True when the printed value is not the exact value."""
        if isinstance(value, sp.MatrixBase):
            return any(self.is_rounded(v) for v in value)
        value = sp.sympify(value)
        if value.free_symbols:
            return False
        if not value.is_number:
            return False
        if value.is_Rational or value.is_Float:
            return rounded(value, self.digits, self.exact)
        return not self.exact


def chain(printer: MathPrinter, lhs, parts: list, last_rounded: bool = False) -> str:
    """lhs = part₁ = part₂ …, one per line, aligned on '=', each line dropped if it repeats the one before."""
    lhs_form = lhs if isinstance(lhs, prettyForm) else prettyForm(lhs)
    pad = prettyForm(" " * lhs_form.width())
    lines, previous = [], None
    for i, part in enumerate(parts):
        if part is None:
            continue
        form = part if isinstance(part, prettyForm) else printer.form(part)
        text = form.render(wrap_line=False)
        if text == previous:
            continue
        previous = text
        sign = " ≈ " if (i == len(parts) - 1 and last_rounded) else " = "
        head = lhs_form if not lines else pad
        lines.append(prettyForm(*stringPict.next(head, prettyForm(sign), form)).render(wrap_line=False))
    return "\n".join(lines)
