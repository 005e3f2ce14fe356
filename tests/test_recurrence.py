"""The recurrent: block: unrolled into the forward lines a sheet would copy by hand (same numbers),
every gradient against a 50-digit central difference of an RNN written out here, and one clear
line for every bad key, shape or size."""
import re
from pathlib import Path

import mpmath
import pytest
import yaml

from backprop_tutor import load, loads, solve
from backprop_tutor.errors import LimitError, ProblemError
from backprop_tutor.graph import build
from helpers import cli

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "problem-format.md").read_text(encoding="utf-8")


def guide_blocks():
    start = GUIDE.index("\n## Recurrence: `recurrent`")
    text = GUIDE[start:GUIDE.index("\n## ", start + 1)]
    return re.findall(r"```yaml\n(.*?)```", text, re.S)


RNN = guide_blocks()[0]


def copied_by_hand(block_text: str, forward_text: str) -> str:
    spelled = yaml.safe_load(block_text)
    del spelled["recurrent"]
    spelled["forward"] = yaml.safe_load(forward_text)["forward"]
    return yaml.safe_dump(spelled, sort_keys=False)


def test_the_block_unrolls_into_the_lines_the_guide_says_it_means():
    block, meaning = guide_blocks()[:2]
    unrolled, copied = build(loads(block)), build(loads(copied_by_hand(block, meaning)))
    assert list(unrolled.nodes) == list(copied.nodes)
    assert all(unrolled.nodes[n].expr == copied.nodes[n].expr for n in copied.nodes)
    a, b = solve(unrolled.problem), solve(copied.problem)
    assert a.values == b.values and a.deltas == b.deltas and a.gradients == b.gradients


def test_the_problem_records_which_name_is_which_step():
    r = loads(RNN).recurrence
    assert (r.steps, r.states, r.nets, r.inputs, r.outputs) == (
        3, ("h0", "h1", "h2", "h3"), ("z1", "z2", "z3"), ("x1", "x2", "x3"), ("y1", "y2", "y3"))


# -- an independent RNN: the numbers of the YAML, loops written here, 50 digits ----------------------

def rnn_loss(given: dict) -> mpmath.mpf:
    """½ Σₜ (V hₜ − tₜ)² with hₜ = tanh(W hₜ₋₁ + U xₜ + b), from the guide's numbers as mpmath."""
    W, U, b, V = given["W"], given["U"], given["b"], given["V"]
    h, loss = given["h0"], mpmath.mpf(0)
    for t in (1, 2, 3):
        x = given[f"x{t}"]
        h = [mpmath.tanh(sum(W[i][j] * h[j] for j in range(2)) + sum(U[i][j] * x[j] for j in range(2)) + b[i])
             for i in range(2)]
        y = sum(V[0][j] * h[j] for j in range(2))
        loss += (y - given[f"t{t}"]) ** 2 / 2
    return loss


def mp(v):
    if isinstance(v, list):
        return [mp(x) for x in v]
    return mpmath.mpf(str(v))


def central_difference(f, given, name, index, h=mpmath.mpf("1e-20")):
    def moved(by):
        g = {k: [row[:] if isinstance(row, list) else row for row in v] if isinstance(v, list) else v
             for k, v in given.items()}
        if len(index) == 2:
            g[name][index[0]][index[1]] += by
        else:
            g[name][index[0]] += by
        return f(g)
    return (moved(h) - moved(-h)) / (2 * h)


def test_every_gradient_equals_a_50_digit_central_difference():
    mpmath.mp.dps = 50
    raw = yaml.safe_load(RNN)
    given = {k: mp(v) for section in ("inputs", "parameters", "targets") for k, v in raw[section].items()}
    solved = solve(loads(RNN))
    assert abs(float(solved.loss) - float(rnn_loss(given))) < 1e-25
    for name in ("W", "U", "b", "V"):
        grad = solved.gradients[name]
        rows, cols = grad.shape
        for i in range(rows):
            for j in range(cols):
                index = (i, j) if isinstance(given[name][0], list) else (i,)
                fd = central_difference(rnn_loss, given, name, index)
                assert abs(mpmath.mpf(str(grad[i, j].evalf(40))) - fd) < mpmath.mpf("1e-30"), (name, i, j)


