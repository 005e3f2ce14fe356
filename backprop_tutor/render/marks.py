"""The marks of a student's answers: a table for the terminal (Rich) and the JSON object for scripts."""
from __future__ import annotations

import json

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..marking import MISSING, RIGHT, WRONG, Marking
from ..solution import Result
from .jsonout import exact_shaped, shaped
from .console import literal
from .terminal import Heading, TerminalPrinter

STYLES = {RIGHT: "green", WRONG: "bold red", MISSING: "yellow"}
SIGNS = {RIGHT: "✓ right", WRONG: "✗ wrong", MISSING: "– missing"}
KINDS = {"value": "values", "loss": "loss", "grad": "gradients", "updated": "updated", "loss_after": "loss_after"}


def as_result(mark, names: dict) -> Result:
    """A mark as the Result the answers table names (∂L/∂W₂₁, W₂₁ (updated), L after the update)."""
    q = mark.quantity
    if q.kind == "result":
        part, _, rest = q.name.partition(":")
        kind, _, name = rest.rpartition(":")
        return Result(mark.part, kind or "values", name, mark.exact, mark.shape)
    name = q.name
    if q.index is not None:
        element = f"{q.name}[{','.join(map(str, q.index))}]"
        name = next((alias for alias, target in names.get("aliases", {}).items() if target == element), element)
    return Result(mark.part, KINDS[q.kind], name, mark.exact, mark.shape)


def written(value) -> str:
    """The student's value as they wrote it: 0.24, (0.7, 0.2), [0.4 0.6; -0.3 0.2]."""
    if value is None:
        return ""
    if hasattr(value, "text"):
        return value.text
    if value and isinstance(value[0], tuple):
        return "[" + "; ".join("  ".join(w.text for w in row) for row in value) + "]"
    return "(" + ", ".join(w.text for w in value) + ")"


def counts(marking: Marking) -> dict:
    """How many answers are right, wrong and missing."""
    return {s: sum(m.status == s for m in marking.marks) for s in (RIGHT, WRONG, MISSING)}


def summary(marking: Marking) -> str:
    """One sentence: how many answers are right, wrong and missing."""
    c = counts(marking)
    given = c[RIGHT] + c[WRONG]
    text = f"{given} answer{'s' if given != 1 else ''} checked: {c[RIGHT]} right, {c[WRONG]} wrong"
    if c[MISSING]:
        text += f"; {c[MISSING]} asked value{'s' if c[MISSING] != 1 else ''} missing"
        text += " (counted as wrong: --require-all)" if marking.require_all else ""
    return text + "."


MAX_SHOWN_DIGITS = 12   # the exact column never runs longer than this, however long the student's numbers


def print_marking(marking: Marking, console: Console, digits: int = 4) -> None:
    """The marks as a table, then the first wrong step with its correct working, then the likely slips."""
    solution = marking.solution
    printer = TerminalPrinter(digits, False, console.width, None, solution.names)
    out = [Text(solution.title, style="bold")]
    if solution.source:
        out.append(Text(solution.source, style="dim"))
    out += [Text(summary(marking)), Text(""), Heading("Marks"),
            Padding(_table(marking, printer), (0, 0, 0, 2), expand=False)]
    drifted = [m for m in marking.marks if m.chain is not None]
    if drifted:
        out += [Heading("Rounded at each step"), Text("")]
        out += [Padding(_drift(m, marking, printer), (0, 0, 0, 2), expand=False) for m in drifted]
    first = marking.first_wrong
    if first is not None:
        what = printer.quantity(as_result(first, solution.names))
        where = f" ({first.part})" if first.part else ""
        out += [Heading(f"First wrong step: {what}{where}"), Text("")]
        if marking.working:
            out.append(Padding(Text("The correct working:", style="dim"), (0, 0, 0, 2)))
            out += [Padding(printer.print_step(step), (0, 0, 0, 2), expand=False) for step in marking.working]
        else:
            out += [Padding(Text("(no step of the solution works this value out on its own)", style="dim"),
                            (0, 0, 0, 2)), Text("")]
        out.append(Padding(_diagnosis(first, marking, printer), (0, 0, 0, 2), expand=False))
        later = [m for m in marking.marks if m.status == WRONG and m is not first]
        if later:
            out += [Heading("The other wrong values"), Text("")]
            out += [Padding(_diagnosis(m, marking, printer, named=True), (0, 0, 0, 2), expand=False) for m in later]
    for item in out:
        console.print(item, crop=False, highlight=False)


