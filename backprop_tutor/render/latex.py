"""The LaTeX printer: a Solution as a document (or a fragment) of align* steps, tables and TikZ."""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from ..diagram import boundary_plot, graph_diagram
from ..ops import LOSS_TEX, Named
from ..notation import function_tex, is_element, sheet_rule, is_exact_decimal, rounded, shape_text, tex_name, tex_number
from ..prose import prose_latex
from ..texsafe import escape_text
from .texbreak import break_line, width
from .tikz import to_pgfplots, to_tikz
from .printer import (EXACT_DIGITS, dot_operands, entry_by_entry, mixed, FROZEN, PARTIAL_IN_TITLE, PLAIN_NUMBER, OurNumbers, PagePrinter, SignedTerms,
                      answer_steps, decimal_padding, matrix_kind, negated, negative_number, parts_in_order, plain_given,
                      spelled_out, unit_name, verdict, worked_lines)

LINE_EM = 41.0     # room in em on a line of the page (A4, 2 cm margins, 11 pt, less the fleqn indent)
KEEP_LINES = 24    # a step of at most this many lines (a fraction counts two) is never split by a page break
MIN_ROOM_EM = 16   # a long left-hand side still leaves this much for what follows it
INLINE_ENTRIES = 4  # a vector of at most this many entries is written on the line, (a, b)^T …
INLINE_EM = 14.0    # … when it is no wider than this
ANSWERS_SPLIT = 12  # an answers table longer than this many rows is set in two halves side by side


def text(s: str) -> str:
    """Plain text for a LaTeX document: special characters escaped, symbols set in math."""
    return escape_text(s)


_TIGHT_CALL = re.compile(r"^(\\[a-z]+(?:\^\{[^{}]*\})?)\{\\left\((.*)\\right\)\}$", re.S)


def _phantom_aligned(column: list) -> list:
    """Numbers (plain decimals) padded with \\phantom so that a centred column lines them up on the point."""
    return [(f"\\phantom{{{left}}}" if left else "") + c + (f"\\phantom{{{right}}}" if right else "")
            for c, (left, right) in zip(column, decimal_padding(column))]