def test_a_trained_initial_state_gets_its_gradient_through_every_step():
    text = RNN.replace("inputs:\n  h0: [0, 0]\n", "inputs:\n").replace("parameters:\n", "parameters:\n  h0: [0.2, -0.1]\n")
    mpmath.mp.dps = 50
    raw = yaml.safe_load(text)
    given = {k: mp(v) for section in ("inputs", "parameters", "targets") for k, v in raw[section].items()}
    grad = solve(loads(text)).gradients["h0"]
    for i in range(2):
        fd = central_difference(rnn_loss, given, "h0", (i,))
        assert abs(mpmath.mpf(str(grad[i].evalf(40))) - fd) < mpmath.mpf("1e-30")


def test_many_to_one_with_a_forward_line_after_the_block():
    text = RNN.replace('  output: "V @ h"\n', "").replace(
        "loss: half_sse(y1, t1) + half_sse(y2, t2) + half_sse(y3, t3)", "forward:\n  y: V @ h3\nloss: half_sse(y, t3)")
    graph = build(loads(text))
    assert [n for n in graph.nodes if graph.nodes[n].role == "forward"] == ["z1", "h1", "z2", "h2", "z3", "h3", "y"]
    assert loads(text).recurrence.outputs == ()


def test_a_name_ending_in_a_digit_counts_its_steps_after_an_underscore():
    text = RNN.replace("state: h", "state: s1").replace("h_prev", "s1_prev").replace("V @ h", "V @ s1")
    assert loads(text).recurrence.states == ("h0", "s1_1", "s1_2", "s1_3")


def test_a_cell_that_is_no_activation_of_a_sum_is_one_line_per_step():
    text = RNN.replace('"tanh(W @ h_prev + U @ x_t + b)"', '"W @ h_prev + U @ x_t + b"')
    r = loads(text).recurrence
    assert r.nets == () and [n for n in build(loads(text)).nodes][-7:] == ["h1", "y1", "h2", "y2", "h3", "y3", "L"]


# -- errors: one line naming the file, the line and the key ---------------------------------------

BAD = [
    ("steps: 3", "steps: 0", "recurrent.steps", "whole number"),
    ("steps: 3", "steps: 2.5", "recurrent.steps", "whole number"),
    ("steps: 3", "steps: four", "recurrent.steps", "whole number"),
    ("  state: h\n", "", "recurrent", "'state' is required"),
    ("state: h", "state: 2h", "recurrent.state", "not a valid name"),
    ("init: h0", "init: h9", "recurrent.init", "'h9' is not defined"),
    ("inputs: x", "inputs: q", "recurrent.inputs", "'q1', the input of step 1"),
    ("steps: 3", "steps: 4", "recurrent.inputs", "'x4', the input of step 4"),
    ('cell: "tanh(W @ h_prev + U @ x_t + b)"', 'cell: "tanh(W @ h + U @ x_t + b)"', "recurrent.cell",
     "must use h_prev"),
    ('cell: "tanh(W @ h_prev + U @ x_t + b)"', 'cell: "tanh(W @ h_prev + h + b)"', "recurrent.cell",
     "defines h itself"),
    ('cell: "tanh(W @ h_prev + U @ x_t + b)"', 'cell: "tanh(W @ h_prev + U @ x_t + b"', "recurrent.cell", ""),
    ('cell: "tanh(W @ h_prev + U @ x_t + b)"', 'cell: "tahn(W @ h_prev + U @ x_t + b)"', "recurrent.cell",
     "did you mean tanh"),
    ('cell: "tanh(W @ h_prev + U @ x_t + b)"', 'cell: "tanh(W @ h_prev + U @ x_t + V)"', "recurrent.cell",
     "in 'tanh(W @ h_prev + U @ x_t + V)'"),
    ('cell: "tanh(W @ h_prev + U @ x_t + b)"', 'cell: "tanh(W @ h_prev + Q @ x_t + b)"', "recurrent.cell",
     "'Q' is not defined"),
    ('output: "V @ h"', 'output: "V @ h_prev"', "recurrent.output", "this step's state"),
    ('output: "V @ h"', 'output: "V + h"', "recurrent.output", "in 'V + h'"),
    ('output: "V @ h"', 'output: "V @ h"\n  colour: red', "recurrent.colour", "unknown key"),
    ('output: "V @ h"', 'output: "V @ h"\n  net: x', "recurrent.net", "'x1' is already defined"),
    ('output: "V @ h"', 'output: "V @ h"\n  outputs: h', "recurrent", "different names"),
    ("recurrent:\n", "network: {layout: Wx, input: x1, layers: [{weights: [[1, 1]]}]}\nrecurrent:\n", "recurrent",
     "either recurrent or network"),
    ("recurrent:\n", "data: [{x1: [1, 1]}]\nrecurrent:\n", "recurrent", "data together"),
    ("targets:\n", "forward:\n  h2: x1 + x2\ntargets:\n", "recurrent.state", "'h2' is already defined"),
]


