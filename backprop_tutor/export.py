"""Writing documents: the .tex file atomically, and a PDF through latexmk or pdflatex."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import OutputError

INSTALL_HINT = ("install a TeX system, e.g. on Debian/Ubuntu: apt install texlive-latex-base "
                "texlive-latex-recommended texlive-pictures latexmk")


def write_atomically(path: Path, text: str) -> None:
    """Write text to path so that the file is either the old one or the whole new one, never half."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"the folder {str(folder)!r} does not exist", file=str(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def compile_pdf(tex: Path) -> Path:
    """Compile a .tex file next to itself; on failure, raise with the log's errors summarised."""
    tex = Path(tex)
    latexmk, pdflatex = shutil.which("latexmk"), shutil.which("pdflatex")
    if not pdflatex:
        raise OutputError(f"cannot make a PDF: pdflatex is not installed ({INSTALL_HINT})", file=str(tex))
    with tempfile.TemporaryDirectory() as build:
        if latexmk:
            cmd = [latexmk, "-pdf", "-interaction=nonstopmode", "-halt-on-error", f"-outdir={build}", str(tex)]
            runs = [cmd]
        else:
            cmd = [pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={build}", str(tex)]
            runs = [cmd, cmd]  # twice, for references
        for run in runs:
            done = subprocess.run(run, cwd=tex.parent or ".", capture_output=True, text=True,
                                  encoding="utf-8", errors="replace")
            log = Path(build) / f"{tex.stem}.log"
            if done.returncode != 0:
                summary = summarise_log(log.read_text(encoding="utf-8", errors="replace") if log.exists()
                                        else done.stdout + done.stderr)
                raise OutputError(f"LaTeX failed: {summary}", file=str(tex))
        pdf = tex.with_suffix(".pdf")
        shutil.copyfile(Path(build) / f"{tex.stem}.pdf", pdf)
    return pdf


def summarise_log(log: str) -> str:
    """The first errors of a LaTeX log, each with the line it points at."""
    out = []
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("!"):
            where = next((l for l in lines[i + 1:i + 8] if re.match(r"l\.\d+", l)), "")
            out.append(f"{line[1:].strip()} {where.strip()}".strip())
        if len(out) == 3:
            break
    return "; ".join(out) or "see the log (no error line found)"
