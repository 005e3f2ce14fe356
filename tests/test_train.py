"""tutor train: the float path against the exact engine and finite differences, the runs, the outputs."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from backprop_tutor import load, loads
from backprop_tutor.datasets import load_data
from backprop_tutor.errors import LimitError, UsageError
from backprop_tutor.graph import build
from backprop_tutor.numeric import batch_of, dims, float_leaves, forward_batch, loss_and_gradients
from backprop_tutor.training import status, train

ROOT = Path(__file__).resolve().parent.parent
RING = ROOT / "problems" / "ws24_sheet4_ring.yaml"
ADDITION = ROOT / "problems" / "ws24_sheet4_train.yaml"


def tutor(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="80")
    return subprocess.run([sys.executable, "-m", "backprop_tutor", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def ring():
    return load(RING)


@pytest.fixture(scope="module")
def addition():
    return load(ADDITION)


# -- the float path is the hand computation ------------------------------------------------------------

@pytest.mark.parametrize("path, batch", [(ADDITION, 4), (RING, 2), (RING, 5)])
def test_exact_and_float_paths_agree_on_the_first_five_steps(path, batch):
    problem = load(path)
    exact = train(problem, 1, batch=batch, exact_steps=5, record=5).runs[0]
    floats = train(problem, 1, batch=batch, record=5).runs[0]
    assert len(exact.exact) == 5 and len(exact.steps) == len(floats.steps) == 5
    for k, (a, b) in enumerate(zip(exact.steps, floats.steps)):
        for name in a:
            assert np.max(np.abs(a[name] - b[name])) <= 1e-12, (k, name)
    moved = [np.max(np.abs(exact.steps[4][n] - exact.steps[0][n])) for n in exact.steps[0]]
    assert max(moved) > 1e-4, "the parameters did move: the comparison is not of constants"


def test_the_first_exact_step_is_what_solve_works_by_hand(addition):
    from backprop_tutor import solve
    run = train(addition, 1, batch=addition.dataset.batch, exact_steps=1).runs[0]
    by_hand = solve(addition)
    assert run.exact[0].updated == by_hand.updated
    assert run.exact[0].loss == by_hand.loss


def test_float_gradients_agree_with_finite_differences(ring):
    graph = build(ring)
    data = load_data(ring)
    leaves = float_leaves(graph)
    rows = data.rows[:16]
    x = batch_of(graph, "x", [[float(v) for v in r["x"]] for r in rows])
    t = batch_of(graph, "t", [[float(v) for v in r["t"]] for r in rows])
    wrt = ["W1", "b1", "W2", "b2"]
    _, grads = loss_and_gradients(graph, {**leaves, "x": x, "t": t}, wrt)

    def loss(values):
        return float(np.mean(forward_batch(graph, {**values, "x": x, "t": t})["L"]))

    h = 1e-6
    for name in wrt:
        for index in np.ndindex(leaves[name].shape[1:]):
            up, down = dict(leaves), dict(leaves)
            up[name], down[name] = leaves[name].copy(), leaves[name].copy()
            up[name][(0, *index)] += h
            down[name][(0, *index)] -= h
            assert grads[name][index] == pytest.approx((loss(up) - loss(down)) / (2 * h), abs=1e-8), (name, index)


# -- what training does ----------------------------------------------------------------------------------

def test_the_loss_falls_at_the_sheets_first_rate(addition):
    run = train(addition, 30, rates=0.1, batch=4).runs[0]
    assert run.loss[-1] < run.loss[0] / 100
    assert run.learning_rate == 0.1 and run.accuracy is None  # sums are not classes


def test_the_double_ring_is_learnt_to_95_percent_with_its_settings(ring):
    training = train(ring, 1000)  # the file's learning rate, the whole data set a batch
    run = training.runs[0]
    assert training.classes is not None and training.samples == 400 and training.batch == 400
    assert run.final_accuracy >= 0.95, run.final_accuracy
    assert run.accuracy[0] < 0.8, "it starts far from it"


def test_accuracy_is_the_share_of_points_on_the_right_side(ring):
    run = train(ring, 20, batch=50).runs[0]
    graph = build(ring)
    data = load_data(ring)
    x = np.array([[float(v) for v in r["x"]] for r in data.rows])
    t = np.array([float(r["t"][0]) for r in data.rows])
    params = {name: np.asarray(v, dtype=float).reshape((1, *dims(graph.nodes[name].shape)))
              for name, v in run.parameters.items()}
    y = forward_batch(graph, {**float_leaves(graph), **params, "x": batch_of(graph, "x", x),
                              "t": batch_of(graph, "t", t)})["y"].reshape(-1)
    assert run.final_accuracy == pytest.approx(np.mean((y > 0.5) == (t == 1)))


def test_a_seed_reproduces_a_run_bit_for_bit(ring):
    a = train(ring, 5, rates=[0.5, 0.9], batch=32, seed=3)
    b = train(ring, 5, rates=[0.5, 0.9], batch=32, seed=3)
    c = train(ring, 5, rates=[0.5, 0.9], batch=32, seed=4)
    for ra, rb in zip(a.runs, b.runs):
        assert ra.loss == rb.loss and ra.accuracy == rb.accuracy
        assert all(np.array_equal(ra.parameters[n], rb.parameters[n]) for n in ra.parameters)
    assert a.runs[0].loss != c.runs[0].loss
    assert a.runs[0].loss[1] == c.runs[0].loss[1], "the first epoch is in the data set's order, unshuffled"


def test_full_batch_training_does_not_depend_on_the_seed(ring):
    assert train(ring, 3, seed=1).runs[0].loss == pytest.approx(train(ring, 3, seed=2).runs[0].loss, rel=1e-12)


def test_a_run_that_blows_up_is_reported_diverged(addition):
    run = train(addition, 50, rates=[50], batch=4).runs[0]
    assert run.status == "diverged" and run.diverged_at is not None
    assert math.isnan(run.final_loss) and math.isfinite(run.best_loss)
    assert len(run.loss) == run.diverged_at + 1


def test_the_status_of_a_loss_curve():
    assert status([1.0, 0.5, 0.25, 0.2499, 0.2499]) == "converged"
    assert status([1.0, 0.8, 0.6, 0.4, 0.2]) == "still falling"
    assert status([1.0, 1.5, 2.0]) == "not falling"
    assert status([1.0, float("inf")]) == "diverged"
    assert status([1.0] + [1e-13] * 3) == "converged"


def test_whole_double_ring_run_is_fast(ring):
    start = time.process_time()  # the time of this process on the processor: other work running beside it does not count
    run = train(ring, 1000).runs[0]
    took = time.process_time() - start
    assert run.final_accuracy >= 0.95
    assert took < 5.0, f"1,000 full-batch epochs of 400 points took {took:.2f} s"


def test_bad_arguments_are_usage_errors(ring, addition):
    for kwargs in ({"epochs": -1}, {"epochs": 1.5}, {"epochs": 1, "rates": "abc"}, {"epochs": 1, "rates": 0},
                   {"epochs": 1, "rates": []}, {"epochs": 1, "batch": 0}, {"epochs": 1, "seed": -2},
                   {"epochs": 1, "batch": 50, "exact_steps": 1}):
        with pytest.raises(UsageError):
            train(ring, **kwargs)
    with pytest.raises(UsageError):
        train(load(ROOT / "problems" / "ws24_sheet4_ex1.yaml"), 1)  # no data set
    no_rate = loads("inputs: {x: [0, 0]}\nparameters: {w: [[1, 1]]}\ntargets: {t: 0}\nforward: {y: w @ x}\n"
                    "loss: sse(y, t)\ndataset: {generate: addition, n: 4}\n")
    with pytest.raises(UsageError, match="learning rate"):
        train(no_rate, 1)
    assert train(no_rate, 1, rates="0.1").runs[0].learning_rate == 0.1


def test_a_training_shows_itself_in_a_notebook(ring):
    png = train(ring, 3, rates=[0.5, 1])._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


# -- the command ------------------------------------------------------------------------------------------

def test_tutor_train_compares_rates_and_writes_plot_and_parameters(tmp_path):
    done = tutor("train", ADDITION, "--epochs", 20, "--lr", "0.1,0.5,0.9", "--batch", 4, "--every", 5,
                 "--plot", "rates.png", "-o", "params.yaml", "--no-color", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "loss α=0.1" in out and "loss α=0.9" in out and "Learning rates compared" in out
    assert [line.split()[0] for line in out.splitlines() if line.strip()[:2] in ("0 ", "5 ", "10", "15", "20")][:5] \
        == ["0", "5", "10", "15", "20"]
    assert all(len(line) <= 80 for line in out.splitlines())
    assert (tmp_path / "rates.png").read_bytes().startswith(b"\x89PNG")
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    first = (tmp_path / "params.yaml").read_text().splitlines()[0]
    assert first.startswith("# tutor train ") and "--lr 0.1" in first
    assert params["learning_rate"] == 0.1 and params["epochs"] == 20 and set(params["parameters"]) == {"u", "c", "v", "d"}
    again = train(load(ADDITION), 20, rates=[0.1], batch=4).runs[0]  # the run -o wrote, computed again
    assert params["loss"] == again.final_loss
    assert np.array_equal(np.array(params["parameters"]["u"]), again.parameters["u"])
    assert params["parameters"]["d"] == list(again.parameters["d"])
    assert "wrote params.yaml (α = 0.1, the lowest final loss)" in out


@pytest.mark.parametrize("kind, magic", [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_the_plot_takes_the_format_its_name_says(tmp_path, kind, magic):
    done = tutor("train", RING, "--epochs", 5, "--plot", f"curve.{kind}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / f"curve.{kind}").read_bytes().startswith(magic)


def test_tutor_train_json_is_strict_and_complete(tmp_path):
    done = tutor("train", ADDITION, "--epochs", 5, "--lr", "0.1,50", "--batch", 4, "--json", "-o", "p.yaml",
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["epochs"] == 5 and data["batch"] == 4 and len(data["runs"]) == 2
    good, bad = data["runs"]
    assert len(good["loss"]) == 6 and good["status"] != "diverged"
    assert bad["status"] == "diverged" and bad["final_loss"] is None
    assert data["best_learning_rate"] == 0.1
    assert done.stderr.splitlines() == ["wrote p.yaml (α = 0.1, the lowest final loss)"], "no warning of numpy"


def test_tutor_train_accuracy_columns_for_a_classifier(tmp_path):
    done = tutor("train", RING, "--epochs", 10, "--no-color", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "acc." in done.stdout and "%" in done.stdout
    assert "Parameters after training" in done.stdout and "W1 = [" in done.stdout


def test_exact_steps_are_printed_as_solve_prints_them(tmp_path):
    batch = load(ADDITION).dataset.batch  # the first batch solve works
    done = tutor("train", ADDITION, "--epochs", 1, "--batch", batch, "--exact-steps", 2, "--no-color", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert f"Step 1 of training: a batch of {batch} samples" in text and "Step 2 of training" in text
    solved = tutor("solve", ADDITION, "--no-color", cwd=tmp_path).stdout
    update = solved[solved.index("Gradient-descent update"):solved.index("\nAnswers")]
    assert update in done.stdout, "step 1 of training shows the update solve shows"


@pytest.mark.parametrize("args, words", [
    (["--lr", "abc"], ["'abc' is not a learning rate"]),
    (["--lr", "-1"], ["above 0"]),
    (["--lr", "1e-999999999"], ["is not a learning rate"]),
    (["--lr", "0.1,,0.5"], ["'' is not a learning rate"]),
    (["-o", "params.txt"], [".yaml"]),
    (["--plot", "curve.jpg"], [".png"]),
    (["--epochs", "-3"], ["--epochs"]),
    (["--exact-steps", "1"], ["batch of at most 20"]),
])
def test_bad_train_options_are_one_line(tmp_path, args, words):
    done = tutor("train", RING, "--epochs", 2, *args, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: ")
    for w in words:
        assert w in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_train_on_a_file_without_data_set_is_one_line(tmp_path):
    done = tutor("train", ROOT / "problems" / "ws24_sheet4_ex1.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "dataset:" in done.stderr and len(done.stderr.splitlines()) == 1


def test_help_imports_neither_numpy_nor_matplotlib_nor_graphviz():
    code = ("import sys\nfrom backprop_tutor.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = {'numpy', 'matplotlib', 'graphviz'} & set(sys.modules)\n"
            "assert not heavy, heavy\n"
            "try:\n    main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = {'numpy', 'matplotlib', 'graphviz'} & set(sys.modules)\n"
            "assert not heavy, heavy\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="80"))
    assert done.returncode == 0, done.stderr
    assert "train" in done.stdout


def test_train_is_callable_from_the_package_with_a_path():
    from backprop_tutor import train as train_path
    training = train_path(str(RING), 2, rates=[0.5, 1.0], batch=100)
    assert [r.learning_rate for r in training.runs] == [0.5, 1.0]
    assert all(len(r.loss) == 3 for r in training.runs)
    with pytest.raises(LimitError, match="dataset_rows"):
        train_path(str(RING), 2, limits={"dataset_rows": 10})  # the generator's 400 rows pass the limit


def test_every_key_of_train_json_is_documented(tmp_path):
    import re
    guide = (ROOT / "docs" / "problem-format.md").read_text(encoding="utf-8")
    start = guide.index("### `tutor train FILE --json`")
    documented = set(re.findall(r"`([a-z_]+)`", guide[start:guide.index("\n## ", start)]))
    data = json.loads(tutor("train", RING, "--epochs", 2, "--json", cwd=tmp_path).stdout)
    assert set(data) <= documented, set(data) - documented
    run_keys = {k for run in data["runs"] for k in run}
    assert run_keys <= documented, run_keys - documented
