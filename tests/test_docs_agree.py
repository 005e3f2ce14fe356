"""The guide (docs/problem-format.md) and the program say the same: the network shorthand's nodes,
symbolic results in JSON written in the sheet's order, and every JSON key documented."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from backprop_tutor import loads, solve
from backprop_tutor.graph import build
from backprop_tutor.solver import solve as solve_graph

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "problem-format.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = GUIDE.index(f"\n## {title}")
    end = GUIDE.find("\n## ", start + 1)
    return GUIDE[start:end if end > 0 else None]


def yaml_blocks(text: str) -> list:
    return re.findall(r"```yaml\n(.*?)```", text, re.S)


def run(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "backprop_tutor", *map(str, args)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_network_shorthand_makes_the_forward_lines_the_guide_says_it_means():
    blocks = yaml_blocks(section("The `network` shorthand"))
    shorthand, meaning = blocks[0], blocks[1]
    assert "forward:" in meaning
    as_network = build(loads(shorthand))
    spelled = yaml.safe_load(shorthand)
    layers = spelled.pop("network")["layers"]
    spelled["parameters"] = {}
    for k, layer in enumerate(layers, start=1):
        spelled["parameters"][f"W{k}"] = layer["weights"]
        spelled["parameters"][f"b{k}"] = layer["bias"] if isinstance(layer["bias"], list) else [layer["bias"]]
    spelled["forward"] = yaml.safe_load(meaning)["forward"]
    as_lines = build(loads(yaml.safe_dump(spelled, sort_keys=False)))
    assert list(as_network.nodes) == list(as_lines.nodes)
    a, b = solve_graph(as_network), solve_graph(as_lines)
    assert a.values == b.values and a.deltas == b.deltas and a.gradients == b.gradients


def test_symbolic_json_is_written_as_the_terminal_writes_it(tmp_path):
    f = tmp_path / "logcosh.yaml"
    f.write_text("parameters:\n  y: null\ntargets:\n  t: 1\nloss: log_cosh(y, t)\n", encoding="utf-8")
    # the guide: "with t: 1 instead, the result is tanh(y - 1)"
    assert "tanh(y - 1)" in section("Symbols: values left open with `null`")
    solved = json.loads(run("solve", f, "--json"))
    assert solved["gradients"]["y"] == "tanh(y - 1)"
    assert solved["loss"] == "log(cosh(y - 1))"
    derived = json.loads(run("derive", f, "--wrt", "y", "--json"))
    assert derived["expression"] == "tanh(y - t)"
    assert derived["value"] == "tanh(y - 1)"
    terminal = run("derive", f, "--wrt", "y", "--no-color")
    assert "tanh(y - t)" in terminal and "tanh(y - 1)" in terminal


def test_a_fully_symbolic_derivative_keeps_the_order_it_is_written_in():
    text = "parameters:\n  y: null\ntargets:\n  t: null\nloss: log_cosh(y, t)\n"
    from backprop_tutor.render.jsonout import to_json
    assert to_json(solve(loads(text)))["gradients"]["y"] == "tanh(y - t)"


def documented_keys(title: str) -> set:
    text = section("JSON output")
    start = text.index(title)
    return set(re.findall(r"^\| `([a-z_]+)`", text[start:], re.M))


def test_every_key_of_solve_json_is_documented():
    data = json.loads(run("solve", ROOT / "problems" / "sheet12_p2.yaml", "--json", "--verify"))
    keys = documented_keys("### `tutor solve FILE --json`")
    assert set(data) <= keys, set(data) - keys
    assert "finite_differences" in data
    part_keys = {k for part in data["answers"].values() for k in part}
    part_keys |= {k for part in data["answers"].values() for k in part.get("exact", {})}
    for path in (ROOT / "problems").glob("*.yaml"):
        for part in json.loads(run("solve", path, "--json"))["answers"].values():
            part_keys |= set(part) | set(part.get("exact", {}))
    assert part_keys <= keys, part_keys - keys


def test_every_key_of_derive_json_is_documented():
    data = json.loads(run("derive", ROOT / "problems" / "sheet2_ex3.yaml", "--wrt", "w13", "--json"))
    keys = documented_keys("### `tutor derive FILE --wrt NAME --json`")
    assert set(data) <= keys, set(data) - keys
