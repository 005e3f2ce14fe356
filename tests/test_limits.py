"""Hostile problem files: every limit refused at once with one line naming file, line and key; the largest
accepted input of each limit solved quickly; numbers, dates and names read as a user means them; fuzzing."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backprop_tutor
from backprop_tutor import Limits, load, loads
from backprop_tutor.errors import LimitError, ProblemError, UsageError
from backprop_tutor.expr import ExprError, depth, parse
from backprop_tutor.limits import CEILINGS, DEFAULT, names
from backprop_tutor.ops import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
QUICK = 5.0  # seconds: a refusal, and the largest accepted input of a limit, finish within this

# -- running the program ---------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    wall: float
    cpu: float  # the child's own user + system time: what it costs, whatever else the machine runs


def cli(*args, timeout: float = 10) -> Run:
    """`python -m backprop_tutor ARGS` from this checkout, in a subprocess that must end within `timeout`."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "backprop_tutor", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(proc.returncode, proc.stdout, proc.stderr, wall, cpu)


def assert_one_line_error(run: Run, path, line=None, key=None, needles=()):
    """Exit 2, nothing on stdout, one stderr line `error: FILE[:LINE][: KEY]: message`, no traceback."""
    assert run.code == 2, (run.code, run.stderr)
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    where = f"error: {path}" + (f":{line}" if line is not None else "") + ": " + (f"{key}: " if key else "")
    assert lines[0].startswith(where), (where, lines[0])
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert run.wall < QUICK, run.wall


# -- hostile files: (text or a maker of the file, the error's line, key, strings in the message) ----------

HEAD = "inputs:\n  x: [1, 2]\nparameters:\n"      # line 4 is the first parameter
TAIL = "loss: sum(x * w)\n"


def with_param(value: str, tail: str = TAIL) -> str:
    return f"{HEAD}  w: {value}\n{tail}"


def alias_bomb() -> str:
    """The billion laughs: nine lists of nine aliases of the list before, nine deep."""
    levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        name, prev = chr(97 + i), chr(96 + i)
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "notes: {" + ", ".join(levels) + "}\n" + with_param("1")


def chain(n: int) -> str:
    lines = "".join(f"  h{i}: h{i - 1} * w\n" for i in range(1, n + 1))
    return f"inputs:\n  h0: 1\nparameters:\n  w: 2\nforward:\n{lines}loss: h{n}\n"


def samples(n: int) -> str:
    data = "".join(f"  - {{x: {k % 7}, t: {k % 3}}}\n" for k in range(n))
    return ("inputs:\n  x: 0\nparameters:\n  w: 0.5\ntargets:\n  t: 0\nforward:\n  y: w * x\n"
            f"loss: half_sse(y, t)\ndata:\n{data}")


def matrix(rows: int, cols: int) -> str:
    return "[" + ", ".join("[" + ", ".join(str((i * cols + j) % 10) for j in range(cols)) + "]"
                           for i in range(rows)) + "]"


def parts(n: int) -> str:
    return with_param("1") + "ask:\n" + "".join(f"  - {{part: p{i}, show: loss}}\n" for i in range(n))


