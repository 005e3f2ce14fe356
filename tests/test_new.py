"""tutor new: 500 generated problems solve, their gradients agree with finite differences of an independent
float network, their numbers keep the documented rules; seeds reproduce files; variants, solutions, template."""
from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import yaml

from backprop_tutor import loads, new, solve, template
from backprop_tutor import generate
from backprop_tutor.engine import Work
from backprop_tutor.errors import UsageError
from backprop_tutor.graph import build

ROOT = Path(__file__).resolve().parent.parent
ACTIVATIONS = ("relu", "sigmoid", "tanh")
LOSSES = ("sse", "half_sse", "mse", "cross_entropy")
LAYOUTS = ("Wx", "xW")
COMBOS = list(itertools.product(ACTIVATIONS, LOSSES, LAYOUTS))
SHAPES = ("2,2,1", "2,2,2", "3,2,1", "2,3,2", "2,1", "3,2", "1,2,1", "2,2,2,1", "3,3,3", "2,3,2,2")
PER_COMBO = 21  # 24 combinations × 21 = 504 problems


def tutor(*args, cwd=None, env=None):
    environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
    environment.update(PYTHONPATH=str(ROOT), COLUMNS="80", **(env or {}))
    return subprocess.run([sys.executable, "-m", "backprop_tutor", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=environment)


# -- an independent float network, read from the file's text --------------------------------------------

def float_net(text: str):
    """The loss as a function of the parameters (a dict of float arrays, as the file writes them),
    and those parameters: written here from the file's YAML, sharing no code with the engine."""
    d = yaml.safe_load(text)
    x = np.array(d["inputs"]["x"], dtype=float)
    t = np.array(d["targets"]["t"], dtype=float)
    net = d["network"]
    params = {}
    for k, layer in enumerate(net["layers"], start=1):
        params[f"W{k}"] = np.array(layer["weights"], dtype=float)
        params[f"b{k}"] = np.array(layer["bias"], dtype=float)
    acts = [layer["activation"] for layer in net["layers"]]
    loss = d["loss"]

    def f(p):
        h = x
        for k, act in enumerate(acts, start=1):
            W = p[f"W{k}"] if net["layout"] == "Wx" else p[f"W{k}"].T
            z = W @ h + p[f"b{k}"]
            h = {"relu": lambda v: np.maximum(v, 0), "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
                 "tanh": np.tanh, "linear": lambda v: v}[act](z)
        y = h
        if loss.startswith("sse("):
            return np.sum((y - t) ** 2)
        if loss.startswith("half_sse("):
            return 0.5 * np.sum((y - t) ** 2)
        if loss.startswith("mse("):
            return np.mean((y - t) ** 2)
        if loss.startswith("bce("):
            p1 = 1 / (1 + np.exp(-y[0]))
            return -(t[0] * math.log(p1) + (1 - t[0]) * math.log(1 - p1))
        assert loss == "cross_entropy(softmax(y), t)", loss
        s = np.exp(y - y.max())
        return -np.sum(t * np.log(s / s.sum()))
    return f, params


def finite_differences(f, params, h=1e-6):
    out = {}
    for name, value in params.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][index] += h
            minus[name][index] -= h
            grad[index] = (f(plus) - f(minus)) / (2 * h)
        out[name] = grad
    return out


def numbers(value) -> list:
    return list(value) if isinstance(value, sp.MatrixBase) else [value]


def short(v, places: int) -> bool:
    """An exact rational with at most `places` decimals."""
    v = sp.Rational(v)
    return (v * 10**places).q == 1


# -- the 500 problems -------------------------------------------------------------------------------------

