"""YAML text → a validated, immutable Problem; every key keeps its line for error messages."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import yaml

from .errors import ProblemError
from .expr import BinOp, ExprError, Name, Num, parse, rename
from .ops import ELEMENTWISE, FUNCTIONS
from .texsafe import UnsafeTeX, check_math

TOP_KEYS = ("title", "source", "notes", "inputs", "parameters", "targets", "forward", "network",
            "loss", "learning_rate", "frozen", "ask", "aliases", "data", "reduction", "latex")
ASK_KINDS = ("show", "gradient", "update", "derive", "truth_table", "linear_pieces", "graph")
SHOW_CHOICES = ("given", "dimensions", "forward", "loss", "backward", "gradients", "update", "loss_after_update", "all")
_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Line:
    """One defined quantity: `name = expr`, with the text and line it came from."""

    name: str
    expr: object
    text: str
    line: int
    key: str


@dataclass(frozen=True)
class Leaf:
    """A given value: a number, a list (vector), a list of lists (matrix), or None (a symbol)."""

    name: str
    value: object  # Fraction-or-expression tree | list | list of lists | None
    line: int
    key: str


@dataclass(frozen=True)
class Ask:
    """One part of the sheet's question: its label and what it asks for."""

    part: str
    kind: str       # one of ASK_KINDS
    what: tuple     # the show choice, or the names asked about
    line: int
    options: dict = field(default_factory=dict)  # the settings of a truth table, linear pieces, derive


@dataclass(frozen=True)
class Problem:
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

    def error(self, message: str, key: str | None = None, line: int | None = None) -> ProblemError:
        """A ProblemError pointing at this file."""
        if line is None and key is not None:
            line = self.lines.get(key)
        return ProblemError(message, file=self.path, line=line, key=key)


def load(path: str | Path) -> Problem:
    """Read and validate a problem file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProblemError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ProblemError(f"cannot read the file: {e}", file=str(path)) from None
    return loads(text, str(path))


def loads(text: str, filename: str = "<string>") -> Problem:
    """Validate a problem given as YAML text."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(e, "problem", None) or str(e)
        raise ProblemError(f"not valid YAML: {problem}", file=filename, line=line) from None
    if node is None:
        raise ProblemError("the file is empty", file=filename, line=1)
    reader = _Reader(filename)
    data = reader.convert(node, "")
    if not isinstance(data, dict):
        raise ProblemError("a problem file must be a mapping of keys such as inputs, parameters, loss",
                           file=filename, line=node.start_mark.line + 1)
    return _Builder(filename, data, reader.lines).build()


