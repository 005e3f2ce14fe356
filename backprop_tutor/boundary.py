"""A classifier of two inputs → the data of its decision-boundary figure: classes on a grid, exact pieces."""
from __future__ import annotations

import re
from fractions import Fraction

from msgspec import Struct
from msgspec.structs import replace
import numpy as np

from .algebra import Eval
from .ask import Ask
from .datasets import load_data
from .decision import classify, decision, target_classes
from .diagram import Plot, boundary_plot
from .engine import Work, names_of
from .errors import LimitError, ProblemError, UsageError
from .expr import ExprError, number, rename
from .graph import build
from .items import Leaf, Line
from .limits import Limits, coerce
from .numeric import batch_of, dims, float_leaves, forward_batch
from .pieces import linear_pieces
from .problem import Problem, sample_name
from .rules import forward

DEFAULT_RANGE = (Fraction(-3), Fraction(3))
DEFAULT_RESOLUTION = 300   # grid points along each side
MARGIN = Fraction(1, 10)   # around the samples, as a share of their extent on each side
_SAMPLE = re.compile(r"(.+)\^\((\d+)\)")  # a quantity of one sample under data: x1^(3)


class Regions(Struct, frozen=True):
    """A decision-boundary figure as plain data: the grid's classes, the exact pieces, the samples."""

    title: str
    inputs: tuple            # the two axes' names: (x1, x2) or (x[1], x[2])
    output: str              # the node that decides
    threshold: object        # class 1 where the output > threshold; None: the largest entry's index
    labels: tuple            # the class names, by class number
    window: tuple            # (xmin, xmax, ymin, ymax), exact
    xs: np.ndarray           # the grid's x values (nx,)
    ys: np.ndarray           # the grid's y values (ny,)
    classes: np.ndarray      # the class at each grid point (ny, nx)
    score: np.ndarray | None  # output − threshold at each grid point (ny, nx); None for an argmax
    plot: Plot | None        # the exact linear pieces of a ReLU network: areas, borders, boundary segments
    points: np.ndarray       # samples to draw (n, 2)
    point_classes: np.ndarray  # their classes (n,)
    names: dict              # the sheet's notation (names_of)
    note: str | None = None  # why the exact pieces are left out


def parse_range(text: str, limits: Limits | dict | None = None) -> tuple:
    """--range text: LOW:HIGH for both axes, or LOW:HIGH,LOW:HIGH for x and y → (xmin, xmax, ymin, ymax)."""
    limits = coerce(limits)
    usage = "--range takes LOW:HIGH for both axes or LOW:HIGH,LOW:HIGH for x and y (e.g. -3:3 or -3:3,-2:2)"
    text = str(text).strip()
    parts = text.split(",")
    if len(parts) not in (1, 2) or len(text) > 200:
        raise UsageError(f"{usage}; not {text[:60]!r}")
    bounds = []
    for part in parts:
        ends = part.split(":")
        if len(ends) != 2:
            raise UsageError(f"{usage}; not {text[:60]!r}")
        try:
            low, high = (number(e.strip(), limits) for e in ends)
        except ExprError as e:
            raise UsageError(f"{usage}: {e}") from None
        if not low < high:
            raise UsageError(f"--range {part.strip()}: the low end must be below the high end")
        bounds += [low, high]
    return tuple(bounds * 2) if len(bounds) == 2 else tuple(bounds)


def boundary(problem: Problem, window: tuple | None = None, resolution: int = DEFAULT_RESOLUTION,
             samples: tuple | None = None, limits: Limits | dict | None = None) -> Regions:
    """The decision regions of a classifier of two inputs over a window (xmin, xmax, ymin, ymax):
    each grid point's class, the output − threshold, and for a ReLU network its exact linear pieces.
    `samples` (points (n, 2), classes (n,)) are drawn on top; the window defaults to their extent
    with a margin, else −3…3."""
    limits = coerce(limits)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not 2 <= resolution:
        raise UsageError(f"the resolution is a whole number of grid points, at least 2; not {resolution!r}")
    if resolution > limits.grid_side:
        raise LimitError(limits.message("grid_side", f"the grid has {resolution} points a side"))
    problem, found = one_sample(problem)
    found = found if found is not None else data_samples(problem, limits) or table_samples(problem)
    graph = build(problem)
    d = decision(problem, found[1] if found is not None and samples is None else None)
    inputs, vector = two_inputs(graph, d.output)
    if samples is None and found is not None:
        samples = (found[0], target_classes(d, found[1]))
    points, point_classes = _samples(samples)
    window = _window(window) if window is not None else default_window(points)
    x0, x1, y0, y1 = window
    xs = np.linspace(float(x0), float(x1), resolution)
    ys = np.linspace(float(y0), float(y1), resolution)
    gx, gy = np.meshgrid(xs, ys)
    outputs = evaluate_grid(graph, d.output, inputs, vector, np.column_stack([gx.ravel(), gy.ravel()]))
    classes = classify(d, outputs).reshape(gx.shape)
    score = None
    if d.threshold is not None:
        score = (outputs.reshape(-1) - float(d.threshold)).reshape(gx.shape)
    plot, note = _pieces(graph, d, inputs, window, limits)
    return Regions(problem.title, tuple(inputs) if not vector else (f"{inputs[0]}[1]", f"{inputs[0]}[2]"),
                   d.output, d.threshold, tuple(d.labels), window, xs, ys, classes, score, plot,
                   points, point_classes, names_of(graph), note)


