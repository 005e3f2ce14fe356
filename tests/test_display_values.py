"""How names and values look: made-up names never clash, scalars as numbers, short vectors inline,
matrices aligned on the decimal point, upright word subscripts, no space before a function's bracket."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import sympy as sp

from backprop_tutor.graph import build
from backprop_tutor.notation import tex_name
from backprop_tutor.problem import load, loads
from backprop_tutor.render.latex import MathLatex
from backprop_tutor.render.pretty import MathPrinter

PROBLEMS = sorted((Path(__file__).resolve().parents[1] / "problems").glob("*.yaml"))


def shown(name: str, shape: tuple, names: dict) -> set:
    """How LaTeX shows a name and each of its entries."""
    out = {tex_name(name, names)}
    if len(shape) == 1:
        out |= {tex_name(f"{name}[{i}]", names) for i in range(1, shape[0] + 1)}
    elif len(shape) == 2:
        out |= {tex_name(f"{name}[{i},{j}]", names) for i in range(1, shape[0] + 1) for j in range(1, shape[1] + 1)}
    return out


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_no_made_up_name_looks_like_a_name_of_the_file(path):
    p = load(path)
    g = build(p)
    names = {"latex": dict(p.latex) | p.notation.name_map(), "aliases": {}}
    net = p.lines and any(k.startswith("network") for k in p.lines)
    given_keys = ("inputs.", "parameters.", "targets.", "forward.", "data", "loss")
    theirs, ours = set(), set()
    for item in (*p.inputs, *p.parameters, *p.derived, *p.targets, *p.forward):
        made_up = item.key.startswith("network.") and item.name not in _named_in_network(p) or \
            item.key == "recurrent.cell" and item.name in p.recurrence.nets  # the net inputs' letter is made up
        made_up = made_up or item.key == "recurrent.output"  # the file writes y1 … in its loss, but not y
        shape = g.nodes[item.name].shape if item.name in g.nodes else ()
        (ours if made_up else theirs).update(shown(item.name, shape, names))
        assert made_up or item.key.startswith(given_keys + ("network.", "recurrent.")), item.key
    assert not ours & theirs, (path.name, ours & theirs)
    if net:
        assert ours  # the check saw the made-up names


def _named_in_network(p) -> set:
    """The names a network: block gives itself (its output and named layers)."""
    import yaml
    raw = yaml.safe_load(Path(p.path).read_text(encoding="utf-8"))["network"]
    return {raw.get("output", "y")} | {l["name"] for l in raw["layers"] if "name" in l}


def test_a_target_named_z_moves_the_hidden_names_off_z():
    p = load(Path(PROBLEMS[0]).parent / "sheet12_p2.yaml")
    forward = [line.name for line in p.forward]
    assert not any(re.fullmatch(r"z\d+", n) for n in forward), forward
    assert "h1" in forward


NET = """\
inputs: {x: [1, -1]}
network:
  layout: Wx
  input: x
  layers:
    - {weights: [[0.5, 0.3], [-0.2, 0.1]], bias: [0.1, 0.2], activation: relu}
    - {weights: [[0.4, -0.3]], activation: linear}
