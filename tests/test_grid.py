"""A matrix's entries laid out in one pass exactly as SymPy's pretty printer lays them out."""
from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter
from rich.console import Console
from sympy.printing.pretty.stringpict import prettyForm

from backprop_tutor import load
from backprop_tutor.render.pretty import MathPrinter, Summary
from backprop_tutor.render.terminal import print_solution
from backprop_tutor.solver import solve

x, y = sp.symbols("x y")


class SymPyGrid(MathPrinter):
    """Our printer with SymPy's own grid: the reference the one-pass grid must equal."""

    _print_matrix_contents = PrettyPrinter._print_matrix_contents
    whole = False  # with whole, the matrix printed is drawn by SymPy (a matrix inside an entry as ours)

    def _print_MatrixBase(self, e):
        return (PrettyPrinter if self.whole and self._print_level == 1 else MathPrinter)._print_MatrixBase(self, e)


def _entry(rng: random.Random):
    """One entry of many kinds: numbers of every width, fractions and roots (several lines with
    --exact), powers and integrals (other baselines), names with combining accents, a matrix."""
    kinds = [
        lambda: sp.Integer(rng.randint(-999, 999)),
        lambda: sp.Rational(rng.randint(-99, 99), rng.randint(1, 40)),
        lambda: sp.Float(rng.uniform(-50, 50)),
        lambda: sp.sqrt(rng.randint(2, 30)) / rng.randint(1, 9),
        lambda: x ** rng.randint(2, 5) - rng.randint(0, 3),
        lambda: sp.exp(-x) / (1 + sp.exp(-x)),
        lambda: sp.Integral(x ** 2, (x, 0, rng.randint(1, 9))),
        lambda: sp.Symbol(rng.choice(["xdot", "yddot", "a", "W21", "delta_3", "alpha"])),
        lambda: sp.Matrix([[sp.Rational(1, rng.randint(2, 9)), y]]),
        lambda: sp.Integer(0),
    ]
    return rng.choice(kinds)()


def _matrices(count: int, seed: int) -> list:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        rows, cols = rng.choice([(1, 1), (1, rng.randint(2, 7)), (rng.randint(2, 7), 1),
                                 (rng.randint(2, 6), rng.randint(2, 6))])
        out.append(sp.Matrix(rows, cols, [_entry(rng) for _ in range(rows * cols)]))
    return out


def _same(ours, theirs):
    assert ours.picture == theirs.picture
    assert ours.baseline == theirs.baseline
    assert ours.binding == theirs.binding


@pytest.mark.parametrize("exact", [False, True], ids=["decimals", "exact"])
@pytest.mark.parametrize("digits", [2, 4, 9])
def test_the_grid_is_sympys_grid(exact, digits):
    ours, theirs = MathPrinter(digits, exact), SymPyGrid(digits, exact)
    for m in _matrices(120, seed=digits * 2 + exact):
        _same(ours._print_matrix_contents(m), theirs._print_matrix_contents(m))


@pytest.mark.parametrize("exact", [False, True], ids=["decimals", "exact"])
def test_a_matrix_of_several_line_entries_is_drawn_as_sympy_draws_it(exact):
    ours, theirs = MathPrinter(4, exact), SymPyGrid(4, exact)
    theirs.whole = True
    tall = [m for m in _matrices(200, seed=7) if m.shape != (1, 1)
            and any(theirs._print(v).height() > 1 for v in m)]
    assert len(tall) > 50
    for m in tall:
        _same(ours._print(m), theirs._print(m))


@pytest.mark.parametrize("rows, cols", [(1, 1), (1, 5), (5, 1), (3, 4), (0, 0), (0, 3), (3, 0)])
def test_every_shape_even_empty(rows, cols):
    m = sp.Matrix(rows, cols, [sp.Rational(i + 1, 3) for i in range(rows * cols)])
    for exact in (False, True):
        _same(MathPrinter(4, exact)._print_matrix_contents(m), SymPyGrid(4, exact)._print_matrix_contents(m))


