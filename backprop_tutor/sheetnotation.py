"""The notation: block of a problem file: the sheet's symbols for the loss, functions and names."""
from __future__ import annotations

import re

from msgspec import Struct

from .expr import did_you_mean, shorten
from .ops import ELEMENTWISE
from .reading import printable
from .texsafe import UnsafeTeX, check_math

KEYS = ("loss", "activations", "names", "delta", "form")
DELTAS = ("output", "input")
FORMS = ("neuron", "matrix", "both")
_NAME_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[\d+(,\d+)?\])?")


class Notation(Struct, frozen=True):
    """How the sheet writes things, as LaTeX math from the safe subset; None or () where it says nothing."""

    loss: str | None = None           # the loss symbol (E, \mathcal{L}); printers default to L
    activations: tuple = ()           # (function, math) pairs: relu → ReL, sigmoid → \sigma
    names: tuple = ()                 # (name, math) pairs: Z_in → Z_{\mathrm{in}}, W1 → W^{(1)}
    delta: str | None = None          # the delta convention: "output" or "input"; stored only
    form: str | None = None           # neuron, matrix or both: how vector steps are written; None: by size

    def function_map(self) -> dict:
        """Function name → how the sheet writes it."""
        return dict(self.activations)

    def name_map(self) -> dict:
        """File name (or one element, W2[2,1]) → how the sheet writes it."""
        return dict(self.names)


def read_notation(reader, known: set) -> Notation:
    """The file's notation: block checked key by key; `reader` is problem.py's builder (its err and
    limits), `known` the names the file defines (an entry of names: must be one of them)."""
    raw = reader.d.get("notation")
    if raw is None:
        return Notation()
    if not isinstance(raw, dict):
        raise reader.err("must be a mapping with loss, activations, names, delta or form", "notation")
    for k in raw:
        if k not in KEYS:
            hint = did_you_mean(str(k), KEYS) or f" (known: {', '.join(KEYS)})"
            raise reader.err("unknown key" + hint, f"notation.{k}")
    loss = _math(reader, raw["loss"], "notation.loss") if raw.get("loss") is not None else None
    activations = _pairs(reader, raw.get("activations"), "activations", _check_function)
    names = _pairs(reader, raw.get("names"), "names", lambda k: _check_name(k, known))
    delta = raw.get("delta")
    if delta is not None and delta not in DELTAS:
        raise reader.err(f"{shorten(printable(str(delta)))!r} is not a delta convention: write output "
                         "(δ = ∂L/∂ of a unit's output) or input (δ = ∂L/∂ of its net input)", "notation.delta")
    form = raw.get("form")
    if form is not None and form not in FORMS:
        hint = did_you_mean(str(form), FORMS) or f" (known: {', '.join(FORMS)})"
        raise reader.err(f"{shorten(printable(str(form)))!r} is not a notation form" + hint, "notation.form")
    return Notation(loss, activations, names, delta, form)


def _math(reader, value, key) -> str:
    try:
        return check_math(value)
    except UnsafeTeX as e:
        raise reader.err(str(e), key) from None


def _pairs(reader, raw, what, check) -> tuple:
    """A mapping of keys (each passed to check, which gives a problem as text or None) to safe math."""
    if raw is None:
        return ()
    key = f"notation.{what}"
    if not isinstance(raw, dict):
        raise reader.err(f"must map {'functions' if what == 'activations' else 'names'} to LaTeX math, "
                         + ("e.g. relu: ReL" if what == "activations" else "e.g. Z_in: Z_{\\mathrm{in}}"), key)
    reader.count("nodes", len(raw), f"entries in {key}", key)
    out = []
    for k, v in raw.items():
        problem = check(k) if isinstance(k, str) else "is not a name"
        if problem:
            raise reader.err(f"{shorten(printable(str(k)))!r} {problem}", key)
        out.append((k, _math(reader, v, f"{key}.{k}")))
    return tuple(out)


def _check_function(name: str) -> str | None:
    if name in ELEMENTWISE:
        return None
    return "is not a function" + (did_you_mean(name, tuple(ELEMENTWISE)) or f" (known: {', '.join(ELEMENTWISE)})")


def _check_name(key: str, known: set) -> str | None:
    m = _NAME_KEY.fullmatch(key)
    if not m:
        return "is not a name (or one weight such as W2[2,1])"
    if m.group(1) not in known:
        return "is not a name of this file" + (did_you_mean(m.group(1), tuple(sorted(known))) or "")
    return None
