"""Our own whitelisting expression parser: text → a small syntax tree, never eval."""
from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from fractions import Fraction

from msgspec import Struct

from .limits import DEFAULT, Limits


class ExprError(ValueError):
    """An expression that is not in the language; the caller adds file, line and key."""


class ExprLimitError(ExprError):
    """An expression beyond one of the limits (its length, depth, a number's size); the caller adds where."""


class Num(Struct, frozen=True):
    """A number as written: exact, 0.1 is 1/10."""
    value: Fraction


class Name(Struct, frozen=True):
    """A name: one of the problem's symbols."""
    id: str


class Call(Struct, frozen=True):
    """f(args…), keywords after them."""
    func: str
    args: tuple
    keywords: tuple = ()  # (name, whole number) pairs: conv1d(x, k, stride=2)


class BinOp(Struct, frozen=True):
    """left op right."""
    op: str  # one of + - * / @ **
    left: object
    right: object


class Neg(Struct, frozen=True):
    """−operand."""
    operand: object


class Transpose(Struct, frozen=True):
    """operandᵀ, written operand.T."""
    operand: object


class Slice(Struct, frozen=True):
    """a:b in an index, counted from 1 and inclusive; None where a side is left open (`:`, `2:`, `:3`)."""

    start: int | None
    stop: int | None


class Index(Struct, frozen=True):
    """name[...]: one or two indices, each a whole number counted from 1 or a Slice."""

    operand: object
    at: tuple


_TOKEN = re.compile(r"""
    (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|\.T\b|[-+*/@(),\[\]:=])
  | (?P<space>\s+)
""", re.VERBOSE)


def did_you_mean(word: str, known) -> str:
    """' (did you mean X?)' when word is one of known but for case or a slip of spelling, else ''."""
    by_lower: dict[str, str] = {}
    for k in known:
        by_lower.setdefault(k.lower(), k)
    if word in by_lower.values():
        return ""
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.7)
    return f" (did you mean {by_lower[close[0]]}?)" if close else ""


_OTHER_SPELLINGS = {"^": "**"}  # x^2 as other tools write it


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            hint = f" (did you mean {_OTHER_SPELLINGS[text[pos]]}?)" if text[pos] in _OTHER_SPELLINGS else ""
            raise ExprError(f"unexpected {text[pos]!r} at column {pos + 1} in {text!r}{hint}")
        kind = m.lastgroup
        if kind != "space":
            out.append((kind, m.group(), pos))
        pos = m.end()
    out.append(("end", "", pos))
    return out


def _children(node) -> tuple:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, BinOp):
        return node.left, node.right
    if isinstance(node, (Neg, Transpose, Index)):
        return (node.operand,)
    return ()


def names_in(node) -> list[str]:
    """Every name an expression uses, in order of first use."""
    seen: dict[str, None] = {}
    stack = [node]
    while stack:  # a stack, not recursion: a tree of any depth
        n = stack.pop()
        if isinstance(n, Name):
            seen.setdefault(n.id)
        stack.extend(reversed(_children(n)))
    return list(seen)


