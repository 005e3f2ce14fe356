"""tutor draw: the DOT source's nodes, edges and labels, the pictures dot makes, and its failures."""
from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from backprop_tutor import load, loads
from backprop_tutor.drawing import draw
from backprop_tutor.render.dot import to_dot
from helpers import cli

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted(p.name for p in (ROOT / "problems").glob("*.yaml"))
NODE = re.compile(r"^\s*(\w+) \[(.*)\]$")
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$")


def attributes(text: str) -> dict:
    """key=value pairs of a DOT attribute list; a value is <…> (nested), "…" or a bare word."""
    out, i = {}, 0
    while i < len(text):
        m = re.compile(r"\s*(\w+)=").match(text, i)
        if not m:
            break
        key, i = m.group(1), m.end()
        if text[i] == "<":
            depth, j = 0, i
            while True:
                depth += {"<": 1, ">": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
            out[key], i = text[i + 1:j - 1], j
        elif text[i] == '"':
            j = text.index('"', i + 1)
            out[key], i = text[i + 1:j], j + 1
        else:
            m = re.compile(r"[^\s\]]+").match(text, i)
            out[key], i = m.group(0), m.end()
    return out


def parse(source: str) -> tuple[dict, list]:
    """The visible nodes (id → attributes) and edges ((tail, head, attributes)) of DOT source."""
    nodes, edges = {}, []
    for line in source.splitlines():
        m = EDGE.match(line)
        if m:
            attrs = attributes(m.group(3) or "")
            if attrs.get("style") != "invis":
                edges.append((m.group(1), m.group(2), attrs))
            continue
        m = NODE.match(line)
        if m and m.group(1) not in ("graph", "node", "edge"):
            nodes[m.group(1)] = attributes(m.group(2))
    return nodes, edges


def lines(label: str) -> list:
    """The text lines of an HTML-like label, tags removed and entities decoded."""
    return [unicodedata.normalize("NFC", html.unescape(re.sub(r"<[^>]*>", "", part))) for part in label.split("<BR/>")]


def drawable(name: str) -> bool:
    return not load(ROOT / "problems" / name).samples


@pytest.mark.parametrize("name", PROBLEMS)
def test_every_bundled_network_has_a_node_per_unit_and_a_labelled_edge_per_connection(name):
    problem = load(ROOT / "problems" / name)
    kind = "network" if drawable(name) else "graph"
    drawing = draw(problem, kind)
    nodes, edges = parse(to_dot(drawing))
    units = [u for col in drawing.diagram.columns for u in col]
    ids = {u.id: f"n{i}" for i, u in enumerate(units)}
    assert {n for n in nodes if n.startswith("n")} == set(ids.values())
    assert sorted((a, b) for a, b, _ in edges if not b.startswith("t")) == \
        sorted((ids[e.source], ids[e.target]) for e in drawing.diagram.edges)
    assert len([n for n in nodes if n.startswith("t")]) == len(drawing.diagram.tables)
    for e in drawing.diagram.edges:
        label = next(attrs.get("label") for a, b, attrs in edges if (a, b) == (ids[e.source], ids[e.target]))
        if e.labelled and (e.weight is not None or e.value is not None):
            assert label is not None, (e.source, e.target)
        if not e.labelled:
            assert label is None   # its weight stands in the table beside the figure
    for u in units:   # the unit's own name (or ∂L/∂ of it) is the first line of its node
        first = lines(nodes[ids[u.id]]["label"])[0]
        if u.label and u.shape != "op":
            assert first.replace("−", "-").strip(), u.id


def test_network_numbers_are_the_files_and_an_independent_forward_and_backward_pass():
    """exercise3_sigmoid, by hand: x = (1, 2), xW layout, σ hidden units (bias 0.5), linear output (bias 0.1),
    L = ½(y − 1)²: each edge carries its weight and ∂L/∂w, each neuron its value and ∂L/∂b."""
    W, V, x = [[0.1, 0.2], [0.3, 0.4]], [0.5, 0.7], [1, 2]
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    h = [sig(x[0] * W[0][j] + x[1] * W[1][j] + 0.5) for j in range(2)]
    y = h[0] * V[0] + h[1] * V[1] + 0.1
    dy = y - 1
    drawing = draw(load(ROOT / "problems" / "exercise3_sigmoid.yaml"), gradients=True, values=True)
    nodes, edges = parse(to_dot(drawing))
    by_name = {lines(a["label"])[0]: n for n, a in nodes.items() if "label" in a and not n.startswith("t")}

    def number(text: str) -> float:
        return float(text.rsplit("=", 1)[-1].replace("−", "-"))

    def close(shown: str, value: float):
        assert math.isclose(number(shown), value, rel_tol=1e-3), (shown, value)

    xs, hs, out = [by_name["x₁"], by_name["x₂"]], [by_name["h⁽¹⁾₁"], by_name["h⁽¹⁾₂"]], by_name["y₁"]
    label = {(a, b): lines(attrs["label"]) for a, b, attrs in edges if "label" in attrs}
    for i in range(2):
        for j in range(2):
            weight, gradient = label[(xs[i], hs[j])]
            close(weight, W[i][j])
            assert gradient.startswith("∂L/∂W⁽¹⁾")
            close(gradient, dy * V[j] * h[j] * (1 - h[j]) * x[i])
        weight, gradient = label[(hs[i], out)]
        close(weight, V[i])
        close(gradient, dy * h[i])
    for j in range(2):
        text = lines(nodes[hs[j]]["label"])
        assert "sigmoid" in text and "+0.5" in text
        close(next(t for t in text if t.startswith("∂L/∂b⁽¹⁾")), dy * V[j] * h[j] * (1 - h[j]))
        close(text[-1], h[j])
    close(lines(nodes[out]["label"])[-1], y)
    close(lines(nodes[by_name["L"]]["label"])[-1], dy ** 2 / 2)


def test_dnn_a9_q2_graph_has_a_dashed_gradient_node_per_intermediate_and_weight_with_the_sheets_edges():
    drawing = draw(load(ROOT / "problems" / "dnn_a9_q2.yaml"), "graph", gradients=True)
    nodes, edges = parse(to_dot(drawing))
    name = {n: lines(a["label"])[0] for n, a in nodes.items()}
    of = {v: k for k, v in name.items()}
    gradients = {name[n].removeprefix("∂L/∂") for n, a in nodes.items() if name[n].startswith("∂L/∂")}
    assert gradients == {"W₁", "W₂", "W₃", "u₁", "z₁", "u₂", "z₂", "u₃", "y"}
    for n, a in nodes.items():
        assert ("dashed" in a.get("style", "")) == name[n].startswith("∂L/∂")
    values = {"x", "W₁", "W₂", "W₃", unicodedata.normalize("NFC", "ŷ"), "u₁", "z₁", "u₂", "z₂", "u₃", "y", "L"}
    assert {v for v in name.values() if not v.startswith("∂")} == values   # vectors and matrices, one node each
    pairs = {(name[a], name[b]) for a, b, _ in edges}
    for source, target in [("∂L/∂u₃", "∂L/∂z₁"), ("W₃", "∂L/∂z₁"), ("∂L/∂u₁", "∂L/∂W₁"), ("x", "∂L/∂W₁"),
                           ("∂L/∂y", "∂L/∂z₂"), ("∂L/∂y", "∂L/∂u₃"), ("∂L/∂z₁", "∂L/∂u₁"),
                           ("W₁", "u₁"), ("x", "u₁"), ("u₃", "y"), ("z₂", "y")]:
        assert (source, target) in pairs, (source, target)
    for a, b, attrs in edges:   # an edge into a gradient node is dashed, every other is not
        assert (attrs.get("style") == "dashed") == name[b].startswith("∂L/∂")
    assert of["∂L/∂W₁"] and len(edges) == len(drawing.diagram.edges)


def test_forward_graph_has_no_gradient_nodes():
    nodes, edges = parse(to_dot(draw(load(ROOT / "problems" / "dnn_a9_q2.yaml"), "graph")))
    assert len(nodes) == 12 and not any("dashed" in a.get("style", "") for a in nodes.values())


HOSTILE = '"> ]; evil -> n0 [label=<x> & </TD></TABLE> \\" }'


def test_hostile_title_and_names_cannot_break_the_dot_source(tmp_path):
    text = (f"title: {json.dumps(HOSTILE)}\n"
            "inputs: {x: 1}\nparameters: {w: 2}\ntargets: {t: 1}\nforward:\n  y: w * x\nloss: sse(y, t)\n"
            "notation:\n  names:\n    w: \"<b>] n9 -> n0 [<\"\n")
    problem = loads(text)
    source = to_dot(draw(problem, gradients=True))
    nodes, edges = parse(source)
    assert set(nodes) == {"n0", "n1", "n2"} and [(a, b) for a, b, _ in edges] == [("n0", "n1"), ("n1", "n2")]
    assert "evil" not in re.sub(r"label=<[^\n]*>", "", source)   # the title stays inside its label
    assert html.escape(HOSTILE) in source
    assert "&lt;b&gt;" in source and "n9" not in parse(source)[0]   # the sheet's name for w, escaped
    if shutil.which("dot"):
        laid = subprocess.run(["dot", "-Tjson"], input=source, capture_output=True, text=True, timeout=60)
        assert laid.returncode == 0, laid.stderr
        graph = json.loads(laid.stdout)
        assert {o["name"] for o in graph["objects"]} >= {"n0", "n1", "n2"} and "evil" not in {o["name"] for o in graph["objects"]}
        assert len([e for e in graph.get("edges", []) if e.get("style") != "invis"]) == 2


def run(*args, env=None, cwd=None):
    base = {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([sys.executable, "-m", "backprop_tutor", *map(str, args)], capture_output=True, text=True,
                          env={**base, **(env or {})}, cwd=cwd, timeout=120)


def test_dot_output_writes_the_source(tmp_path):
    out = tmp_path / "net.dot"
    result = cli("draw", ROOT / "problems" / "sheet12_p2.yaml", "-o", out, "--values")
    assert result.exit_code == 0, result.output
    nodes, edges = parse(out.read_text(encoding="utf-8"))
    assert nodes and edges


def test_svg_is_a_real_picture(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    out = tmp_path / "net.svg"
    result = run("draw", ROOT / "problems" / "dnn_a9_q2.yaml", "--graph", "--gradients", "-o", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    svg = out.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and svg.count('class="node"') == 21
    assert "∂L/∂W₁" in svg and len(svg) > 5000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.svg"]


def test_missing_dot_is_one_line_exit_3_and_nothing_written(tmp_path):
    out = tmp_path / "net.png"
    result = run("draw", ROOT / "problems" / "sheet12_p2.yaml", "-o", out, env={"PATH": str(tmp_path / "none")},
                 cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and "dot is not installed" in result.stderr and "net.png" in result.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".tutor-") or p.suffix == ".png"]


def test_unknown_extension_is_exit_2_before_anything_is_written(tmp_path):
    out = tmp_path / "net.jpg"
    result = cli("draw", ROOT / "problems" / "sheet12_p2.yaml", "-o", out)
    assert result.exit_code == 2 and "extension" in result.output and not out.exists()


def test_a_network_over_samples_asks_for_the_graph(tmp_path):
    result = cli("draw", ROOT / "problems" / "sheet2_ex2.yaml", "-o", tmp_path / "x.dot")
    assert result.exit_code == 2 and "--graph" in result.output and not (tmp_path / "x.dot").exists()
    assert cli("draw", ROOT / "problems" / "sheet2_ex2.yaml", "--graph", "-o", tmp_path / "x.dot").exit_code == 0


def test_help_does_not_import_graphviz():
    code = ("import sys\nfrom backprop_tutor.cli import main\nsys.argv = ['tutor', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nprint('graphviz' in sys.modules, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "")})
    assert "draw" in result.stdout and result.stderr.strip().endswith("False")


def test_activations_and_names_are_written_in_the_sheets_notation():
    nodes, _ = parse(to_dot(draw(load(ROOT / "problems" / "sheet2_ex1.yaml"))))
    texts = [lines(a["label"]) for a in nodes.values()]
    assert ["h₁", "ρ", "+0"] in texts and ["x₁"] in texts   # notation: relu → \rho; biases +0 as the figure


def fake_dot(folder: Path, body: str) -> Path:
    """A `dot` program on a PATH of its own that does what body says."""
    bin_ = folder / "bin"
    bin_.mkdir()
    dot = bin_ / "dot"
    dot.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    dot.chmod(0o755)
    return bin_


def test_a_dot_that_hangs_is_stopped_at_the_time_limit_and_the_old_picture_stays(tmp_path):
    out = tmp_path / "net.png"
    out.write_bytes(b"old")
    bin_ = fake_dot(tmp_path, "sleep 30")
    result = run("draw", ROOT / "problems" / "sheet12_p2.yaml", "-o", out, "--timeout", "1",
                 env={"PATH": f"{bin_}:/usr/bin:/bin"}, cwd=tmp_path)
    assert result.returncode == 3 and result.stderr.count("\n") == 1 and "within 1 s" in result.stderr
    assert out.read_bytes() == b"old"


def test_a_dot_that_fails_says_why_in_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "net.svg"
    bin_ = fake_dot(tmp_path, "echo 'Error: syntax error in line 1' >&2; exit 1")
    result = run("draw", ROOT / "problems" / "sheet12_p2.yaml", "-o", out,
                 env={"PATH": f"{bin_}:/usr/bin:/bin"}, cwd=tmp_path)
    assert result.returncode == 3 and result.stderr.count("\n") == 1
    assert "dot failed: Error: syntax error in line 1" in result.stderr and not out.exists()
