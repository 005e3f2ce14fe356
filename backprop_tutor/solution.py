"""The Solution model: frozen steps holding SymPy formulas and values; pure data, no printing."""
from __future__ import annotations

from msgspec import Struct, field

from .display import printer


class Printable:
    """What solutions and derivations share: their steps in order, and how they show themselves
    in a notebook and in a Rich console (through the printers named in display.py)."""

    __slots__ = ()  # the records hold only their fields

    def steps(self):
        """Every step of every section, in order."""
        for section in self.sections:
            yield from section.steps

    def _repr_markdown_(self):
        return printer("markdown")(self)

    def _repr_latex_(self):
        return printer("latex")(self, standalone=False)

    def __rich__(self):
        from rich.console import Group  # Rich only once a console asks for it
        return Group(*printer("terminal")().render(self))


class Given(Struct, frozen=True):
    """A value the problem states: an input, a parameter, a target, or a derived parameter."""

    name: str
    role: str            # input | parameter | target | derived
    shape: tuple
    value: object
    formula: object = None   # for a derived parameter, its defining expression
    frozen: bool = False


class Forward(Struct, frozen=True):
    """name = formula = numbers = value, for one forward line."""

    name: str
    shape: tuple
    formula: object
    numbers: object
    value: object
    rules: tuple = ()
    closed: object = None   # the value in closed form (σ(6/5)), where it is irrational and short


class LossValue(Struct, frozen=True):
    """The loss: L = formula = numbers = value, with the definition of the loss used."""

    name: str
    formula: object
    numbers: object
    value: object
    rules: tuple = ()
    before: object = None   # after an update: the loss before it, for comparison
    closed: object = None
    updated: tuple = ()     # after an update: the weights stepped, as named (every parameter, or those asked)


class Delta(Struct, frozen=True):
    """δ_name = ∂L/∂name as the sum over the nodes that use it, each term a chain-rule factor."""

    name: str
    shape: tuple
    users: tuple          # the nodes downstream whose deltas this one is built from
    formula: object
    numbers: object
    value: object
    rules: tuple = ()
    leibniz: object = None  # Σ δ_user · ∂user/∂name, in Leibniz notation
    of: str = "L"
    symbol: str | None = None  # the δ's own name under the sheet's convention (delta_5 for δ₅)
    summed: bool = True     # whether to say which nodes the sum runs over


class Reference(Struct, frozen=True):
    """A step an earlier part already showed, named once more: "δ_y from (c)", with its value when numeric."""

    kind: str            # delta | gradient | forward | loss | given
    name: str
    part: str | None     # the earlier part that showed it (None: a section above, not a sheet's part)
    value: object = None
    shape: tuple = ()
    of: str = "L"
    label: str | None = None   # a single weight: its name as asked
    symbol: str | None = None  # a δ's own name under the sheet's convention (delta_5 for δ₅)


class Check(Struct, frozen=True):
    """A central finite difference beside a gradient."""

    step: object
    estimate: object
    difference: object
    exact: object = None  # each step rounded: the exact chain's gradient, which the estimate is checked against


class Gradient(Struct, frozen=True):
    """∂L/∂parameter: its chain-rule formula, the numbers and the value."""

    name: str
    shape: tuple
    users: tuple
    formula: object
    numbers: object
    value: object
    check: Check | None = None
    label: str | None = None     # a single weight: its name as asked (e.g. W21)
    index: tuple | None = None   # a single weight: (row, column) counted from 1
    leibniz: object = None
    of: str = "L"


class Update(Struct, frozen=True):
    """One gradient-descent step: new = old − α·gradient."""

    name: str
    shape: tuple
    old: object
    rate: object
    gradient: object
    numbers: object         # old − α·gradient with the numbers in place
    new: object
    frozen: bool = False
    label: str | None = None
    index: tuple | None = None
    shown_in: str | None = None  # the earlier part that showed this gradient, when one did

    @property
    def shown_name(self) -> str:
        """The name the step updates, as the sheet writes it: its label, else W2[2,1] or W2."""
        return self.label or (self.name if self.index is None else f"{self.name}[{','.join(map(str, self.index))}]")


class ThroughTime(Struct, frozen=True):
    """∂L/∂W for a weight every time step uses: Σₜ of its term at step t, then each step's term
    (formula, numbers, value), then the terms added to the total."""

    name: str
    shape: tuple
    general: object      # the sum over t of the term at step t, in the time-step names (δ_zₜ⋅hₜ₋₁ᵀ)
    terms: tuple         # (t, formula, numbers, value) for each step, in order
    total: object        # the terms' values added, unevaluated
    value: object
    check: Check | None = None
    of: str = "L"


class Section(Struct, frozen=True):
    """A titled group of steps; `part` is the sheet's label when answering an ask: section."""

    title: str
    steps: tuple
    part: str | None = None
    request: tuple = ()   # the ask: request it answers: its kind, then what it names (show, forward)


