"""The notation: block: the sheet's loss symbol, function names and display names, in every printer but JSON."""
from __future__ import annotations

import json

import pytest

from backprop_tutor import problem as problem_module
from backprop_tutor.sheetnotation import Notation
from backprop_tutor.solver import solve
from backprop_tutor.render.latex import to_latex
from backprop_tutor.render.markdown import to_markdown

from helpers import cli

BASE = """\
inputs: {x: [1, 1]}
parameters:
  u: [[-0.7, 0.2], [0.9, 0.5]]
  c: [-0.4, 0.1]
  v: [[-0.2, 0.6]]
  d: [0.8]
targets: {y: [2]}
forward:
  Z_in: u @ x + c
  Z_out: relu(Z_in)
  A: v @ Z_out + d
loss: sse(A, y)
aliases: {u11: "u[1,1]"}
"""
NOTATION = """\
notation:
  loss: E
  activations:
    relu: \\mathrm{ReL}
  names:
    Z_in: Z_{\\mathrm{in}}
    Z_out: Z_{\\mathrm{out}}
  delta: output
"""


def write(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_block_is_read_into_a_frozen_notation():
    p = problem_module.loads(BASE + NOTATION)
    assert p.notation.loss == "E"
    assert p.notation.function_map() == {"relu": "\\mathrm{ReL}"}
    assert p.notation.name_map() == {"Z_in": "Z_{\\mathrm{in}}", "Z_out": "Z_{\\mathrm{out}}"}
    assert p.notation.delta == "output"
    with pytest.raises(AttributeError):
        p.notation.loss = "L"


def test_without_the_block_nothing_is_set():
    p = problem_module.loads(BASE)
    assert p.notation == Notation()
    assert p.notation.delta is None and p.notation.loss is None


@pytest.mark.parametrize("delta", ["output", "input"])
def test_both_delta_conventions_are_stored(delta):
    assert problem_module.loads(BASE + f"notation: {{delta: {delta}}}\n").notation.delta == delta


def test_the_terminal_writes_the_sheets_symbols(tmp_path):
    plain = cli("solve", write(tmp_path, BASE, "a.yaml"), "--no-color")
    sheet = cli("solve", write(tmp_path, BASE + NOTATION, "b.yaml"), "--no-color")
    assert plain.exit_code == 0 and sheet.exit_code == 0, sheet.output
    assert "∂L/∂" in plain.output and "relu(" in plain.output and "Z_in" not in plain.output
    assert "∂E/∂" in sheet.output and "∂L/∂" not in sheet.output
    assert "ReL(Zᵢₙ,₁)" in sheet.output and "relu(Z" not in sheet.output   # per neuron: a layer of two units
    assert "\n  E = SSE(A, y)" in sheet.output


def test_latex_and_markdown_write_the_sheets_symbols():
    for text in (to_latex(solve(problem_module.loads(BASE + NOTATION))),
                 to_markdown(solve(problem_module.loads(BASE + NOTATION)))):
        assert "\\partial E}" in text and "\\partial L}" not in text
        assert "Z_{\\mathrm{in},1}" in text and "{\\mathrm{ReL}}\\mathopen{}\\left(" in text  # per neuron
        assert "\\operatorname{relu}" not in text


def test_json_keeps_the_files_names(tmp_path):
    plain = cli("solve", write(tmp_path, BASE, "a.yaml"), "--json")
    sheet = cli("solve", write(tmp_path, BASE + NOTATION, "b.yaml"), "--json")
    assert plain.exit_code == 0 and sheet.exit_code == 0
    a, b = json.loads(plain.output), json.loads(sheet.output)
    assert a["title"] != b["title"]  # the file names differ; everything else must not
    a.pop("title"), b.pop("title")
    assert a == b
    assert "Z_in" in plain.output and "Z_{" not in sheet.output


def test_derive_takes_the_files_names_and_shows_the_sheets(tmp_path):
    out = cli("derive", write(tmp_path, BASE + NOTATION), "--wrt", "u11", "--no-color")
    assert out.exit_code == 0, out.output
    assert "∂E/∂u₁₁" in out.output


def test_names_supersede_the_latex_map_and_the_terminal_ignores_latex():
    text = BASE + 'latex: {Z_in: "\\\\mathbf{z}", A: "\\\\hat{A}"}\n' + NOTATION
    tex = to_latex(solve(problem_module.loads(text)))
    assert "Z_{\\mathrm{in},1}" in tex and "\\mathbf{z}" not in tex  # the element, per neuron
    assert "\\hat{A}" in tex  # a latex: entry the names leave alone still counts


@pytest.mark.parametrize("block, line, key, words", [
    ("notation: [E]\n", 14, "notation", "must be a mapping"),
    ("notation:\n  lose: E\n", 15, "notation.lose", "did you mean loss?"),
    ("notation:\n  loss: \\input{/etc/passwd}\n", 15, "notation.loss", "\\input is not an allowed command"),
    ("notation:\n  loss: ''\n", 15, "notation.loss", "is empty"),
    ("notation:\n  loss: " + "E" * 300 + "\n", 15, "notation.loss", "300 characters long"),
    ("notation:\n  activations:\n    rleu: R\n", 15, "notation.activations", "did you mean relu?"),
    ("notation:\n  activations:\n    relu: \\write18\n", 16, "notation.activations.relu", "not an allowed"),
    ("notation:\n  activations: relu\n", 15, "notation.activations", "must map functions"),
    ("notation:\n  names:\n    Q: Q_1\n", 15, "notation.names", "not a name of this file"),
    ("notation:\n  names:\n    Z_n: Z\n", 15, "notation.names", "did you mean Z_in?"),
    ("notation:\n  names:\n    \"x y\": Z\n", 15, "notation.names", "is not a name"),
    ("notation:\n  names:\n    Z_in: \"Z_{in\"\n", 16, "notation.names.Z_in", "without its '}'"),
    ("notation:\n  names:\n    Z_in: 3\n", 16, "notation.names.Z_in", "must be text"),
    ("notation:\n  delta: outptu\n", 15, "notation.delta", "not a delta convention"),
    ("notation:\n  delta: [output]\n", 15, "notation.delta", "not a delta convention"),
])
def test_bad_notation_stops_with_file_line_and_key(tmp_path, block, line, key, words):
    path = write(tmp_path, BASE + block)
    out = cli("solve", path, "--no-color")
    assert out.exit_code == 2, out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 1, out.output
    assert lines[0].startswith(f"error: {path}:{line}: {key}: "), lines[0]
    assert words in lines[0]


def test_too_many_names_is_a_limit(tmp_path):
    names = "".join(f"    Z_in[{i}]: Z_{{{i}}}\n" for i in range(1, 200))
    out = cli("solve", write(tmp_path, BASE + "notation:\n  names:\n" + names), "--no-color")
    assert out.exit_code == 2 and "notation.names" in out.output and "limit" in out.output


def test_a_function_name_is_checked_again_where_latex_is_written():
    from msgspec.structs import replace
    from backprop_tutor.errors import ProblemError
    from backprop_tutor.sheetnotation import Notation
    p = problem_module.loads(BASE)
    bad = replace(p, notation=Notation(activations=(("relu", "\\input{x}"),)))
    with pytest.raises(ProblemError) as e:
        to_latex(solve(bad))
    assert e.value.key == "notation.activations.relu"
