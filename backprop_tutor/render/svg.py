"""A drawing as SVG for a web page or a notebook: laid out by the sandboxed dot, then rebuilt from a short list of safe parts."""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from ..errors import ExternalError
from ..export import DEFAULT_TIMEOUT, layout_dot
from .dot import to_dot

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


__all__ = ["drawing_svg", "clean_svg", "UnsafeSVG"]
