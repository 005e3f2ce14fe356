"""tutor boundary: the grid's classes against the exact engine, the exact pieces on the boundary, sheet 2
exercise 1 against the sheet's own case analysis, --from-trained and its hostile files, --range, the figures."""
from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from backprop_tutor import load, loads
from backprop_tutor.boundary import boundary, parse_range
from backprop_tutor.errors import LimitError, ProblemError, UsageError
from backprop_tutor.engine import evaluate, leaf_values
from backprop_tutor.graph import build
from backprop_tutor.render.regions import to_image
from backprop_tutor.trained import with_parameters
from helpers import cli

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"

SIGMOID_DATA = """\
title: "A sigmoid neuron on four points"
inputs:
  x1: null
  x2: null
parameters:
  w1: 1.5
  w2: -1
  b: 0.25
targets:
  t: null
data:
  - {x1: 1, x2: 0.5, t: 1}
  - {x1: -1, x2: 1, t: 0}
  - {x1: 2, x2: 1, t: 1}
  - {x1: 0, x2: 2, t: 0}
forward:
  y: sigmoid(w1 * x1 + w2 * x2 + b)
loss: bce(y, t)
"""

RELU_NET = """\
title: A 2-3-1 ReLU classifier
inputs:
  x: [null, null]
network:
  layout: Wx
  input: x
  layers:
    - {weights: [[1, -0.5], [0.25, 1], [-1, -1]], bias: [0.5, -0.25, 0.75], activation: relu}
    - {weights: [[1, -2, 1.5]], bias: -0.5, activation: sigmoid}
  output: p
targets:
  t: 1
loss: bce(p, t)
"""

RELU_PIECES = """\
title: A 2-4 ReLU score
inputs:
  x: [null, null]
parameters:
  a: [[1, -0.5], [0.25, 1], [-1, -1], [0.5, 0.5]]
  c: [0.5, -0.25, 0.75, -1]
  v: [[1, -2, 1.5, -1]]
forward:
  h: relu(a @ x + c)
  s: v @ h + 0.5
ask:
  - {part: b, linear_pieces: {inputs: [x], output: s, below: "class A", above: "class B"}}
"""


def exact_output(problem, name: str, point: dict):
    """The exact engine's value of one node with the inputs set to exact numbers."""
    graph = build(problem)
    values = evaluate(graph, leaf_values(graph, point))
    v = values[name].x
    return v[0] if isinstance(v, sp.MatrixBase) else v


def exact_point(regions, x, y, sample: str = "") -> dict:
    """The inputs of the exact engine at (x, y): two scalars, or one vector of two."""
    x, y = sp.Rational(x), sp.Rational(y)
    a, b = regions.inputs
    if a.endswith("[1]"):
        return {a[:-3] + sample: sp.ImmutableMatrix([x, y])}
    return {a + sample: x, b + sample: y}


CASES = [("sheet2_ex1", None), ("sheet12_p1_xor", None), ("sheet12_p1_and", None),
         ("exercise3_sigmoid", None), ("relu_net", RELU_NET), ("relu_pieces", RELU_PIECES),
         ("sigmoid_data", SIGMOID_DATA)]


def problem_of(name: str, text: str | None):
    return load(PROBLEMS / f"{name}.yaml") if text is None else loads(text, f"{name}.yaml")


@pytest.mark.parametrize("name, text", CASES, ids=[c[0] for c in CASES])
def test_the_grid_classes_agree_with_the_exact_engine(name, text):
    problem = problem_of(name, text)
    regions = boundary(problem, resolution=61)
    sample = "^(1)" if problem.samples else ""
    rng = np.random.default_rng(7)
    checked = 0
    for i, j in rng.integers(0, 61, size=(80, 2)):
        score = regions.score[i, j]
        if abs(score) < 1e-6:  # on the boundary a float may fall either way
            continue
        value = exact_output(problem, regions.output + sample, exact_point(regions, regions.xs[j], regions.ys[i], sample))
        expected = int(bool(value > sp.Rational(regions.threshold)))
        assert regions.classes[i, j] == expected, (name, regions.xs[j], regions.ys[i], value)
        assert abs(float(value) - float(regions.threshold) - score) < 1e-9
        checked += 1
    assert checked > 60
    assert 0 < regions.classes.mean() < 1 or name == "exercise3_sigmoid", "both classes appear"