class MathLatex(OurNumbers, SignedTerms, LatexPrinter):
    """SymPy's LaTeX printer with the sheet's names, our number format and unevaluated steps."""

    def __init__(self, digits: int = 4, exact: bool = False, names: dict | None = None):
        super().__init__({"mat_str": "bmatrix", "mat_delim": "", "order": "none", "mul_symbol": "dot"})
        self.digits, self.exact, self.names = digits, exact, names or {}

    def _number(self, x):
        return tex_number(x, self.digits, self.exact)

    def _exactly(self, x):
        if is_exact_decimal(x) and not rounded(x, EXACT_DIGITS):
            return tex_number(x, EXACT_DIGITS)
        return tex_number(x, exact=True)

    def _print_Symbol(self, e, style="plain"):
        return tex_name(e.name, self.names)

    def _print_MatrixSymbol(self, e):
        return tex_name(e.name, self.names)

    def _print_Dummy(self, e):
        return tex_name(e.name, self.names)

    def _call(self, name, args):
        fname = {"sigmoid": "\\sigma", "sigmoid′": "\\sigma'", **LOSS_TEX}.get(name)
        sheet, prime = function_tex(name.removesuffix("′"), self.names), "'" if name.endswith("′") else ""
        if sheet is not None:
            fname = "{" + sheet + "}" + prime
        if fname is None:
            base, prime = (name[:-1], "'") if name.endswith("′") else (name, "")
            spelled = base.replace("_", "\\_") if re.fullmatch(r"[A-Za-z0-9_]+", base) else escape_text(base)
            fname = "\\operatorname{" + spelled + "}" + prime
        # \mathopen{} keeps TeX from setting a thin space between the name and \left(
        return f"{fname}\\mathopen{{}}\\left({', '.join(self._print(a) for a in args)}\\right)"

    def _print_Function(self, e, exp=None):
        name = type(e).__name__
        if isinstance(e, Named):
            name = e.display_name()
        if name in self.names.get("functions", {}) or isinstance(e, Named):
            s = self._call(name, e.args)
            return s if exp is None else f"{s}^{{{exp}}}"
        # SymPy writes \tanh{\left(z\right)}: the braces make TeX set a thin space before the bracket
        return _TIGHT_CALL.sub(r"\1\\mathopen{}\\left(\2\\right)", super()._print_Function(e, exp))

    def _print_log(self, e, exp=None):
        return _TIGHT_CALL.sub(r"\1\\mathopen{}\\left(\2\\right)", super()._print_log(e, exp))

    def _print_MatFunc(self, e):
        return self._call(e.name, e.operands)

    def _print_Keyword(self, e):
        return f"\\mathrm{{{e.name}}}={e.value}"

    def _print_ScalarFunc(self, e):
        if e.name == "dot":  # w·x of two vectors, as w^T x
            left, right, transposed = dot_operands(e)
            return f"{self._factor(left)}{'^{T}' if transposed else ''} {self._factor(right)}"
        return self._call(e.name, e.operands)

    def _print_operation(self, e, exp=None):
        """relu, step, sigmoid, softplus, linear: the ops table's own functions, by name."""
        s = self._call(type(e).__name__, e.args)
        return s if exp is None else f"{s}^{{{exp}}}"

    _print_relu = _print_step = _print_sigmoid = _print_softplus = _print_linear = _print_operation

    def _print_MatrixBase(self, e):
        """A 1×1 value as its number; a short vector on the line as (a, b)^T, as a sheet writes it; else a
        bmatrix whose columns of numbers line up on the decimal point."""
        if e.shape == (1, 1):
            return self._print(e[0, 0])
        cells = [[self._print(e[i, j]) for j in range(e.cols)] for i in range(e.rows)]
        if 1 in e.shape and max(e.shape) <= INLINE_ENTRIES:
            inline = "\\left(" + ",\\ ".join(c for row in cells for c in row) + "\\right)"
            inline += "^{\\mathsf{T}}" if e.cols == 1 else ""
            if width(inline) <= INLINE_EM and "\\frac" not in inline:
                return "{" + inline + "}"  # a group: a transpose or power after it applies to the whole
        for j in range(e.cols):
            column = [row[j] for row in cells]
            if all(PLAIN_NUMBER.fullmatch(c) for c in column):
                for row, c in zip(cells, _phantom_aligned(column)):
                    row[j] = c
        body = " \\\\ ".join(" & ".join(row) for row in cells)
        return f"\\begin{{bmatrix}}{body}\\end{{bmatrix}}"

    def _print_Partial(self, e):
        return f"\\frac{{\\partial {self._print(e.of)}}}{{\\partial {self._print(e.wrt)}}}"

    def _print_OneMatrix(self, e):
        return "\\mathbf{1}"

    def _print_HadamardProduct(self, e):
        return " \\odot ".join(f"\\left({self._print(a)}\\right)" if mixed(a, sp.MatMul) else self._factor(a)
                                for a in e.args)

    def _print_HadamardPower(self, e):
        text = super()._print_HadamardPower(e)
        base = self.parenthesize(e.base, PRECEDENCE["Mul"])
        if "^" in base and text.startswith(base):  # y⁽¹⁾ has a superscript already: a group takes the power
            return "{" + base + "}" + text[len(base):]
        return text

    def _join_terms(self, terms):
        out = ""
        for i, t in enumerate(terms):
            if negated(t) is not None:
                out += (" - " if i else "-") + self._factor(negated(t))
            elif i and negative_number(t):
                out += " + \\left(" + self._print(t) + "\\right)"
            else:
                out += (" + " if i else "") + self._print(t)
        return out

    def _print_Mul(self, e):
        if not isinstance(e, sp.Mul):  # SymPy sends 1/N (a Pow) here too: its args are not factors
            return super()._print_Mul(e)
        args = list(e.args)
        custom = any(negative_number(a) or isinstance(a, sp.Add) for a in args[1:]) or (
            spelled_out(e) and not self.exact)
        if any(isinstance(a, sp.Pow) and a.exp == -1 for a in args) or not custom:
            if len(args) == 2 and args[0] == -1:
                return "-" + self._factor(args[1])
            return super()._print_Mul(e)
        if args[0] == -1:
            rest = args[1] if len(args) == 2 else sp.Mul(*args[1:], evaluate=False)
            return "-" + self._factor(rest)
        return " \\cdot ".join(self._factor(a) for a in args)

    def _print_MatMul(self, e):
        args = list(e.args)
        if len(args) == 2 and args[0] == -1:
            return "-" + self._factor(args[1])
        out = ""
        for a in args:
            s = self._factor(a) if isinstance(a, (sp.MatAdd, sp.Add)) or negative_number(a) else self._print(a)
            if mixed(a, sp.HadamardProduct):
                s = f"\\left({s}\\right)"
            # a 1×1 matrix prints as its number: two numbers side by side need the dot, 0.1 \cdot 0.3528
            out += ("" if not out else " \\cdot " if out[-1].isdigit() and s[:1].isdigit() else " ") + s
        return out

    def _print_Pow(self, e, exp=None):
        if (negative_number(e.base) or isinstance(e.base, sp.Add)) and e.exp.is_Integer and e.exp > 0:
            return f"\\left({self._print(e.base)}\\right)^{{{self._print(e.exp)}}}"
        return super()._print_Pow(e)

    def _factor(self, x):
        s = self._print(x)
        if negative_number(x) or isinstance(x, (sp.Add, sp.MatAdd)):
            return f"\\left({s}\\right)"
        return s


