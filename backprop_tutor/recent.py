"""The problem each folder last used, remembered in the user's state folder so that FILE can be left out."""
from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

from .errors import TutorError

APP_NAME = "backprop-tutor"
STATE_NAME = "recent.json"
MAX_FOLDERS = 200          # the most recently used folders kept
MAX_STATE_BYTES = 1 << 20  # a larger state file is not ours: read as empty
MAX_ENTRY_CHARS = 4096     # a longer folder or problem is not remembered

BUNDLED, PATH = "bundled", "path"


def state_file() -> Path:
    """Where the memory lives: recent.json in the user's state folder ($XDG_STATE_HOME on Linux)."""
    from platformdirs import user_state_path
    return user_state_path(APP_NAME) / STATE_NAME


def remembered(folder) -> tuple[str, str] | None:
    """The problem last used in folder, as (kind, text): ("path", an absolute path) or ("bundled", a name)."""
    entry = _read().get(_key(folder))
    return _remembered(entry) if entry else None


def remember(folder, problem, bundled: bool = False) -> None:
    """Remember problem (a path, made absolute, or a bundled name as given) for folder; silent on failure."""
    try:
        text = os.fspath(problem) if bundled else os.path.abspath(os.fspath(problem))
        key = _key(folder)
        if not _fits(text) or not _fits(key):
            return
        kind = BUNDLED if bundled else PATH
        entries = _read()
        if next(reversed(entries), None) == key and _remembered(entries[key]) == (kind, text):
            return  # already the newest entry: the file is left as it is (its time: when it was set)
        entries.pop(key, None)
        entries[key] = {"kind": kind, "problem": text, "time": int(time.time())}
        while len(entries) > MAX_FOLDERS:
            entries.pop(next(iter(entries)))
        _write(entries)
    except (OSError, ValueError, TypeError, TutorError):
        pass  # a memory that cannot be kept only means FILE must be given next time


def _remembered(entry: dict) -> tuple[str, str]:
    return entry["kind"], entry["problem"]


def _key(folder) -> str:
    return os.path.abspath(os.fspath(folder))


def _fits(text: str) -> bool:
    return 0 < len(text) <= MAX_ENTRY_CHARS and "\0" not in text


def _read() -> dict:
    """The remembered entries, oldest first; anything missing, unreadable, odd or hostile reads as none."""
    try:
        path = state_file()
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except (OSError, ValueError):
        return {}
    try:
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return {}
            data = f.read(MAX_STATE_BYTES + 1)
        if len(data) > MAX_STATE_BYTES:
            return {}
        raw = json.loads(data.decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    folders = raw.get("folders") if isinstance(raw, dict) else None
    if not isinstance(folders, dict):
        return {}
    out = {}
    for key, entry in folders.items():
        if (isinstance(entry, dict) and entry.get("kind") in (BUNDLED, PATH)
                and isinstance(entry.get("problem"), str) and _fits(entry["problem"]) and _fits(key)
                and (entry["kind"] == BUNDLED or os.path.isabs(entry["problem"]))):
            out[key] = {"kind": entry["kind"], "problem": entry["problem"],
                        "time": entry.get("time") if isinstance(entry.get("time"), int) else 0}
    return dict(list(out.items())[-MAX_FOLDERS:])


def _write(entries: dict) -> None:
    from .export import write_atomically
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(path, json.dumps({"version": 1, "folders": entries}, indent=1))
