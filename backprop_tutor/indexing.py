"""Indexing, slicing, concat and stack: their shapes, their values and their backward scatter, on an Algebra."""
from __future__ import annotations

from .algebra import Algebra, ShapeError, T, Window, describe
from .expr import Slice


def window(at: tuple, shape: tuple, name: str) -> Window:
    """Where name[at] reads in a value of `shape`, checked: indices count from 1 and slices are inclusive."""
    if shape == ():
        raise ShapeError(f"{name} is a scalar and cannot be indexed")
    written = _written(name, at)
    if len(shape) == 1 and len(at) != 1:
        raise ShapeError(f"{written}: {name} is {describe(shape)} and takes one index, as {name}[2] or {name}[1:2]")
    if len(shape) == 2 and len(at) != 2:
        raise ShapeError(f"{written}: {name} is {describe(shape)} and takes two indices, "
                         f"as {name}[2, 1], {name}[2, :] or {name}[:, 1]")
    spans = [_span(index, size, name, written) for index, size in zip(at, shape)]
    if len(shape) == 1:
        spans.append(range(1))
    rows, cols = spans
    kept = [len(span) for index, span in zip(at, spans) if isinstance(index, Slice)]
    across = len(shape) == 2 and kept == [len(cols)] and not isinstance(at[0], Slice)
    return Window(rows, cols, tuple(kept), across, _label(at))


def joined(f: str, shapes: list) -> tuple[tuple, list[Window]]:
    """The shape of concat(...) or stack(...) of values of these shapes, and where each part sits in it.

    concat: scalars and vectors one after another (a longer vector), or matrices with the same number
    of columns one below another. stack: vectors of one length as the rows of a matrix, or scalars as
    a vector.
    """
    if len(shapes) < 2:
        raise ShapeError(f"{f} joins two values or more, not {len(shapes)}")
    ranks = {len(s) for s in shapes}
    if f == "concat" and ranks <= {0, 1}:
        heights, width, shape = [s[0] if s else 1 for s in shapes], 1, (sum(s[0] if s else 1 for s in shapes),)
    elif f == "concat" and ranks == {2} and len({s[1] for s in shapes}) == 1:
        heights, width = [s[0] for s in shapes], shapes[0][1]
        shape = (sum(heights), width)
    elif f == "stack" and ranks == {0}:
        heights, width, shape = [1] * len(shapes), 1, (len(shapes),)
    elif f == "stack" and ranks == {1} and len({s[0] for s in shapes}) == 1:
        heights, width = [1] * len(shapes), shapes[0][0]
        shape = (len(shapes), width)
    else:
        what = ", ".join(describe(s) for s in shapes)
        raise ShapeError(f"{f} cannot join {what}: concat joins scalars and vectors into a vector, or matrices "
                         f"with the same number of columns; stack joins vectors of one length as rows, or scalars")
    parts, top = [], 0
    for s, h in zip(shapes, heights):
        across = f == "stack" and len(s) == 1
        rows = str(top + 1) if s == () or across else f"{top + 1}:{top + h}"
        label = rows if len(shape) == 1 else f"{rows},:"
        parts.append(Window(range(top, top + h), range(width), s, across, label))
        top += h
    return shape, parts


def join(A: Algebra, f: str, parts: list[T]) -> T:
    """concat(...) or stack(...) of the parts."""
    shape, windows = joined(f, [p.shape for p in parts])
    return A.join(parts, windows, shape)


def unjoin(A: Algebra, f: str, parts: list[T], delta: T) -> list:
    """δ of each part of a join: the slots of δ that part fills (a function each, computed when called)."""
    _, windows = joined(f, [p.shape for p in parts])
    return [lambda w=w: A.take(delta, w) for w in windows]


def _span(index, size: int, name: str, written: str) -> range:
    """The 0-based positions an index reads along one side of `size`."""
    if isinstance(index, Slice):
        start = 1 if index.start is None else index.start
        stop = size if index.stop is None else index.stop
        if start > size or stop > size:
            raise ShapeError(f"{written} is out of range: {name} has {size} along that side (indices count from 1)")
        if stop < start:
            raise ShapeError(f"{written} is empty: a:b runs from a up to b, both included")
        return range(start - 1, stop)
    if index > size:
        raise ShapeError(f"{written} is out of range: {name} has {size} along that side (indices count from 1)")
    return range(index - 1, index)


def _label(at: tuple) -> str:
    """The index as the sheet writes it: 2, 1:3, 2,: (the text inside the brackets)."""
    def one(index):
        if isinstance(index, Slice):
            return f"{'' if index.start is None else index.start}:{'' if index.stop is None else index.stop}"
        return str(index)
    return ",".join(one(i) for i in at)


def _written(name: str, at: tuple) -> str:
    return f"{name}[{_label(at)}]"
