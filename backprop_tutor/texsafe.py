"""What text from a problem file may become in LaTeX: escaped plain text, and math from one safe subset."""
from __future__ import annotations

import re
import string

MAX_MATH_LENGTH = 200

GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta",
         "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "varpi", "rho", "varrho", "sigma", "varsigma",
         "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega",
         "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega")
# Commands that take arguments, with how many (\sqrt may also have an optional [n] first).
ARGUMENTS = {"hat": 1, "bar": 1, "tilde": 1, "vec": 1, "mathbf": 1, "mathrm": 1, "mathit": 1,
             "mathcal": 1, "operatorname": 1, "frac": 2, "tfrac": 2, "sqrt": 1}
SYMBOLS = ("prime", "cdot", "partial", "sum", "top", "ell", "infty", "quad", "qquad",
           "in", "le", "ge", "neq", "approx", "times", "odot", "to", "ldots", "tanh", "log", "exp", "max", "min", "cosh", "sinh")
NAMED_COMMANDS = ("hat", "bar", "tilde", "vec", "mathbf", "mathrm", "mathit", "mathcal", "operatorname", "prime",
                  "cdot", "partial", "sum", "frac", "tfrac", "sqrt", "top", "ell", "infty", "left", "right", "quad", "qquad",
                  "in", "le", "ge", "neq", "approx", "times", "odot", "to", "ldots", "tanh", "log", "exp", "max", "min", "cosh", "sinh")
MATH_COMMANDS = frozenset(GREEK + SYMBOLS + tuple(ARGUMENTS) + NAMED_COMMANDS)
SPACING = frozenset(",:;! ")          # \, \: \; \! and a control space
ESCAPED_DELIMITERS = frozenset("{}|")  # \{ \} \|
MATH_CHARACTERS = frozenset(string.ascii_letters + string.digits + " _^{}',.:()[]|+-=/<>")
DELIMITERS = frozenset("()[]|./<>")     # what may follow \left and \right


class UnsafeTeX(ValueError):
    """Math from a file that is outside the safe subset; the message says what and where."""


def check_math(tex) -> str:
    """The value itself when it is math from the safe subset, else UnsafeTeX naming the first problem.

    The subset: letters, digits, spaces, _ ^ { } ' , . : ( ) [ ] | + - = / < >, the Greek letters,
    \\hat \\bar \\tilde \\vec \\mathbf \\mathrm \\mathit \\mathcal \\operatorname \\prime \\cdot
    \\partial \\sum \\frac \\tfrac \\sqrt \\top \\ell \\infty \\in \\le \\ge \\neq \\approx \\times
    \\odot \\to \\ldots \\tanh \\log \\exp \\max \\min \\cosh \\sinh \\left \\right and the spacing commands
    \\, \\: \\; \\! \\quad \\qquad; braces balanced, \\left and \\right in pairs, every command
    given its arguments; at most MAX_MATH_LENGTH characters.
    """
    if not isinstance(tex, str):
        raise UnsafeTeX("must be text (LaTeX math such as \\hat{y}_{1})")
    if not tex.strip():
        raise UnsafeTeX("is empty")
    if len(tex) > MAX_MATH_LENGTH:
        raise UnsafeTeX(f"is {len(tex)} characters long; at most {MAX_MATH_LENGTH} are allowed")
    for ch in tex:
        if ch not in MATH_CHARACTERS and ch != "\\":
            raise UnsafeTeX(f"the character {_show(ch)} is not allowed in LaTeX math here "
                            "(allowed: letters, digits, spaces, _ ^ { } ' , . : ( ) [ ] | + - = / < > and a few commands)")
    if "^^" in tex:
        raise UnsafeTeX("'^^' (TeX's character-code notation) is not allowed")
    tokens = _tokens(tex)
    _check_structure(tokens)
    return tex


def _show(ch: str) -> str:
    return repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"