@pytest.mark.parametrize("old, new, key, words", BAD)
def test_a_bad_block_is_one_error_naming_its_line_and_key(old, new, key, words):
    assert old in RNN
    text = RNN.replace(old, new, 1)
    with pytest.raises(ProblemError) as caught:
        build(loads(text, "rnn.yaml"))
    e = caught.value
    assert e.key == key, str(e)
    assert words in e.message, str(e)
    lines = text.splitlines()
    block = lines.index("recurrent:") + 1
    line = block if key == "recurrent" else next(
        i for i, l in enumerate(lines, start=1) if i > block and l.startswith(f"  {key.split('.')[1]}:"))
    assert e.line == line, str(e)


def test_the_steps_are_held_to_a_limit_that_can_be_raised(tmp_path):
    text = RNN.replace("steps: 3", "steps: 21")
    with pytest.raises(LimitError) as caught:
        loads(text, "rnn.yaml")
    assert "recurrent_steps" in str(caught.value) and caught.value.key == "recurrent.steps"
    more_inputs = text.replace("  x3: [1, 1]\n", "".join(f"  x{t}: [1, 1]\n" for t in range(3, 22)))
    assert loads(more_inputs, limits={"recurrent_steps": 21}).recurrence.steps == 21


def test_on_the_command_line_a_bad_block_is_one_line_and_exit_2(tmp_path):
    f = tmp_path / "rnn.yaml"
    f.write_text(RNN.replace("init: h0", "init: h9"), encoding="utf-8")
    run = cli("solve", f)
    assert run.exit_code == 2 and run.stdout == ""
    lines = run.stderr.splitlines() if run.stderr_bytes is not None else run.output.splitlines()
    assert len(lines) == 1 and re.match(r"error: .*rnn\.yaml:\d+: recurrent\.init: ", lines[0]), lines


# -- backpropagation through time: the terms against the recursion written out here ---------------

def bptt_by_hand(given: dict) -> dict:
    """δ_hₜ = Vᵀ δ_yₜ + Wᵀ δ_zₜ₊₁, δ_zₜ = δ_hₜ ⊙ (1 − hₜ²), and each weight's term at every step."""
    W, U, b, V = given["W"], given["U"], given["b"], given["V"]
    hs, xs, ys = [given["h0"]], [None], [None]
    for t in (1, 2, 3):
        x = given[f"x{t}"]
        hs.append([mpmath.tanh(sum(W[i][j] * hs[-1][j] for j in range(2)) + sum(U[i][j] * x[j] for j in range(2))
                               + b[i]) for i in range(2)])
        xs.append(x)
        ys.append(sum(V[0][j] * hs[t][j] for j in range(2)))
    dz = {4: [0, 0]}
    dy = {}
    for t in (3, 2, 1):
        dy[t] = ys[t] - given[f"t{t}"]
        dh = [V[0][i] * dy[t] + sum(W[k][i] * dz[t + 1][k] for k in range(2)) for i in range(2)]
        dz[t] = [dh[i] * (1 - hs[t][i] ** 2) for i in range(2)]
    return {
        "W": {t: [[dz[t][i] * hs[t - 1][j] for j in range(2)] for i in range(2)] for t in (1, 2, 3)},
        "U": {t: [[dz[t][i] * xs[t][j] for j in range(2)] for i in range(2)] for t in (1, 2, 3)},
        "b": {t: [dz[t][i] for i in range(2)] for t in (1, 2, 3)},
        "V": {t: [[dy[t] * hs[t][j] for j in range(2)]] for t in (1, 2, 3)},
    }


def flat(v):
    return [x for row in v for x in (row if isinstance(row, list) else [row])]


