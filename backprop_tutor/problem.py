"""YAML text → a validated, immutable Problem; every key keeps its line for error messages."""
from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

from msgspec import Struct, field
from msgspec.structs import replace

from .ask import Ask, forward_only, read_asks
from .errors import LimitError, ProblemError, UsageError
from .expr import (BinOp, ExprError, ExprLimitError, Name, Num, did_you_mean, names_in, parse, rename,
                   shorten)
from .datasetspec import read_dataset
from .items import Dataset, Leaf, Line, Recurrence
from .limits import DEFAULT, Limits, coerce
from .network import network
from .layers import KEYWORDS, LAYERS
from .ops import FUNCTIONS, RESERVED
from .prose import check_prose
from .recurrence import recurrence
from .reading import Document, Lookalike, printable, read_text, read_yaml
from .rounding import MAX_DECIMALS
from .sheetnotation import Notation, read_notation
from .texsafe import UnsafeTeX, check_math

CALLABLE = FUNCTIONS | frozenset(LAYERS)  # every name a line may call

TOP_KEYS = ("title", "source", "notes", "comment", "inputs", "parameters", "targets", "forward", "network",
            "loss", "learning_rate", "frozen", "ask", "aliases", "data", "reduction", "latex", "notation",
            "dataset", "batch", "rounding", "recurrent")
_NAME_OK = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LATEX_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[\d+(,\d+)?\])?")
RESERVED_PREFIX = "delta_"  # delta_y is how the backward pass writes δ_y


class Problem(Struct, frozen=True):
    """A problem exactly as its file states it, checked for form but not yet solved."""

    path: str
    title: str
    source: str | None
    notes: str | None
    inputs: tuple[Leaf, ...]
    parameters: tuple[Leaf, ...]
    derived: tuple[Line, ...]
    targets: tuple[Leaf, ...]
    forward: tuple[Line, ...]
    loss: Line | None   # None only when every ask part needs no more than the forward pass
    learning_rate: Fraction | None
    frozen: tuple[str, ...]
    ask: tuple[Ask, ...]
    aliases: dict = field(default_factory=dict)
    lines: dict = field(default_factory=dict)
    latex: dict = field(default_factory=dict)  # name → how LaTeX output writes it
    comment: str | None = None  # for whoever maintains the file; shown only when asked for
    notation: Notation = field(default_factory=Notation)  # the sheet's symbols (notation: block)
    general_samples: int | None = None  # a mean over this many samples left as symbols: written 1/N
    samples: int = 0  # the samples of data: (0 without it), each a copy of the forward lines
    dataset: Dataset | None = None  # a data set (dataset:) to train on; solve works its first batch
    round_each_step: int | None = None  # rounding: {each_step: N}: every step's value rounded to N decimals
    recurrence: Recurrence | None = None  # recurrent: as unrolled into the first forward lines
    limits: Limits = DEFAULT  # the size limits the file was read within (a joined value is held to them)

    def error(self, message: str, key: str | None = None, line: int | None = None) -> ProblemError:
        """A ProblemError pointing at this file."""
        if line is None and key is not None:
            line = self.lines.get(key)
        return ProblemError(message, file=self.path, line=line, key=printable(key))


def load(path: str | Path, limits: Limits | dict | None = None) -> Problem:
    """Read and validate a problem file, refusing anything beyond the limits before work starts."""
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"load needs a path to a problem file, not {type(path).__name__}")
    if isinstance(path, str) and ("\n" in path or path.lstrip().startswith("{")):
        raise UsageError("this looks like YAML text: use loads(text)")
    limits = coerce(limits)
    try:
        text = read_text(path, limits)
    except ProblemError as e:
        if isinstance(path, str) and ": " in path and e.message == "no such file":
            raise UsageError("this looks like YAML text: use loads(text)") from None
        raise
    return loads(text, os.fspath(path), limits)


