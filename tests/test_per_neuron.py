"""Per-neuron notation: every component step of the bundled layered problems against sums the test
computes itself from the file's numbers (Wx and xW layouts), and against the matrix form's results."""
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp
import yaml

from backprop_tutor.derivation import derive
from backprop_tutor.expr import BinOp, Name, names_in
from backprop_tutor.errors import ProblemError, UsageError
from backprop_tutor.problem import load, loads
from backprop_tutor.solution import Delta, Forward, Gradient, Reference
from backprop_tutor.solver import solve

ROOT = Path(__file__).resolve().parent.parent
def linear_parts(line):
    """(left, right, bias) of a line `a @ b` or `a @ b + c` of names, read from its parsed expression
    (an unrolled recurrent line's text is its cell's, not its own); None for any other line."""
    e, bias = line.expr, None
    if isinstance(e, BinOp) and e.op == "+" and isinstance(e.right, Name):
        e, bias = e.left, e.right.id
    if isinstance(e, BinOp) and e.op == "@" and isinstance(e.left, Name) and isinstance(e.right, Name):
        return e.left.id, e.right.id, bias
    return None


def exact(v):
    """A YAML number (or nested list of them) as an exact Rational, from its decimal text."""
    if isinstance(v, list):
        return [exact(x) for x in v]
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        raise TypeError(v)
    f = Fraction(str(v))
    return sp.Rational(f.numerator, f.denominator)


def given(path) -> dict:
    """The file's inputs and parameters by name, read from the YAML alone (a network: shorthand's
    layers in order as W1, its bias, W2, …, the names the problem gives them)."""
    raw = yaml.safe_load(Path(path).read_text())
    out = {k: v for k, v in {**raw.get("inputs", {}), **(raw.get("parameters") or {})}.items()}
    if "network" in raw:
        values = []
        for layer in raw["network"]["layers"]:
            values.append(layer["weights"])
            if "bias" in layer:
                values.append(layer["bias"])
        out.update(zip([leaf.name for leaf in load(path).parameters], values))
    return out


def numeric(path) -> bool:
    """Whether every given value is a number (a sheet of symbols has no sums to check)."""
    try:
        [exact(v) for v in given(path).values()]
    except TypeError:
        return False
    return True


LAYERED = [p for p in sorted((ROOT / "problems").glob("*.yaml"))
           if any(linear_parts(line) for line in load(p).forward) and load(p).dataset is None
           and numeric(p)]


def close(a, b) -> bool:
    """Equal exactly for rationals, to 30 digits otherwise (sigmoid values)."""
    a, b = sp.sympify(a), sp.sympify(b)
    if a.is_Rational and b.is_Rational:
        return a == b
    return abs(sp.N(a - b, 40)) < sp.Float("1e-30")


def vector(leaf_or_value) -> list:
    """A vector as a list: a leaf's Fractions as the file gives them, or an engine value's entries."""
    if isinstance(leaf_or_value, list):
        return leaf_or_value
    return list(leaf_or_value)


def linear_layers(problem, matrix):
    """(name, W, layout, input name, input values, bias) for each line `W @ x (+ b)` or `x @ W (+ b)`."""
    leaves = {k: exact(v) for k, v in given(problem.path).items()}
    params = {leaf.name for leaf in problem.parameters}
    for line in problem.forward:
        parts = linear_parts(line)
        if not parts:
            continue
        left, right, bias = parts
        w, x, layout = (left, right, "Wx") if left in params else (right, left, "xW")
        if w not in leaves:
            continue  # a product of two computed values (attention's A @ V): no layer's given weights
        if not isinstance(leaves[w], list) or not isinstance(leaves[w][0], list):
            continue  # a weight vector: a dot product, a single unit
        W = leaves[w]
        xs = vector(leaves[x]) if x in leaves else vector(matrix.values[x])
        if isinstance(xs[0], list):
            continue  # a batch, one sample per row (X @ W): not the neurons of one layer
        b = (leaves[bias] if isinstance(leaves[bias], list) else [leaves[bias]] * 99) if bias else None
        yield line.name, w, W, layout, x, xs, b


