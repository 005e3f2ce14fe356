"""LaTeX export and the Python API: every bundled problem compiles, the PDF's numbers are the JSON's,
--pdf / --fragment / errors, TeX names, derive --latex, and load/solve/derive with their displays."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from backprop_tutor import derive, load, solve
from backprop_tutor import export as export_module
from backprop_tutor.cli import app
from backprop_tutor.errors import ExternalError, OutputError
from backprop_tutor.export import compile_pdf, summarise_log, write_atomically
from backprop_tutor.notation import tex_name
from backprop_tutor.render.jsonout import derivation_json, to_json
from backprop_tutor.render.latex import text, to_latex
from helpers import is_numeric as _is_numeric

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
BY_NAME = {p.stem: p for p in PROBLEMS}
TIMEOUT = 120
NO_TEX = "pdflatex is not installed (CI installs TeX Live through .ci/run; locally: apt install texlive-latex-base " \
         "texlive-latex-recommended texlive-pictures)"
BAD_LOG = re.compile(r"^!|Undefined control sequence|Missing character")

# The packages of the export's own preamble, for wrapping fragments.
WRAPPER = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{booktabs}
\usepackage{tikz}
\usetikzlibrary{positioning,arrows.meta}
\allowdisplaybreaks
\begin{document}
%s
\end{document}
"""

runner = CliRunner()


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def needs_pdflatex():
    if shutil.which("pdflatex") is None:
        pytest.skip(NO_TEX)


NUMERIC = [p for p in PROBLEMS if _is_numeric(p)]


def pdflatex(tex: Path) -> dict:
    """Compile tex in its own folder; the exit code and the log's bad lines."""
    try:
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
                              cwd=tex.parent, capture_output=True, timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL)
        code = done.returncode
    except subprocess.TimeoutExpired:
        code = "timeout"
    log_path = tex.with_suffix(".log")
    log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    bad = [line for line in log.splitlines() if BAD_LOG.search(line)]
    return {"code": code, "bad": bad, "pdf": tex.with_suffix(".pdf")}


def compile_all(texs: list) -> dict:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(texs, pool.map(pdflatex, texs)))


def assert_compiled(result, what):
    assert result["code"] == 0 and not result["bad"], \
        f"{what}: pdflatex exit {result['code']}; log: {result['bad'][:5]}"
    assert result["pdf"].exists(), f"{what}: no PDF"


def wrap(folder: Path, name: str, body: str) -> Path:
    tex = folder / f"{name}.tex"
    tex.write_text(WRAPPER % body, encoding="utf-8")
    return tex


# ---------------------------------------------------------------- 1. every bundled problem

@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """`tutor export FILE -o tmp/x.tex` for every bundled problem: name → (result, tex path)."""
    out = {}
    for p in PROBLEMS:
        folder = tmp_path_factory.mktemp(p.stem)
        tex = folder / "x.tex"
        out[p.stem] = (run("export", p, "-o", tex), tex)
    return out


@pytest.fixture(scope="module")
def compiled(exports):
    """Every exported document compiled by pdflatex, two at a time: name → compile result."""
    needs_pdflatex()
    texs = {name: tex for name, (result, tex) in exports.items() if result.exit_code == 0 and tex.exists()}
    results = compile_all(list(texs.values()))
    return {name: results[tex] for name, tex in texs.items()}


def test_there_are_bundled_problems():
    assert len(PROBLEMS) >= 10 and {"ws24_sheet4_ex1", "dnn_a9_q3", "sheet12_p2"} <= set(BY_NAME)


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_export_writes_a_whole_document(exports, name):
    result, tex = exports[name]
    assert result.exit_code == 0, (result.output, result.exception)
    source = tex.read_text(encoding="utf-8")
    assert source.lstrip().startswith("\\documentclass")
    assert "\\begin{document}" in source
    assert source.rstrip().endswith("\\end{document}")
    assert source.count("\\begin{document}") == 1 and source.count("\\end{document}") == 1


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_export_compiles_with_pdflatex(compiled, name):
    assert name in compiled, f"{name} was not exported"
    assert_compiled(compiled[name], name)


# ---------------------------------------------------------------- 2. the PDF's numbers are the JSON's

def _entries(value, index=()):
    """(index counted from 1, number) for every number in a JSON value of any shape."""
    if isinstance(value, list):
        for i, v in enumerate(value, 1):
            yield from _entries(v, index + (i,))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield index, value


