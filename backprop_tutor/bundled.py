"""The problems that ship with the package: listing them and finding one by its bare name."""
from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from .errors import ProblemError


@dataclass(frozen=True)
class Entry:
    """One bundled problem: its bare name, title and source."""

    name: str
    title: str
    source: str
    path: Path


def _folder():
    return files("backprop_tutor.problems")


def bundled() -> list[Entry]:
    """Every bundled problem, by name."""
    import yaml
    out = []
    for item in sorted(_folder().iterdir(), key=lambda p: p.name):
        if item.name.endswith(".yaml"):
            head = yaml.safe_load(item.read_text(encoding="utf-8")) or {}
            out.append(Entry(item.name[:-5], str(head.get("title", "")), str(head.get("source", "")),
                             Path(str(item))))
    return out


def locate(name: str) -> Path:
    """A path as given, or else the bundled problem of that name (with or without .yaml)."""
    path = Path(name)
    if path.exists():
        return path
    bare = name[:-5] if name.endswith(".yaml") else name
    if "/" not in bare and "\\" not in bare:
        candidate = _folder() / f"{bare}.yaml"
        if candidate.is_file():
            return Path(str(candidate))
    raise ProblemError("no such file, and no bundled problem of that name (tutor list shows them)",
                       file=name)
