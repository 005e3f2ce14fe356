"""The LaTeX printer: a Solution as a document (or a fragment) of align* steps, tables and TikZ."""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

from ..diagram import boundary_plot, graph_diagram
from ..notation import is_exact_decimal, number_text, rounded, shape_text, shows_rounded, tex_name, tex_number
from ..texsafe import escape_paragraphs, escape_text
from .tikz import to_pgfplots, to_tikz
from .printer import (EXACT_DIGITS, OurNumbers, Printer, is_value, negated, negative_number, positive_first,
                      rounded_inside, spelled_out)

NOT_CHECKED = "not checked (symbolic)"


def text(s: str) -> str:
    """Plain text for a LaTeX document: special characters escaped, symbols set in math."""
    return escape_text(s)


class MathLatex(OurNumbers, LatexPrinter):
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
        fname = {"sigmoid": "\\sigma", "sigmoid′": "\\sigma'"}.get(name)
        if fname is None:
            base, prime = (name[:-1], "'") if name.endswith("′") else (name, "")
            spelled = base.replace("_", "\\_") if re.fullmatch(r"[A-Za-z0-9_]+", base) else escape_text(base)
            fname = "\\operatorname{" + spelled + "}" + prime
        return f"{fname}\\left({', '.join(self._print(a) for a in args)}\\right)"

    def _print_MatFunc(self, e):
        return self._call(e.name, e.args[1:])

    def _print_ScalarFunc(self, e):
        if e.name == "dot":  # w·x of two vectors, as w^T x
            return f"{self._factor(e.args[1])}^{{T}} {self._factor(e.args[2])}"
        return self._call(e.name, e.args[1:])

    def _print_operation(self, e, exp=None):
        """relu, step, sigmoid, softplus, linear: the ops table's own functions, by name."""
        s = self._call(type(e).__name__, e.args)
        return s if exp is None else f"{s}^{{{exp}}}"

    _print_relu = _print_step = _print_sigmoid = _print_softplus = _print_linear = _print_operation

    def _print_Partial(self, e):
        return f"\\frac{{\\partial {self._print(e.of)}}}{{\\partial {self._print(e.wrt)}}}"

    def _print_OneMatrix(self, e):
        return "\\mathbf{1}"

    def _print_HadamardProduct(self, e):
        return " \\odot ".join(self._factor(a) for a in e.args)

    def _print_Add(self, e, order=None):
        ordered = positive_first(e)
        if ordered is not None:
            return super()._print_Add(ordered, order)
        terms = list(e.args)
        if not any(negated(t) or (i and negative_number(t)) for i, t in enumerate(terms)):
            return super()._print_Add(e, order)
        return self._join_terms(terms)

    def _print_MatAdd(self, e):
        return self._join_terms(list(e.args))

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
        return " ".join(self._factor(a) if isinstance(a, (sp.MatAdd, sp.Add)) or negative_number(a)
                        else self._print(a) for a in args)

    def _print_Pow(self, e, exp=None):
        if (negative_number(e.base) or isinstance(e.base, sp.Add)) and e.exp.is_Integer and e.exp > 0:
            return f"\\left({self._print(e.base)}\\right)^{{{self._print(e.exp)}}}"
        return super()._print_Pow(e)

    def _factor(self, x):
        s = self._print(x)
        if negative_number(x) or isinstance(x, (sp.Add, sp.MatAdd)):
            return f"\\left({s}\\right)"
        return s

    def is_rounded(self, value) -> bool:
        """True when the printed value is not the exact value."""
        return shows_rounded(value, self.digits, self.exact)

    def line_rounded(self, part) -> bool:
        """True when a line of an align, printed, shows some number only approximately."""
        if isinstance(part, sp.Basic) and is_value(part):
            return self.is_rounded(part)
        return rounded_inside(part)