def one_sample(problem: Problem) -> tuple[Problem, tuple | None]:
    """A problem over several samples (data:) as its network for one sample, and the samples' inputs
    and targets as floats (points (n, 2) and targets (n, k); None where some are left as symbols)."""
    if not problem.samples:
        return problem, None
    first = {}
    for line in problem.forward:
        m = _SAMPLE.fullmatch(line.name)
        if m and m.group(2) == "1":
            first[line.name] = m.group(1)
    for leaf in problem.inputs + problem.targets:
        m = _SAMPLE.fullmatch(leaf.name)
        if m and m.group(2) == "1":
            first[leaf.name] = m.group(1)

    def single(leaves):
        return tuple(Leaf(first.get(leaf.name, leaf.name), leaf.value, leaf.line, leaf.key) for leaf in leaves
                     if not _SAMPLE.fullmatch(leaf.name) or leaf.name in first)

    lines = [Line(first[line.name], rename(line.expr, first), line.text, line.line, line.key)
             for line in problem.forward if line.name in first]
    loss = next((line for line in lines if line.name == "L"), None)
    one = replace(problem, inputs=single(problem.inputs), targets=single(problem.targets),
                  forward=tuple(line for line in lines if line.name != "L"), loss=loss, samples=0,
                  general_samples=None)
    graph = build(problem)
    columns = []
    for group in (problem.inputs, problem.targets):
        names = [first[leaf.name] for leaf in group if leaf.name in first]
        rows = []
        for k in range(1, problem.samples + 1):
            values = [graph.nodes[sample_name(n, k)].given for n in names]  # SymPy values the graph built
            if any(getattr(v, "free_symbols", None) for v in values):
                return one, None
            rows.append(np.concatenate([np.array(v.tolist() if hasattr(v, "tolist") else v, dtype=float).ravel()
                                        for v in values]) if values else np.zeros(0))
        columns.append(np.array(rows))
    points, targets = columns
    return one, (points, targets) if points.shape[1:] == (2,) and targets.size else None


def data_samples(problem: Problem, limits: Limits) -> tuple | None:
    """The whole data set of a problem with dataset: as samples (points (n, 2), targets (n,))."""
    if problem.dataset is None:
        return None
    data = load_data(problem, limits)
    x, t = data.names
    points = np.array([[float(v) for v in row[x]] for row in data.rows], dtype=float)
    targets = np.array([float(row[t][0] if isinstance(row[t], list) else row[t]) for row in data.rows])
    return points, targets


def table_samples(problem: Problem) -> tuple | None:
    """A truth table's rows of two inputs and their expected outputs as samples (points (n, 2), targets (n,))."""
    table = next((a for a in problem.ask if a.kind == "truth_table" and a.options.get("expect")), None)
    if table is None:
        return None
    ev = Eval()

    def value(node):
        return float(forward(node, ev, {}).x)

    rows = [r if isinstance(r, list) else [r] for r in table.options["rows"]]
    if any(len(r) != 2 or any(isinstance(x, list) for x in r) for r in rows):
        return None
    return (np.array([[value(x) for x in r] for r in rows]),
            np.array([value(e) for e in table.options["expect"]]))


def two_inputs(graph, output: str) -> tuple[list, bool]:
    """The inputs the output is computed from: two scalars, or one vector of two (then True)."""
    used = graph.ancestors(output)
    inputs = [n for n, node in graph.nodes.items() if node.role == "input" and n in used]
    shapes = [graph.nodes[n].shape for n in inputs]
    if len(inputs) == 2 and all(s in ((), (1,), (1, 1)) for s in shapes):
        return inputs, False
    if len(inputs) == 1 and shapes[0] in ((2,), (2, 1)):
        return inputs, True
    found = ", ".join(f"{n} ({'a number' if s in ((), (1,)) else 'of ' + 'x'.join(map(str, s))})"
                      for n, s in zip(inputs, shapes)) or "none"
    raise UsageError(f"a decision boundary is drawn in the plane of two inputs (two numbers x1, x2 or one "
                     f"vector of two); {output} is computed from: {found}", file=graph.problem.path)


