"""The `tutor` command: parse arguments, call the library, print, map errors to exit codes."""
# (Annotations here are evaluated when defined, not postponed: typer reads every option's annotation on each
# run, and would otherwise compile and evaluate each one from its text.)

import errno
import gc
import os
import sys
from pathlib import Path

import typer
from typer.core import TyperCommand, TyperGroup

from .errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_WRONG_ANSWERS, TutorError, UsageError
from .plainargs import take_plain_values

REPORT = "please report it with the output of the same command run with --debug"


class _Commands(TyperGroup):
    """Every command's errors become one line and an exit code; a traceback only with --debug. Plain
    values on the command line are taken as typed (plainargs.py), without importing pydantic."""

    def parse_args(self, ctx, args):
        take_plain_values(self.get_params(ctx))
        return super().parse_args(ctx, args)

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is not None:
            take_plain_values(command.get_params(ctx))
        return command

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.TyperException, typer.Abort, KeyboardInterrupt):
            raise
        except TutorError as e:
            _fail(e)
        except OSError as e:
            if e.filename is None:  # writing to standard output failed: main() says so
                raise
            _internal(ctx, e)
        except Exception as e:
            _internal(ctx, e)


def _internal(ctx, e: Exception):
    """An error of ours, not of the input: one line asking for a report, the traceback with --debug."""
    if (ctx.obj or {}).get("debug"):
        raise e
    typer.echo(f"error: internal error ({type(e).__name__}); {REPORT}", err=True)
    raise typer.Exit(EXIT_INTERNAL)


app = typer.Typer(cls=_Commands, add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="Exact, step-by-step solutions to neural-network exercise sheets.")

FILE = typer.Argument(None, metavar="FILE", show_default=False, hidden=True)  # described in ABOUT_FILE
ABOUT_FILE = ("FILE is a problem file (YAML) or the name of a bundled problem (see tutor list); "
              "left out, the problem last used in this folder.")
DIGITS = typer.Option(4, "--digits", min=1, max=30, metavar="N", help="Significant digits shown.")
EXACT = typer.Option(False, "--exact", help="Show exact fractions, and short closed forms such as σ(6/5).")
NO_COLOR = typer.Option(False, "--no-color", help="Plain text without colours.")
FULL = typer.Option(False, "--full", help="Every entry of a large matrix (else its first and last rows and "
                                          "columns, as numpy prints a large array).")
DETAIL = typer.Option("normal", "--detail", metavar="brief|normal|full",
                      help="How much each step shows: brief (name = value), normal (formula, numbers, value; "
                           "each delta and rule once) or full (every line, each time).")
COMMENTS = typer.Option(False, "--comments", help="Also show the file's comment (notes for whoever maintains it).")
ROUND = typer.Option(None, "--round-each-step", metavar="N|off",
                     help="Round every intermediate value half up to N decimals, as by hand (off: exact; "
                          "default: the file's rounding:).")
PART = typer.Option(None, "--part", metavar="LABEL",
                    help="Only this part of the sheet's ask: (repeatable: --part c --part d).")
ANSWERS = typer.Option(False, "--answers", help="Only the table of the asked values.")
NOTATION = typer.Option(None, "--notation", metavar="neuron|matrix|both", show_default=False,
                        help="Vector steps per neuron (each sum with its indices), in matrix form, or both "
                             "(default: the file's notation: form, else per neuron for layers of at most 4 units).")


def _show_version(value: bool):
    """--version: the tool's version, then stop."""
    if value:
        from . import __version__
        typer.echo(f"tutor (backprop-tutor) {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(ctx: typer.Context,
          debug: bool = typer.Option(False, "--debug", help="Show the traceback of an internal error."),
          version: bool = typer.Option(False, "--version", is_eager=True, callback=_show_version,
                                       help="Print the version and exit."),
          limit: list[str] = typer.Option(None, "--limit", metavar="NAME=N",
                                          help="Raise (or lower) one limit on the problem file, e.g. "
                                               "--limit matrix_side=100; repeatable. Names: see the guide.")):
    """Exact, step-by-step solutions to neural-network exercise sheets.

    Exit status: 0 success, 2 bad input or usage, 3 an external program (LaTeX) failed,
    70 an internal error.
    """
    from .limits import from_settings
    ctx.obj = {"debug": debug, "limits": from_settings(limit or ())}


def _fail(error: TutorError):
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(error.exit_code)


class _Source:
    """The problem a command works on: its path, and the name it was given by if it is a bundled one."""

    def __init__(self, path, bundled_name: str | None = None, announce: str | None = None):
        self.path, self.bundled_name, self.announce = path, bundled_name, announce


