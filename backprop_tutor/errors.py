"""Typed errors raised deep in the library and turned into messages and exit codes by the CLI.

Exit codes (documented in the README): 0 success; 1 the answers checked are wrong; 2 bad input
or usage; 3 an external program (LaTeX, Graphviz) failed; 70 an internal error.
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_WRONG_ANSWERS = 1
EXIT_BAD_INPUT = 2
EXIT_EXTERNAL = 3
EXIT_INTERNAL = 70


class TutorError(Exception):
    """Base of every error the tool reports to a user; carries its exit code."""

    exit_code = EXIT_BAD_INPUT

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

    exit_code = EXIT_BAD_INPUT


class LimitError(ProblemError):
    """An input beyond one of the documented size limits (file, nesting, digits, matrix size…)."""


class UsageError(TutorError):
    """Arguments that cannot be carried out: a bad output path, a wrong extension, API misuse."""

    exit_code = EXIT_BAD_INPUT


class OutputError(TutorError):
    """An output that could not be written (a full disk, a folder without write permission)."""

    exit_code = EXIT_BAD_INPUT


class ExternalError(TutorError):
    """An external program (LaTeX, Graphviz) that is missing, failed or ran out of time."""

    exit_code = EXIT_EXTERNAL
