"""Our own whitelisting expression parser: text → a small syntax tree, never eval."""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction


class ExprError(ValueError):
    """An expression that is not in the language; the caller adds file, line and key."""


@dataclass(frozen=True)
class Num:
    value: Fraction


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple


@dataclass(frozen=True)
class BinOp:
    op: str  # one of + - * / @ **
    left: object
    right: object


@dataclass(frozen=True)
class Neg:
    operand: object


@dataclass(frozen=True)
class Transpose:
    operand: object


_TOKEN = re.compile(r"""
    (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|\.T\b|[-+*/@(),])
  | (?P<space>\s+)
""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExprError(f"unexpected {text[pos]!r} at column {pos + 1} in {text!r}")
        kind = m.lastgroup
        if kind != "space":
            out.append((kind, m.group(), pos))
        pos = m.end()
    out.append(("end", "", pos))
    return out


def names_in(node) -> list[str]:
    """Every name an expression uses, in order of first use."""
    seen: list[str] = []

    def walk(n):
        if isinstance(n, Name):
            if n.id not in seen:
                seen.append(n.id)
        elif isinstance(n, Call):
            for a in n.args:
                walk(a)
        elif isinstance(n, BinOp):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, (Neg, Transpose)):
            walk(n.operand)

    walk(node)
    return seen


def rename(node, names: dict):
    """The same expression with some names replaced."""
    if isinstance(node, Name):
        return Name(names.get(node.id, node.id))
    if isinstance(node, Call):
        return Call(node.func, tuple(rename(a, names) for a in node.args))
    if isinstance(node, BinOp):
        return BinOp(node.op, rename(node.left, names), rename(node.right, names))
    if isinstance(node, Neg):
        return Neg(rename(node.operand, names))
    if isinstance(node, Transpose):
        return Transpose(rename(node.operand, names))
    return node


def parse(text: str | int | float, functions: frozenset[str] | set[str]) -> object:
    """Parse one expression; only the given function names may be called."""
    if isinstance(text, bool):
        raise ExprError(f"{text!r} is not a number or an expression")
    if isinstance(text, int):
        return Num(Fraction(text))
    if isinstance(text, float):
        return Num(Fraction(repr(text)))
    if not isinstance(text, str):
        raise ExprError(f"{text!r} is not a number or an expression")
    toks = _tokens(text)
    parser = _Parser(toks, text, functions)
    node = parser.expr()
    kind, tok, pos = parser.peek()
    if kind != "end":
        raise ExprError(f"unexpected {tok!r} at column {pos + 1} in {text!r}")
    return node


class _Parser:
    """Precedence climbing: + - < * / @ < unary - < ** < postfix .T."""

    def __init__(self, toks, text, functions):
        self.toks, self.i, self.text, self.functions = toks, 0, text, functions

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
        if self.peek()[1] == "-":
            self.take()
            return Neg(self.unary())
        if self.peek()[1] == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self):
        base = self.postfix()
        if self.peek()[1] == "**":
            self.take()
            return BinOp("**", base, self.unary())
        return base

    def postfix(self):
        node = self.atom()
        while self.peek()[1] == ".T":
            self.take()
            node = Transpose(node)
        return node

    def atom(self):
        kind, tok, pos = self.take()
        if kind == "num":
            return Num(Fraction(tok))
        if kind == "name":
            if self.peek()[1] == "(":
                if tok not in self.functions:
                    known = ", ".join(sorted(self.functions))
                    raise ExprError(f"unknown function {tok!r} in {self.text!r} (known: {known})")
                self.take("(")
                args = [self.expr()]
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.expr())
                self.take(")")
                return Call(tok, tuple(args))
            return Name(tok)
        if tok == "(":
            node = self.expr()
            self.take(")")
            return node
        shown = repr(tok) if kind != "end" else "the end"
        raise ExprError(f"unexpected {shown} at column {pos + 1} in {self.text!r}")
