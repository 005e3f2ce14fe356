"""train(): plain mini-batch gradient descent on a problem's data set, the float path over each batch.

The same forward and backward rules as the exact engine (numeric.py reads rules.py with float64
arrays). The loss of a batch is the mean of its samples' losses; the loss recorded per epoch is the
mean over the whole data set after that epoch. The first epoch takes the samples in the data set's
order, so its first step is the one `tutor solve` works by hand; every later epoch shuffles them
with the seed. The first exact_steps steps can be computed by the exact engine instead.
"""
from __future__ import annotations

import decimal
import math
from fractions import Fraction

from msgspec import Struct, field
from msgspec.structs import replace
import numpy as np
import sympy as sp

from .datasets import Data, load_data
from .decision import Decision, classify, decision, target_classes
from .display import printer
from .errors import UsageError
from .expr import ExprError, Num, number, shorten
from .graph import Graph, build
from .limits import Limits, coerce
from .numeric import batch_of, float_leaves, forward_batch, loss_and_gradients, natural
from .problem import Problem, with_samples
from .solution import Solution
from .solver import solve

SETTLED = 1e-3  # converged: over the last tenth of the epochs the loss moved by less than this fraction of itself
TINY = 1e-12    # a loss this small has converged whatever it still does
CARRIED = 30    # significant digits of the parameters one exact step hands to the next


class TrainingRun(Struct, frozen=True):
    """One run at one learning rate: the loss (and accuracy) after every epoch, the final parameters."""

    learning_rate: float
    loss: tuple            # loss[e]: mean loss over the whole data set after epoch e (loss[0]: before training)
    accuracy: tuple | None  # accuracy[e] likewise, for a classifier; else None
    parameters: dict       # name → float, list or list of lists (the file's shapes), after the last epoch
    status: str            # converged | still falling | not falling | diverged
    diverged_at: int | None = None  # the epoch whose loss was not finite
    exact: tuple = ()      # the Solutions of the steps computed by the exact engine
    steps: tuple = ()      # the parameters after each recorded step (name → array), for checks

    @property
    def final_loss(self) -> float:
        """The loss after the last epoch (not finite for a run that diverged)."""
        return self.loss[-1]

    @property
    def best_loss(self) -> float:
        """The lowest finite loss of the run."""
        finite = [v for v in self.loss if math.isfinite(v)]
        return min(finite) if finite else math.nan

    @property
    def best_epoch(self) -> int | None:
        """The epoch of the lowest finite loss."""
        finite = [(v, e) for e, v in enumerate(self.loss) if math.isfinite(v)]
        return min(finite)[1] if finite else None

    @property
    def final_accuracy(self) -> float | None:
        """The accuracy after the last epoch, for a classifier."""
        return self.accuracy[-1] if self.accuracy else None


class Training(Struct, frozen=True):
    """Runs of one problem at one or more learning rates, and what they were trained on."""

    problem: str           # the problem's path
    title: str
    data: str              # what the data set is
    samples: int
    epochs: int
    batch: int
    seed: int
    runs: tuple
    classes: tuple | None = None  # the class labels of a classifier
    settings: dict = field(default_factory=dict)

    @property
    def best(self) -> TrainingRun:
        """The run with the lowest final loss (a diverged run never)."""
        finite = [r for r in self.runs if math.isfinite(r.final_loss)]
        return min(finite, key=lambda r: r.final_loss) if finite else self.runs[0]

    def _repr_png_(self) -> bytes:
        return printer("curves")(self, "png")


def rate_of(value) -> Fraction:
    """A learning rate as an exact Fraction: text or a number as written in decimal (0.1 is 1/10)."""
    if isinstance(value, Fraction):
        out = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise UsageError(f"a learning rate must be a finite number, not {value}")
        out = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    elif isinstance(value, str):
        try:  # the reader of the files' numbers: decimal only, its size checked before it is built (1e-999999999)
            out = number(value.strip())
        except ExprError:
            raise UsageError(f"{shorten(value)!r} is not a learning rate (a number such as 0.1)") from None
    else:
        raise UsageError(f"a learning rate must be a number, not {type(value).__name__}")
    if out <= 0 or out > 1000:
        raise UsageError(f"a learning rate must lie above 0 and at most 1000, not {value}")
    return out


