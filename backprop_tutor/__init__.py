"""backprop-tutor: exact, step-by-step solutions to neural-network and backpropagation exercises.

The flow is one-way: problem file → Problem (problem.py, network.py, ask.py) → graph → engine
(engine.py: forward values, deltas, gradients, update) → steps shared by solve and derive
(steps.py, derivation.py) → the sheet's parts (answer.py, parts.py) → Solution (plain data) →
printers (render/). docs/architecture.md lists every module in that order.
"""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["load", "loads", "solve", "derive", "train", "draw", "check", "new", "template", "Limits", "TutorError", "ProblemError", "LimitError", "UsageError"]

from .errors import LimitError, ProblemError, TutorError, UsageError

# The functions below import the reader and the engine when first called, and Limits is imported
# when first named: `import backprop_tutor` (and `tutor --help`) stays light.


def __getattr__(name):
    """Limits (limits.py), imported when first named."""
    if name == "Limits":
        from .limits import Limits
        return Limits
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load(path, limits=None):
    """Read and validate a problem file (a path, or a bundled problem's bare name) into a Problem.

    limits= raises a limit, e.g. {"matrix_side": 100}.
    """
    import os
    from .bundled import find
    from .problem import load as _load
    if isinstance(path, str) and not os.path.lexists(path):
        path = find(path) or path
    return _load(path, limits)


def loads(text, filename="<string>", limits=None):
    """Validate a problem given as YAML text; limits= as for load."""
    from .problem import loads as _loads
    return _loads(text, filename, limits)


def solve(problem, verify=False, closed_forms=False, limits=None, parts=None, detail="normal", answers_only=False,
          round_each_step=None, notation=None):
    """Solve a Problem (or a path to one, read within limits=) into a Solution; parts=("c", "e")
    keeps only those parts of the file's ask: (a UsageError names the parts there are);
    answers_only=True shows only the answers table; round_each_step=N rounds every intermediate
    value half up to N decimals as by hand ("off": exact; None: the file's rounding:); notation= is
    neuron (each vector step per component), matrix or both (None: the file's notation:, else per
    neuron for layers of at most four units).

    detail= is brief (name = value), normal (formula, numbers, value; each delta and rule once) or full.
    """
    from .detail import check_detail
    from .solver import solve as _solve
    check_detail(detail)
    problem = _problem(problem, limits, "solve")
    return _solve(problem, verify=verify, closed_forms=closed_forms, parts=parts, detail=detail,
                  answers_only=answers_only, round_each_step=round_each_step, notation=notation)


def derive(problem, wrt, of="L", expand=None, limits=None, detail="normal", round_each_step=None,
           notation=None):
    """The chain rule for one name (a Problem or a path, read within limits=): a Derivation; detail=,
    round_each_step= and notation= as for solve."""
    from .derivation import derive as _derive
    from .detail import check_detail
    if not isinstance(wrt, str) or not isinstance(of, str):
        raise UsageError("derive needs the names to differentiate as text, e.g. derive(problem, \"w13\")")
    check_detail(detail)
    problem = _problem(problem, limits, "derive")
    return _derive(problem, wrt, of, expand, detail, round_each_step, notation)


def train(problem, epochs, rates=None, batch=None, seed=0, exact_steps=0, limits=None):
    """Train a problem's parameters on its data set (a Problem or a path): a Training, one run per learning
    rate, each with its loss (and accuracy) after every epoch and its final parameters; see training.train."""
    from .training import train as _train
    problem = _problem(problem, limits, "train")
    return _train(problem, epochs, rates, batch, seed, exact_steps=exact_steps, limits=limits)


def draw(problem, kind="network", gradients=False, values=False, limits=None):
    """The drawing of a problem (a Problem or a path, read within limits=): its network, or with
    kind="graph" its computational graph; gradients= and values= add the solved numbers. In Jupyter it
    shows itself as SVG (laid out by Graphviz's dot)."""
    from .drawing import draw as _draw
    problem = _problem(problem, limits, "draw")
    return _draw(problem, kind, gradients, values)


def check(problem, answers=None, pairs=(), require_all=False, limits=None):
    """Mark a student's answers to a problem (a Problem or a path): answers= an answers file's path,
    pairs= NAME=VALUE texts (or a mapping of names to value texts); a Marking, its marks right,
    wrong or missing in the solution's order, each wrong one with the slips that give it."""
    from .limits import coerce
    from .marking import check as _check
    from .studentanswers import parse_pairs, read_answers
    limits = coerce(limits)
    if isinstance(pairs, dict):
        pairs = [f"{k}={v}" for k, v in pairs.items()]
    if isinstance(pairs, str):
        pairs = [pairs]
    given = (read_answers(answers, limits) if answers is not None else ()) + parse_pairs(pairs, limits)
    return _check(_problem(problem, limits, "check"), given, require_all)


def new(layers="2,2,1", activation="relu", loss="sse", layout="Wx", seed=None, ask=False, wrt=None,
        variants=None, limits=None):
    """A fresh practice problem's YAML text (or, with variants=K, a list of K variants of one sheet) whose
    numbers a person can work by hand; the same seed gives the same text. See docs/new-problems.md."""
    from .generate import new_problem, new_variants
    if variants is not None:
        return new_variants(variants, layers, activation, loss, layout, seed, ask, wrt, limits)
    return new_problem(layers, activation, loss, layout, seed, ask, wrt, limits)


def template():
    """The text of a commented problem file to fill in with one's own sheet; it solves as written."""
    from .template import template as _template
    return _template()


def _problem(problem, limits, caller):
    """A Problem as given, or the one a path names."""
    from .problem import Problem
    if isinstance(problem, Problem):
        return problem
    if problem is None:
        raise UsageError(f"{caller} needs a Problem or a path to a problem file")
    return load(problem, limits)
