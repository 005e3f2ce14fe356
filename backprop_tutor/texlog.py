"""Reading a pdflatex log: pages written, overfull and underfull boxes."""
from __future__ import annotations

import re

from msgspec import Struct

_PAGES = re.compile(r"Output written on .*?\((\d+) pages?")
_BOX = re.compile(r"^(Overfull|Underfull) \\([hv])box (.*)$", re.M)


class LogFacts(Struct, frozen=True):
    """What a log tells about the layout: pages, and each overfull/underfull box's log line."""

    pages: int
    overfull: tuple
    underfull: tuple


def read_log(log: str) -> LogFacts:
    """The pages and the box warnings of a pdflatex log (the log's lines may be wrapped at 79 characters)."""
    pages = _PAGES.search(log.replace("\n", ""))
    over, under = [], []
    for kind, axis, rest in _BOX.findall(log):
        (over if kind == "Overfull" else under).append(f"{kind} \\{axis}box {rest}")
    return LogFacts(int(pages.group(1)) if pages else 0, tuple(over), tuple(under))


__all__ = ["LogFacts", "read_log"]