def _four_digits(v) -> set:
    """v at 4 significant digits, as the sheet would write it (ties either way)."""
    if isinstance(v, int) or float(v).is_integer():
        return {str(int(v))}
    d = Decimal(repr(float(v)))
    out = set()
    for mode in (ROUND_HALF_EVEN, ROUND_HALF_UP):
        q = d.quantize(Decimal(1).scaleb(d.adjusted() - 3), rounding=mode)
        s = format(q.normalize(), "f")
        out.add(s)
    return out


def _pattern(s: str) -> str:
    neg = s.startswith("-")
    core = re.escape(s.lstrip("-"))
    trailing = "0*" if "." in s else r"(?:\.0+)?"
    return (r"-\s?" if neg else r"(?<![-\d.])") + core + trailing + r"(?!\d)"


def _in_text(v, pdf_text: str) -> bool:
    assert 1e-5 <= abs(v) < 1e8 or v == 0, f"{v}: outside the fixed-point range this test checks"
    return any(re.search(_pattern(s), pdf_text) for s in _four_digits(v))


# What each sheet's document answers (its ask: list): "all", or the entries (counted from 1) it shows.
# sheet12_p2 asks for the single weights W21 = W2[2,1] and W12 = W1[1,2] (the JSON has whole matrices);
# exercise3_sigmoid asks for the forward pass only, so neither L nor gradients are in its document.
# sheet12_p2's part (f) is the loss after updating only W21 and W12 (by hand: y = (0.3691648, -0.17904),
# L = 0.5691648^2 + 0.67904^2 = 0.78504389...), not the JSON's loss_after, which updates every weight.
NUMBER_CHECKS = {
    "ws24_sheet4_ex1": {"values": "all", "gradients": "all"},
    "dnn_a9_q3": {"values": "all", "gradients": "all"},
    "sheet12_p2": {"values": "all", "gradients": {"W2": [(2, 1)], "W1": [(1, 2)]},
                   "by_hand": [0.576, 0.2548, 0.3691648, -0.17904, 0.5691648 ** 2 + 0.67904 ** 2]},
    "exercise3_sigmoid": {"values": {"z1": "all", "h1": "all", "y": "all"}, "gradients": {}},
}


def _wanted(obj: dict, spec) -> list:
    out = []
    for key, value in obj.items():
        if spec != "all" and key not in spec:
            continue
        which = "all" if spec == "all" else spec[key]
        for index, number in _entries(value):
            if which == "all" or index in which:
                out.append((key, index, number))
    return out


def test_pdftotext_minus_sign_normalisation():
    assert _in_text(-0.17, "= \u22120.17".replace("\u2212", "-"))
    assert not _in_text(0.7, "0.75 and 10.7 and -0.7")
    assert _in_text(2.0, "2.0")