@pytest.mark.parametrize("name, text", [c for c in CASES if c[0] in ("sheet2_ex1", "relu_pieces")],
                         ids=["sheet2_ex1", "relu_pieces"])
def test_each_exact_piece_segment_lies_on_the_boundary(name, text):
    problem = problem_of(name, text)
    regions = boundary(problem, (F(-4), F(4), F(-3), F(5)), resolution=21)
    assert regions.plot is not None and regions.plot.boundary
    for a, b in regions.plot.boundary:
        assert a != b
        for t in (F(0), F(1, 7), F(1, 2), F(1)):
            x = sp.Rational(a[0]) + sp.Rational(t) * (sp.Rational(b[0]) - sp.Rational(a[0]))
            y = sp.Rational(a[1]) + sp.Rational(t) * (sp.Rational(b[1]) - sp.Rational(a[1]))
            assert -4 <= x <= 4 and -3 <= y <= 5
            value = exact_output(problem, regions.output, exact_point(regions, x, y))
            assert abs(value - sp.Rational(regions.threshold)) < 1e-9
            assert value == sp.Rational(regions.threshold)   # exact: the segments are computed exactly


def sheet_eq_1(x1, x2):
    """Eq. (1) of Exercise Sheet 2, written here from the sheet: y = 1 − ρ(x1) − ρ(x2) + ρ(x1 + x2)."""
    rho = lambda z: max(z, 0)  # noqa: E731
    return 1 - rho(x1) - rho(x2) + rho(x1 + x2)


def test_sheet2_ex1_regions_are_the_sheets_case_analysis():
    # the sheet: class 1 if y < 0, class 2 if y > 0; its case analysis leaves class 1 in two corners,
    # x1 > 1 with x2 < −1 and x1 < −1 with x2 > 1
    regions = boundary(load(PROBLEMS / "sheet2_ex1.yaml"), resolution=121)
    assert regions.labels == ("class 1", "class 2") and regions.inputs == ("x1", "x2")
    step = (regions.xs[1] - regions.xs[0]) / 2
    for i, y in enumerate(regions.ys):
        for j, x in enumerate(regions.xs):
            if min(abs(abs(x) - 1), abs(abs(y) - 1)) < step:
                continue
            corner = (x > 1 and y < -1) or (x < -1 and y > 1)
            y_sheet = sheet_eq_1(F(x), F(y))
            assert (y_sheet < 0) == corner
            assert regions.labels[regions.classes[i, j]] == ("class 1" if y_sheet < 0 else "class 2")
    # the exact pieces: the boundary y = 0 is the four half-lines x1 = ±1, x2 = ∓1 out of the corners
    segments = {tuple(sorted(((F(str(a[0])), F(str(a[1]))), (F(str(b[0])), F(str(b[1])))))) for a, b in regions.plot.boundary}
    assert segments == {((1, -3), (1, -1)), ((1, -1), (3, -1)), ((-3, 1), (-1, 1)), ((-1, 1), (-1, 3))}
    x1, x2 = sp.symbols("x1 x2")
    assert sorted(map(str, regions.plot.formulas)) == sorted(map(str, [sp.Integer(1), x2 + 1, 1 - x1, x1 + 1, 1 - x2,
                                                                     sp.Integer(1)]))


def test_samples_of_data_are_drawn_coloured_by_their_targets():
    regions = boundary(loads(SIGMOID_DATA, "d.yaml"))
    assert regions.points.tolist() == [[1, 0.5], [-1, 1], [2, 1], [0, 2]]
    assert regions.point_classes.tolist() == [1, 0, 1, 0]
    assert regions.labels == ("t = 0", "t = 1")
    x0, x1, y0, y1 = regions.window   # the data's extent with a margin
    assert x0 < -1 and x1 > 2 and y0 < 0.5 and y1 > 2


