"""What each ask part answers, for programs: its values by kind and name, and which of them it asks for."""
from __future__ import annotations

from msgspec import Struct
import sympy as sp

from .solution import Delta, Forward, Given, Gradient, LossValue, Section, TruthTable, Update, WholeDerivative


class Answer(Struct, frozen=True):
    """What one part of the sheet shows, by kind and name, and which of it is the part's answer.

    `shown` maps a kind (values, loss, deltas, gradients, updated, loss_after, ...) to
    {name: (value, shape)}, or for loss and loss_after straight to (value, shape); `main` lists
    the (kind, name) pairs that are the answer, name None for loss and loss_after.
    """

    part: str
    title: str
    shown: dict
    main: tuple
    after_updating: tuple = ()


SCALAR_KINDS = ("loss", "loss_after")
MAIN = {"forward": "values", "loss": "loss", "backward": "deltas", "gradients": "gradients",
        "update": "updated", "loss_after_update": "loss_after", "given": "given"}


def part_answers(secs: list[Section]) -> tuple[Answer, ...]:
    """One Answer per part label, built from the very steps its sections show."""
    labels = list(dict.fromkeys(sec.part for sec in secs if sec.part is not None))
    return tuple(_answer(label, [sec for sec in secs if sec.part == label]) for label in labels)


def _answer(label: str, secs: list[Section]) -> Answer:
    shown: dict = {}
    main: list = []
    titles: list = []
    after: tuple = ()
    requests = list(dict.fromkeys(sec.request for sec in secs))
    for request in requests:
        mine = [sec for sec in secs if sec.request == request]
        found: dict = {}
        for sec in mine:
            after = _collect(sec, found) or after
        for kind, entries in found.items():
            if kind in SCALAR_KINDS:
                shown[kind] = entries
            else:
                shown.setdefault(kind, {}).update(entries)
        main += [m for m in _main(request, found) if m not in main]
        titles.append(_title(request, mine))
    return Answer(label, "; ".join(dict.fromkeys(titles)), shown, tuple(main), after)


def _collect(sec: Section, found: dict) -> tuple:
    """Each step's value under its kind and name; returns the weights an after-update loss used."""
    after_update = any(isinstance(s, LossValue) and s.before is not None for s in sec.steps)
    updated = ()
    for s in sec.steps:
        if isinstance(s, Given):
            found.setdefault("given", {})[s.name] = (s.value, s.shape)
        elif isinstance(s, Forward):
            found.setdefault("values_after" if after_update else "values", {})[s.name] = (s.value, s.shape)
        elif isinstance(s, LossValue):
            if s.before is None:
                found["loss"] = (s.value, ())
            else:
                found["loss"], found["loss_after"], updated = (s.before, ()), (s.value, ()), s.updated
        elif isinstance(s, (Delta, Gradient)):
            kind = "deltas" if isinstance(s, Delta) else "gradients"
            name = getattr(s, "label", None) or s.name
            if s.of != "L":  # a derive part's `of:`: the name says what is differentiated
                name = f"d{s.of}/d{name}"
            found.setdefault(kind, {})[name] = (s.value, s.shape)
        elif isinstance(s, Update):
            name = s.shown_name
            found.setdefault("updated", {})[name] = (s.new, s.shape)
        elif isinstance(s, WholeDerivative):
            name = s.wrt if s.of == "L" else f"d{s.of}/d{s.wrt}"
            found.setdefault("derivatives", {})[name] = (s.value, _shape(s.value))
        elif isinstance(s, TruthTable):
            table = found.setdefault("truth_table", {})
            n = len(s.rows)
            table["outputs"] = (sp.ImmutableMatrix([r.output for r in s.rows]), (n,))
            table["decisions"] = (sp.ImmutableMatrix([r.decision for r in s.rows]), (n,))
            if s.all_match is not None:
                table["expected"] = (sp.ImmutableMatrix([r.expected for r in s.rows]), (n,))
    return updated


def _main(request: tuple, found: dict) -> list:
    """The (kind, name) pairs that answer a request: what it asked for, not the steps on the way."""
    kind, what = request[0], request[1:]
    if kind == "show":
        kind = MAIN.get(what[0])
    elif kind == "gradient":
        kind = "gradients"
    elif kind == "update":
        kind = "updated"
    elif kind == "derive":
        kind = "derivatives"
    elif kind == "truth_table":
        return [("truth_table", "decisions")] if "truth_table" in found else []
    else:
        return []
    if kind is None or kind not in found:
        return []
    return [(kind, None)] if kind in SCALAR_KINDS else [(kind, name) for name in found[kind]]


def _title(request: tuple, secs: list[Section]) -> str:
    if request and request[0] == "derive":
        return "Derivation " + ", ".join(sec.title.rsplit(": ", 1)[-1] for sec in secs
                                         if any(isinstance(s, WholeDerivative) for s in sec.steps))
    return secs[0].title


def _shape(value) -> tuple:
    if not isinstance(value, sp.MatrixBase):
        return ()
    return (value.rows,) if value.cols == 1 else value.shape
