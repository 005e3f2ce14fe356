"""Pictures as SVG for a web page or a notebook: a drawing laid out by the sandboxed dot and rebuilt from a short
list of safe parts, and a decision-boundary plot drawn directly."""
from __future__ import annotations

import html
import math
import re
import xml.etree.ElementTree as ET

from ..errors import ExternalError
from ..export import DEFAULT_TIMEOUT, layout_dot
from .dot import to_dot
from .tikz import area_labels

SVG = "http://www.w3.org/2000/svg"
# What dot draws with; anything else (scripts, links, foreign objects, images, styles) is left out.
ELEMENTS = frozenset({"svg", "g", "path", "polygon", "polyline", "ellipse", "circle", "rect", "line", "text", "tspan"})
ATTRIBUTES = frozenset({"width", "height", "viewBox", "transform", "fill", "stroke", "stroke-width", "stroke-dasharray",
                        "stroke-opacity", "fill-opacity", "points", "d", "cx", "cy", "rx", "ry", "r", "x", "y",
                        "x1", "y1", "x2", "y2", "text-anchor", "font-family", "font-size", "font-weight",
                        "font-style", "text-decoration", "baseline-shift", "preserveAspectRatio"})
# An attribute's value: numbers, words, colours, path data; never a url(…), a script or markup.
SAFE_VALUE = re.compile(r"^[A-Za-z0-9 #.,%+\-:;()]*$")
MAX_SVG_BYTES = 20_000_000  # dot's output for the largest drawing the limits allow is far below this


class UnsafeSVG(ValueError):
    """SVG that cannot be read as the plain picture dot makes."""


def drawing_svg(drawing, digits: int = 4, exact: bool = False, timeout: float = DEFAULT_TIMEOUT) -> str:
    """A Drawing as inline SVG: its DOT source laid out by the sandboxed dot, then cleaned (see clean_svg);
    ExternalError when dot is missing, fails or takes too long."""
    data = layout_dot(to_dot(drawing, digits, exact), "svg", timeout)
    try:
        return clean_svg(data)
    except UnsafeSVG as e:
        raise ExternalError(f"dot's picture could not be read: {e}") from None