def math_tokens(tex: str) -> list:
    """The tokens of math already checked by check_math, for printers that read its structure."""
    return _tokens(tex)


def _tokens(tex: str) -> list:
    """(kind, value) pairs: ('cmd', name), ('sym', character) for \\, \\{ …, ('chr', character)."""
    out, i = [], 0
    while i < len(tex):
        ch = tex[i]
        if ch != "\\":
            out.append(("chr", ch))
            i += 1
            continue
        m = re.match(r"[A-Za-z]+", tex[i + 1:])
        if m:
            name = m.group(0)
            if name not in MATH_COMMANDS:
                raise UnsafeTeX(f"\\{name} is not an allowed command (allowed: the Greek letters, "
                                + " ".join("\\" + c for c in NAMED_COMMANDS) + ")")
            out.append(("cmd", name))
            i += 1 + len(name)
            continue
        if i + 1 >= len(tex):
            raise UnsafeTeX("ends with a lone backslash")
        symbol = tex[i + 1]
        if symbol not in SPACING | ESCAPED_DELIMITERS:
            raise UnsafeTeX(f"\\{symbol} is not allowed (allowed control symbols: \\, \\: \\; \\! \\{{ \\}} \\|)")
        out.append(("sym", symbol))
        i += 2
    return out


def _check_structure(tokens: list) -> None:
    """Braces balanced, \\left and \\right paired inside the same group, each command given its arguments."""
    stack = []
    for i, (kind, value) in enumerate(tokens):
        if (kind, value) == ("chr", "{"):
            stack.append("{")
        elif (kind, value) == ("chr", "}"):
            if not stack or stack[-1] != "{":
                raise UnsafeTeX("has a '}' without its '{'" if not stack else "has a '}' between \\left and \\right")
            stack.pop()
        elif kind == "cmd" and value in ("left", "right"):
            j = _skip_spaces(tokens, i + 1)
            if j >= len(tokens) or not _is_delimiter(tokens[j]):
                raise UnsafeTeX(f"\\{value} must be followed by a delimiter such as ( [ | . or \\{{")
            if value == "left":
                stack.append("left")
            elif not stack or stack[-1] != "left":
                raise UnsafeTeX("has a \\right without its \\left")
            else:
                stack.pop()
        elif kind == "cmd" and value in ARGUMENTS:
            j = i + 1
            if value == "sqrt":
                j = _skip_optional(tokens, j)
            for _ in range(ARGUMENTS[value]):
                j = _skip_argument(tokens, j, f"\\{value}")
        elif (kind, value) in (("chr", "_"), ("chr", "^")):
            _skip_argument(tokens, i + 1, f"'{value}'")
    if stack:
        raise UnsafeTeX("has a '{' without its '}'" if stack[-1] == "{" else "has a \\left without its \\right")


def _is_delimiter(token) -> bool:
    kind, value = token
    return (kind == "chr" and value in DELIMITERS) or (kind == "sym" and value in ESCAPED_DELIMITERS)


def _skip_spaces(tokens: list, j: int) -> int:
    while j < len(tokens) and tokens[j] == ("chr", " "):
        j += 1
    return j


def _skip_optional(tokens: list, j: int) -> int:
    """Past an optional [ … ] argument, if there is one."""
    j = _skip_spaces(tokens, j)
    if j < len(tokens) and tokens[j] == ("chr", "["):
        while j < len(tokens) and tokens[j] != ("chr", "]"):
            j += 1
        if j == len(tokens):
            raise UnsafeTeX("has a '[' without its ']' after \\sqrt")
        j += 1
    return j


