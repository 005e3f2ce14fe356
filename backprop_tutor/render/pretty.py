"""SymPy's Unicode pretty printer, taught our names and our number format."""
from __future__ import annotations

from typing import NamedTuple

import sympy as sp
from rich.cells import cell_len
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import center, center_pad, pretty_use_unicode
from sympy.printing.pretty.stringpict import prettyForm, stringPict

from ..notation import PART as _ELEMENT, LAYERED, display_name, index_text, is_exact_decimal, number_text, rounded
from ..ops import LOSS_TEX, Named
from ..prose import math_unicode
from .wrap import wrap_picture
from .printer import EXACT_DIGITS, OurNumbers, dot_operands, negated as _negated, negative_number as _negative_number, positive_first, spelled_out

# Losses named as sheets name them, from the same math the LaTeX printer sets (half_sse → ½ SSE).
_FUNCTION_NAMES = {"sigmoid": "σ", "sigmoid′": "σ′", **{k: math_unicode(v) for k, v in LOSS_TEX.items()}}


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUBSCRIPTS = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")
_SUBSCRIPT_DIGITS = set("₀₁₂₃₄₅₆₇₈₉ₐₑₒₓₔₕₖₗₘₙₚₛₜᵢᵣᵤᵥⱼ")  # a name already subscripted: W₂ → W₂,₁
_SUPERSCRIPTS = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")
_SUM_BELOW = str.maketrans("0123456789t=", "₀₁₂₃₄₅₆₇₈₉ₜ₌")