def _source(file: str | None) -> _Source:
    """FILE as given (a path, or a bundled problem's bare name); left out, the problem last used here."""
    from .bundled import find, locate
    if file is not None:
        path = locate(file)
        return _Source(path, None if path == Path(file) else file)
    from .recent import BUNDLED, remembered
    folder = _here()
    found = remembered(folder) if folder else None
    if found is None:
        raise UsageError("no problem file given, and none was used in this folder before: give FILE, "
                         "a path or a bundled name from tutor list (e.g. tutor solve sheet12_p2)")
    kind, text = found
    shown = _printable(text if kind == BUNDLED else _relative(text, folder))
    if kind == BUNDLED:
        path = find(text)
        if path is None:
            raise UsageError(f"the bundled problem last used in this folder, {shown}, is no longer bundled; "
                             "give FILE (tutor list shows the bundled ones)")
    else:
        path = Path(text)
        if not os.path.lexists(text):
            raise UsageError("the problem file last used in this folder no longer exists; "
                             "give FILE, a path or a bundled name from tutor list", file=shown)
    return _Source(path, text if kind == BUNDLED else None, f"using {shown}")


def _problem(ctx: typer.Context, source: _Source, no_color: bool = False, as_solved: bool = True):
    """The problem a source names, read within the limits given on the command line; then remembered here.
    as_solved: a data set's first batch, as solve works it (see datasets.solvable)."""
    from . import load
    from .datasets import solvable
    from .recent import remember
    limits = (ctx.obj or {}).get("limits")
    problem = load(source.path, limits)
    if as_solved:
        problem = solvable(problem, limits)
    if source.announce:  # only once it loaded: a file that does not load is named by its error
        typer.secho(source.announce, err=True, dim=True, color=False if no_color else None)
    folder = _here()
    if folder:
        remember(folder, source.bundled_name or source.path, bundled=source.bundled_name is not None)
    return problem


def _here() -> str | None:
    """The current folder, or None if it has gone (deleted while we stand in it)."""
    try:
        return os.getcwd()
    except OSError:
        return None


def _relative(path: str, folder: str) -> str:
    """A path relative to folder when it lies inside it, else as it is."""
    try:
        inside = os.path.commonpath([os.path.abspath(path), folder]) == folder
    except ValueError:
        return path
    return os.path.relpath(path, folder) if inside else path


def _printable(text: str) -> str:
    """Text safe to show on a terminal: control characters (and undecodable bytes) as ?."""
    return "".join(c if c.isprintable() and not 0xDC80 <= ord(c) <= 0xDCFF else "?" for c in text)


def _console(no_color: bool):
    """The terminal, or the pipe, as a Rich console: no line of it ends in spaces."""
    from rich.console import Console
    from .render.console import trimmed

    class ReaderLeft(Console):
        """A console that ends quietly with status 0 when the reader of a pipe leaves (| head)."""

        def on_broken_pipe(self):
            _silence_stdout()
            raise typer.Exit(EXIT_OK)

    return ReaderLeft(file=trimmed(), no_color=no_color, highlight=False, markup=False, emoji=False)


@app.command(short_help="Forward pass, loss, deltas, gradients, update, loss after.",
             help="Solve a problem: forward pass, loss, deltas, gradients, update, loss after.\n\n" + ABOUT_FILE)
def solve(ctx: typer.Context, file: str = FILE, digits: int = DIGITS, exact: bool = EXACT,
          json: bool = typer.Option(False, "--json", help="Print the JSON object instead."),
          verify: bool = typer.Option(False, "--verify", help="Check every gradient by a central finite difference."),
          comments: bool = COMMENTS, no_color: bool = NO_COLOR, part: list[str] = PART, detail: str = DETAIL,
          round_each_step: str = ROUND, answers: bool = typer.Option(False, "--answers",
                                       help="Only the table of the asked values (with --json: only answers)."),
          notation: str = NOTATION, full: bool = FULL):
    """Solve a problem: forward pass, loss, deltas, gradients, update, loss after."""
    from .detail import check_detail
    from .solver import solve as solve_problem
    check_detail(detail)
    problem = _problem(ctx, _source(file), no_color)
    solution = _solved(solve_problem, problem, verify, exact and not json, part, answers, detail, round_each_step,
                       notation, drawing=False)
    comment = problem.comment if comments else None
    if json:
        from .render.jsonout import answers_json, dumps
        typer.echo(answers_json(solution) if answers else dumps(solution, comment))
        return
    from .render.terminal import print_solution
    print_solution(solution, _console(no_color), digits, exact, comment, full=full)


