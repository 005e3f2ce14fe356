"""Base printer: one `_print_<StepClass>` method per step type, and a loud failure for any other."""
from __future__ import annotations


class Printer:
    """Dispatches each step of a Solution to the method named after the step's class."""

    format_name = "base"

    def __init__(self, digits: int = 4, exact: bool = False):
        self.digits = digits
        self.exact = exact

    def print_step(self, step):
        """Format one step."""
        method = getattr(self, f"_print_{type(step).__name__}", None)
        if method is None:
            raise NotImplementedError(f"the {self.format_name} printer has no rule for {type(step).__name__}")
        return method(step)