def depth(node) -> int:
    """How deeply an expression nests: 1 for a number or a name, 3 for f(a + b)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in _children(n))
    return deepest


def rename(node, names: dict):
    """The same expression with some names replaced."""
    if isinstance(node, Name):
        return Name(names.get(node.id, node.id))
    if isinstance(node, Call):
        return Call(node.func, tuple(rename(a, names) for a in node.args), node.keywords)
    if isinstance(node, BinOp):
        return BinOp(node.op, rename(node.left, names), rename(node.right, names))
    if isinstance(node, Neg):
        return Neg(rename(node.operand, names))
    if isinstance(node, Transpose):
        return Transpose(rename(node.operand, names))
    if isinstance(node, Index):
        return Index(rename(node.operand, names), node.at)
    return node


_NUMBER = re.compile(r"(?P<sign>[-+]?)(?P<mantissa>[0-9_]*\.?[0-9_]*)(?:[eE](?P<exponent>[-+]?[0-9]+))?")


def number(text: str, limits: Limits = DEFAULT) -> Fraction:
    """A decimal number (1.5, -2.5E+4, 1_000) exactly, refused before it is built if it is too large."""
    m = _NUMBER.fullmatch(text)
    whole, _, decimals = m["mantissa"].replace("_", "").partition(".") if m else ("", "", "")
    digits = len(whole) + len(decimals)
    if not digits:
        raise ExprError(f"{shorten(text)!r} is not a number")
    if digits > limits.number_digits:
        raise ExprLimitError(limits.message("number_digits", f"the number has {digits} digits"))
    exponent = (m["exponent"] or "0").lstrip("+-").lstrip("0")
    if len(exponent) > len(str(limits.number_exponent)) or int(exponent or 0) > limits.number_exponent:
        raise ExprLimitError(limits.message(
            "number_exponent", f"the exponent of {shorten(text)} is too large"))
    # the digits as one integer, shifted by the exponent less the decimal places: 2.5E+4 is 25·10^3
    numerator = -int(whole + decimals) if m["sign"] == "-" else int(whole + decimals)
    shift = int(m["exponent"] or 0) - len(decimals)
    return Fraction(numerator * 10 ** shift) if shift >= 0 else Fraction(numerator, 10 ** -shift)


def shorten(text: str, width: int = 60) -> str:
    """Text for an error message: at most `width` characters, the middle left out."""
    if len(text) <= width:
        return text
    half = (width - 3) // 2
    return f"{text[:half]}...{text[-half:]}"


def parse(text: str | int | float, functions: frozenset[str] | set[str], limits: Limits = DEFAULT,
          keywords: Mapping[str, tuple] | None = None) -> object:
    """Parse one expression within the limits; only the given function names may be called, and only
    with the keywords `keywords` names for them (conv1d: stride, padding)."""
    if isinstance(text, bool):
        raise ExprError(f"{text!r} is not a number or an expression")
    if isinstance(text, int):
        if text.bit_length() > 4 * limits.number_digits:  # too long for str() to be quick, or at all
            digits = text.bit_length() * 3 // 10
            raise ExprLimitError(limits.message("number_digits", f"the number has about {digits} digits"))
        return Num(number(str(text), limits))
    if isinstance(text, float):
        return Num(number(repr(text), limits))
    if not isinstance(text, str):
        raise ExprError(f"{text!r} is not a number or an expression")
    if len(text) > limits.expression_chars:
        raise ExprLimitError(limits.message("expression_chars", f"the expression has {len(text)} characters"))
    toks = _tokens(text)
    parser = _Parser(toks, text, functions, limits, keywords or {})
    node = parser.expr()
    kind, tok, pos = parser.peek()
    if kind != "end":
        raise ExprError(f"unexpected {tok!r} at column {pos + 1} in {text!r}")
    if depth(node) > limits.expression_depth:
        raise ExprLimitError(limits.message("expression_depth", f"{shorten(text)!r} nests {depth(node)} deep"))
    _check_powers(node, text, limits)
    return node


def _check_powers(node, text: str, limits: Limits) -> None:
    """Refuse what would be astronomically large before any work: huge constant exponents, towers of **."""
    tallest, stack = 0, [(node, 0)]  # (subtree, how many ** exponents it stands in)
    while stack:
        n, tower = stack.pop()
        if isinstance(n, BinOp) and n.op == "**":
            tallest = max(tallest, tower + 1)
            size = _constant_size(n.right)
            if size is not None and not size <= limits.power:
                raise ExprLimitError(limits.message(
                    "power", f"the exponent of ** in {shorten(text)!r} is too large"))
            stack.append((n.left, tower))
            stack.append((n.right, tower + 1))
        else:
            stack.extend((c, tower) for c in _children(n))
    if tallest > limits.power_tower:
        raise ExprLimitError(limits.message(
            "power_tower", f"{shorten(text)!r} stacks {tallest} powers in each other's exponents"))


def _constant_size(node) -> float | None:
    """|value| of an exponent made of numbers alone, in floating point (inf or nan when huge); None if it
    has names or divides by zero (the solver reports that)."""
    if any(isinstance(n, (Name, Call)) for n in walk(node)):
        return None
    try:
        return abs(_float_value(node))
    except OverflowError:
        return float("inf")
    except ZeroDivisionError:
        return None


def _float_value(node) -> float | complex:
    if isinstance(node, Num):
        return float(node.value)
    if isinstance(node, Neg):
        return -_float_value(node.operand)
    if isinstance(node, Transpose):
        return _float_value(node.operand)
    a, b = _float_value(node.left), _float_value(node.right)
    if node.op == "+":
        return a + b
    if node.op == "-":
        return a - b
    if node.op in ("*", "@"):
        return a * b
    if node.op == "/":
        return a / b
    return a ** b  # floats: overflows raise at once, never a huge exact number


def walk(node):
    """Every node of an expression tree."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(_children(n))


