"""A training for people and programs: terminal tables, the trained parameters as YAML, JSON."""
from __future__ import annotations

import json
import math

from rich.table import Table
from rich.text import Text


def number(v, digits: int) -> str:
    """A float to `digits` significant digits; a loss that is not finite as such."""
    if v is None:
        return "–"
    if not math.isfinite(v):
        return "not finite"
    return f"{v:.{digits}g}"


def percent(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def epochs_shown(training, every: int) -> list:
    """Epoch 0, every `every`-th epoch and the last one (of the longest run)."""
    last = max(len(run.loss) for run in training.runs) - 1
    return sorted(set(range(0, last + 1, every)) | {last})


def print_training(training, console, digits: int = 4, every: int | None = None) -> None:
    """The whole report: what was trained on, the loss (and accuracy) every few epochs, the comparison of the
    learning rates, the parameters of the best run."""
    runs, classifier = training.runs, training.classes is not None
    console.print(Text(training.title, style="bold"))
    console.print(f"Data: {training.data}; {training.samples} samples, batches of {training.batch}"
                  f"{' (the whole data set)' if training.batch >= training.samples else ''}; "
                  f"{training.epochs} epochs, seed {training.seed}.", highlight=False, markup=False)
    console.print("Loss: the mean over the data set after each epoch (each step: the mean over its batch).",
                  highlight=False, markup=False)
    every = every or max(1, training.epochs // 10)
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("epoch", justify="right")
    for run in runs:
        rate = f" α={run.learning_rate:g}" if len(runs) > 1 else ""
        table.add_column(f"loss{rate}", justify="right")
        if classifier:
            table.add_column(f"acc.{rate}", justify="right")
    for e in epochs_shown(training, every):
        row = [str(e)]
        for run in runs:
            row.append(number(run.loss[e], digits) if e < len(run.loss) else "")
            if classifier:
                row.append(percent(run.accuracy[e]) if e < len(run.accuracy) else "")
        table.add_row(*row)
    console.print()
    console.print(table)
    if len(runs) > 1:
        console.print()
        console.print(comparison(training, digits))
    best = training.best
    console.print()
    which = f" (α = {best.learning_rate:g}, the lowest final loss)" if len(runs) > 1 else ""
    console.print(Text(f"Parameters after training{which}", style="bold"))
    for name, value in best.parameters.items():
        console.print(f"  {name} = {shown(value, digits)}", highlight=False, markup=False)


def comparison(training, digits: int) -> Table:
    """The learning rates side by side: final loss, best loss and its epoch, accuracy, how the run ended."""
    classifier = training.classes is not None
    table = Table(box=None, header_style="bold", pad_edge=False, title="Learning rates compared",
                  title_justify="left", title_style="bold")
    for column in ("α", "final loss", "best loss", "at epoch") + (("accuracy",) if classifier else ()) + ("run",):
        table.add_column(column, justify="left" if column in ("run",) else "right")
    for run in training.runs:
        ended = run.status + (f" at epoch {run.diverged_at}" if run.diverged_at else "")
        row = [f"{run.learning_rate:g}", number(run.final_loss, digits), number(run.best_loss, digits),
               str(run.best_epoch) if run.best_epoch is not None else "–"]
        if classifier:
            row.append(percent(run.final_accuracy))
        table.add_row(*row, ended)
    return table


def shown(value, digits: int) -> str:
    """A parameter's value rounded: a number, (a, b)ᵀ for a vector, rows [..] for a matrix."""
    if isinstance(value, float):
        return number(value, digits)
    if getattr(value, "ndim", 1) == 1:
        return "(" + ", ".join(number(float(v), digits) for v in value) + ")ᵀ"
    return "[" + "; ".join(", ".join(number(float(v), digits) for v in row) for row in value) + "]"


def plain(value):
    """A parameter's value as plain Python floats: a float, a list, a list of lists."""
    return value if isinstance(value, float) else value.tolist()


def params_yaml(training, run, problem_name: str, command: str) -> str:
    """The trained parameters in the format tutor boundary --from-trained reads: every float written with
    repr(), so it reads back to the same bits."""
    lines = [f"# {command}", f"problem: {json.dumps(problem_name, ensure_ascii=False)}",
             f"epochs: {len(run.loss) - 1}", f"learning_rate: {run.learning_rate!r}", f"seed: {training.seed}",
             f"loss: {_yaml_number(run.final_loss)}"]
    if run.accuracy is not None:
        lines.append(f"accuracy: {_yaml_number(run.final_accuracy)}")
    lines.append("parameters:")
    for name, value in run.parameters.items():
        lines.append(f"  {name}: {_yaml_value(plain(value))}")
    return "\n".join(lines) + "\n"


def _yaml_number(v: float) -> str:
    return repr(float(v)) if math.isfinite(v) else ".nan" if math.isnan(v) else (".inf" if v > 0 else "-.inf")


def _yaml_value(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_yaml_value(x) for x in v) + "]"
    return _yaml_number(v)


def training_json(training) -> str:
    """The training as one JSON object: the settings and every run's history; a loss that is not finite is null."""
    def f(v):
        return v if v is None or math.isfinite(v) else None

    runs = [{"learning_rate": run.learning_rate, "status": run.status, "diverged_at": run.diverged_at,
             "final_loss": f(run.final_loss), "best_loss": f(run.best_loss), "best_epoch": run.best_epoch,
             "accuracy": run.final_accuracy, "loss": [f(v) for v in run.loss],
             "accuracies": list(run.accuracy) if run.accuracy is not None else None,
             "parameters": {k: _finite(plain(v)) for k, v in run.parameters.items()}}
            for run in training.runs]
    return json.dumps({"title": training.title, "data": training.data, "samples": training.samples,
                       "epochs": training.epochs, "batch": training.batch, "seed": training.seed,
                       "best_learning_rate": training.best.learning_rate, "runs": runs}, indent=2,
                      ensure_ascii=False, allow_nan=False)


def _finite(v):
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v if math.isfinite(v) else None
