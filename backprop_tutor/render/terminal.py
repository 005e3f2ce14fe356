"""The terminal printer: a Solution as Rich text, formulas pretty-printed by SymPy."""
from __future__ import annotations

import sympy as sp
from rich import box
from rich.cells import cell_len
from rich.console import Console, Group
from rich.table import Table
from rich.padding import Padding
from rich.rule import Rule
from rich.text import Text
from sympy.printing.pretty.stringpict import prettyForm, stringPict

from ..notation import is_element, shape_text, sheet_rule
from ..prose import prose_unicode
from .console import literal, trimmed
from .pretty import MathPrinter, Summary, chain
from .wrap import wrap_picture
from .printer import PARTIAL_IN_TITLE, THROUGH_TIME, Printer, matrix_kind, parts_in_order, plain_given, unit_name, worked_lines

NOT_CHECKED = "not checked (symbolic)"
JOINED_WIDTH = 56  # a part's answers share one line up to this width, whatever the terminal's (a short line)
MARGIN_AT = 78  # a rule beside its step ends at this column (or at the screen's edge, if nearer)
BESIDE = 12  # columns a matrix leaves on its line for the name and sign before it (∂L/∂W₂ ≈ )
ROLE_WORDS = {"input": "input", "parameter": "parameter", "target": "target",
              "derived": "derived parameter", "forward": "computed", "loss": "loss"}


