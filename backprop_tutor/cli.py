"""The `tutor` command: parse arguments, call the library, print, map errors to exit codes."""
from __future__ import annotations

import sys
from pathlib import Path

import typer

from .errors import TutorError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Exact, step-by-step solutions to neural-network exercise sheets.")

FILE = typer.Argument(..., help="A problem file (YAML).", show_default=False)
DIGITS = typer.Option(4, "--digits", min=1, max=30, help="Significant digits shown.")
EXACT = typer.Option(False, "--exact", help="Show fractions and closed forms instead of decimals.")
NO_COLOR = typer.Option(False, "--no-color", help="Plain text without colours.")


@app.callback()
def _main():
    """Exact, step-by-step solutions to neural-network exercise sheets."""


def _fail(error: TutorError):
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(error.exit_code)


def _console(no_color: bool):
    from rich.console import Console
    return Console(no_color=no_color, highlight=False)


@app.command()
def solve(file: Path = FILE, digits: int = DIGITS, exact: bool = EXACT,
          json: bool = typer.Option(False, "--json", help="Print the JSON object instead."),
          verify: bool = typer.Option(False, "--verify", help="Check every gradient by a central finite difference."),
          no_color: bool = NO_COLOR):
    """Solve a problem: forward pass, loss, deltas, gradients, update, loss after."""
    from . import load
    from .solve import solve as solve_problem
    try:
        solution = solve_problem(load(file), verify=verify)
    except TutorError as e:
        _fail(e)
    if json:
        from .render.jsonout import dumps
        typer.echo(dumps(solution))
        return
    from .render.terminal import print_solution
    print_solution(solution, _console(no_color), digits, exact)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