def train(problem: Problem, epochs: int, rates=None, batch: int | None = None, seed: int = 0,
          exact_steps: int = 0, record: int = 0, limits: Limits | dict | None = None, on_epoch=None) -> Training:
    """Train the problem's parameters on its data set for `epochs` epochs at each learning rate.

    rates: a number or a list of them (default: the file's learning_rate); batch: samples per step
    (default: the whole data set); seed: the shuffling of every epoch after the first; exact_steps:
    how many first steps the exact engine computes (as solve does), the float path going on from its
    parameters; record: keep the parameters after that many first steps (TrainingRun.steps);
    on_epoch: called with no arguments after every epoch (a progress bar).
    """
    if not isinstance(problem, Problem):
        raise UsageError("train needs a Problem (see load)")
    limits = coerce(limits)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 0 <= epochs <= 1_000_000:
        raise UsageError("epochs must be a whole number from 0 to 1000000")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
        raise UsageError("seed must be a whole number from 0 up")
    if problem.samples:
        raise UsageError("train works on a data set: give the samples as dataset: (a CSV file) "
                         "instead of data:", file=problem.path)
    if problem.loss is None:
        raise problem.error("training needs a loss", None, 1)
    rates = _rates(problem, rates)
    if problem.dataset is None:
        raise UsageError("train works on a data set: the file needs a dataset: (see the guide)", file=problem.path)
    data = load_data(problem, limits)
    n = len(data.rows)
    batch = n if batch is None else batch
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch:
        raise UsageError("batch must be a whole number from 1 up")
    batch = min(batch, n)
    if isinstance(exact_steps, bool) or not isinstance(exact_steps, int) or exact_steps < 0:
        raise UsageError("exact_steps must be a whole number from 0 up")
    if exact_steps and batch > limits.samples:
        raise UsageError(f"the exact engine works a batch of at most {limits.samples} samples (the limit "
                         f"samples); give a smaller batch for exact steps")
    graph = build(problem)
    given = float_leaves(graph)
    trained = [node.name for node in graph.nodes.values()
               if node.role == "parameter" and node.name not in problem.frozen]
    open_ = [node.name for node in graph.nodes.values() if node.role == "parameter" and node.name not in given]
    if open_:
        raise problem.error(f"training needs a number for every parameter; {open_[0]} is left open",
                            f"parameters.{open_[0]}")
    arrays = {name: batch_of(graph, name, _column(data, name)) for name in data.names}
    judge = _classifier(problem, data, arrays, graph)
    runs = tuple(_run(problem, graph, given, trained, data, arrays, judge, rate, epochs, batch, seed,
                      exact_steps, record, limits, on_epoch) for rate in rates)
    return Training(problem.path, problem.title, data.description, n, epochs, batch, seed, runs,
                    judge.labels if judge else None)


def _rates(problem: Problem, rates) -> list:
    if rates is None:
        if problem.learning_rate is None:
            raise UsageError("give a learning rate: the file has no learning_rate", file=problem.path)
        return [problem.learning_rate]
    if isinstance(rates, (str, int, float, Fraction)):
        rates = [rates]
    out = [rate_of(r) for r in rates]
    if not out:
        raise UsageError("give at least one learning rate")
    if len(out) > 20:
        raise UsageError("at most 20 learning rates at once")
    return out


def _column(data: Data, name: str) -> np.ndarray:
    return np.array([[float(v) for v in row[name]] if isinstance(row[name], list) else float(row[name])
                     for row in data.rows], dtype=float)


def _classifier(problem: Problem, data: Data, arrays: dict, graph: Graph) -> Decision | None:
    """How outputs are read as classes, when the targets are class labels: one number taking at most two
    values, or one-hot vectors; else None (no accuracy)."""
    if len(problem.targets) != 1 or problem.targets[0].name not in arrays:
        return None
    t = arrays[problem.targets[0].name].reshape(len(data.rows), -1)
    if t.shape[1] == 1:
        labels = len(np.unique(t)) <= 2
    else:
        labels = bool(np.all((t == 0) | (t == 1)) and np.all(t.sum(axis=1) == 1))
    if not labels:
        return None
    try:
        d = decision(problem, t)
    except UsageError:
        return None
    return d if d.output in graph.nodes else None


