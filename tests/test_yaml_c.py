"""libyaml reads problem files where it is installed: the same data, lines and one-line messages as the
pure-Python reader, which reads every file libyaml declines."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from backprop_tutor import reading
from backprop_tutor.errors import ProblemError
from backprop_tutor.limits import DEFAULT, Limits
from backprop_tutor.problem import load

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
HOSTILE = sorted((ROOT / "tests" / "hostile").glob("*.yaml"))

needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")


def outcome(text: str, libyaml: bool, monkeypatch, limits: Limits = DEFAULT):
    """read_yaml's Document, or its one-line message, by one of the two readers."""
    monkeypatch.setattr(reading, "LIBYAML", libyaml)
    try:
        return reading.read_yaml(text, "f.yaml", limits)
    except ProblemError as e:
        return f"{type(e).__name__}: {e}"


def both(text: str, monkeypatch, limits: Limits = DEFAULT):
    """The outcome by libyaml, checked equal to the pure reader's."""
    fast, pure = outcome(text, True, monkeypatch, limits), outcome(text, False, monkeypatch, limits)
    assert fast == pure, repr(text[:300])
    return fast


class NoLoader(reading.Loader):
    """Loader that fails when used: proves a file went the libyaml way."""

    def __init__(self, *args, **kwargs):
        raise AssertionError("the pure-Python reader was used")


class CountingLoader(reading.Loader):
    """Loader that counts the files it reads."""

    made = 0

    def __init__(self, *args, **kwargs):
        type(self).made += 1
        super().__init__(*args, **kwargs)


@needs_libyaml
def test_libyaml_is_used_where_installed():
    assert reading.LIBYAML


@needs_libyaml
@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_bundled_problem_read_by_libyaml_is_the_same_problem(path, monkeypatch):
    text = path.read_text(encoding="utf-8")
    monkeypatch.setattr(reading, "Loader", NoLoader)
    fast = load(path)
    monkeypatch.setattr(reading, "Loader", CountingLoader)
    monkeypatch.setattr(CountingLoader, "made", 0)
    monkeypatch.setattr(reading, "LIBYAML", False)
    assert load(path) == fast
    assert CountingLoader.made == 1


@needs_libyaml
def test_generated_wide_network_read_by_libyaml(monkeypatch):
    width = 40
    rows = ",\n    ".join("[" + ", ".join(f"{(i * 7 + j * 3) % 19 / 10 - 0.9:g}" for j in range(width)) + "]"
                          for i in range(width))
    text = (f"inputs: {{x: [{', '.join(['0.5'] * width)}]}}\nparameters:\n  W: [\n    {rows}]\n"
            f"targets: {{t: [{', '.join(['1'] * width)}]}}\nforward:\n  y: W @ x\nloss: half_sse(y, t)\n"
            "learning_rate: 0.1\n")
    doc = both(text, monkeypatch, Limits(matrix_side=64, matrix_elements=4096, values=16384))
    assert doc.lines["parameters.W"] == 3 and doc.lines["parameters.W[39]"] == 43
    assert doc.data["parameters"]["W"][1][0] == pytest.approx(7 % 19 / 10 - 0.9)


@needs_libyaml
@pytest.mark.parametrize("path", HOSTILE, ids=lambda p: p.stem)
def test_hostile_file_same_outcome(path, monkeypatch):
    try:
        text = reading.read_text(path, DEFAULT)
    except ProblemError:
        return  # refused before any YAML is read, by either reader
    both(text, monkeypatch)


# Texts where libyaml alone would answer otherwise than the pure reader (it accepts them, or places a
# node a line lower), and the refusals of our own: each must read as the pure reader reads it.
EDGES = {
    "tab before a value": "inputs: {x: 3}\nlearning_rate:\t 0.1\n",
    "tab between scalars": "inputs: {x: 3}\n4\t2\n",
    "question mark in a flow mapping": "inputs: {x: 3}\ntargets: {t: 5? }\n",
    "question mark in a flow list": "inputs: [a?b]\n",
    "question mark in notes": "notes: Why does the gradient vanish?\ninputs: {x: 3}\n",
    "tag in a flow mapping": "ask:\n  - {part: !a, derive: x}\n",
    "tag with a question mark": "frozen: !?!set {w}\n",
    "byte-order mark inside": "inputs: {x: 3}\nloss: hal\ufefff_sse(w * x, t)\n",
    "byte-order mark at the end": "inputs: {x: 3}\n\ufeff",
    "byte-order mark first": "\ufeffinputs: {x: 3}\n",
    "comment right after a block scalar": "notes: >#x\n  text\n",
    "comment after a chomping indicator": "notes: |-#x\n  text\n",
    "document of only ---": "# comment\n---",
    "document of only --- and a space": "--- ",
    "document end only": "...",
    "a second document": "inputs: {x: 3}\n---\nb: 1\n",
    "anchor and alias": "inputs: {x: &a 3}\ntargets: {t: *a}\n",
    "anchor only": "inputs: {x: &a 3}\n",
    "alias without anchor": "inputs: {x: *a}\n",
    "ampersand in text": "notes: forward & backward\ninputs: {x: 3}\n",
    "ampersand and an alias": "notes: a & b\ninputs: {x: *a}\n",
    "self alias": "notes: &r [*r]\n",
    "NUL byte": "inputs: {x: 3}\nloss: a\x00b\n",
    "control character": "inputs: {x: 3}\n\x07\n",
    "lone surrogate": "inputs: {x: 3}\nnotes: \udc80\n",
    "carriage returns": "inputs: {x: 3}\r\ntargets: {t: 5}\rloss: half_sse(x, t)\r\n",
    "unicode line breaks": "inputs: {x: 3}\x85targets: {t: 5}\u2028loss: x\n",
    "empty": "",
    "only a comment": "# nothing\n",
    "a scalar": "inputs\n",
    "empty value at the end": "inputs: {x: 3}\nloss:",
    "unclosed flow list": "inputs: {x: [1, 2}\n",
    "bad indentation": "inputs:\n  x: 3\n y: 4\n",
    "key given twice": "inputs: {x: 3}\ninputs: {x: 4}\n",
    "version 1.3": "%YAML 1.3\n---\ninputs: {x: 3}\n",
    "version 2.0": "%YAML 2.0\n---\ninputs: {x: 3}\n",
    "long key": "k" * 1100 + ": 1\n",
    "key in a flow list": "inputs: [a: b]\n",
    "lookalikes": "a: [yes, no, on, true, 2024-01-02, 1:30, .inf, .nan, 0x1F, 1e-3, ~, null, '', 1_000]\n",
    "explicit tags": "a: !!int 3\nb: !!float 1e3\nc: !!str 4\nd: !!bool true\n",
    "deep flow lists": "[" * 5000 + "1" + "]" * 5000,
    "deep flow mappings": "{a: " * 3000 + "1" + "}" * 3000,
    "deep block lists": "x:\n" + "".join("  " * i + "-\n" for i in range(40)),
    "deep after an ampersand": "notes: a & b\nx: " + "[" * 200 + "]" * 200,
}