@pytest.mark.parametrize("activation, loss, layout", COMBOS, ids=["-".join(c) for c in COMBOS])
def test_generated_problems_solve_their_gradients_agree_and_their_numbers_are_nice(activation, loss, layout):
    for i in range(PER_COMBO):
        layers = SHAPES[i % len(SHAPES)]
        seed = 1000 * COMBOS.index((activation, loss, layout)) + i
        text = new(layers, activation, loss, layout, seed=seed, ask=i % 2 == 0)
        where = f"--layers {layers} --activation {activation} --loss {loss} --layout {layout} --seed {seed}"
        problem = loads(text, where)
        solution = solve(problem)  # the real path, end to end
        assert solution.sections, where
        work = Work(build(problem))
        sizes = [int(n) for n in layers.split(",")]
        depth = len(sizes) - 1

        # the given numbers: small nonzero integer inputs, one-decimal weights and biases below 1 in size
        for v in numbers(work.values["x"].x):
            assert v.is_integer and v != 0 and abs(v) <= 3, (where, v)
        for k in range(1, depth + 1):
            for name in (f"W{k}", f"b{k}"):
                for v in numbers(work.values[name].x):
                    assert short(v, 1) and v != 0 and abs(v) < 1, (where, name, v)
        for v in numbers(work.values["t"].x):
            assert short(v, 1), (where, v)

        # every gradient agrees with a central finite difference of the float network
        f, params = float_net(text)
        assert math.isclose(f(params), float(work.values["L"].x), rel_tol=1e-9, abs_tol=1e-12), where
        estimates = finite_differences(f, params)
        for name, estimate in estimates.items():
            exact = np.array(work.deltas[name].x.tolist(), dtype=float).reshape(estimate.shape)
            assert np.allclose(exact, estimate, rtol=1e-5, atol=1e-7), (where, name, exact, estimate)
            # no gradient element 0 or vanishing
            assert np.all(np.abs(exact) >= 1e-4), (where, name, exact)

        # hidden units: a ReLU is on (never at 0); σ and tanh keep their slope at least 0.1
        for k in range(1, depth):
            for z in numbers(work.values[f"z{k}"].x):
                if activation == "relu":
                    assert z > 0, (where, k, z)
                else:
                    s = 1 / (1 + math.exp(-float(z)))
                    slope = s * (1 - s) if activation == "sigmoid" else 1 - math.tanh(float(z)) ** 2
                    assert slope >= 0.1, (where, k, z)

        for k in range(1, depth):
            if activation == "relu":
                assert max(numbers(work.values[f"z{k}"].x)) <= 3, (where, k)
        for v in numbers(work.values["y"].x):  # the output layer is linear: y is its pre-activation
            assert v != 0 and abs(v) <= 3, (where, v)

        # ReLU (or single-layer) nets with a squared loss: every number short
        if loss != "cross_entropy" and (activation == "relu" or depth == 1):
            places = max(4, 2 * depth)
            for name, value in work.values.items():
                for v in numbers(value.x):
                    assert short(v, places), (where, "value", name, v)
            for name, value in work.deltas.items():
                for v in numbers(value.x):
                    assert short(v, places), (where, "delta or gradient", name, v)
            for node in work.g.parameters:
                for w, g in zip(numbers(node.given), numbers(work.deltas[node.name].x)):
                    assert short(sp.Rational(w) - sp.Rational(1, 10) * g, places), (where, "updated", node.name)


def test_the_tests_reach_every_shape_and_enough_problems():
    assert len(COMBOS) * PER_COMBO >= 500
    assert PER_COMBO >= len(SHAPES)


def test_a_cross_entropy_net_of_one_output_is_sigmoid_and_bce():
    text = new("2,2,1", "relu", "cross_entropy", seed=4)
    assert "loss: bce(sigmoid(y), t)" in text
    assert yaml.safe_load(text)["targets"]["t"] in ([0], [1])
    text = new("2,2,3", "relu", "cross_entropy", seed=4)
    assert "loss: cross_entropy(softmax(y), t)" in text
    assert sorted(yaml.safe_load(text)["targets"]["t"]) == [0, 0, 1]


def test_the_layout_transposes_the_written_matrices():
    wx, xw = new("3,2,1", seed=11, layout="Wx"), new("3,2,1", seed=11, layout="xW")
    a, b = yaml.safe_load(wx)["network"]["layers"][0], yaml.safe_load(xw)["network"]["layers"][0]
    assert len(a["weights"]) == 2 and len(a["weights"][0]) == 3
    assert np.array_equal(np.array(a["weights"]).T, np.array(b["weights"]))


# -- reproducible --------------------------------------------------------------------------------------------