class LatexDocument(Printer):
    """Each step as an align* block (formula, numbers, value) or a table, in the sheet's parts."""

    format_name = "LaTeX"

    def __init__(self, digits: int = 4, exact: bool = False, names: dict | None = None, diagram: str | None = None):
        super().__init__(digits, exact)
        self.math = MathLatex(digits, exact, names)
        self.names = names or {}
        self.diagram = diagram
        self.plots = False   # whether a plot was printed: the preamble then loads pgfplots (slow to load)

    def m(self, expr) -> str:
        return self.math.doprint(expr)

    def name(self, name: str) -> str:
        return tex_name(name, self.names)

    def partial(self, name: str, of: str = "L") -> str:
        return f"\\frac{{\\partial {self.name(of)}}}{{\\partial {self.name(name)}}}"

    def align(self, lhs: str, parts: list, value=None, notes=()) -> str:
        """lhs = part = part …, one line each, a repeated line dropped, ≈ where the value is rounded."""
        lines, previous = [], None
        for i, part in enumerate(parts):
            if part is None:
                continue
            body = part if isinstance(part, str) else self.m(part)
            if body == previous:
                continue
            previous = body
            last = i == len(parts) - 1
            approximate = self.math.is_rounded(value) if last else (
                not isinstance(part, str) and self.math.line_rounded(part))
            sign = "\\approx" if approximate else "="
            lines.append(f"{lhs if not lines else ''} &{sign} {body}")
        out = "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}\n"
        if notes:
            out += "\\begin{itemize}\\small\n" + "".join(f"\\item {text(n)}\n" for n in notes) + "\\end{itemize}\n"
        return out

    def _print_Given(self, s):
        tag = f"{s.role}, {shape_text(s.shape)}" + (", frozen" if s.frozen else "")
        parts = [s.formula, s.value] if s.formula is not None else [s.value]
        return self.align(self.name(s.name), parts, s.value, (tag,))

    def _print_Forward(self, s):
        return self.align(self.name(s.name), [s.formula, s.numbers, *self._closed(s), s.value], s.value, s.rules)

    def _print_LossValue(self, s):
        out = self.align(self.name(s.name), [s.formula, s.numbers, *self._closed(s), s.value], s.value, s.rules)
        if s.before is not None:
            out += self.align(f"\\text{{before the update: }} {self.name(s.name)}", [s.before], s.before)
        return out

    def _leibniz(self, leibniz):
        from ..algebra import Partial
        return None if leibniz is None or isinstance(leibniz, Partial) else leibniz

    def _print_Delta(self, s):
        lhs = f"{self.name('delta_' + s.name)} = {self.partial(s.name, s.of)}"
        return self.align(lhs, [self._leibniz(s.leibniz), s.formula, s.numbers, s.value], s.value, s.rules)

    def _print_Gradient(self, s):
        lhs = self.partial(s.label if s.index is not None else s.name, s.of)
        notes = []
        if s.check is not None and s.check.estimate is None:
            notes.append(f"central finite difference: {NOT_CHECKED}")
        elif s.check is not None:
            notes.append(f"central finite difference (h = {number_text(s.check.step, 1)}): "
                         f"{_plain(s.check.estimate, self.digits)}, difference {_plain(s.check.difference, 3)}")
        return self.align(lhs, [self._leibniz(s.leibniz), s.formula, s.numbers, s.value], s.value, notes)

    def _print_Update(self, s):
        label = s.label or (s.name if s.index is None else f"{s.name}[{','.join(map(str, s.index))}]")
        name = self.name(label)
        if s.frozen:
            return self.align(name, [s.old], s.old, ("frozen: kept at its value",))
        lhs = f"{name} \\leftarrow {name} - \\alpha\\, {self.partial(label)}"
        return self.align(lhs, [s.numbers, s.new], s.new)

    def _print_ChainRule(self, s):
        notes = ("with the deltas defined once each in the backward recursion",) if s.shared else ()
        return self.align(self.m(s.lhs), [s.formula], None, notes)

    def _print_LocalDerivative(self, s):
        if s.applied:
            lhs = f"{self.name('delta_' + s.of)} \\text{{ through }} {self.m(s.partial)}"
            return self.align(lhs, [s.derivative], None, s.rules)
        notes = list(s.rules)
        return self.align(self.m(s.partial), [s.derivative], None, notes)

    def _print_WholeDerivative(self, s):
        lhs = self.partial(s.wrt, s.of)
        if not s.shown:
            return self.align(lhs, [s.value], s.value,
                              (f"the expanded form has {'more than ' * (s.expression is None)}"
                               f"{s.size - (s.expression is None)} operations and is left out",))
        return self.align(lhs, [s.expression, s.numbers, s.value], s.value)

    def _table(self, header: list, rows: list, caption: str = "") -> str:
        cols = "l" * len(header)
        out = [f"\\begin{{center}}\\begin{{tabular}}{{{cols}}}", "\\toprule",
               " & ".join(header) + " \\\\", "\\midrule"]
        out += [" & ".join(r) + " \\\\" for r in rows]
        out += ["\\bottomrule", "\\end{tabular}\\end{center}"]
        if caption:
            out.append(f"\\noindent {caption}\n")
        return "\n".join(out) + "\n"

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
        verdict = "" if s.all_match is None else (
            "Every row matches the gate." if s.all_match else "Some rows do not match the gate.")
        return head + self._table(header, rows, verdict)

    def _print_LinearPieces(self, s):
        head = self.align(self.name(s.output), [s.formula])
        y = self.name(s.output)
        header = ["region", f"${y}$", f"{text(s.below)} (${y} < 0$)", f"{text(s.above)} (${y} > 0$)"]
        rows = [[", ".join(f"${self.m(r)}$" for r in p.region), f"${self.m(p.expression)}$",
                 self._where(p.below), self._where(p.above)] for p in s.pieces]
        plot = boundary_plot(s)
        figure = _centred(to_pgfplots(plot, name_tex=self.name)) if plot else ""
        self.plots = self.plots or bool(plot)
        return head + self._table(header, rows, f"Decision boundary: ${y} = 0$ on each piece where it changes sign.") + figure

    def _where(self, w):
        if w is True:
            return "the whole region"
        if w is False:
            return "--"
        return f"${self.m(w)}$"

    def _print_GraphStructure(self, s):
        figure = _centred(to_tikz(graph_diagram(s), self.digits, self.exact, name_tex=self.name))
        into: dict = {}
        for a, b in s.edges:
            into.setdefault(b, []).append(a)
        rows = [[f"${self.name(n)}$", text(role), ", ".join(f"${self.name(a)}$" for a in into.get(n, []))]
                for n, role in s.nodes]
        return figure + self._table(["node", "kind", "computed from"], rows,
                                    f"{len(s.nodes)} nodes, {len(s.edges)} directed edges.")

    def _print_Dimensions(self, s):
        rows = [[f"${self.name(n)}$", text(role), text(shape_text(shape))] for n, role, shape in s.rows]
        return self._table(["name", "kind", "shape"], rows)

    def body(self, solution) -> str:
        """The document's body: heading, notes, the network drawing, then every section."""
        out = [f"\\section*{{{text(solution.title)}}}\n"]
        if solution.source:
            out.append(f"\\noindent\\textit{{{text(solution.source)}}}\n\n")
        if solution.notes:
            out.append(f"\\noindent {escape_paragraphs(solution.notes)}\n\n")
        if self.diagram:
            out.append(_centred(self.diagram))
        for section in solution.sections:
            head = f"({text(section.part)}) {text(section.title)}" if section.part else text(section.title)
            out.append(f"\\subsection*{{{head}}}\n")
            out += [self.print_step(step) for step in section.steps]
        return "\n".join(out)


