"""Math as presentation MathML: SymPy's MathML printer in the sheet's names and numbers; safe TeX translated."""
from __future__ import annotations

import html
from xml.dom.minidom import Document

import sympy as sp
from sympy.printing.mathml import MathMLPresentationPrinter

from ..notation import function_tex, is_exact_decimal, number_text, rounded, tex_name, tex_number
from ..ops import LOSS_TEX, Named
from ..texsafe import GREEK, ARGUMENTS, UnsafeTeX, check_math, math_tokens
from .printer import (EXACT_DIGITS, PLAIN_NUMBER, dot_operands, mixed, OurNumbers, SignedTerms, decimal_padding, negated, negative_number,
                      spelled_out)

GREEK_LETTERS = dict(zip(GREEK, "αβγδεϵζηθϑικλμνξπϖρϱσςτυφϕχψωΓΔΘΛΞΠΣΥΦΨΩ"))
IDENTIFIERS = {"partial": "∂", "top": "⊤", "ell": "ℓ", "infty": "∞"}
OPERATORS = {"prime": "′", "cdot": "·", "sum": "∑", "in": "∈", "le": "≤", "ge": "≥", "neq": "≠",
             "approx": "≈", "times": "×", "odot": "⊙", "to": "→", "ldots": "…"}
FUNCTIONS = ("tanh", "log", "exp", "max", "min", "cosh", "sinh")
SPACES = {"quad": "1em", "qquad": "2em", ",": "0.1667em", ":": "0.2222em", ";": "0.2778em", " ": "0.25em"}
ACCENTS = {"hat": "^", "bar": "¯", "tilde": "~", "vec": "→"}
CHARACTERS = {"-": "−", "'": "′", "*": "∗"}
# MathML Core sets only upright and italic letters: bold and script ones are Unicode's own letters
BOLD = {c: chr(0x1D400 + i) for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")}
BOLD.update({d: chr(0x1D7CE + i) for i, d in enumerate("0123456789")})
SCRIPT = {c: chr(0x1D49C + i) for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
SCRIPT.update(zip("BEFHILMR", "ℬℰℱℋℐℒℳℛ"))
INLINE_ENTRIES = 4   # a vector of at most this many entries is written on the line, (a, b)ᵀ …
INLINE_CHARACTERS = 28  # … when its numbers take no more characters than this


class TexMathML:
    """Math of texsafe's safe subset as MathML elements of one DOM (checked again before it is read)."""

    def __init__(self, dom):
        self.dom = dom

    def element(self, tag: str, *children, text: str | None = None, **attributes):
        """A MathML element with children (elements) or text."""
        e = self.dom.createElement(tag)
        for k, v in attributes.items():
            e.setAttribute(k, v)
        if text is not None:
            e.appendChild(self.dom.createTextNode(text))
        for c in children:
            e.appendChild(c)
        return e

    def row(self, items: list):
        """One element for several: the one itself, else an mrow of them."""
        return items[0] if len(items) == 1 else self.element("mrow", *items)

    def translate(self, tex: str):
        """The MathML of one piece of safe-subset TeX; UnsafeTeX for anything outside it."""
        tokens = math_tokens(check_math(tex))
        items, _ = self._sequence(tokens, 0)
        return settled(self.row(items) if items else self.element("mrow"))

    def _sequence(self, tokens: list, i: int, until=None):
        """Elements from token i up to `until` (a closing token, consumed) or the end."""
        out = []
        while i < len(tokens):
            if until is not None and tokens[i] in until:
                return out, i + 1
            if tokens[i] in (("chr", "_"), ("chr", "^")):
                base = out.pop() if out else self.element("mrow")
                out.append(None)
                i = self._scripts(tokens, i, base, out)
                continue
            item, i = self._item(tokens, i)
            if item is not None:
                out.append(item)
        return out, i

    def _scripts(self, tokens: list, i: int, base, out: list) -> int:
        """base_{sub}^{sup} (either order) as msub, msup or msubsup, in place of the None at out's end."""
        scripts = {}
        while i < len(tokens) and tokens[i] in (("chr", "_"), ("chr", "^")) and tokens[i][1] not in scripts:
            mark = tokens[i][1]
            arg, i = self._argument(tokens, i + 1)
            scripts[mark] = arg
        if "_" in scripts and "^" in scripts:
            out[-1] = self.element("msubsup", base, scripts["_"], scripts["^"])
        else:
            mark, arg = next(iter(scripts.items()))
            out[-1] = self.element("msub" if mark == "_" else "msup", base, arg)
        return i

    def _argument(self, tokens: list, i: int):
        """One argument: a {group} or a single token, as one element."""
        while i < len(tokens) and tokens[i] == ("chr", " "):
            i += 1
        if i >= len(tokens):
            return self.element("mrow"), i
        if tokens[i] == ("chr", "{"):
            items, i = self._sequence(tokens, i + 1, until=(("chr", "}"),))
            return self.element("mrow", *items), i
        if tokens[i][0] == "chr" and tokens[i][1].isdigit():  # one token: \tfrac12 is 1/2
            return self.element("mn", text=tokens[i][1]), i + 1
        item, i = self._item(tokens, i)
        return (item if item is not None else self.element("mrow")), i

    def _item(self, tokens: list, i: int):
        """One token (or command with its arguments) as an element (None for a plain space)."""
        kind, v = tokens[i]
        if kind == "sym":
            if v in SPACES:
                return self.element("mspace", width=SPACES[v]), i + 1
            if v == "!":
                return None, i + 1
            return self.element("mo", text={"|": "‖"}.get(v, v)), i + 1
        if kind == "chr":
            if v == " ":
                return None, i + 1
            if v == "{":
                items, j = self._sequence(tokens, i + 1, until=(("chr", "}"),))
                return self.element("mrow", *items), j
            if v.isdigit():
                j = i
                while j < len(tokens) and tokens[j][0] == "chr" and (
                        tokens[j][1].isdigit() or tokens[j][1] == "." and j + 1 < len(tokens)
                        and tokens[j + 1][1].isdigit() and tokens[j + 1][0] == "chr"):
                    j += 1
                return self.element("mn", text="".join(t[1] for t in tokens[i:j])), j
            if v.isalpha():
                return self.element("mi", text=v), i + 1
            return self.element("mo", text=CHARACTERS.get(v, v)), i + 1
        return self._command(tokens, i, v)

    def _command(self, tokens: list, i: int, v: str):
        if v in GREEK_LETTERS:
            upright = {"mathvariant": "normal"} if v[0].isupper() else {}
            return self.element("mi", text=GREEK_LETTERS[v], **upright), i + 1
        if v in IDENTIFIERS:
            return self.element("mi", text=IDENTIFIERS[v]), i + 1
        if v in OPERATORS:
            return self.element("mo", text=OPERATORS[v]), i + 1
        if v in FUNCTIONS:
            return self.element("mi", text=v), i + 1
        if v in ("quad", "qquad"):
            return self.element("mspace", width=SPACES[v]), i + 1
        if v == "left":
            delimiter, j = self._delimiter(tokens, i + 1)
            inside, j = self._sequence(tokens, j, until=(("cmd", "right"),))
            closing, j = self._delimiter(tokens, j)
            return self.element("mrow", *[d for d in (delimiter, *inside, closing) if d is not None]), j
        if v == "right":  # only a \right without its \left reaches here; check_math refuses it
            raise UnsafeTeX("has a \\right without its \\left")
        if v in ACCENTS:
            arg, j = self._argument(tokens, i + 1)
            return self.element("mover", arg, self.element("mo", text=ACCENTS[v]), accent="true"), j
        if v in ("frac", "tfrac"):
            top, j = self._argument(tokens, i + 1)
            bottom, j = self._argument(tokens, j)
            fraction = self.element("mfrac", top, bottom)
            return (self.element("mstyle", fraction, displaystyle="false") if v == "tfrac" else fraction), j
        if v == "sqrt":
            j = i + 1
            while j < len(tokens) and tokens[j] == ("chr", " "):
                j += 1
            degree = None
            if j < len(tokens) and tokens[j] == ("chr", "["):
                items, j = self._sequence(tokens, j + 1, until=(("chr", "]"),))
                degree = self.row(items) if items else None
            arg, j = self._argument(tokens, j)
            return (self.element("mroot", arg, degree) if degree is not None else self.element("msqrt", arg)), j
        if v in ARGUMENTS:  # \mathbf \mathrm \mathit \mathcal \operatorname: the argument in that style
            arg, j = self._argument(tokens, i + 1)
            return self._styled(arg, v), j
        raise UnsafeTeX(f"\\{v} is not an allowed command")

    def _delimiter(self, tokens: list, j: int):
        """The delimiter after \\left or \\right (None for '.'), stretched to what it encloses."""
        while j < len(tokens) and tokens[j] == ("chr", " "):
            j += 1
        kind, v = tokens[j]
        if kind == "chr" and v == ".":
            return None, j + 1
        text = {"|": "‖"}.get(v, v) if kind == "sym" else v
        return self.element("mo", text=text, stretchy="true", fence="true"), j + 1

    def _styled(self, e, style: str):
        """An element with its letters upright (\\mathrm, \\operatorname), bold or script; a word of
        upright letters becomes one identifier, as TeX sets it."""
        if style == "mathit":
            return e
        letters = [node for node in _walk(e) if node.nodeType == node.TEXT_NODE]
        if style in ("mathrm", "operatorname"):
            word = "".join(n.data for n in letters)
            if all(node.tagName in ("mrow", "mi", "mn") for node in _walk(e) if node.nodeType == node.ELEMENT_NODE) \
                    and word.isalnum():
                return self.element("mi", text=word, mathvariant="normal")
            for node in _walk(e):
                if node.nodeType == node.ELEMENT_NODE and node.tagName == "mi":
                    node.setAttribute("mathvariant", "normal")
            return e
        table = BOLD if style == "mathbf" else SCRIPT
        for n in letters:
            n.data = "".join(table.get(c, c) for c in n.data)
        return e


FENCES = frozenset("()[]{}|‖")
TALL = frozenset({"mfrac", "mtable", "msqrt", "mroot", "munderover"})


def settled(e):
    """e with its brackets set at the text's own size unless they enclose something tall (a fraction, a
    matrix): a math font's stretchy brackets stand apart from short contents. A slash is set tight, as TeX sets it."""
    for node in _walk(e):
        if node.nodeType != node.ELEMENT_NODE or node.tagName != "mo" or node.hasAttribute("stretchy"):
            continue
        text = _text_of(node)
        if text == "/":
            node.setAttribute("lspace", "0")
            node.setAttribute("rspace", "0")
        elif text in FENCES and not _encloses_tall(node, text):
            node.setAttribute("stretchy", "false")
    return e


def _encloses_tall(mo, text: str) -> bool:
    """Whether what a bracket encloses (its siblings up to the next bracket: after an opening one,
    before a closing one, either side of a bar) holds a fraction, a matrix or a root."""
    def side(step):
        node = getattr(mo, step)
        while node is not None:
            if node.nodeType == node.ELEMENT_NODE:
                if node.tagName == "mo" and _text_of(node) in FENCES:
                    return False
                if _tall(node):
                    return True
            node = getattr(node, step)
        return False
    if text in "([{":
        return side("nextSibling")
    if text in ")]}":
        return side("previousSibling")
    before, node = 0, mo.previousSibling   # bars alternate: an even number before this one opens
    while node is not None:
        before += node.nodeType == node.ELEMENT_NODE and node.tagName == "mo" and _text_of(node) == text
        node = node.previousSibling
    return side("nextSibling" if before % 2 == 0 else "previousSibling")


def _tall(node) -> bool:
    """Whether an element holds a fraction, a matrix or a root set at full size (a \\tfrac is not)."""
    if node.nodeType != node.ELEMENT_NODE:
        return False
    if node.tagName == "mstyle" and node.getAttribute("displaystyle") == "false":
        return False
    return node.tagName in TALL or any(_tall(c) for c in node.childNodes)


def _text_of(node) -> str:
    return "".join(c.data for c in node.childNodes if c.nodeType == c.TEXT_NODE)


def _walk(e):
    yield e
    for c in e.childNodes:
        yield from _walk(c)


class MathMathML(OurNumbers, SignedTerms, MathMLPresentationPrinter):
    """SymPy's presentation MathML printer with the sheet's names, our number format and unevaluated steps."""

    def __init__(self, digits: int = 4, exact: bool = False, names: dict | None = None):
        super().__init__({"mat_delim": "[", "mul_symbol": "dot", "order": "none"})
        # SymPy's printer writes its text nodes unescaped (it spells some symbols as entity references):
        # here every text is escaped when written, an entity reference read as the character it names first
        self.dom.createTextNode = lambda data: Document.createTextNode(self.dom, html.unescape(str(data)))
        self.digits, self.exact, self.names = digits, exact, names or {}
        self.tex = TexMathML(self.dom)

    def doprint(self, expr) -> str:
        """The MathML of an expression (an mrow or a single element), as text."""
        return self.element(expr).toxml()

    def element(self, expr):
        """The MathML of an expression, as an element."""
        return settled(self._print(expr))

    def text_of(self, tex: str):
        """Our own safe-subset TeX (a number, a loss's name) as an element."""
        return self.tex.translate(tex)

    def el(self, tag: str, *children, text: str | None = None, **attributes):
        return self.tex.element(tag, *children, text=text, **attributes)

    def mo(self, text: str):
        return self.el("mo", text=text)

    def name_element(self, name: str):
        """A file name in the sheet's notation; a name the safe subset cannot write is set upright as it is."""
        try:
            return self.tex.translate(tex_name(name, self.names))
        except UnsafeTeX:
            return self.el("mi", text=name, mathvariant="normal")

    def _number(self, x):
        return self.text_of(tex_number(x, self.digits, self.exact))

    def _exactly(self, x):
        if is_exact_decimal(x) and not rounded(x, EXACT_DIGITS):
            return self.text_of(tex_number(x, EXACT_DIGITS))
        return self.text_of(tex_number(x, exact=True))

    def _print_Integer(self, e):
        return self._number(e)

    def _print_Symbol(self, e, style="plain"):
        return self.name_element(e.name)

    _print_MatrixSymbol = _print_Dummy = _print_Symbol

    def _fenced(self, inner, left: str = "(", right: str = ")"):
        return self.el("mrow", self.mo(left), inner, self.mo(right))

    def _call(self, name, args):
        base, prime = (name[:-1], "′") if name.endswith("′") else (name, "")
        sheet = function_tex(base, self.names)
        if sheet is not None:
            head = self.text_of(sheet)
        elif base == "sigmoid":
            head = self.el("mi", text="σ")
        elif name in LOSS_TEX:
            head = self.text_of(LOSS_TEX[name])
        else:
            head = self.el("mi", text=base, mathvariant="normal")
        if prime:
            head = self.el("mrow", head, self.mo("′"))
        inner = []
        for k, a in enumerate(args):
            if k:
                inner.append(self.mo(","))
            inner.append(self._print(a))
        return self.el("mrow", head, self._fenced(self.tex.row(inner) if inner else self.el("mrow")))

    def _print_Function(self, e, exp=None):
        name = type(e).__name__
        if isinstance(e, Named):
            name = e.display_name()
        if name in self.names.get("functions", {}) or isinstance(e, Named):
            return self._call(name, e.args)
        return super()._print_Function(e)

    def _print_MatFunc(self, e):
        return self._call(e.name, e.operands)

    def _print_Keyword(self, e):
        return self.el("mrow", self.el("mi", text=e.name, mathvariant="normal"), self.mo("="),
                       self.el("mn", text=str(e.value)))

    def _print_ScalarFunc(self, e):
        if e.name == "dot":  # w·x of two vectors, as wᵀx
            left, right, transposed = dot_operands(e)
            written = self._factor(left)
            if transposed:
                written = self.el("msup", written, self.el("mi", text="T", mathvariant="normal"))
            return self.el("mrow", written, self._factor(right))
        return self._call(e.name, e.operands)

    def _print_operation(self, e):
        """relu, step, sigmoid, softplus, linear: the ops table's own functions, by name."""
        return self._call(type(e).__name__, e.args)

    _print_relu = _print_step = _print_sigmoid = _print_softplus = _print_linear = _print_operation

    def _print_MatrixBase(self, m):
        """A 1×1 value as its number; a short vector on the line as (a, b)ᵀ, as a sheet writes it; else a
        bracketed table whose number columns are set flush right."""
        if m.shape == (1, 1):
            return self._print(m[0, 0])
        if 1 in m.shape and max(m.shape) <= INLINE_ENTRIES and inline_fits(m, self.digits, self.exact):
            inner = []
            for k, v in enumerate(m):
                if k:
                    inner += [self.mo(","), self.el("mspace", width="0.25em")]
                inner.append(self._print(v))
            tuple_ = self._fenced(self.el("mrow", *inner))
            return self.el("msup", tuple_, self.el("mi", text="T", mathvariant="normal")) if m.cols == 1 else tuple_
        cells = [[self._print(m[i, j]) for j in range(m.cols)] for i in range(m.rows)]
        for j in range(m.cols):   # a column of decimals lined up on the point, as the LaTeX bmatrix has it
            column = [number_text(v, self.digits, self.exact) if isinstance(v, sp.Number) else "" for v in m.col(j)]
            if all(PLAIN_NUMBER.fullmatch(c) for c in column):
                for row, (left, right) in zip(cells, decimal_padding(column)):
                    row[j] = self.el("mrow", *([self._phantom(left)] if left else []), row[j],
                                     *([self._phantom(right)] if right else []))
        table = self.el("mtable", **{"class": "matrix"})
        for row in cells:
            table.appendChild(self.el("mtr", *[self.el("mtd", c) for c in row]))
        return self._fenced(table, "[", "]")

    def _phantom(self, text: str):
        """Room for text, left blank."""
        return self.el("mphantom", self.el("mn", text=text.replace("-", "−")))

    _print_ImmutableMatrix = _print_MutableDenseMatrix = _print_ImmutableDenseMatrix = _print_MatrixBase

    def _print_Partial(self, e):
        return self.el("mfrac", self.el("mrow", self.el("mi", text="∂"), self._print(e.of)),
                       self.el("mrow", self.el("mi", text="∂"), self._print(e.wrt)))

    def _print_UnevaluatedExpr(self, e):
        return self._print(e.args[0])

    def _print_Exp1(self, e):
        return self.el("mi", text="e")

    def _print_OneMatrix(self, e):
        return self.el("mn", text=BOLD["1"])

    def _print_HadamardProduct(self, e):
        return self._joined(e.args, "⊙")

    def _joined(self, args, symbol: str):
        out = []
        for k, a in enumerate(args):
            if k:
                out.append(self.mo(symbol))
            out.append(self._fenced(self._print(a)) if mixed(a, sp.MatMul) else self._factor(a))
        return self.el("mrow", *out)

    def _join_terms(self, terms):
        """Terms in the order given: a negated term after −, a negative number in parentheses after +."""
        out = []
        for i, t in enumerate(terms):
            if negated(t) is not None:
                out += [self.mo("−"), self._factor(negated(t))]
            elif i and negative_number(t):
                out += [self.mo("+"), self._fenced(self._print(t))]
            else:
                out += ([self.mo("+")] if i else []) + [self._print(t)]
        return self.el("mrow", *out)

    def _print_Mul(self, e):
        if not isinstance(e, sp.Mul):
            return super()._print_Mul(e)
        args = list(e.args)
        if args[0] == -1:
            rest = args[1] if len(args) == 2 else sp.Mul(*args[1:], evaluate=False)
            return self.el("mrow", self.mo("−"), self._factor(rest))
        custom = any(negative_number(a) or isinstance(a, sp.Add) for a in args[1:]) or (
            spelled_out(e) and not self.exact)
        if any(isinstance(a, sp.Pow) and a.exp == -1 for a in args) or not custom:
            return super()._print_Mul(e)
        return self._joined(args, "·")

    def _print_MatMul(self, e):
        args = list(e.args)
        if len(args) == 2 and args[0] == -1:
            return self.el("mrow", self.mo("−"), self._factor(args[1]))
        return self.el("mrow", *[self._factor(a) if isinstance(a, (sp.MatAdd, sp.Add)) or negative_number(a)
                                 else self._fenced(self._print(a)) if mixed(a, sp.HadamardProduct)
                                 else self._print(a) for a in args])

    def _print_Pow(self, e):
        if (negative_number(e.base) or isinstance(e.base, sp.Add)) and e.exp.is_Integer and e.exp > 0:
            return self.el("msup", self._fenced(self._print(e.base)), self._print(e.exp))
        return super()._print_Pow(e)

    def _factor(self, x):
        s = self._print(x)
        if negative_number(x) or isinstance(x, (sp.Add, sp.MatAdd)):
            return self._fenced(s)
        return s


def inline_fits(m, digits: int, exact: bool) -> bool:
    """Whether a short vector of numbers is narrow enough to be written on the line: no fractions, few characters."""
    if any(not isinstance(v, sp.Number) for v in m):
        return True
    if exact and any(not v.is_Integer for v in m if v.is_Rational):
        return False
    return sum(len(number_text(v, digits, exact)) + 2 for v in m) <= INLINE_CHARACTERS


__all__ = ["MathMathML", "TexMathML", "inline_fits"]
