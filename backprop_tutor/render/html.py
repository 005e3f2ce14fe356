"""The web printer: a Solution as one self-contained HTML page, its math in MathML and its drawing in SVG."""
from __future__ import annotations

import html
import re
import warnings

import sympy as sp


from ..diagram import boundary_plot, graph_diagram
from ..drawing import Drawing
from ..errors import ExternalError
from ..export import DEFAULT_TIMEOUT
from ..notation import is_element, shape_text, sheet_rule
from ..prose import paragraphs
from ..texsafe import UnsafeTeX
from .mathml import MathMathML, TexMathML
from .printer import (FROZEN, PARTIAL_IN_TITLE, PagePrinter, answer_steps, matrix_kind, parts_in_order, plain_given,
                      unit_name, verdict, worked_lines)
from .pretty import MathPrinter
from .svg import drawing_svg, plot_svg

ROW_CHARACTERS = 64   # a further part of a display joins its line while the line stays this short (in characters)
GIVENS_CHARACTERS = 70  # given values a few to a line, up to this many characters a line
LINE_CHARACTERS = 80    # a formula wider than this (in characters) is cut between its outermost terms or factors
BREAKS = frozenset("+−·⊙")  # where a formula may be cut: before these, at its outermost level

STYLE = """
body { margin: 0; background: #fff; color: #1a1a1a; font: 17px/1.5 "Latin Modern Roman", "STIX Two Text",
       "Cambria", "Georgia", serif; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.5rem; border-bottom: 1px solid #ddd; padding-bottom: 0.15rem; }
h3 { font-size: 1.05rem; margin: 1.25rem 0 0.4rem; }
p { margin: 0.5rem 0; }
.source, .rounding { font-style: italic; color: #444; }
.comment { border-left: 3px solid #ccc; padding-left: 0.8rem; color: #333; }
math { font-family: "Latin Modern Math", "STIX Two Math", "Cambria Math", math; }
.step { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 1.5rem; margin: 0.6rem 0; }
.display { flex: 1 1 auto; min-width: 0; overflow-x: auto; overflow-y: hidden; padding: 0.15rem 0; }
.display { padding-left: 1.5rem; }
.display > math, .display > div > math { display: math; math-style: normal; }
.display > div { margin: 0.2rem 0; }
.aside { flex: 0 1 auto; font-size: 0.85rem; color: #555; max-width: 100%; }
mtable.lines, mtable.lines > mtr > mtd { math-style: normal; }
mtable.lines > mtr > mtd { padding: 0.25rem 0; }
mtable.lines > mtr > mtd:first-child { text-align: right; padding-right: 0.1rem; }
mtable.lines > mtr > mtd:last-child { text-align: left; }
mtable.matrix > mtr > mtd { padding: 0.1rem 0.4rem; text-align: right; }
mtable.matrix > mtr > mtd:first-child { padding-left: 0.05rem; }
mtable.matrix > mtr > mtd:last-child { padding-right: 0.05rem; }
.boxed { border: 1.5px solid #1a1a1a; padding: 0.15rem 0.35rem; }
ul.notes { margin: 0 0 0.5rem; padding-left: 1.4rem; font-size: 0.9rem; color: #444; }
.answers { margin: 0.6rem 0 1rem; }
table { border-collapse: collapse; margin: 0.8rem 0; border-top: 2px solid #333; border-bottom: 2px solid #333; }
th { border-bottom: 1px solid #333; text-align: left; padding: 0.3rem 0.8rem; }
td { padding: 0.25rem 0.8rem; vertical-align: baseline; }
tbody tr:nth-child(even) { background: #f6f6f6; }
.table { overflow-x: auto; }
.caption { font-size: 0.9rem; color: #444; }
figure { margin: 1rem 0; text-align: center; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
"""


def esc(s) -> str:
    """Text for the page: every character that means something to HTML escaped."""
    return html.escape(str(s), quote=True)


