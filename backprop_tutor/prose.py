"""Prose from a problem file (notes, comment, rule texts): plain text with inline math written `$…$`.

The math must be in texsafe's safe subset; LaTeX sets it as math, the terminal shows it as Unicode
(x_1 → x₁, \\alpha → α, \\frac{a}{b} → a/b). A dollar sign that is not math is written \\$.
"""
from __future__ import annotations

import re
import unicodedata

from .texsafe import GREEK, UnsafeTeX, check_math, escape_text, math_tokens

_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")
_GREEK_LETTERS = dict(zip(GREEK, "αβγδεϵζηθϑικλμνξπϖρϱσςτυφϕχψωΓΔΘΛΞΠΣΥΦΨΩ"))
_SYMBOLS = {"prime": "′", "partial": "∂", "sum": "Σ", "top": "ᵀ", "ell": "ℓ", "infty": "∞", "ldots": "…"}
_OPERATORS = {"cdot": " · ", "quad": "  ", "qquad": "    ", "in": " ∈ ", "le": " ≤ ", "ge": " ≥ ",
              "neq": " ≠ ", "approx": " ≈ ", "times": " × ", "odot": " ⊙ ", "to": " → ",
              "tanh": "tanh ", "log": "log ", "exp": "exp ", "max": "max ", "min": "min ", "cosh": "cosh ",
              "sinh": "sinh "}