PREAMBLE = r"""\documentclass[11pt,fleqn]{article}
\usepackage[utf8]{inputenc}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{booktabs}
\usepackage{graphicx}
\usepackage{tikz}
\usetikzlibrary{positioning,arrows.meta}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\begin{document}
"""


PGFPLOTS = "\\usepackage{pgfplots}\\pgfplotsset{compat=1.16}\n"


def to_latex(solution, digits: int = 4, exact: bool = False, standalone: bool = True) -> str:
    """A Solution (or Derivation) as LaTeX: a whole document, or only its body with standalone=False."""
    names = getattr(solution, "names", {})
    picture = None
    if getattr(solution, "diagram", None) is not None:
        picture = to_tikz(solution.diagram, digits, exact, name_tex=lambda n: tex_name(n, names))
    document = LatexDocument(digits, exact, names, picture)
    body = document.body(solution)
    preamble = PREAMBLE.replace("\\allowdisplaybreaks", PGFPLOTS + "\\allowdisplaybreaks") if document.plots else PREAMBLE
    return preamble + body + "\n\\end{document}\n" if standalone else body


def _centred(picture: str) -> str:
    """A picture centred, shrunk to the line width when it is wider than the page."""
    return ("\\begin{center}\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n"
            + picture + "}\n\\end{center}\n")


def _plain(value, digits):
    if isinstance(value, sp.MatrixBase):
        return "[" + "; ".join(", ".join(number_text(v, digits) for v in value.row(i)) for i in range(value.rows)) + "]"
    return number_text(value, digits)


__all__ = ["to_latex", "LatexDocument", "MathLatex", "text"]
