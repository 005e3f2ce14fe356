"""Terminal output whose lines never end in spaces: Rich pads tables, rules and grids to their width."""
from __future__ import annotations

import re
import sys

from rich.text import Text

_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
_BLANK_RUN = r"(?:[ \t]|\x1b\[[0-9;]*m)+"
_BEFORE_NEWLINE = re.compile(_BLANK_RUN + r"(?=\n)")
_AT_END = re.compile(_BLANK_RUN + r"\Z")


class TrimmedLines:
    """A text stream that passes everything on to `file` except the spaces at the end of each line.

    Colour codes among those spaces are kept (a style must still be switched off). Spaces at the end
    of one write are held back until the next shows whether a newline follows; flush() lets them go.
    """

    def __init__(self, file):
        self.file = file
        self.held = ""

    def write(self, text: str) -> int:
        """Write text less its trailing spaces; returns the length given, as a stream does."""
        whole = _BEFORE_NEWLINE.sub(_codes_only, self.held + text)
        self.held = ""
        tail = _AT_END.search(whole)
        if tail and re.search(r"[ \t]", tail.group()):
            self.held, whole = tail.group(), whole[:tail.start()]
        if whole:
            self.file.write(whole)
        return len(text)

    def flush(self) -> None:
        """Let held spaces go (a print that ended without a newline), then flush the file."""
        if self.held:
            held, self.held = self.held, ""
            self.file.write(held)
        self.file.flush()

    def __getattr__(self, name):  # isatty, fileno, encoding…: the file's own
        return getattr(self.file, name)


def _codes_only(match) -> str:
    return "".join(_ESCAPE.findall(match.group()))


def trimmed(file=None) -> TrimmedLines:
    """Standard output (or file) with the spaces at line ends dropped, for a Rich Console(file=…)."""
    return TrimmedLines(file if file is not None else sys.stdout)


def literal(*cells) -> list:
    """Table cells shown exactly as written: each string as Rich Text, so that no [markup] or :emoji: code in
    a name or in a file's label is read as one (Rich reads both in a plain string); anything else as it is."""
    return [Text(c) if isinstance(c, str) else c for c in cells]
