"""A matrix's entries laid out in one pass exactly as SymPy's pretty printer lays them out."""
from __future__ import annotations

import random

import pytest
import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm

from backprop_tutor.render.pretty import MathPrinter

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
