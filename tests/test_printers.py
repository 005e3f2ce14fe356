"""Every printer has a rule for every kind of step the solution model holds."""
import msgspec

import pytest

from backprop_tutor import solution
from backprop_tutor.render.html import HtmlDocument
from backprop_tutor.render.latex import LatexDocument
from backprop_tutor.render.markdown import MarkdownDocument
from backprop_tutor.render.printer import Printer
from backprop_tutor.render.terminal import TerminalPrinter

# The model's containers and parts of steps; everything else in solution.py is a step.
NOT_STEPS = {"Solution", "Derivation", "Section", "Check", "TruthRow", "Piece", "Printable", "Result", "Off"}
STEPS = [cls for name, cls in vars(solution).items()
         if isinstance(cls, type) and issubclass(cls, msgspec.Struct)
         and cls.__module__ == solution.__name__ and name not in NOT_STEPS]


def test_the_model_has_the_step_kinds_the_printers_know():
    assert {cls.__name__ for cls in STEPS} >= {
        "Given", "Forward", "LossValue", "Delta", "Gradient", "Update", "ChainRule",
        "LocalDerivative", "WholeDerivative", "TruthTable", "LinearPieces", "GraphStructure", "Dimensions"}


@pytest.mark.parametrize("printer", [TerminalPrinter, LatexDocument, MarkdownDocument, HtmlDocument],
                         ids=lambda p: p.__name__)
@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.__name__)
def test_every_printer_prints_every_step(printer, step):
    assert callable(getattr(printer, f"_print_{step.__name__}", None)), \
        f"{printer.__name__} has no _print_{step.__name__}"


def test_an_unknown_step_is_refused_loudly():
    class Strange(msgspec.Struct, frozen=True):
        pass

    with pytest.raises(NotImplementedError, match="Strange"):
        TerminalPrinter().print_step(Strange())
    with pytest.raises(NotImplementedError):
        Printer().print_step(Strange())
    with pytest.raises(NotImplementedError, match="HTML printer has no rule for Strange"):
        HtmlDocument().print_step(Strange())