def test_a_seed_reproduces_its_file_byte_for_byte_across_processes():
    args = ["new", "--layers", "3,2,2", "--activation", "tanh", "--loss", "mse", "--layout", "xW", "--seed", "77",
            "--ask"]
    first = tutor(*args, env={"PYTHONHASHSEED": "1"})
    second = tutor(*args, env={"PYTHONHASHSEED": "2"})
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert first.stdout == new("3,2,2", "tanh", "mse", "xW", seed=77, ask=True)
    assert new("3,2,2", "tanh", "mse", "xW", seed=78, ask=True) != first.stdout


def test_a_seed_makes_the_file_it_made_before():
    # written by `tutor new --layers 2,2,1 --seed 7 --ask` when the generator was made: a change of the
    # generator that changes it breaks every seed given out before
    kept = (Path(__file__).parent / "data" / "new_seed_7.yaml").read_text(encoding="utf-8")
    assert new("2,2,1", seed=7, ask=True) == kept


def test_without_a_seed_the_file_names_the_seed_that_makes_it_again():
    text = new("2,2,1")
    command = yaml.safe_load(text)["source"]
    seed = int(command.split("--seed ")[1].split()[0])
    assert new("2,2,1", seed=seed) == text


# -- variants -----------------------------------------------------------------------------------------------

def skeleton(text: str) -> str:
    """The file with its numbers and title suffix blanked: the structure."""
    import re
    text = re.sub(r"\(variant \d+ of \d+\)", "", text)
    return re.sub(r"-?\d+(\.\d+)?", "#", text.split("\ninputs:", 1)[1])


def test_variants_share_the_structure_and_differ_in_numbers():
    texts = new("2,2,1", "sigmoid", "half_sse", seed=5, ask=True, variants=12)
    assert len(texts) == 12
    bodies = [t.split("\ninputs:", 1)[1] for t in texts]
    assert len(set(bodies)) == 12
    assert len({skeleton(t) for t in texts}) == 1
    for t in texts[:3]:
        solve(loads(t))


def test_variants_cli_writes_a_folder_with_solutions_and_refuses_to_replace(tmp_path):
    out = tmp_path / "sheet"
    run = tutor("new", "--variants", 3, "-o", out, "--seed", 3, "--ask", "--solutions", "md")
    assert run.returncode == 0, run.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"variant-0{k}.{e}" for k in (1, 2, 3) for e in ("md", "yaml")]
    for k in (1, 2, 3):
        md = (out / f"variant-0{k}.md").read_text(encoding="utf-8")
        problem = loads((out / f"variant-0{k}.yaml").read_text(encoding="utf-8"))
        assert problem.title in md and "(c)" in md
    before = (out / "variant-01.yaml").read_bytes()
    again = tutor("new", "--variants", 3, "-o", out, "--seed", 4)
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr.startswith("error: ") and len(again.stderr.splitlines()) == 1
    assert "--force" in again.stderr
    assert (out / "variant-01.yaml").read_bytes() == before
    forced = tutor("new", "--variants", 3, "-o", out, "--seed", 4, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "variant-01.yaml").read_bytes() != before