targets: {TARGET: 0.5}
loss: sse(y, TARGET)
"""


@pytest.mark.parametrize("target, expect", [("t", ("z1", "h1", "b1")), ("z", ("s1", "h1", "b1")),
                                            ("h_1", ("z1", "a1", "b1")), ("b", ("z1", "h1", "c1"))])
def test_the_made_up_letters_step_aside(target, expect):
    p = loads(NET.replace("TARGET", target))
    made = {line.name for line in p.forward} | {q.name for q in p.parameters}
    assert set(expect) <= made, made


def test_a_made_up_name_still_computes_the_same():
    from backprop_tutor.solver import solve
    a, b = solve(loads(NET.replace("TARGET", "t"))), solve(loads(NET.replace("TARGET", "z")))
    # z = (0.5 - 0.3 + 0.1, -0.2 - 0.1 + 0.2) = (0.3, -0.1), h = (0.3, 0), y = 0.4 * 0.3 = 0.12
    assert a.loss == b.loss == (sp.Rational(12, 100) - sp.Rational(1, 2)) ** 2
    assert a.gradients["W1"] == b.gradients["W1"]


# ---------------------------------------------------------------- values

def pretty(value, **kw) -> str:
    return MathPrinter(**kw).form(value).render(wrap_line=False)


def test_a_one_by_one_value_is_a_number_everywhere():
    one = sp.Matrix([[sp.Rational(17, 10)]])
    assert pretty(one) == "1.7"
    assert MathLatex().doprint(one) == "1.7"
    assert pretty(sp.Matrix([sp.Rational(4, 5)])) == "0.8"


def test_short_vectors_are_written_on_the_line():
    assert pretty(sp.Matrix([sp.Rational(-9, 10), sp.Rational(3, 2)])) == "(-0.9, 1.5)ᵀ"
    assert pretty(sp.Matrix([[sp.Rational(-1, 5), sp.Rational(3, 5)]])) == "(-0.2, 0.6)"
    long = pretty(sp.Matrix([1, 2, 3, 4, 5]))
    assert "\n" in long and "ᵀ" not in long  # five entries: a column again


def test_matrix_entries_line_up_on_the_decimal_point_in_the_terminal():
    m = sp.Matrix([[sp.Rational(-7, 10), sp.Rational(2, 10)], [sp.Rational(9, 10), 12]])
    lines = pretty(m).split("\n")
    assert lines == ["⎡-0.7   0.2⎤", "⎣ 0.9  12  ⎦"]  # each column on its point, 12 as 12.


def test_matrix_entries_line_up_on_the_decimal_point_in_latex():
    m = sp.Matrix([[sp.Rational(-7, 10), sp.Rational(2, 10)], [sp.Rational(9, 10), 12]])
    tex = MathLatex().doprint(m)
    assert tex == ("\\begin{bmatrix}-0.7 & \\phantom{0}0.2 \\\\ "
                   "\\phantom{-}0.9 & 12\\phantom{.0}\\end{bmatrix}")


def test_rounded_values_keep_their_trailing_zeros():
    x = sp.Rational(3160001, 10 ** 7)  # 0.3160001 at 4 digits
    assert pretty(x) == "0.3160"
    assert MathLatex().doprint(x) == "0.3160"
    assert pretty(sp.Float("0.999996", 30)) == "1.000"


# ---------------------------------------------------------------- names and calls

@pytest.mark.parametrize("name, tex", [("Z_in", "Z_{\\mathrm{in}}"), ("A_out", "A_{\\mathrm{out}}"),
                                       ("Z_in[1]", "Z_{\\mathrm{in},1}"), ("x_1^(2)", "x_{1}^{(2)}"),
                                       ("x_i", "x_{i}"), ("W2[2,1]", "W^{(2)}_{21}")])
def test_word_subscripts_are_upright_and_scripts_stack(name, tex):
    assert tex_name(name) == tex


def test_no_space_before_a_functions_bracket():
    z = sp.Symbol("z")
    from backprop_tutor.ops import relu
    for expr in (sp.tanh(z), 1 - sp.tanh(z) ** 2, relu(z), sp.log(sp.cosh(z))):
        tex = MathLatex().doprint(expr)
        assert "{\\left(" not in tex and re.search(r"(tanh|relu\}|log|cosh)(\^\{2\})?\\mathopen\{\}\\left\(", tex), tex
        assert not re.search(r"\w \(|\u2061", pretty(expr)), pretty(expr)


# ---------------------------------------------------------------- givens, and a renamed sheet typeset

def test_the_givens_take_two_lines_in_the_terminal():
    from helpers import cli
    out = cli("solve", Path(PROBLEMS[0]).parent / "ws24_sheet4_ex1.yaml", "--no-color")
    assert out.exit_code == 0
    given = out.output.split("(ii) Given")[1].split("(iii)")[0]
    lines = [line.strip() for line in given.splitlines() if line.strip() and "─" not in line]
    assert lines == ["x = (1, 1)ᵀ, y = 2", "u = ⎡-0.7  0.2⎤, c = (-0.4, 0.1)ᵀ, v = (-0.2, 0.6), d = 0.8",
                     "⎣ 0.9  0.5⎦"]


def test_the_givens_share_lines_in_latex():
    from backprop_tutor.render.latex import to_latex
    from backprop_tutor.solver import solve
    tex = to_latex(solve(load(Path(PROBLEMS[0]).parent / "ws24_sheet4_ex1.yaml")))
    block = tex.split("\\begin{gather*}")[1].split("\\end{gather*}")[0]
    assert block.count("\\\\\n") <= 2 and "x = " in block and "d = 0.8" in block


RENAMED = """
notation:
  loss: \\mathcal{L}
  activations:
    relu: \\mathrm{ReL}
  names:
    Z_in: Z_{\\mathrm{in}}
    Z_out: Z_{\\mathrm{out}}
    A_in: A_{\\mathrm{in}}
    A_out: A
    u: \\mathbf{u}
    "u[1,1]": u_{11}
"""


def test_a_renamed_bundled_file_typesets_without_overfull_boxes():
    import shutil
    from backprop_tutor.export import typeset
    from backprop_tutor.render.latex import to_latex
    from backprop_tutor.solver import solve
    from backprop_tutor.texlog import read_log
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    text = (Path(PROBLEMS[0]).parent / "ws24_sheet4_ex1.yaml").read_text(encoding="utf-8")
    text = re.sub(r"\nnotation:\n(  .*\n)+", "\n", text) + RENAMED
    tex = to_latex(solve(loads(text)))
    assert "\\mathcal{L}" in tex and "\\mathbf{u}" in tex and "{\\mathrm{ReL}}\\mathopen{}" in tex
    pdf, log = typeset(tex.encode("utf-8"))
    facts = read_log(log)
    assert pdf and facts.pages >= 1
    assert facts.overfull == (), facts.overfull


def test_a_one_entry_output_is_a_number_in_every_printer():
    from helpers import cli
    from backprop_tutor.render.latex import to_latex
    from backprop_tutor.render.markdown import to_markdown
    from backprop_tutor.solver import solve
    path = Path(PROBLEMS[0]).parent / "ws24_sheet4_ex1.yaml"
    solution = solve(load(path))
    for text in (to_latex(solution), to_markdown(solution), cli("solve", path, "--no-color").output):
        # (LaTeX boxes it where it is computed: the answer of part (iii))
        assert re.search(r"= (\\boxed\{)?1\.7\b", text) and "[1.7]" not in text and "bmatrix}1.7" not in text
    import json
    assert json.loads(cli("solve", path, "--json").output)["values"]["A_out"] == [1.7]  # JSON keeps the shape


def test_a_negative_one_entry_factor_keeps_its_parentheses():
    d = sp.Matrix([[sp.Rational(-3, 5)]])
    product = sp.MatMul(sp.Matrix([sp.Rational(-1, 5), sp.Rational(3, 5)]), d, evaluate=False)
    assert pretty(product) == "(-0.2, 0.6)ᵀ⋅(-0.6)"
    assert MathLatex().doprint(product).endswith("\\left(-0.6\\right)")
    hadamard = sp.HadamardProduct(d, sp.Matrix([[1]]), evaluate=False)
    assert pretty(hadamard) == "(-0.6)∘1"
