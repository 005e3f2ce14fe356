"""The loss curves of a training, one per learning rate, drawn by matplotlib (Agg) as PNG, SVG or PDF bytes."""
from __future__ import annotations

import io
import textwrap
import math

FORMATS = ("png", "svg", "pdf")


def plot(training, kind: str = "png") -> bytes:
    """The loss after every epoch, one curve per learning rate (accuracy beside it for a classifier)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    if kind not in FORMATS:
        raise ValueError(f"no plot of kind {kind!r}")
    classifier = training.classes is not None
    figure = Figure(figsize=(9.0 if classifier else 6.4, 4.0), dpi=100, layout="constrained")
    axes = figure.subplots(1, 2 if classifier else 1, squeeze=False)[0]
    loss_axes = axes[0]
    positive = []
    for run in training.runs:
        label = f"α = {run.learning_rate:g}" + (" (diverged)" if run.status == "diverged" else "")
        epochs = range(len(run.loss))
        loss_axes.plot(epochs, run.loss, label=label, linewidth=1.4)
        positive += [v for v in run.loss if math.isfinite(v) and v > 0]
        if classifier:
            axes[1].plot(epochs, [100 * a for a in run.accuracy], label=label, linewidth=1.4)
    if positive and max(positive) / min(positive) > 20:  # orders of magnitude read best on a log axis
        loss_axes.set_yscale("log")
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("mean loss over the data set")
    loss_axes.set_title("Loss", fontsize=11)
    loss_axes.grid(True, alpha=0.3)
    loss_axes.legend(fontsize=9)
    if classifier:
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("accuracy (%)")
        axes[1].set_title("Accuracy", fontsize=11)
        axes[1].set_ylim(0, 100)
        axes[1].grid(True, alpha=0.3)
        axes[1].legend(fontsize=9, loc="lower right")
    width = int(figure.get_figwidth() * 12)  # characters of 10-point text across the figure
    figure.suptitle(textwrap.fill(f"{training.title}: {training.data}", width), fontsize=10)
    out = io.BytesIO()
    figure.savefig(out, format=kind, metadata=_metadata(kind), bbox_inches="tight")
    return out.getvalue()


def _metadata(kind: str) -> dict:
    # no date or software version in the file: the same run writes the same bytes
    return {"svg": {"Date": None, "Creator": None}, "pdf": {"CreationDate": None, "Creator": None,
                                                            "Producer": None}}.get(kind, {"Software": None})