class MathPrinter(OurNumbers, PrettyPrinter):
    """Pretty-prints formulas with the file's names and numbers to the chosen digits."""

    def __init__(self, digits: int = 4, exact: bool = False, names: dict | None = None,
                 summary: Summary | None = None):
        super().__init__({"use_unicode": True, "order": "none", "wrap_line": False})
        self.digits, self.exact = digits, exact
        self.summary = summary  # None: every entry of every matrix
        self.symbol_texts: dict = {}
        self.drawn: dict = {}  # id(expression) → (expression, picture, baseline, binding): each drawn once
        names = names or {}
        # the sheet's notation (checked math), read as Unicode: Z_{\mathrm{in}} → Zᵢₙ, \sigma → σ
        self.sheet_names = {k: math_unicode(v) for k, v in names.get("sheet", {}).items()}
        self.aliases = names.get("aliases", {})
        self.function_names = _FUNCTION_NAMES | {k: math_unicode(v) for k, v in names.get("functions", {}).items()}

    def _number(self, x):
        return prettyForm(number_text(x, self.digits, self.exact))

    def _exactly(self, x):
        if is_exact_decimal(x) and not rounded(x, EXACT_DIGITS):
            return prettyForm(number_text(x, EXACT_DIGITS))
        return PrettyPrinter._print_Rational(self, x)

    def _print_Symbol(self, e, bold_name=False):
        key = (e.name, bold_name)
        text = self.symbol_texts.get(key)
        if text is None:  # (a name is written the same way wherever it stands: worked out once)
            text = self.symbol_texts[key] = self.symbol_text(e.name, bold_name)
        return prettyForm(text)

    def symbol_text(self, symbol: str, bold_name: bool = False) -> str:
        """A symbol's name as the sheet writes it, on one line."""
        if symbol in self.sheet_names:
            return self.sheet_names[symbol]
        name = display_name(symbol)
        m = _ELEMENT.match(name)
        named = next((a for a, target in self.aliases.items() if target == symbol and a in self.sheet_names), None)
        if m and named is not None:  # one weight the sheet names (W21 → W2[2,1]) and writes its own way
            return self.sheet_names[named]
        if m:  # an element as the sheet writes it: h₂ for h[2], h₁,₂ for h1[2], W⁽²⁾₂₁ for W2[2,1]
            return self._element(m.group(1), m.group(2))
        if name.startswith("delta_") and name[len("delta_"):].isdigit():  # a neuron's δ: δ₅
            return "δ" + name[len("delta_"):].translate(_SUBSCRIPTS)
        if name.startswith("delta_"):
            return "δ_" + self.symbol_text(symbol[len("delta_"):])
        return super()._print_Symbol(sp.Symbol(name), bold_name).render(wrap_line=False)

    def _element(self, base: str, index: str) -> str:
        if base.startswith("delta_"):
            return "δ_" + self._element(base[len("delta_"):], index)
        index = index_text(index).translate(_SUBSCRIPTS)
        layered = LAYERED.match(base)
        if layered and base not in self.sheet_names and base not in self.aliases:
            return layered.group(1) + f"({layered.group(2)})".translate(_SUPERSCRIPTS) + index
        shown = self.symbol_text(base)
        return shown + ("," if shown[-1:] in _SUBSCRIPT_DIGITS else "") + index

    def _print_MatrixBase(self, e):
        """A 1×1 value as its number, a short vector inline as (a, b)ᵀ, else the entries aligned on the
        decimal point; a matrix with an entry of several lines as SymPy draws it. With a summary, a large
        matrix by its first and last rows and columns."""
        if e.shape == (1, 1):
            return self._print(e[0, 0])
        rows, printed = self.rows_shown(e.rows), {}
        return self.fitted(e.cols, lambda columns: self._drawn(e, rows, columns, printed), prettyForm.width)

    def _drawn(self, e, rows: list, columns: list, printed: dict) -> prettyForm:
        """The matrix's rows and columns given (None: the ones left out, drawn ⋮, ⋯ and ⋱), each
        entry printed once into `printed`."""
        def entry(i, j):
            if i is None or j is None:
                return prettyForm(ELLIPSES[i is None, j is None])
            if (i, j) not in printed:
                printed[i, j] = self._print(e[i, j])
            return printed[i, j]
        cells = [[entry(i, j) for j in columns] for i in rows]
        if any(c.height() > 1 for row in cells for c in row):
            return bracketed(grid(cells))
        texts = [[c.render(wrap_line=False) for c in row] for row in cells]
        if 1 in e.shape and max(e.shape) <= INLINE_ENTRIES:
            entries = [t for row in texts for t in row]
            inline = "(" + ", ".join(entries) + ")" + ("ᵀ" if e.cols == 1 else "")
            if len(inline) <= INLINE_WIDTH:
                return prettyForm(inline)
        return prettyForm(*_aligned_matrix(texts))

    def rows_shown(self, count: int) -> list:
        """The rows of a matrix of `count` rows that are shown: all, or (a summary) the first and last
        few, None in place of those left out."""
        s = self.summary
        if s is None or count <= max(s.rows, 2 * s.edge + 1):
            return list(range(count))
        return _ends(count, s.edge)

    def fitted(self, count: int, draw, width):
        """draw(columns) of all `count` columns; where a summary finds that wider than its width, of the
        first and last few only (None in place of the rest): `edge` of each, or fewer if still too wide.
        Each picture is measured by width(picture)."""
        s = self.summary
        if s is None or count <= 2 * s.edge + 1:
            return draw(list(range(count)))
        if 3 * count <= s.width:  # narrow entries could fit: see
            whole = draw(list(range(count)))
            if width(whole) <= s.width:
                return whole
        for edge in range(s.edge, 0, -1):
            cut = draw(_ends(count, edge))
            if width(cut) <= s.width:
                break
        return cut

    def inline(self, value) -> str:
        """A value on one line; a matrix as [a  b; c  d], cut short as its grid would be (⋯, ⋮)."""
        if not isinstance(value, sp.MatrixBase):
            return self.form(value).render(wrap_line=False)
        printed: dict = {}

        def entry(i, j):
            if (i, j) not in printed:
                printed[i, j] = self.form(value[i, j]).render(wrap_line=False)
            return printed[i, j]

        def draw(columns):
            return ["⋮" if i is None else "  ".join("⋯" if j is None else entry(i, j) for j in columns)
                    for i in self.rows_shown(value.rows)]
        return "[" + "; ".join(self.fitted(value.cols, draw, lambda rows: max(map(cell_len, rows)))) + "]"

    def listed(self, value) -> str | None:
        """A vector's entries in parentheses, (a, b, c), where a summary finds that too wide only the
        first and last few, (a, b, c, …, x, y, z); None if an entry takes several lines."""
        printed: dict = {}

        def draw(columns):
            texts = []
            for k in columns:
                if k is not None and k not in printed:
                    printed[k] = self.form(value[k])
                if k is not None and printed[k].height() > 1:
                    return None
                texts.append("…" if k is None else printed[k].render(wrap_line=False))
            return "(" + ", ".join(texts) + ")"
        return self.fitted(len(value), draw, lambda text: 0 if text is None else cell_len(text) + 1)

    def _print_MatrixSymbol(self, e):
        return self._print_Symbol(sp.Symbol(e.name))

    def _print_Sum(self, e):
        """A sum over the time steps on one line, as a sheet writes it: Σₜ₌₁³ δ_zₜ⋅hₜ₋₁ᵀ."""
        (var, low, high), = e.limits
        head = "Σ" + f"{var}={low}".translate(_SUM_BELOW) + str(high).translate(_SUPERSCRIPTS)
        return prettyForm(*self._print(e.function).left(head + " "))

    # Unevaluated sums and products of numbers, as a student writes them: 0.4 − (−0.2), 1.2⋅(−0.2)
    def _print_Add(self, e, order=None):
        terms = list(e.args)
        ordered = positive_first(e)
        if ordered is not None:
            return super()._print_Add(ordered, order)
        if not any(_negated(t) or (i and _negative_number(t)) for i, t in enumerate(terms)):
            return super()._print_Add(e, order)
        return self._join_terms(terms)

    def _print_MatAdd(self, e):
        return self._join_terms(list(e.args))

    def _join_terms(self, terms):
        pieces: list = []  # set side by side at once: joining them pair by pair redraws the whole line each time
        for i, t in enumerate(terms):
            if _negated(t):
                form, sign = self._factor(_negated(t)), " - "
            elif i and _negative_number(t):
                form, sign = self._parens(self._print(t)), " + "
            else:
                form, sign = self._print(t), " + "
            if not pieces:
                pieces.append(form if sign == " + " else prettyForm(*form.left("-")))
            else:
                pieces += [sign, form]
        return _bound(_beside(pieces), prettyForm.ADD) if len(terms) > 1 else pieces[0]

    def _print_Mul(self, e):
        args = list(e.args)
        custom = any(_negative_number(a) or isinstance(a, sp.Add) for a in args[1:]) or (
            spelled_out(e) and not self.exact)
        if any(isinstance(a, sp.Pow) and a.exp == -1 for a in args) or not custom:
            if len(args) == 2 and args[0] == -1:
                return prettyForm(*self._factor(args[1]).left("-"), binding=prettyForm.MUL)
            return self.sympy_product(e)
        if args[0] == -1:
            rest = args[1] if len(args) == 2 else sp.Mul(*args[1:], evaluate=False)
            return prettyForm(*self._factor(rest).left("-"), binding=prettyForm.MUL)
        forms = [self._factor(a) for a in args]
        return _bound(_beside(_between(forms, "⋅")), prettyForm.MUL)

    def sympy_product(self, product):
        """SymPy's own pretty product (PrettyPrinter._print_Mul of SymPy 1.14) less its search for physical
        units, whose import (sympy.physics.units) costs more than printing a whole sheet: no formula of
        ours holds a unit, and without one that search leaves the factors in their order."""
        args = product.args
        if args[0] is sp.S.One or any(isinstance(a, sp.Number) for a in args[1:]):  # kept as written
            forms = [self._print(a) for a in args]
            minus = forms[0] == "-1"
            if minus:
                forms[0] = prettyForm("1", 0, 0)
            out = prettyForm.__mul__(*forms)
            return prettyForm("-" + out.s, out.baseline, out.binding) if minus else out
        above, below = [], []
        for a in (product.as_ordered_factors() if self.order not in ("old", "none") else product.args):
            if a.is_commutative and a.is_Pow and a.exp.is_Rational and a.exp.is_negative:
                below.append(sp.Pow(a.base, -a.exp, evaluate=False) if a.exp != -1 else sp.Pow(a.base, -a.exp))
            elif a.is_Rational and a is not sp.S.Infinity:
                above += [sp.Rational(a.p)] if a.p != 1 else []
                below += [sp.Rational(a.q)] if a.q != 1 else []
            else:
                above.append(a)
        above = [self._print(a) for a in above] or ([self._print(sp.S.One)] if below else [])
        if not below:
            return prettyForm.__mul__(*above)
        return prettyForm.__mul__(*above) / prettyForm.__mul__(*[self._print(b) for b in below])

    def _print_MatMul(self, e):
        return self._products(e, "⋅", super()._print_MatMul)

    def _print_HadamardProduct(self, e):
        return self._products(e, "∘", super()._print_HadamardProduct)

    def _products(self, e, sign, default):
        """A product with a negative number among its factors (a 1×1 value, say): that factor in parentheses."""
        if not any(_negative_number(a) for a in e.args):
            return default(e)
        return _bound(_beside(_between([self._factor(a) for a in e.args], sign)), prettyForm.MUL)

    def _print_Pow(self, e):
        if isinstance(e.base, sp.Function) and e.exp.is_Integer and 1 < e.exp < 10:  # tanh²(z), as sheets write it
            name = self.function_name(type(e.base).__name__) + str(e.exp).translate(_SUPERSCRIPTS)
            inner = prettyForm(*self._print_seq(e.base.args, delimiter=", ").parens())
            return prettyForm(*inner.left(name), binding=prettyForm.FUNC)
        if (_negative_number(e.base) or isinstance(e.base, sp.Add)) and e.exp.is_Integer and e.exp > 0:
            base = self._parens(self._print(e.base))
            return base ** self._print(e.exp)
        return super()._print_Pow(e)

    def _factor(self, x):
        form = self._print(x)
        if _negative_number(x) or isinstance(x, (sp.Add, sp.MatAdd)):
            return self._parens(form)
        return form

    @staticmethod
    def _parens(form):
        return prettyForm(*form.parens())

    def _named_call(self, name, args):
        inner = self._print_seq(args, delimiter=", ")
        inner = prettyForm(*inner.parens())
        return prettyForm(*inner.left(self.function_name(name)))

    def function_name(self, name: str) -> str:
        """A function as the sheet writes it (relu → ReL, sigmoid′ → σ′), else by its own name."""
        if name in self.function_names:
            return self.function_names[name]
        if name.endswith("′") and name[:-1] in self.function_names:
            return self.function_names[name[:-1]] + "′"
        return name

    def _print_Function(self, e, *args, **kwargs):
        name = type(e).__name__
        if isinstance(e, Named):
            return self._named_call(e.display_name(), e.args)
        if name in self.function_names or (name.endswith("′") and name[:-1] in self.function_names):
            return self._named_call(name, e.args)
        return super()._print_Function(e, *args, **kwargs)

    def _print_MatFunc(self, e):
        return self._named_call(e.name, e.operands)

    def _print_Keyword(self, e):
        return prettyForm(f"{e.name}={e.value}")

    def _print_ScalarFunc(self, e):
        if e.name == "dot":  # w·x of two vectors, as wᵀx
            left, right, transposed = dot_operands(e)
            return self._print(sp.MatMul(sp.Transpose(left) if transposed else left, right, evaluate=False))
        return self._named_call(e.name, e.operands)

    def _print_sigmoid(self, e):
        return self._named_call("sigmoid", e.args)

    def _print_Partial(self, e):
        num = prettyForm("∂" + self._print(e.of).render(wrap_line=False))
        den = prettyForm("∂" + self._print(e.wrt).render(wrap_line=False))
        return num / den

    def _print_OneMatrix(self, e):
        return prettyForm("𝟙")

    def form(self, expr) -> prettyForm:
        """The picture of an expression; one shown again (a value in its step and in the answers) is
        drawn once, and each caller gets a form of its own, since SymPy moves a form's baseline in place."""
        if id(expr) in self.drawn:
            _, picture, baseline, binding = self.drawn[id(expr)]
            return prettyForm("\n".join(picture), baseline, binding)
        # SymPy draws some symbols (∘, ⊗) from a switch it sets by the console's encoding; the forms here are
        # Unicode whatever that is (cli.py has the output take them)
        was = pretty_use_unicode(True)
        try:
            form = self._print(expr)
        finally:
            pretty_use_unicode(was)
        # kept with the expression, so that its id stays its own
        self.drawn[id(expr)] = (expr, tuple(form.picture), form.baseline, form.binding)
        return form


