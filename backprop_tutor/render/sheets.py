"""Writing made problem files (one, or a folder of sheet variants) and each one's solution beside it."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import ExternalError, OutputError, UsageError
from ..export import INSTALL_HINT, check_target, typeset_pdf, write_atomically
from ..problem import loads
from ..solver import solve
from .latex import to_latex
from .markdown import to_markdown

SOLUTION_KINDS = ("md", "pdf")


def variant_names(count: int) -> list[str]:
    """The file names of `count` variants: variant-01.yaml, … (as many digits as the count needs, at least 2)."""
    width = max(2, len(str(count)))
    return [f"variant-{k:0{width}d}.yaml" for k in range(1, count + 1)]


def planned(texts: list, output, folder: bool, solutions=(), force: bool = False) -> list[tuple]:
    """(path, text, solution paths) for each problem, every path checked before anything is written:
    an existing file is refused unless force; a PDF needs pdflatex."""
    kinds = _kinds(solutions)
    if folder:
        directory = Path(os.fspath(output))
        if os.path.lexists(directory) and not directory.is_dir():
            raise UsageError("exists and is not a folder; --variants writes a folder of files", file=str(directory))
        if not directory.parent.is_dir():
            raise OutputError(f"the folder {str(directory.parent)!r} does not exist", file=str(directory))
        paths = [directory / name for name in variant_names(len(texts))]
    else:
        paths = [Path(os.fspath(output))]
        if paths[0].suffix.lower() not in (".yaml", ".yml"):
            raise UsageError("a problem file ends in .yaml (or .yml)", file=str(paths[0]))
    if "pdf" in kinds and not shutil.which("pdflatex"):
        raise ExternalError(f"cannot make a PDF: pdflatex is not installed ({INSTALL_HINT})")
    plan = []
    for path, text in zip(paths, texts):
        extras = [path.with_suffix(f".{kind}") for kind in kinds]
        for p in [path, *extras]:
            if not folder or path.parent.is_dir():  # a folder --variants makes is checked above
                check_target(p, p.suffix.lower())
            if os.path.lexists(p) and not force:
                raise UsageError("exists; refusing to replace it (--force replaces it)", file=str(p))
        plan.append((path, text, extras))
    return plan


def _kinds(solutions) -> list:
    kinds = []
    for kind in solutions or ():
        kind = str(kind).lower().lstrip(".")
        if kind not in SOLUTION_KINDS:
            raise UsageError(f"--solutions takes md or pdf (repeatable), not {kind!r}")
        if kind not in kinds:
            kinds.append(kind)
    return kinds


def write_planned(plan: list, digits: int = 4, timeout: float = 60.0, said=None):
    """Write each problem file, then its solutions (Markdown by the Markdown printer, a PDF by the confined
    pdflatex); said(path) is called after each file is written."""
    said = said or (lambda path: None)
    if plan:
        plan[0][0].parent.mkdir(exist_ok=True)
    for path, text, extras in plan:
        write_atomically(path, text)
        said(path)
        if not extras:
            continue
        solution = solve(loads(text, str(path)), drawing=any(extra.suffix != ".md" for extra in extras))
        for extra in extras:
            if extra.suffix == ".md":
                write_atomically(extra, to_markdown(solution, digits))
            else:
                typeset_pdf(to_latex(solution, digits), extra, timeout=timeout, protect=[path])
            said(extra)