_CALL = re.compile(r"(tanh|log|exp|max|min|cosh|sinh) +(?=[(\[′⁰¹²³⁴⁵⁶⁷⁸⁹])")
_VULGAR = {("1", "2"): "½", ("1", "3"): "⅓", ("1", "4"): "¼", ("3", "4"): "¾"}
_CONTROL_SYMBOLS = {" ": " ", ",": " ", ":": " ", ";": " ", "!": "", "{": "{", "}": "}", "|": "‖"}
_ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "vec": "\u20d7"}
_CHARACTERS = {"-": "−", "'": "′"}
_SUB = dict(zip("0123456789+-−=()aehijklmnoprstuvxβγρφχ,", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ,"))
_SUP = dict(zip("0123456789+-−=()abcdefghijklmnoprstuvwxyzTᵀβγδθφχ",
                "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᵀᵀᵝᵞᵟᶿᵠᵡ"))


def segments(paragraph: str) -> list:
    """(is_math, text) pieces of one paragraph; \\$ is a dollar sign; UnsafeTeX for math outside
    the safe subset or a `$` whose math does not end in the same paragraph."""
    out, text, i = [], [], 0
    while i < len(paragraph):
        ch = paragraph[i]
        if paragraph.startswith("\\$", i):
            text.append("$")
            i += 2
        elif ch == "$":
            end = paragraph.find("$", i + 1)
            if end < 0:
                raise UnsafeTeX("a '$' starts inline math that does not end in the same paragraph "
                                "(a dollar sign that is not math is written \\$)")
            math = " ".join(paragraph[i + 1:end].split())
            try:
                check_math(math)
            except UnsafeTeX as e:
                raise UnsafeTeX(f"inline math ${_short(math)}$ {e}") from None
            if text:
                out.append((False, "".join(text)))
                text = []
            out.append((True, math))
            i = end + 1
        else:
            text.append(ch)
            i += 1
    if text:
        out.append((False, "".join(text)))
    return out


def paragraphs(prose) -> list:
    """The paragraphs of a text (separated by blank lines), each as its segments."""
    return [segments(p.strip()) for p in _PARAGRAPH.split(str(prose).strip()) if p.strip()]


def check_prose(prose) -> str:
    """The text itself when all its inline math is in the safe subset, else UnsafeTeX."""
    paragraphs(prose)
    return prose


def prose_latex(prose) -> str:
    """Prose for a LaTeX document: text escaped, inline math set as math, paragraphs kept apart."""
    return "\n\n".join("".join(f"${s}$" if math else escape_text(s) for math, s in p).strip()
                       for p in paragraphs(prose))


def prose_unicode(prose) -> str:
    """Prose for the terminal: inline math as readable Unicode, paragraphs kept apart."""
    return "\n\n".join(" ".join("".join(math_unicode(s) if math else s for math, s in p).split())
                       for p in paragraphs(prose))


def math_unicode(tex: str) -> str:
    """Math of the safe subset as Unicode text: x_1 → x₁, \\alpha → α, e^{-z} → e⁻ᶻ, \\frac{a}{b} → a/b."""
    text, _ = _sequence(math_tokens(check_math(tex)), 0)
    return _CALL.sub(r"\1", " ".join(text.split()))


def _short(s: str) -> str:
    return s if len(s) <= 40 else s[:37] + "…"


def _sequence(tokens: list, i: int, closing: bool = False):
    """The Unicode of tokens from i up to the '}' that closes the group (or the end)."""
    out = []
    while i < len(tokens):
        if tokens[i] == ("chr", "}"):
            if closing:
                return "".join(out), i + 1
            i += 1
            continue
        piece, i = _item(tokens, i)
        out.append(piece)
    return "".join(out), i


def _argument(tokens: list, i: int):
    while i < len(tokens) and tokens[i] == ("chr", " "):
        i += 1
    return _item(tokens, i) if i < len(tokens) else ("", i)


def _item(tokens: list, i: int):
    """One token (or group, or command with its arguments) as Unicode, and where the next begins."""
    kind, v = tokens[i]
    if kind == "sym":
        return _CONTROL_SYMBOLS.get(v, ""), i + 1
    if kind == "chr":
        if v == "{":
            return _sequence(tokens, i + 1, closing=True)
        if v in "_^":
            arg, j = _argument(tokens, i + 1)
            return _script(arg, _SUB if v == "_" else _SUP, v), j
        return _CHARACTERS.get(v, v), i + 1
    if v == "partial":  # ∂E, not ∂ E
        j = i + 1
        while j < len(tokens) and tokens[j] == ("chr", " "):
            j += 1
        return "∂", j
    if v in _GREEK_LETTERS or v in _SYMBOLS:
        return _GREEK_LETTERS.get(v) or _SYMBOLS[v], i + 1
    if v in _OPERATORS:
        return _OPERATORS[v], i + 1
    if v in ("left", "right"):
        piece, j = _argument(tokens, i + 1)
        return ("" if piece == "." else piece), j
    if v in _ACCENTS:
        arg, j = _argument(tokens, i + 1)
        return (unicodedata.normalize("NFC", arg + _ACCENTS[v]) if len(arg) == 1 else f"{v}({arg})"), j
    if v in ("frac", "tfrac"):
        top, j = _argument(tokens, i + 1)
        bottom, j = _argument(tokens, j)
        return _VULGAR.get((top.strip(), bottom.strip())) or f"{_grouped(top)}/{_grouped(bottom)}", j
    if v == "sqrt":
        j = i + 1
        while j < len(tokens) and tokens[j] == ("chr", " "):
            j += 1
        if j < len(tokens) and tokens[j] == ("chr", "["):  # the root's degree: shown as a plain √
            while tokens[j] != ("chr", "]"):
                j += 1
            j += 1
        arg, j = _argument(tokens, j)
        return "√" + _grouped(arg), j
    return _argument(tokens, i + 1)  # \mathbf, \mathrm, \operatorname …: the argument as it reads


def _grouped(s: str) -> str:
    """s, in parentheses when it is more than one term or factor."""
    s = s.strip()
    return f"({s})" if any(c in s for c in " +−=,/·") and not (s.startswith("(") and s.endswith(")")) else s


def _script(arg: str, table: dict, mark: str) -> str:
    """A sub- or superscript in Unicode's small letters where every character has one, else _x or _(xy)."""
    arg = arg.strip()
    if arg and all(c in table for c in arg):
        return "".join(table[c] for c in arg)
    return mark + (arg if len(arg) == 1 else f"({arg})")