INLINE_ENTRIES = 4   # a vector of at most this many entries is written on the line: (a, b)ᵀ
INLINE_WIDTH = 40    # … when it is no wider than this
EDGE_ITEMS = 3       # a summarised matrix keeps this many rows (columns) at each end, as numpy prints one
MOST_ROWS = 16       # a summary shows a matrix of more rows than this by its first and last rows
ELLIPSES = {(True, False): "⋮", (False, True): "⋯", (True, True): "⋱"}  # (row left out, column left out)


class Summary(NamedTuple):
    """How the terminal shows a large matrix, as numpy prints a large array: of more than `rows` rows
    only the first and last `edge`, ⋮ between; of a grid wider than `width` columns only the first and
    last `edge` columns, ⋯ between, ⋱ where the two meet."""
    width: int
    rows: int = MOST_ROWS
    edge: int = EDGE_ITEMS


def _ends(count: int, edge: int) -> list:
    """0 … count−1 with only the first and last `edge` kept, None in place of the rest."""
    return [*range(edge), None, *range(count - edge, count)]


def decimal_columns(cells: list) -> list:
    """Rows of entries (text), each column padded so that its numbers line up on the decimal point."""
    def split(t):
        head, dot, tail = t.partition(".")
        return (head, dot + tail) if dot and tail.isdigit() else (t, "")
    parts = [[split(t) for t in row] for row in cells]
    out = [[""] * len(row) for row in cells]
    for j in range(len(cells[0])):
        left = max(len(row[j][0]) for row in parts)
        right = max(len(row[j][1]) for row in parts)
        for i, row in enumerate(parts):
            out[i][j] = row[j][0].rjust(left) + row[j][1].ljust(right)
    return out