def test_entries_of_other_baselines_share_the_row_baseline():
    m = sp.Matrix([[sp.Integral(x, (x, 0, 1)), sp.Rational(1, 2), x ** 2], [1, sp.sqrt(2) / 3, y]])
    ours = MathPrinter(4, True)._print_matrix_contents(m)
    _same(ours, SymPyGrid(4, True)._print_matrix_contents(m))
    assert ours.height() > 5  # the integral is taller than a fraction: the test exercises the padding


ODD = {"hanging": prettyForm("ab\ncd", baseline=2),   # baseline under its last line
       "top": prettyForm("x\ny\nz", baseline=0), "low": prettyForm("p\nq\nr", baseline=2),
       "accent": prettyForm("x\u0307y"), "empty": prettyForm("")}


class Odd:
    """Entries drawn as given pictures: baselines SymPy's own printers seldom make."""

    def _print_Symbol(self, e, bold_name=False):
        return ODD[e.name] if e.name in ODD else super()._print_Symbol(e, bold_name)


class OddOurs(Odd, MathPrinter):
    pass


class OddTheirs(Odd, SymPyGrid):
    pass


@pytest.mark.parametrize("seed", range(6))
def test_pictures_of_any_baseline(seed):
    rng = random.Random(seed)
    names = [*ODD, "w"]
    empty = sp.Symbol("empty")
    for m in [sp.Matrix([[empty], [empty]]), sp.Matrix([[empty, empty]]), sp.Matrix([[empty]])] + [
            sp.Matrix(r, c, [sp.Symbol(rng.choice(names)) for _ in range(r * c)])
            for r, c in ((rng.randint(1, 4), rng.randint(1, 4)) for _ in range(40))]:
        _same(OddOurs()._print_matrix_contents(m), OddTheirs()._print_matrix_contents(m))


# -- a large matrix summarised in the terminal, as numpy prints a large array ------------------------

EDGE = [0, 1, 2, None, 29, 30, 31]  # the rows (columns) of 32 a summary shows, None for the rest


def _tokens(line: str) -> list:
    return line[1:-1].split()  # inside the brackets


def test_a_large_matrix_shows_its_first_and_last_rows_and_columns():
    m = sp.Matrix(32, 32, lambda i, j: 100 * i + j)  # each entry names its place
    form = MathPrinter(summary=Summary(66))._print(m)
    lines = form.render(wrap_line=False).split("\n")
    assert len(lines) == 7 and form.baseline == 3
    for line, i in zip(lines, EDGE):
        expected = ["⋮"] * 3 + ["⋱"] + ["⋮"] * 3 if i is None else \
            [str(100 * i + j) if j is not None else "⋯" for j in EDGE]
        assert _tokens(line) == expected
    gap = lines[0].index("⋯")
    assert all(line[gap] == ("⋱" if i is None else "⋯") for line, i in zip(lines, EDGE))  # one column
    assert lines[0][0] + lines[-1][0] + lines[3][0] == "⎡⎣⎢"


def test_only_the_long_side_is_cut():
    tall = MathPrinter(summary=Summary(66))._print(sp.Matrix(32, 4, lambda i, j: 10 * i + j))
    lines = tall.render(wrap_line=False).split("\n")
    assert [_tokens(line) for line in lines] == [
        ["⋮"] * 4 if i is None else [str(10 * i + j) for j in range(4)] for i in EDGE]
    wide = MathPrinter(summary=Summary(66))._print(sp.Matrix(2, 32, lambda i, j: 100 * i + j))
    assert [_tokens(line) for line in wide.render(wrap_line=False).split("\n")] == [
        [str(100 * i + j) if j is not None else "⋯" for j in EDGE] for i in range(2)]