def _output(output, protect: list, kinds, formats: str) -> tuple:
    """The output path, checked before anything is written, and its extension, which must be one of
    `kinds`: the extension chooses the format."""
    from .export import check_target
    target = check_target(output, None, protect)
    kind = target.suffix.lower()
    if kind not in kinds:
        raise UsageError(f"the output's extension chooses the format: end it in {formats}", file=str(target))
    return target, kind


def _solved(solve_problem, problem, verify: bool, closed_forms: bool, parts, answers_only: bool, detail: str,
            round_each_step=None, notation: str | None = None, drawing: bool = True):
    """The solution, cut to the parts asked for (--part), marked to show only its answers (--answers),
    its chain rounded at each step as --round-each-step says, written in the --notation form; with the
    network's drawing only for a printer that draws it."""
    return solve_problem(problem, verify=verify, closed_forms=closed_forms,
                         parts=tuple(parts) if parts else None, detail=detail, answers_only=answers_only,
                         round_each_step=round_each_step, notation=notation, drawing=drawing)


@app.command(short_help="The chain rule for one quantity, step by step.",
             help="The chain rule for one quantity: Leibniz chain, local derivatives, deltas, whole "
                  "expression.\n\n" + ABOUT_FILE)
def derive(ctx: typer.Context, file: str = FILE,
           wrt: str = typer.Option(None, "--wrt", metavar="NAME",
                                   help="What to differentiate by: w13, W2[2,1], W2, h1, an alias."),
           of: str = typer.Option("L", "--of", metavar="NAME", show_default=False,
                                  help="The node to differentiate (default: the loss L)."),
           all_: bool = typer.Option(False, "--all", help="Every parameter, sharing the deltas."),
           expand: bool = typer.Option(None, "--expand/--no-expand",
                                       help="Show the expanded expression even when it is long (or never)."),
           digits: int = DIGITS, exact: bool = EXACT,
           json: bool = typer.Option(False, "--json", help="Print the JSON object instead."),
           latex: bool = typer.Option(False, "--latex", help="Print the derivation as a LaTeX fragment."),
           no_color: bool = NO_COLOR, detail: str = DETAIL, round_each_step: str = ROUND,
           notation: str = NOTATION, full: bool = FULL):
    """The chain rule for one quantity: Leibniz chain, local derivatives, deltas, whole expression."""
    from .derivation import derive as derive_one, derive_all
    from .detail import check_detail
    check_detail(detail)
    if not all_ and not wrt:
        raise UsageError("give --wrt NAME (or --all)")
    problem = _problem(ctx, _source(file), no_color)
    results = derive_all(problem, of, expand, detail, round_each_step, notation) if all_ \
        else [derive_one(problem, wrt, of, expand, detail, round_each_step, notation)]
    if not results:
        raise UsageError("--all: the problem has no parameters to differentiate by; "
                         "give --wrt NAME (an input or a computed node)")
    if json:
        import json as json_module
        from .render.jsonout import derivation_json
        objects = [derivation_json(d) for d in results]
        typer.echo(json_module.dumps(objects if all_ else objects[0], indent=2, ensure_ascii=False))
        return
    if latex:
        from .render.latex import to_latex
        for d in results:
            typer.echo(to_latex(d, digits, exact, standalone=False))
        return
    from .render.terminal import print_solution
    console = _console(no_color)
    for i, d in enumerate(results):  # the problem's title and notes once
        print_solution(d, console, digits, exact, heading=i == 0, full=full)


OUTPUT_KINDS = (".tex", ".pdf", ".md", ".html")


def _show_preamble(value: bool):
    """--preamble: the preamble lines a LaTeX fragment needs, then stop."""
    if value:
        from .render.latex import preamble
        typer.echo(preamble(), nl=False)
        raise typer.Exit(EXIT_OK)


@app.command(short_help="Write the solution as LaTeX, a PDF, Markdown or HTML.",
             help="Write the worked solution as LaTeX, a PDF, Markdown or a web page: the output's extension "
                  "chooses.\n\n" + ABOUT_FILE)