def test_a_pdf_solution_without_latex_is_exit_3_before_anything_is_written(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    run = tutor("new", "--variants", 2, "-o", tmp_path / "set", "--solutions", "pdf", "--seed", 1,
                env={"PATH": str(bare)})
    assert run.returncode == 3, run.stderr
    assert "pdflatex is not installed" in run.stderr and len(run.stderr.splitlines()) == 1
    assert not (tmp_path / "set").exists()


@pytest.mark.skipif(not __import__("shutil").which("pdflatex"), reason="needs pdflatex")
def test_a_pdf_solution_is_typeset_beside_its_file(tmp_path):
    target = tmp_path / "p.yaml"
    run = tutor("new", "--seed", 2, "--ask", "-o", target, "--solutions", "pdf")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "p.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("args, message", [
    (["--variants", "3"], "needs -o DIR"),
    (["--solutions", "md"], "needs -o"),
    (["--layers", "2,x"], "--layers takes"),
    (["--layers", "2"], "--layers takes"),
    (["--layers", "2,0,1"], "at least one unit"),
    (["--layers", "2,9,1"], "new_units"),
    (["--layers", "2,2,2,2,2,2,1"], "new_layers"),
    (["--activation", "softsign"], "--activation must be one of"),
    (["--loss", "l1"], "--loss must be one of"),
    (["--layout", "WX"], "--layout must be"),
    (["--wrt", "W1[1,1]"], "give it with --ask"),
    (["--ask", "--wrt", "W3[1,1]"], "W1 to W2"),
    (["--ask", "--wrt", "W1[3,1]"], "2×2 matrix"),
    (["--ask", "--wrt", "$(rm -rf)"], "names one weight"),
    (["--template", "--variants", "2", "-o", "x"], "--template writes"),
    (["--variants", "201", "-o", "x"], "variants"),
    (["--variants", "0", "-o", "x"], "at least 1"),
    (["-o", "p.txt"], ".yaml"),
    (["-o", "missing/p.yaml"], "does not exist"),
    (["--variants", "2", "-o", "missing/set"], "does not exist"),
    (["--solutions", "html", "-o", "p.yaml"], "md or pdf"),
])
def test_bad_requests_are_one_line_and_exit_2(tmp_path, args, message):
    run = tutor("new", *args, cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert run.stdout == "" and run.stderr.startswith("error: ") and len(run.stderr.splitlines()) == 1, run.stderr
    assert message in run.stderr, run.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_impossible_request_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(generate, "TRIES", 2)
    monkeypatch.setattr(generate, "UNIT_TRIES", 1)
    monkeypatch.setattr(generate, "RELU_BOUND", 0)  # no ReLU unit can be on
    with pytest.raises(UsageError, match="found no numbers that keep the rules in 2 tries"):
        new("2,2,1", seed=1)


def test_a_limit_can_be_raised_for_a_larger_net():
    with pytest.raises(UsageError, match="new_units"):
        new("2,9,1", seed=1)
    text = new("2,9,1", seed=1, limits={"new_units": 9})
    assert len(yaml.safe_load(text)["network"]["layers"][0]["weights"]) == 9


# -- the template --------------------------------------------------------------------------------------------

def test_the_template_loads_and_solves_as_written_and_explains_itself(tmp_path):
    text = template()
    assert text.count("\n#") + text.count("  #") >= 10  # commented
    solution = solve(loads(text, "template.yaml"))
    assert [s.part for s in solution.sections if s.part] == ["a", "b", "c", "d", "e"]
    target = tmp_path / "mine.yaml"
    run = tutor("new", "--template", "-o", target)
    assert run.returncode == 0 and target.read_text(encoding="utf-8") == text
    solved = tutor("solve", target, "--answers", cwd=tmp_path)
    assert solved.returncode == 0, solved.stderr
    assert "∂L/∂W⁽¹⁾₂₁" in solved.stdout


def test_new_prints_to_stdout_a_file_that_tutor_solves(tmp_path):
    run = tutor("new", "--seed", 12, "--ask", "--activation", "sigmoid")
    assert run.returncode == 0, run.stderr
    (tmp_path / "p.yaml").write_text(run.stdout, encoding="utf-8")
    solved = tutor("solve", tmp_path / "p.yaml", "--verify", cwd=tmp_path)
    assert solved.returncode == 0, solved.stderr
    assert "(e)" in solved.stdout


def test_new_help_stays_light():
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "backprop_tutor", "new", "--help"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and "--variants" in done.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert "typer" in imported
    assert not imported & {"sympy", "numpy", "matplotlib", "graphviz"}


def test_the_guide_shows_the_file_its_command_makes():
    guide = (ROOT / "docs" / "new-problems.md").read_text(encoding="utf-8")
    shown = guide.split("```yaml\n", 1)[1].split("```\n", 1)[0]
    assert "tutor new --layers 2,2,1 --activation relu --loss sse --seed 7 --ask" in guide
    assert shown == new("2,2,1", "relu", "sse", seed=7, ask=True)


def test_variants_that_keep_repeating_are_a_clear_error(monkeypatch):
    same = new("2,2,1", seed=3)
    monkeypatch.setattr(generate, "generate", lambda *args, **kwargs: same)
    with pytest.raises(UsageError, match="could not find 2 different sets of numbers"):
        new("2,2,1", seed=3, variants=2)
