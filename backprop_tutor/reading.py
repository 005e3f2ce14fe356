"""A problem file read safely within the limits: its text, then its YAML as plain data with exact numbers."""
from __future__ import annotations

import os
import re
import stat

from msgspec import Struct
import yaml

from .errors import LimitError, ProblemError
from .expr import ExprError, ExprLimitError, number, shorten
from .limits import DEFAULT, Limits

_NUMBER_TAG = "tag:yaml.org,2002:float"
_NULL_TAG = "tag:yaml.org,2002:null"
_LOOKALIKE_TAG = "tag:backprop-tutor:lookalike"


class Lookalike(str):
    """A scalar that YAML 1.1 would turn into a date, a boolean, a time or infinity: kept as its text,
    refused wherever a number is expected, with `why` as the message."""

    why: str

    def __new__(cls, text: str, why: str):
        obj = super().__new__(cls, text)
        obj.why = why
        return obj


_LOOKALIKES = [  # (pattern, message); the number pattern below is tried first
    (r"true|True|TRUE|false|False|FALSE", "{} is a boolean, not a number"),
    (r"[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
     r"(?:(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?"
     r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)?", "{} is a date, not a number"),
    (r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?",
     "{} reads as a base-60 time in YAML, not a number: write a decimal, or quote it"),
    (r"[-+]?\.(?:inf|Inf|INF)", "{} is infinite, not a number"),
    (r"\.(?:nan|NaN|NAN)", "{} is not a number"),
    (r"[-+]?0(?:b[01_]+|x[0-9a-fA-F_]+|o[0-7_]+)", "{} is not a decimal number: write it in decimal"),
]
_LOOKALIKE = [(re.compile(p), why) for p, why in _LOOKALIKES]


class YAML12(yaml.resolver.BaseResolver):
    """YAML 1.2's plain scalars: 1e-3 is a number, null is ~, null or nothing, and 1.1's dates, booleans
    and other numbers are lookalikes."""

    yaml_implicit_resolvers: dict = {}