def evaluate_grid(graph, output: str, inputs: list, vector: bool, xy: np.ndarray) -> np.ndarray:
    """The output at each point (B, 2) of the plane, in floats: one batch through the network."""
    leaves = float_leaves(graph)
    if vector:
        leaves[inputs[0]] = batch_of(graph, inputs[0], xy)
    else:
        for k, name in enumerate(inputs):
            leaves[name] = batch_of(graph, name, xy[:, k])
    used = graph.ancestors(output)
    open_ = [n for n, node in graph.nodes.items() if node.expr is None and n in used and n not in leaves]
    if open_:
        raise UsageError(f"{', '.join(open_)} {'is left as a symbol' if len(open_) == 1 else 'are left as symbols'}, and "
                         f"{output} depends on {'it' if len(open_) == 1 else 'them'}: give the values in the "
                         "file, or trained ones with --from-trained params.yaml", file=graph.problem.path)
    for n, node in graph.nodes.items():  # what the output does not depend on (a target) only needs a value
        if node.expr is None and n not in leaves:
            leaves[n] = np.zeros((1, *dims(node.shape)))
    return forward_batch(graph, leaves)[output]


def default_window(points: np.ndarray) -> tuple:
    """The samples' extent with a margin on each side, else −3…3 on both axes."""
    if not len(points):
        return DEFAULT_RANGE * 2
    out = []
    for k in (0, 1):
        low, high = Fraction(float(points[:, k].min())), Fraction(float(points[:, k].max()))
        pad = max((high - low) * MARGIN, Fraction(1, 2))
        out += [low - pad, high + pad]
    return tuple(out)


def _window(window) -> tuple:
    """A window given in Python: four exact numbers, each low end below its high end."""
    try:
        x0, x1, y0, y1 = (Fraction(v) for v in window)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"the window is (xmin, xmax, ymin, ymax), four numbers; not {window!r}") from None
    if not (x0 < x1 and y0 < y1):
        raise UsageError(f"the window's low ends must be below its high ends: {window!r}")
    return x0, x1, y0, y1


def _samples(samples) -> tuple:
    if samples is None:
        return np.zeros((0, 2)), np.zeros(0, dtype=int)
    points, classes = samples
    points, classes = np.asarray(points, dtype=float).reshape(-1, 2), np.asarray(classes, dtype=int).reshape(-1)
    if len(points) != len(classes):
        raise UsageError(f"{len(points)} sample points but {len(classes)} classes")
    return points, classes


def _pieces(graph, d, inputs: list, window: tuple, limits: Limits):
    """The exact linear pieces of a ReLU network with one output, clipped to the window; else None."""
    if d.threshold is None or not _relu_only(graph, d.output):
        return None, None
    asked = next((a for a in graph.problem.ask if a.kind == "linear_pieces"
                  and (a.options.get("output") in (None, d.output))), None)
    options = dict(asked.options) if asked else {}
    options.update(inputs=options.get("inputs") or list(inputs), output=d.output,
                   below=d.labels[0], above=d.labels[1])
    ask = Ask(asked.part if asked else "boundary", "linear_pieces", (), asked.line if asked else None, options)
    try:
        pieces = linear_pieces(Work(graph, of=d.output), ask, limits)
    except ProblemError as e:  # too many ReLUs, or products of them: the grid alone shows the regions
        return None, f"the exact linear pieces are left out: {e.message}"
    return boundary_plot(pieces, window, d.threshold), None


def _relu_only(graph, output: str) -> bool:
    """Whether the output is made of sums, products by numbers and ReLUs of the inputs, with a ReLU."""
    calls = set()
    for name in graph.ancestors(output):
        node = graph.nodes[name]
        if node.expr is not None:
            calls |= set(_functions(node.expr))
    return calls == {"relu"}  # linear() stays a function in the exact pieces: the grid alone shows those


def _functions(e):
    """The name of every function called in an expression tree."""
    func = getattr(e, "func", None)
    if func is not None:
        yield func
    for a in getattr(e, "args", ()):
        yield from _functions(a)
    for child in ("left", "right", "operand"):
        if hasattr(e, child):
            yield from _functions(getattr(e, child))