class _Parser:
    """Precedence climbing: + - < * / @ < unary - < ** < postfix .T and [...]."""

    def __init__(self, toks, text, functions, limits, keywords):
        self.toks, self.i, self.text, self.functions, self.limits = toks, 0, text, functions, limits
        self.keywords = keywords
        self.nesting = 0

    def peek(self):
        return self.toks[self.i]

    def take(self, tok=None):
        kind, t, pos = self.toks[self.i]
        if tok is not None and t != tok:
            shown = repr(t) if kind != "end" else "the end"
            raise ExprError(f"expected {tok!r} but found {shown} at column {pos + 1} in {self.text!r}")
        self.i += 1
        return kind, t, pos

    def expr(self):
        node = self.term()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            node = BinOp(op, node, self.term())
        return node

    def term(self):
        node = self.unary()
        while self.peek()[1] in ("*", "/", "@"):
            op = self.take()[1]
            node = BinOp(op, node, self.unary())
        return node

    def unary(self):
        # every nesting (parentheses, a call, a sign, a power) passes here: bound the recursion
        self.nesting += 1
        if self.nesting > self.limits.expression_depth:
            raise ExprLimitError(self.limits.message(
                "expression_depth", f"{shorten(self.text)!r} nests more than {self.limits.expression_depth} deep"))
        try:
            if self.peek()[1] == "-":
                self.take()
                return Neg(self.unary())
            if self.peek()[1] == "+":
                self.take()
                return self.unary()
            return self.power()
        finally:
            self.nesting -= 1

    def power(self):
        base = self.postfix()
        if self.peek()[1] == "**":
            self.take()
            return BinOp("**", base, self.unary())
        return base

    def postfix(self):
        node = self.atom()
        while self.peek()[1] in (".T", "["):
            if self.take()[1] == ".T":
                node = Transpose(node)
                continue
            if not isinstance(node, Name):
                raise ExprError(f"only a name can be indexed, as in x[2] or W[2, :], in {self.text!r}")
            at = [self.index()]
            if self.peek()[1] == ",":
                self.take()
                at.append(self.index())
            self.take("]")
            node = Index(node, tuple(at))
        return node

    def index(self):
        """One index: a whole number, or a slice a:b, a:, :b or : (counted from 1, inclusive)."""
        start = self.position() if self.peek()[1] not in (":", ",", "]") else None
        if self.peek()[1] != ":":
            if start is None:
                raise ExprError(f"an index is missing at column {self.peek()[2] + 1} in {self.text!r}")
            return start
        self.take(":")
        stop = self.position() if self.peek()[1] not in (",", "]") else None
        if start is not None and stop is not None and stop < start:
            raise ExprError(f"the slice {start}:{stop} in {self.text!r} is empty: a:b runs from a up to b, "
                            f"both included, so b must not be less than a")
        return Slice(start, stop)

    def position(self) -> int:
        kind, tok, pos = self.take()
        if kind != "num" or not tok.isdigit():
            shown = repr(tok) if kind != "end" else "the end"
            raise ExprError(f"an index must be a whole number counted from 1, not {shown} "
                            f"(column {pos + 1} in {self.text!r})")
        if int(tok) == 0:
            raise ExprError(f"indices count from 1, as the weight names do: 0 at column {pos + 1} "
                            f"in {self.text!r}")
        return int(tok)

    def atom(self):
        kind, tok, pos = self.take()
        if kind == "num":
            return Num(number(tok, self.limits))
        if kind == "name":
            if self.peek()[1] == "(":
                if tok not in self.functions:
                    hint = did_you_mean(tok, sorted(self.functions)) or f" (known: {', '.join(sorted(self.functions))})"
                    raise ExprError(f"unknown function {tok!r} in {self.text!r}{hint}")
                self.take("(")
                args, keywords = [], {}
                while True:
                    if self.peek()[0] == "name" and self.toks[self.i + 1][1] == "=":
                        keywords.update([self.keyword(tok, keywords)])
                    elif keywords:
                        raise ExprError(f"an argument without a name follows a keyword in {self.text!r}")
                    else:
                        args.append(self.expr())
                    if self.peek()[1] != ",":
                        break
                    self.take()
                self.take(")")
                return Call(tok, tuple(args), tuple(keywords.items()))
            return Name(tok)
        if tok == "(":
            node = self.expr()
            self.take(")")
            return node
        shown = repr(tok) if kind != "end" else "the end"
        raise ExprError(f"unexpected {shown} at column {pos + 1} in {self.text!r}")

    def keyword(self, func, given):
        """One name=N argument of a call to func: a known keyword, a whole number within the limit."""
        _, name, _ = self.take()
        self.take("=")
        known = self.keywords.get(func, ())
        if name not in known:
            hint = did_you_mean(name, known) or (f" (known: {', '.join(known)})" if known else "")
            raise ExprError(f"{func} has no keyword {name!r} in {self.text!r}{hint}")
        if name in given:
            raise ExprError(f"the keyword {name!r} is given twice in {self.text!r}")
        kind, tok, pos = self.take()
        if kind != "num" or "." in tok or "e" in tok.lower():
            shown = repr(tok) if kind != "end" else "the end"
            raise ExprError(f"{name}= takes a whole number, not {shown} at column {pos + 1} in {self.text!r}")
        value = int(tok)
        if value > self.limits.keyword_value:
            raise ExprLimitError(self.limits.message("keyword_value", f"{name}={shorten(tok, 20)} in {func}"))
        return name, value