YAML12.add_implicit_resolver(_NULL_TAG, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
YAML12.add_implicit_resolver(
    _NUMBER_TAG, re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."))
YAML12.add_implicit_resolver(
    _LOOKALIKE_TAG, re.compile("^(?:" + "|".join(p for p, _ in _LOOKALIKES) + ")$"), list("-+0123456789.tTfF"))


class Loader(YAML12, yaml.SafeLoader):
    """SafeLoader with YAML 1.2's numbers (1e-3 is a number), no anchors or aliases, and bounded nesting."""

    def __init__(self, text: str, filename: str = "<string>", limits: Limits | None = None):
        super().__init__(text)
        self.filename, self.limits, self.depth = filename, limits or DEFAULT, 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ProblemError("YAML anchors and aliases (&name, *name) are not accepted; write the value out",
                               file=self.filename, line=event.start_mark.line + 1)
        self.depth += 1
        try:
            if self.depth > self.limits.yaml_depth:
                raise LimitError(self.limits.message("yaml_depth", f"YAML values nested {self.depth} deep"),
                                 file=self.filename, line=event.start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


# Whether libyaml's parser reads files (ten times as fast); without it, or for a file it would refuse, Loader.
LIBYAML = yaml.__with_libyaml__
# libyaml accepts some of these where Loader refuses them (a tab before a value, ? or a tag inside [ ] or { },
# a byte-order mark inside the text): a file with any of them is left to Loader, which says what is wrong.
_LOADER_ONLY = re.compile("[\t?!\ufeff]|[|>][-+0-9]*#")


_DECLINED = object()  # libyaml leaves the file to Loader, whose messages name the line


class _TooDeep(Exception):
    """Nesting past the limit: Loader says where."""


if LIBYAML:
    class _FastLoader(YAML12, yaml.CSafeLoader):
        """libyaml's parser and composer, nesting bounded: a file it declines is read again by Loader."""

        def __init__(self, text: str, limits: Limits):
            super().__init__(text)
            self.limit, self.depth = limits.yaml_depth, 0

        def descend_resolver(self, parent, index):
            # libyaml's composer is C and never calls compose_node, but it calls this before each node:
            # nesting is bounded here, before its recursion runs deep
            self.depth += 1
            if self.depth > self.limit:
                raise _TooDeep

        def ascend_resolver(self):
            self.depth -= 1


class Document(Struct):
    """A problem file's YAML as plain data, with the line and the written text of every key."""

    data: object
    lines: dict       # key path (inputs.x, ask[0].part) → line
    texts: dict       # key path of a scalar → its text as written
    line: int         # the line the document starts on


def printable(key: str | None) -> str | None:
    """A key path fit for a one-line message: control characters escaped, a long key shortened."""
    if key is None or key.isprintable():
        return key if key is None else shorten(key, 80)
    return shorten("".join(c if c.isprintable() else repr(c)[1:-1] for c in key), 80)


def read_text(path, limits: Limits) -> str:
    """The text of a problem file: a regular file within the size limit, in UTF-8; nothing else is opened."""
    name = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ProblemError("no such file", file=name) from None
    except (OSError, ValueError) as e:
        raise ProblemError(f"cannot read the file: {_reason(e)}", file=name) from None
    _check_kind(info, name, limits)
    try:  # O_NONBLOCK: should a pipe take the file's place after the check, opening it cannot hang
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as f:
            _check_kind(os.fstat(f.fileno()), name, limits)
            data = f.read(limits.file_bytes + 1)
    except OSError as e:
        raise ProblemError(f"cannot read the file: {_reason(e)}", file=name) from None
    if len(data) > limits.file_bytes:
        raise LimitError(limits.message("file_bytes", f"the file has more than {limits.file_bytes} bytes"), file=name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProblemError(f"not UTF-8 text (byte {e.start + 1} cannot be read)", file=name,
                           line=data.count(b"\n", 0, e.start) + 1) from None


def _check_kind(info, name: str, limits: Limits) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise ProblemError("is a folder, not a problem file", file=name)
    if not stat.S_ISREG(info.st_mode):
        raise ProblemError("is not a regular file (a device, a pipe or a socket), not a problem file", file=name)
    if info.st_size > limits.file_bytes:
        raise LimitError(limits.message("file_bytes", f"the file has {info.st_size} bytes"), file=name)


def _reason(e: Exception) -> str:
    return (e.strerror if isinstance(e, OSError) and e.strerror else str(e)) or type(e).__name__


def read_yaml(text: str, filename: str, limits: Limits) -> Document:
    """YAML text → plain data: mappings, lists, exact numbers (Fraction), text, None and Lookalikes."""
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > limits.file_bytes:
        raise LimitError(limits.message("file_bytes", f"the text has {size} bytes"), file=filename)
    node = _fast_node(text, limits) if LIBYAML else _DECLINED
    if node is _DECLINED:
        node = _node(text, filename, limits)
    if node is None:
        raise ProblemError("the file is empty", file=filename, line=1)
    reader = _Reader(filename, limits)
    return Document(reader.convert(node, ""), reader.lines, reader.texts, node.start_mark.line + 1)


def _fast_node(text: str, limits: Limits):
    """The node tree by libyaml, or _DECLINED for a file it refuses, one with anchors, or one nested too deep."""
    if _LOADER_ONLY.search(text):
        return _DECLINED
    try:
        # an anchor is written with &: the events say whether there is one
        if "&" in text and any(getattr(e, "anchor", None) is not None
                               for e in yaml.parse(text, Loader=yaml.CSafeLoader)):
            return _DECLINED
        loader = _FastLoader(text, limits)
        try:
            node = loader.get_single_node()  # an alias without an anchor is refused here
        finally:
            loader.dispose()
    except (_TooDeep, yaml.YAMLError, UnicodeError):
        return _DECLINED
    # a document of nothing but "---" at the end of the text: libyaml places it a line lower
    return _DECLINED if isinstance(node, yaml.ScalarNode) and not node.value else node


def _node(text: str, filename: str, limits: Limits):
    """The node tree by Loader, or the one-line message saying why the file is not valid YAML."""
    try:
        loader = Loader(text, filename, limits)  # reading starts here: a NUL byte is refused already
    except yaml.reader.ReaderError as e:
        line = text[:e.position].count("\n") + 1
        raise ProblemError(f"not valid YAML: the character U+{e.character:04X} is not allowed in a YAML file",
                           file=filename, line=line) from None
    try:
        return loader.get_single_node()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = " ".join((getattr(e, "problem", None) or str(e)).split())
        raise ProblemError(f"not valid YAML: {problem}", file=filename, line=line) from None
    finally:
        loader.dispose()


class _Reader:
    """YAML node tree → plain data with exact numbers, recording the line and text of every key."""

    def __init__(self, filename: str, limits: Limits):
        self.filename, self.limits = filename, limits
        self.lines: dict[str, int] = {}
        self.texts: dict[str, str] = {}

    def convert(self, node, key):
        self.lines.setdefault(key, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for k_node, v_node in node.value:
                if not isinstance(k_node, yaml.ScalarNode):
                    raise ProblemError("keys must be plain names", file=self.filename,
                                       line=k_node.start_mark.line + 1, key=printable(key or None))
                k = k_node.value
                sub = f"{key}.{k}" if key else k
                if k in out:
                    raise ProblemError("this key is given twice", file=self.filename,
                                       line=k_node.start_mark.line + 1, key=printable(sub))
                self.lines[sub] = k_node.start_mark.line + 1
                out[k] = self.convert(v_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(v, f"{key}[{i}]") for i, v in enumerate(node.value)]
        self.texts[key] = node.value
        return self.scalar(node, key)

    def scalar(self, node, key):
        tag, text = node.tag, node.value
        if tag == _NULL_TAG:
            return None
        if tag in (_NUMBER_TAG, "tag:yaml.org,2002:int"):
            try:
                return number(text, self.limits)
            except ExprLimitError as e:
                raise LimitError(str(e), file=self.filename, line=node.start_mark.line + 1,
                                 key=printable(key)) from None
            except ExprError:
                raise ProblemError(f"{shorten(text)!r} is not a finite number", file=self.filename,
                                   line=node.start_mark.line + 1, key=printable(key)) from None
        if tag == _LOOKALIKE_TAG:
            return Lookalike(text, next(why for pattern, why in _LOOKALIKE if pattern.fullmatch(text)).format(text))
        if tag == "tag:yaml.org,2002:bool":
            return Lookalike(text, f"{text} is a boolean, not a number")
        if tag == "tag:yaml.org,2002:timestamp":
            return Lookalike(text, f"{text} is a date, not a number")
        return text