def test_each_step_s_term_is_the_recursion_s_and_they_add_up_to_the_central_difference():
    mpmath.mp.dps = 50
    raw = yaml.safe_load(RNN)
    given = {k: mp(v) for section in ("inputs", "parameters", "targets") for k, v in raw[section].items()}
    by_hand = bptt_by_hand(given)
    solved = solve(loads(RNN))
    assert set(solved.through_time) == {"W", "U", "b", "V"}
    for name, w in solved.through_time.items():
        assert [t for t, *_ in w.terms] == [1, 2, 3]
        for t, _, _, value in w.terms:
            ours = [mpmath.mpf(str(v.evalf(40))) for v in value]
            assert all(abs(a - b) < mpmath.mpf("1e-35") for a, b in zip(ours, flat(by_hand[name][t]))), (name, t)
        index_count = len(flat(by_hand[name][1]))
        for k in range(index_count):
            summed = sum(flat(by_hand[name][t])[k] for t in (1, 2, 3))
            shape = given[name]
            index = divmod(k, len(shape[0])) if isinstance(shape[0], list) else (k,)
            fd = central_difference(rnn_loss, given, name, index)
            assert abs(summed - fd) < mpmath.mpf("1e-30"), (name, k)
            assert abs(mpmath.mpf(str(list(w.value)[k].evalf(40))) - fd) < mpmath.mpf("1e-30"), (name, k)


def test_the_sum_over_time_is_written_as_sheets_write_it(tmp_path):
    f = tmp_path / "rnn.yaml"
    f.write_text(RNN, encoding="utf-8")
    text = cli("solve", f, "--no-color").output
    assert "Gradients: backpropagation through time" in text
    assert "∂L/∂W = Σₜ₌₁³ δ_zₜ⋅hₜ₋₁" in text and "∂L/∂b = Σₜ₌₁³ δ_zₜ" in text and "∂L/∂V = Σₜ₌₁³ δ_yₜ⋅hₜ" in text
    assert "δ_z₂⋅h₁" in text  # the term of step 2, then its numbers
    tex = tmp_path / "rnn.tex"
    assert cli("export", f, "-o", tex).exit_code == 0
    assert r"\sum_{t=1}^{3} \delta_{z_{t}} h_{t-1}^{T}" in tex.read_text(encoding="utf-8")
    page = tmp_path / "rnn.html"
    assert cli("export", f, "-o", page).exit_code == 0
    assert "<mo>∑</mo>" in page.read_text(encoding="utf-8")
    derived = cli("derive", f, "--wrt", "W", "--no-color").output
    assert "Σₜ₌₁³ δ_zₜ⋅hₜ₋₁" in derived


def test_json_gains_the_terms_through_time(tmp_path):
    import json
    f = tmp_path / "rnn.yaml"
    f.write_text(RNN, encoding="utf-8")
    out = json.loads(cli("solve", f, "--json").output)
    w = out["through_time"]["W"]
    assert [term["t"] for term in w["terms"]] == [1, 2, 3]
    assert w["total"] == out["gradients"]["W"]
    for i in range(2):
        for j in range(2):
            assert abs(sum(term["value"][i][j] for term in w["terms"]) - w["total"][i][j]) < 1e-15
    assert "through_time" not in json.loads(cli("solve", "sheet12_p2", "--json").output)


# -- the bundled problems, each against its own computation from the file's numbers ----------------

PROBLEMS = ROOT / "problems"


def file_numbers(name: str) -> dict:
    raw = yaml.safe_load((PROBLEMS / f"{name}.yaml").read_text(encoding="utf-8"))
    return {k: mp(v) for section in ("inputs", "parameters", "targets") for k, v in raw[section].items()}


def elman(given: dict):
    """rnn_elman_bptt written out: hₜ = tanh(W hₜ₋₁ + u xₜ + b), yₜ = v hₜ, L = Σ ½ (yₜ − tₜ)²;
    the loss, and each weight's term at every step from δ_zₜ = (vᵀ δ_yₜ + Wᵀ δ_zₜ₊₁) ⊙ (1 − hₜ²)."""
    W, u, b, v = given["W"], given["u"], given["b"], given["v"][0]
    hs, ys, loss = [given["h0"]], [None], mpmath.mpf(0)
    for t in (1, 2, 3):
        x = given[f"x{t}"]
        hs.append([mpmath.tanh(sum(W[i][j] * hs[t - 1][j] for j in range(2)) + u[i] * x + b[i]) for i in range(2)])
        ys.append(sum(v[j] * hs[t][j] for j in range(2)))
        loss += (ys[t] - given[f"t{t}"]) ** 2 / 2
    dz, dy = {4: [0, 0]}, {}
    for t in (3, 2, 1):
        dy[t] = ys[t] - given[f"t{t}"]
        dz[t] = [(v[i] * dy[t] + sum(W[k][i] * dz[t + 1][k] for k in range(2))) * (1 - hs[t][i] ** 2)
                 for i in range(2)]
    terms = {"W": {t: [dz[t][i] * hs[t - 1][j] for i in range(2) for j in range(2)] for t in (1, 2, 3)},
             "u": {t: [dz[t][i] * given[f"x{t}"] for i in range(2)] for t in (1, 2, 3)},
             "b": {t: list(dz[t]) for t in (1, 2, 3)},
             "v": {t: [dy[t] * hs[t][j] for j in range(2)] for t in (1, 2, 3)}}
    return loss, terms