HOSTILE = {
    # hangs and memory
    "exponent_literal": (with_param("[1.0e+999999999, 1]"), 4, "parameters.w[0]", ["number_exponent=N"]),
    "tower_2_2_2_2_30": (with_param('"2**2**2**2**30"'), 4, "parameters.w", ["--limit power"]),
    "tower_10_10_10": (with_param('"10**10**10"'), 4, "parameters.w", ["power=N"]),
    "huge_constant_exponent": (with_param("2", "forward:\n  y: x ** (10**9)\nloss: sum(y * w)\n"), 6, "forward.y",
                               ["power=N"]),
    "tower_of_names": (with_param("2", "forward:\n  y: w**w**w**w**w\nloss: sum(y * x)\n"), 6, "forward.y",
                       ["stacks 4 powers", "power_tower=N"]),
    "alias_bomb": (alias_bomb(), 1, None, ["anchors and aliases"]),
    "self_alias": (with_param("1", TAIL + "notes: &r [*r]\n"), 6, None, ["anchors and aliases"]),
    "deep_yaml": (with_param("[" * 5000 + "1" + "]" * 5000), 4, None, ["yaml_depth=N"]),
    "deep_yaml_mappings": (with_param("{a: " * 3000 + "1" + "}" * 3000), 4, None, ["yaml_depth=N"]),
    # tracebacks
    "parentheses_200": (with_param("1", "loss: " + "(" * 200 + "w" + ")" * 200 + "\n"), 5, "loss",
                        ["expression_"]),
    "parentheses_40": (with_param("1", "loss: " + "(" * 40 + "w" + ")" * 40 + "\n"), 5, "loss",
                       ["nests", "expression_depth=N"]),
    "sum_500": (with_param("1", "loss: " + " + ".join(["w"] * 500) + "\n"), 5, "loss", ["expression_chars=N"]),
    "sum_40": (with_param("1", "loss: " + "+".join(["w"] * 40) + "\n"), 5, "loss", ["nests 40 deep",
                                                                                      "expression_depth=N"]),
    "minus_100": (with_param("1", "loss: " + "-" * 100 + "w\n"), 5, "loss", ["expression_depth=N"]),
    "long_expression": (with_param("1", "loss: w" + " + 0" * 100 + "\n"), 5, "loss", ["401 characters",
                                                                                    "expression_chars=N"]),
    "samples_500": (samples(500), 10, "data", ["samples=N"]),
    "digits_5000": (with_param("1" * 5000), 4, "parameters.w", ["5000 digits", "number_digits=N"]),
    "digits_60_quoted": (with_param('"' + "1" * 60 + '"'), 4, "parameters.w", ["60 digits", "number_digits=N"]),
    "e5000_quoted": (with_param('["1e5000", 1]'), 4, "parameters.w[0]", ["number_exponent=N"]),
    "truth_table_null_row": ("inputs: {x: [0, 0]}\nforward:\n  y: sum(x)\nask:\n"
                             "  - {part: a, truth_table: {inputs: [null, [0, 1]]}}\n", 5,
                             "ask[0].truth_table.inputs[0]", ["row"]),
    "truth_table_null_entry": ("inputs: {x: [0, 0]}\nforward:\n  y: sum(x)\nask:\n"
                               "  - {part: a, truth_table: {inputs: [[0, 1], [1, null]]}}\n", 5,
                               "ask[0].truth_table.inputs[1][1]", ["not null"]),
    "truth_table_null_expect": ("inputs: {x: [0, 0]}\nforward:\n  y: sum(x)\nask:\n"
                                "  - {part: a, truth_table: {inputs: [[0, 1]], expect: [null]}}\n", 5,
                                "ask[0].truth_table.expect[0]", ["not null"]),
    "linear_pieces_output_list": ("inputs: {x: null}\nforward:\n  y: relu(x)\nask:\n"
                                  "  - {part: a, linear_pieces: {inputs: [x], output: [y]}}\n", 5,
                                  "ask[0].linear_pieces.output", ["name"]),
    # wrong input accepted
    "date": (with_param("[2001-12-14, 1]"), 4, "parameters.w[0]", ["2001-12-14 is a date, not a number"]),
    "date_as_a_line": (with_param("1", "forward:\n  y: 2001-12-14\nloss: y * w\n"), 6, "forward.y", ["a date"]),
    "boolean": (with_param("true"), 4, "parameters.w", ["true is a boolean, not a number"]),
    "time": (with_param("1", TAIL + "learning_rate: 1:30\n"), 6, "learning_rate", ["1:30", "base-60"]),
    "infinity": (with_param("-.inf"), 4, "parameters.w", ["-.inf is infinite"]),
    "hexadecimal": (with_param("0x1F"), 4, "parameters.w", ["0x1F is not a decimal number"]),
    "threshold_date": ("inputs: {x: [0, 0]}\nforward:\n  y: sum(x)\nask:\n"
                       "  - {part: a, truth_table: {inputs: [[0, 1]], threshold: 2024-01-01}}\n", 5,
                       "ask[0].truth_table.threshold", ["a date"]),
    "name_with_newline": (with_param("1", '  "w\\n": 2\n' + TAIL), 5, "parameters.w\\n", ["is not a valid name"]),
    "part_is_a_list": (parts(1).replace("part: p0", "part: [a, b]"), 7, "ask[0].part", ["label"]),
    "part_is_null": (parts(1).replace("part: p0", "part: null"), 7, "ask[0].part", ["label"]),
    "delta_name": (f"{HEAD}  delta_y: 1\nloss: sum(x * delta_y)\n", 4,
                   "parameters.delta_y", ["delta_"]),
    "delta_line": (with_param("1", "forward:\n  delta_z: x * w\nloss: sum(delta_z)\n"), 6, "forward.delta_z",
                   ["delta_"]),
    "network_output": ("inputs:\n  x: [1, 2]\nnetwork:\n  input: x\n  output: \"1 + 2\"\n  layers:\n"
                       "    - {weights: [[1, 2]]}\nloss: sum(y)\n", 5, "network.output", ["not a valid name"]),
    "network_output_function": ("inputs:\n  x: [1, 2]\nnetwork:\n  input: x\n  output: relu\n  layers:\n"
                                "    - {weights: [[1, 2]]}\nloss: sum(relu)\n", 5, "network.output", ["function"]),
    # sizes
    "matrix_rows": (f"{HEAD}  W: {matrix(33, 2)}\nloss: sum(W @ x)\n", 4, "parameters.W", ["33 rows", "matrix_side=N"]),
    "matrix_columns": (f"{HEAD}  W: {matrix(2, 33)}\nloss: sum(W)\n", 4, "parameters.W", ["33 columns", "matrix_side=N"]),
    "vector": (f"{HEAD}  w: [{', '.join(['1'] * 33)}]\nloss: sum(w)\n", 4, "parameters.w", ["33 entries", "matrix_side"]),
    "values": (f"{HEAD}  A: {matrix(32, 32)}\n  B: {matrix(32, 32)}\nloss: sum(A) + sum(B)\n", 5, "parameters.B", ["values=N"]),
    "nodes": (chain(130), 5, "forward", ["130 forward lines", "nodes=N"]),
    "nodes_after_samples": (samples(20).replace("  y: w * x\n", "".join(f"  y{i}: w * x\n" for i in range(6))
                                                .replace("y5", "y")), 15, "data", ["nodes=N"]),
    "truth_table_rows": ("inputs: {x: [0, 0]}\nforward:\n  y: sum(x)\nask:\n  - {part: a, truth_table: {inputs: ["
                         + ", ".join(["[0, 1]"] * 26) + "]}}\n", 5, "ask[0].truth_table.inputs", ["samples=N"]),
    "parts": (parts(51), 6, "ask", ["51 parts", "parts=N"]),
    "file_bytes": (with_param("1", TAIL + "notes: >\n" + "  words and more words\n" * 8000), None, None,
                   ["bytes", "file_bytes=N"]),
    "not_utf8": (None, 3, None, ["UTF-8"]),
}
LIMIT_ERRORS = {"exponent_literal", "tower_2_2_2_2_30", "tower_10_10_10", "huge_constant_exponent", "tower_of_names",
                "deep_yaml", "deep_yaml_mappings", "parentheses_200", "parentheses_40", "sum_500", "sum_40",
                "minus_100", "long_expression", "samples_500", "digits_5000", "digits_60_quoted", "e5000_quoted",
                "matrix_rows", "matrix_columns", "vector", "values", "nodes", "nodes_after_samples",
                "truth_table_rows", "parts", "file_bytes"}


