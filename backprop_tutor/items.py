"""The pieces a problem file is made of: a defined quantity (Line) and a given value (Leaf)."""
from __future__ import annotations

from msgspec import Struct



class Line(Struct, frozen=True):
    """One defined quantity: `name = expr`, with the text and line it came from."""

    name: str
    expr: object
    text: str
    line: int
    key: str


class Leaf(Struct, frozen=True):
    """A given value: a number, a list (vector), a list of lists (matrix), or None (a symbol)."""

    name: str
    value: object  # Fraction-or-expression tree | list | list of lists | None
    line: int
    key: str


class Dataset(Struct, frozen=True):
    """A data set named by the file: a CSV file beside it, or one of the generators with its settings."""

    kind: str        # csv | double_ring | addition
    options: dict    # csv: {"path": relative path}; a generator: n, seed and its own settings
    line: int
    batch: int       # the samples of the first batch, the one solve works by hand


class Recurrence(Struct, frozen=True):
    """A recurrent: block as unrolled: the number of steps and the names of each step's quantities."""

    steps: int
    states: tuple    # h0 (the given state before step 1), h1, …, hT
    nets: tuple      # z1, …, zT: each step's net input (empty when the cell is not an activation of one)
    inputs: tuple    # x1, …, xT (empty without inputs:)
    outputs: tuple   # y1, …, yT (empty without output:)
    bases: tuple = ()  # the names the steps are numbered from: (state, net, input, output), None where absent

    def step_of(self, name: str) -> tuple | None:
        """(base name, time step) of a step's quantity: h2 → (h, 2), the initial state → (h, 0)."""
        for base, names, first in zip(self.bases, (self.states, self.nets, self.inputs, self.outputs), (0, 1, 1, 1)):
            if base is not None and name in names:
                return base, names.index(name) + first
        return None