@pytest.mark.parametrize("path", LAYERED, ids=[p.stem for p in LAYERED])
def test_neuron_steps_equal_the_matrix_results_component_by_component(path):
    problem = load(path)
    neuron, matrix = solve(problem, notation="neuron"), solve(problem, notation="matrix")
    forward = {}
    for s in neuron.steps():  # the first pass: one after an update has other values
        if isinstance(s, Forward):
            forward.setdefault(s.name, s)
    deltas = {s.name: s for s in neuron.steps() if isinstance(s, Delta)}
    grads = {(s.name, s.index): s for s in neuron.steps() if isinstance(s, Gradient) and s.index}
    shown = {s.name for s in matrix.steps() if isinstance(s, Forward)}
    checked = 0
    layers = list(linear_layers(problem, matrix))
    uses = {w: sum(w in names_in(line.expr) for line in problem.forward) for _, w, *_ in layers}
    for name, w, W, layout, x, xs, b in layers:
        rows = len(W) if layout == "Wx" else len(W[0])
        for j in range(rows):
            terms = ([(W[j][i], xs[i]) for i in range(len(xs))] if layout == "Wx"
                     else [(W[i][j], xs[i]) for i in range(len(xs))])
            expected = sum(a * c for a, c in terms) + (b[j] if b else 0)
            assert close(expected, matrix.values[name][j])
            step = forward.get(f"{name}[{j + 1}]")
            assert (step is None) == (name not in shown)  # each line the sheet asks for, per neuron
            if step is None:
                continue
            assert close(step.value, expected)
            # the sum is written with the sheet's indices: W_ji x_i (Wx) or W_ij x_i (xW)
            want = {sp.Symbol(f"{w}[{j + 1},{i + 1}]" if layout == "Wx" else f"{w}[{i + 1},{j + 1}]", real=True)
                    * sp.Symbol(f"{x}[{i + 1}]", real=True) for i in range(len(xs))}
            assert want <= set(sp.Add.make_args(step.formula))
            checked += 1
        # δ of the layer's input: Σ_j W_ji δ_j (Wx) or Σ_j W_ij δ_j (xW), and each weight's gradient
        if name in matrix.deltas:
            d = list(matrix.deltas[name])
            for i in range(len(xs)):
                key = f"{x}[{i + 1}]"
                if key in deltas and deltas[key].users == (name,):
                    want = sum((W[j][i] if layout == "Wx" else W[i][j]) * d[j] for j in range(len(d)))
                    assert close(deltas[key].value, want)
                    checked += 1
                elif key in deltas:  # more users (a recurrent state): this layer's terms are among the sum's
                    terms = {sp.Symbol(f"{w}[{j + 1},{i + 1}]" if layout == "Wx" else f"{w}[{i + 1},{j + 1}]",
                                       real=True) * sp.Symbol(f"delta_{name}[{j + 1}]", real=True)
                             for j in range(len(d))}
                    assert terms <= set(sp.Add.make_args(deltas[key].formula))
                    checked += 1
        # a weight the lines share (a recurrent cell's) has the sum of their terms as its gradient
        sharing = [(list(matrix.deltas[n]), ys) for n, v, _, _, _, ys, _ in layers if v == w and n in matrix.deltas]
        if w in matrix.gradients and len(sharing) == uses[w]:
            G = matrix.gradients[w]
            for j in range(len(d)):
                for i in range(len(xs)):
                    index = (j + 1, i + 1) if layout == "Wx" else (i + 1, j + 1)
                    total = sum(dd[j] * ys[i] for dd, ys in sharing)
                    assert close(G[index[0] - 1, index[1] - 1], total)
                    if (w, index) in grads:
                        assert close(grads[(w, index)].value, total)
                        checked += 1
    # every other component against the matrix form's value
    for key, step in forward.items():
        m = re.fullmatch(r"(\w+)\[(\d+)\]", key)
        if m:
            assert close(step.value, matrix.values[m.group(1)][int(m.group(2)) - 1])
    for key, step in deltas.items():
        m = re.fullmatch(r"(\w+)\[(\d+)\]", key)
        if m and m.group(1) in matrix.deltas:
            assert close(step.value, matrix.deltas[m.group(1)][int(m.group(2)) - 1])
    if not checked and not list(linear_layers(problem, matrix)):
        pytest.skip("its linear line multiplies a batch (X @ W), not the neurons of one layer")
    assert checked, "some component was checked"