@pytest.mark.parametrize("name", ["sheet12_p1_xor", "sheet12_p1_and"])
def test_a_truth_tables_rows_are_the_samples_and_the_network_gets_them_right(name):
    problem = load(PROBLEMS / f"{name}.yaml")
    regions = boundary(problem, resolution=5)
    table = next(a for a in problem.ask if a.kind == "truth_table")
    assert regions.points.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert regions.point_classes.tolist() == [int(e.value) for e in table.options["expect"]]
    assert regions.window == (F(-1, 2), F(3, 2), F(-1, 2), F(3, 2))   # the rows with a margin
    for (x, y), expected in zip(regions.points, regions.point_classes):
        value = exact_output(problem, regions.output, exact_point(regions, x, y))
        assert bool(value > regions.threshold) == bool(expected)


def test_samples_can_be_passed_in():
    points = np.array([[0.5, 0.5], [-2, 2]])
    regions = boundary(load(PROBLEMS / "sheet2_ex1.yaml"), samples=(points, np.array([1, 0])))
    assert regions.points.tolist() == points.tolist() and regions.point_classes.tolist() == [1, 0]
    with pytest.raises(UsageError, match="2 sample points but 3 classes"):
        boundary(load(PROBLEMS / "sheet2_ex1.yaml"), samples=(points, np.array([1, 0, 1])))


def test_too_many_relus_leave_the_pieces_out_with_a_note():
    hidden = 11
    weights = [[F(k + 1, 7), F(-(k % 3) - 1, 5)] for k in range(hidden)]
    text = ("inputs:\n  x: [null, null]\nnetwork:\n  layout: Wx\n  input: x\n  layers:\n"
            f"    - {{weights: {[[str(v) for v in r] for r in weights]}, bias: {['0.1'] * hidden}, activation: relu}}\n"
            f"    - {{weights: [{['1', '-1'] * 5 + ['1']}], bias: 0, activation: linear}}\n"
            "  output: y\nask:\n  - {part: a, linear_pieces: {output: y}}\n").replace("'", "")
    regions = boundary(loads(text, "wide.yaml"), resolution=11)
    assert regions.plot is None and "relu_pieces" in regions.note and "11 ReLUs" in regions.note
    assert boundary(loads(text, "wide.yaml"), resolution=11, limits={"relu_pieces": 11}).plot is not None


# -- what is refused ----------------------------------------------------------------------------------

def test_not_two_inputs_is_one_line():
    with pytest.raises(UsageError, match="two inputs.*x \\(of 4\\)"):
        boundary(load(PROBLEMS / "dnn_a9_q3.yaml"))
    run = cli("boundary", PROBLEMS / "dnn_a9_q3.yaml", "-o", "never.png")
    assert run.exit_code == 2 and not Path("never.png").exists()


def test_no_classifier_reading_is_one_line(tmp_path):
    f = tmp_path / "plain.yaml"
    f.write_text("inputs:\n  x1: 1\n  x2: 2\nforward:\n  y: x1 + x2\nask:\n  - {part: a, show: forward}\n")
    out = tmp_path / "out.png"
    run = cli("boundary", f, "-o", out)
    assert run.exit_code == 2 and "no classes to tell apart" in run.stderr and len(run.stderr.splitlines()) == 1
    assert not out.exists()


def test_open_parameters_need_values(tmp_path):
    run = cli("boundary", PROBLEMS / "sheet2_ex3.yaml", "-o", tmp_path / "o.png")
    assert run.exit_code == 2 and "--from-trained" in run.stderr and "are left as symbols" in run.stderr