class Solution(Printable, Struct, frozen=True):
    """Everything solved: the steps to show, and the values by name for programs."""

    title: str
    source: str | None
    notes: str | None
    sections: tuple
    shapes: dict
    values: dict
    loss: object
    deltas: dict
    gradients: dict
    learning_rate: object = None
    updated: dict | None = None
    loss_after: object = None
    checks: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)   # how to write names: the file's latex: map and its aliases
    diagram: object = None                      # the network as neurons and weighted edges, for drawing
    answers: tuple = ()                         # what each ask: part answers (parts.Answer), in order
    results: tuple = ()                         # every asked value (Result), in order: the answer marks and table
    answers_only: bool = False                  # show only the answers table (tutor solve --answers)
    detail: str = "normal"                      # brief | normal | full: how much of each step the sections hold
    rounding: int | None = None                 # every step's value rounded to this many decimals (None: exact)
    through_time: dict = field(default_factory=dict)  # a weight the time steps share → its ThroughTime


class Off(Struct, frozen=True):
    """A ReLU unit that is off: its pre-activation (node, index counted from 1 or None) and value ≤ 0."""

    node: str
    index: tuple | None
    value: object


class Result(Struct, frozen=True):
    """One value a part asks for, as its answer mark and the answers table show it.

    kind is one of gradients, derivatives, deltas, updated, loss, loss_after, values, decisions;
    name is the quantity as asked (W21, u11; None for the losses); of is what is differentiated.
    `before` is the loss before the update (loss_after only); `off` lists the ReLU units that are
    off and make the value (or its zero entries) exactly 0.
    """

    part: str | None
    kind: str
    name: str | None
    value: object
    shape: tuple
    of: str = "L"
    before: object = None
    off: tuple = ()
    section: int | None = None  # without ask: parts, the section (by position) whose answer it is
    exact: object = None        # a chain rounded at each step: the exact value, where it differs at that precision
    decimals: int | None = None  # with exact: the decimals each step was rounded to


class ChainRule(Struct, frozen=True):
    """∂of/∂wrt along the graph: one product of Leibniz factors, or a sum over users with shared deltas."""

    of: str
    wrt: str
    lhs: object
    formula: object
    factors: tuple      # the single path's factors, output first; empty when paths branch
    shared: bool        # True when the formula uses deltas defined in the backward recursion
    noted: bool = True  # whether to say so under it (the recursion's heading says it too)


class LocalDerivative(Struct, frozen=True):
    """One factor ∂c/∂n differentiated, with the rule it uses."""

    of: str
    wrt: str
    partial: object
    expression: object   # c as a function of n (scalars), or None
    derivative: object   # ∂c/∂n, or for tensors δ_c's contribution to δ_n
    rules: tuple = ()
    applied: bool = False  # True when `derivative` is the factor already applied to δ_c (tensors)


class WholeDerivative(Struct, frozen=True):
    """The deltas substituted into each other: the derivative as one expression, then its value."""

    of: str
    wrt: str
    expression: object
    numbers: object
    value: object
    shown: bool        # False when the expanded form is too long to help (see --expand)
    size: int


class Derivation(Printable, Struct, frozen=True):
    """Everything `tutor derive` shows for one quantity."""

    title: str
    source: str | None
    notes: str | None
    wrt: str
    of: str
    sections: tuple
    chain: ChainRule
    whole: WholeDerivative
    names: dict = field(default_factory=dict)
    detail: str = "normal"
    deltas: tuple = ()      # the recursion's deltas as built, whatever the detail shows of them
    rounding: int | None = None  # every step's value rounded to this many decimals (None: exact)
    exact: object = None    # a chain rounded at each step: the exact value, where it differs at that precision


class TruthRow(Struct, frozen=True):
    """One input of a truth table: the unit's output, the decision and whether it is the gate's."""

    inputs: object
    output: object
    decision: int
    expected: object = None
    matches: bool | None = None


class TruthTable(Struct, frozen=True):
    """A unit evaluated on every input of a gate, decided by a threshold."""

    input: str
    output: str
    formula: object
    threshold: object
    rows: tuple
    all_match: bool | None


class Piece(Struct, frozen=True):
    """One activation pattern: its region, the linear piece of the output there, and the classes."""

    active: tuple        # per ReLU argument: True (argument > 0) or False (≤ 0)
    region: tuple        # the region's inequalities
    expression: object   # the output, linear on this region
    below: object        # where on the region the output is < 0: a condition, True (all of it) or False
    above: object        # where on the region the output is > 0: likewise


class LinearPieces(Struct, frozen=True):
    """A ReLU network of a few inputs as linear pieces, and its decision boundary output = 0."""

    output: str
    inputs: tuple
    formula: object      # the output in the inputs, with the ReLUs
    arguments: tuple     # the ReLU arguments that split the input space
    pieces: tuple
    below: str           # the class where the output is < 0
    above: str           # the class where the output is > 0


class GraphStructure(Struct, frozen=True):
    """The computational graph as nodes and directed edges; backward adds the gradient nodes."""

    kind: str            # forward | backward
    nodes: tuple         # (name, role), role gradient for the nodes backprop adds
    edges: tuple         # (from, to)
    network: object = None  # a network of scalars: its neuron drawing, which is this graph already
    forward_in: str | None = None  # backward: the part that showed the forward graph, not listed again
    listed: bool = True  # beside a drawing of it, also list the nodes in a table


class Dimensions(Struct, frozen=True):
    """The shape of every quantity: name, kind and shape (() scalar, (n,) vector, (m, n) matrix)."""

    rows: tuple