def loads(text: str, filename: str = "<string>", limits: Limits | dict | None = None) -> Problem:
    """Validate a problem given as YAML text, refusing anything beyond the limits before work starts."""
    if not isinstance(text, str):
        raise UsageError(f"loads needs the YAML text of a problem as a str, not {type(text).__name__}")
    filename, limits = str(filename), coerce(limits)
    doc = read_yaml(text, filename, limits)
    if not isinstance(doc.data, dict):
        raise ProblemError("a problem file must be a mapping of keys such as inputs, parameters, loss",
                           file=filename, line=doc.line)
    return _Builder(filename, doc, limits).build()


class _Builder:
    def __init__(self, filename, doc, limits):
        self.f, self.d, self.lines, self.texts, self.limits = filename, doc.data, doc.lines, doc.texts, limits
        self.values = 0  # entries of given values read so far, for the values limit

    def err(self, message, key=None, line=None):
        if line is None and key is not None:
            probe = key
            while probe and probe not in self.lines:
                probe = probe.rsplit(".", 1)[0] if "." in probe else ""
            line = self.lines.get(probe)
        return ProblemError(message, file=self.f, line=line, key=printable(key))

    def limit(self, name, what, key):
        """A LimitError at key: what passes the limit `name`, and how to raise it."""
        return self.limit_error(self.limits.message(name, what), key)

    def limit_error(self, message, key):
        error = self.err(message, key)
        return LimitError(message, file=error.file, line=error.line, key=error.key)

    def count(self, name, n, what, key):
        """Refuse n things where the limit `name` allows fewer."""
        if n > getattr(self.limits, name):
            raise self.limit(name, f"there are {n} {what}", key)

    def count_values(self, n, key):
        self.values += n
        if self.values > self.limits.values:
            raise self.limit("values", f"the given values have more than {self.limits.values} entries in all", key)

    def text(self, key):
        v = self.d.get(key)
        if v is None:
            return None
        if isinstance(v, (dict, list)):
            raise self.err("must be text", key)
        return self.texts.get(key, str(v))

    def prose(self, key):
        """Text whose inline math ($…$) must be in the safe subset."""
        try:
            value = self.text(key)
            return None if value is None else check_prose(value)
        except UnsafeTeX as e:
            raise self.err(str(e), key) from None

    def expr(self, text, key, allow_names=True):
        if isinstance(text, Fraction):
            return Num(text)
        if isinstance(text, Lookalike):
            raise self.err(text.why, key)
        try:
            node = parse(text, CALLABLE, self.limits, KEYWORDS)
        except ExprLimitError as e:
            raise self.limit_error(str(e), key) from None
        except ExprError as e:
            raise self.err(str(e), key) from None
        if not allow_names:
            names = names_in(node)
            if names:
                raise self.err(f"a given value may only use numbers, not the name {names[0]!r}", key)
        return node

    def leaves(self, section, allow_derived=False):
        raw = self.d.get(section)
        if raw is None:
            return [], []
        if not isinstance(raw, dict):
            raise self.err(f"{section} must be a mapping of names to values", section)
        self.count("nodes", len(raw), "names", section)
        leaves, derived = [], []
        for name, v in raw.items():
            key = f"{section}.{name}"
            self.check_name(name, key)
            if allow_derived and isinstance(v, str) and not isinstance(v, Lookalike):
                node = self.expr(v, key)
                if names_in(node):
                    derived.append(Line(name, node, v, self.lines[key], key))
                    continue
                leaves.append(Leaf(name, node, self.lines[key], key))
                continue
            leaves.append(Leaf(name, self.value(v, key), self.lines[key], key))
        return leaves, derived

    def value(self, v, key):
        if v is None:
            return None
        if isinstance(v, (Fraction, str)):
            self.count_values(1, key)
            return self.expr(v, key, allow_names=False)
        if isinstance(v, list):
            if not v:
                raise self.err("an empty list is not a vector", key)
            side, is_matrix = self.limits.matrix_side, all(isinstance(r, list) for r in v)
            if len(v) > side:
                raise self.limit("matrix_side", f"the matrix has {len(v)} rows" if is_matrix
                                 else f"the vector has {len(v)} entries", key)
            if is_matrix:
                widest = max(len(r) for r in v)
                if widest > side:
                    raise self.limit("matrix_side", f"the matrix has {widest} columns", key)
                self.count("matrix_elements", sum(len(r) for r in v), "entries in the matrix", key)
                self.count_values(sum(len(r) for r in v), key)
                rows = [[self.scalar(x, f"{key}[{i}][{j}]") for j, x in enumerate(r)]
                        for i, r in enumerate(v)]
                if len({len(r) for r in rows}) != 1 or not rows[0]:
                    raise self.err("the rows of a matrix must all have the same, non-zero length", key)
                return rows
            if any(isinstance(r, list) for r in v):
                raise self.err("mixes numbers and lists: write a vector [a, b] or a matrix [[a, b], [c, d]]", key)
            self.count_values(len(v), key)
            return [self.scalar(x, f"{key}[{i}]") for i, x in enumerate(v)]
        raise self.err(f"{shorten(repr(v))} is not a number, a list or a list of lists", key)

    def scalar(self, v, key):
        if isinstance(v, (Fraction, str)) and not isinstance(v, bool):
            return self.expr(v, key, allow_names=False)
        if v is None:
            return None
        raise self.err(f"{shorten(repr(v))} is not a number", key)

    def check_name(self, name, key):
        if not isinstance(name, str) or not _NAME_OK.fullmatch(name):
            shown = shorten(name) if isinstance(name, str) else name
            raise self.err(f"{shown!r} is not a valid name (letters, digits, _; not starting with a digit)", key)
        if name in RESERVED:
            raise self.err(f"{name!r} is the name of a function", key)
        if name.startswith(RESERVED_PREFIX):
            raise self.err(f"{name!r}: names starting with {RESERVED_PREFIX} are kept for the backward pass's "
                           f"deltas ({RESERVED_PREFIX}y is δ_y); choose another name", key)

    def build(self) -> Problem:
        for k in self.d:
            if k not in TOP_KEYS:
                raise self.err("unknown key" + (did_you_mean(str(k), TOP_KEYS) or f" (known: {', '.join(TOP_KEYS)})"), k)
        inputs, _ = self.leaves("inputs")
        params, derived = self.leaves("parameters", allow_derived=True)
        targets, _ = self.leaves("targets")
        forward = []
        if "forward" in self.d and "network" in self.d:
            raise self.err("give either forward or network, not both", "network")
        if "forward" in self.d:
            raw = self.d["forward"]
            if raw is None:
                raw = {}
            if not isinstance(raw, dict):
                raise self.err("forward must be a mapping of names to expressions", "forward")
            self.count("nodes", len(raw), "forward lines", "forward")
            for name, text in raw.items():
                key = f"forward.{name}"
                self.check_name(name, key)
                if not isinstance(text, (str, Fraction)):
                    raise self.err("must be an expression", key)
                forward.append(Line(name, self.expr(text, key), self.texts.get(key, text), self.lines[key], key))
        elif "network" in self.d:
            extra_params, forward = network(self, inputs)
            params = params + extra_params
        unrolled = None
        if "recurrent" in self.d:
            if "network" in self.d:
                raise self.err("give either recurrent or network, not both", "recurrent")
            for other in ("data", "dataset"):
                if other in self.d:
                    raise self.err(f"recurrent and {other} together are not supported: the block unrolls one "
                                   "sequence, given under inputs:", "recurrent")
            defined = {item.name for group in (inputs, params, derived, targets, forward) for item in group}
            if isinstance(self.d.get("aliases"), dict):
                defined |= {str(a) for a in self.d["aliases"]}
            lines, unrolled = recurrence(self, inputs, defined)
            forward = lines + forward
        asks = read_asks(self)
        loss = None
        if "loss" in self.d:
            loss_text = self.d["loss"]
            if not isinstance(loss_text, (str, Fraction)):
                raise self.err("must be an expression such as sse(y, t)", "loss")
            loss = Line("L", self.expr(loss_text, "loss"), self.texts.get("loss", loss_text), self.lines["loss"],
                        "loss")
        elif not asks or not all(forward_only(a) for a in asks):
            raise self.err("the key 'loss' is required (e.g. loss: sse(y, t))", None, line=1)
        lr = self.number(self.d.get("learning_rate"), "learning_rate", "must be a number")
        names = {}
        for group in (inputs, params, derived, targets, forward):
            for item in group:
                if item.name in names or item.name == "L":
                    raise self.err(f"the name {item.name!r} is defined twice", item.key)
                names[item.name] = item
        frozen = self.d.get("frozen") or []
        if not isinstance(frozen, list) or not all(isinstance(n, str) for n in frozen):
            raise self.err("must be a list of parameter names", "frozen")
        param_names = {p.name for p in params} | {p.name for p in derived}
        for i, n in enumerate(frozen):
            if n not in param_names:
                raise self.err(f"{n!r} is not a parameter", f"frozen[{i}]")
        aliases = self.d.get("aliases") or {}
        if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in aliases.values()):
            raise self.err("must map names to weights, e.g. W21: \"W2[2,1]\"", "aliases")
        for a in aliases:
            self.check_name(a, f"aliases.{a}")
            if a in names:
                raise self.err(f"{a!r} already names a quantity of the file; choose another alias", f"aliases.{a}")
        latex = self.d.get("latex") or {}
        if not isinstance(latex, dict) or not all(isinstance(v, str) for v in latex.values()):
            raise self.err("must map names to LaTeX, e.g. W21: \"W^{(2)}_{21}\"", "latex")
        for k, v in latex.items():
            if not isinstance(k, str) or not _LATEX_KEY.fullmatch(k):
                raise self.err(f"{printable(str(k))!r} is not a name (or one weight such as W2[2,1]) to write in LaTeX",
                               "latex")
            try:
                check_math(v)
            except UnsafeTeX as e:
                raise self.err(str(e), f"latex.{k}") from None
        notation = read_notation(self, set(names) | set(aliases))
        general, samples = None, 0
        dataset = read_dataset(self, inputs, targets, loss) if "dataset" in self.d else None
        if "batch" in self.d and dataset is None:
            raise self.err("batch only applies together with dataset:", "batch")
        if "data" in self.d:
            if loss is None:
                raise self.err("data: needs a loss to reduce over the samples", "data")
            inputs, targets, forward, loss = self.samples(inputs, targets, forward, loss)
            general = self.general_samples()
            samples = len(self.d["data"])
        elif "reduction" in self.d:
            raise self.err("reduction only applies together with data:", "reduction")
        where = next((k for k in ("data", "forward", "network", "parameters", "inputs", "targets") if k in self.d), None)
        self.count("nodes", sum(map(len, (inputs, params, derived, targets, forward))),
                   "inputs, parameters, targets and forward lines", where)
        return Problem(
            path=self.f, title=self.text("title") or Path(self.f).stem, source=self.text("source"),
            notes=self.prose("notes"), inputs=tuple(inputs), parameters=tuple(params),
            derived=tuple(derived), targets=tuple(targets), forward=tuple(forward), loss=loss,
            learning_rate=lr, frozen=tuple(frozen), ask=tuple(asks), aliases=dict(aliases),
            lines=dict(self.lines), latex=dict(latex), comment=self.prose("comment"), notation=notation,
            general_samples=general, samples=samples, dataset=dataset, round_each_step=self.rounding(),
            recurrence=unrolled, limits=self.limits)

    def rounding(self) -> int | None:
        """rounding: {each_step: N}, N a whole number of decimals in 0..MAX_DECIMALS; None when not given."""
        raw = self.d.get("rounding")
        if raw is None:
            return None
        if not isinstance(raw, dict) or set(raw) != {"each_step"}:
            raise self.err("must be a mapping such as {each_step: 2}", "rounding")
        n = raw["each_step"]
        if not isinstance(n, Fraction) or n.denominator != 1 or not 0 <= n <= MAX_DECIMALS:
            raise self.err(f"each_step must be a whole number of decimals from 0 to {MAX_DECIMALS}", "rounding")
        return int(n)

    def number(self, v, key, message):
        """An optional plain number (learning_rate, threshold): a Fraction, or None when not given."""
        if v is None or isinstance(v, Fraction):
            return v
        if isinstance(v, Lookalike):
            raise self.err(v.why, key)
        raise self.err(message, key)

    def general_samples(self) -> int | None:
        """n for a mean over n samples whose every value is left open: the sheet's N, kept general."""
        raw = self.d["data"]
        n = len(raw)
        if self.d.get("reduction", "mean") != "mean" or n < 2:
            return None
        if any(v is not None for sample in raw for v in sample.values()):
            return None
        return n

    def samples(self, inputs, targets, forward, loss):
        """data: one copy of the forward lines per sample (names gain ^(k)), the loss reduced over them."""
        raw = self.d["data"]
        if not isinstance(raw, list) or not raw or not all(isinstance(r, dict) for r in raw):
            raise self.err("data must be a list of samples, each a mapping such as {x: [1, 2], t: 0}", "data")
        self.count("samples", len(raw), "samples", "data")
        self.count("nodes", len(raw) * (len(forward) + 1), f"forward lines and losses for {len(raw)} samples",
                   "data")
        reduction = self.d.get("reduction", "mean")
        if reduction not in ("mean", "sum"):
            raise self.err("reduction must be mean or sum", "reduction")
        leaves = {leaf.name: leaf for leaf in list(inputs) + list(targets)}
        varying = []
        for k, sample in enumerate(raw):
            for name in sample:
                if name not in leaves:
                    raise self.err(f"{name!r} is not one of the inputs or targets", f"data[{k}].{name}")
                if name not in varying:
                    varying.append(name)
        n = len(raw)
        new_leaves = {"inputs": [], "targets": []}
        for group, items in (("inputs", inputs), ("targets", targets)):
            for leaf in items:
                if leaf.name not in varying:
                    new_leaves[group].append(leaf)
                    continue
                for k, sample in enumerate(raw, start=1):
                    key = f"data[{k - 1}].{leaf.name}"
                    value = self.value(sample[leaf.name], key) if leaf.name in sample else leaf.value
                    new_leaves[group].append(Leaf(sample_name(leaf.name, k), value, self.lines.get(key, leaf.line), key))
        per_sample = set(varying) | {line.name for line in forward}
        new_forward, losses = [], []
        for k in range(1, n + 1):
            names = {name: sample_name(name, k) for name in per_sample}
            for line in forward:
                new_forward.append(Line(names[line.name], rename(line.expr, names), line.text, line.line, line.key))
            losses.append(Line(sample_name("L", k), rename(loss.expr, names), loss.text, loss.line, loss.key))
        total = Name(losses[0].name)
        for line in losses[1:]:
            total = BinOp("+", total, Name(line.name))
        if reduction == "mean" and n > 1:
            total = BinOp("*", Num(Fraction(1, n)), total)
        text = f"{reduction} over the {n} samples of {loss.text}"
        return (tuple(new_leaves["inputs"]), tuple(new_leaves["targets"]), tuple(new_forward + losses),
                Line("L", total, text, loss.line, loss.key))



