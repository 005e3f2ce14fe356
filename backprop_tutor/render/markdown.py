"""The notebook printer: a Solution as Markdown with MathJax display math, for Jupyter."""
from __future__ import annotations

import re

from .latex import LatexDocument, text


class MarkdownDocument(LatexDocument):
    """The LaTeX printer's steps, as `$$\\begin{aligned}…$$` blocks under Markdown headings."""

    format_name = "Markdown"

    def align(self, lhs: str, parts: list, value=None, notes=(), rules=(), margin: str = "") -> str:
        block = super().align(lhs, parts, value)
        inner = block.replace("\\begin{align*}", "\\begin{aligned}").replace("\\end{align*}", "\\end{aligned}")
        inner = inner.replace(" \\\\*\n", " \\\\\n")  # no pages in a notebook
        out = f"$$\n{inner.strip()}\n$$\n"
        out += "".join(f"* {n}\n" for n in (*notes, *rules, *([margin] if margin else [])))  # a rule's $…$ math is the viewer's to set
        return out + "\n"

    def line(self, math: str) -> str:
        """One line of inline math, as a paragraph of its own."""
        return f"${math}$\n\n"

    def cell(self, s: str) -> str:
        """Plain text in a table cell: as it reads, a | kept from ending the cell."""
        return str(s).replace("|", "\\|")

    def _table(self, header: list, rows: list, caption: str = "") -> str:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n\n" + (caption + "\n\n" if caption else "")

    def body(self, solution) -> str:
        out = [f"## {solution.title}\n"]
        if solution.source:
            out.append(f"*{solution.source}*\n")
        if solution.notes:  # inline $…$ math stays as written: Markdown viewers set it
            out.append(solution.notes.strip() + "\n")
        if self.comment:
            quoted = "\n>\n> ".join(p.strip() for p in re.split(r"\n\s*\n", self.comment.strip()))
            out.append(f"> **Comment.** {quoted}\n")
        for section in solution.sections:
            head = f"({section.part}) {section.title}" if section.part else section.title
            out.append(f"### {head}\n")
            out += [self.print_step(step) for step in section.steps]
        return "\n".join(out)


def to_markdown(solution, digits: int = 4, exact: bool = False, comment: str | None = None) -> str:
    """A Solution (or Derivation) as Markdown with display math; the file's comment, when given, after the notes."""
    return MarkdownDocument(digits, exact, getattr(solution, "names", {}), comment=comment).body(solution)


__all__ = ["to_markdown", "text"]