@needs_libyaml
@pytest.mark.parametrize("name", EDGES)
def test_edge_reads_as_the_pure_reader_reads_it(name, monkeypatch):
    both(EDGES[name], monkeypatch)


@needs_libyaml
def test_nesting_bounded_before_libyaml_recurses(monkeypatch):
    """Nesting up to the limit is read by libyaml; one deeper, the pure reader names the line."""
    limits = Limits(file_bytes=2_000_000, yaml_depth=100)
    monkeypatch.setattr(reading, "Loader", NoLoader)
    doc = reading.read_yaml("a:\n  " + "[" * 99 + "]" * 99, "f.yaml", limits)
    assert doc.lines["a" + "[0]" * 98] == 2
    monkeypatch.setattr(reading, "Loader", CountingLoader)
    monkeypatch.setattr(CountingLoader, "made", 0)
    for text in ("a:\n  " + "[" * 100 + "]" * 100, "a:\n  " + "[" * 900_000):
        with pytest.raises(ProblemError, match=r"^f.yaml:2: YAML values nested 101 deep"):
            reading.read_yaml(text, "f.yaml", limits)
    assert CountingLoader.made == 2


@needs_libyaml
def test_text_over_the_size_limit_is_refused_before_either_reader(monkeypatch):
    monkeypatch.setattr(reading, "Loader", NoLoader)  # libyaml would decline it (too deep) to Loader
    with pytest.raises(ProblemError, match="file_bytes"):
        reading.read_yaml("[" * (DEFAULT.file_bytes + 1), "f.yaml", DEFAULT)


def test_without_libyaml_the_pure_reader_reads(monkeypatch):
    monkeypatch.setattr(reading, "LIBYAML", False)
    monkeypatch.setattr(reading, "Loader", CountingLoader)
    monkeypatch.setattr(CountingLoader, "made", 0)
    problem = load(PROBLEMS[0])
    assert problem.title and CountingLoader.made == 1
    with pytest.raises(ProblemError, match=r"^f.yaml:1: YAML anchors and aliases"):
        reading.read_yaml("a: &x 1\n", "f.yaml", DEFAULT)


MUTATIONS = list(":-?[]{},#&*!|>'\"%@`\t\n \\.~0e1_") + [
    "\r", "\r\n", "\x85", "\u2028", "\ufeff", "---", "...", "? ", ": ", "- ", "\n  ", "\n- ", "|-", ">+", " #",
    ", ", "\n---\n", "\n...\n", "%YAML 1.1\n", "%TAG !e! tag:e.com:\n", "\\x41", "\\u00e9", "null", "1e5",
    "0x1F", "\n\n", "   ", "\x00", "\u00a0", "é", "😀"]


@needs_libyaml
def test_mutated_files_read_alike(monkeypatch):
    """Bundled and hostile files with a few characters inserted, deleted or lines repeated: whatever
    libyaml would make of them, the outcome is the pure reader's."""
    rng = random.Random(15)
    seeds = [p.read_text(encoding="utf-8", errors="replace") for p in PROBLEMS + HOSTILE]
    for _ in range(1500):
        text = rng.choice(seeds)
        if len(text) > 3000:
            start = rng.randrange(len(text) - 2000)
            text = text[start:start + 2000]
        for _ in range(rng.randint(1, 4)):
            at, how = rng.randrange(len(text) + 1), rng.random()
            if how < 0.6:
                text = text[:at] + rng.choice(MUTATIONS) + text[at:]
            elif how < 0.85:
                text = text[:at] + text[at + rng.randint(1, 5):]
            else:
                lines = text.split("\n")
                lines.insert(rng.randrange(len(lines)), rng.choice(lines))
                text = "\n".join(lines)
        both(text, monkeypatch)