def export(ctx: typer.Context, file: str = FILE,
           output: str = typer.Option(..., "-o", "--output", metavar="OUTPUT",
                                      help="The file to write, as its extension says: NAME.tex (LaTeX), "
                                           "NAME.pdf (a PDF typeset by pdflatex), NAME.md (Markdown) "
                                           "or NAME.html (a web page)."),
           pdf: bool = typer.Option(False, "--pdf", help="With NAME.tex: also typeset NAME.pdf beside it."),
           keep_tex: bool = typer.Option(False, "--keep-tex", help="With NAME.pdf: keep the LaTeX as NAME.tex too."),
           standalone: bool = typer.Option(True, "--standalone/--fragment",
                                           help="A whole LaTeX document, or only the body to \\input."),
           preamble: bool = typer.Option(False, "--preamble", is_eager=True, callback=_show_preamble,
                                         help="Print the preamble lines a --fragment (or derive --latex) needs, "
                                              "and exit."),
           digits: int = DIGITS, exact: bool = EXACT,
           verify: bool = typer.Option(False, "--verify", help="Add a finite-difference check to each gradient."),
           timeout: float = typer.Option(60.0, "--timeout", min=1, max=86400, metavar="SECONDS",
                                         help="Stop LaTeX (for a PDF) or dot (for a web page's drawing) "
                                              "after this many seconds."),
           comments: bool = COMMENTS, part: list[str] = PART, answers: bool = ANSWERS,
           detail: str = DETAIL, round_each_step: str = ROUND, notation: str = NOTATION):
    """Write the worked solution as LaTeX, a PDF, Markdown or HTML, as the output's extension says."""
    from .detail import check_detail
    from .export import check_target, typeset_pdf, write_atomically
    from .solver import solve as solve_problem
    check_detail(detail)
    source = _source(file)
    protect = [source.path]
    target, kind = _output(output, protect, OUTPUT_KINDS,
                           ".tex (LaTeX), .pdf (a PDF), .md (Markdown) or .html (a web page)")
    makes_pdf = kind == ".pdf" or (kind == ".tex" and pdf)
    if kind == ".pdf" and pdf:
        raise UsageError("--pdf is for a .tex output; -o NAME.pdf makes the PDF by itself", file=str(target))
    if kind in (".md", ".html") and (pdf or not standalone):
        what = "Markdown" if kind == ".md" else "a web page"
        raise UsageError(f"{'--pdf' if pdf else '--fragment'} is for LaTeX; a {kind} output is {what}",
                         file=str(target))
    if makes_pdf and not standalone:
        raise UsageError("a PDF needs a whole document, not --fragment", file=str(target))
    if keep_tex and not makes_pdf:
        raise UsageError("--keep-tex is for a PDF output (-o NAME.pdf)", file=str(target))
    tex = target if kind == ".tex" else (check_target(target.with_suffix(".tex"), ".tex", protect)
                                         if keep_tex else None)
    pdf_file = None if not makes_pdf else target if kind == ".pdf" else check_target(
        target.with_suffix(".pdf"), ".pdf", protect)
    problem = _problem(ctx, source)
    solution = _solved(solve_problem, problem, verify, exact, part, answers, detail, round_each_step, notation,
                       drawing=kind != ".md")  # Markdown draws no figure
    comment = problem.comment if comments else None
    if kind == ".md":
        from .render.markdown import to_markdown
        write_atomically(target, to_markdown(solution, digits, exact, comment))
        typer.echo(f"wrote {target}")
        return
    if kind == ".html":
        from .render.html import to_html
        page = to_html(solution, digits, exact, comment, timeout=timeout,
                       warn=lambda message: typer.echo(f"note: {message}", err=True))
        write_atomically(target, page)
        typer.echo(f"wrote {target}")
        return
    from .render.latex import to_latex
    document = to_latex(solution, digits, exact, standalone, comment)
    if tex is not None:
        write_atomically(tex, document)
        typer.echo(f"wrote {tex}")
    if pdf_file is not None:
        typeset_pdf(document, pdf_file, timeout=timeout, protect=protect, shown=tex)
        typer.echo(f"wrote {pdf_file}")


DRAW_KINDS = (".dot", ".svg", ".png", ".pdf")


@app.command(short_help="Draw the network or the computational graph (DOT, SVG, PNG, PDF).",
             help="Draw the network (inputs, neurons, weights on the edges, biases and activations) or, "
                  "with --graph, the computational graph of vectors and matrices; the output's extension "
                  "chooses: NAME.dot (Graphviz source) or NAME.svg/.png/.pdf (laid out by Graphviz's dot)."
                  "\n\n" + ABOUT_FILE)