class TerminalPrinter(Printer):
    """Each step as lines of Unicode math: formula, then the numbers, then the value."""

    format_name = "terminal"

    def __init__(self, digits: int = 4, exact: bool = False, width: int = 80, comment: str | None = None,
                 names: dict | None = None, full: bool = False):
        super().__init__(digits, exact)
        self.width = width - 2  # steps are indented by two
        # a large matrix by its first and last rows and columns, unless every entry is asked for
        self.math = MathPrinter(digits, exact, names, None if full else Summary(self.width - BESIDE))
        self.names = names or {}
        self.comment = comment

    def name(self, name: str) -> str:
        return self.math.form(sp.Symbol(name)).render(wrap_line=False)

    def partial(self, name: str, of: str = "L") -> str:
        return f"∂{self.name(of)}/∂{self.name(name)}"

    def heading(self, title: str) -> str:
        """A section title with each ∂L/∂W21 in it written in the sheet's names."""
        return PARTIAL_IN_TITLE.sub(lambda m: "∂" + self.name(m.group(1)) + "/∂"
                                    + (m.group(2) if m.group(2) == "node" else self.name(m.group(2))), title)

    def block(self, lhs: str, parts: list, value, rules=(), extra=(), one_line: bool = False) -> Group:
        """A step's lines; its rules in the margin of its first line where they fit, else below it.
        A step of one line is followed by the next at once, a longer one by an empty line; one_line
        (a neuron's step) writes a short chain on one line, as a sheet does."""
        text = chain(self.math, lhs, parts, self.math.is_rounded(value), self.width, one_line)
        rules = [prose_unicode(sheet_rule(r, self.names)) for r in rules]
        beside, margin = self.margin(text, rules)
        lines = [beside] + ([] if margin else [self.note("  " + r) for r in rules])
        lines += [self.note("  " + e) if "\n" not in e else
                  Text("\n".join("  " + line for line in e.split("\n")), style="dim", no_wrap=True) for e in extra]
        if len(lines) == 1 and "\n" not in text:
            return Group(*lines)
        return Group(*lines, Text(""))

    def margin(self, text: str, rules: list) -> tuple:
        """The step's text with its rules at the right of its first line of math, if they fit there."""
        rows = text.split("\n")
        at = next((i for i, row in enumerate(rows) if " = " in row or " ≈ " in row), 0)
        note = "   ".join(rules)
        room = self.width - cell_len(rows[at]) - 4
        if not rules or cell_len(note) > room:
            return Text(text, no_wrap=True, overflow="ignore"), False
        out = Text(no_wrap=True, overflow="ignore")
        for i, row in enumerate(rows):
            out.append(("\n" if i else "") + row)
            if i == at:
                gap = max(4, min(self.width, MARGIN_AT) - cell_len(row) - cell_len(note))
                out.append(" " * gap + note, style="dim")
        return out, True

    def note(self, text: str) -> Text:
        """A dim line under a step, broken between terms (never inside f(…)) where it is too long."""
        return Text("\n".join(wrap_picture([text], self.width, 4)), style="dim", no_wrap=True)

    def _print_Given(self, s):
        tag = ROLE_WORDS[s.role] + ", " + shape_text(s.shape) + (", frozen" if s.frozen else "")
        parts = [s.formula, s.value] if s.formula is not None else [s.value]
        return self.block(self.name(s.name), parts, s.value, extra=(f"({tag})",))

    def _print_Forward(self, s):
        return self.block(self.name(s.name), [s.formula, s.numbers, *self._closed(s), s.value], s.value, s.rules,
                          one_line=is_element(s.name))

    def _print_LossValue(self, s):
        extra = ()
        if s.before is not None:
            before, after = self.math.form(s.before), self.math.form(s.value)
            if before.height() == 1 and after.height() == 1:
                sign = {v: "≈" if self.math.is_rounded(v) else "=" for v in (s.before, s.value)}
                loss = self.name(s.name)
                extra = (f"before the update: {loss} {sign[s.before]} {before.render(wrap_line=False)}, "
                         f"after: {loss} {sign[s.value]} {after.render(wrap_line=False)}",)
            else:  # formulas drawn in two dimensions: each on lines of its own
                extra = (chain(self.math, f"before the update: {self.name(s.name)}", [s.before], width=self.width - 2),
                         chain(self.math, f"after the update:  {self.name(s.name)}", [s.value], width=self.width - 2))
        return self.block(self.name(s.name), [s.formula, s.numbers, *self._closed(s), s.value], s.value, s.rules, extra)

    def _print_Delta(self, s):
        lhs = f"{self.name(s.symbol or 'delta_' + s.name)} = {self.partial(s.name, s.of)}"
        users = ", ".join(self.name(u) for u in s.users) or f"nothing: no path to {s.of}"
        extra = (f"(sum over the nodes that use {self.name(s.name)}: {users})",) if s.summed else ()
        return self.block(lhs, worked_lines(s), s.value, s.rules, extra, one_line=is_element(s.name))

    def _print_Reference(self, s):
        name = self.referred(s)
        lhs = f"{name} from {_where_shown(s.part)}"
        if s.value is None:
            return Group(Text(lhs, no_wrap=True, overflow="ignore"))
        text = chain(self.math, lhs, [s.value], self.math.is_rounded(s.value), self.width)
        return Group(Text(text, no_wrap=True, overflow="ignore"), *([Text("")] if "\n" in text else []))

    def _print_Gradient(self, s):
        if s.index is not None:
            where = f"{s.name}[{','.join(map(str, s.index))}]"
            lhs = self.partial(s.label, s.of) + ("" if s.label == where else f" (= {where})")
        else:
            lhs = self.partial(s.name, s.of)
        return self.block(lhs, worked_lines(s), s.value, extra=self.checked(s.check))

    def checked(self, check) -> list:
        """A gradient's finite-difference check as a line below it (none without one)."""
        if check is None:
            return []
        if check.estimate is None:
            return [f"check: {NOT_CHECKED}"]
        exact = "" if check.exact is None else " of the exact loss"
        against = "" if check.exact is None else f" from the exact gradient {self.math.inline(check.exact)}:"
        return [f"check: central finite difference{exact} (h = {self.math.form(check.step).render(wrap_line=False)}) "
                f"{'≈' if self.math.is_rounded(check.estimate) else '='} {self.math.inline(check.estimate)}, "
                f"difference{against} {self.math.inline(check.difference)}"]

    def _print_ThroughTime(self, s):
        lhs = self.partial(s.name, s.of)
        out = [self.block(lhs, [s.general], None, extra=(THROUGH_TIME,))]
        out += [self.block(self.math.form(f), [p for p in (n, v) if p is not None], v) for _, f, n, v in s.terms]
        out.append(self.block(lhs, [s.total, s.value], s.value, extra=self.checked(s.check)))
        return Group(*out)

    def _print_Update(self, s):
        label = s.shown_name
        name = self.name(label) if s.index is None or s.label else label
        if s.frozen:
            return self.block(f"{name} (frozen)", [s.old], s.old,
                              extra=("kept at its value: frozen parameters are not updated",))
        slope = self.partial(label) if s.label or s.index is None else f"∂{self.name('L')}/∂{label}"
        lhs = f"{name} ← {name} − α·{slope}"
        extra = (f"{slope} from {_where_shown(s.shown_in)}",) if s.shown_in else ()
        return self.block(lhs, [s.numbers, s.new], s.new, extra=extra)

    def _print_ChainRule(self, s):
        extra = ("with the deltas defined once each in the backward recursion below",) if s.shared and s.noted else ()
        return self.block(self.math.form(s.lhs), [s.formula], None, extra=extra)

    def _print_LocalDerivative(self, s):
        if s.applied:  # vectors and matrices: the factor as it acts on the delta coming back
            lhs = f"{self.partial(s.wrt, s.of)} applied to {self.name('delta_' + s.of)}"
            return self.block(lhs, [s.derivative], None, s.rules)
        block = self.block(self.math.form(s.partial), [s.derivative], s.derivative, s.rules)
        if s.expression is None:
            return block
        source = chain(self.math, f"  from {self.name(s.of)}", [s.expression], width=self.width)
        return Group(*block.renderables[:-1], Text(source, style="dim", no_wrap=True), Text(""))

    def _print_WholeDerivative(self, s):
        lhs = self.partial(s.wrt, s.of)
        if s.expression is None:
            return self.block(lhs, [s.value], s.value, extra=(
                f"(the expanded form has more than {s.size - 1} operations and is left out)",))
        if not s.shown:
            return self.block(lhs, [s.value], s.value, extra=(
                f"(the expanded form has {s.size} operations; --expand shows it)",))
        return self.block(lhs, [s.expression, s.numbers, s.value], s.value)

    def _print_TruthTable(self, s):
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for column in (self.name(s.input), self.name(s.output),
                       f"{self.name(s.output)} > {self.math.inline(s.threshold)}",
                       *(("expected", "") if s.all_match is not None else ())):
            table.add_column(*literal(column), justify="right")
        for row in s.rows:
            cells = [self.math.inline(row.inputs), self.math.inline(row.output), str(row.decision)]
            if row.matches is not None:
                cells += [self.math.inline(row.expected), "✓" if row.matches else "✗"]
            table.add_row(*literal(*cells))
        verdict = ("every row matches" if s.all_match else "some rows do not match") if s.all_match is not None else ""
        return Group(Text(chain(self.math, self.name(s.output), [s.formula], width=self.width), no_wrap=True),
                     table, Text(verdict, style="bold green" if s.all_match else "bold red"), Text(""))

    def _print_LinearPieces(self, s):
        out = [Text(chain(self.math, self.name(s.output), [s.formula], width=self.width), no_wrap=True),
               self.note(f"{len(s.arguments)} ReLU argument(s) split the plane: "
                         + ", ".join(self.math.inline(a) for a in s.arguments))]
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for column in ("region", self.name(s.output), s.below + f" ({self.name(s.output)} < 0)",
                       s.above + f" ({self.name(s.output)} > 0)"):
            table.add_column(*literal(column))
        for p in s.pieces:
            region = ", ".join(self.math.inline(r) for r in p.region)
            table.add_row(*literal(region, self.math.inline(p.expression), _where(self.math, p.below),
                                   _where(self.math, p.above)))
        out += [table, Text(f"decision boundary: {self.name(s.output)} = 0, i.e. each piece = 0 "
                            "where it changes sign within its region", style="dim"), Text("")]
        return Group(*out)

    def _print_GraphStructure(self, s):
        into: dict = {}
        for a, b in s.edges:
            into.setdefault(b, []).append(a)
        # the leaves have no edge into them: one line per kind says them all
        leaves: dict = {}
        for name, role in s.nodes:
            if name not in into:
                leaves.setdefault(role, []).append(self.name(name))
        lines = [Text(f"{ROLE_WORDS.get(role, role)}{'s' if len(names) > 1 else ''}: {', '.join(names)}")
                 for role, names in leaves.items()]
        if s.forward_in is not None:   # the forward nodes stand in that part already
            lines = [Text(f"The graph of ({s.forward_in}), with a gradient node for each quantity:")]
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for column in ("node", "kind", "computed from (edges into it)"):
            table.add_column(column, overflow="fold")
        for name, role in s.nodes:
            if name in into and (s.forward_in is None or role == "gradient"):
                table.add_row(*literal(self.name(name), role, ", ".join(self.name(a) for a in into[name])))
        edges = Text(f"{len(s.nodes)} nodes, {len(s.edges)} directed edges", style="dim")
        return Group(*lines, table, edges, Text(""))

    def _print_Dimensions(self, s):
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for column in ("name", "kind", "shape"):
            table.add_column(column)
        for name, role, shape in s.rows:
            table.add_row(*literal(self.name(name), ROLE_WORDS.get(role, role), shape_text(shape)))
        return Group(table, Text(""))

    # -- answers: the mark that ends each part, and the table that ends the solution ---------------
    def value_form(self, value) -> prettyForm:
        """A value as an answer writes it: a scalar, a short vector inline (a, b)ᵀ, a matrix drawn."""
        kind = matrix_kind(value)
        if kind == "one":
            return self.math.form(value[0])
        if kind in ("column", "row"):
            text = self.math.listed(value)
            if text is not None:
                return prettyForm(text + ("ᵀ" if kind == "column" else ""))
        return self.math.form(value)

    def sign(self, value) -> str:
        return "≈" if self.math.is_rounded(value) else "="

    def reason(self, r) -> str:
        """Why an exact zero is one: the ReLU units that are off, as computed in the model."""
        if not r.off:
            return ""
        units = ", ".join(f"{self.name(unit_name(o))} = {self.math.inline(o.value)} {'<' if o.value < 0 else '='} 0"
                          for o in r.off)
        scalar = matrix_kind(r.value) in ("scalar", "one")
        return f"({'' if scalar else 'zero entries: '}ReLU off: {units})"

    def marks(self, results: list) -> Group:
        """The part's answer, bold, each line marked ▶: one line each, or one line when short."""
        lines, short = [], []
        for r in results:
            value = self.value_form(r.value)
            notes = [self.reason(r)] if r.off else []
            below = ""
            if r.exact is not None:
                shown = self.value_form(r.exact)
                exact = f"exact: {shown.render(wrap_line=False) if shown.height() == 1 else self.math.inline(r.exact)}"
                if cell_len(exact) > self.width - 4:  # a wide matrix: a row to a line, under the value
                    below += "".join(f"\n    {'exact: ' if i == 0 else '        '}{row}"
                                     for i, row in enumerate(exact[7:].split("; ")))
                    below += f"\n    ({self.drift(r.decimals)})"
                else:
                    notes += [exact, f"({self.drift(r.decimals)})"]
            if r.kind == "loss_after" and r.before is not None:
                before = self.math.form(r.before)
                if before.height() == 1:
                    notes.append(f"(before: {before.render(wrap_line=False)})")
                else:  # a formula drawn in two dimensions: on lines of its own
                    below += "\n" + chain(self.math, "    before the update: L", [r.before], width=self.width)
            line = chain(self.math, prettyForm("▶ " + self.quantity(r)), [value], self.math.is_rounded(r.value),
                         self.width)
            short.append(line[2:] if "\n" not in line and not notes and not below else None)
            for note in notes:  # beside the value where it fits, else on a line of its own below
                last = line.rsplit("\n", 1)[-1]
                line += f"   {note}" if cell_len(last) + 3 + cell_len(note) <= self.width else \
                    "".join(f"\n    {piece}" for piece in _between_units(note, self.width - 4))
            lines.append(line + below)
        joined = "▶ " + ", ".join(t for t in short if t is not None)
        if len(results) > 1 and None not in short and cell_len(joined) <= JOINED_WIDTH:
            lines = [joined]
        return Group(*[Text(line, style="bold", no_wrap=True, overflow="ignore") for line in lines], Text(""))

    def table_value(self, r, width: int, value=None) -> Text:
        """A value in the table (r's own, or the one given: its exact value): as the mark writes it, a loss
        as before → after; a formula drawn in two dimensions is broken between terms to the column's
        width, never folded inside a symbol."""
        value = r.value if value is None else value
        rows = self.value_form(value).render(wrap_line=False).split("\n")
        if self.math.is_rounded(value):
            rows = [("≈ " if i == len(rows) // 2 else "  ") + row for i, row in enumerate(rows)]
        if r.kind == "loss_after" and r.before is not None and len(rows) == 1 and value is r.value:
            before = self.math.inline(r.before)
            rows = [f"{'≈ ' if self.math.is_rounded(r.before) else ''}{before} → {rows[0]}"]
        if max(cell_len(row) for row in rows) > width:
            rows = wrap_picture(rows, width, 2)
        if r.exact is not None and value is r.value:  # a chain rounded at each step: the exact value too
            exact = self.table_value(r, width - 6, r.exact).plain.split("\n")
            if len(rows) == len(exact) == 1 and cell_len(rows[0] + exact[0]) + 10 <= width:
                rows = [f"{rows[0]}   exact {exact[0] if exact[0].startswith('≈ ') else '= ' + exact[0]}"]
            else:
                rows += [("exact: " if i == 0 else "       ") + row for i, row in enumerate(exact)]
        return Text("\n".join(rows), no_wrap=True, overflow="ignore")

    def answers_table(self, solution) -> Table:
        """Every asked value: part, quantity, value (a loss as before → after)."""
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        parts = any(r.part is not None for r in solution.results)
        heads = [f"({r.part})" if r.part is not None else "" for r in solution.results]
        names = [self.quantity(r) for r in solution.results]
        if parts:  # the label and the name whole: a narrow terminal takes its room from the values
            table.add_column("part", no_wrap=True, min_width=max(map(cell_len, heads + ["part"])))
        table.add_column("quantity", no_wrap=True, min_width=max(map(cell_len, names + ["quantity"])))
        table.add_column("value", no_wrap=True)
        room = self.width - max(map(cell_len, names + ["quantity"])) - 3 - 2 \
            - ((max(map(cell_len, heads + ["part"])) + 3) if parts else 0)  # 3 between columns, 2 the edges
        for head, name, r in zip(heads, names, solution.results):
            table.add_row(*literal(*([head] if parts else []), name, self.table_value(r, max(room, 16))))
        return table

    def render(self, solution, heading: bool = True) -> list:
        """The lines of a solution; heading=False leaves out its title, source and notes (a later
        derivation of the same problem)."""
        if not heading:
            return self.sections(solution)
        out = [Text(solution.title, style="bold")]
        if solution.source:
            out.append(Text(solution.source, style="dim"))
        answers_only = getattr(solution, "answers_only", False)
        if solution.notes and not answers_only:
            out.append(Text(prose_unicode(solution.notes), style="italic"))
        if self.comment and not answers_only:
            out.append(Text(""))
            out.append(Text("Comment: " + prose_unicode(self.comment), style="dim"))
        if (hasattr(solution, "results") or getattr(solution, "rounding", None) is not None) \
                and self.rounding_note(solution):
            out.append(Text(self.rounding_note(solution), style="dim"))
        out.append(Text(""))
        return out + self.sections(solution)

    def sections(self, solution) -> list:
        """Each part: its sections (heading, then steps) and the answer that ends it; then the table."""
        out = []
        if getattr(solution, "answers_only", False):
            groups = []
        elif hasattr(solution, "results"):
            groups = parts_in_order(solution)
        else:
            groups = [(solution.sections, [])]
        for sections, results in groups:
            for section in sections:
                title = self.heading(section.title)
                head = f"({section.part}) {title}" if section.part else title
                out.append(Heading(head))
                out.append(Text(""))
                if section.steps and all(plain_given(step) for step in section.steps):
                    out += [Padding(self.givens(section.steps), (0, 0, 0, 2), expand=False)]
                    continue
                printed = [self.print_step(step) for step in section.steps]
                out += [Padding(p, (0, 0, 0, 2), expand=False) for p in printed]
                last = printed[-1].renderables[-1] if printed and isinstance(printed[-1], Group) else None
                if isinstance(last, Text) and last.plain:  # a section of one-line steps: a line before the next
                    out.append(Text(""))
            if results:
                out.append(Padding(self.marks(results), (0, 0, 0, 2), expand=False))
        if getattr(solution, "results", ()):
            out += [Heading("Answers"), Padding(self.answers_table(solution), (0, 0, 0, 2), expand=False)]
        elif getattr(solution, "exact", None) is not None:  # a derivation, its chain rounded at each step
            drift = self.drift(solution.rounding)
            out.append(Text(f"  exact: {self.math.inline(solution.exact)}\n  ({drift})", no_wrap=True,
                            overflow="ignore"))
        return out

    def givens(self, steps) -> Group:
        """Given values as a sheet states them, a few to a line: inputs and targets, then the parameters
        (frozen ones marked), each group on as few lines as fit."""
        groups = [[s for s in steps if s.role in ("input", "target")], [s for s in steps if s.role == "parameter"]]
        lines, width = [], self.width
        for group in (g for g in groups if g):
            line = None
            for i, s in enumerate(group):
                item = prettyForm(*stringPict.next(prettyForm(self.name(s.name) + (" (frozen)" if s.frozen else "")
                                                              + " = "), self.math.form(s.value)))
                if i < len(group) - 1:
                    item = prettyForm(*stringPict.next(item, prettyForm(", ")))
                if line is not None and line.width() + item.width() + 2 <= width:
                    line = prettyForm(*stringPict.next(line, item))
                else:
                    if line is not None:
                        lines.append(line)
                    line = item
            lines.append(line)
        text = "\n".join(form.render(wrap_line=False) if form.width() <= width else  # too wide: in pieces
                         "\n".join(wrap_picture(form.render(wrap_line=False).split("\n"), width))
                         for form in lines)
        return Group(Text(text, no_wrap=True, overflow="ignore"), Text(""))


class Heading:
    """A section's title on a rule; a title too long for that goes above the rule, wrapped between words."""

    def __init__(self, title: str):
        self.title = title

    def __rich_console__(self, console, options):
        title = Text(self.title, style="bold cyan")
        if cell_len(self.title) + 4 <= options.max_width:  # Rich would cut it short with …
            yield Rule(title, align="left", style="cyan")
        else:
            yield title
            yield Rule(style="cyan")


def _where(math: MathPrinter, where) -> str:
    if where is True:
        return "all of the region"
    if where is False:
        return "—"
    return math.inline(where)


def _where_shown(part) -> str:
    """Where a step was shown before: a sheet's part, or a section above."""
    return "above" if part is None else f"({part})"


def print_solution(solution, console: Console | None = None, digits: int = 4, exact: bool = False,
                   comment: str | None = None, heading: bool = True, full: bool = False) -> None:
    """Print a whole solution to a Rich console (the terminal by default), the file's comment after
    the notes when given; heading=False leaves out the title, source and notes; full shows every entry
    of a large matrix, not only its first and last rows and columns."""
    console = console or Console(file=trimmed(), markup=False, emoji=False)
    printer = TerminalPrinter(digits, exact, console.width, comment, getattr(solution, "names", {}), full)
    console.print(Group(*printer.render(solution, heading)), crop=False, highlight=False)  # one print, one write


def _between_units(note: str, width: int) -> list:
    """A note as lines of at most `width` columns, broken after the commas between its units."""
    lines, current = [], ""
    for piece in note.split(", "):
        joined = f"{current}, {piece}" if current else piece
        if current and cell_len(joined) > width:
            lines.append(current + ",")
            current = piece
        else:
            current = joined
    return lines + [current]
