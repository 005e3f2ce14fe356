"""Data sets in problem files: the generators, CSV files, the first batch solved by hand, hostile specs."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from backprop_tutor import load, loads, solve
from backprop_tutor.datasets import addition, columns, double_ring, first_batch, load_data
from backprop_tutor.errors import LimitError, ProblemError

ROOT = Path(__file__).resolve().parent.parent
RING = ROOT / "problems" / "ws24_sheet4_ring.yaml"
TRAIN = ROOT / "problems" / "ws24_sheet4_train.yaml"

NET = """\
inputs: {x: [null, null]}
parameters: {W: [[0.5, -0.25]], b: 0.1}
targets: {t: null}
forward: {y: "W @ x + b"}
loss: sse(y, t)
learning_rate: 0.1
"""


def tutor(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="80")
    return subprocess.run([sys.executable, "-m", "backprop_tutor", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120)


def one_line_error(done, *words):
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


# -- generators ----------------------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_data_bit_for_bit():
    assert double_ring(300, Fraction(1, 10), 7) == double_ring(300, Fraction(1, 10), 7)
    assert addition(100, Fraction(0), Fraction(1), 3) == addition(100, Fraction(0), Fraction(1), 3)
    assert double_ring(300, Fraction(1, 10), 7) != double_ring(300, Fraction(1, 10), 8)
    assert addition(100, Fraction(0), Fraction(1), 3) != addition(100, Fraction(0), Fraction(1), 4)


@pytest.mark.parametrize("noise", [Fraction(0), Fraction(1, 10)])
def test_double_ring_is_an_inner_disc_and_an_outer_ring(noise):
    rows = double_ring(401, noise, 1)
    assert len(rows) == 401
    assert sum(1 for _, label in rows if label == 1) == 200  # half (rounded down) inner
    slack = float(noise) * math.sqrt(2) + 0.01  # the noise moves each coordinate, rounding another 0.005 each
    for (a, b), label in rows:
        assert a.denominator in (1, 2, 4, 5, 10, 20, 25, 50, 100) and b.denominator in (1, 2, 4, 5, 10, 20, 25, 50, 100)
        r = math.hypot(a, b)
        if label == 1:
            assert r <= 0.5 + slack
        else:
            assert 0.7 - slack <= r <= 1 + slack
    labels = [label for _, label in rows[:20]]
    assert 0 < sum(labels) < 20, "the classes are shuffled, not one block after the other"


def test_addition_targets_are_exact_sums_of_the_rounded_pairs():
    rows = addition(200, Fraction(1, 2), Fraction(3), 5)
    for (a, b), target in rows:
        assert target == a + b
        assert Fraction(1, 2) <= a <= 3 and Fraction(1, 2) <= b <= 3
        assert (a * 100).denominator == 1 and (b * 100).denominator == 1


def test_a_generated_problem_gives_its_data_in_the_files_shapes():
    data = load_data(load(RING))
    assert len(data.rows) == 400 and data.names == ("x", "t")
    first = data.rows[0]
    assert isinstance(first["x"], list) and len(first["x"]) == 2 and isinstance(first["t"], list)
    scalar = load_data(loads(NET + "dataset: {generate: addition, n: 5}\n"))
    assert all(isinstance(r["t"], Fraction) for r in scalar.rows)


# -- the first batch, worked by hand -------------------------------------------------------------------

def data_block(rows) -> str:
    def text(v):
        return "[" + ", ".join(str(x) for x in v) + "]" if isinstance(v, list) else str(v)
    return "data:\n" + "".join("  - {" + ", ".join(f"{k}: \"{text(v)}\"" if not isinstance(v, list) else
                                                  f"{k}: [" + ", ".join(f'"{x}"' for x in v) + "]"
                                                  for k, v in row.items()) + "}\n" for row in rows)


@pytest.mark.parametrize("path", [TRAIN, RING])
def test_solve_works_the_first_batch_as_the_same_samples_under_data_would(path):
    problem = load(path)
    rows = load_data(problem).rows[:problem.dataset.batch]
    text = path.read_text(encoding="utf-8")
    start = text.index("dataset:")
    written = text[:start] + data_block(rows)  # the same file with its first batch written out as data:
    written = "\n".join(line for line in written.splitlines() if not line.startswith("batch:")) + "\n"
    by_hand = solve(loads(written, str(path)))
    from_data_set = solve(problem)
    assert from_data_set.loss == by_hand.loss
    assert from_data_set.gradients == by_hand.gradients
    assert from_data_set.updated == by_hand.updated


def test_solve_says_it_is_step_one_of_training():
    done = tutor("solve", TRAIN, "--no-color")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "Step 1 of training: the first batch of 2 of the 200 samples of the data set (addition" in text
    assert "seed 1" in text
    json_done = tutor("solve", RING, "--json")
    import json
    assert json.loads(json_done.stdout)["notes"].startswith("Step 1 of training: the first batch of 2 of the 400")


def test_derive_works_the_first_batch_too():
    from backprop_tutor import derive
    problem = load(TRAIN)
    assert first_batch(problem).samples == 2
    assert derive(problem, "d").sections  # over the two samples' copies of the forward lines
    done = tutor("derive", TRAIN, "--wrt", "d", "--no-color")
    assert done.returncode == 0, done.stderr
    assert "A⁽²⁾" in done.stdout and "A⁽³⁾" not in done.stdout


def test_the_default_first_batch_is_four_samples():
    problem = loads(NET + "dataset: {generate: addition, n: 10}\n")
    assert problem.dataset.batch == 4 and first_batch(problem).samples == 4
    small = loads(NET + "dataset: {generate: addition, n: 3}\n")
    assert small.dataset.batch == 3


# -- CSV files ------------------------------------------------------------------------------------------

def write(folder: Path, csv_text: str, spec: str = "dataset: {csv: data.csv}\n") -> Path:
    (folder / "data.csv").write_text(csv_text, encoding="utf-8")
    problem = folder / "net.yaml"
    problem.write_text(NET + spec, encoding="utf-8")
    return problem


def test_a_csv_file_is_read_exactly_whatever_its_column_order(tmp_path):
    problem = write(tmp_path, "t,x[2],x[1]\n0.1,2,1e-3\n-1.5, 0.25 ,3\n")
    data = load_data(load(problem))
    assert data.rows == ({"x": [Fraction(1, 1000), Fraction(2)], "t": Fraction(1, 10)},
                         {"x": [Fraction(3), Fraction(1, 4)], "t": Fraction(-3, 2)})
    assert columns(load(problem)) == {"x": ["x[1]", "x[2]"], "t": ["t"]}
    assert solve(load(problem)).loss == solve(loads(NET + "data:\n  - {x: [0.001, 2], t: 0.1}\n"
                                                    "  - {x: [3, 0.25], t: -1.5}\n")).loss


@pytest.mark.parametrize("csv_text, line, words", [
    ("x[1],x[2],t\n1,2,3\n1,abc,3\n", 3, ["x[2]", "'abc' is not a number"]),
    ("x[1],x[2],t\n1,2,nan\n", 2, ["t:", "'nan' is not a number"]),
    ("x[1],x[2],t\n1,2,1e999\n", 2, ["t:", "number_exponent"]),
    ("x[1],x[2],t\n1,__import__('os'),3\n", 2, ["x[2]", "is not a number"]),
    ("x[1],x[2],t\n1,2\n", 2, ["2 cells"]),
    ("x[1],t\n1,2\n", 1, ["lacks the column 'x[2]'"]),
    ("x[1],x[2],t,y\n1,2,3,4\n", 1, ["'y' is not a column"]),
    ("x[1],x[1],t\n1,2,3\n", 1, ["named twice"]),
    ("x[1],x[2],t\n", None, ["no samples"]),
])
def test_bad_csv_cells_name_file_line_and_column(tmp_path, csv_text, line, words):
    problem = write(tmp_path, csv_text)
    message = one_line_error(tutor("solve", problem), *words)
    where = f"data.csv:{line}:" if line else "data.csv:"
    assert where in message


def test_too_many_rows_is_a_limit_that_can_be_raised(tmp_path):
    problem = write(tmp_path, "x[1],x[2],t\n" + "1,2,3\n" * 30)
    one_line_error(tutor("--limit", "dataset_rows=20", "solve", problem), "dataset_rows", "data.csv:22:")
    assert tutor("--limit", "dataset_rows=30", "solve", problem).returncode == 0
    with pytest.raises(LimitError):
        load_data(load(problem), {"dataset_rows": 29})


def test_a_csv_file_too_large_is_refused_before_it_is_read(tmp_path):
    problem = write(tmp_path, "x[1],x[2],t\n" + "1,2,3\n" * 200)
    one_line_error(tutor("--limit", "dataset_bytes=1000", "solve", problem), "dataset_bytes")


@pytest.mark.parametrize("path, words", [
    ("/etc/passwd", ["dataset.csv", "relative"]),
    ("../data.csv", ["dataset.csv", "no .."]),
    ("sub/../../data.csv", ["dataset.csv", "no .."]),
    ("missing.csv", ["dataset.csv", "no such file"]),
])
def test_a_csv_path_must_stay_in_the_problems_folder(tmp_path, path, words):
    folder = tmp_path / "inner"
    folder.mkdir()
    (tmp_path / "data.csv").write_text("x[1],x[2],t\n1,2,3\n", encoding="utf-8")
    problem = folder / "net.yaml"
    problem.write_text(NET + f"dataset: {{csv: \"{path}\"}}\n", encoding="utf-8")
    message = one_line_error(tutor("solve", problem), *words)
    assert message.startswith(f"error: {problem}:7: ")


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path):
    folder = tmp_path / "inner"
    folder.mkdir()
    (tmp_path / "secret.csv").write_text("x[1],x[2],t\n1,2,3\n", encoding="utf-8")
    (folder / "data.csv").symlink_to(tmp_path / "secret.csv")
    problem = folder / "net.yaml"
    problem.write_text(NET + "dataset: {csv: data.csv}\n", encoding="utf-8")
    one_line_error(tutor("solve", problem), "dataset.csv", "leads out of the problem file's folder")
    (folder / "data.csv").unlink()
    (folder / "data.csv").symlink_to(folder / "real.csv")  # a link inside the folder is fine
    (folder / "real.csv").write_text("x[1],x[2],t\n1,2,3\n", encoding="utf-8")
    assert tutor("solve", problem).returncode == 0


def test_a_folder_or_a_pipe_is_not_a_csv_file(tmp_path):
    (tmp_path / "data.csv").mkdir()
    problem = tmp_path / "net.yaml"
    problem.write_text(NET + "dataset: {csv: data.csv}\n", encoding="utf-8")
    one_line_error(tutor("solve", problem), "dataset.csv")
    (tmp_path / "data.csv").rmdir()
    os.mkfifo(tmp_path / "data.csv")
    one_line_error(tutor("solve", problem), "not a regular file")


# -- the spec itself ------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, key, words", [
    ("dataset: {generate: double_ring, n: 100000}\n", "dataset.n", ["dataset_rows=N", "100000"]),
    ("dataset: {generate: double_ring, n: 0}\n", "dataset.n", ["whole number"]),
    ("dataset: {generate: double_ring, n: 2.5}\n", "dataset.n", ["whole number"]),
    ("dataset: {generate: double_ring, noise: 2}\n", "dataset.noise", ["between 0 and 1"]),
    ("dataset: {generate: double_ring, seed: -1}\n", "dataset.seed", ["whole number"]),
    ("dataset: {generate: double_ring, radius: 2}\n", "dataset.radius", ["no setting"]),
    ("dataset: {generate: doubl_ring}\n", "dataset.generate", ["double_ring"]),
    ("dataset: {generate: addition, low: 2, high: 1}\n", "dataset.low", ["less than high"]),
    ("dataset: {generate: addition, low: -1}\n", "dataset.low", ["between 0 and 1000"]),
    ("dataset: {csv: a.csv, generate: addition}\n", "dataset", ["either csv"]),
    ("dataset: [1, 2]\n", "dataset", ["either csv"]),
    ("dataset: {csv: a.csv, n: 3}\n", "dataset.n", ["no other settings"]),
    ("dataset: {generate: addition}\nbatch: 50\n", "batch", ["samples=N"]),
    ("dataset: {generate: addition, n: 3}\nbatch: 4\n", "batch", ["larger than the data set"]),
    ("batch: 4\n", "batch", ["only applies together with dataset"]),
    ("dataset: {generate: addition}\ndata: [{t: 1}]\n", "dataset", ["either data or dataset"]),
    ("dataset: {generate: addition}\nreduction: sum\n", "reduction", ["mean"]),
])
def test_a_bad_dataset_spec_is_one_line_naming_its_key(tmp_path, spec, key, words):
    problem = tmp_path / "net.yaml"
    problem.write_text(NET + spec, encoding="utf-8")
    message = one_line_error(tutor("solve", problem), *words)
    assert f": {key}: " in message, message


def test_a_generator_needs_one_input_pair_and_one_target_number(tmp_path):
    with pytest.raises(ProblemError, match="a vector of 2"):
        loads("inputs: {x: [0, 0, 0]}\nparameters: {w: 1}\ntargets: {t: 0}\nloss: sse(w, t)\n"
              "dataset: {generate: double_ring}\n")
    with pytest.raises(ProblemError, match="one target number"):
        loads("inputs: {x: [0, 0]}\nparameters: {w: 1}\ntargets: {t: [0, 0]}\nloss: sse(w, t)\n"
              "dataset: {generate: double_ring}\n")


def test_loading_a_dataset_file_does_not_generate_its_data():
    done = subprocess.run([sys.executable, "-c", f"import sys; from backprop_tutor import load; load({str(RING)!r}); "
                           "assert 'numpy' not in sys.modules, 'numpy'"], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_first_batch_typesets_as_a_sheet_writes_it():
    from backprop_tutor.render.latex import to_latex
    train_tex = to_latex(solve(load(TRAIN)))
    assert "d - \\alpha\\, \\frac{\\partial L}{\\partial d} &= 0.8 - 0.1 \\cdot 0.091" in train_tex  # not 0.1 0.091
    ring_tex = to_latex(solve(load(RING)))
    assert "{y^{(1)}}^{\\circ" in ring_tex and "y^{(1)}^{" not in ring_tex  # a power of y⁽¹⁾ is grouped