def draw(ctx: typer.Context, file: str = FILE,
         output: str = typer.Option(..., "-o", "--output", metavar="OUTPUT",
                                    help="The file to write: NAME.dot, NAME.svg, NAME.png or NAME.pdf."),
         graph: bool = typer.Option(False, "--graph", help="The computational graph instead of the neurons."),
         gradients: bool = typer.Option(False, "--gradients",
                                        help="The gradients: on the edges and biases of the network; "
                                             "with --graph, a dashed node ∂L/∂n per quantity."),
         values: bool = typer.Option(False, "--values", help="The forward values beside the neurons or nodes."),
         digits: int = DIGITS, exact: bool = EXACT,
         timeout: float = typer.Option(60.0, "--timeout", min=1, max=86400, metavar="SECONDS",
                                       help="Stop dot after this many seconds (for a picture).")):
    """Draw the network or the computational graph as DOT source or a picture, as the output's extension says."""
    from .drawing import draw as drawing_of
    from .export import render_dot, write_atomically
    from .render.dot import to_dot
    source = _source(file)
    protect = [source.path]
    target, kind = _output(output, protect, DRAW_KINDS, ".dot (Graphviz source), .svg, .png or .pdf (a picture)")
    problem = _problem(ctx, source, as_solved=False)
    text = to_dot(drawing_of(problem, "graph" if graph else "network", gradients, values), digits, exact)
    if kind == ".dot":
        write_atomically(target, text)
    else:
        render_dot(text, target, timeout, protect)
    typer.echo(f"wrote {target}")


PLOT_KINDS = (".png", ".svg", ".pdf")


@app.command(name="train", short_help="Train on the file's data set; compare learning rates.",
             help="Train the parameters on the file's data set (dataset:) by mini-batch gradient descent: "
                  "the loss (and accuracy) every few epochs, several learning rates compared, the loss "
                  "curves, the trained parameters.\n\n" + ABOUT_FILE)
def train_command(ctx: typer.Context, file: str = FILE,
                  epochs: int = typer.Option(100, "--epochs", min=0, max=1_000_000, metavar="N",
                                             help="Passes over the data set."),
                  lr: str = typer.Option(None, "--lr", metavar="RATES",
                                         help="Learning rates, comma-separated: --lr 0.1,0.5,0.9 "
                                              "(default: the file's learning_rate)."),
                  batch: int = typer.Option(None, "--batch", min=1, max=10_000_000, metavar="B",
                                            help="Samples per step (default: the whole data set)."),
                  seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, metavar="S",
                                           help="Shuffles the samples of every epoch after the first."),
                  every: int = typer.Option(None, "--every", min=1, metavar="K",
                                            help="A table row every K epochs (default: a tenth of them)."),
                  plot: str = typer.Option(None, "--plot", metavar="FILE",
                                           help="Draw the loss curves: NAME.png, NAME.svg or NAME.pdf."),
                  exact_steps: int = typer.Option(0, "--exact-steps", min=0, max=100, metavar="K",
                                                  help="Work the first K steps exactly, shown as solve "
                                                       "shows them."),
                  output: str = typer.Option(None, "-o", "--output", metavar="PARAMS",
                                             help="Write the trained parameters to PARAMS.yaml (with "
                                                  "several rates: the lowest final loss)."),
                  json: bool = typer.Option(False, "--json", help="Print the JSON object instead."),
                  digits: int = DIGITS, no_color: bool = NO_COLOR):
    """Train on the file's data set by mini-batch gradient descent and report the loss."""
    from .export import write_atomically
    from .training import train
    source = _source(file)
    protect = [source.path]
    figure = _output(plot, protect, PLOT_KINDS, ".png, .svg or .pdf")[0] if plot is not None else None
    params = _output(output, protect, (".yaml", ".yml"), ".yaml")[0] if output is not None else None
    rates = [r for r in lr.split(",")] if lr is not None else None
    problem = _problem(ctx, source, no_color, as_solved=False)
    limits = (ctx.obj or {}).get("limits")
    with _progress(epochs * (len(rates) if rates else 1), no_color) as advance:
        training = train(problem, epochs, rates, batch, seed, exact_steps=exact_steps, limits=limits,
                         on_epoch=advance)
    console = _console(no_color)
    if json:
        from .render.training import training_json
        typer.echo(training_json(training))
    else:
        from .render.terminal import print_solution
        from .render.training import print_training
        for run in training.runs:
            for solution in run.exact:
                print_solution(solution, console, digits, False)
                console.print()
        print_training(training, console, digits, every)
    said = (lambda text: typer.echo(text, err=True)) if json else typer.echo
    if figure is not None:
        from .render.curves import plot as draw_curves
        write_atomically(figure, draw_curves(training, figure.suffix.lower()[1:]))
        said(f"wrote {figure}")
    if params is not None:
        from .render.training import params_yaml
        best = training.best
        name = _printable(file if file is not None else str(source.path))
        command = (f"tutor train {name} --epochs {epochs} --lr {best.learning_rate!r} --seed {seed}"
                   + (f" --batch {batch}" if batch is not None else ""))
        write_atomically(params, params_yaml(training, best, name, command))
        which = f" (α = {best.learning_rate:g}, the lowest final loss)" if len(training.runs) > 1 else ""
        said(f"wrote {params}{which}")