def test_where_a_side_is_cut():
    def shape(rows, cols, width=66, entry=1):
        lines = MathPrinter(summary=Summary(width))._print(sp.Matrix(rows, cols, [entry] * (rows * cols)))
        lines = lines.render(wrap_line=False).split("\n")
        return len(lines), len(_tokens(lines[0]))
    assert shape(16, 2) == (16, 2) and shape(17, 2) == (7, 2)     # more than 16 rows
    assert shape(2, 21) == (2, 21) and shape(2, 23) == (2, 7)     # a grid wider than the width
    assert shape(2, 7, width=10) == (2, 7)                        # seven columns are never cut
    assert shape(2, 9, width=36, entry=123456) == (2, 5)          # fewer at each end, to fit
    assert shape(2, 9, width=10, entry=123456) == (2, 3)          # … down to the first and last


def test_without_a_summary_every_entry():
    m = sp.Matrix(32, 32, lambda i, j: 100 * i + j)
    lines = MathPrinter()._print(m).render(wrap_line=False).split("\n")
    assert [_tokens(line) for line in lines] == [[str(100 * i + j) for j in range(32)] for i in range(32)]


def test_entries_of_several_lines_summarised():
    m = sp.Matrix(32, 32, lambda i, j: sp.sqrt(2) / (1000 + 100 * i + j))
    lines = MathPrinter(4, True, summary=Summary(66))._print(m).render(wrap_line=False).split("\n")
    # each row three lines, the ⋮ row one, an empty line between rows
    bands = [lines[k:k + 3] for k in (0, 4, 8)] + [lines[12:13]] + [lines[k:k + 3] for k in (14, 18, 22)]
    assert len(lines) == 25 and all(not lines[k].strip("⎢⎥ ") for k in (3, 7, 11, 13, 17, 21))
    for band, i in zip(bands, EDGE):
        if i is None:
            assert _tokens(band[0]) == ["⋮"] * 3 + ["⋱"] + ["⋮"] * 3
            continue
        assert _tokens(band[2]) == [str(1000 + 100 * i + j) for j in EDGE if j is not None]
        assert _tokens(band[1]).count("⋯") == 1 and _tokens(band[0]) == ["√2"] * 6


def test_inline_and_listed_are_summarised_alike():
    p = MathPrinter(summary=Summary(66))
    m = sp.Matrix(32, 32, lambda i, j: 100 * i + j)
    rows = p.inline(m)[1:-1].split("; ")
    assert [r.split() for r in rows] == [["⋮"] if i is None else
                                         [str(100 * i + j) if j is not None else "⋯" for j in EDGE] for i in EDGE]
    assert p.listed(sp.Matrix(list(range(32)))) == "(0, 1, 2, …, 29, 30, 31)"
    assert p.listed(sp.Matrix(list(range(12)))) == "(" + ", ".join(map(str, range(12))) + ")"  # fits the width
    assert MathPrinter().inline(m).count(";") == 31 and MathPrinter().listed(sp.Matrix(list(range(32)))).count(",") == 31


def _wide(tmp_path, width: int = 20):
    """A 4-width-2 network whose W2[i, j] is (width·i + j + 1)/100: each shown entry names its place."""
    w1 = [[((4 * i + j) % 19 - 9) / 10 for j in range(4)] for i in range(width)]
    w2 = [[(width * i + j + 1) / 100 for j in range(width)] for i in range(2)]
    b1 = [((i * 7) % 11 - 5) / 10 for i in range(width)]
    path = tmp_path / "wide.yaml"
    path.write_text(f"""title: wide
inputs:
  x: [1, -1, 2, 0.5]
parameters:
  W1: {w1}
  b1: {b1}
  W2: {w2}
  b2: [0.2, 0.7]
targets:
  t: [1, 0]
forward:
  z1: W1 @ x + b1
  h1: sigmoid(z1)
  z2: W2 @ h1 + b2
  h2: sigmoid(z2)
loss: half_sse(h2, t)
learning_rate: 0.1
""", encoding="utf-8")
    return path, w2


