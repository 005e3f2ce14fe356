"""Drawing → Graphviz DOT source: the network or computational graph the TikZ figure shows, for `dot`."""
from __future__ import annotations

import html

import sympy as sp

from ..notation import number_text
from ..prose import math_unicode
from .pretty import MathPrinter

ROLE_FILL = {"input": "gray92", "parameter": "gray92", "target": "gray92"}


def to_dot(drawing, digits: int = 4, exact: bool = False) -> str:
    """The DOT source of a drawing: every label HTML-escaped, names in the sheet's notation, numbers as the terminal."""
    import graphviz
    d = drawing.diagram
    writer = _Writer(drawing, digits, exact)
    dot = graphviz.Digraph("drawing", graph_attr={"rankdir": "LR", "newrank": "true", "nodesep": "0.5",
                                                  "ranksep": "1.1" if d.kind == "network" else "0.7",
                                                  "fontname": "Helvetica"},
                           node_attr={"fontname": "Helvetica", "fontsize": "12"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "10", "arrowsize": "0.7"})
    if d.kind == "network":   # straight arrows between the columns, as a sheet draws a network
        dot.attr(splines="line")
    if drawing.title:
        dot.attr(label=_html(html.escape(drawing.title)), labelloc="t", fontsize="14")
    ids = {u.id: f"n{i}" for i, u in enumerate(u for col in d.columns for u in col)}
    for k, col in enumerate(d.columns):
        with dot.subgraph(name=f"column{k}") as c:
            c.attr(rank="same")
            for u in col:
                c.node(ids[u.id], **writer.unit(u))
            for a, b in zip(col, col[1:]):   # keeps the column in the model's order, top to bottom
                c.edge(ids[a.id], ids[b.id], style="invis")
    for e in d.edges:
        dot.edge(ids[e.source], ids[e.target], **writer.edge(e))
    for k, table in enumerate(d.tables):
        dot.node(f"t{k}", _html(writer.table(table)), shape="plain")
        last = d.columns[-1]
        if last:   # beside the figure, right of its last column
            dot.edge(ids[last[0].id], f"t{k}", style="invis")
    return dot.source


def _small(text: str, colour: str | None = None) -> str:
    """Escaped text in a smaller font (and a colour), for an HTML-like label."""
    tint = f' COLOR="{colour}"' if colour else ""
    return f'<FONT POINT-SIZE="9"{tint}>{html.escape(text)}</FONT>'


def _html(text: str) -> str:
    """An HTML-like label (graphviz reads the <…> of a string that starts with < and ends with >)."""
    return f"<{text}>"