class _progress:
    """A progress bar on standard error while training, only on a terminal; advance() moves it one epoch."""

    def __init__(self, total: int, no_color: bool):
        self.total, self.no_color, self.bar = total, no_color, None

    def __enter__(self):
        if self.total and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress
            self.bar = Progress(console=Console(stderr=True, no_color=self.no_color), transient=True)
            self.bar.start()
            task = self.bar.add_task("training", total=self.total)
            return lambda: self.bar.advance(task)
        return None

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False



@app.command(name="boundary", short_help="Draw the decision regions of a classifier of two inputs.",
             help="Draw the decision regions and the boundary of a classifier of two inputs (PNG, SVG or PDF, "
                  "as the output's extension says); for a ReLU network also its exact linear pieces, and the "
                  "file's data samples on top.\n\n" + ABOUT_FILE)
def boundary_figure(ctx: typer.Context, file: str = FILE,
                    output: str = typer.Option(..., "-o", "--output", metavar="OUTPUT",
                                               help="The file to write: NAME.png, NAME.svg or NAME.pdf."),
                    window: str = typer.Option(None, "--range", metavar="LOW:HIGH[,LOW:HIGH]",
                                               help="The inputs shown: one range for both axes (-3:3) or one "
                                                    "each (-3:3,-2:2); default: the data with a margin, "
                                                    "else -3:3."),
                    resolution: int = typer.Option(300, "--resolution", metavar="N",
                                                   help="Grid points along each side (at most the limit "
                                                        "grid_side)."),
                    from_trained: str = typer.Option(None, "--from-trained", metavar="PARAMS",
                                                     help="Use the parameters of a file that tutor train -o "
                                                          "writes.")):
    """Draw the decision regions and the boundary of a classifier of two inputs."""
    from .boundary import boundary, parse_range
    from .export import write_atomically
    from .render.regions import to_image
    limits = (ctx.obj or {}).get("limits")
    source = _source(file)
    protect = [source.path] + ([from_trained] if from_trained else [])
    target, kind = _output(output, protect, PLOT_KINDS, ".png, .svg or .pdf")
    bounds = parse_range(window, limits) if window is not None else None
    problem = _problem(ctx, source, as_solved=False)
    if from_trained is not None:
        from .trained import with_parameters
        problem = with_parameters(problem, from_trained, limits)
    regions = boundary(problem, bounds, resolution, limits=limits)
    write_atomically(target, to_image(regions, kind[1:]))
    if regions.note:
        typer.echo(f"note: {regions.note}", err=True)
    typer.echo(f"wrote {target}")


class _FileAnswers(TyperCommand):
    """check's usage line: [FILE] ANSWERS, which one list of arguments takes."""

    def collect_usage_pieces(self, ctx):
        return ["[OPTIONS]", "[FILE] ANSWERS"]


@app.command(name="check", cls=_FileAnswers,
             short_help="Mark a student's answers; name the likely slip of a wrong one.",
             help="Mark a student's own answers against the exact solution: each right, wrong or missing, "
                  "in the solution's order; for a wrong one the first wrong step's correct working and the "
                  "slip that gives the student's value. ANSWERS is a YAML file of names and values (see "
                  "docs/answers-format.md). Exit status 0 all right, 1 any wrong, 2 bad input.\n\n"
                  "tutor check ANSWERS uses the problem last used here; tutor check FILE ANSWERS names it. "
                  "With --answer, a single argument is FILE. " + ABOUT_FILE)