def _given_w2(text: str) -> list:
    """The entries of the given W₂ (two rows) as the terminal writes them, in rows."""
    lines = text.split("\n")
    at = next(k for k, line in enumerate(lines) if "W₂ = ⎡" in line)
    return [lines[at].split("⎡")[1].split("⎤")[0].split(), lines[at + 1].split("⎣")[1].split("⎦")[0].split()]


def test_the_terminal_summarises_and_full_shows_everything(tmp_path):
    from typer.testing import CliRunner
    from backprop_tutor.cli import app
    path, w2 = _wide(tmp_path)
    run = CliRunner()
    short = run.invoke(app, ["solve", str(path), "--no-color"], env={"COLUMNS": "80"})
    full = run.invoke(app, ["solve", str(path), "--no-color", "--full"], env={"COLUMNS": "80"})
    assert short.exit_code == full.exit_code == 0
    kept = [0, 1, 2, None, 17, 18, 19]
    assert [[sp.Rational(t) if t != "⋯" else t for t in row] for row in _given_w2(short.stdout)] == [
        [sp.Rational(str(w2[i][j])) if j is not None else "⋯" for j in kept] for i in range(2)]
    assert "⋮" in short.stdout  # the 20 rows of W₁
    given = full.stdout.split("W₂ = ")[1].split("b₂ = ")[0]  # too wide for the line: in pieces, one below the other
    assert sorted(sp.Rational(t.strip("⎡⎤⎣⎦,")) for t in given.split()) == sorted(
        sp.Rational(str(v)) for row in w2 for v in row)
    assert not set("⋯⋮⋱…") & set(full.stdout)
    assert len(full.stdout.split("\n")) > 2 * len(short.stdout.split("\n"))
    derived = run.invoke(app, ["derive", str(path), "--wrt", "W2", "--no-color", "--full"], env={"COLUMNS": "80"})
    assert derived.exit_code == 0 and not set("⋯⋮⋱…") & set(derived.stdout)
    assert "⋯" in run.invoke(app, ["derive", str(path), "--wrt", "W2", "--no-color"], env={"COLUMNS": "80"}).stdout


def test_json_is_never_summarised(tmp_path):
    import json
    from typer.testing import CliRunner
    from backprop_tutor.cli import app
    path, w2 = _wide(tmp_path)
    out = CliRunner().invoke(app, ["solve", str(path), "--json"], env={"COLUMNS": "80"})
    assert out.exit_code == 0 and not set("⋯⋮⋱…") & set(out.stdout)
    d = json.loads(out.stdout)
    assert len(d["values"]["z1"]) == 20 and [len(r) for r in d["gradients"]["W2"]] == [20, 20]


BUNDLED = sorted((Path(__file__).resolve().parents[1] / "problems").glob("*.yaml"))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_no_bundled_problem_is_summarised(path):
    solution = solve(load(path))
    outputs = []
    for full in (False, True):
        console = Console(file=io.StringIO(), width=80, no_color=True, highlight=False)
        print_solution(solution, console, full=full)
        outputs.append(console.file.getvalue())
    assert outputs[0] == outputs[1]


def test_an_expression_shown_again_is_drawn_once_and_each_caller_gets_its_own_form():
    drawn = []

    class Counting(MathPrinter):
        def _print_Add(self, e, order=None):
            drawn.append(e)
            return super()._print_Add(e, order)

    printer, value = Counting(), sp.Matrix([[x + sp.Rational(1, 3), y], [y, x + y]])
    first = printer.form(value)
    times = len(drawn)
    first.baseline += 5          # SymPy's printer moves a form's baseline in place, as bracketed() does
    again = printer.form(value)
    assert len(drawn) == times   # not drawn again
    fresh = MathPrinter().form(value)
    assert (again.picture, again.baseline, again.binding) == (fresh.picture, fresh.baseline, fresh.binding)
    assert again is not first
    printer.form(sp.Matrix([[x + sp.Rational(1, 3), y], [y, x + y]]))  # an equal value, another object
    assert len(drawn) == 2 * times