class LatexDocument(PagePrinter):
    """Each step as an align* block (formula, numbers, value) or a table, in the sheet's parts."""

    format_name = "LaTeX"

    def __init__(self, digits: int = 4, exact: bool = False, names: dict | None = None, diagram: str | None = None,
                 comment: str | None = None):
        super().__init__(digits, exact)
        self.math = MathLatex(digits, exact, names)
        self.names = names or {}
        self.diagram = diagram
        self.comment = comment
        self.plots = False   # whether a plot was printed: the preamble then loads pgfplots (slow to load)
        self.boxing = None   # text after the box while the next display's last line is to be boxed, else None

    def m(self, expr) -> str:
        return self.math.doprint(expr)

    def name(self, name: str) -> str:
        return tex_name(name, self.names)

    def partial(self, name: str, of: str = "L") -> str:
        return f"\\frac{{\\partial {self.name(of)}}}{{\\partial {self.name(name)}}}"

    def align(self, lhs: str, parts: list, value=None, notes=(), rules=(), margin: str = "") -> str:
        """lhs = part = part …, one line each, a repeated line dropped, ≈ where the value is rounded;
        notes (plain text) and rules (text with $…$ math) listed below.

        A line too long for the page is cut between terms (else factors), each further piece on a line of
        its own under the first; a matrix too wide for the page is written entry by entry.
        """
        shown, previous = [], None
        for i, part in enumerate(parts):
            if part is None:
                continue
            body = part if isinstance(part, str) else self.m(part)
            if body != previous:
                shown.append((i, part, body))
            previous = body
        lines = []
        room = LINE_EM - width(lhs) - 2.0  # the relation sign, and \quad before a continued line
        open_line = None  # the width of the last line while further parts may join it (formula = numbers = value)
        for k, (i, part, body) in enumerate(shown):
            if body is None:  # written with the entries of the line before
                continue
            last = i == len(parts) - 1
            approximate = self.math.is_rounded(value) if last else (
                not isinstance(part, str) and self.math.line_rounded(part))
            sign = "\\approx" if approximate else "="
            if isinstance(part, sp.MatrixBase) and width(body) > room:
                lines += self._entries(lhs, part, sign, first=not lines)
                open_line = None
                continue
            explicit = entry_by_entry(part) if width(body) > room else None
            if explicit is not None and k + 1 < len(shown) and isinstance(shown[k + 1][1], sp.MatrixBase):
                # W − α·G of matrices too wide: each entry's arithmetic, then its value, on one line
                after = self.math.is_rounded(value) if shown[k + 1][0] == len(parts) - 1 else False
                lines += self._entries(lhs, explicit, sign, first=not lines, then=(shown[k + 1][1], after))
                shown[k + 1] = (shown[k + 1][0], None, None)
                open_line = None
                continue
            boxed = k == len(shown) - 1 and self.boxing is not None
            first, *rest = break_line(body, max(room - (1.0 if boxed else 0.0), MIN_ROOM_EM))
            if boxed:  # the part's answer: its value boxed where the step ends, over its lines if broken
                inner = first if not rest else (
                    "\\begin{aligned}[t]&" + " \\\\ &\\quad ".join([first, *rest]) + "\\end{aligned}")
                first, rest, note, self.boxing = f"\\boxed{{{inner}}}", [], self.boxing, None
                if note and width(first + note) > room:  # the note too: on a line of its own below the box
                    rest = [note.strip().removeprefix("\\quad").strip()]
                else:
                    first += note
            joined = width(first) + 1.5
            if open_line is not None and not rest and open_line + joined <= room:
                lines[-1] += f" {sign} {first}"
                open_line += joined
                continue
            lines.append(f"{lhs if not lines else ''} &{sign} {first}")
            lines += [f" &\\quad {more}" for more in rest]
            open_line = None if rest else width(first) + 1.5
        margin = "; ".join([prose_latex(sheet_rule(r, self.names)) for r in rules] + ([margin] if margin else []))
        if margin and lines:  # a rule in the margin beside its first use (below it where the line is full)
            lines[0] += " \\tag*{\\small " + margin + "}"
        # \\* between a step's own lines: where steps are joined into one display, a page may break
        # between them but not inside one (unless it is too tall for that)
        tall = sum(_height(line) for line in lines) > KEEP_LINES
        out = "\\begin{align*}\n" + (" \\\\\n" if tall else " \\\\*\n").join(lines) + "\n\\end{align*}\n"
        items = [text(n) for n in notes]
        if items:
            out += "\\begin{itemize}\\small\n" + "".join(f"\\item {n}\n" for n in items) + "\\end{itemize}\n"
        return out

    def cell(self, s: str) -> str:
        """Plain text in a table cell."""
        return text(s)

    def heading(self, title: str) -> str:
        """A section title as LaTeX: its text escaped, each ∂L/∂W21 in it set as math in the sheet's names."""
        out, at = [], 0
        for m in PARTIAL_IN_TITLE.finditer(title):
            of, wrt = m.group(1), m.group(2)
            wrt = "\\,\\mathrm{node}" if wrt == "node" else self.name(wrt)  # the word, as in "δ = ∂L/∂node"
            out += [text(title[at:m.start()]), f"$\\partial {self.name(of)}/\\partial {wrt}$"]
            at = m.end()
        return "".join(out) + text(title[at:])

    def _entries(self, lhs: str, matrix, sign: str, first: bool, then=None) -> list:
        """A matrix too wide for the page as one line per entry: [lhs]_{ij} = entry; with then=(values,
        rounded), each entry's arithmetic followed by its value (= or ≈)."""
        head = re.split(r" = | \\leftarrow ", lhs)[0]  # the name, without its definition or update rule
        lines = [f"{lhs} &{sign} \\text{{entry by entry:}}"] if first else []
        for r in range(matrix.rows):
            for c in range(matrix.cols):
                comma = "," if max(matrix.rows, matrix.cols) > 9 else ""  # 2,10 is not 21,0
                index = f"{r + 1}" if matrix.cols == 1 else f"{c + 1}" if matrix.rows == 1 else f"{r + 1}{comma}{c + 1}"
                name = f"\\left[{head}\\right]_{{{index}}}"
                tex = self.m(matrix[r, c])
                if then is not None:
                    values, rounded = then
                    relation = "\\approx" if rounded or self.math.is_rounded(values[r, c]) else "="
                    tex += f" {relation} {self.m(values[r, c])}"
                entry, *rest = break_line(tex, max(LINE_EM - width(name) - 2.0, MIN_ROOM_EM))
                lines.append(f"{name} &{sign} {entry}")
                lines += [f" &\\quad {more}" for more in rest]
        return lines

    def _print_Given(self, s):
        tag = f"{s.role}, {shape_text(s.shape)}" + (", frozen" if s.frozen else "")
        parts = [s.formula, s.value] if s.formula is not None else [s.value]
        return self.align(self.name(s.name), parts, s.value, margin=text(tag))

    def _print_LossValue(self, s):
        out = self.align(self.name(s.name), [s.formula, s.numbers, *self._closed(s), s.value], s.value,
                         rules=s.rules)
        if s.before is not None:
            out += self.align(f"\\text{{before the update: }} {self.name(s.name)}", [s.before], s.before)
        return out

    def _print_Delta(self, s):
        partial = self.partial_inline if is_element(s.name) else self.partial  # a neuron's δ: one line high
        lhs = f"{self.name(s.symbol or 'delta_' + s.name)} = {partial(s.name, s.of)}"
        return self.align(lhs, worked_lines(s), s.value, rules=s.rules)

    def _print_Reference(self, s):
        name = self.referred(s)
        where = "above" if s.part is None else f"({text(s.part)})"
        lhs = f"{name} \\text{{ from {where}}}"
        return self.line(lhs) if s.value is None else self.align(lhs, [s.value], s.value)

    def inline(self, math: str) -> str:
        """Math set in the line of text."""
        return f"${math}$"

    def line(self, math: str) -> str:
        """One line of inline math, as a paragraph of its own."""
        return f"\\noindent ${math}$\n\n"

    def _print_Update(self, s):
        label = s.shown_name
        name = self.name(label)
        if s.frozen:
            return self.align(name, [s.old], s.old, (FROZEN,))
        lhs = f"{name} \\leftarrow {name} - \\alpha\\, {self.partial(label)}"
        margin = f"the gradient from ({text(s.shown_in)})" if s.shown_in else ""
        return self.align(lhs, [s.numbers, s.new], s.new, margin=margin)

    def _print_LocalDerivative(self, s):
        if s.applied:
            lhs = f"{self.name('delta_' + s.of)} \\text{{ through }} {self.m(s.partial)}"
            return self.align(lhs, [s.derivative], None, rules=s.rules)
        return self.align(self.m(s.partial), [s.derivative], None, rules=s.rules)

    def _table(self, header: list, rows: list, caption: str = "", cols: str | None = None) -> str:
        cols = cols or "l" * len(header)
        out = [f"\\begin{{center}}\\begin{{tabular}}{{{cols}}}", "\\toprule",
               " & ".join(header) + " \\\\", "\\midrule"]
        out += [" & ".join(r) + " \\\\" for r in rows]
        out += ["\\bottomrule", "\\end{tabular}\\end{center}"]
        if caption:
            out.append(f"\\noindent {caption}\n")
        return "\n".join(out) + "\n"

    def givens(self, steps) -> str:
        """Given values as a sheet states them, a few to a line: inputs and targets, then the parameters."""
        groups = [[s for s in steps if s.role in ("input", "target")], [s for s in steps if s.role == "parameter"]]
        lines = []
        for group in (g for g in groups if g):
            line, room = [], 0.0
            for s in group:
                item = f"{self.name(s.name)} = {self.m(s.value)}" + ("\\ (\\text{frozen})" if s.frozen else "")
                if line and room + width(item) + 2 > LINE_EM:
                    lines.append(",\\quad ".join(line))
                    line, room = [], 0.0
                line.append(item)
                room += width(item) + 2
            lines.append(",\\quad ".join(line))
        return "\\begin{gather*}\n" + " \\\\\n".join(lines) + "\n\\end{gather*}\n"

    def _print_TruthTable(self, s):
        head = self.align(self.name(s.output), [s.formula])
        header = [f"${self.name(s.input)}$", f"${self.name(s.output)}$",
                  f"${self.name(s.output)} > {self.m(s.threshold)}$"]
        if s.all_match is not None:
            header += ["expected", ""]
        rows = []
        for r in s.rows:
            row = [f"${self.m(r.inputs)}$", f"${self.m(r.output)}$", str(r.decision)]
            if r.matches is not None:
                row += [f"${self.m(r.expected)}$", "yes" if r.matches else "no"]
            rows.append(row)
        return head + self._table(header, rows, verdict(s))

    def _print_LinearPieces(self, s):
        head = self.align(self.name(s.output), [s.formula])
        y = self.name(s.output)
        header = ["region", f"${y}$", f"{self.cell(s.below)} (${y} < 0$)", f"{self.cell(s.above)} (${y} > 0$)"]
        rows = [[", ".join(f"${self.m(r)}$" for r in p.region), f"${self.m(p.expression)}$",
                 self._where(p.below), self._where(p.above)] for p in s.pieces]
        plot = boundary_plot(s)
        figure = self.picture(to_pgfplots(plot, name_tex=self.name)) if plot else ""
        self.plots = self.plots or bool(figure)
        return head + self._table(header, rows, f"Decision boundary: ${y} = 0$ on each piece where it changes sign.") + figure

    def _where(self, w):
        if w is True:
            return "the whole region"
        if w is False:
            return "--"
        return f"${self.m(w)}$"

    def _print_GraphStructure(self, s):
        drawing = s.network if s.network is not None else graph_diagram(s)
        figure = self.picture(to_tikz(drawing, self.digits, self.exact, name_tex=self.name))
        if s.network is not None:   # weights sit on the edges there, so the graph's counts would not match it
            return figure
        if not s.listed:   # the figure is the answer: a table of the same nodes would say it twice
            return figure + f"{len(s.nodes)} nodes, {len(s.edges)} directed edges.\n"
        into: dict = {}
        for a, b in s.edges:
            into.setdefault(b, []).append(a)
        rows = [[f"${self.name(n)}$", self.cell(role), ", ".join(f"${self.name(a)}$" for a in into.get(n, []))]
                for n, role in s.nodes]
        return figure + self._table(["node", "kind", "computed from"], rows,
                                    f"{len(s.nodes)} nodes, {len(s.edges)} directed edges.")

    def picture(self, tikz: str) -> str:
        """A TikZ or pgfplots picture, centred and shrunk to the line width if wider."""
        return _centred(tikz)

    # -- answers: the box that ends each part, and the table that ends the solution -----------------
    def words(self, words: str, alone: bool = False) -> str:
        return f"\\text{{{words}}}" if alone else f"\\ \\text{{{words}}}"

    def partial_inline(self, name: str, of: str = "L") -> str:
        return f"\\partial {self.name(of)}/\\partial {self.name(name)}"

    def value_tex(self, value) -> str:
        """A value as an answer writes it: a scalar, a short vector inline (a, b)^T, a matrix."""
        kind = matrix_kind(value)
        if kind == "one":
            return self.m(value[0])
        if kind in ("column", "row"):
            inside = ",\\ ".join(self.m(v) for v in value)
            return f"\\left({inside}\\right)" + ("^{\\mathsf{T}}" if kind == "column" else "")
        return self.m(value)

    def sign(self, value) -> str:
        return "\\approx" if self.math.is_rounded(value) else "="

    def reason(self, r) -> str:
        """Why an exact zero is one: the ReLU units that are off, as computed in the model."""
        units = []
        for o in r.off:
            units.append(f"{self.name(unit_name(o))} = {self.m(o.value)} {'<' if o.value < 0 else '='} 0")
        head = "ReLU off: " if matrix_kind(r.value) in ("scalar", "one") else "zero entries: ReLU off: "
        return f"\\text{{({head}}}{', '.join(units)}\\text{{)}}"

    def notes_of(self, r) -> list:
        out = [self.reason(r)] if r.off else []
        if r.kind == "loss_after" and r.before is not None:
            out.append(f"\\text{{(before: }}{self.m(r.before)}\\text{{)}}")
        if getattr(r, "exact", None) is not None:
            out.append(f"\\text{{(exact }}{self.m(r.exact)}\\text{{: {self.drift(r.decimals)})}}")
        return out

    def marks(self, results: list) -> str:
        """The part's answer: each value boxed, under the part's last display; short boxes share a line."""
        lines, row = [], []

        def flush():
            if row:
                lines.append("&" + " \\qquad ".join(row))
                row.clear()

        for r in results:
            body = f"{self.quantity(r)} {self.sign(r.value)} {self.value_tex(r.value)}"
            notes = self.notes_of(r)
            box = f"\\boxed{{{body}}}"
            if width(body) + 1.0 > LINE_EM:  # too wide for one box: the name boxed, the value broken after it
                flush()
                first, *rest = self.value_lines(r.value, self.value_tex(r.value), max(LINE_EM - 6.0, MIN_ROOM_EM))
                lines.append(f"&\\boxed{{{self.quantity(r)}}} {self.sign(r.value)} {first}")
                lines += [f"&\\qquad {more}" for more in rest] + [f"&\\quad {n}" for n in notes]
            elif notes:
                flush()
                beside = "".join(f"\\quad {n}" for n in notes)
                if width(body + beside) + 1.0 <= LINE_EM:
                    lines.append(f"&{box}{beside}")
                else:
                    lines += [f"&{box}"] + [f"&\\quad {n}" for n in notes]
            else:
                if row and width(" \\qquad ".join(row + [box])) + 1.0 > LINE_EM:
                    flush()
                row.append(box)
        flush()
        return keep_together("\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}\n")

    def answers_table(self, solution) -> str:
        """Every asked value: part, quantity, value (a loss as before → after)."""
        parts = any(r.part is not None for r in solution.results)
        names = [self.quantity(r, inline=True) for r in solution.results]
        room = LINE_EM - max(map(width, names)) - (7.0 if parts else 4.0)  # the other columns and their gaps
        entries, widest = [], 0.0
        for r, name in zip(solution.results, names):
            value = ("\\approx " if self.math.is_rounded(r.value) else "") + self.value_tex(r.value)
            if r.kind == "loss_after" and r.before is not None:
                value = f"{self.m(r.before)} \\to {{}} {value}"
            if r.kind != "loss_after" and width(value) > room:  # a wide matrix: in blocks of columns
                first, *rest = self.value_lines(r.value, value, room)
                if first.startswith("\\text{columns"):
                    first = ("\\approx " if self.math.is_rounded(r.value) else "") + first
            else:
                first, *rest = self.table_lines(value, room)
            if r.exact is not None:  # a chain rounded at each step: its exact value under it, or beside
                exact = ("\\approx " if self.math.is_rounded(r.exact) else "= ") + self.value_tex(r.exact)
                if not rest and width(f"{first} \\qquad \\text{{exact }} {exact}") <= room:
                    first = f"{first} \\qquad \\text{{exact }} {exact}"
                else:
                    rest += [f"\\text{{exact }} {line}" for line in self.table_lines(exact, room - 3.0)]
            widest = max([widest, width(name)] + [width(line) for line in (first, *rest)])
            entry = [([f"({self.cell(r.part)})"] if parts else []) + [f"${name}$", f"${first}$"]]
            entry += [([""] if parts else []) + ["", f"$\\quad {more}$"] for more in rest]
            entries.append(entry)
        return self.answers_rows((["part"] if parts else []) + ["quantity", "value"], entries, widest)

    def answers_rows(self, header: list, entries: list, widest: float) -> str:
        """The answers table; a long one of narrow values in two halves side by side, to save the page."""
        rows = [row for entry in entries for row in entry]
        if len(rows) <= ANSWERS_SPLIT or 2 * widest + 12.0 > LINE_EM:
            return self._table(header, rows)
        left, right, at = [], [], 0
        for entry in entries:  # an entry (a value and its continued lines) stays in one half
            (left if at < (len(rows) + 1) // 2 else right).extend(entry)
            at += len(entry)
        blank = [""] * len(header)
        right += [blank] * (len(left) - len(right))
        left += [blank] * (len(right) - len(left))
        cols = "l" * len(header) + "@{\\qquad}" + "l" * len(header)
        return self._table(header + header, [a + b for a, b in zip(left, right)], cols=cols)

    def table_lines(self, value: str, room: float) -> list:
        """A value in the table, broken between terms onto rows of its own where it is too wide."""
        return break_line(value, max(room, MIN_ROOM_EM))

    def value_lines(self, value, tex: str, room: float) -> list:
        """A value's TeX on lines of at most `room` em: a matrix too wide in blocks of columns, each
        named (columns 1–5), as a wide array is printed; anything else broken between terms."""
        if not isinstance(value, sp.MatrixBase) or value.rows < 2 or value.cols < 2 or width(tex) <= room:
            return break_line(tex, room)
        blocks, start = [], 0
        while start < value.cols:
            end = min(start + 2, value.cols)  # at least two columns to a block: one would print as a vector
            while end < value.cols and width(self.m(value[:, start:end + 1])) + 7.0 <= room:
                end += 1
            blocks.append((start, end))
            start = end
        if len(blocks) > 1 and blocks[-1][1] - blocks[-1][0] == 1:  # a last column alone joins the block before
            (a, _), (_, b) = blocks[-2], blocks[-1]
            blocks[-2:] = [(a, b)]
        return [f"\\text{{columns {a + 1}–{b}: }} {self.m(value[:, a:b])}" for a, b in blocks]

    def answers_heading(self) -> str:
        return "\\subsection*{Answers}\n"

    def rounding_line(self, solution) -> str:
        note = self.rounding_note(solution)
        return f"\\noindent\\textit{{{text(note)}}}\n\n" if note else ""

    def body(self, solution) -> str:
        """The document's body: heading, notes, the network drawing, then every section."""
        out = [f"\\section*{{{text(solution.title)}}}\n"]
        answers_only = getattr(solution, "answers_only", False)
        if solution.source:
            out.append(f"\\noindent\\textit{{{text(solution.source)}}}\n\n")
        if solution.notes and not answers_only:
            out.append(f"\\noindent {prose_latex(solution.notes)}\n\n")
        if self.comment and not answers_only:
            out.append(f"\\noindent\\textbf{{Comment.}} \\textit{{{prose_latex(self.comment)}}}\n\n")
        if hasattr(solution, "results") or getattr(solution, "rounding", None) is not None:
            out.append(self.rounding_line(solution))
        if answers_only:
            return "\n".join(out + [self.answers_heading(), self.answers_table(solution)])
        if self.diagram:
            out.append(_centred(self.diagram))
        groups = parts_in_order(solution) if hasattr(solution, "results") else [(solution.sections, [])]
        for sections, results in groups:
            # each answer boxed where the step that computes it ends (the last such step of the part);
            # an answer no step ends in is boxed on a line of its own under the part
            steps = [step for section in sections for step in section.steps]
            boxes = answer_steps(steps, results)
            left = list(results)
            for k, section in enumerate(sections):
                title = self.heading(section.title)
                if k and section.part:  # a further section of the same part: a lighter heading, less room
                    out.append(f"\\paragraph*{{{title}}}\n")
                else:
                    head = f"({text(section.part)}) {title}" if section.part else title
                    out.append(f"\\subsection*{{{head}}}\n")
                if section.steps and all(plain_given(step) for step in section.steps):
                    out.append(keep_together(self.givens(section.steps)))
                    continue
                printed = []
                for step in section.steps:
                    r = boxes.get(id(step))
                    if r is not None:
                        self.boxing = "".join(f"\\quad {n}" for n in self.notes_of(r)
                                              if r.kind != "loss_after")  # the before line follows
                    printed.append(self.print_step(step))
                    if r is not None and self.boxing is None:
                        left = [x for x in left if x is not r]
                    self.boxing = None
                out += [keep_together(block) if block in printed else block for block in joined(printed)]
            if left:
                out.append(self.marks(left))
        if getattr(solution, "results", ()):
            out += [self.answers_heading(), self.answers_table(solution)]
        elif getattr(solution, "exact", None) is not None:  # a derivation, its chain rounded at each step
            out.append(f"\\[ \\text{{exact: }} {self.m(solution.exact)} \\]\n"
                       f"\\noindent\\textit{{({text(self.drift(solution.rounding))})}}\n")
        return "\n".join(out)


_LINE_END = re.compile(r" \\\\\*?\n")
_TAG = re.compile(r" \\tag\*\{.*\}$")  # a margin note: set below its line where the line is full
_BEGIN, _END = "\\begin{align*}\n", "\n\\end{align*}\n"


def joined(steps: list) -> list:
    """Consecutive steps that are each one display and nothing else, as one align* (a sheet's
    recursion reads as one block, aligned on its = signs); such a block may break between its
    lines (a step alone is kept together)."""
    out: list = []
    sides: list = []  # for each block of out that is one display: its lines' (left, right) widths
    for step in steps:
        mine = _sides(step) if _alone(step) else None
        if mine is not None and out and _alone(out[-1]) and _fits(sides[-1] + mine):
            out[-1] = out[-1][:-len(_END)] + " \\\\\n" + step[len(_BEGIN):]
            sides[-1] = sides[-1] + mine
        else:
            out.append(step)
            sides.append(mine)
    return out


def _alone(step: str) -> bool:
    return step.startswith(_BEGIN) and step.endswith(_END) and step.count(_BEGIN) == 1


def _sides(step: str) -> list:
    """The widths of each aligned line's left and right side (a margin note left out), worked once a step."""
    return [(width(a), width(_TAG.sub("", b))) for a, b in
            (line.split("&", 1) for line in _LINE_END.split(step[len(_BEGIN):-len(_END)]) if "&" in line)]


def _fits(sides: list) -> bool:
    """Whether displays aligned on one column still fit the line: the widest left side beside the widest
    right side (each was broken for its own left side only)."""
    return max(a for a, _ in sides) + max(b for _, b in sides) + 2.0 <= LINE_EM


def keep_together(step: str) -> str:
    """A step's LaTeX (its displays and notes) in a samepage, so no page break falls inside it;
    a step too tall to fit a good part of a page is left free to break between its lines."""
    height = sum(_height(line) for line in step.splitlines()
                 if line.strip() and not line.startswith(("\\begin", "\\end")))
    if height > KEEP_LINES:
        return step
    # the samepage's penalties also forbid the break before the next step: \\pagebreak[0] allows it again
    return "\\begin{samepage}\n" + step + "\\end{samepage}\\pagebreak[0]\n"


def _height(line: str) -> int:
    """Lines of text a line of the LaTeX source takes on the page, roughly: a matrix is one a row."""
    rows = line.count("\\\\") + 1 if "matrix}" in line else 1
    return rows * (2 if "\\frac" in line else 1)


PACKAGES = r"""\usepackage[utf8]{inputenc}
\usepackage{amsmath,amssymb}
\usepackage{booktabs}
\usepackage{graphicx}
\usepackage{tikz}
\usetikzlibrary{positioning,arrows.meta}
\allowdisplaybreaks
"""

PAGE = r"""\documentclass[11pt,fleqn]{article}
\usepackage[a4paper,margin=2cm]{geometry}
"""

PREAMBLE = (PAGE + PACKAGES + r"""\setlength{\parindent}{0pt}
\let\fullsize\normalsize
\renewcommand{\normalsize}{\fullsize
  \setlength\abovedisplayskip{6pt plus 2pt minus 2pt}\setlength\belowdisplayskip{6pt plus 2pt minus 2pt}%
  \setlength\abovedisplayshortskip{2pt plus 2pt}\setlength\belowdisplayshortskip{4pt plus 2pt}}
\begin{document}
""")

PGFPLOTS = "\\usepackage{pgfplots}\\pgfplotsset{compat=1.16}\n"


def preamble() -> str:
    """The lines a document needs in its preamble to \\input a fragment (export --fragment, derive --latex);
    pgfplots is among them, for a fragment that holds a decision-boundary plot."""
    return PACKAGES + PGFPLOTS


def to_latex(solution, digits: int = 4, exact: bool = False, standalone: bool = True,
             comment: str | None = None) -> str:
    """A Solution (or Derivation) as LaTeX: a whole document, or only its body with standalone=False;
    the file's comment, when given, after the notes."""
    names = getattr(solution, "names", {})
    picture = None
    if getattr(solution, "diagram", None) is not None:
        picture = to_tikz(solution.diagram, digits, exact, name_tex=lambda n: tex_name(n, names),
                          functions=names.get("functions"))
    document = LatexDocument(digits, exact, names, picture, comment)
    body = document.body(solution)
    preamble = PREAMBLE.replace("\\allowdisplaybreaks", PGFPLOTS + "\\allowdisplaybreaks") if document.plots else PREAMBLE
    return preamble + body + "\n\\end{document}\n" if standalone else body


def _centred(picture: str) -> str:
    """A picture centred, shrunk to the line width when it is wider than the page."""
    return ("\\begin{center}\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n"
            + picture + "}\n\\end{center}\n")


__all__ = ["to_latex", "preamble", "keep_together", "LatexDocument", "MathLatex", "text"]