def hostile_file(tmp_path, name) -> Path:
    text = HOSTILE[name][0]
    path = tmp_path / f"{name}.yaml"
    if text is None:  # not_utf8: a Latin-1 é on line 3
        path.write_bytes(with_param("1").replace("parameters", "param\xe9ters").encode("latin-1"))
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_file_is_one_line_exit_2_at_once(name, tmp_path):
    path = hostile_file(tmp_path, name)
    _, line, key, needles = HOSTILE[name]
    assert_one_line_error(cli("solve", path), path, line, key, needles)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_load_raises_the_typed_error_with_line_and_key(name, tmp_path):
    path = hostile_file(tmp_path, name)
    _, line, key, needles = HOSTILE[name]
    start = time.monotonic()
    with pytest.raises(ProblemError) as caught:
        load(path)
    assert time.monotonic() - start < 2
    error = caught.value
    assert isinstance(error, LimitError) == (name in LIMIT_ERRORS), type(error)
    assert (error.file, error.line, error.key) == (str(path), line, key), str(error)
    for needle in needles:
        assert needle in str(error)
    if isinstance(error, LimitError):
        assert "(the limit is " in error.message and "; raise it with --limit " in error.message


@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["text", "json"])
def test_the_same_line_for_json_and_export(json_flag, tmp_path):
    path = hostile_file(tmp_path, "date")
    assert_one_line_error(cli("solve", path, *json_flag), path, 4, "parameters.w[0]")
    out = tmp_path / "out.tex"
    assert_one_line_error(cli("export", path, "-o", out), path, 4, "parameters.w[0]")
    assert not out.exists()


