"""Helpers the test files share: which bundled problems are numeric, and substituting definitions."""
from __future__ import annotations

import shutil

import pytest
import yaml


def is_numeric(path) -> bool:
    """A problem whose every given value is a number (symbolic problems have no finite differences)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))

    def has_null(v):
        if isinstance(v, dict):
            return any(has_null(x) for x in v.values())
        if isinstance(v, list):
            return any(has_null(x) for x in v)
        return v is None

    return not any(has_null(raw[k]) for k in ("inputs", "parameters", "targets", "data") if k in raw)


def substitute(expr, definitions: dict | None):
    """Replace intermediate names by their forward definitions until none is left."""
    if not definitions:
        return expr
    for _ in range(len(definitions) + 2):
        new = expr.xreplace(definitions)
        if new == expr:
            break
        expr = new
    return expr


def needs_pdflatex():
    """Skip the calling test where pdflatex is not installed."""
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")


def cli(*args):
    """Run the command line in-process with its arguments as text: the Click result."""
    from typer.testing import CliRunner
    from backprop_tutor.cli import app
    return CliRunner().invoke(app, [str(a) for a in args])