class _Reader:
    """YAML node tree → plain data with exact numbers, recording the line of every key."""

    def __init__(self, filename):
        self.filename = filename
        self.lines: dict[str, int] = {}

    def convert(self, node, key):
        self.lines.setdefault(key, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for k_node, v_node in node.value:
                k = k_node.value
                if not isinstance(k_node, yaml.ScalarNode):
                    raise ProblemError("keys must be plain names", file=self.filename,
                                       line=k_node.start_mark.line + 1, key=key or None)
                sub = f"{key}.{k}" if key else k
                if k in out:
                    raise ProblemError("this key is given twice", file=self.filename,
                                       line=k_node.start_mark.line + 1, key=sub)
                self.lines[sub] = k_node.start_mark.line + 1
                out[k] = self.convert(v_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(v, f"{key}[{i}]") for i, v in enumerate(node.value)]
        tag = node.tag
        if tag.endswith(":null"):
            return None
        if tag.endswith(":bool"):
            return node.value.lower() in ("true", "yes", "on")
        if tag.endswith(":int") or tag.endswith(":float"):
            try:
                return Fraction(node.value.replace("_", ""))
            except ValueError:
                raise ProblemError(f"{node.value!r} is not a finite number", file=self.filename,
                                   line=node.start_mark.line + 1, key=key) from None
        return node.value


class _Builder:
    def __init__(self, filename, data, lines):
        self.f, self.d, self.lines = filename, data, lines

    def err(self, message, key=None, line=None):
        if line is None and key is not None:
            probe = key
            while probe and probe not in self.lines:
                probe = probe.rsplit(".", 1)[0] if "." in probe else ""
            line = self.lines.get(probe)
        return ProblemError(message, file=self.f, line=line, key=key)

    def text(self, key):
        v = self.d.get(key)
        if v is None:
            return None
        if isinstance(v, (dict, list)):
            raise self.err("must be text", key)
        return str(v) if not isinstance(v, Fraction) else _fraction_text(v)

    def expr(self, text, key, allow_names=True):
        if isinstance(text, Fraction):
            return Num(text)
        try:
            node = parse(text, FUNCTIONS)
        except ExprError as e:
            raise self.err(str(e), key) from None
        if not allow_names:
            from .expr import names_in
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
        leaves, derived = [], []
        for name, v in raw.items():
            key = f"{section}.{name}"
            self.check_name(name, key)
            if allow_derived and isinstance(v, str):
                node = self.expr(v, key)
                from .expr import names_in
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
            return self.expr(v, key, allow_names=False)
        if isinstance(v, list):
            if not v:
                raise self.err("an empty list is not a vector", key)
            if all(isinstance(r, list) for r in v):
                rows = [[self.scalar(x, f"{key}[{i}][{j}]") for j, x in enumerate(r)]
                        for i, r in enumerate(v)]
                if len({len(r) for r in rows}) != 1 or not rows[0]:
                    raise self.err("the rows of a matrix must all have the same, non-zero length", key)
                return rows
            if any(isinstance(r, list) for r in v):
                raise self.err("mixes numbers and lists: write a vector [a, b] or a matrix [[a, b], [c, d]]", key)
            return [self.scalar(x, f"{key}[{i}]") for i, x in enumerate(v)]
        raise self.err(f"{v!r} is not a number, a list or a list of lists", key)

    def scalar(self, v, key):
        if isinstance(v, (Fraction, str)) and not isinstance(v, bool):
            return self.expr(v, key, allow_names=False)
        if v is None:
            return None
        raise self.err(f"{v!r} is not a number", key)

    def check_name(self, name, key):
        if not isinstance(name, str) or not _NAME_OK.match(name):
            raise self.err(f"{name!r} is not a valid name (letters, digits, _; not starting with a digit)", key)
        if name in FUNCTIONS:
            raise self.err(f"{name!r} is the name of a function", key)

    def build(self) -> Problem:
        for k in self.d:
            if k not in TOP_KEYS:
                raise self.err(f"unknown key (known: {', '.join(TOP_KEYS)})", k)
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
            for name, text in raw.items():
                key = f"forward.{name}"
                self.check_name(name, key)
                if not isinstance(text, (str, Fraction)):
                    raise self.err("must be an expression", key)
                forward.append(Line(name, self.expr(text, key), _fraction_text(text), self.lines[key], key))
        elif "network" in self.d:
            extra_params, forward = self.network(inputs)
            params = params + extra_params
        asks = self.asks()
        loss = None
        if "loss" in self.d:
            loss_text = self.d["loss"]
            if not isinstance(loss_text, (str, Fraction)):
                raise self.err("must be an expression such as sse(y, t)", "loss")
            loss = Line("L", self.expr(loss_text, "loss"), _fraction_text(loss_text), self.lines["loss"], "loss")
        elif not asks or not all(_forward_only(a) for a in asks):
            raise self.err("the key 'loss' is required (e.g. loss: sse(y, t))", None, line=1)
        lr = self.d.get("learning_rate")
        if lr is not None and not isinstance(lr, Fraction):
            raise self.err("must be a number", "learning_rate")
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
        latex = self.d.get("latex") or {}
        if not isinstance(latex, dict) or not all(isinstance(v, str) for v in latex.values()):
            raise self.err("must map names to LaTeX, e.g. W21: \"W^{(2)}_{21}\"", "latex")
        for k, v in latex.items():
            try:
                check_math(v)
            except UnsafeTeX as e:
                raise self.err(str(e), f"latex.{k}") from None
        if "data" in self.d:
            if loss is None:
                raise self.err("data: needs a loss to reduce over the samples", "data")
            inputs, targets, forward, loss = self.samples(inputs, targets, forward, loss)
        elif "reduction" in self.d:
            raise self.err("reduction only applies together with data:", "reduction")
        return Problem(
            path=self.f, title=self.text("title") or Path(self.f).stem, source=self.text("source"),
            notes=self.text("notes"), inputs=tuple(inputs), parameters=tuple(params),
            derived=tuple(derived), targets=tuple(targets), forward=tuple(forward), loss=loss,
            learning_rate=lr, frozen=tuple(frozen), ask=tuple(asks), aliases=dict(aliases),
            lines=dict(self.lines), latex=dict(latex))

    def samples(self, inputs, targets, forward, loss):
        """data: one copy of the forward lines per sample (names gain ^(k)), the loss reduced over them."""
        raw = self.d["data"]
        if not isinstance(raw, list) or not raw or not all(isinstance(r, dict) for r in raw):
            raise self.err("data must be a list of samples, each a mapping such as {x: [1, 2], t: 0}", "data")
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

    def asks(self):
        raw = self.d.get("ask")
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.err("must be a list of parts, e.g. - {part: a, show: forward}", "ask")
        out = []
        for i, item in enumerate(raw):
            key = f"ask[{i}]"
            if not isinstance(item, dict) or "part" not in item:
                raise self.err("each part needs a label, e.g. {part: a, show: forward}", key)
            label = item["part"]
            label = _fraction_text(label) if isinstance(label, Fraction) else str(label)
            kinds = [k for k in item if k not in ("part", "of")]
            if len(kinds) != 1 or kinds[0] not in ASK_KINDS:
                raise self.err(f"each part asks for one of {', '.join(ASK_KINDS)}", key)
            kind = kinds[0]
            v = item[kind]
            options = {}
            if "of" in item:
                if kind != "derive" or not isinstance(item["of"], str):
                    raise self.err("of: goes with derive: and names a node", f"{key}.of")
                options["of"] = item["of"]
            if kind == "show":
                if v not in SHOW_CHOICES:
                    raise self.err(f"show must be one of {', '.join(SHOW_CHOICES)}", f"{key}.show")
                what = (v,)
            elif kind == "graph":
                if v not in ("forward", "backward"):
                    raise self.err("graph must be forward or backward", f"{key}.graph")
                what = (v,)
            elif kind == "truth_table":
                what, options = (), self.truth_table(v, f"{key}.truth_table")
            elif kind == "linear_pieces":
                what, options = (), self.linear_pieces(v, f"{key}.linear_pieces")
            else:
                vs = v if isinstance(v, list) else [v]
                if not vs or not all(isinstance(n, str) for n in vs):
                    raise self.err("must name a weight or a list of weights", f"{key}.{kind}")
                what = tuple(vs)
            out.append(Ask(label, kind, what, self.lines[key], options))
        return out

    def truth_table(self, v, key):
        if not isinstance(v, dict) or "inputs" not in v:
            raise self.err("needs inputs: a list of input rows, e.g. [[0, 0], [0, 1]]", key)
        for k in v:
            if k not in ("inputs", "expect", "threshold", "input", "output"):
                raise self.err("unknown key (known: inputs, expect, threshold, input, output)", f"{key}.{k}")
        rows = v["inputs"]
        if not isinstance(rows, list) or not rows:
            raise self.err("inputs must be a list of rows", f"{key}.inputs")
        rows = [self.value(r, f"{key}.inputs[{i}]") for i, r in enumerate(rows)]
        expect = v.get("expect")
        if expect is not None:
            if not isinstance(expect, list) or len(expect) != len(rows):
                raise self.err("expect must give one value per input row", f"{key}.expect")
            expect = [self.scalar(e, f"{key}.expect[{i}]") for i, e in enumerate(expect)]
        threshold = v.get("threshold", Fraction(0))
        if not isinstance(threshold, Fraction):
            raise self.err("threshold must be a number", f"{key}.threshold")
        for k in ("input", "output"):
            if k in v and not isinstance(v[k], str):
                raise self.err("must name a quantity", f"{key}.{k}")
        return {"rows": rows, "expect": expect, "threshold": threshold,
                "input": v.get("input"), "output": v.get("output")}

    def linear_pieces(self, v, key):
        v = v or {}
        if not isinstance(v, dict):
            raise self.err("must be a mapping such as {inputs: [x1, x2], output: y}", key)
        for k in v:
            if k not in ("inputs", "output", "below", "above"):
                raise self.err("unknown key (known: inputs, output, below, above)", f"{key}.{k}")
        inputs = v.get("inputs")
        if inputs is not None and (not isinstance(inputs, list) or not all(isinstance(n, str) for n in inputs)):
            raise self.err("inputs must list the input names", f"{key}.inputs")
        return {"inputs": inputs, "output": v.get("output"),
                "below": str(v.get("below", "class 1")), "above": str(v.get("above", "class 2"))}

    def network(self, inputs):
        net = self.d["network"]
        if not isinstance(net, dict):
            raise self.err("network must be a mapping with layout, input and layers", "network")
        for k in net:
            if k not in ("layout", "input", "layers", "output"):
                raise self.err("unknown key (known: layout, input, layers, output)", f"network.{k}")
        layout = net.get("layout", "Wx")
        if layout not in ("Wx", "xW"):
            raise self.err("layout must be Wx or xW", "network.layout")
        src = net.get("input")
        if not isinstance(src, str) or src not in {l.name for l in inputs}:
            raise self.err("must name one of the inputs", "network.input")
        layers = net.get("layers")
        if not isinstance(layers, list) or not layers:
            raise self.err("must be a list of layers", "network.layers")
        out_name = net.get("output", "y")
        params, forward, h = [], [], src
        for i, layer in enumerate(layers, start=1):
            key = f"network.layers[{i - 1}]"
            if not isinstance(layer, dict) or "weights" not in layer:
                raise self.err("each layer needs weights", key)
            for k in layer:
                if k not in ("weights", "bias", "activation", "name"):
                    raise self.err("unknown key (known: weights, bias, activation, name)", f"{key}.{k}")
            w_name = layer.get("name", f"W{i}")
            self.check_name(w_name, f"{key}.name")
            w = self.value(layer["weights"], f"{key}.weights")
            if not isinstance(w, list) or not isinstance(w[0], list):
                raise self.err("weights must be a matrix (a list of rows)", f"{key}.weights")
            params.append(Leaf(w_name, w, self.lines[f"{key}.weights"], f"{key}.weights"))
            n_out = len(w) if layout == "Wx" else len(w[0])
            act = layer.get("activation", "linear")
            if act not in ELEMENTWISE:
                raise self.err(f"unknown activation (known: {', '.join(ELEMENTWISE)})", f"{key}.activation")
            z = f"{w_name} @ {h}" if layout == "Wx" else f"{h} @ {w_name}"
            if "bias" in layer:
                b = self.value(layer["bias"], f"{key}.bias")
                if not isinstance(b, list):
                    b = [b] * n_out
                params.append(Leaf(f"b{i}", b, self.lines[f"{key}.bias"], f"{key}.bias"))
                z += f" + b{i}"
            last = i == len(layers)
            if last and act in ("linear", "identity"):
                forward.append(Line(out_name, parse(z, FUNCTIONS), z, self.lines[key], key))
                break
            forward.append(Line(f"z{i}", parse(z, FUNCTIONS), z, self.lines[key], key))
            h = out_name if last else f"h{i}"
            text = f"{act}(z{i})"
            forward.append(Line(h, parse(text, FUNCTIONS), text, self.lines[key], key))
        return params, forward


def _forward_only(ask: Ask) -> bool:
    """Parts that a problem without a loss can still answer."""
    return ask.kind in ("truth_table", "linear_pieces") or (ask.kind == "graph" and ask.what == ("forward",)) \
        or (ask.kind == "show" and ask.what[0] in ("forward", "given", "dimensions"))


def sample_name(name: str, k: int) -> str:
    """The name of a quantity for sample k: x1 → x1^(k), printed x1⁽ᵏ⁾."""
    return f"{name}^({k})"


def _fraction_text(v):
    if isinstance(v, Fraction):
        return str(v.numerator) if v.denominator == 1 else format_decimal(v)
    return v


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
