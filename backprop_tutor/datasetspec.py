"""The dataset: block of a problem file checked for form: a CSV file's path, a generator and its settings."""
from __future__ import annotations

import os
import re
from fractions import Fraction

from .expr import did_you_mean, shorten
from .items import Dataset
from .reading import Lookalike

# generator → setting → (lowest, highest, default, whole number?)
GENERATORS = {
    "double_ring": {"n": (1, None, 400, True), "noise": (0, 1, Fraction(0), False), "seed": (0, 2**32 - 1, 1, True)},
    "addition": {"n": (1, None, 200, True), "seed": (0, 2**32 - 1, 1, True), "low": (0, 1000, Fraction(0), False),
                 "high": (0, 1000, Fraction(1), False)},
}
DEFAULT_BATCH = 4  # samples of the first batch solve works by hand, unless the file says batch:


def leaf_shape(value) -> tuple:
    """The shape of a given value as the file writes it: () a number or null, (n,) a vector, (m, n) a matrix."""
    if isinstance(value, list):
        return (len(value), len(value[0])) if value and isinstance(value[0], list) else (len(value),)
    return ()


def read_dataset(b, inputs, targets, loss) -> Dataset:
    """dataset: checked for form (its data are read or generated only where they are needed)."""
    raw = b.d["dataset"]
    if "data" in b.d:
        raise b.err("give either data or dataset, not both", "dataset")
    if loss is None:
        raise b.err("dataset: needs a loss to train", "dataset")
    if b.d.get("reduction", "mean") != "mean":
        raise b.err("with dataset: the loss of a batch is the mean over its samples; leave out reduction",
                    "reduction")
    if not isinstance(raw, dict) or ("csv" in raw) == ("generate" in raw):
        raise b.err("dataset needs either csv: FILE or generate: one of " + ", ".join(GENERATORS), "dataset")
    if "csv" in raw:
        kind, options = "csv", {"path": csv_path(b, raw)}
        for k in raw:
            if k != "csv":
                raise b.err("a csv data set has no other settings", f"dataset.{k}")
        csv_columns(b, inputs, targets)
    else:
        kind = raw["generate"]
        if not isinstance(kind, str) or kind not in GENERATORS:
            raise b.err(f"{shorten(str(kind))!r} is not a generator"
                        + (did_you_mean(str(kind), GENERATORS) or f" (known: {', '.join(GENERATORS)})"),
                        "dataset.generate")
        options = generator_options(b, kind, raw)
        generated_names(b, kind, inputs, targets)
    n = options.get("n")
    batch = whole(b, "batch", b.d.get("batch", min(DEFAULT_BATCH, n or DEFAULT_BATCH)), 1, None)
    b.count("samples", batch, "samples in the first batch", "batch")
    if n is not None and batch > n:
        raise b.err(f"the first batch of {batch} samples is larger than the data set ({n})", "batch")
    return Dataset(kind, options, b.lines.get("dataset"), batch)


def csv_path(b, raw) -> str:
    """The CSV file's path as written: relative, inside the problem file's folder (checked again on reading)."""
    key, text = "dataset.csv", raw["csv"]
    if not isinstance(text, str) or isinstance(text, Lookalike) or not text.strip():
        raise b.err("must be the path of a CSV file beside the problem file", key)
    if "\0" in text or not text.isprintable():
        raise b.err("the path holds a control character", key)
    parts = text.replace("\\", "/").split("/")
    if os.path.isabs(text) or text.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", text):
        raise b.err("the path must be relative to the problem file's folder, not absolute", key)
    if ".." in parts:
        raise b.err("the path may not leave the problem file's folder (no ..)", key)
    return text


def csv_columns(b, inputs, targets):
    """Every input and target fed by a CSV file is a number or a vector: one column each entry."""
    for leaf in list(inputs) + list(targets):
        if len(leaf_shape(leaf.value)) > 1:
            raise b.err("a data set gives numbers and vectors, not matrices", leaf.key)


def generator_options(b, kind, raw) -> dict:
    known = GENERATORS[kind]
    options = {}
    for k, v in raw.items():
        key = f"dataset.{k}"
        if k == "generate":
            continue
        if k not in known:
            raise b.err(f"{kind} has no setting {shorten(str(k))!r} (its settings: {', '.join(known)})", key)
        low, high, default, integer = known[k]
        if integer:
            options[k] = whole(b, key, v, low, high)
        else:
            value = b.number(v, key, "must be a number")
            if not low <= value <= high:
                raise b.err(f"must lie between {low} and {high}", key)
            options[k] = value
    for k, (low, high, default, integer) in known.items():
        options.setdefault(k, default)
    if options["n"] > b.limits.dataset_rows:
        raise b.limit("dataset_rows", f"n asks for {shorten(str(options['n']), 20)} samples", "dataset.n")
    if "low" in options and not options["low"] < options["high"]:
        raise b.err("low must be less than high", "dataset.low")
    return options


def whole(b, key, v, low, high) -> int:
    """A whole number between low and high (high None: no upper bound)."""
    value = v if isinstance(v, int) and not isinstance(v, bool) else b.number(v, key, "must be a whole number")
    if value is None or value.denominator != 1 or value < low or (high is not None and value > high):
        raise b.err(f"must be a whole number from {low}" + (f" to {high}" if high is not None else " up"), key)
    return int(value)


def generated_names(b, kind, inputs, targets):
    """A generator feeds one input, a vector of 2 numbers, and one target, a single number."""
    if len(inputs) != 1 or leaf_shape(inputs[0].value) != (2,):
        raise b.err(f"{kind} makes pairs of numbers: give exactly one input, a vector of 2 "
                    "(e.g. x: [0, 0])", "inputs" if inputs else "dataset")
    if len(targets) != 1 or leaf_shape(targets[0].value) not in ((), (1,)):
        raise b.err(f"{kind} makes one target number per sample: give exactly one target, "
                    "a number or a vector of 1 (e.g. t: 0)", "targets" if targets else "dataset")