def _table(marking: Marking, printer: TerminalPrinter) -> Table:
    """One row per mark: part, quantity, the student's value as written, the exact value, the mark."""
    rows = [(m, as_result(m, marking.solution.names)) for m in marking.marks]
    parts = any(m.part for m in marking.marks)
    heads = [f"({m.part})" if m.part else "" for m in marking.marks]
    names = [printer.quantity(r) for _, r in rows]
    fixed = max(map(cell_len, names + ["quantity"])) + 9 + 3 * 3 + 2 \
        + ((max(map(cell_len, heads + ["part"])) + 3) if parts else 0)
    room = max(printer.width - fixed, 16)  # the two values share the rest; the student's folds
    finer = {printer.digits: printer}
    for m, _ in rows:   # the exact value shown as finely as the student wrote theirs
        digits = min(max(written_digits(m.given), printer.digits), MAX_SHOWN_DIGITS)
        finer.setdefault(digits, TerminalPrinter(digits, False, printer.width, None, marking.solution.names))
    shows = [finer[min(max(written_digits(m.given), printer.digits), MAX_SHOWN_DIGITS)] for m, _ in rows]
    natural = max([cell_len(line) for (m, r), shown in zip(rows, shows) if m.status != MISSING
                   for line in shown.table_value(r, 10**6).plain.split("\n")] + [5])
    exact_room = natural if natural <= room - 12 else max(room // 2, 8)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    if parts:
        table.add_column("part", no_wrap=True)
    table.add_column("quantity", no_wrap=True)
    table.add_column("yours", overflow="fold", min_width=min(8, room - exact_room), max_width=room - exact_room)
    table.add_column("exact", no_wrap=True)
    table.add_column("mark", no_wrap=True, min_width=9)
    for head, name, (m, r), shown in zip(heads, names, rows, shows):
        exact = shown.table_value(r, exact_room) if m.status != MISSING else Text("")
        row = ([head] if parts else []) + [
            name, Text(written(m.given), style=STYLES[WRONG] if m.status == WRONG else ""),
            exact, Text(SIGNS[m.status], style=STYLES[m.status])]
        table.add_row(*literal(*row))
    return table


def written_digits(given) -> int:
    """The most significant digits the student wrote in a value (0 for none or exact fractions only)."""
    if isinstance(given, tuple):
        return max((written_digits(g) for g in given), default=0)
    return getattr(given, "digits", None) or 0


def _drift(m, marking: Marking, printer: TerminalPrinter) -> Group:
    """Why a value that is not the exact one is right: the working rounded at each step gives it."""
    r = as_result(m, marking.solution.names)
    exact = printer.table_value(r, 10**6).plain.replace("\n", " ")
    return Group(Text(f"{printer.quantity(r)}{f' ({m.part})' if m.part else ''}: yours is {written(m.given)}, "
                      f"as the working gives with every intermediate value rounded to {m.chain} decimals; "
                      f"the exact value is {exact}. The difference comes from rounding each step, not from "
                      "a mistake."), Text(""))


def _diagnosis(m, marking: Marking, printer: TerminalPrinter, named: bool = False) -> Group:
    """What the student's wrong value is: the slips that give it, or honestly none of those tried."""
    r = as_result(m, marking.solution.names)
    head = f"{printer.quantity(r)}{f' ({m.part})' if m.part else ''}: " if named else ""
    yours = f"{head}yours is {written(m.given)}"
    if m.slips:
        lines = [Text(f"{yours}, which is what this slip gives:" if len(m.slips) == 1 else
                      f"{yours}, which each of these slips gives:")]
        lines += [Text(f"  • {slip.says}", style="bold") for slip in m.slips]
    elif m.quantity.kind == "result":
        lines = [Text(f"{yours}; slips are not recomputed for this kind of answer.")]
    else:
        lines = [Text(f"{yours}; it matches none of the {len(marking.tried)} slips checked "
                      "(recomputed with each slip made).")]
    return Group(*lines, Text(""))


def marking_json(marking: Marking) -> str:
    """The marks as JSON: each answer's quantity, value as written, exact value, mark and slips."""
    def one(m):
        q = m.quantity
        return {"key": m.key, "line": m.line, "part": m.part,
                "quantity": {"kind": q.kind, "name": q.name, "index": list(q.index) if q.index else None},
                "status": m.status, "given": _given(m.given),
                "exact": shaped(m.exact, m.shape), "exact_text": exact_shaped(m.exact, m.shape),
                "entries": list(m.entries), "slips": [{"key": s.key, "says": s.says} for s in m.slips],
                "chain": {"each_step": m.chain, "value": shaped(m.chain_value, m.shape)} if m.chain is not None
                else None}
    marks = [one(m) for m in marking.marks]
    first = marking.marks.index(marking.first_wrong) if marking.first_wrong is not None else None
    data = {"title": marking.solution.title, "ok": marking.ok, "counts": counts(marking), "marks": marks,
            "first_wrong": first, "slips_checked": [{"key": s.key, "says": s.says} for s in marking.tried]}
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)


def _given(value):
    if value is None:
        return None
    if hasattr(value, "text"):
        return value.text
    if value and isinstance(value[0], tuple):
        return [[w.text for w in row] for row in value]
    return [w.text for w in value]