@pytest.mark.parametrize("ending", ["o.jpg", "o.tex", "o", "o.png.txt"])
def test_another_extension_is_refused_before_anything_is_written(ending, tmp_path):
    out = tmp_path / ending
    run = cli("boundary", PROBLEMS / "sheet2_ex1.yaml", "-o", out)
    assert run.exit_code == 2 and ".png, .svg or .pdf" in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_resolution_has_a_limit(tmp_path):
    run = cli("boundary", PROBLEMS / "sheet2_ex1.yaml", "-o", tmp_path / "o.png", "--resolution", "1001")
    assert run.exit_code == 2 and "--limit grid_side=N" in run.stderr and list(tmp_path.iterdir()) == []
    with pytest.raises(LimitError):
        boundary(load(PROBLEMS / "sheet2_ex1.yaml"), resolution=5000)
    with pytest.raises(UsageError):
        boundary(load(PROBLEMS / "sheet2_ex1.yaml"), resolution=1)


# -- --range ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, window", [
    ("-3:3", (-3, 3, -3, 3)), ("-3:3,-2:2", (-3, 3, -2, 2)), (" -1.5 : 2.5 ", (F(-3, 2), F(5, 2)) * 2),
    ("0.1:0.2", (F(1, 10), F(1, 5)) * 2), ("-1e2:1e2,0:1", (-100, 100, 0, 1))])
def test_range_is_read_exactly(text, window):
    assert parse_range(text) == tuple(map(F, window))


@pytest.mark.parametrize("text, needle", [
    ("3:1", "low end must be below"), ("2:2", "low end must be below"), ("a:b", "not a number"),
    ("1:2:3", "LOW:HIGH"), ("1:2,3:4,5:6", "LOW:HIGH"), ("", "LOW:HIGH"), (":", "not a number"),
    ("-1:1,2", "LOW:HIGH"), ("1e999:2", "--limit number_exponent"), ("nan:1", "not a number"),
    ("1;rm -rf /:2", "not a number")])
def test_a_bad_range_is_one_usage_error(text, needle):
    with pytest.raises(UsageError, match=None) as caught:
        parse_range(text)
    assert needle in str(caught.value)


@pytest.mark.parametrize("window", [(0, 1), (1, 0, 0, 1), (0, 1, 2, 2), ("a", 1, 0, 1), (0, 1, 0, float("nan")),
                                    (0, float("inf"), 0, 1)])
def test_a_bad_window_in_python_is_a_usage_error(window):
    with pytest.raises(UsageError, match="window"):
        boundary(load(PROBLEMS / "sheet2_ex1.yaml"), window, resolution=5)


def test_a_bad_range_on_the_command_line_writes_nothing(tmp_path):
    run = cli("boundary", PROBLEMS / "sheet2_ex1.yaml", "-o", tmp_path / "o.png", "--range", "5:-5")
    assert run.exit_code == 2 and run.stderr.startswith("error: --range 5:-5") and list(tmp_path.iterdir()) == []


# -- the figures ----------------------------------------------------------------------------------------

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<?xml"}


@pytest.mark.parametrize("kind", ["png", "svg", "pdf"])
def test_the_figure_is_a_real_nontrivial_file(kind, tmp_path):
    out = tmp_path / f"sheet2.{kind}"
    run = cli("boundary", PROBLEMS / "sheet2_ex1.yaml", "-o", out, "--range", "-3:3", "--resolution", "101")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.strip() == f"wrote {out}"
    data = out.read_bytes()
    assert data.startswith(MAGIC[kind]) and len(data) > 10_000
    if kind == "svg":
        assert b"<svg" in data and data.count(b"<path") > 20
    if kind == "png":
        import matplotlib.image
        pixels = matplotlib.image.imread(out)
        colours = np.unique(pixels.reshape(-1, pixels.shape[-1]).round(2), axis=0)
        assert len(colours) > 20   # two fills, lines, text: not a blank picture
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]   # no temporary file left


