"""The ask: schema: the parts of a sheet's question, each read and checked with its file line.

`reader` is the problem file's builder (problem.py): its err, count, value, scalar and number
read a key of the file and point an error at its line.
"""
from __future__ import annotations

from fractions import Fraction

from msgspec import Struct, field

ASK_KINDS = ("show", "gradient", "update", "derive", "truth_table", "linear_pieces", "graph")
DERIVE_SHOW = ("local", "whole")  # a derive part's blocks shown only when asked for
SHOW_CHOICES = ("given", "dimensions", "forward", "loss", "backward", "gradients", "update", "loss_after_update", "all")


class Ask(Struct, frozen=True):
    """One part of the sheet's question: its label and what it asks for."""

    part: str
    kind: str       # one of ASK_KINDS
    what: tuple     # the show choice, or the names asked about
    line: int
    options: dict = field(default_factory=dict)  # the settings of a truth table, linear pieces, derive


def read_asks(reader) -> list:
    """The parts of ask:, each checked against the schema, in the file's order."""
    raw = reader.d.get("ask")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise reader.err("must be a list of parts, e.g. - {part: a, show: forward}", "ask")
    reader.count("parts", len(raw), "parts", "ask")
    out = []
    for i, item in enumerate(raw):
        key = f"ask[{i}]"
        if not isinstance(item, dict) or "part" not in item:
            raise reader.err("each part needs a label, e.g. {part: a, show: forward}", key)
        label = item["part"]
        if label is None or isinstance(label, (list, dict)):
            raise reader.err("a part's label is text or a number, e.g. part: a", f"{key}.part")
        label = reader.texts.get(f"{key}.part", str(label))
        extra = ("part", "of", "show") if "derive" in item else ("part", "of")  # a derive's show: its extra blocks
        kinds = [k for k in item if k not in extra]
        if len(kinds) != 1 or kinds[0] not in ASK_KINDS:
            raise reader.err(f"each part asks for one of {', '.join(ASK_KINDS)}", key)
        kind = kinds[0]
        v = item[kind]
        options = {}
        if "of" in item:
            if kind != "derive" or not isinstance(item["of"], str):
                raise reader.err("of: goes with derive: and names a node", f"{key}.of")
            options["of"] = item["of"]
        if kind == "derive" and "show" in item:
            options["show"] = _derive_show(reader, item["show"], f"{key}.show")
        if kind == "show":
            if v not in SHOW_CHOICES:
                raise reader.err(f"show must be one of {', '.join(SHOW_CHOICES)}", f"{key}.show")
            what = (v,)
        elif kind == "graph":
            if v not in ("forward", "backward"):
                raise reader.err("graph must be forward or backward", f"{key}.graph")
            what = (v,)
        elif kind == "truth_table":
            what, options = (), _truth_table(reader, v, f"{key}.truth_table")
        elif kind == "linear_pieces":
            what, options = (), _linear_pieces(reader, v, f"{key}.linear_pieces")
        else:
            vs = v if isinstance(v, list) else [v]
            if not vs or not all(isinstance(n, str) for n in vs):
                raise reader.err("must name a weight or a list of weights", f"{key}.{kind}")
            reader.count("parts", len(vs), "names in one part", f"{key}.{kind}")
            what = tuple(vs)
        out.append(Ask(label, kind, what, reader.lines[key], options))
    return out

def _derive_show(reader, v, key) -> tuple:
    """The blocks a derive part shows besides the chain and the recursion: local, whole, or both."""
    vs = v if isinstance(v, list) else [v]
    if not vs or not all(isinstance(x, str) and x in DERIVE_SHOW for x in vs):
        raise reader.err(f"show: with derive: lists {' and '.join(DERIVE_SHOW)}, e.g. show: [local, whole]", key)
    return tuple(dict.fromkeys(vs))


def _truth_table(reader, v, key) -> dict:
    """The settings of a truth_table: part: its rows, expected outputs, threshold, input and output."""
    if not isinstance(v, dict) or "inputs" not in v:
        raise reader.err("needs inputs: a list of input rows, e.g. [[0, 0], [0, 1]]", key)
    for k in v:
        if k not in ("inputs", "expect", "threshold", "input", "output"):
            raise reader.err("unknown key (known: inputs, expect, threshold, input, output)", f"{key}.{k}")
    rows = v["inputs"]
    if not isinstance(rows, list) or not rows:
        raise reader.err("inputs must be a list of rows", f"{key}.inputs")
    reader.count("samples", len(rows), "rows", f"{key}.inputs")
    for i, r in enumerate(rows):
        for where, x in _entries(r, f"{key}.inputs[{i}]"):
            if x is None:
                raise reader.err("a truth table row gives numbers, e.g. [0, 1], not null", where)
    rows = [reader.value(r, f"{key}.inputs[{i}]") for i, r in enumerate(rows)]
    expect = v.get("expect")
    if expect is not None:
        if not isinstance(expect, list) or len(expect) != len(rows):
            raise reader.err("expect must give one value per input row", f"{key}.expect")
        if None in expect:
            raise reader.err("expect gives a number for each row, not null", f"{key}.expect[{expect.index(None)}]")
        expect = [reader.scalar(e, f"{key}.expect[{i}]") for i, e in enumerate(expect)]
    threshold = reader.number(v.get("threshold", Fraction(0)), f"{key}.threshold", "threshold must be a number")
    if threshold is None:
        raise reader.err("threshold must be a number", f"{key}.threshold")
    for k in ("input", "output"):
        if k in v and not isinstance(v[k], str):
            raise reader.err("must name a quantity", f"{key}.{k}")
    return {"rows": rows, "expect": expect, "threshold": threshold,
            "input": v.get("input"), "output": v.get("output")}

def _linear_pieces(reader, v, key) -> dict:
    """The settings of a linear_pieces: part: the inputs, the output and the two classes' names."""
    v = v or {}
    if not isinstance(v, dict):
        raise reader.err("must be a mapping such as {inputs: [x1, x2], output: y}", key)
    for k in v:
        if k not in ("inputs", "output", "below", "above"):
            raise reader.err("unknown key (known: inputs, output, below, above)", f"{key}.{k}")
    inputs = v.get("inputs")
    if inputs is not None and (not isinstance(inputs, list) or not all(isinstance(n, str) for n in inputs)):
        raise reader.err("inputs must list the input names", f"{key}.inputs")
    if "output" in v and not isinstance(v["output"], str):
        raise reader.err("must name a quantity", f"{key}.output")
    for k in ("below", "above"):
        if isinstance(v.get(k), (list, dict)):
            raise reader.err("must be text, e.g. class 1", f"{key}.{k}")
    return {"inputs": inputs, "output": v.get("output"),
            "below": reader.texts.get(f"{key}.below", str(v.get("below", "class 1"))),
            "above": reader.texts.get(f"{key}.above", str(v.get("above", "class 2")))}


def _entries(value, key):
    """(key, entry) for a scalar, a vector or a matrix as written, entry by entry."""
    if not isinstance(value, list):
        return [(key, value)]
    return [pair for i, x in enumerate(value) for pair in _entries(x, f"{key}[{i}]")]


def forward_only(ask: Ask) -> bool:
    """Parts that a problem without a loss can still answer."""
    return ask.kind in ("truth_table", "linear_pieces") or (ask.kind == "graph" and ask.what == ("forward",)) \
        or (ask.kind == "show" and ask.what[0] in ("forward", "given", "dimensions"))