class _Writer:
    """The labels of one drawing: names through the terminal's math printer, numbers through number_text."""

    def __init__(self, drawing, digits: int, exact: bool):
        self.drawing, self.digits, self.exact = drawing, digits, exact
        self.math = MathPrinter(digits, exact, drawing.names)
        self.loss = self.name(drawing.loss)

    def name(self, name: str) -> str:
        """A name in the sheet's notation, one line of Unicode (not yet escaped)."""
        return self.math.form(sp.Symbol(name)).render(wrap_line=False)

    def number(self, x) -> str:
        """A number or a matrix as the terminal writes it (not yet escaped)."""
        if isinstance(x, sp.MatrixBase) and x.shape == (1, 1):
            x = x[0, 0]
        if isinstance(x, sp.MatrixBase):   # rows separated by ;, as a column vector [1; 2]
            rows = ["  ".join(number_text(v, self.digits, self.exact) for v in x.row(i)) for i in range(x.rows)]
            return "[" + "; ".join(rows) + "]"
        return number_text(x, self.digits, self.exact)

    def weight(self, weight, value) -> str | None:
        """A weight or bias as the TikZ figure writes it: its value when known, else its name."""
        if _numeric(value):
            return self.number(value)
        if weight is None:
            return None
        if _numeric(weight):
            return self.number(weight)
        text = str(weight)
        return "−" + self.name(text[1:]) if text.startswith("-") else self.name(text)

    def partial(self, name: str) -> str:
        """∂L/∂name in the sheet's notation."""
        return f"∂{self.loss}/∂{self.name(name)}"

    def unit(self, u) -> dict:
        """The attributes of a unit's node: its name (and activation) inside, bias and numbers beside it."""
        inside, beside = [], []
        if u.shape == "op":
            inside.append(html.escape("⊗"))
        elif u.kind == "gradient":
            inside.append(html.escape(self.partial(u.label)))
        elif u.label:
            inside.append(html.escape(self.name(u.label)))
        if u.activation:
            inside.append(_small(self._function(u.activation)))
        if u.bias is not None:
            bias = self.weight(u.bias, u.bias_value)
            if bias is not None:
                beside.append(_small(bias if bias.startswith(("-", "−")) else "+" + bias))
        if u.id in self.drawing.gradients and u.kind != "gradient":
            g = self.drawing.gradients[u.id]
            beside.append(_small(self.partial(str(u.bias).lstrip("-")) + " = " + self.number(g), "firebrick"))
        if u.id in self.drawing.values:
            colour = "firebrick" if u.kind == "gradient" else "navy"
            beside.append(_small("= " + self.number(self.drawing.values[u.id]), colour))
        # the numbers stand inside the node: graphviz places outside labels (xlabel) over the edges
        attrs = {"label": _html("<BR/>".join(inside + beside) or " ")}
        if u.shape == "box":
            attrs.update(shape="box", style="rounded,dashed" if u.dashed else "rounded")
            if u.kind in ROLE_FILL:
                attrs.update(style="rounded,filled", fillcolor=ROLE_FILL[u.kind])
        elif u.shape == "op":
            attrs.update(shape="circle", width="0.35")
        else:
            round_ = "circle" if not beside else "ellipse"   # a circle round several lines of numbers is huge
            attrs.update(shape=round_, margin="0.02")
            if u.kind == "loss":
                attrs["peripheries"] = "2"
            if u.kind == "input":
                attrs.update(style="filled", fillcolor="gray92")
        return attrs

    def _function(self, name: str) -> str:
        """An activation as the sheet writes it (relu → ReL), in Unicode as the terminal shows it."""
        sheet = self.drawing.names.get("functions", {}).get(name)
        return math_unicode(sheet) if isinstance(sheet, str) else name

    def edge(self, e) -> dict:
        """The attributes of an edge: its weight (unless a table holds it) and the weight's gradient."""
        attrs = {}
        if e.dashed:
            attrs["style"] = "dashed"
        if e.route == "back":
            attrs["constraint"] = "false"
        lines = []
        label = self.weight(e.weight, e.value) if e.labelled else None
        if label is not None:
            lines.append(html.escape(label))
        g = self.drawing.edge_gradients.get((e.source, e.target))
        if g is not None:
            lines.append(_small(self.partial(str(e.weight).lstrip("-")) + " = " + self.number(g), "firebrick"))
        if lines:
            attrs["label"] = _html("<BR/>".join(lines))
        return attrs

    def table(self, table) -> str:
        """A weight table as an HTML table: the source units across, the target units down."""
        cells = lambda row: "".join(f"<TD>{c}</TD>" for c in row)  # noqa: E731
        head = cells([""] + [html.escape(self.name(s)) for s in table.sources])
        rows = []
        for t, row in zip(table.targets, table.cells):
            texts = [html.escape(self.weight(*c) or "") if c is not None else "" for c in row]
            rows.append(f"<TR>{cells([html.escape(self.name(t))] + texts)}</TR>")
        title = f'<TR><TD COLSPAN="{len(table.sources) + 1}">weights: from (across) into (down)</TD></TR>'
        return ('<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
                + title + f"<TR>{head}</TR>" + "".join(rows) + "</TABLE>")


def _numeric(x) -> bool:
    return x is not None and not isinstance(x, str) and bool(sp.sympify(x).is_number)