def test_the_regions_are_filled_where_the_classes_are(tmp_path):
    """The PNG's pixels in a class-1 corner and in the class-2 middle have the two fill colours."""
    regions = boundary(load(PROBLEMS / "sheet2_ex1.yaml"), resolution=101)
    fig_bytes = to_image(regions, "png")
    out = tmp_path / "f.png"
    out.write_bytes(fig_bytes)
    import matplotlib.image
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from backprop_tutor.render.regions import FILLS, figure
    fig = figure(regions)
    ax = fig.axes[0]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3]

    def colour_at(x, y):
        px, py = ax.transData.transform((x, y))
        return tuple(int(v) for v in pixels[pixels.shape[0] - int(round(py)), int(round(px))])

    def hex_rgb(h):
        return tuple(int(h[k:k + 2], 16) for k in (1, 3, 5))

    assert colour_at(2.2, -2.4) == hex_rgb(FILLS[0])    # class 1: x1 > 1, x2 < −1
    assert colour_at(1.3, 2.2) == hex_rgb(FILLS[1])     # class 2
    assert matplotlib.image.imread(out).shape[2] == 4


def test_a_title_and_labels_from_the_file_are_text_not_mathtext(tmp_path):
    text = RELU_NET.replace("A 2-3-1 ReLU classifier", "$\\\\frac{1}{0}$ and \\x01 $$ ${", 1)
    regions = boundary(loads(text, "t.yaml"), resolution=11)
    assert to_image(regions, "png").startswith(MAGIC["png"])


def test_an_existing_output_is_replaced_whole(tmp_path):
    out = tmp_path / "o.svg"
    out.write_text("old")
    run = cli("boundary", PROBLEMS / "sheet12_p1_xor.yaml", "-o", out, "--resolution", "31")
    assert run.exit_code == 0 and out.read_bytes().startswith(MAGIC["svg"])


def test_the_output_may_not_be_the_params_file(tmp_path):
    params = write_params(tmp_path, {"w1": "1", "w2": "2", "b": "0"})
    problem = tmp_path / "p.yaml"
    problem.write_text(SIGMOID_DATA)
    run = cli("boundary", problem, "-o", params.with_suffix(".png"))
    assert run.exit_code == 0
    os.replace(params, tmp_path / "params.svg")
    run = cli("boundary", problem, "--from-trained", tmp_path / "params.svg", "-o", tmp_path / "params.svg")
    assert run.exit_code == 2 and "is the problem file itself" in run.stderr


# -- --from-trained -------------------------------------------------------------------------------------

def write_params(folder, parameters: dict, extra: str = "", name: str = "params.yaml") -> Path:
    """A params file in the format tutor train -o writes."""
    top = {"problem": "p.yaml", "epochs": "10", "learning_rate": "0.1", "seed": "1", "loss": "0.0123",
           "accuracy": "0.985"}
    for line in extra.splitlines():
        key, _, value = line.partition(": ")
        top.pop(key, None)
        top[key] = value
    lines = ["# tutor train p.yaml --epochs 10 --lr 0.1 --seed 1"] + [f"{k}: {v}" for k, v in top.items()]
    lines += ["parameters:"]
    lines += [f"  {k}: {v}" for k, v in parameters.items()]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_trained_parameters_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(3)
    W1, b1, W2 = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=(1, 3))
    show = lambda a: repr(a.tolist()).replace("'", "")  # noqa: E731  repr of each float, as train writes
    params = write_params(tmp_path, {"W1": show(W1), "b1": show(b1), "W2": show(W2), "b2": repr(float(rng.normal()))})
    problem = with_parameters(loads(RELU_NET, "net.yaml"), params)
    graph = build(problem)
    assert np.array(graph.nodes["W1"].given.tolist(), dtype=float).tolist() == W1.tolist()   # bit for bit
    assert [float(v) for v in graph.nodes["b1"].given] == b1.tolist()
    assert all(isinstance(v, sp.Rational) for v in graph.nodes["W1"].given)                    # exact
    assert graph.nodes["W1"].given[0, 0] == sp.Rational(F(repr(float(W1[0, 0]))))
    regions = boundary(problem, resolution=31)
    for i, j in [(3, 5), (20, 11), (30, 30), (15, 2)]:
        value = exact_output(problem, "p", exact_point(regions, regions.xs[j], regions.ys[i]))
        assert abs(float(value) - 0.5 - regions.score[i, j]) < 1e-9


