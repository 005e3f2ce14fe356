"""The problems that ship with the package: listing them and finding one by its bare name."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from msgspec import Struct

from .errors import ProblemError
from .limits import DEFAULT
from .reading import read_yaml


class Entry(Struct, frozen=True):
    """One bundled problem: its bare name, title and source."""

    name: str
    title: str
    source: str
    path: Path


def _folder():
    return files("backprop_tutor.problems")


def bundled() -> list[Entry]:
    """Every bundled problem, by name, read as every problem file is."""
    out = []
    for item in sorted(_folder().iterdir(), key=lambda p: p.name):
        if item.name.endswith(".yaml"):
            texts = read_yaml(item.read_text(encoding="utf-8"), item.name, DEFAULT).texts
            out.append(Entry(item.name[:-5], texts.get("title", ""), texts.get("source", ""), Path(str(item))))
    return out


def find(name: str) -> Path | None:
    """The bundled problem of that bare name (with or without .yaml), or None."""
    bare = name[:-5] if name.endswith(".yaml") else name
    if not bare or any(c in bare for c in "/\\\n\0"):
        return None
    candidate = _folder() / f"{bare}.yaml"
    try:
        return Path(str(candidate)) if candidate.is_file() else None
    except (OSError, ValueError):  # a name too long to be a file's
        return None


def locate(name: str) -> Path:
    """A path as given, or else the bundled problem of that name (with or without .yaml)."""
    path = Path(name)
    try:
        if path.exists() or path.is_symlink():
            return path
    except (OSError, ValueError):  # a name too long, or with a NUL byte: reading it says why
        return path
    found = find(name)
    if found is None:
        raise ProblemError("no such file, and no bundled problem of that name (tutor list shows them)",
                           file=name)
    return found
