"""Regions → a decision-boundary figure (PNG, SVG or PDF) drawn with matplotlib: it only draws the data."""
from __future__ import annotations

import io
import textwrap

import matplotlib
import numpy as np
import sympy as sp
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.mathtext import MathTextParser
from matplotlib.patches import Patch
from matplotlib.path import Path

from ..notation import tex_name

matplotlib.use("Agg")

FORMATS = ("png", "svg", "pdf")
FILLS = ("#cfe2f3", "#fce5cd", "#d9ead3", "#ead1dc", "#fff2cc", "#d0e0e3")      # light: the regions
MARKS = ("#1f5fa8", "#d9661f", "#3d8b37", "#a64d79", "#bf9000", "#45818e")      # dark: the samples
BOUNDARY = "#222222"
PIECE = "#b8002e"
BORDER = "#7f7f7f"
MAX_FORMULAS = 8   # pieces whose formulas are written in their regions; more would crowd the figure
_PARSER = MathTextParser("path")


def to_image(regions, kind: str, dpi: int = 150) -> bytes:
    """The figure's bytes as PNG, SVG or PDF, made in memory (nothing is written here)."""
    if kind not in FORMATS:
        raise ValueError(f"a figure is one of {', '.join(FORMATS)}, not {kind!r}")
    fig = figure(regions)
    out = io.BytesIO()
    metadata = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}[kind]
    fig.savefig(out, format=kind, dpi=dpi, metadata=metadata)
    return out.getvalue()


def figure(regions) -> Figure:
    """The decision regions filled in light colours, the boundary as a line, the exact pieces of a ReLU
    network on top (their borders dashed, each piece's formula in its region), the samples as points."""
    x0, x1, y0, y1 = (float(v) for v in regions.window)
    equal = 1 / 3 <= (y1 - y0) / (x1 - x0) <= 3
    tall = min((y1 - y0) / (x1 - x0), 1.25) if equal else 1.0
    fig = Figure(figsize=(6.6, 1.7 + 4.6 * tall), layout="constrained")
    ax = fig.add_subplot()
    k = max(len(regions.labels), int(regions.classes.max()) + 1)
    fills = [FILLS[i % len(FILLS)] for i in range(k)]
    ax.contourf(regions.xs, regions.ys, regions.classes, levels=np.arange(k + 1) - 0.5, colors=fills)
    output = _math(tex_name(regions.output, regions.names), regions.output)
    handles = [Patch(facecolor=fills[i], edgecolor="#999999", label=_label(regions, i, output)) for i in range(k)]
    if regions.score is not None:
        level = _number(regions.threshold)
        crosses = regions.score.min() < 0 < regions.score.max()
        if regions.plot is None and crosses:
            ax.contour(regions.xs, regions.ys, regions.score, levels=[0.0], colors=BOUNDARY, linewidths=2.0)
        handles.append(Line2D([], [], color=BOUNDARY if regions.plot is None else PIECE, lw=2.0,
                              label=f"decision boundary {output} = {level}" + ("" if crosses else
                                                                                 " (not in this range)")))
    elif k > 1:
        ax.contour(regions.xs, regions.ys, regions.classes, levels=np.arange(1, k) - 0.5, colors=BOUNDARY,
                   linewidths=2.0)
        handles.append(Line2D([], [], color=BOUNDARY, lw=2.0, label="decision boundary"))
    if regions.plot is not None:
        _pieces(ax, regions, handles)
    if len(regions.points):
        for i in np.unique(regions.point_classes):
            at = regions.points[regions.point_classes == i]
            ax.scatter(at[:, 0], at[:, 1], s=36 if len(regions.points) <= 50 else 12, color=MARKS[i % len(MARKS)], edgecolors="white",
                       linewidths=0.4, zorder=4)
        handles.append(Line2D([], [], ls="", marker="o", color="#555555", markeredgecolor="white",
                              label="samples (coloured by their target class)"))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    if equal:
        ax.set_aspect("equal")
    names = [_math(tex_name(n, regions.names), n) for n in regions.inputs]
    ax.set_xlabel(names[0], fontsize=12)
    ax.set_ylabel(names[1], fontsize=12)
    ax.grid(True, color="white", lw=0.6, alpha=0.6)
    ax.axhline(0, color="#555555", lw=0.6)
    ax.axvline(0, color="#555555", lw=0.6)
    ax.set_title("\n".join(textwrap.wrap(_plain(regions.title), 64)[:3]), fontsize=11)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, frameon=False,
              fontsize=9)
    return fig


