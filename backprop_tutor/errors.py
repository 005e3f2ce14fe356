"""Typed errors raised deep in the library and turned into messages and exit codes by the CLI."""
from __future__ import annotations


class TutorError(Exception):
    """Base of every error the tool reports to a user; carries its exit code."""

    exit_code = 1

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.key = key

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        what = f"{self.key}: {self.message}" if self.key else self.message
        return f"{where}: {what}" if where else what


class ProblemError(TutorError):
    """A problem file that cannot be solved as written (the user's input is at fault)."""

    exit_code = 2


class OutputError(TutorError):
    """An output that could not be produced (a missing tool, a failed compilation)."""

    exit_code = 1