def check_command(ctx: typer.Context,
                  files: list[str] = typer.Argument(None, show_default=False, hidden=True),
                  answer: list[str] = typer.Option(None, "--answer", metavar="NAME=VALUE",
                                                   help="One answer, as in an answers file: --answer L=0.8089 "
                                                        "--answer \"dL/dW21=0.24\" (repeatable)."),
                  require_all: bool = typer.Option(False, "--require-all",
                                                   help="A missing asked value counts as wrong (exit 1)."),
                  json: bool = typer.Option(False, "--json", help="Print the marks as JSON instead."),
                  digits: int = DIGITS, no_color: bool = NO_COLOR):
    """Mark a student's answers against the exact solution."""
    from .marking import check
    from .studentanswers import parse_pairs, read_answers
    given = list(files or ())
    if len(given) > 2:
        raise UsageError(f"check takes [FILE] ANSWERS: {len(given)} arguments given")
    if answer:
        file, answers_file = (given + [None, None])[:2]
    elif len(given) == 1:
        from .bundled import find
        if not os.path.lexists(given[0]) and find(given[0]) is not None:
            raise UsageError(f"{_printable(given[0])} is a problem: give the answers too, as ANSWERS or "
                             "--answer NAME=VALUE (tutor check FILE ANSWERS)")
        file, answers_file = None, given[0]
    elif given:
        file, answers_file = given
    else:
        raise UsageError("give ANSWERS, a YAML file of your answers, or --answer NAME=VALUE")
    limits = (ctx.obj or {}).get("limits")
    answers = read_answers(answers_file, limits) if answers_file is not None else ()
    answers += parse_pairs(answer or (), limits)
    problem = _problem(ctx, _source(file), no_color)
    marking = check(problem, answers, require_all)
    if json:
        from .render.marks import marking_json
        typer.echo(marking_json(marking))
    else:
        from .render.marks import print_marking
        print_marking(marking, _console(no_color), digits)
    if not marking.ok:
        raise typer.Exit(EXIT_WRONG_ANSWERS)


@app.command(name="new", short_help="Write a fresh practice problem, sheet variants or a template.",
             help="Write a fresh practice problem with numbers a person can work by hand (one-decimal weights, "
                  "small integer inputs, no ReLU at 0, no dead units, no vanishing gradient); the same --seed "
                  "gives the same file. --variants K -o DIR writes K variants of one sheet, --solutions their "
                  "worked solutions beside them; --template writes a commented file to fill in. "
                  "Without -o the file goes to standard output.")
def new_command(ctx: typer.Context,
                layers: str = typer.Option("2,2,1", "--layers", metavar="SIZES",
                                           help="Layer sizes, input and output counted."),
                activation: str = typer.Option("relu", "--activation", metavar="relu|sigmoid|tanh",
                                               help="The hidden layers' activation."),
                loss: str = typer.Option("sse", "--loss", metavar="sse|half_sse|mse|cross_entropy",
                                         help="The loss (cross_entropy: softmax outputs, or σ and the "
                                              "binary cross-entropy for one output)."),
                layout: str = typer.Option("Wx", "--layout", metavar="Wx|xW",
                                           help="Weight matrices one row per neuron (Wx) or per input (xW)."),
                seed: int = typer.Option(None, "--seed", min=0, max=2**32 - 1, metavar="N",
                                         help="Makes the same file again (default: a fresh one, written in "
                                              "the file)."),
                ask: bool = typer.Option(False, "--ask", help="Add the sheet's parts: forward, loss, one "
                                                              "gradient, its update, the loss after."),
                wrt: str = typer.Option(None, "--wrt", metavar="WEIGHT",
                                        help="With --ask: the weight of the gradient part, e.g. W1[2,1] "
                                             "(default: one of the first layer, drawn)."),
                variants: int = typer.Option(None, "--variants", metavar="K",
                                             help="Write K variants of one sheet into the folder -o DIR."),
                solutions: list[str] = typer.Option(None, "--solutions", metavar="md|pdf",
                                                    help="Also write each file's worked solution beside it "
                                                         "(repeatable: --solutions md --solutions pdf)."),
                force: bool = typer.Option(False, "--force", help="Replace files that are already there."),
                template: bool = typer.Option(False, "--template",
                                              help="Write a commented file to fill in with your own sheet."),
                output: str = typer.Option(None, "-o", "--output", metavar="FILE|DIR",
                                           help="The file to write (NAME.yaml), or with --variants the folder."),
                digits: int = DIGITS,
                timeout: float = typer.Option(60.0, "--timeout", min=1, max=86400, metavar="SECONDS",
                                              help="Stop LaTeX (for a PDF solution) after this many seconds.")):
    """Write a fresh practice problem, variants of one sheet, or a template to fill in."""
    from .generate import new_problem, new_variants
    from .render.sheets import planned, write_planned
    from .template import template as template_text
    limits = (ctx.obj or {}).get("limits")
    if variants is not None and output is None:
        raise UsageError("--variants K needs -o DIR, the folder to write the K files into")
    if solutions and output is None:
        raise UsageError("--solutions needs -o: the solutions are written beside the problem file")
    if template and (variants is not None or ask or seed is not None):
        raise UsageError("--template writes the fill-in file alone; leave out --variants, --ask and --seed")
    if template:
        texts = [template_text()]
    elif variants is not None:
        texts = new_variants(variants, layers, activation, loss, layout, seed, ask, wrt, limits)
    else:
        texts = [new_problem(layers, activation, loss, layout, seed, ask, wrt, limits)]
    if output is None:
        typer.echo(texts[0], nl=False)
        return
    plan = planned(texts, output, variants is not None, solutions or (), force)
    write_planned(plan, digits, timeout, said=lambda path: typer.echo(f"wrote {path}"))