def grid(cells: list) -> prettyForm:
    """Rows of pictures as SymPy's pretty printer lays out a matrix's entries, each row built once:
    every column as wide as its widest entry, each entry centred in it (the odd space on its right),
    two spaces between columns, an empty line between rows, a row's entries on one baseline."""
    if not cells or not cells[0]:
        return prettyForm("")
    widths = [max(c.width() for c in column) for column in zip(*cells)]
    pads = [[center_pad(c.width(), w) for c, w in zip(row, widths)] for row in cells]
    lines, baseline = [], None
    for row, padding in zip(cells, pads):
        above = max(0, *(c.baseline for c in row))          # the padding beside each entry counts as a
        below = max(1, *(c.height() - c.baseline for c in row))  # picture of one line, baseline 0
        if baseline is None:
            baseline = above
        else:
            lines.append("")
        for k in range(above + below):
            pieces = []
            for c, (left, right) in zip(row, padding):
                at = k - above + c.baseline
                line = c.picture[at] if 0 <= at < c.height() else " " * c.width()
                pieces.append(left + line + right)
            lines.append("  ".join(pieces))
    if len(cells) > 1:  # stacked rows are centred on the widest, the empty line a full row of spaces
        width = max(1, sum(widths) + 2 * (len(widths) - 1))
        lines = [center(line, width) for line in lines]
    return prettyForm("\n".join(lines), baseline)