@pytest.mark.parametrize("name", sorted(NUMBER_CHECKS))
def test_pdf_numbers_match_the_json(compiled, exports, name):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (CI installs poppler-utils through .ci/run)")
    assert_compiled(compiled[name], name)
    done = subprocess.run(["pdftotext", "-layout", str(compiled[name]["pdf"]), "-"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    pdf_text = done.stdout.replace("\u2212", "-")
    result = run("solve", BY_NAME[name], "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    spec = NUMBER_CHECKS[name]
    wanted = [("values",) + w for w in _wanted(data["values"], spec["values"])]
    wanted += [("gradients",) + w for w in _wanted(data["gradients"], spec["gradients"])]
    wanted += [("by hand", "", (), v) for v in spec.get("by_hand", ())]
    assert len(wanted) >= 3
    missing = [(part, key, index, v, sorted(_four_digits(v))) for part, key, index, v in wanted
               if not _in_text(v, pdf_text)]
    assert not missing, f"{name}: JSON numbers not in the PDF at 4 significant digits: {missing}"


# ---------------------------------------------------------------- 3. --pdf, --fragment and errors

def test_pdf_option_writes_the_pdf_next_to_the_tex(tmp_path):
    needs_pdflatex()
    tex = tmp_path / "x.tex"
    result = run("export", BY_NAME["sheet12_p2"], "-o", tex, "--pdf")
    assert result.exit_code == 0, (result.output, result.exception)
    assert tex.is_file() and (tmp_path / "x.pdf").is_file()
    assert (tmp_path / "x.pdf").read_bytes().startswith(b"%PDF")
    assert f"wrote {tmp_path / 'x.pdf'}" in result.stdout


def test_fragment_is_a_body_that_compiles_when_wrapped(tmp_path):
    needs_pdflatex()
    tex = tmp_path / "body.tex"
    result = run("export", BY_NAME["ws24_sheet4_ex1"], "-o", tex, "--fragment")
    assert result.exit_code == 0, (result.output, result.exception)
    body = tex.read_text(encoding="utf-8")
    assert "\\documentclass" not in body and "\\begin{document}" not in body and "\\end{document}" not in body
    assert "\\section*" in body
    assert_compiled(pdflatex(wrap(tmp_path, "wrapped", body)), "wrapped fragment")


def test_fragment_with_pdf_is_refused(tmp_path):
    result = run("export", BY_NAME["sheet12_p2"], "-o", tmp_path / "x.tex", "--fragment", "--pdf")
    assert result.exit_code != 0
    assert "--fragment" in result.stderr and "Traceback" not in result.output


def test_pdf_without_tex_names_the_install_and_keeps_the_tex(tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    tex = tmp_path / "x.tex"
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    env["PATH"] = str(empty)
    env["PYTHONPATH"] = str(ROOT)  # this checkout's package, not an installed one
    done = subprocess.run([sys.executable, "-m", "backprop_tutor.cli", "export", str(BY_NAME["sheet12_p2"]),
                           "-o", str(tex), "--pdf"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=TIMEOUT)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "pdflatex is not installed" in done.stderr and "apt install texlive" in done.stderr, done.stderr
    assert tex.is_file() and tex.read_text(encoding="utf-8").rstrip().endswith("\\end{document}")
    assert not (tmp_path / "x.pdf").exists()


def test_compile_pdf_without_tex_raises_with_the_install_hint(tmp_path, monkeypatch):
    tex = tmp_path / "x.tex"
    tex.write_text(WRAPPER % "hello", encoding="utf-8")
    monkeypatch.setattr(export_module.shutil, "which", lambda *a, **k: None)
    with pytest.raises(ExternalError) as info:
        compile_pdf(tex)
    assert info.value.exit_code == 3
    assert "install a TeX system" in str(info.value) and "texlive" in str(info.value)
    assert tex.is_file() and not (tmp_path / "x.pdf").exists()


BAD_MACRO_PROBLEM = """\
title: "A name written with an undefined macro"
inputs:
  x: 2
parameters:
  w: 3
targets:
  t: 1
forward:
  y: w * x
loss: half_sse(y, t)
latex:
  y: "\\\\undefinedmacro"
"""


def test_a_latex_value_outside_the_safe_subset_is_refused_when_loading(tmp_path):
    problem = tmp_path / "bad.yaml"
    problem.write_text(BAD_MACRO_PROBLEM, encoding="utf-8")
    tex = tmp_path / "bad.tex"
    result = run("export", problem, "-o", tex, "--pdf")
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"{problem}:12: latex.y:" in lines[0] and "\\undefinedmacro" in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert not tex.exists() and not (tmp_path / "bad.pdf").exists()


def test_latex_error_is_summarised_in_one_line_and_the_log_kept(tmp_path):
    needs_pdflatex()
    tex = tmp_path / "bad.tex"
    tex.write_text(WRAPPER % "$y = \\undefinedmacro$", encoding="utf-8")
    with pytest.raises(ExternalError) as info:
        compile_pdf(tex)
    message = str(info.value)
    assert "\n" not in message
    assert "LaTeX failed" in message and "Undefined control sequence" in message, message
    assert re.search(r"l\.\d+", message), message
    assert str(tmp_path / "bad.log") in message
    assert "Undefined control sequence" in (tmp_path / "bad.log").read_text(encoding="utf-8")
    assert tex.is_file() and not (tmp_path / "bad.pdf").exists()


def test_summarise_log_keeps_the_errors_and_their_lines():
    log = "This is pdfTeX\n! Undefined control sequence.\nl.12 y = \\undefinedmacro\n\nmore\n"
    assert summarise_log(log) == "Undefined control sequence. l.12 y = \\undefinedmacro"
    assert summarise_log("no errors here") == "see the log (no error line found)"
    many = "".join(f"! error {i}\nl.{i} x\n" for i in range(5))
    assert summarise_log(many).count(";") == 2


def test_write_atomically_replaces_the_whole_file(tmp_path):
    target = tmp_path / "x.tex"
    target.write_text("OLD", encoding="utf-8")
    write_atomically(target, "NEW " * 1000)
    assert target.read_text(encoding="utf-8") == "NEW " * 1000
    assert [p.name for p in tmp_path.iterdir()] == ["x.tex"]


def test_write_atomically_never_leaves_a_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "x.tex"
    target.write_text("OLD", encoding="utf-8")
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()
            return False

        def write(self, s):
            self.f.write(s[: len(s) // 2])
            self.f.flush()
            raise OSError("disk full (simulated)")

    monkeypatch.setattr(export_module.os, "fdopen", lambda fd, *a, **k: HalfWriter(real_fdopen(fd, *a, **k)))
    with pytest.raises(OutputError, match="simulated"):
        write_atomically(target, "NEW " * 1000)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "OLD"
    assert [p.name for p in tmp_path.iterdir()] == ["x.tex"], "a temporary file was left behind"


def test_missing_output_folder_is_one_clear_error(tmp_path):
    target = tmp_path / "no" / "such" / "x.tex"
    result = run("export", BY_NAME["sheet12_p2"], "-o", target)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "does not exist" in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert not target.parent.exists()


# ---------------------------------------------------------------- 4. notation

@pytest.mark.parametrize("name, tex", [
    ("W2", "W_{2}"), ("w13", "w_{13}"), ("y_hat", "\\hat{y}"), ("alpha", "\\alpha"),
    ("W2[2,1]", "W^{(2)}_{21}"), ("W1[1,2]", "W^{(1)}_{12}"),
])
def test_tex_name(name, tex):
    assert tex_name(name) == tex


def test_tex_name_map_and_aliases():
    names = {"latex": {"W21": "\\omega"}, "aliases": {"W21": "W2[2,1]", "W12": "W1[1,2]"}}
    assert tex_name("W21", names) == "\\omega"
    assert tex_name("W12", names) == "W^{(1)}_{12}"


def test_text_escapes_specials_and_sets_symbols():
    assert text("a_b & 50% #1 $x") == "a\\_b \\& 50\\% \\#1 \\$x"
    assert text("σ(z) − 1") == "\\ensuremath{\\sigma}(z) \\ensuremath{-} 1"


def test_sheet12_p2_writes_the_asked_weights_as_the_sheet_does(exports):
    result, tex = exports["sheet12_p2"]
    assert result.exit_code == 0
    source = tex.read_text(encoding="utf-8")
    assert "W^{(2)}_{21}" in source and "W^{(1)}_{12}" in source
    assert "\\partial W^{(2)}_{21}" in source and "\\partial W^{(1)}_{12}" in source


def test_latex_map_overrides_a_name(tmp_path):
    raw = yaml.safe_load(BY_NAME["sheet12_p2"].read_text(encoding="utf-8"))
    raw["latex"] = {"W21": "\\omega_{\\mathrm{hu}}", "y": "\\hat{o}"}
    problem = tmp_path / "mapped.yaml"
    problem.write_text(yaml.safe_dump(raw), encoding="utf-8")
    tex = tmp_path / "mapped.tex"
    result = run("export", problem, "-o", tex)
    assert result.exit_code == 0, (result.output, result.exception)
    source = tex.read_text(encoding="utf-8")
    assert "\\partial \\omega_{\\mathrm{hu}}" in source
    assert "W^{(2)}_{21}" not in source
    assert "W^{(1)}_{12}" in source           # names not in the map keep their default
    assert "\\hat{o}_{1} &=" in source and "\\hat{o}_{2} &=" in source  # the outputs, per neuron
    if shutil.which("pdflatex"):
        assert_compiled(pdflatex(tex), "mapped")


# ---------------------------------------------------------------- 5. derive --latex

DERIVES = [("sheet2_ex3", "w13"), ("sheet2_ex4", "v"), ("ws24_sheet4_ex1", "u11")]


def test_derive_latex_fragments_compile_when_wrapped(tmp_path):
    texs = []
    for name, wrt in DERIVES:
        result = run("derive", BY_NAME[name], "--wrt", wrt, "--latex")
        assert result.exit_code == 0, (name, result.output, result.exception)
        body = result.stdout
        assert "\\documentclass" not in body and "\\begin{document}" not in body
        assert "\\begin{align*}" in body and "\\partial" in body
        texs.append(wrap(tmp_path, f"{name}_{wrt}", body))
    needs_pdflatex()
    for tex, compiled_one in compile_all(texs).items():
        assert_compiled(compiled_one, tex.name)


# ---------------------------------------------------------------- 6. the Python API

@pytest.mark.parametrize("path", NUMERIC, ids=[p.stem for p in NUMERIC])
def test_api_solve_equals_the_cli_json(path):
    result = run("solve", path, "--json")
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    for api in (to_json(solve(load(path))), to_json(solve(path)), to_json(solve(str(path)))):
        _close(api, cli, path.stem)


def _close(a, b, where):
    if isinstance(b, dict):
        assert isinstance(a, dict) and set(a) == set(b), (where, sorted(a), sorted(b))
        for k in b:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(b, (int, float)) and not isinstance(b, bool):
        assert isinstance(a, (int, float)) and abs(a - b) <= 1e-12 * max(1.0, abs(b)), (where, a, b)
    else:
        assert a == b, (where, a, b)


def test_there_are_numeric_problems():
    assert {"ws24_sheet4_ex1", "dnn_a9_q3", "sheet12_p2"} <= {p.stem for p in NUMERIC}


@pytest.mark.parametrize("name, wrt", [("sheet2_ex3", "w13"), ("ws24_sheet4_ex1", "u11")])
def test_api_derive_equals_the_cli_json(name, wrt):
    result = run("derive", BY_NAME[name], "--wrt", wrt, "--json")
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    api = json.loads(json.dumps(derivation_json(derive(BY_NAME[name], wrt)), ensure_ascii=False))
    _close(api, cli, name)
    _close(json.loads(json.dumps(derivation_json(derive(load(BY_NAME[name]), wrt)))), cli, name)


def _squash(s: str) -> str:
    return " ".join(s.split())


@pytest.mark.parametrize("name", ["sheet12_p2", "ws24_sheet4_ex1"])
def test_solution_notebook_displays(name):
    solution = solve(BY_NAME[name])
    markdown = solution._repr_markdown_()
    assert isinstance(markdown, str) and markdown.strip()
    assert solution.title in markdown
    assert "$$" in markdown and "\\begin{aligned}" in markdown
    latex = solution._repr_latex_()
    assert isinstance(latex, str) and latex.strip()
    assert text(solution.title) in latex
    assert "\\begin{align*}" in latex and "\\documentclass" not in latex
    assert latex == to_latex(solution, standalone=False)


def test_derivation_notebook_displays():
    d = derive(BY_NAME["sheet2_ex3"], "w13")
    assert d.title in d._repr_markdown_() and "\\partial" in d._repr_markdown_()
    assert text(d.title) in d._repr_latex_() and "\\partial" in d._repr_latex_()


def test_rich_console_prints_a_solution_and_a_derivation():
    from rich.console import Console
    solution = solve(BY_NAME["sheet12_p2"])
    derivation = derive(BY_NAME["sheet2_ex3"], "w13")
    for thing in (solution, derivation):
        console = Console(record=True, width=80)
        console.print(thing)
        out = console.export_text()
        assert out.strip()
        assert _squash(thing.title) in _squash(out), out[:400]


def _ten_inputs(tmp_path, activation: str) -> str:
    """A layer of two units over ten inputs, exported to LaTeX in matrix form: the source."""
    weights = [[(i - 5) / 8 for i in range(1, 11)], [i / 10 for i in range(1, 11)]]
    problem = tmp_path / "wide.yaml"
    problem.write_text(yaml.safe_dump({
        "title": "ten inputs", "inputs": {"x": [1.5] * 10},
        "network": {"layout": "Wx", "input": "x", "layers": [{"weights": weights, "activation": activation}]},
        "targets": {"t": [0, 1]}, "loss": "half_sse(y, t)", "learning_rate": 0.5}), encoding="utf-8")
    tex = tmp_path / "wide.tex"
    assert run("export", problem, "-o", tex, "--notation", "matrix").exit_code == 0
    return tex.read_text(encoding="utf-8")


def test_a_wide_matrix_written_entry_by_entry_keeps_two_digit_indices_apart(tmp_path):
    """[W₁]₂,₁₀ — row 2, column 10 — never [W₁]₂₁₀, which could be row 21."""
    source = _ten_inputs(tmp_path, "linear")
    assert "\\right]_{2,10}" in source and "\\right]_{1,1}" in source
    assert "\\right]_{210}" not in source


def test_a_wide_matrix_answer_is_set_in_blocks_of_columns_and_an_update_entry_by_entry(tmp_path):
    """Ten inputs: the boxed ∂L/∂W₁ and the answers table give W₁ in blocks of columns (columns 1–…),
    the update writes each entry's arithmetic and value, and the page has no overfull box."""
    source = _ten_inputs(tmp_path, "sigmoid")
    assert "\\text{columns 1–" in source and "–10: }" in source
    assert re.search(r"\\left\[W_\{1\}\\right\]_\{2,10\} &(=|\\approx) 1 - 0\.5 \\cdot", source), source
    if shutil.which("pdflatex"):
        tex = tmp_path / "wide.tex"
        done = pdflatex(tex)
        log = tex.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
        assert done["code"] == 0 and "Overfull" not in log, done["bad"]