@app.command(name="list")
def list_problems(no_color: bool = NO_COLOR,
                  names: bool = typer.Option(False, "--names", help="Only the names, one a line (for scripts).")):
    """The bundled problems: name, title and source."""
    import shutil
    from .bundled import bundled
    from .render.listing import table
    if names:
        typer.echo("\n".join(entry.name for entry in bundled()))
        return
    rows = [(entry.name, entry.title, entry.source) for entry in bundled()]
    width = shutil.get_terminal_size((80, 24)).columns
    color = _colours(no_color)
    bold = (lambda text: typer.style(text, bold=True)) if color is not False else str
    typer.echo("\n".join(table(("name", "title", "source"), rows, width, bold)), color=color)


def _colours(no_color: bool):
    """Colours as the terminal printers choose them: off with --no-color or NO_COLOR, on with FORCE_COLOR,
    else only on a terminal (None)."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    return True if os.environ.get("FORCE_COLOR") else None


def main(argv: list[str] | None = None) -> None:
    """The whole program: usage errors in one line, nothing lost to a closed or full output."""
    args = _program_options_first(list(sys.argv[1:] if argv is None else argv))
    if sys.stdout is None:  # started with standard output closed: nothing could be shown
        typer.echo("error: cannot write the output: standard output is closed", err=True)
        sys.exit(EXIT_BAD_INPUT)
    _unicode_output()
    try:
        code = app(args=args, prog_name="tutor", standalone_mode=False)
    except typer.Exit as e:
        code = e.exit_code
    except typer.TyperException as e:  # a usage error: one line, not a box
        if type(e).__name__ == "NoArgsIsHelpError":  # `tutor` alone: the help, as --help shows it
            typer.echo(e.ctx.get_help())
        else:
            message = e.format_message() if hasattr(e, "format_message") else str(e)
            typer.echo(f"error: {message or 'bad usage'} (see tutor --help)", err=True)
        code = EXIT_BAD_INPUT
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("error: interrupted", err=True)
        code = 130
    except OSError as e:  # standard output closed or full (tutor solve > /dev/full)
        code = _output_failed(e)
    try:  # what is still buffered must reach the output now, while a failure can be reported
        sys.stdout.flush()
    except OSError as e:
        code = _output_failed(e)
    gc.freeze()  # the process ends here: what it built goes with it, not collected object by object first
    sys.exit(code or 0)


def _unicode_output() -> None:
    """Standard output and error in UTF-8 where their own encoding cannot write a solution's signs (∂, ⎡):
    output redirected to a file on Windows, PYTHONIOENCODING=ascii."""
    for stream in (sys.stdout, sys.stderr):
        try:
            "∂⎡→".encode(getattr(stream, "encoding", None) or "utf-8")
        except (LookupError, UnicodeEncodeError):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(encoding="utf-8")


def _output_failed(e: OSError) -> int:
    """Standard output could not take the text: silent for a reader that left (| head), else one line."""
    _silence_stdout()
    if e.errno == errno.EPIPE:
        return EXIT_OK
    typer.echo(f"error: cannot write the output: {e.strerror or e}", err=True)
    return EXIT_BAD_INPUT


def _program_options_first(args: list[str]) -> list[str]:
    """--debug and --limit NAME=N are accepted anywhere on the line; the callback reads them in front."""
    front, rest, i = [], [], 0
    while i < len(args):
        a = args[i]
        if a == "--debug" or a.startswith("--limit="):
            front.append(a)
        elif a == "--limit" and i + 1 < len(args):
            front += [a, args[i + 1]]
            i += 1
        else:
            rest.append(a)
        i += 1
    return front + rest


def _silence_stdout():
    """Point standard output at /dev/null so that Python's own final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    main()