def bracketed(contents: prettyForm) -> prettyForm:
    """A grid in square brackets, its baseline at the middle row, as SymPy draws a matrix."""
    contents.baseline = contents.height() // 2
    return prettyForm(*contents.parens("[", "]"))


def _aligned_matrix(cells: list) -> tuple:
    """(picture, baseline) of a matrix in brackets, one line a row, entries aligned on the point."""
    rows = ["  ".join(row) for row in decimal_columns(cells)]
    if len(rows) == 1:
        return f"[{rows[0]}]", 0
    edges = [("⎡", "⎤")] + [("⎢", "⎥")] * (len(rows) - 2) + [("⎣", "⎦")]
    lines = [f"{a}{r}{b}" for (a, b), r in zip(edges, rows)]
    return "\n".join(lines), (len(rows) - 1) // 2


def _between(forms: list, sign: str) -> list:
    """The forms with sign between each two."""
    out = forms[:1]
    for form in forms[1:]:
        out += [sign, form]
    return out


def _beside(pieces: list) -> prettyForm:
    """Forms and strings set side by side on one baseline, in one pass (the first alone as it is)."""
    return pieces[0] if len(pieces) == 1 else prettyForm(*stringPict.next(*pieces))


def _bound(form, binding) -> prettyForm:
    """The same picture, marked as a sum or product so that powers and products parenthesize it."""
    return prettyForm("\n".join(form.picture), form.baseline, binding=binding)


def chain(printer: MathPrinter, lhs, parts: list, last_rounded: bool = False, width: int | None = None,
          one_line: bool = False) -> str:
    """lhs = part₁ = part₂ …, one per line, aligned on '=', each line dropped if it repeats the one before;
    with one_line, all on one line where each part is one line high and the whole fits the width."""
    text = chain_lines(printer, lhs, parts, last_rounded, width)
    rows = text.split("\n")
    if not one_line or len(rows) < 2:
        return text
    lhs_width = (lhs if isinstance(lhs, prettyForm) else prettyForm(lhs)).width()
    if any(row[:lhs_width].strip() for row in rows[1:]) or any(not row[lhs_width:].startswith((" = ", " ≈ ")) for row in rows):
        return text  # a part of several lines, or one broken across lines
    joined = rows[0].rstrip() + "".join(row[lhs_width:].rstrip() for row in rows[1:])
    return joined if width is None or cell_len(joined) <= width else text


def chain_lines(printer: MathPrinter, lhs, parts: list, last_rounded: bool = False, width: int | None = None) -> str:
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
        last = i == len(parts) - 1
        approximate = last_rounded if last else not isinstance(part, prettyForm) and printer.line_rounded(part)
        sign = " ≈ " if approximate else " = "
        head = lhs_form if not lines else pad
        line = prettyForm(*stringPict.next(head, prettyForm(sign), form))
        if width and line.width() > width:  # too wide: broken between terms, continued under the value
            lines.append("\n".join(wrap_picture(line.render(wrap_line=False).split("\n"), width,
                                                 head.width() + len(sign) + 2)))
        else:
            lines.append(line.render(wrap_line=False))
    return "\n".join(lines)