def sample_name(name: str, k: int) -> str:
    """The name of a quantity for sample k: x1 → x1^(k), printed x1⁽ᵏ⁾."""
    return f"{name}^({k})"


def format_decimal(v: Fraction) -> str:
    """A terminating fraction as the decimal it came from; others as p/q."""
    d = v.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d != 1:
        return f"{v.numerator}/{v.denominator}"
    from decimal import Decimal
    return format(Decimal(v.numerator) / Decimal(v.denominator), "f")


def with_samples(problem: Problem, samples: list, note: str, limits: Limits | dict | None = None) -> Problem:
    """The problem over these samples (each a mapping of input and target names to exact values), as data:
    would give them: one copy of the forward lines per sample, the loss their mean; `note` heads its notes."""
    raw = {"data": samples}
    builder = _Builder(problem.path, Document(raw, problem.lines, {}, 1), coerce(limits))
    inputs, targets, forward, loss = builder.samples(problem.inputs, problem.targets, problem.forward, problem.loss)
    builder.count("nodes", sum(map(len, (inputs, problem.parameters, problem.derived, targets, forward))),
                  "inputs, parameters, targets and forward lines", "dataset")
    notes = note if not problem.notes else f"{note}\n\n{problem.notes}"
    return replace(problem, inputs=inputs, targets=targets, forward=forward, loss=loss,
                   samples=len(samples), notes=notes)
