"""A problem's data set (dataset:): read from its CSV file or generated, exact; its first batch as data:."""
from __future__ import annotations

import csv
import io
import math
import os
import stat
from fractions import Fraction
from pathlib import Path

from msgspec import Struct

from .errors import LimitError, ProblemError
from .expr import ExprError, ExprLimitError, number, shorten
from .limits import Limits, coerce
from .datasetspec import leaf_shape
from .problem import Problem, with_samples

DECIMALS = 2  # generated numbers are rounded to this many decimals: the hand computation stays humane


class Data(Struct, frozen=True):
    """The samples of a data set, exact: each a mapping of input and target names to a Fraction or a list."""

    rows: tuple
    names: tuple        # the inputs and targets each sample gives, in the file's order
    description: str    # what the data set is, for a heading: "double_ring, seed 1"


def columns(problem: Problem) -> dict:
    """The CSV column of each entry: name → column names (x for a number, x[1], x[2] for a vector)."""
    out = {}
    for leaf in list(problem.inputs) + list(problem.targets):
        shape = leaf_shape(leaf.value)
        out[leaf.name] = [leaf.name] if shape == () else [f"{leaf.name}[{i}]" for i in range(1, shape[0] + 1)]
    return out


def load_data(problem: Problem, limits: Limits | dict | None = None) -> Data:
    """The whole data set of a problem with dataset:, read or generated, every number exact."""
    spec = problem.dataset
    if spec is None:
        raise problem.error("the problem has no dataset: to train on", "dataset")
    limits = coerce(limits)
    if spec.kind == "csv":
        return read_csv(problem, limits)
    o = spec.options
    if spec.kind == "double_ring":
        rows = double_ring(o["n"], o["noise"], o["seed"])
        about = f"double_ring, noise {_plain(o['noise'])}, seed {o['seed']}"
    else:
        rows = addition(o["n"], o["low"], o["high"], o["seed"])
        about = f"addition of numbers from {_plain(o['low'])} to {_plain(o['high'])}, seed {o['seed']}"
    (x,), (t,) = problem.inputs, problem.targets
    scalar_target = leaf_shape(t.value) == ()
    samples = tuple({x.name: list(point), t.name: label if scalar_target else [label]} for point, label in rows)
    return Data(samples, (x.name, t.name), about)


def first_batch(problem: Problem, limits: Limits | dict | None = None) -> Problem:
    """The problem over the first batch of its data set, as data: gives it: the first step of training by hand."""
    data = load_data(problem, limits)
    batch = min(problem.dataset.batch, len(data.rows))
    note = (f"Step 1 of training: the first batch of {batch} of the {len(data.rows)} samples of the data set "
            f"({data.description}).").replace("\\", "/").replace("$", "\\$")
    return with_samples(problem, list(data.rows[:batch]), note, limits)


def solvable(problem: Problem, limits: Limits | dict | None = None) -> Problem:
    """The problem as solve and derive work it: a data set's first batch, anything else as it is."""
    if problem.dataset is None or problem.samples:
        return problem
    return first_batch(problem, limits)