def test_rnn_elman_bptt_against_the_recursion_and_central_differences():
    mpmath.mp.dps = 50
    given = file_numbers("rnn_elman_bptt")
    loss, terms = elman(given)
    solved = solve(load(PROBLEMS / "rnn_elman_bptt.yaml"))
    assert abs(mpmath.mpf(str(solved.loss.evalf(45))) - loss) < mpmath.mpf("1e-40")
    assert set(solved.through_time) == {"W", "u", "b", "v"}
    for name, w in solved.through_time.items():
        for t, _, _, value in w.terms:
            ours = [mpmath.mpf(str(x.evalf(45))) for x in value]
            assert max(abs(a - c) for a, c in zip(ours, terms[name][t])) < mpmath.mpf("1e-40"), (name, t)
        width = len(given[name][0]) if isinstance(given[name][0], list) else None
        for k, g in enumerate(w.value):
            index = divmod(k, width) if width else (k,)
            fd = central_difference(lambda g_: elman(g_)[0], given, name, index)
            assert abs(sum(terms[name][t][k] for t in (1, 2, 3)) - fd) < mpmath.mpf("1e-30"), (name, k)
            assert abs(mpmath.mpf(str(g.evalf(45))) - fd) < mpmath.mpf("1e-30"), (name, k)


def lstm(given: dict):
    """lstm_cell_step written out: the gates, the cell, the output and ½ (h₁ − t)²."""
    def gate(k):
        return given[f"w_{k}"] * given["h0"] + given[f"u_{k}"] * given["x"] + given[f"b_{k}"]
    sig = lambda z: 1 / (1 + mpmath.exp(-z))  # noqa: E731
    f, i, o, g = sig(gate("f")), sig(gate("i")), sig(gate("o")), mpmath.tanh(gate("g"))
    c1 = f * given["c0"] + i * g
    h1 = o * mpmath.tanh(c1)
    return {"f": f, "i": i, "o": o, "g": g, "c1": c1, "h1": h1, "L": (h1 - given["t"]) ** 2 / 2}


def test_lstm_cell_step_against_its_own_forward_pass_and_central_differences():
    mpmath.mp.dps = 50
    given = file_numbers("lstm_cell_step")
    by_hand = lstm(given)
    solved = solve(load(PROBLEMS / "lstm_cell_step.yaml"))
    for name in ("f", "i", "o", "g", "c1", "h1"):
        assert abs(mpmath.mpf(str(solved.values[name].evalf(45))) - by_hand[name]) < mpmath.mpf("1e-40"), name
    assert len(solved.gradients) == 12
    for name, grad in solved.gradients.items():
        h = mpmath.mpf("1e-20")
        fd = (lstm({**given, name: given[name] + h})["L"] - lstm({**given, name: given[name] - h})["L"]) / (2 * h)
        assert abs(mpmath.mpf(str(grad.evalf(45))) - fd) < mpmath.mpf("1e-30"), name


@pytest.mark.parametrize("args, out", [
    (("derive", "{f}", "--all", "--no-color"), None),
    (("export", "{f}", "-o", "{d}/rnn.md"), "rnn.md"),
    (("export", "{f}", "-o", "{d}/rnn.html"), "rnn.html"),
    (("draw", "{f}", "-o", "{d}/rnn.dot"), "rnn.dot"),
    (("draw", "{f}", "-o", "{d}/graph.dot", "--graph", "--gradients"), "graph.dot"),
    (("check", "{f}", "--answer", "L=0.1254"), None),
])
def test_every_command_takes_a_recurrent_file(tmp_path, args, out):
    f = tmp_path / "rnn.yaml"
    f.write_text(RNN, encoding="utf-8")
    run = cli(*(a.format(f=f, d=tmp_path) for a in args))
    assert run.exit_code == 0, run.output
    assert out is None or (tmp_path / out).stat().st_size > 0


def test_train_refuses_a_recurrent_file_without_a_data_set_in_one_line(tmp_path):
    f = tmp_path / "rnn.yaml"
    f.write_text(RNN, encoding="utf-8")
    run = cli("train", f, "--epochs", "1")
    assert run.exit_code == 2 and len(run.output.strip().splitlines()) == 1, run.output