def _pieces(ax, regions, handles: list) -> None:
    """The exact pieces: the borders between them dashed, each one's linear formula inside (when they
    are few enough to read), and the boundary segments."""
    plot = regions.plot
    edges = {}
    for polygon in plot.borders:
        for p, q in zip(polygon, polygon[1:] + polygon[:1]):
            if p != q and not _on_frame(p, q, regions.window):
                edges[tuple(sorted((p, q)))] = None  # a border is shared by two pieces: drawn once
    for p, q in edges:  # each from its lower end, so that the dashes of touching borders line up
        ax.plot([float(p[0]), float(q[0])], [float(p[1]), float(q[1])], color=BORDER, lw=0.9,
                ls=(0, (4, 3)), zorder=2)
    if edges:
        handles.append(Line2D([], [], color=BORDER, lw=0.9, ls=(0, (4, 3)),
                              label="ReLU switches (borders of the linear pieces)"))
    segments = [np.array([[float(a[0]), float(a[1])], [float(b[0]), float(b[1])]]) for a, b in plot.boundary]
    if len(plot.borders) <= MAX_FORMULAS:
        symbols = {s: tex_name(str(s), regions.names) for e in plot.formulas for s in e.free_symbols}
        output = tex_name(regions.output, regions.names)
        x0, x1, y0, y1 = (float(v) for v in regions.window)
        for polygon, formula in zip(plot.borders, plot.formulas):
            xy = np.array([[float(x), float(y)] for x, y in polygon])
            if _area(xy) < 0.03 * (x1 - x0) * (y1 - y0):
                continue
            text = _math(f"{output} = {sp.latex(sp.expand(formula), symbol_names=symbols)}", None)
            if text is not None:
                cx, cy = _inside(xy, segments)
                ax.text(cx, cy, text, ha="center", va="center", fontsize=9, color="#404040", zorder=3,
                        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.75})
    for a, b in segments:
        ax.plot([a[0], b[0]], [a[1], b[1]], color=PIECE, lw=2.4, solid_capstyle="round", zorder=3)


def _inside(xy: np.ndarray, segments: list) -> tuple:
    """A point of a convex polygon far from its edges and from the boundary: where its formula reads well."""
    (left, bottom), (right, top) = xy.min(axis=0), xy.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(left, right, 31), np.linspace(bottom, top, 31))
    points = np.column_stack([gx.ravel(), gy.ravel()])
    points = points[Path(xy).contains_points(points, radius=-1e-9 * (right - left + top - bottom))
                    | Path(xy[::-1]).contains_points(points, radius=-1e-9 * (right - left + top - bottom))]
    if not len(points):
        return tuple(xy.mean(axis=0))
    lines = [np.array([p, q]) for p, q in zip(xy, np.roll(xy, -1, axis=0))] + segments
    # a formula is wider than it is tall: horizontal distance counts for less
    far = np.min([_distance(points * [0.35, 1.0], line * [0.35, 1.0]) for line in lines], axis=0)
    return tuple(points[int(np.argmax(far))])


def _distance(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Each point's distance to the segment line[0]–line[1]."""
    a, b = line
    ab = b - a
    t = np.clip(((points - a) @ ab) / max(float(ab @ ab), 1e-300), 0.0, 1.0)
    return np.linalg.norm(points - (a + t[:, None] * ab), axis=1)


def _on_frame(p, q, window) -> bool:
    """Whether the edge p–q lies on the window's frame (not a border between pieces)."""
    x0, x1, y0, y1 = (float(v) for v in window)
    (px, py), (qx, qy) = (float(v) for v in p), (float(v) for v in q)
    return (px == qx and px in (x0, x1)) or (py == qy and py in (y0, y1))


def _area(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def _label(regions, i: int, output: str) -> str:
    """A class's name (a bare number as class n) and, for a threshold, where the output puts it."""
    name = _plain(regions.labels[i]) if i < len(regions.labels) else f"class {i + 1}"
    name = f"class {name}" if name.lstrip("-").isdigit() else name
    if regions.score is None or i > 1 or any(c in name for c in "<>≤≥"):
        return name
    return f"{name}: {output} {'<' if i == 0 else '>'} {_number(regions.threshold)}"


def _number(v) -> str:
    return f"{float(v):g}"


def _math(tex: str, fallback: str | None) -> str | None:
    """$tex$ when matplotlib's mathtext can set it, else the plain fallback (escaped)."""
    text = f"${tex}$"
    try:
        _PARSER.parse(text)
    except (ValueError, RuntimeError):
        return None if fallback is None else _plain(fallback)
    return text


def _plain(text: str) -> str:
    """Text from a file shown as it is: $ cannot start mathtext, control characters become ?."""
    return "".join(c if c.isprintable() else "?" for c in str(text)).replace("$", r"\$")