def _skip_argument(tokens: list, j: int, what: str) -> int:
    """Past one argument (a {group} or a single token); UnsafeTeX if there is none."""
    j = _skip_spaces(tokens, j)
    if j >= len(tokens) or tokens[j] in (("chr", "}"), ("chr", "_"), ("chr", "^")) \
            or tokens[j] in (("cmd", "right"), ("cmd", "left")) or tokens[j][0] == "sym" and tokens[j][1] in SPACING:
        raise UnsafeTeX(f"{what} needs an argument")
    if tokens[j] != ("chr", "{"):
        return j + 1
    depth = 0
    for k in range(j, len(tokens)):
        if tokens[k] == ("chr", "{"):
            depth += 1
        elif tokens[k] == ("chr", "}"):
            depth -= 1
            if depth == 0:
                return k + 1
    return len(tokens)  # the unbalanced brace is reported by the caller


# ---------------------------------------------------------------- plain text

# Characters that titles, notes and rule texts may hold, as pdflatex can set them.
TEXT_CHARACTERS = {
    "−": "\\ensuremath{-}", "′": "\\ensuremath{'}", "²": "\\ensuremath{^2}", "³": "\\ensuremath{^3}",
    "ᵢ": "\\ensuremath{_i}", "ⱼ": "\\ensuremath{_j}", "ₖ": "\\ensuremath{_k}", "ᵀ": "\\ensuremath{^{T}}",
    "Σ": "\\ensuremath{\\Sigma}", "σ": "\\ensuremath{\\sigma}", "δ": "\\ensuremath{\\delta}",
    "α": "\\ensuremath{\\alpha}", "ρ": "\\ensuremath{\\rho}", "∂": "\\ensuremath{\\partial}",
    "·": "\\ensuremath{\\cdot}", "⋅": "\\ensuremath{\\cdot}", "⊙": "\\ensuremath{\\odot}",
    "∘": "\\ensuremath{\\circ}", "≤": "\\ensuremath{\\le}", "≥": "\\ensuremath{\\ge}",
    "≈": "\\ensuremath{\\approx}", "→": "\\ensuremath{\\to}", "←": "\\ensuremath{\\leftarrow}",
    "½": "\\ensuremath{\\tfrac12}", "ℝ": "\\ensuremath{\\mathbb{R}}", "×": "\\ensuremath{\\times}",
    "√": "\\ensuremath{\\surd}", "∈": "\\ensuremath{\\in}", "ŷ": "\\ensuremath{\\hat y}",
    "‖": "\\ensuremath{\\|}", "⟨": "\\ensuremath{\\langle}", "⟩": "\\ensuremath{\\rangle}",
    "–": "--", "—": "---", "’": "'", "‘": "`", "“": "``", "”": "''", "…": "\\ldots{}",
    "✓": "\\ensuremath{\\checkmark}", "✗": "\\ensuremath{\\times}",
    "⁰": "\\ensuremath{^0}", "¹": "\\ensuremath{^1}", "⁴": "\\ensuremath{^4}", "⁵": "\\ensuremath{^5}",
    "⁶": "\\ensuremath{^6}", "⁷": "\\ensuremath{^7}", "⁸": "\\ensuremath{^8}", "⁹": "\\ensuremath{^9}",
    "ˣ": "\\ensuremath{^{\\times}}", "⁽": "\\ensuremath{^(}", "⁾": "\\ensuremath{^)}",
    "ₒ": "\\ensuremath{_o}", "ᵤ": "\\ensuremath{_u}", "ₜ": "\\ensuremath{_t}", "ₙ": "\\ensuremath{_n}",
}
# ASCII characters that mean something to TeX (or start an optional argument), spelled as text.
SPECIAL = {"\\": "\\textbackslash{}", "&": "\\&", "%": "\\%", "$": "\\$", "#": "\\#", "_": "\\_",
           "{": "\\{", "}": "\\}", "~": "\\textasciitilde{}", "^": "\\textasciicircum{}",
           "|": "\\textbar{}", "<": "\\textless{}", ">": "\\textgreater{}", "[": "{[}", "]": "{]}",
           "-": "-{}", "`": "\\textasciigrave{}"}  # no -- or --- dashes, no `` quotes: the text as typed