class HtmlDocument(PagePrinter):
    """Each step as a MathML display (formula, numbers, value, one line each) or a table, in the sheet's parts."""

    format_name = "HTML"

    def __init__(self, digits: int = 4, exact: bool = False, names: dict | None = None, comment: str | None = None,
                 figure=None):
        super().__init__(digits, exact)
        self.math = MathMathML(digits, exact, names)
        self.tex = TexMathML(self.math.dom)
        self.pretty = MathPrinter(digits, exact, names)
        self.names = names or {}
        self.comment = comment
        self.figure = figure    # a Drawing → its SVG text, or None where it is not drawn; None: no drawings
        self.boxing = None      # MathML after the box while the next display's last line is to be boxed, else None

    # -- math pieces, as MathML text ----------------------------------------------------------------
    def m(self, expr) -> str:
        return self.math.doprint(expr)

    def name(self, name: str) -> str:
        return self.math.name_element(name).toxml()

    def partial(self, name: str, of: str = "L") -> str:
        return f"<mfrac><mrow><mi>∂</mi>{self.name(of)}</mrow><mrow><mi>∂</mi>{self.name(name)}</mrow></mfrac>"

    def partial_inline(self, name: str, of: str = "L") -> str:
        return f'<mrow><mi>∂</mi>{self.name(of)}<mo lspace="0" rspace="0">/</mo><mi>∂</mi>{self.name(name)}</mrow>'

    def words(self, words: str, alone: bool = False) -> str:
        return f"<mtext>{esc(words if alone else chr(0xA0) + words)}</mtext>"

    def inline(self, math: str) -> str:
        """MathML set in the line of text."""
        return f"<math>{math}</math>"

    def tex_math(self, tex: str) -> str:
        """Safe-subset TeX (a rule, a note's $…$) as MathML; shown as written, as text, where it is outside it."""
        try:
            return self.tex.translate(tex).toxml()
        except UnsafeTeX:
            return f"<mtext>{esc(tex)}</mtext>"

    def prose(self, text) -> str:
        """Prose from a file or a rule: text escaped, its $…$ math (the safe subset) as inline MathML,
        one <p> a paragraph; math outside the subset is shown as it is written, in <code>."""
        try:
            found = paragraphs(text)
        except UnsafeTeX:
            return f"<p><code>{esc(text)}</code></p>"
        return "".join("<p>" + "".join(self.inline(self.tex_math(s)) if math else esc(s) for math, s in p) + "</p>"
                       for p in found)

    def prose_line(self, text) -> str:
        """Prose on one line (a rule beside a display): as prose, without the paragraphs."""
        return re.sub(r"</?p>", " ", self.prose(text)).strip()

    def sign(self, value) -> str:
        return "≈" if self.math.is_rounded(value) else "="

    # -- displays ---------------------------------------------------------------------------------
    def align(self, lhs: str, parts: list, value=None, notes=(), rules=(), margin: str = "") -> str:
        """lhs = part = part …, a repeated part dropped, ≈ where the value is rounded, short parts sharing a
        line; notes (plain text) listed below, rules (prose with $…$ math) and the margin beside."""
        shown, previous = [], None
        for i, part in enumerate(parts):
            if part is None:
                continue
            body = part if isinstance(part, str) else self.m(part)
            if body != previous:
                shown.append((i, part, body))
            previous = body
        lines: list = []   # [lhs, [(sign, body)…]]
        for k, (i, part, body) in enumerate(shown):
            last = i == len(parts) - 1
            approximate = self.math.is_rounded(value) if last else (
                not isinstance(part, str) and self.math.line_rounded(part))
            sign = "≈" if approximate else "="
            if k == len(shown) - 1 and self.boxing is not None:  # the part's answer, boxed where the step ends
                body = f'<mrow class="boxed">{body}</mrow>{self.boxing}'
                self.boxing = None
            elif not isinstance(part, str) and characters(body) > LINE_CHARACTERS - characters(lhs):
                first, *rest = self.broken(part, LINE_CHARACTERS - characters(lhs))
                lines.append([lhs if not lines else "", [(sign, first)]])
                lines += [["", [("", f'<mrow><mspace width="1.2em"></mspace>{more}</mrow>')]] for more in rest]
                continue
            if lines and characters(_line(lines[-1])) + characters(body) + 3 <= ROW_CHARACTERS - characters(lhs):
                lines[-1][1].append((sign, body))
            else:
                lines.append([lhs if not lines else "", [(sign, body)]])
        aside = [self.prose_line(sheet_rule(r, self.names)) for r in rules] + ([margin] if margin else [])
        return self.step(self.lines(lines), aside, notes)

    def broken(self, expr, room: int) -> list:
        """An expression too wide for a line, cut before a +, − or · (the outermost first; inside brackets
        too wide themselves) into lines that fit; a piece that cannot be cut is left whole (the display scrolls)."""
        segments: list = []   # each from one place a cut may come to the next
        for xml, breakable in _atoms(self.math.element(expr), room):
            if breakable or not segments:
                segments.append("")
            segments[-1] += xml
        out: list = [""]
        for segment in segments:
            if out[-1] and characters(out[-1]) + characters(segment) > room:
                out.append("")
            out[-1] += segment
        return out

    def lines(self, lines: list) -> str:
        """A block display of aligned lines: left side, then = right side (a continued line has no left side)."""
        rows = "".join(f"<mtr><mtd>{lhs or '<mrow></mrow>'}</mtd><mtd><mrow>{_line((lhs, parts))}</mrow></mtd></mtr>"
                       for lhs, parts in lines)
        return f'<math display="block"><mtable class="lines">{rows}</mtable></math>'

    def step(self, display: str, aside=(), notes=()) -> str:
        """A display with its margin notes beside it and its notes below."""
        side = f'<div class="aside">{"; ".join(aside)}</div>' if aside else ""
        below = ('<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>") if notes else ""
        return f'<div class="step"><div class="display">{display}</div>{side}</div>{below}\n'

    def line(self, math: str) -> str:
        """One line of math, set as a display of its own."""
        return self.step(f'<math display="block">{math}</math>')

    def heading(self, title: str) -> str:
        """A section title: its text escaped, each ∂L/∂W21 in it as math in the sheet's names."""
        out, at = [], 0
        for m in PARTIAL_IN_TITLE.finditer(title):
            of, wrt = m.group(1), m.group(2)
            wrt = '<mi mathvariant="normal">node</mi>' if wrt == "node" else self.name(wrt)
            slash = '<mo lspace="0" rspace="0">/</mo>'
            math = f"<mrow><mi>∂</mi>{self.name(of)}{slash}<mi>∂</mi>{wrt}</mrow>"
            out += [esc(title[at:m.start()]), self.inline(math)]
            at = m.end()
        return "".join(out) + esc(title[at:])

    def cell(self, s: str) -> str:
        """Plain text in a table cell."""
        return esc(s)

    def _table(self, header: list, rows: list, caption: str = "") -> str:
        head = "".join(f"<th>{h}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
        out = f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
        return out + (f'<p class="caption">{caption}</p>' if caption else "") + "\n"

    def givens(self, steps) -> str:
        """Given values as a sheet states them, a few to a line: inputs and targets, then the parameters."""
        groups = [[s for s in steps if s.role in ("input", "target")], [s for s in steps if s.role == "parameter"]]
        lines = []
        for group in (g for g in groups if g):
            line, room = [], 0
            for s in group:
                item = f"<mrow>{self.name(s.name)}<mo>=</mo>{self.m(s.value)}" + (
                    self.words("(frozen)") if s.frozen else "") + "</mrow>"
                if line and room + characters(item) > GIVENS_CHARACTERS:
                    lines.append(line)
                    line, room = [], 0
                line.append(item)
                room += characters(item) + 3
            lines.append(line)
        gap = '<mo>,</mo><mspace width="1.5em"></mspace>'
        shown = "".join(f'<div><math display="block"><mrow>{gap.join(ln)}</mrow></math></div>' for ln in lines)
        return f'<div class="step"><div class="display">{shown}</div></div>\n'

    def picture(self, diagram) -> str:
        """A diagram drawn by dot as inline SVG; nothing where there are no figures or dot could not draw it."""
        svg = self.figure(Drawing(diagram, self.names)) if self.figure is not None else None
        return f"<figure>{svg}</figure>\n" if svg else ""

    # -- the steps ----------------------------------------------------------------------------------
    def _print_Given(self, s):
        tag = f"{s.role}, {shape_text(s.shape)}" + (", frozen" if s.frozen else "")
        parts = [s.formula, s.value] if s.formula is not None else [s.value]
        return self.align(self.name(s.name), parts, s.value, margin=esc(tag))

    def _print_LossValue(self, s):
        out = self.align(self.name(s.name), [s.formula, s.numbers, *self._closed(s), s.value], s.value,
                         rules=s.rules)
        if s.before is not None:
            out += self.align(self.words("before the update:", alone=True) + "<mspace width=\"0.3em\"></mspace>"
                              + self.name(s.name), [s.before], s.before)
        return out

    def _print_Delta(self, s):
        partial = self.partial_inline if is_element(s.name) else self.partial  # a neuron's δ: one line high
        lhs = f"<mrow>{self.name(s.symbol or 'delta_' + s.name)}<mo>=</mo>{partial(s.name, s.of)}</mrow>"
        return self.align(lhs, worked_lines(s), s.value, rules=s.rules)

    def _print_Reference(self, s):
        where = "above" if s.part is None else f"({s.part})"
        lhs = f"<mrow>{self.referred(s)}{self.words('from ' + where)}</mrow>"
        return self.line(lhs) if s.value is None else self.align(lhs, [s.value], s.value)

    def _print_Update(self, s):
        label = s.shown_name
        name = self.name(label)
        if s.frozen:
            return self.align(name, [s.old], s.old, (FROZEN,))
        lhs = f"<mrow>{name}<mo>←</mo>{name}<mo>−</mo><mi>α</mi>{self.partial(label)}</mrow>"
        margin = f"the gradient from ({esc(s.shown_in)})" if s.shown_in else ""
        return self.align(lhs, [s.numbers, s.new], s.new, margin=margin)

    def _print_LocalDerivative(self, s):
        if s.applied:
            lhs = f"<mrow>{self.name('delta_' + s.of)}{self.words('through')}<mspace width=\"0.3em\"></mspace>" \
                  f"{self.m(s.partial)}</mrow>"
            return self.align(lhs, [s.derivative], None, rules=s.rules)
        return self.align(self.m(s.partial), [s.derivative], None, rules=s.rules)

    def _print_TruthTable(self, s):
        head = self.align(self.name(s.output), [s.formula])
        header = [self.inline(self.name(s.input)), self.inline(self.name(s.output)),
                  self.inline(f"<mrow>{self.name(s.output)}<mo>&gt;</mo>{self.m(s.threshold)}</mrow>")]
        if s.all_match is not None:
            header += ["expected", ""]
        rows = []
        for r in s.rows:
            row = [self.inline(self.m(r.inputs)), self.inline(self.m(r.output)), esc(r.decision)]
            if r.matches is not None:
                row += [self.inline(self.m(r.expected)), "yes" if r.matches else "no"]
            rows.append(row)
        return head + self._table(header, rows, verdict(s))

    def _print_LinearPieces(self, s):
        head = self.align(self.name(s.output), [s.formula])
        y = self.name(s.output)
        below, above = (self.inline(f"<mrow>{y}<mo>{sign}</mo><mn>0</mn></mrow>") for sign in ("&lt;", "&gt;"))
        header = ["region", self.inline(y), f"{self.cell(s.below)} ({below})", f"{self.cell(s.above)} ({above})"]
        rows = [[", ".join(self.inline(self.m(r)) for r in p.region), self.inline(self.m(p.expression)),
                 self._where(p.below), self._where(p.above)] for p in s.pieces]
        zero = self.inline(f"<mrow>{y}<mo>=</mo><mn>0</mn></mrow>")
        plot = boundary_plot(s)
        figure = f"<figure>{plot_svg(plot, tuple(map(self.plain_name, plot.axes)))}</figure>\n" if plot else ""
        caption = f"Decision boundary: {zero} on each piece where it changes sign."
        return head + self._table(header, rows, caption) + figure

    def plain_name(self, name: str) -> str:
        """A name in the sheet's notation as plain Unicode text (x₁), for a picture's labels."""
        return self.pretty.form(sp.Symbol(name)).render(wrap_line=False)

    def _where(self, w):
        if w is True:
            return "the whole region"
        if w is False:
            return "–"
        return self.inline(self.m(w))

    def _print_GraphStructure(self, s):
        figure = self.picture(s.network if s.network is not None else graph_diagram(s))
        if s.network is not None:   # weights sit on the edges there, so the graph's counts would not match it
            return figure
        if not s.listed:
            return figure + f"<p>{len(s.nodes)} nodes, {len(s.edges)} directed edges.</p>\n"
        into: dict = {}
        for a, b in s.edges:
            into.setdefault(b, []).append(a)
        rows = [[self.inline(self.name(n)), self.cell(role),
                 ", ".join(self.inline(self.name(a)) for a in into.get(n, []))] for n, role in s.nodes]
        return figure + self._table(["node", "kind", "computed from"], rows,
                                    f"{len(s.nodes)} nodes, {len(s.edges)} directed edges.")

    # -- answers: the box that ends each part, and the table that ends the solution -----------------
    def value_math(self, value) -> str:
        """A value as an answer writes it: a scalar, a short vector inline (a, b)ᵀ, a matrix."""
        kind = matrix_kind(value)
        if kind == "one":
            return self.m(value[0])
        if kind in ("column", "row"):
            inside = '<mo>,</mo><mspace width="0.25em"></mspace>'.join(self.m(v) for v in value)
            tuple_ = f'<mrow><mo stretchy="false">(</mo>{inside}<mo stretchy="false">)</mo></mrow>'
            return f'<msup>{tuple_}<mi mathvariant="normal">T</mi></msup>' if kind == "column" else tuple_
        return self.m(value)

    def reason(self, r) -> str:
        """Why an exact zero is one: the ReLU units that are off, as computed in the model."""
        units = [f"<mrow>{self.name(unit_name(o))}<mo>=</mo>{self.m(o.value)}"
                 f"<mo>{'&lt;' if o.value < 0 else '='}</mo><mn>0</mn></mrow>" for o in r.off]
        head = "ReLU off: " if matrix_kind(r.value) in ("scalar", "one") else "zero entries: ReLU off: "
        return f"<mrow>{self.words('(' + head, alone=True)}{'<mo>,</mo>'.join(units)}<mtext>)</mtext></mrow>"

    def notes_of(self, r) -> list:
        out = [self.reason(r)] if r.off else []
        if r.kind == "loss_after" and r.before is not None:
            out.append(f"<mrow>{self.words('(before: ', alone=True)}{self.m(r.before)}<mtext>)</mtext></mrow>")
        if getattr(r, "exact", None) is not None:
            out.append(f"<mrow>{self.words('(exact' + chr(0xA0), alone=True)}{self.m(r.exact)}"
                       f"{self.words(f'; from rounding each step to {r.decimals} decimals)', alone=True)}</mrow>")
        return out

    def marks(self, results: list) -> str:
        """The part's answers no step ends in: each value boxed, on a line of its own under the part."""
        lines = []
        for r in results:
            body = f"<mrow>{self.quantity(r)}<mo>{self.sign(r.value)}</mo>{self.value_math(r.value)}</mrow>"
            notes = "".join(f'<mspace width="1em"></mspace>{n}' for n in self.notes_of(r))
            boxed = f'<mrow><mrow class="boxed">{body}</mrow>{notes}</mrow>'
            lines.append(f'<div><math display="block">{boxed}</math></div>')
        return f'<div class="answers display">{"".join(lines)}</div>\n'

    def answers_table(self, solution) -> str:
        """Every asked value: part, quantity, value (a loss as before → after)."""
        parts = any(r.part is not None for r in solution.results)
        rows = []
        for r in solution.results:
            value = ("<mo>≈</mo>" if self.math.is_rounded(r.value) else "") + self.value_math(r.value)
            if r.kind == "loss_after" and r.before is not None:
                value = f"{self.m(r.before)}<mo>→</mo>{value}"
            if r.exact is not None:  # a chain rounded at each step: its exact value beside
                value += (f'<mspace width="1.5em"></mspace><mtext>exact</mtext>'
                          f'<mo>{"≈" if self.math.is_rounded(r.exact) else "="}</mo>{self.value_math(r.exact)}')
            rows.append(([f"({self.cell(r.part)})"] if parts else [])
                        + [self.inline(self.quantity(r, inline=True)), self.inline(f"<mrow>{value}</mrow>")])
        return self._table((["part"] if parts else []) + ["quantity", "value"], rows)

    def body(self, solution) -> str:
        """The page's main part: heading, notes, the network drawing, then every section and the answers."""
        out = [f"<h1>{esc(solution.title)}</h1>"]
        answers_only = getattr(solution, "answers_only", False)
        if solution.source:
            out.append(f'<p class="source">{esc(solution.source)}</p>')
        if solution.notes and not answers_only:
            out.append(f'<div class="notes">{self.prose(solution.notes)}</div>')
        if self.comment and not answers_only:
            out.append(f'<div class="comment"><p><strong>Comment.</strong></p>{self.prose(self.comment)}</div>')
        if hasattr(solution, "results") and self.rounding_note(solution):
            out.append(f'<p class="rounding">{esc(self.rounding_note(solution))}</p>')
        if answers_only:   # (a table of nothing where nothing is asked)
            return "\n".join(out + (["<h2>Answers</h2>", self.answers_table(solution)] if solution.results else []))
        if getattr(solution, "diagram", None) is not None:
            out.append(self.picture(solution.diagram))
        groups = parts_in_order(solution) if hasattr(solution, "results") else [(solution.sections, [])]
        for sections, results in groups:
            boxes = answer_steps([step for section in sections for step in section.steps], results)
            left = list(results)
            for k, section in enumerate(sections):
                title = self.heading(section.title)
                if k and section.part:  # a further section of the same part: a lighter heading
                    out.append(f"<h3>{title}</h3>")
                else:
                    out.append(f"<h2>{f'({esc(section.part)}) ' if section.part else ''}{title}</h2>")
                if section.steps and all(plain_given(step) for step in section.steps):
                    out.append(self.givens(section.steps))
                    continue
                for step in section.steps:
                    r = boxes.get(id(step))
                    if r is not None:
                        self.boxing = "".join(f'<mspace width="1em"></mspace>{n}' for n in self.notes_of(r)
                                              if r.kind != "loss_after")  # the before line follows
                    out.append(self.print_step(step))
                    if r is not None and self.boxing is None:
                        left = [x for x in left if x is not r]
                    self.boxing = None
            if left:
                out.append(self.marks(left))
        if getattr(solution, "results", ()):
            out += ["<h2>Answers</h2>", self.answers_table(solution)]
        return "\n".join(out)


def characters(mathml: str) -> int:
    """About how wide MathML is set, in characters of its text (a fraction counts its wider half)."""
    fractions = re.findall(r"<mfrac>(.*?)</mfrac>", mathml)
    narrow = sum(min(len(_text(a)), len(_text(b))) for a, b in (_halves(f) for f in fractions))
    return len(_text(mathml)) - narrow


def _halves(fraction: str) -> tuple:
    """The two halves of an mfrac's inside when each is one mrow (else the whole and nothing)."""
    m = re.fullmatch(r"(<mrow>.*?</mrow>)(<mrow>.*</mrow>)", fraction)
    return (m.group(1), m.group(2)) if m else (fraction, "")


def _text(mathml: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", mathml))


def _atoms(e, room: int) -> list:
    """The pieces of MathML a line may be cut between: (text, whether a cut may come before it). An mrow
    wider than the line is opened into its children; a cut comes before an operator that is not the first
    thing inside a bracket."""
    if e.nodeType != e.ELEMENT_NODE or e.tagName != "mrow" or characters(e.toxml()) <= room:
        return [(e.toxml(), _operator(e) in BREAKS)]
    out: list = []
    for child in e.childNodes:
        for xml, breakable in _atoms(child, room):
            opened = bool(out) and out[-1][0].endswith(("(</mo>", "[</mo>"))
            if opened and xml.startswith("<mo>"):   # a sign just inside a bracket, as its own mrow would set it
                xml = xml.replace("<mo>", '<mo form="prefix">', 1)
            out.append((xml, breakable and bool(out) and not opened))
    return out


def _operator(e) -> str:
    """The text of an <mo>, else ''."""
    if e.nodeType != e.ELEMENT_NODE or e.tagName != "mo":
        return ""
    return "".join(t.data for t in e.childNodes if t.nodeType == t.TEXT_NODE)


def _line(line) -> str:
    """The right side of one display line: = part = part …"""
    return "".join((f"<mo>{sign}</mo>" if sign else "") + body for sign, body in line[1])


def page(title: str, body: str) -> str:
    """A whole page: no scripts, nothing fetched, the style inline."""
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
            'img-src data:"/>\n'
            f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n"
            "</body>\n</html>\n")


def to_html(solution, digits: int = 4, exact: bool = False, comment: str | None = None, standalone: bool = True,
            figures: bool = True, timeout: float = DEFAULT_TIMEOUT, warn=None) -> str:
    """A Solution (or Derivation) as a self-contained HTML page (only its <main> part with standalone=False),
    the network and graphs drawn inline as SVG by the sandboxed dot (figures=False: not drawn); where dot
    cannot draw, the page has no such figure and warn (default: warnings.warn) is told why, once. A
    decision-boundary plot needs no dot. The file's comment, when given, after the notes."""
    said: list = []

    def figure(drawing):
        if said:
            return None
        try:
            return drawing_svg(drawing, digits, exact, timeout)
        except ExternalError as e:
            said.append(e.message)
            (warn or (lambda m: warnings.warn(m, RuntimeWarning, stacklevel=3)))(
                f"the page has no drawing: {e.message}")
            return None

    document = HtmlDocument(digits, exact, getattr(solution, "names", {}), comment, figure if figures else None)
    body = document.body(solution)
    return page(solution.title, body) if standalone else f"<main>\n{body}\n</main>\n"


__all__ = ["to_html", "HtmlDocument", "page", "characters"]
