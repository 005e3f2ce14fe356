"""The recurrent: block: one cell unrolled over its time steps into ordinary forward lines sharing
the weights (h1 = cell(h0, x1), h2 = cell(h1, x2), …), read at problem reading time.

`reader` is the problem file's builder (problem.py): its err, count, expr and check_name read a key
of the file and point an error at its line.
"""
from __future__ import annotations

from fractions import Fraction

from .expr import Call, Name, names_in, rename
from .items import Line, Recurrence
from .network import made_up_letters
from .ops import ELEMENTWISE

KEYS = ("steps", "state", "init", "inputs", "cell", "output", "net", "outputs")
PREVIOUS, CURRENT = "_prev", "_t"  # h_prev: the state of the step before; x_t, h_t: this step's


def at_step(base: str, t: int) -> str:
    """The name of a quantity at time step t: h → h3, and s1 → s1_3 (a name ending in a digit)."""
    return f"{base}_{t}" if base[-1].isdigit() else f"{base}{t}"


def recurrence(reader, inputs, given: set) -> tuple[list, Recurrence]:
    """The forward lines recurrent: stands for, step by step (net input, state, output), and which
    names belong to which step. `given` holds every name the file defines elsewhere."""
    block = reader.d["recurrent"]
    if not isinstance(block, dict):
        raise reader.err("recurrent must be a mapping such as {steps: 3, state: h, init: h0, inputs: x, "
                         "cell: \"tanh(W @ h_prev + U @ x_t + b)\", output: \"V @ h\"}", "recurrent")
    for k in block:
        if k not in KEYS:
            raise reader.err(f"unknown key (known: {', '.join(KEYS)})", f"recurrent.{k}")
    for k in ("steps", "state", "init", "cell"):
        if k not in block:
            raise reader.err(f"the key {k!r} is required", "recurrent")
    steps = _steps(reader, block["steps"])
    names = {k: _name(reader, block, k) for k in ("state", "init", "inputs", "net", "outputs")}
    state, init = names["state"], names["init"]
    if init not in given:
        raise reader.err(f"{init!r} is not defined: the state before step 1 is one of the inputs or parameters",
                         "recurrent.init")
    xs = ()
    if names["inputs"] is not None:
        xs = tuple(at_step(names["inputs"], t) for t in range(1, steps + 1))
        known = {leaf.name for leaf in inputs}
        missing = [x for x in xs if x not in known]
        if missing:
            raise reader.err(f"{missing[0]!r}, the input of step {xs.index(missing[0]) + 1}, is not among the "
                             f"inputs: give {', '.join(xs)} under inputs:", "recurrent.inputs")
    cell = _expression(reader, block, "cell")
    output = _expression(reader, block, "output") if "output" in block else None
    placeholders = {state + PREVIOUS, state + CURRENT, state}
    if names["inputs"] is not None:
        placeholders.add(names["inputs"] + CURRENT)
    clash = sorted(placeholders & given)
    if clash:
        raise reader.err(f"{clash[0]!r} stands for a time step in the cell; the file may not define it too",
                         "recurrent.state")
    used = names_in(cell)
    if state + PREVIOUS not in used:
        raise reader.err(f"the cell must use {state}{PREVIOUS}, the state of the step before", "recurrent.cell")
    for own in (state, state + CURRENT):
        if own in used:
            raise reader.err(f"the cell defines {own} itself: write {state}{PREVIOUS} for the state of the "
                             "step before", "recurrent.cell")
    if output is not None and state + PREVIOUS in names_in(output):
        raise reader.err(f"the output is read from this step's state: write {state}, not {state}{PREVIOUS}",
                         "recurrent.output")
    split = isinstance(cell, Call) and cell.func in ELEMENTWISE and len(cell.args) == 1 \
        and not isinstance(cell.args[0], Name)
    # a made-up net input steps aside, as the network: shorthand's does, for a letter the file writes with
    net = names["net"] or made_up_letters(given | {state, init, names["inputs"] or "", names["outputs"] or "y"})[0]
    out = names["outputs"] or ("y" if state != "y" else "o")
    if names["net"] is not None and not split:
        raise reader.err("net names the argument of the cell's activation, as in tanh(W @ h_prev + U @ x_t + b); "
                         "this cell has none", "recurrent.net")
    if names["outputs"] is not None and output is None:
        raise reader.err("outputs names the output of each step: give output: too", "recurrent.outputs")
    hs = (init,) + tuple(at_step(state, t) for t in range(1, steps + 1))
    zs = tuple(at_step(net, t) for t in range(1, steps + 1)) if split else ()
    ys = tuple(at_step(out, t) for t in range(1, steps + 1)) if output is not None else ()
    made = hs[1:] + zs + ys
    if len(set(made)) < len(made):
        raise reader.err("state, net and outputs must be different names", "recurrent")
    for key, made in (("state", hs[1:]), ("net", zs), ("outputs", ys)):
        taken = [n for n in made if n in given or n == init]
        if taken:
            raise reader.err(f"{taken[0]!r} is already defined in the file; the unrolled steps need it "
                             f"(name the {key} otherwise with {key}:)", f"recurrent.{key}")
    lines = []
    cell_line, out_line = reader.lines["recurrent.cell"], reader.lines.get("recurrent.output")
    cell_text, out_text = reader.texts.get("recurrent.cell", ""), reader.texts.get("recurrent.output", "")
    for t in range(1, steps + 1):
        names_t = {state + PREVIOUS: hs[t - 1]}
        if xs:
            names_t[names["inputs"] + CURRENT] = xs[t - 1]
        body = rename(cell, names_t)
        if split:
            lines.append(Line(zs[t - 1], body.args[0], cell_text, cell_line, "recurrent.cell"))
            body = Call(body.func, (Name(zs[t - 1]),))
        lines.append(Line(hs[t], body, cell_text, cell_line, "recurrent.cell"))
        if output is not None:
            names_t |= {state: hs[t], state + CURRENT: hs[t]}
            lines.append(Line(ys[t - 1], rename(output, names_t), out_text, out_line, "recurrent.output"))
    bases = (state, net if split else None, names["inputs"], out if output is not None else None)
    return lines, Recurrence(steps, hs, zs, xs, ys, bases)


def _steps(reader, raw) -> int:
    if isinstance(raw, Fraction) and raw.denominator == 1 and raw >= 1:
        reader.count("recurrent_steps", int(raw), "time steps", "recurrent.steps")
        return int(raw)
    raise reader.err("must be a whole number of time steps, at least 1", "recurrent.steps")


def _name(reader, block, key) -> str | None:
    raw = block.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise reader.err("must be a name", f"recurrent.{key}")
    reader.check_name(raw, f"recurrent.{key}")
    return raw


def _expression(reader, block, key):
    text = block[key]
    if not isinstance(text, (str, Fraction)):
        raise reader.err("must be an expression", f"recurrent.{key}")
    return reader.expr(text, f"recurrent.{key}")