def _run(problem, graph, given, trained, data, arrays, judge, rate, epochs, batch, seed, exact_steps, record,
         limits, on_epoch) -> TrainingRun:
    n = len(data.rows)
    params = {name: given[name].copy() for name in trained}
    lr = float(rate)
    rng = np.random.default_rng(seed)
    losses, accuracies = [], []
    exact_params = None
    solutions, steps = [], []
    step = 0
    diverged = None

    def measure():
        values = forward_batch(graph, {**given, **params, **arrays})
        losses.append(float(np.mean(values["L"])))
        if judge is not None:
            predicted = classify(judge, values[judge.output])
            accuracies.append(float(np.mean(predicted == target_classes(judge, arrays[problem.targets[0].name]))))

    measure()
    for epoch in range(1, epochs + 1):
        order = np.arange(n) if epoch == 1 else rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            if step < exact_steps:
                exact_params, solution = _exact_step(problem, exact_params, [data.rows[i] for i in idx], rate,
                                                     graph, limits, step + 1)
                solutions.append(solution)
                params = {name: _floats(exact_params[name], graph.nodes[name].shape) for name in trained}
            else:
                leaves = {**given, **params, **{name: a[idx] for name, a in arrays.items()}}
                _, grads = loss_and_gradients(graph, leaves, trained)
                with np.errstate(over="ignore", invalid="ignore"):  # a run that blows up is reported, not warned
                    params = {name: params[name] - lr * grads[name][None] for name in trained}
            step += 1
            if step <= max(record, exact_steps):
                steps.append({name: a.copy() for name, a in params.items()})
        measure()
        if on_epoch is not None:
            on_epoch()
        if not math.isfinite(losses[-1]) or not all(np.all(np.isfinite(a)) for a in params.values()):
            losses[-1] = math.nan if not math.isfinite(losses[-1]) else losses[-1]
            diverged = epoch
            break
    return TrainingRun(lr, tuple(losses), tuple(accuracies) if judge is not None else None,
                       {name: natural(params[name], graph.nodes[name].shape) for name in trained},
                       "diverged" if diverged else status(losses), diverged, tuple(solutions), tuple(steps))


def status(losses) -> str:
    """converged (the loss settled: over the last tenth of the epochs it moved by less than SETTLED of itself,
    or is below TINY), still falling (below where it started), not falling, or diverged (not finite)."""
    if not all(math.isfinite(v) for v in losses):
        return "diverged"
    last = losses[-1]
    if len(losses) < 2:
        return "not falling"
    k = max(1, (len(losses) - 1) // 10)
    before = losses[-1 - k]
    if abs(last) < TINY or abs(last - before) <= SETTLED * abs(before):
        return "converged"
    return "still falling" if last < losses[0] else "not falling"


def _exact_step(problem: Problem, exact_params, samples, rate, graph, limits, step) -> tuple[dict, Solution]:
    """One step by the exact engine, as solve works it: the batch's samples as data:, one update."""
    current = problem if exact_params is None else replace(
        problem, parameters=tuple(
            replace(leaf, value=_leaf_value(exact_params[leaf.name], graph.nodes[leaf.name].shape))
            if leaf.name in exact_params else leaf for leaf in problem.parameters))
    current = replace(current, learning_rate=rate)
    note = f"Step {step} of training: a batch of {len(samples)} samples, learning rate {_decimal(rate)}."
    solution = solve(with_samples(current, list(samples), note, limits))
    updated = {name: value for name, value in solution.updated.items() if graph.nodes[name].role == "parameter"}
    return updated, solution


def _leaf_value(value, shape):
    """A value of the engine (a SymPy number or matrix) as a file's given value, exactly."""
    if not shape:
        return Num(_fraction(value))
    rows = [[Num(_fraction(v)) for v in value.row(i)] for i in range(value.rows)]
    return rows if len(shape) == 2 else [r[0] for r in rows]


def _decimal(v: Fraction) -> str:
    return format(float(v), "g") if v.denominator != 1 else str(v.numerator)


def _fraction(v) -> Fraction:
    """An engine number as a Fraction, rounded to CARRIED significant digits (exact when it is shorter): an exact
    update multiplies the digits of the parameters at every step, so they are carried to the next step rounded."""
    r = sp.Rational(v)
    with decimal.localcontext() as context:
        context.prec = CARRIED
        return Fraction(decimal.Decimal(int(r.p)) / decimal.Decimal(int(r.q)))


def _floats(value, shape) -> np.ndarray:
    """An exact value of the engine as the float path's (1, rows, cols) array."""
    rows = [[float(v) for v in value.row(i)] for i in range(value.rows)] if isinstance(value, sp.MatrixBase) \
        else [[float(value)]]
    return np.array(rows, dtype=float).reshape(1, *np.array(rows).shape)