def clean_svg(data) -> str:
    """SVG rebuilt from the safe parts of a picture: no XML prolog, doctype, comments or tooltips, only the
    drawing elements and presentation attributes dot uses (no links, scripts, event handlers, styles, ids),
    every text and attribute escaped; one <svg> element ready to sit inside an HTML page."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, (bytes, bytearray)) else str(data)
    if len(text) > MAX_SVG_BYTES:
        raise UnsafeSVG(f"it is over {MAX_SVG_BYTES} characters long")
    if "<!ENTITY" in text:
        raise UnsafeSVG("it declares entities")
    body = re.sub(r"<!DOCTYPE[^>\[]*(\[[^\]]*\])?\s*>", "", re.sub(r"^\s*<\?xml[^>]*\?>", "", text), count=1)
    try:
        root = ET.fromstring(body)  # comments and processing instructions are dropped by the parser
    except ET.ParseError as e:
        raise UnsafeSVG(f"it is not well-formed XML ({e})") from None
    if _local(root.tag) != "svg":
        raise UnsafeSVG("its root is not <svg>")
    return _element(root, top=True)


def _local(tag) -> str:
    """An element's or attribute's name without its namespace ('' for a non-SVG namespace)."""
    if not isinstance(tag, str):
        return ""
    if tag.startswith("{"):
        space, _, name = tag[1:].partition("}")
        return name if space == SVG else ""
    return tag


def _element(e, top: bool = False) -> str:
    tag = _local(e.tag)
    if tag not in ELEMENTS or (tag == "svg" and not top):
        return ""
    attributes = [(k, v) for k, v in e.attrib.items()
                  if "{" not in k and k in ATTRIBUTES and SAFE_VALUE.match(v)]
    head = tag + (f' xmlns="{SVG}"' if top else "") + "".join(
        f' {k}="{html.escape(v, quote=True)}"' for k, v in attributes)
    if top:
        head += ' role="img"'
    inner = html.escape(e.text or "", quote=False) if tag in ("text", "tspan") else ""
    for child in e:
        inner += _element(child)
        if tag in ("text", "tspan") and child.tail:
            inner += html.escape(child.tail, quote=False)
    return f"<{head}>{inner}</{tag}>"


PLOT_SIDE = 300          # the plot's square, in pixels
PLOT_MARGIN = (48, 16, 16, 44)  # room left, right, top and bottom for the ticks and the axes' names
AREA_FILL = {True: "#f7d4d4", False: "#d4dcf7"}   # red!18, blue!18: the LaTeX plot's class colours


def plot_svg(plot, axis_names=("x", "y")) -> str:
    """A decision-boundary plot (diagram.Plot) as SVG, as the PDF draws it: the class areas shaded, the
    pieces' borders dotted, the boundary thick, whole-number ticks; axis_names as text (escaped here)."""
    x0, x1, y0, y1 = (float(v) for v in plot.window)
    scale = PLOT_SIDE / max(x1 - x0, y1 - y0)
    left, right, top, bottom = PLOT_MARGIN
    width, height = (x1 - x0) * scale, (y1 - y0) * scale

    def at(x, y) -> str:
        return f"{left + (float(x) - x0) * scale:.2f},{top + (y1 - float(y)) * scale:.2f}"

    out = [f'<svg xmlns="{SVG}" width="{left + width + right:.0f}" height="{top + height + bottom:.0f}" '
           f'viewBox="0 0 {left + width + right:.0f} {top + height + bottom:.0f}" role="img" '
           'font-family="serif" font-size="13">']
    for area in plot.areas:
        out.append(f'<polygon points="{" ".join(at(x, y) for x, y in area.corners)}" fill="{AREA_FILL[area.above]}"/>')
    for border in plot.borders:
        out.append(f'<polygon points="{" ".join(at(x, y) for x, y in border)}" fill="none" stroke="gray" '
                   'stroke-dasharray="2,2"/>')
    for a, b in plot.boundary:
        out.append(f'<polyline points="{at(*a)} {at(*b)}" fill="none" stroke="black" stroke-width="2.5"/>')
    for label, (cx, cy) in area_labels(plot):
        x, y = at(cx, cy).split(",")
        out.append(f'<text x="{x}" y="{y}" text-anchor="middle" font-size="12">{html.escape(label)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{width:.2f}" height="{height:.2f}" fill="none" stroke="black"/>')
    for k in range(math.ceil(x0), math.floor(x1) + 1):
        x, y = at(k, y0).split(",")
        out.append(f'<line x1="{x}" y1="{y}" x2="{x}" y2="{float(y) - 5:.2f}" stroke="black"/>'
                   f'<text x="{x}" y="{float(y) + 16:.2f}" text-anchor="middle">{str(k).replace("-", "−")}</text>')
    for k in range(math.ceil(y0), math.floor(y1) + 1):
        x, y = at(x0, k).split(",")
        out.append(f'<line x1="{x}" y1="{y}" x2="{float(x) + 5:.2f}" y2="{y}" stroke="black"/>'
                   f'<text x="{float(x) - 6:.2f}" y="{float(y) + 4:.2f}" text-anchor="end">'
                   f'{str(k).replace("-", "−")}</text>')
    out.append(f'<text x="{left + width / 2:.2f}" y="{top + height + 36:.2f}" text-anchor="middle" font-style="italic">'
               f'{html.escape(axis_names[0])}</text>')
    out.append(f'<text x="14" y="{top + height / 2:.2f}" text-anchor="middle" font-style="italic" '
               f'transform="rotate(-90 14 {top + height / 2:.2f})">{html.escape(axis_names[1])}</text>')
    return "".join(out) + "</svg>"


__all__ = ["drawing_svg", "clean_svg", "plot_svg", "UnsafeSVG"]