# -- what is not a problem file ----------------------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_without_reading_it(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    assert_one_line_error(cli("solve", device), device, needles=["not a regular file"])


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert_one_line_error(cli("solve", fifo), fifo, needles=["not a regular file"])
    with pytest.raises(ProblemError, match="not a regular file"):
        load(fifo)


def test_a_folder_and_a_missing_file(tmp_path):
    assert_one_line_error(cli("solve", tmp_path), tmp_path, needles=["folder"])
    missing = tmp_path / "missing.yaml"
    assert_one_line_error(cli("solve", missing), missing, needles=["no such file"])


def test_a_symlink_to_a_device_is_refused(tmp_path):
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    assert_one_line_error(cli("solve", link), link, needles=["not a regular file"])


def test_odd_names_on_the_command_line_are_one_line_errors(tmp_path):
    long_name = "a" * 5000
    run = cli("solve", long_name)
    assert run.code == 2 and len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr, run.stderr


def test_a_file_just_within_the_size_limit_is_read(tmp_path):
    text = with_param("1")
    text += "notes: " + "x" * (DEFAULT.file_bytes - len(text) - len("notes: ") - 1) + "\n"
    assert len(text.encode()) == DEFAULT.file_bytes
    path = tmp_path / "big.yaml"
    path.write_text(text, encoding="utf-8")
    assert load(path).notes.startswith("xxx")
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(LimitError, match="file_bytes"):
        load(path)


# -- raising a limit ---------------------------------------------------------------------------------


def test_a_limit_is_raised_on_the_command_line_and_in_python(tmp_path):
    path = hostile_file(tmp_path, "matrix_rows")
    raised = cli("--limit", "matrix_side=33", "solve", path, "--json")
    assert raised.code == 0, raised.stderr
    assert load(path, limits={"matrix_side": 33}).parameters[0].name == "W"
    assert load(path, limits=Limits(matrix_side=33)).parameters[0].name == "W"
    assert loads(path.read_text(), limits={"matrix_side": 33}).parameters[0].name == "W"
    lowered = cli("--limit", "nodes=1", "--limit", "matrix_side=33", "solve", path)
    assert_one_line_error(lowered, path, 3, "parameters", ["nodes=N"])


@pytest.mark.parametrize("setting", ["nope=3", "nodes", "nodes=x", "nodes=0", "nodes=-1", "nodes=1e3",
                                     f"expression_depth={CEILINGS['expression_depth'] + 1}"])
def test_a_bad_limit_setting_is_one_line(setting):
    run = cli("--limit", setting, "solve", "ws24_sheet4_ex1")
    assert run.code == 2 and run.stdout == "", run.stderr
    assert len(run.stderr.splitlines()) == 1 and run.stderr.startswith("error: "), run.stderr
    assert "Traceback" not in run.stderr


def test_every_limit_is_documented_with_its_default():
    guide = (ROOT / "docs" / "problem-format.md").read_text(encoding="utf-8")
    section = guide[guide.index("\n## Limits"):]
    section = section.split("\n## ")[1]
    for name in names():
        assert f"| `{name}` | {getattr(DEFAULT, name)} |" in section, name


# -- the Python API: misuse is a typed error ---------------------------------------------------------


