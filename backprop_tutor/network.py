"""The network: shorthand: layers of weights, biases and activations written out as forward lines.

`reader` is the problem file's builder (problem.py): its err, count, value, expr and check_name
read a key of the file and point an error at its line.
"""
from __future__ import annotations

import re

from .expr import did_you_mean
from .items import Leaf, Line
from .ops import ELEMENTWISE


def network(reader, inputs) -> tuple[list, list]:
    """The parameters and forward lines that network: stands for: per layer z = W @ h + b, then
    h = activation(z)."""
    net = reader.d["network"]
    if not isinstance(net, dict):
        raise reader.err("network must be a mapping with layout, input and layers", "network")
    for k in net:
        if k not in ("layout", "input", "layers", "output"):
            raise reader.err("unknown key (known: layout, input, layers, output)", f"network.{k}")
    layout = net.get("layout", "Wx")
    if layout not in ("Wx", "xW"):
        raise reader.err("layout must be Wx or xW", "network.layout")
    src = net.get("input")
    if not isinstance(src, str) or src not in {l.name for l in inputs}:
        raise reader.err("must name one of the inputs", "network.input")
    layers = net.get("layers")
    if not isinstance(layers, list) or not layers:
        raise reader.err("must be a list of layers", "network.layers")
    reader.count("nodes", 2 * len(layers), "forward lines (two per layer)", "network.layers")
    out_name = net.get("output", "y")
    reader.check_name(out_name, "network.output")
    given = {l.name for l in inputs} | {str(n) for k in ("parameters", "targets", "aliases")
                                        if isinstance(reader.d.get(k), dict) for n in reader.d[k]}
    if out_name in given:
        raise reader.err(f"the output's name {out_name!r} is already taken; choose another", "network.output")
    named = {str(l["name"]) for l in layers if isinstance(l, dict) and "name" in l}
    z_, h_, b_ = made_up_letters(given | named | {out_name})
    params, forward, h = [], [], src
    for i, layer in enumerate(layers, start=1):
        key = f"network.layers[{i - 1}]"
        if not isinstance(layer, dict) or "weights" not in layer:
            raise reader.err("each layer needs weights", key)
        for k in layer:
            if k not in ("weights", "bias", "activation", "name"):
                raise reader.err("unknown key (known: weights, bias, activation, name)", f"{key}.{k}")
        w_name = layer.get("name", f"W{i}")
        reader.check_name(w_name, f"{key}.name")
        w = reader.value(layer["weights"], f"{key}.weights")
        if not isinstance(w, list) or not isinstance(w[0], list):
            raise reader.err("weights must be a matrix (a list of rows)", f"{key}.weights")
        params.append(Leaf(w_name, w, reader.lines[f"{key}.weights"], f"{key}.weights"))
        n_out = len(w) if layout == "Wx" else len(w[0])
        act = layer.get("activation", "linear")
        if not isinstance(act, str) or act not in ELEMENTWISE:
            raise reader.err("unknown activation" + (did_you_mean(str(act), ELEMENTWISE)
                                                   or f" (known: {', '.join(ELEMENTWISE)})"), f"{key}.activation")
        z = f"{w_name} @ {h}" if layout == "Wx" else f"{h} @ {w_name}"
        if "bias" in layer:
            b = reader.value(layer["bias"], f"{key}.bias")
            if not isinstance(b, list):
                b = [b] * n_out
            params.append(Leaf(f"{b_}{i}", b, reader.lines[f"{key}.bias"], f"{key}.bias"))
            z += f" + {b_}{i}"
        last = i == len(layers)
        if last and act in ("linear", "identity"):
            forward.append(Line(out_name, reader.expr(z, key), z, reader.lines[key], key))
            break
        forward.append(Line(f"{z_}{i}", reader.expr(z, key), z, reader.lines[key], key))
        h = out_name if last else f"{h_}{i}"
        text = f"{act}({z_}{i})"
        forward.append(Line(h, reader.expr(text, key), text, reader.lines[key], key))
    return params, forward


# Letters for the names the shorthand makes up (net input, activation, bias of layer k), first choice first.
CANDIDATES = {"net input": ("z", "s", "u", "q"), "activation": ("h", "a", "o", "g"), "bias": ("b", "c", "e", "d")}


def made_up_letters(used: set) -> tuple:
    """The letters for zk, hk and bk: the first of each list that no name of the file is written with.

    A letter is in use when a name is the letter itself (a target z, whose entries read z₁ and z₂),
    the letter and a number (z1, z_1), or any name that reads as the letter with a subscript."""
    taken = {m.group(1) for n in used for m in [re.fullmatch(r"([A-Za-z])(?:_\w*|\d*)", n)] if m}
    chosen = []
    for options in CANDIDATES.values():
        letter = next((c for c in options if c not in taken and c not in chosen), options[0])
        chosen.append(letter)
    return tuple(chosen)