def test_both_layouts_are_among_the_checked_problems():
    layouts = {layout for p in LAYERED
               for *_, layout, _x, _xs, _b in linear_layers(load(p), solve(load(p), notation="matrix"))}
    assert layouts == {"Wx", "xW"}


def test_matrix_form_has_no_component_steps_and_both_has_each():
    problem = load(ROOT / "problems" / "dnn_a9_q3.yaml")
    matrix, both = solve(problem, notation="matrix"), solve(problem, notation="both")
    assert not any("[" in getattr(s, "name", "") for s in matrix.steps() if isinstance(s, Forward))
    names = [s.name for s in both.steps() if isinstance(s, Forward)]
    assert names.index("u1") < names.index("u1[1]") < names.index("u1[3]") < names.index("z1")


def test_the_default_writes_small_layers_per_neuron_and_large_ones_as_matrices():
    text = ("inputs: {x: [1, 2, 3, 4, 5]}\nparameters:\n  W: [[1, 2, 3, 4, 5], [0, 1, 0, 1, 0]]\n"
            "  V: [[1, 1], [1, 0], [0, 1], [2, 1], [1, 2]]\nforward: {u: W @ x, y: V @ u}\ntargets: {t: [0, 0, 0, 0, 0]}\nloss: sse(y, t)\n")
    names = [s.name for s in solve(loads(text)).steps() if isinstance(s, Forward)]
    assert names == ["u[1]", "u[2]", "y"]
    text += "notation: {form: matrix}\n"
    assert [s.name for s in solve(loads(text)).steps() if isinstance(s, Forward)] == ["u", "y"]
    assert [s.name for s in solve(loads(text), notation="neuron").steps()
            if isinstance(s, Forward)][-1] == "y[5]"


def test_derive_writes_the_recursion_per_neuron():
    d = derive(load(ROOT / "problems" / "dnn_a9_q3.yaml"), "W3", notation="neuron")
    names = [s.name for s in d.steps() if isinstance(s, Delta)]
    assert "y[1]" in names and "y[2]" in names
    grads = [s for s in d.steps() if isinstance(s, Gradient)]
    assert [s.index for s in grads] == [(j, i) for j in (1, 2) for i in (1, 2, 3)]


def test_a_misspelt_form_is_one_line_with_a_suggestion():
    with pytest.raises(ProblemError, match="did you mean neuron"):
        loads("inputs: {x: 1}\nforward: {y: x}\nloss: y\nnotation: {form: nueron}\n")
    with pytest.raises(UsageError, match="did you mean matrix"):
        solve(loads("inputs: {x: 1}\nforward: {y: x}\nloss: y\n"), notation="matrx")


