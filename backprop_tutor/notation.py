"""One naming and number scheme for every printer: file names → display names, numbers → text."""
from __future__ import annotations

import re

import sympy as sp

from .algebra import ELEMENT
from .errors import ProblemError
from .prose import check_prose
from .texsafe import UnsafeTeX, check_math, escape_text

_HAT = re.compile(r"^(.*?)_hat$")
PART = re.compile(r"^(.+)\[(\d*:?\d*(?:,\d*:?\d*)?)\]$")  # an element or a slice: x[2], x[1:3], W[2,:]


def index_text(index: str) -> str:
    """An index as a subscript writes it: 21 for 2,1 (single digits), 2,10 and 2,: and 1:3 kept apart."""
    parts = index.split(",")
    return "".join(parts) if all(len(p) == 1 and p.isdigit() for p in parts) else ",".join(parts)


def is_element(name: str) -> bool:
    """Whether a name is one element of a quantity (u1[2], W2[2,1]): a neuron's own step."""
    return ELEMENT.match(name) is not None


def display_name(name: str) -> str:
    """The name SymPy's printers should see: y_hat → yhat (printed ŷ / \\hat{y}), the rest as is."""
    m = PART.match(name)
    if m:
        return f"{display_name(m.group(1))}[{m.group(2)}]"
    if name.startswith("delta_"):
        return "delta_" + display_name(name[len("delta_"):])
    m = _HAT.match(name)
    return f"{m.group(1)}hat" if m else name


def is_exact_decimal(x) -> bool:
    """True for a rational whose decimal expansion ends (1/4, 0.09), False for 1/3."""
    if not isinstance(x, sp.Rational):
        return False
    q = int(x.q)
    for p in (2, 5):
        while q % p == 0:
            q //= p
    return q == 1


def number_text(x, digits: int = 4, exact: bool = False) -> str:
    """A number as a sheet shows it: exact fractions with --exact, else `digits` significant digits."""
    x = sp.sympify(x)
    if x.is_Integer:
        return str(int(x))
    if x.is_Rational:
        if exact:
            return f"{x.p}/{x.q}"
        if is_exact_decimal(x):
            text = _decimal(x)
            if len(text.replace("-", "").replace(".", "").lstrip("0")) <= digits:
                return text
    return _significant(_to_decimal(x), digits)


def _to_decimal(x):
    """An exact decimal for a rational (enough places to decide every tie), else the number's own digits."""
    from decimal import Decimal, localcontext
    if x.is_Rational:
        with localcontext() as ctx:
            ctx.prec = 60
            return Decimal(int(x.p)) / Decimal(int(x.q))
    return Decimal(str(sp.Float(x, 40)))


def _significant(d, digits: int) -> str:
    """d rounded half up to `digits` significant digits; fixed point unless very small or large."""
    from decimal import ROUND_HALF_UP, localcontext
    if d == 0:
        return "0"
    with localcontext() as ctx:
        ctx.prec, ctx.rounding = digits, ROUND_HALF_UP
        r = +d
    exponent = r.adjusted()
    # trailing zeros stay: 0.3160 says four digits are right, 0.316 would claim the value ends there
    if -5 <= exponent < 8:
        return format(r, "f")
    return f"{format(r.scaleb(-exponent), 'f')}e{exponent}"


def rounded(x, digits: int = 4, exact: bool = False) -> bool:
    """Whether number_text shows x only approximately."""
    x = sp.sympify(x)
    if x.is_Integer:
        return False
    if x.is_Rational:
        return not exact and number_text(x, digits) != _decimal(x) if is_exact_decimal(x) else not exact
    return True


def _decimal(x: sp.Rational) -> str:
    from decimal import Decimal, getcontext
    getcontext().prec = 60
    d = Decimal(int(x.p)) / Decimal(int(x.q))
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def shape_text(shape: tuple) -> str:
    """A shape as a sheet writes it: scalar, ℝ² (vector), ℝ²ˣ³ (matrix)."""
    sup = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
    if shape == ():
        return "scalar (ℝ)"
    if len(shape) == 1:
        return f"vector of {shape[0]} (ℝ{str(shape[0]).translate(sup)})"
    return f"{shape[0]}×{shape[1]} matrix (ℝ{str(shape[0]).translate(sup)}ˣ{str(shape[1]).translate(sup)})"


LAYERED = re.compile(r"^([A-Za-z]+)(\d+)$")  # W2: a layer's weights, W^{(2)} with an index
_SAMPLE = re.compile(r"^(.+)\^\((\d+)\)$")


