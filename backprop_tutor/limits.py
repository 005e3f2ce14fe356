"""The documented size limits on a problem file: their defaults, their meaning, NAME=VALUE settings."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from msgspec import Struct
from msgspec.structs import replace

from .errors import UsageError


class Limits(Struct, frozen=True):
    """How large a problem file may be, limit by limit; raise one with --limit NAME=N or limits={NAME: N}."""

    file_bytes: int = 131_072        # the size of the file
    yaml_depth: int = 12             # lists and mappings inside each other
    expression_chars: int = 300      # the length of one expression
    expression_depth: int = 32       # parentheses, calls and operators inside each other
    number_digits: int = 50          # digits of one number
    number_exponent: int = 100       # n in 1.5e±n
    power: int = 100                 # a number as the exponent of **: at most this in size
    power_tower: int = 2             # ** inside the exponent of **: a ** b ** c stacks 2
    keyword_value: int = 32          # a keyword's whole number in a call: conv1d(x, k, stride=2)
    layer_products: int = 4_000      # the multiply-adds of one layer (a convolution, a pooling, a norm)
    matrix_side: int = 32            # rows or columns of a matrix, entries of a vector
    matrix_elements: int = 1_024     # entries of one matrix
    values: int = 1_536              # the entries of every given value and data sample together
    nodes: int = 120                 # inputs, parameters, targets and forward lines, each sample's copy counted
    samples: int = 20                # samples under data:, rows of a truth table
    parts: int = 50                  # parts of ask:, names asked about in one part
    dataset_rows: int = 10_000       # samples of a data set (rows of its CSV file, n of a generator)
    dataset_bytes: int = 1_048_576   # the size of a data set's CSV file
    grid_side: int = 1000            # points along each side of a decision-boundary grid
    relu_pieces: int = 10            # ReLUs whose on/off patterns a decision boundary enumerates
    answers: int = 200               # answers in one answers file (or --answer pairs), names in one part's answers
    answer_chars: int = 100          # the length of one name in an answers file
    new_layers: int = 6              # layers (input and output counted) of a network tutor new makes
    new_units: int = 8               # units in one layer of a network tutor new makes
    variants: int = 200              # sheet variants one tutor new --variants writes
    recurrent_steps: int = 20        # time steps a recurrent: block unrolls

    def message(self, name: str, what: str) -> str:
        """`what`, then the limit it passes and how to raise it."""
        return f"{what} (the limit is {getattr(self, name)}; raise it with --limit {name}=N)"


DEFAULT = Limits()

# The most decimals a chain rounded at each step may keep (rounding: {each_step: N}, --round-each-step N).
ROUND_DECIMALS = 12

# Python's own recursion bounds how deep the reader and the engine may go, whatever the setting.
CEILINGS = {"yaml_depth": 100, "expression_depth": 100}


def names() -> tuple[str, ...]:
    """The name of every limit."""
    return Limits.__struct_fields__  # msgspec's field names, in order; its fields() would evaluate the annotations


def setting(text: str) -> tuple[str, int]:
    """One NAME=VALUE setting, checked: the limit's name and its new value."""
    name, sep, value = str(text).partition("=")
    name = name.strip().replace("-", "_")
    if not sep or name not in names():
        raise UsageError(f"--limit takes NAME=N, NAME one of {', '.join(names())}; not {text!r}")
    value = value.strip().replace("_", "")
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise UsageError(f"--limit {name}= needs a whole number, not {value!r}")
    return name, _checked(name, int(value))


def from_settings(settings: Iterable[str], base: Limits = DEFAULT) -> Limits:
    """The limits after NAME=VALUE settings such as --limit matrix_side=100 (the last one of a name wins)."""
    return replace(base, **dict(setting(s) for s in settings))


def coerce(limits) -> Limits:
    """A limits= argument of the Python API: None (the defaults), a Limits, or a mapping of names to numbers."""
    if limits is None:
        return DEFAULT
    if isinstance(limits, Limits):
        items = {name: getattr(limits, name) for name in names()}
    elif isinstance(limits, Mapping):
        items = dict(limits)
    else:
        raise UsageError("limits= takes a Limits or a mapping such as {'matrix_side': 100}, "
                         f"not {type(limits).__name__}")
    for name, value in items.items():
        if name not in names():
            raise UsageError(f"limits= knows no limit {name!r} (known: {', '.join(names())})")
        if not isinstance(value, int) or isinstance(value, bool):
            raise UsageError(f"limits= needs a whole number for {name}, not {value!r}")
        _checked(name, value)
    return replace(DEFAULT, **items)


def _checked(name: str, value: int) -> int:
    if value < 1:
        raise UsageError(f"the limit {name} must be at least 1, not {value}")
    ceiling = CEILINGS.get(name)
    if ceiling is not None and value > ceiling:
        raise UsageError(f"the limit {name} can be at most {ceiling} (deeper nesting exceeds Python's stack)")
    return value
