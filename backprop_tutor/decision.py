"""Which class a network's output stands for: the node that decides, its threshold, the class names."""
from __future__ import annotations

from msgspec import Struct
import numpy as np

from .errors import UsageError
from .expr import Call, Name
from .problem import Problem

PROBABILITIES = ("bce", "cross_entropy")  # losses whose output is a probability: classes split at 1/2


class Decision(Struct, frozen=True):
    """Class 1 (the second label) where `output` > `threshold`; with no threshold, the index of the
    largest entry of a vector output."""

    output: str
    threshold: float | None
    labels: tuple[str, ...]


def decision(problem: Problem, targets=None) -> Decision:
    """How a problem's output is read as a class: from its linear_pieces or truth_table part, else
    from its loss (a probability splits at 1/2, a fused logit at 0, two target values at their midpoint)."""
    for ask in problem.ask:
        if ask.kind == "linear_pieces":
            return Decision(ask.options["output"] or _last(problem), 0.0,
                            (ask.options["below"], ask.options["above"]))
        if ask.kind == "truth_table" and ask.options.get("output"):
            return Decision(ask.options["output"], float(ask.options["threshold"]), ("0", "1"))
    loss = problem.loss.expr if problem.loss is not None else None
    if not isinstance(loss, Call) or len(loss.args) != 2:
        raise UsageError("the problem has no classes to tell apart: give it a loss that compares an output "
                         "with a target, or a linear_pieces part", file=problem.path)
    first, target = loss.args
    fused = isinstance(first, Call) and first.func in ("sigmoid", "softmax") and len(first.args) == 1 \
        and loss.func in PROBABILITIES
    if fused:
        first = first.args[0]
    if not isinstance(first, Name):
        raise UsageError("the loss's output is not a named quantity; name it in forward: to read classes",
                         file=problem.path)
    target_name = target.id if isinstance(target, Name) else "t"
    rows = _rows(targets) if targets is not None else None
    if rows is not None and rows.shape[1] > 1 or loss.func == "cross_entropy" and fused:
        k = rows.shape[1] if rows is not None else _size(problem, first.id)
        return Decision(first.id, None, tuple(f"class {i + 1}" for i in range(k)))
    values = np.unique(rows[:, 0]) if rows is not None else None
    if fused:
        threshold = 0.0
    elif loss.func in PROBABILITIES:
        threshold = 0.5
    elif values is not None and values.size == 2:
        threshold = float(values.mean())
    else:
        threshold = 0.0
    if values is not None and values.size == 2:
        labels = tuple(f"{target_name} = {_short(v)}" for v in values)
    else:
        labels = (f"{first.id} ≤ {_short(threshold)}", f"{first.id} > {_short(threshold)}")
    return Decision(first.id, threshold, labels)


def classify(d: Decision, outputs) -> np.ndarray:
    """The class index of each sample, from the deciding node's values (B, …)."""
    a = _rows(outputs)
    return a.argmax(axis=1) if d.threshold is None else (a[:, 0] > d.threshold).astype(int)


def target_classes(d: Decision, targets) -> np.ndarray:
    """The class index each target stands for: its largest entry (one-hot), else above the threshold."""
    return classify(d, targets)


def _rows(values) -> np.ndarray:
    """Per-sample values as (B, k): one row of k numbers per sample."""
    a = np.asarray(values, dtype=float)
    return a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)


def _size(problem: Problem, name: str) -> int:
    """How many numbers a forward line's value has, from the leaf it is compared with (2 when unknown)."""
    for leaf in problem.targets:
        if isinstance(leaf.value, list):
            return len(leaf.value)
    return 2


def _last(problem: Problem) -> str:
    return problem.forward[-1].name


def _short(v: float) -> str:
    return f"{v:g}"
