"""The printers a solution, derivation or drawing shows itself with in a notebook or a Rich console, by name.

The model names a kind of display and gets its printer from this table, so that it never imports
the printing side; each printer is imported on first use (they are heavy and rarely needed there).
"""
from __future__ import annotations

from importlib import import_module

PRINTERS = {  # kind of display → (module under the package, the printer in it)
    "markdown": ("render.markdown", "to_markdown"),
    "latex": ("render.latex", "to_latex"),
    "terminal": ("render.terminal", "TerminalPrinter"),
    "curves": ("render.curves", "plot"),
    "svg": ("render.svg", "drawing_svg"),
}


def printer(kind: str):
    """The printer registered for a kind of display (one of PRINTERS)."""
    module, name = PRINTERS[kind]
    return getattr(import_module(f"{__package__}.{module}"), name)