def tex_name(name: str, names: dict | None = None) -> str:
    """A file name as TeX: W2 → W_{2}, w13 → w_{13}, y_hat → \\hat{y}, alpha → \\alpha,
    W2[2,1] → W^{(2)}_{21}, delta_z1 → \\delta_{z_{1}}, y^(2) → y^{(2)}; the file's latex: map wins.

    Whatever the name, the result is math that can only typeset: a latex: value is checked against
    the safe subset again here, and a name of other characters is set as escaped text."""
    names = names or {}
    latex, aliases = names.get("latex", {}), names.get("aliases", {})
    if name in latex:
        try:
            return check_math(latex[name])
        except UnsafeTeX as e:
            raise ProblemError(str(e), key=f"latex.{name}") from None
    if name in aliases:
        others = {k: v for k, v in aliases.items() if k != name}  # an alias naming itself cannot loop
        return tex_name(aliases[name], {**names, "aliases": others})
    m = _SAMPLE.match(name)
    if m:
        return superscript(tex_name(m.group(1), names), f"({m.group(2)})")
    m = PART.match(name)
    named = next((a for a, target in aliases.items() if target == name and a in latex), None)
    if m and named is not None:  # one weight the sheet names (W21 → W2[2,1]) and writes its own way
        return tex_name(named, names)
    if m:
        base, index = m.group(1), index_text(m.group(2))
        if base.startswith("delta_"):  # δ of one element, named as the element is: \delta_{z^{(1)}_{1}}
            return f"\\delta_{{{tex_name(f'{base[6:]}[{m.group(2)}]', names)}}}"
        layered = LAYERED.match(base)
        if layered and base not in latex:
            return f"{layered.group(1)}^{{({layered.group(2)})}}_{{{index}}}"
        return subscript(tex_name(base, names), index)
    if name.startswith("delta_") and name[6:].isdigit():  # a neuron's δ: \delta_{5}
        return f"\\delta_{{{name[6:]}}}"
    if name.startswith("delta_"):
        return f"\\delta_{{{tex_name(name[6:], names)}}}"
    if not _TIDY.match(name):
        return plain_tex_name(name)
    from sympy.printing.latex import latex as sympy_latex
    # SymPy spells a trailing "scr" as \mathscr, which needs a package the documents do not load.
    tex = sympy_latex(sp.Symbol(display_name(name))).replace("\\mathscr{", "\\mathcal{")
    return _WORD_SUBSCRIPT.sub(r"_{\\mathrm{\1}}", tex)  # Z_in → Z_{\mathrm{in}}: a word is upright


_WORD_SUBSCRIPT = re.compile(r"_\{([A-Za-z]{2,})\}")
_LAST_SUBSCRIPT = re.compile(r"^(.*)_\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}$")


def subscript(base: str, index: str) -> str:
    r"""base_{index} as TeX allows it: Z_{\mathrm{in}} and 1 → Z_{\mathrm{in},1}, W^{(2)} and 21 → W^{(2)}_{21}."""
    if "_" not in base:
        return f"{base}_{{{index}}}"
    m = _LAST_SUBSCRIPT.match(base)
    if m and "^" not in m.group(2) and _balanced(m.group(1)):
        return f"{m.group(1)}_{{{m.group(2)},{index}}}"
    return f"{{{base}}}_{{{index}}}"


def superscript(base: str, sup: str) -> str:
    """base^{sup}, stacked over a subscript (x_i^{(k)}) where base has no superscript yet."""
    return f"{base}^{{{sup}}}" if "^" not in base else f"{{{base}}}^{{{sup}}}"


def _balanced(tex: str) -> bool:
    depth = 0
    for ch in tex:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


_TIDY = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*$")


def plain_tex_name(name: str) -> str:
    """A name SymPy would not spell well (x__1, _b) or that is not a plain name at all, set upright:
    letters, digits and _ in \\mathrm, anything else as escaped text."""
    if re.fullmatch(r"[A-Za-z0-9_]+", name):
        return "\\mathrm{" + name.replace("_", "\\_") + "}"
    return "\\text{" + escape_text(name) + "}"


def shows_rounded(value, digits: int = 4, exact: bool = False) -> bool:
    """Whether number_text shows a value (number or matrix) only approximately."""
    if value is None:
        return False
    if isinstance(value, sp.MatrixBase):
        return any(shows_rounded(v, digits, exact) for v in value)
    value = sp.sympify(value)
    if value.free_symbols or not value.is_number:
        return False
    if value.is_Rational or value.is_Float:
        return rounded(value, digits, exact)
    return not exact


def tex_number(x, digits: int = 4, exact: bool = False) -> str:
    """A number for math mode: \\tfrac{p}{q} for an exact fraction, a·10^{k} for large or small ones."""
    x = sp.sympify(x)
    if exact and x.is_Rational and not x.is_Integer:
        sign = "-" if x < 0 else ""
        return f"{sign}\\tfrac{{{abs(x.p)}}}{{{x.q}}}"
    text = number_text(x, digits, exact)
    m = re.match(r"^(-?[\d.]+)e([+-]?)0*(\d+)$", text)
    if m:
        sign = "-" if m.group(2) == "-" else ""
        text = f"{m.group(1)}\\cdot 10^{{{sign}{m.group(3)}}}"
    return text


def function_tex(name: str, names: dict | None) -> str | None:
    """How the file's notation: block writes a function (relu → ReL), checked against the safe subset
    again here as tex_name checks a name; None where the block says nothing of it."""
    functions = (names or {}).get("functions", {})
    if name not in functions:
        return None
    try:
        return check_math(functions[name])
    except UnsafeTeX as e:
        raise ProblemError(str(e), key=f"notation.activations.{name}") from None


_COMMAND_FUNCTIONS = {"sigmoid": "sigma", "tanh": "tanh", "exp": "exp", "log": "log", "cosh": "cosh", "sinh": "sinh"}


def sheet_rule(rule: str, names: dict | None) -> str:
    """A rule's text (prose with $…$ math) in the sheet's notation: its functions as the file's
    notation: block writes them, ∂L as ∂E; the rule as it is where the result would not be safe math."""
    names = names or {}
    functions, loss = names.get("functions", {}), names.get("sheet", {}).get("L")
    out = rule
    for name, tex in functions.items():
        out = out.replace(f"\\operatorname{{{name}}}", "{" + tex + "}")
        if name in _COMMAND_FUNCTIONS:
            out = re.sub(rf"\\{_COMMAND_FUNCTIONS[name]}(?![A-Za-z])", lambda _: "{" + tex + "}", out)
    if loss:
        out = re.sub(r"\\partial L(?![A-Za-z])", lambda _: "\\partial {" + loss + "}", out)
    if out == rule:
        return rule
    try:
        return check_prose(out)
    except UnsafeTeX:  # a long sheet symbol can make the math pass its length limit
        return rule