LATIN = frozenset("äöüÄÖÜßéèàçñ")  # set by inputenc's utf8


def escape_text(s) -> str:
    """Plain text for a LaTeX document: TeX's special characters escaped, known symbols set in math,
    control characters as spaces, and any other character pdflatex cannot set as '?'."""
    out = []
    for ch in str(s):
        if ch in SPECIAL:
            out.append(SPECIAL[ch])
        elif ch in TEXT_CHARACTERS:
            out.append(TEXT_CHARACTERS[ch])
        elif " " <= ch < "\x7f" or ch in LATIN:
            out.append(ch)
        elif ch in "\t\n\r\f\v" or ord(ch) < 32 or ch == "\x7f":
            out.append(" ")
        else:
            out.append("?")
    return "".join(out)


def escape_paragraphs(s) -> str:
    """Several paragraphs of plain text (separated by blank lines), each escaped, kept apart."""
    paragraphs = [p for p in re.split(r"\n[ \t\r\f\v]*\n", str(s).strip()) if p.strip()]
    return "\n\n".join(escape_text(p).strip() for p in paragraphs)


# ---------------------------------------------------------------- whole documents

# What the LaTeX printer's own documents load; a document to compile may load nothing else.
DOCUMENT_CLASSES = frozenset({"article"})
PACKAGES = frozenset({"inputenc", "fontenc", "geometry", "amsmath", "amssymb", "booktabs", "graphicx", "tikz", "pgfplots"})
TIKZ_LIBRARIES = frozenset({"positioning", "arrows.meta"})
# Commands no exported document uses that read or write files, run programs, or build other
# commands' names (which would let a document reach the others without naming them).
FORBIDDEN = frozenset("""
    input include includeonly InputIfFileExists IfFileExists endinput openin read readline closein
    openout write closeout immediate special ShellEscape includegraphics pgfimage pgfdeclareimage
    pdfobj pdfximage pdfrefximage pdffiledump pdfmdfivesum pdffilesize pdffilemoddate pdfmapfile
    pdfmapline pdfprimitive primitive pdfstrcmp csname scantokens everyeof catcode makeatletter
    ExplSyntaxOn ProvidesExplPackage ProvidesExplFile DocumentMetadata filecontents verbatiminput
    lstinputlisting VerbatimInput CatchFileDef embedfile attachfile textattachfile includepdf
    RequirePackage LoadClass LoadClassWithOptions PassOptionsToPackage directlua luaexec
    addplot pgfplotstableread pgfplotstabletypeset pgfplotstablesave
    """.split())
_LOADS = re.compile(r"\\(documentclass|usepackage|usetikzlibrary)(?![A-Za-z])")
_LOAD_FORM = re.compile(r"\\(?:documentclass|usepackage|usetikzlibrary)\s*(?:\[[^\]\\{}]*\])?\s*\{([^}\\]*)\}")


def forbidden_in_document(source: str) -> str | None:
    """The first thing in a whole .tex document that an exported document never contains and that
    could read a file or run a program (a forbidden command, '^^', an unknown package), or None."""
    if "^^" in source:
        return "'^^' (TeX's character-code notation)"
    for m in re.finditer(r"\\(?:([A-Za-z@]+)|.)", source, re.S):
        if m.group(1) in FORBIDDEN:
            return f"\\{m.group(1)}"
    allowed = {"documentclass": DOCUMENT_CLASSES, "usepackage": PACKAGES, "usetikzlibrary": TIKZ_LIBRARIES}
    for m in _LOADS.finditer(source):
        form = _LOAD_FORM.match(source, m.start())
        if not form:
            return f"\\{m.group(1)} not followed by a plain {{name}}"
        for name in (n.strip() for n in form.group(1).split(",")):
            if name not in allowed[m.group(1)]:
                return f"\\{m.group(1)}{{{name}}}"
    return None
