"""A problem with the parameters of a params file that `tutor train -o` writes, read safely and exactly."""
from __future__ import annotations

from fractions import Fraction

from msgspec.structs import replace

from .errors import ProblemError
from .expr import Num, shorten
from .items import Leaf
from .limits import Limits, coerce
from .problem import Problem
from .reading import Lookalike, printable, read_text, read_yaml

KEYS = ("problem", "epochs", "learning_rate", "seed", "loss", "accuracy", "parameters")
_WHOLE = ("epochs", "seed")
_NUMBERS = ("learning_rate", "loss", "accuracy")


def with_parameters(problem: Problem, path, limits: Limits | dict | None = None) -> Problem:
    """The problem with its parameters replaced by those of a params file (the keys of KEYS only;
    every name a parameter of the problem, of its shape, every number exact)."""
    limits = coerce(limits)
    name = str(path)
    doc = read_yaml(read_text(path, limits), name, limits)
    reader = _Params(name, doc)
    given = reader.parameters()
    shapes = {leaf.name: shape_of(leaf.value) for leaf in problem.parameters}
    derived = {line.name for line in problem.derived}
    for n in given:
        if n in derived:
            raise reader.err(f"{n!r} is computed from other parameters in {problem.path}; "
                             "give those instead", f"parameters.{n}")
        if n not in shapes:
            known = ", ".join(shapes) or "none"
            raise reader.err(f"{shorten(str(n))!r} is not a parameter of {problem.path} (its parameters: {known})",
                             f"parameters.{n}")
    leaves = []
    for leaf in problem.parameters:
        if leaf.name in given:
            value = reader.value(given[leaf.name], shapes[leaf.name], f"parameters.{leaf.name}")
            leaf = Leaf(leaf.name, value, leaf.line, leaf.key)
        leaves.append(leaf)
    return replace(problem, parameters=tuple(leaves))


def shape_of(value) -> tuple:
    """The shape a leaf's value is given in: () a number or a symbol, (n,) a list, (m, n) a list of lists."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return (len(value), len(value[0]))
    if isinstance(value, list):
        return (len(value),)
    return ()


def _described(shape: tuple) -> str:
    if not shape:
        return "a number"
    if len(shape) == 1:
        return f"a vector of {shape[0]}: write [a, b, ...]"
    return f"a {shape[0]}×{shape[1]} matrix: write [[a, b, ...], ...], {shape[0]} rows of {shape[1]}"


class _Params:
    """The checked keys of one params file, each error at its line."""

    def __init__(self, name: str, doc):
        self.name, self.doc = name, doc
        if not isinstance(doc.data, dict):
            raise ProblemError("a params file is a mapping with parameters: (as tutor train -o writes it)",
                               file=name, line=doc.line)

    def err(self, message: str, key: str) -> ProblemError:
        probe = key
        while probe and probe not in self.doc.lines:
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        return ProblemError(message, file=self.name, line=self.doc.lines.get(probe), key=printable(key))

    def parameters(self) -> dict:
        data = self.doc.data
        for k in data:
            if k not in KEYS:
                raise self.err(f"unknown key (known: {', '.join(KEYS)})", str(k))
        for k in _WHOLE:
            v = data.get(k)
            if v is not None and not (isinstance(v, Fraction) and v.denominator == 1 and v >= 0):
                raise self.err("must be a whole number", k)
        for k in _NUMBERS:
            self.number(data.get(k), k, optional=True)
        if data.get("problem") is not None and not isinstance(data["problem"], str):
            raise self.err("must be the problem file's name", "problem")
        given = data.get("parameters")
        if not isinstance(given, dict) or not given:
            raise self.err("needs a mapping of parameter names to values, e.g. W1: [[0.5, -0.2], [0.1, 0.3]]",
                           "parameters")
        return given

    def number(self, v, key: str, optional: bool = False):
        if v is None and optional:
            return None
        if isinstance(v, Lookalike):
            raise self.err(v.why, key)
        if not isinstance(v, Fraction):
            shown = "nothing" if v is None else repr(shorten(str(v))) if isinstance(v, str) else type(v).__name__
            raise self.err(f"must be a number, not {shown}", key)
        return v

    def value(self, v, shape: tuple, key: str):
        """A parameter's value in the shape the problem gives it, as the problem file's leaves hold it."""
        if not shape:
            if isinstance(v, list):
                raise self.err(f"must be {_described(shape)}, not a list", key)
            return Num(self.number(v, key))
        if shape == (1,) and not isinstance(v, list):  # a single bias may be written as a number
            v = [v]
        rows = v if len(shape) == 2 else [v]
        if not isinstance(v, list) or not all(isinstance(r, list) for r in rows) \
                or (len(shape) == 1 and any(isinstance(x, list) for x in v)) \
                or len(rows) != (shape[0] if len(shape) == 2 else 1) \
                or any(len(r) != shape[-1] for r in rows):
            raise self.err(f"must be {_described(shape)}, as the problem gives it", key)
        if len(shape) == 1:
            return [Num(self.number(x, f"{key}[{i}]")) for i, x in enumerate(v)]
        return [[Num(self.number(x, f"{key}[{i}][{j}]")) for j, x in enumerate(r)] for i, r in enumerate(v)]
