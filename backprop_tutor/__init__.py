"""backprop-tutor: exact, step-by-step solutions to neural-network and backpropagation exercises."""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["load", "loads", "solve", "derive", "TutorError", "ProblemError"]

from .errors import ProblemError, TutorError


def load(path):
    """Read and validate a problem file into a Problem."""
    from .problem import load as _load
    return _load(path)


def loads(text, filename="<string>"):
    """Validate a problem given as YAML text."""
    from .problem import loads as _loads
    return _loads(text, filename)


def solve(problem, verify=False, closed_forms=False):
    """Solve a Problem (or a path to one) into a Solution."""
    from .solver import solve as _solve
    if not hasattr(problem, "forward"):
        problem = load(problem)
    return _solve(problem, verify=verify, closed_forms=closed_forms)


def derive(problem, wrt, of="L", expand=None):
    """The chain rule for one name (a Problem or a path): a Derivation."""
    from .derivation import derive as _derive
    if not hasattr(problem, "forward"):
        problem = load(problem)
    return _derive(problem, wrt, of, expand)