@pytest.mark.parametrize("call, message", [
    (lambda: load(None), "load needs a path to a problem file"),
    (lambda: load(123), "load needs a path"),
    (lambda: load("inputs:\n  x: 1\nloss: x\n"), "this looks like YAML text: use loads(text)"),
    (lambda: load("{inputs: {x: 1}, loss: x}"), "use loads(text)"),
    (lambda: load("loss: x"), "use loads(text)"),
    (lambda: loads(None), "loads needs the YAML text"),
    (lambda: loads(b"loss: x"), "loads needs the YAML text"),
    (lambda: loads("loss: x", limits="many"), "limits= takes"),
    (lambda: loads("loss: x", limits={"nope": 1}), "no limit 'nope'"),
    (lambda: loads("loss: x", limits={"nodes": "10"}), "whole number"),
    (lambda: loads("loss: x", limits=Limits(nodes=0)), "at least 1"),
    (lambda: loads("loss: x", limits={"yaml_depth": 10**6}), "at most"),
    (lambda: backprop_tutor.solve(None), "needs a Problem or a path"),
    (lambda: backprop_tutor.derive(None, "w"), "needs a Problem or a path"),
])
def test_api_misuse_is_a_usage_error(call, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_the_api_reads_a_path_within_limits(tmp_path):
    path = hostile_file(tmp_path, "matrix_rows")
    with pytest.raises(LimitError):
        backprop_tutor.solve(path)
    assert backprop_tutor.solve(path, limits={"matrix_side": 33}).values


# -- numbers, dates and names as a user means them ----------------------------------------------------


@pytest.mark.parametrize("written, value", [
    ("1e-3", Fraction(1, 1000)), ("-2.5E+4", Fraction(-25000)), ("1.5e2", Fraction(150)), ("1_000", Fraction(1000)),
    (".5", Fraction(1, 2)), ("+3", Fraction(3)), ("010", Fraction(10)), ("1E3", Fraction(1000)),
])
def test_a_number_in_e_notation_is_a_number_everywhere(written, value):
    p = loads(f"{HEAD}  w: {written}\n  v: [{written}, 1]\n{TAIL}learning_rate: {written}\nask:\n"
              f"  - {{part: a, truth_table: {{inputs: [[0, 1]], threshold: {written}}}}}\n  - {{part: b, show: loss}}\n")
    assert p.learning_rate == value
    assert p.parameters[0].value.value == value
    assert p.parameters[1].value[0].value == value
    assert p.ask[0].options["threshold"] == value


@pytest.mark.parametrize("written", ["2001-12-14", "yes", "no", "on", "true", "1:30", "1e-3", "1.50", ".inf",
                                     "0x1F", "~x", "null value"])
def test_text_keys_take_any_scalar_as_written(written):
    p = loads(f"title: {written}\nsource: {written}\nnotes: {written}\n{with_param('1')}"
              f"ask:\n  - {{part: {written}, show: loss}}\n")
    assert (p.title, p.source, p.notes, p.ask[0].part) == (written,) * 4


def test_a_date_is_no_longer_read_as_a_difference():
    with pytest.raises(ProblemError, match="2001-12-14 is a date, not a number"):
        loads(with_param("2001-12-14"))
    assert loads(with_param('"2001 - 12 - 14"')).parameters[0].value == parse("2001 - 12 - 14", FUNCTIONS)


def test_a_name_is_matched_whole():
    with pytest.raises(ProblemError, match="not a valid name"):
        loads(with_param("1", '  "w\\n": 2\n' + TAIL))
    for bad in ("w x", "1w", "w-1", "ẃ", "w\t"):
        with pytest.raises(ProblemError, match="not a valid name"):
            loads(f'{HEAD}  "{bad}": 1\n{TAIL}')
    assert [p.name for p in loads(f"{HEAD}  w: 1\n  W_1b: 2\n  delta: 3\n{TAIL}").parameters] == ["w", "W_1b", "delta"]


def test_a_part_label_is_text_or_a_number():
    assert loads(parts(1).replace("part: p0", "part: 3")).ask[0].part == "3"
    with pytest.raises(ProblemError, match="label"):
        loads(parts(1).replace("part: p0", "part: {a: 1}"))


def test_the_bundled_problems_load_within_the_default_limits():
    for path in PROBLEMS:  # so none uses an anchor, a delta_ name or a number YAML 1.2 reads otherwise
        assert load(path).title, path


def test_an_error_quoting_long_text_stays_short():
    with pytest.raises(ProblemError) as caught:
        loads(f"{HEAD}  w: {{{', '.join(f'k{i}: {i}' for i in range(400))}}}\n{TAIL}")
    assert len(str(caught.value)) < 200


# -- the largest accepted input of each limit is solved quickly ----------------------------------------


def _matrix_problem(rows: int, cols: int) -> str:
    return (f"inputs:\n  x: [{', '.join(str(j % 5 / 10) for j in range(cols))}]\nparameters:\n"
            f"  W: {matrix(rows, cols)}\n  b: [{', '.join('0.1' for _ in range(rows))}]\n"
            f"targets:\n  t: [{', '.join(str(i % 2) for i in range(rows))}]\n"
            "forward:\n  z: W @ x + b\n  h: sigmoid(z)\nloss: sse(h, t)\nlearning_rate: 0.1\n")


def _largest_values() -> str:
    """Two sigmoid layers and a spare vector: exactly `values` entries in all."""
    side = DEFAULT.matrix_side
    out = (DEFAULT.values - side * side - 2 * side) // (side + 2)   # after x, W1, b1: W2, b2 and t
    spare = DEFAULT.values - side * side - 2 * side - out * (side + 2)
    assert 0 < spare <= side
    vector = lambda n, v: f"[{', '.join(v for _ in range(n))}]"  # noqa: E731
    return (f"inputs:\n  x: {vector(side, '0.5')}\nparameters:\n  W1: {matrix(side, side)}\n"
            f"  b1: {vector(side, '0.1')}\n  W2: {matrix(out, side)}\n  b2: {vector(out, '-0.2')}\n"
            f"  spare: {vector(spare, '1')}\ntargets:\n  t: {vector(out, '1')}\n"
            "forward:\n  h: sigmoid(W1 @ x + b1)\n  y: W2 @ h + b2 + sum(spare)\nloss: sse(y, t)\nlearning_rate: 0.1\n")


def _longest_expression() -> str:
    """The deepest chain of tanh that fits both expression limits: its derivative repeats the inner part."""
    e = "x"
    while True:
        wider = f"tanh(a * {e} + b) * c"
        if len(wider) > DEFAULT.expression_chars or depth(parse(wider, FUNCTIONS, Limits(expression_depth=99))) \
                > DEFAULT.expression_depth:
            break
        e = wider
    return (f"inputs:\n  x: 0.5\nparameters:\n  a: 0.1\n  b: 0.2\n  c: 0.3\ntargets:\n  t: 1\n"
            f"forward:\n  y: \"{e}\"\nloss: half_sse(y, t)\nlearning_rate: 0.1\n")


def _most_nodes() -> str:
    n = DEFAULT.nodes - 7  # h0, t and five weights are nodes too
    lines = "".join(f"  h{i}: tanh(w{i % 5} * h{i - 1} + 0.1)\n" for i in range(1, n + 1))
    return ("inputs:\n  h0: 0.5\nparameters:\n" + "".join(f"  w{i}: 0.{i + 1}\n" for i in range(5)) +
            f"targets:\n  t: 1\nforward:\n{lines}loss: half_sse(h{n}, t)\nlearning_rate: 0.1\n")


def _most_samples() -> str:
    data = "".join(f"  - {{x1: {k % 7 / 10}, x2: {k % 5 / 10}, t: {k % 3 / 10}}}\n" for k in range(DEFAULT.samples))
    return ("inputs:\n  x1: 0\n  x2: 0\nparameters:\n  w1: 0.5\n  w2: -0.3\ntargets:\n  t: 0\n"
            "forward:\n  y: tanh(w1 * x1 + w2 * x2)\nloss: half_sse(y, t)\nlearning_rate: 0.1\n"
            f"data:\n{data}")


def _most_parts() -> str:
    asks = "".join(f"  - {{part: p{i}, show: all}}\n" for i in range(DEFAULT.parts))
    return (ROOT / "problems" / "ws24_sheet4_ex1.yaml").read_text(encoding="utf-8").split("\nask:")[0] \
        .split("\naliases:")[0] + f"\nask:\n{asks}"


LARGEST = {  # the limit each one is at: one less and it is refused
    "matrix_side": lambda: _matrix_problem(DEFAULT.matrix_side, DEFAULT.matrix_side),
    "matrix_elements": lambda: _matrix_problem(DEFAULT.matrix_side, DEFAULT.matrix_elements // DEFAULT.matrix_side),
    "values": _largest_values,
    "expression_chars": _longest_expression,
    "nodes": _most_nodes,
    "samples": _most_samples,
    "parts": _most_parts,
}


@pytest.mark.parametrize("limit", sorted(LARGEST))
def test_the_largest_accepted_input_is_solved_quickly(limit, tmp_path):
    text = LARGEST[limit]()
    path = tmp_path / f"{limit}.yaml"
    path.write_text(text, encoding="utf-8")
    load(path)  # accepted ...
    lower = getattr(DEFAULT, limit) - 1
    if limit == "expression_chars":  # ... and at the limit: within one of the two expression limits
        with pytest.raises(LimitError, match="expression_"):
            load(path, limits={"expression_chars": len(text.split('"')[1]) - 1})
        with pytest.raises(LimitError, match="expression_depth"):
            load(path, limits={"expression_depth": depth(load(path).forward[0].expr) - 1})
    else:
        with pytest.raises(LimitError, match=f"{limit}=N"):
            load(path, limits={limit: lower})
    run = cli("solve", path, timeout=30)
    assert run.code == 0, run.stderr
    # its own processor time: the wall clock also counts whatever else runs on the machine meanwhile
    assert run.cpu < QUICK, (limit, run.cpu, run.wall)


# -- fuzzing: nothing but a tree or our typed error ----------------------------------------------------

TOKENS = ["x", "w1", "W", "relu", "tanh", "sum", "nope", "(", ")", "+", "-", "*", "/", "@", "**", ".T", ",", "1",
          "0.5", "1e5", "1e999", "2.", ".5", " ", "é", "\u00a0", "λ", "\n", "#", "'", "9" * 40]
FUZZ = settings(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parses_or_refuses(text, limits=DEFAULT):
    try:
        node = parse(text, FUNCTIONS, limits)
    except ExprError:
        return
    assert depth(node) <= limits.expression_depth


@settings(FUZZ, max_examples=300)
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_fuzz_parse_token_soup(text):
    _parses_or_refuses(text)


@settings(FUZZ, max_examples=150)
@given(st.text(max_size=80))
def test_fuzz_parse_any_unicode(text):
    _parses_or_refuses(text)


@settings(FUZZ, max_examples=60)
@given(st.integers(0, 3000), st.sampled_from(["({})", "tanh({})", "-{}", "x ** {}", "{} + x", "x * ({})", "{}.T",
                                               "sum({}, x)"]))
def test_fuzz_parse_deep_nesting_never_overflows_the_stack(n, shape):
    text = "x"
    for _ in range(n):
        text = shape.format(text)
    _parses_or_refuses(text)
    _parses_or_refuses(text, Limits(expression_chars=10**6, expression_depth=CEILINGS["expression_depth"]))


@settings(FUZZ, max_examples=40)
@given(st.integers(1, 5000), st.sampled_from([" + ", " - ", " * ", " / ", " @ "]))
def test_fuzz_parse_long_chains(n, op):
    _parses_or_refuses(op.join(["w"] * n))
    _parses_or_refuses(op.join(["w"] * n), Limits(expression_chars=10**6))


YAML_BITS = ["inputs", "parameters", "targets", "forward", "loss", "ask", "data", "network", "layers", "x", "w",
             "y", ":", ": ", "\n", "  ", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!float ", "!!str ", "|", ">",
             "'", '"', "#", "1", "0.5", "1e-3", "1e999", "2001-12-14", "1:30", ".nan", "true", "null", "~",
             "sum(x * w)", "x ** 10 ** 10", "part: a", "show: all", "---", "...", "%YAML 1.1\n", "\t", "é"]


def _typed_or_fine(text):
    try:
        loads(text, "fuzz.yaml")
    except (ProblemError, UsageError) as e:  # LimitError is a ProblemError
        assert "\n" not in str(e), str(e)


@settings(FUZZ, max_examples=300)
@given(st.lists(st.sampled_from(YAML_BITS), max_size=40).map("".join))
def test_fuzz_loads_yaml_soup(text):
    _typed_or_fine(text)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**50, 10**50), st.floats(allow_nan=True),
                     st.sampled_from(["x", "w", "sum(x)", "x @ W", "1/0", "relu", "2001-12-14", "1e-3", "w\n"]),
                     st.text(max_size=10))
_documents = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["x", "w", "W", "t", "y", "part", "show"]), inner,
                                               max_size=4)), max_leaves=20)


@settings(FUZZ, max_examples=200)
@given(st.fixed_dictionaries({}, optional={
    k: _documents for k in ("inputs", "parameters", "targets", "forward", "loss", "ask", "data", "network",
                            "learning_rate", "frozen", "aliases", "title", "reduction")}))
def test_fuzz_loads_structured_documents(doc):
    _typed_or_fine(yaml.safe_dump(doc, allow_unicode=True))