def _plain(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else format(float(v), "g")


# -- generators ------------------------------------------------------------------------------------

def _exact(values) -> list:
    """Floats rounded to DECIMALS, as exact Fractions (the rounding is done on integers: bit for bit)."""
    import numpy as np
    scaled = np.rint(np.asarray(values, dtype=np.float64) * 10 ** DECIMALS).astype(np.int64)
    return [Fraction(int(k), 10 ** DECIMALS) for k in scaled.ravel()]


def double_ring(n: int, noise: Fraction, seed: int) -> list:
    """n points ((x1, x2), class): class 1 in the disc of radius 0.5, class 0 in the ring from 0.7 to 1.

    Half the points (rounded down) are inner. Radius and angle are drawn uniformly, then each coordinate
    moves by a uniform amount in [-noise, noise); the points are shuffled and rounded to DECIMALS.
    """
    import numpy as np
    rng = np.random.default_rng(seed)
    inner = n // 2
    radius = np.concatenate([rng.uniform(0.0, 0.5, inner), rng.uniform(0.7, 1.0, n - inner)])
    angle = rng.uniform(0.0, 2 * math.pi, n)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    points += rng.uniform(-float(noise), float(noise), (n, 2))
    labels = np.concatenate([np.ones(inner, dtype=np.int64), np.zeros(n - inner, dtype=np.int64)])
    order = rng.permutation(n)
    coords = _exact(points[order])
    return [((coords[2 * i], coords[2 * i + 1]), Fraction(int(labels[k]))) for i, k in enumerate(order)]


def addition(n: int, low: Fraction, high: Fraction, seed: int) -> list:
    """n pairs ((a, b), a + b), a and b drawn uniformly from [low, high) and rounded to DECIMALS."""
    import numpy as np
    rng = np.random.default_rng(seed)
    pairs = _exact(rng.uniform(float(low), float(high), (n, 2)))
    return [((pairs[2 * i], pairs[2 * i + 1]), pairs[2 * i] + pairs[2 * i + 1]) for i in range(n)]


# -- CSV -------------------------------------------------------------------------------------------

def read_csv(problem: Problem, limits: Limits) -> Data:
    """The samples of the problem's CSV file: a header of column names, then one row of numbers per sample."""
    rel = problem.dataset.options["path"]
    shown = os.path.join(os.path.dirname(problem.path), rel) if problem.path != "<string>" else rel
    text = _csv_text(problem, rel, shown, limits)
    want = columns(problem)
    reader = csv.reader(io.StringIO(text, newline=""))
    header, rows = None, []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            cells = [c.strip() for c in cells]
            if header is None:
                header = _header(cells, want, shown, line)
                continue
            if len(rows) >= limits.dataset_rows:
                raise LimitError(limits.message("dataset_rows", f"the file has more than {limits.dataset_rows} "
                                                "rows of samples"), file=shown, line=line)
            if len(cells) != len(header):
                raise ProblemError(f"the row has {len(cells)} cells, the header {len(header)}", file=shown, line=line)
            values = {}
            for name, cell in zip(header, cells):
                try:
                    values[name] = number(cell, limits)
                except ExprLimitError as e:
                    raise LimitError(str(e), file=shown, line=line, key=name) from None
                except ExprError:
                    raise ProblemError(f"{shorten(cell)!r} is not a number", file=shown, line=line,
                                       key=name) from None
            rows.append({leaf: values[cols[0]] if len(cols) == 1 and cols[0] == leaf else [values[c] for c in cols]
                         for leaf, cols in want.items()})
    except csv.Error as e:
        raise ProblemError(f"not CSV: {e}", file=shown, line=reader.line_num) from None
    if header is None or not rows:
        raise ProblemError("the file has no samples: a header row of column names, then a row per sample",
                           file=shown)
    return Data(tuple(rows), tuple(want), f"CSV file {rel}")


def _header(cells, want, shown, line) -> list:
    """The header row: every column the problem needs, once, and no other."""
    needed = [c for cols in want.values() for c in cols]
    for k, c in enumerate(cells):
        if c not in needed:
            raise ProblemError(f"{shorten(c)!r} is not a column of this problem (its columns: {', '.join(needed)})",
                               file=shown, line=line, key=f"column {k + 1}")
        if c in cells[:k]:
            raise ProblemError(f"the column {c!r} is named twice", file=shown, line=line, key=f"column {k + 1}")
    missing = [c for c in needed if c not in cells]
    if missing:
        raise ProblemError(f"the header lacks the column {missing[0]!r} (its columns: {', '.join(needed)})",
                           file=shown, line=line)
    return cells


def _csv_text(problem: Problem, rel: str, shown: str, limits: Limits) -> str:
    """The CSV file's text: a regular file inside the problem file's folder, within dataset_bytes, UTF-8."""
    folder = Path(problem.path).parent if problem.path != "<string>" else Path(".")
    base = os.path.realpath(folder)
    real = os.path.realpath(os.path.join(base, rel))
    if os.path.commonpath([base, real]) != base:
        raise problem.error("the path leads out of the problem file's folder (through a symbolic link)",
                            "dataset.csv")
    try:  # O_NOFOLLOW: a link put in its place after the check is not followed; O_NONBLOCK: a pipe cannot hang
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise problem.error(f"no such file: {shorten(rel)}", "dataset.csv") from None
    except OSError as e:
        raise problem.error(f"cannot read {shorten(rel)}: {e.strerror or e}", "dataset.csv") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise problem.error(f"{shorten(rel)} is not a regular file (a folder, a pipe or a device)", "dataset.csv")
    with os.fdopen(fd, "rb") as f:
        if info.st_size > limits.dataset_bytes:
            raise LimitError(limits.message("dataset_bytes", f"the file has {info.st_size} bytes"), file=shown)
        data = f.read(limits.dataset_bytes + 1)
    if len(data) > limits.dataset_bytes:
        raise LimitError(limits.message("dataset_bytes", f"the file has more than {limits.dataset_bytes} bytes"),
                         file=shown)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ProblemError(f"not UTF-8 text (byte {e.start + 1} cannot be read)", file=shown,
                           line=data.count(b"\n", 0, e.start) + 1) from None
