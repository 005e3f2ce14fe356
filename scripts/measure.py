"""Measure every bundled problem's outputs: PDF pages, box warnings, terminal lines, repeated displays.

Usage: python scripts/measure.py   (from the repository root; runs pdflatex, about a minute on 2 cores)
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backprop_tutor import load  # noqa: E402
from backprop_tutor.bundled import bundled  # noqa: E402
from backprop_tutor.derivation import derive_all  # noqa: E402
from backprop_tutor.graph import build  # noqa: E402
from backprop_tutor.export import typeset  # noqa: E402
from backprop_tutor.render.latex import PAGE, preamble, to_latex  # noqa: E402
from backprop_tutor.solver import solve  # noqa: E402
from backprop_tutor.texlog import read_log  # noqa: E402

_DISPLAY = re.compile(r"\\begin\{align\*\}.*?\\end\{align\*\}", re.S)


def wrapped(fragment: str) -> str:
    """A fragment \\input into a document of the export's page size and margins, with `tutor export --preamble`."""
    return PAGE + preamble() + "\\begin{document}\n" + fragment + "\n\\end{document}\n"


def documents(path: Path) -> dict:
    """The LaTeX a user can get for one problem: the full export, the fragment, derive --all --latex."""
    problem = load(path)
    solution = solve(problem)
    out = {"export": to_latex(solution), "fragment": wrapped(to_latex(solution, standalone=False))}
    graph = build(problem)
    scalars = [n.name for n in graph.computed if n.shape in ((), (1,))]
    derivations = derive_all(problem, "L" if "L" in graph.nodes else scalars[-1])
    if derivations:
        out["derive"] = wrapped("\n".join(to_latex(d, standalone=False) for d in derivations))
    return out


def repeated_displays(document: str) -> int:
    """How many align* displays are a verbatim copy of an earlier one in the same document."""
    counts = Counter(_DISPLAY.findall(document))
    return sum(n - 1 for n in counts.values())


def terminal_lines(name: str) -> int:
    """Lines of `tutor solve NAME --no-color` at 80 columns."""
    env = dict(os.environ, COLUMNS="80", PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as here:
        run = subprocess.run([sys.executable, "-m", "backprop_tutor", "solve", name, "--no-color"],
                             capture_output=True, text=True, env=env, cwd=here, check=True)
    return len(run.stdout.splitlines())


def measure(entry) -> dict:
    """One row of the table."""
    docs = documents(entry.path)
    facts = {}
    for kind, doc in docs.items():
        pdf, log = typeset(doc.encode("utf-8"))
        if pdf is None:
            raise SystemExit(f"{entry.name} ({kind}): LaTeX failed")
        facts[kind] = read_log(log)
    export = facts["export"]
    return {"name": entry.name, "pages": export.pages, "overfull": len(export.overfull),
            "underfull": len(export.underfull), "frag_over": len(facts["fragment"].overfull),
            "derive_over": len(facts["derive"].overfull) if "derive" in facts else 0,
            "lines": terminal_lines(entry.name), "repeats": repeated_displays(docs["export"]),
            "where": [w for f in facts.values() for w in f.overfull]}


def main() -> None:
    """Print the table and its totals."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        rows = list(pool.map(measure, bundled()))
    columns = ("pages", "overfull", "underfull", "frag_over", "derive_over", "lines", "repeats")
    print(f"{'problem':24}" + "".join(f"{c:>12}" for c in columns))
    for row in rows:
        print(f"{row['name']:24}" + "".join(f"{row[c]:>12}" for c in columns))
    print(f"{'total (' + str(len(rows)) + ')':24}" + "".join(f"{sum(r[c] for r in rows):>12}" for c in columns))
    for row in rows:
        for where in row["where"]:
            print(f"  {row['name']}: {where}")


if __name__ == "__main__":
    main()