def test_cli_flag_overrides_the_file():
    run = [sys.executable, "-m", "backprop_tutor", "solve", "dnn_a9_q3", "--notation"]
    env = {"PYTHONPATH": str(ROOT), "COLUMNS": "80", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(run + ["matrix"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0 and "u₁ = W₁⋅x" in out.stdout
    out = subprocess.run(run + ["neuron"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0 and "W⁽¹⁾₁₁⋅x₁ + W⁽¹⁾₁₂⋅x₂" in out.stdout
    out = subprocess.run(run + ["nueron"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "did you mean neuron" in out.stderr


@pytest.mark.parametrize("path", LAYERED, ids=[p.stem for p in LAYERED])
def test_json_is_the_same_in_every_notation(path):
    from backprop_tutor.render.jsonout import dumps
    problem = load(path)
    texts = {form: dumps(solve(problem, notation=form)) for form in ("neuron", "matrix", "both")}
    assert texts["neuron"] == texts["matrix"] == texts["both"]


@pytest.mark.parametrize("layout, first, second", [("Wx", "W1[1,1]", "W1[1,2]"), ("xW", "W1[1,1]", "W1[2,1]")])
def test_a_neuron_sum_reads_inputs_in_order_then_the_bias(layout, first, second):
    """z₁ = w₁₁x₁ + w₁₂x₂ + b₁ as a sheet writes it, not SymPy's alphabetical b₁ + …, in both layouts."""
    text = f"""\
title: order of a neuron's sum
inputs: {{x: [1, 2]}}
network:
  layout: {layout}
  input: x
  layers:
    - {{weights: [[0.1, 0.3], [0.2, 0.4]], bias: [0.5, 0.5], activation: relu}}
targets: {{t: [1, 0]}}
loss: sse(y, t)
"""
    sol = solve(loads(text), notation="neuron")
    z1 = next(s for s in sol.steps() if isinstance(s, Forward) and s.name.endswith("[1]"))
    assert [str(t) for t in z1.formula.args] == [f"{first}*x[1]", f"{second}*x[2]", "b1[1]"]
    assert [str(t) for t in z1.numbers.args][-1] == "1/2"


def _by_hand_after_partial_update():
    """sheet12_p2 by hand: the forward pass again after only W2[2,1] and W1[1,2] are stepped (α = 0.1)."""
    F = Fraction
    x, t, lr = [F(1), F(-1)], [F(-2, 10), F(5, 10)], F(1, 10)
    W1 = [[F(5, 10), F(3, 10)], [F(-2, 10), F(1, 10)]]
    W2 = [[F(4, 10), F(-3, 10)], [F(6, 10), F(2, 10)]]
    s = [sum(W1[i][j] * x[i] for i in range(2)) for j in range(2)]
    h = [max(F(0), v) for v in s]
    y = [sum(W2[i][j] * h[i] for i in range(2)) for j in range(2)]
    dy = [2 * (y[k] - t[k]) for k in range(2)]
    ds2 = sum(W2[1][j] * dy[j] for j in range(2)) * (1 if s[1] > 0 else 0)
    W2[1][0] -= lr * h[1] * dy[0]
    W1[0][1] -= lr * x[0] * ds2
    s = [sum(W1[i][j] * x[i] for i in range(2)) for j in range(2)]
    h = [max(F(0), v) for v in s]
    y = [sum(W2[i][j] * h[i] for i in range(2)) for j in range(2)]
    return {"s1": s, "h1": h, "y": y}


def test_the_pass_after_a_partial_update_is_per_neuron_and_names_unchanged_neurons_once():
    """(f) of sheet12_p2: each neuron of the pass after the update against a hand computation; a neuron
    whose inputs did not change is named once more from (a), not worked again (at full detail it is)."""
    want = _by_hand_after_partial_update()
    sol = solve(load(ROOT / "problems" / "sheet12_p2.yaml"))
    (f,) = [sec for sec in sol.sections if sec.part == "f"]
    values = {s.name: s.value for s in f.steps if isinstance(s, (Forward, Reference))}
    for name, vector in want.items():
        for j, v in enumerate(vector, start=1):
            assert values[f"{name}[{j}]"] == sp.Rational(v.numerator, v.denominator), (name, j)
    refs = {s.name: s.part for s in f.steps if isinstance(s, Reference)}
    assert refs == {"s1[1]": "a", "h1[1]": "a"}  # W1[1,2] moved only unit 2's sum
    worked = [s.name for s in f.steps if isinstance(s, Forward)]
    assert "s1[2]" in worked and "y[1]" in worked and "y[2]" in worked
    full = solve(load(ROOT / "problems" / "sheet12_p2.yaml"), detail="full")
    (f,) = [sec for sec in full.sections if sec.part == "f"]
    assert not any(isinstance(s, Reference) for s in f.steps)
    assert {"s1[1]", "h1[1]"} <= {s.name for s in f.steps if isinstance(s, Forward)}