def test_a_partial_params_file_keeps_the_other_parameters(tmp_path):
    problem = with_parameters(loads(SIGMOID_DATA, "d.yaml"), write_params(tmp_path, {"w2": "0.125"}))
    graph = build(problem)
    assert graph.nodes["w2"].given == sp.Rational(1, 8) and graph.nodes["w1"].given == sp.Rational(3, 2)


def test_from_trained_on_the_command_line(tmp_path):
    problem = tmp_path / "p.yaml"
    problem.write_text(SIGMOID_DATA)
    params = write_params(tmp_path, {"w1": "-1.5", "w2": "1", "b": "0"})
    run = cli("boundary", problem, "--from-trained", params, "-o", tmp_path / "o.png", "--resolution", "21")
    assert run.exit_code == 0, run.stderr
    assert (tmp_path / "o.png").read_bytes().startswith(MAGIC["png"])


HOSTILE = {  # name: (parameters, extra lines, line, key, words)
    "unknown key": ({"w1": "1"}, "optimizer: adam", 8, "optimizer", "unknown key"),
    "unknown name": ({"w9": "1"}, "", 9, "parameters.w9", "'w9' is not a parameter"),
    "wrong shape": ({"w1": "[1, 2]"}, "", 9, "parameters.w1", "must be a number"),
    "a string": ({"w1": "abc"}, "", 9, "parameters.w1", "must be a number, not 'abc'"),
    "a boolean": ({"w1": "true"}, "", 9, "parameters.w1", "true is a boolean"),
    "not a number": ({"w1": "nan"}, "", 9, "parameters.w1", "must be a number"),
    "a date": ({"w1": "2024-01-01"}, "", 9, "parameters.w1", "is a date"),
    "empty": ({"w1": ""}, "", 9, "parameters.w1", "must be a number, not nothing"),
    "too many digits": ({"w1": "1" * 60}, "", 9, "parameters.w1", "--limit number_digits"),
    "epochs": ({"w1": "1"}, "epochs: -3", 7, "epochs", "whole number"),
    "accuracy text": ({"w1": "1"}, "accuracy: high", 7, "accuracy", "must be a number"),
}
VECTOR_HOSTILE = {  # on RELU_NET: W1 is 3×2, b1 a vector of 3
    "rows": ({"W1": "[[1, 2], [3, 4]]"}, 9, "parameters.W1", "3×2 matrix"),
    "ragged": ({"W1": "[[1, 2], [3], [5, 6]]"}, 9, "parameters.W1", "3×2 matrix"),
    "flat": ({"W1": "[1, 2, 3, 4, 5, 6]"}, 9, "parameters.W1", "3×2 matrix"),
    "vector as matrix": ({"b1": "[[1], [2], [3]]"}, 9, "parameters.b1", "a vector of 3"),
    "entry": ({"b1": "[1, x, 3]"}, 9, "parameters.b1[1]", "must be a number, not 'x'"),
    "nested entry": ({"W1": "[[1, 2], [3, [4]], [5, 6]]"}, 9, "parameters.W1[1][1]", "must be a number, not list"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_params_file_is_one_line_with_file_line_and_key(name, tmp_path):
    parameters, extra, line, key, words = HOSTILE[name]
    params = write_params(tmp_path, parameters, extra)
    with pytest.raises(ProblemError) as caught:
        with_parameters(loads(SIGMOID_DATA, "d.yaml"), params)
    e = caught.value
    assert (e.file, e.line, e.key) == (str(params), line, key), str(e)
    assert words in e.message
    problem = tmp_path / "p.yaml"
    problem.write_text(SIGMOID_DATA)
    out = tmp_path / "o.png"
    run = cli("boundary", problem, "--from-trained", params, "-o", out)
    assert run.exit_code == 2 and len(run.stderr.splitlines()) == 1 and not out.exists()
    assert run.stderr.startswith(f"error: {params}:{line}: {key}: ") and words in run.stderr


@pytest.mark.parametrize("name", sorted(VECTOR_HOSTILE))
def test_a_params_file_of_the_wrong_shape(name, tmp_path):
    parameters, line, key, words = VECTOR_HOSTILE[name]
    params = write_params(tmp_path, parameters)
    with pytest.raises(ProblemError) as caught:
        with_parameters(loads(RELU_NET, "net.yaml"), params)
    assert (caught.value.line, caught.value.key) == (line, key) and words in caught.value.message, str(caught.value)


def test_a_huge_params_file_is_refused_unread(tmp_path):
    params = tmp_path / "params.yaml"
    with open(params, "w") as f:
        f.write("parameters:\n  w1: 1\n" + "# padding\n" * 20_000)
    with pytest.raises(LimitError, match="--limit file_bytes"):
        with_parameters(loads(SIGMOID_DATA, "d.yaml"), params)


@pytest.mark.parametrize("text, words", [
    ("- 1\n- 2\n", "a mapping with parameters"), ("problem: p.yaml\n", "needs a mapping of parameter names"),
    ("parameters: [1, 2]\n", "needs a mapping"), ("a: &x 1\nparameters: {w1: *x}\n", "anchors and aliases"),
    ("parameters:\n  w1: 1\n  w1: 2\n", "given twice"), ("parameters: {w1: 1}\nproblem: [1]\n", "file's name")])
def test_a_params_file_that_is_not_one(text, words, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(text)
    with pytest.raises(ProblemError, match=None) as caught:
        with_parameters(loads(SIGMOID_DATA, "d.yaml"), params)
    assert words in str(caught.value)


def test_a_derived_parameter_cannot_be_given(tmp_path):
    problem = load(PROBLEMS / "sheet2_ex4.yaml")
    with pytest.raises(ProblemError, match="computed from other parameters"):
        with_parameters(problem, write_params(tmp_path, {"w13": "1"}))


def test_a_missing_params_file(tmp_path):
    with pytest.raises(ProblemError, match="no such file"):
        with_parameters(loads(SIGMOID_DATA, "d.yaml"), tmp_path / "none.yaml")


# -- start-up ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["--help"], ["boundary", "--help"]])
def test_help_imports_neither_numpy_nor_matplotlib(args):
    code = ("import sys\nfrom backprop_tutor.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'matplotlib', 'graphviz') if m in sys.modules]\n"
            "assert not heavy, heavy\n" % args)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert "--from-trained" in done.stdout or args == ["--help"]


def test_a_trained_data_set_classifier_draws_its_whole_data_set_and_separates_it(tmp_path):
    """tutor train -o, then the boundary of the trained rings: every sample drawn, and the nearest grid
    point's class agrees with the sample's target as often as train says it classifies them."""
    from backprop_tutor import bundled, load, train as train_problem
    from backprop_tutor.boundary import boundary
    from backprop_tutor.datasets import load_data
    from backprop_tutor.render.training import params_yaml
    from backprop_tutor.trained import with_parameters
    problem = load(bundled.find("ws24_sheet4_ring"))
    training = train_problem(problem, 300)
    params = tmp_path / "params.yaml"
    params.write_text(params_yaml(training, training.best, "ws24_sheet4_ring", "tutor train"), encoding="utf-8")
    trained = with_parameters(problem, params)
    regions = boundary(trained, resolution=200)
    assert len(regions.points) == len(load_data(problem).rows)
    ix = np.abs(regions.xs[None, :] - regions.points[:, :1]).argmin(axis=1)
    iy = np.abs(regions.ys[None, :] - regions.points[:, 1:]).argmin(axis=1)
    agree = float(np.mean(regions.classes[iy, ix] == regions.point_classes))
    assert agree == pytest.approx(training.best.final_accuracy, abs=0.03) and agree >= 0.9
