"""The notebook printer: a Solution as Markdown with MathJax display math, for Jupyter."""
from __future__ import annotations

import re

from ..notation import sheet_rule
from .latex import LatexDocument, text
from .printer import PARTIAL_IN_TITLE, parts_in_order, plain_given


class MarkdownDocument(LatexDocument):
    """The LaTeX printer's steps, as `$$\\begin{aligned}…$$` blocks under Markdown headings."""

    format_name = "Markdown"

    def align(self, lhs: str, parts: list, value=None, notes=(), rules=(), margin: str = "") -> str:
        block = super().align(lhs, parts, value)
        inner = block.replace("\\begin{align*}", "\\begin{aligned}").replace("\\end{align*}", "\\end{aligned}")
        inner = inner.replace(" \\\\*\n", " \\\\\n")  # no pages in a notebook
        out = f"$$\n{inner.strip()}\n$$\n"
        out += "".join(f"* {n}\n" for n in (*notes, *(sheet_rule(r, self.names) for r in rules),
                                             *([margin] if margin else [])))  # a rule's $…$ math is the viewer's to set
        return out + "\n"

    def givens(self, steps) -> str:
        """The given values a few to a line, as one display."""
        inner = super().givens(steps).replace("\\begin{gather*}", "\\begin{gathered}").replace(
            "\\end{gather*}", "\\end{gathered}")
        return f"$$\n{inner.strip()}\n$$\n\n"

    def line(self, math: str) -> str:
        """One line of inline math, as a paragraph of its own."""
        return f"${math}$\n\n"

    def heading(self, title: str) -> str:
        """A section title as Markdown: each ∂L/∂W21 in it as inline math in the sheet's names."""
        return PARTIAL_IN_TITLE.sub(lambda m: f"$\\partial {self.name(m.group(1))}/\\partial "
                                    + ("\\,\\mathrm{node}" if m.group(2) == "node" else self.name(m.group(2))) + "$",
                                    title)

    def cell(self, s: str) -> str:
        """Plain text in a table cell: as it reads, a | kept from ending the cell."""
        return str(s).replace("|", "\\|")

    def _table(self, header: list, rows: list, caption: str = "") -> str:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n\n" + (caption + "\n\n" if caption else "")

    def picture(self, tikz: str) -> str:
        """Nothing: Markdown viewers do not set TikZ (the LaTeX and PDF exports draw it)."""
        return ""

    def _print_GraphStructure(self, s):
        into: dict = {}
        for a, b in s.edges:
            into.setdefault(b, []).append(a)
        rows = [[f"${self.name(n)}$", self.cell(role), ", ".join(f"${self.name(a)}$" for a in into[n])]
                for n, role in s.nodes if n in into and (s.forward_in is None or role == "gradient")]
        head = (f"The graph of ({s.forward_in}), with a gradient node for each quantity:\n\n" if s.forward_in
                else "".join(f"{role.capitalize()}{'s' if len(names) > 1 else ''}: "
                             + ", ".join(f"${self.name(n)}$" for n in names) + "\n\n"
                             for role, names in _leaves(s, into).items()))
        return head + self._table(["node", "kind", "computed from"], rows,
                                  f"{len(s.nodes)} nodes, {len(s.edges)} directed edges.")

    def answers_rows(self, header: list, entries: list, widest: float) -> str:
        """The answers table, one value to a row (a viewer scrolls)."""
        return self._table(header, [row for entry in entries for row in entry])

    def table_lines(self, value: str, room: float) -> list:
        """A value in a Markdown table stays on its row: the viewer wraps it."""
        return [value]

    def value_lines(self, value, tex: str, room: float) -> list:
        """A wide value stays whole too: the viewer scrolls it."""
        return [tex]

    def marks(self, results: list) -> str:
        """The part's answer in bold, each value on a line of its own marked ▶."""
        lines = []
        for r in results:
            notes = " ".join(f"${n}$" for n in self.notes_of(r))
            lines.append(f"**▶ ${self.quantity(r)} {self.sign(r.value)} {self.value_tex(r.value)}$**"
                         + (f" {notes}" if notes else ""))
        return "\\\n".join(lines) + "\n"

    def body(self, solution) -> str:
        out = [f"## {solution.title}\n"]
        answers_only = getattr(solution, "answers_only", False)
        if solution.source:
            out.append(f"*{solution.source}*\n")
        if solution.notes and not answers_only:  # inline $…$ math stays as written: Markdown viewers set it
            out.append(solution.notes.strip() + "\n")
        if self.comment and not answers_only:
            quoted = "\n>\n> ".join(p.strip() for p in re.split(r"\n\s*\n", self.comment.strip()))
            out.append(f"> **Comment.** {quoted}\n")
        if (hasattr(solution, "results") or getattr(solution, "rounding", None) is not None) \
                and self.rounding_note(solution):
            out.append(f"*{self.rounding_note(solution)}*\n")
        groups = [] if answers_only else (
            parts_in_order(solution) if hasattr(solution, "results") else [(solution.sections, [])])
        for sections, results in groups:
            for section in sections:
                title = self.heading(section.title)
                head = f"({section.part}) {title}" if section.part else title
                out.append(f"### {head}\n")
                if section.steps and all(plain_given(step) for step in section.steps):
                    out.append(self.givens(section.steps))
                    continue
                out += [self.print_step(step) for step in section.steps]
            if results:
                out.append(self.marks(results))
        if getattr(solution, "results", ()):
            out += ["### Answers\n", self.answers_table(solution)]
        elif getattr(solution, "exact", None) is not None:  # a derivation, its chain rounded at each step
            out.append(f"exact: ${self.m(solution.exact)}$ *({self.drift(solution.rounding)})*\n")
        return "\n".join(out)


def to_markdown(solution, digits: int = 4, exact: bool = False, comment: str | None = None) -> str:
    """A Solution (or Derivation) as Markdown with display math; the file's comment, when given, after the notes."""
    return MarkdownDocument(digits, exact, getattr(solution, "names", {}), comment=comment).body(solution)


__all__ = ["to_markdown", "text"]


def _leaves(s, into: dict) -> dict:
    """The nodes with no edge into them, by kind."""
    out: dict = {}
    for name, role in s.nodes:
        if name not in into:
            out.setdefault(role, []).append(name)
    return out
