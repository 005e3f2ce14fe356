"""Export on hostile input: LaTeX that can only typeset, a confined and time-limited pdflatex,
and outputs that never replace anything but an earlier output."""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import yaml

from backprop_tutor import export as export_module
from backprop_tutor import sandbox
from backprop_tutor.errors import ExternalError, OutputError, ProblemError, UsageError
from backprop_tutor.export import check_target, compile_pdf, write_atomically
from backprop_tutor.notation import tex_name
from backprop_tutor.render.latex import to_latex
from backprop_tutor.texsafe import (MAX_MATH_LENGTH, UnsafeTeX, check_math, escape_text,
                                    forbidden_in_document)

from helpers import cli as run, needs_pdflatex

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
SHEET = ROOT / "problems" / "sheet12_p2.yaml"



def one_error_line(result, code=2) -> str:
    """The single `error: …` line of a refused command (and no traceback)."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def leftovers(folder: Path, expected=()) -> list:
    """Files in folder other than the expected ones (temporary files, partial outputs)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in expected)


@pytest.fixture
def secret(tmp_path):
    """A file with a random token that no output may ever contain."""
    token = "SECRET" + secrets.token_hex(8).upper()
    path = tmp_path / "private" / "secret.txt"
    path.parent.mkdir()
    path.write_text(token + "\n", encoding="utf-8")
    return path, token


def pdf_contains(pdf: Path, token: str) -> bool:
    """Whether the token is anywhere in the PDF: its text, its raw bytes, or any stream, inflated."""
    data = pdf.read_bytes()
    raw = token.encode()
    if raw in data or raw.hex().encode() in data.lower():
        return True
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            if raw in zlib.decompressobj().decompress(m.group(1)):
                return True
        except zlib.error:
            pass
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
        if token in text:
            return True
    return False


def problem_yaml(tmp_path: Path, name="p.yaml", **extra) -> Path:
    """A small numeric problem with extra top-level keys."""
    raw = {"title": "A small net", "inputs": {"x": 2}, "parameters": {"w": 3}, "targets": {"t": 1},
           "forward": {"y": "w * x"}, "loss": "half_sse(y, t)"}
    raw.update(extra)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


DOCUMENT = "\\documentclass{article}\n\\begin{document}\n%s\n\\end{document}\n"


def hand_written(folder: Path, body: str, name="x.tex") -> Path:
    tex = folder / name
    tex.write_text(DOCUMENT % body, encoding="utf-8")
    return tex


# ---------------------------------------------------------------- 1. the safe subset for math

SAFE = [r"\mathbf{u}", r"A_{\mathrm{out}}", r"W^{(2)}_{21}", r"\hat{o}", r"\omega_{\mathrm{hu}}",
        r"\left( x \right)", r"\left\{ x \right.", r"\sqrt[3]{x}", r"\frac{a}{b}", r"\frac ab", "x'",
        r"\alpha\,\beta", r"\sum_{i} x_i", r"\operatorname{relu}", r"\partial L / \partial w", r"\ell_{\infty}",
        r"x^{\top}", r"\vec{v} \cdot \bar{w}", r"a \quad b", r"\mathcal{L}", r"|x|", "<x, y>"]
UNSAFE = {
    "file through \\text": r"w\text{\openin15=/etc/passwd \read15 to\l \texttt{\detokenize\expandafter{\l}}}",
    "pdfobj": r"\immediate\pdfobj stream file {/etc/passwd}",
    "input": r"\input{/etc/passwd}",
    "loop": r"\def\a{\a}\a",
    "character code": "^^5cinput{/etc/passwd}",
    "character code of a brace": "x^^7d",
    "write18": r"\write18{id}",
    "catcode": r"\catcode`\@=11",
    "csname": r"\csname input\endcsname",
    "closing brace": "x}",
    "opening brace": "{x",
    "brace inside left-right": r"{\left( x } \right)",
    "left alone": r"\left( x",
    "right alone": r"x \right)",
    "left without delimiter": r"\left x \right)",
    "frac without argument": r"\frac{a}",
    "subscript without argument": "x_",
    "hat at the end": r"\hat",
    "percent": "a % b",
    "hash": "#1",
    "dollar": "$x$",
    "ampersand": "a & b",
    "tilde": "a~b",
    "double backslash": r"a \\ b",
    "lone backslash": "a\\",
    "control character": "a\x00b",
    "newline": "a\nb",
    "non-ASCII": "é",
    "empty": "",
    "spaces": "   ",
    "too long": "x" * (MAX_MATH_LENGTH + 1),
    "longer command name": r"\alphax",
    "at-command": r"\@input",
}


@pytest.mark.parametrize("tex", SAFE)
def test_safe_math_is_accepted_as_it_is(tex):
    assert check_math(tex) == tex


@pytest.mark.parametrize("tex", list(UNSAFE.values()), ids=list(UNSAFE))
def test_math_outside_the_subset_is_refused(tex):
    with pytest.raises(UnsafeTeX):
        check_math(tex)


def test_the_length_limit_is_exact():
    assert check_math("x" * MAX_MATH_LENGTH)
    with pytest.raises(UnsafeTeX, match=str(MAX_MATH_LENGTH)):
        check_math("x" * (MAX_MATH_LENGTH + 1))


@pytest.mark.parametrize("payload", [
    r"w\text{\openin15=SECRET \read15 to\l \texttt{\detokenize\expandafter{\l}}}",
    r"\immediate\pdfobj stream file {SECRET}",
    r"\input{SECRET}",
    r"w\text{\openin15=/etc/passwd \read15 to\l \texttt{\detokenize\expandafter{\l}}}",
    r"\immediate\pdfobj stream file {/etc/passwd}",
    "^^5cinput{SECRET}",
], ids=["openin", "pdfobj", "input", "openin-etc-passwd", "pdfobj-etc-passwd", "character-code"])
def test_a_latex_value_that_reads_a_file_is_refused(tmp_path, secret, payload):
    path, token = secret
    problem = problem_yaml(tmp_path, latex={"w": payload.replace("SECRET", str(path))})
    tex = tmp_path / "x.tex"
    line = one_error_line(run("export", problem, "-o", tex, "--pdf"))
    assert f"{problem}:" in line and "latex.w:" in line, line
    assert leftovers(tmp_path, {"p.yaml", "private"}) == [], "nothing may be written"


def test_the_refusal_names_the_line_of_the_key(tmp_path):
    problem = tmp_path / "p.yaml"
    problem.write_text(problem_yaml(tmp_path).read_text(encoding="utf-8")
                       + "latex:\n  y: '\\hat{y}'\n  w: '\\def\\a{\\a}\\a'\n", encoding="utf-8")
    line = one_error_line(run("export", problem, "-o", tmp_path / "x.tex", "--pdf"))
    expected = len(problem.read_text().splitlines())  # the last line: w under latex:
    assert f"{problem}:{expected}: latex.w: \\def is not an allowed command" in line, line


def test_the_loop_from_a_latex_value_is_refused_at_once(tmp_path):
    problem = problem_yaml(tmp_path, latex={"w": "\\def\\a{\\a}\\a"})
    started = time.monotonic()
    line = one_error_line(run("export", problem, "-o", tmp_path / "x.tex", "--pdf"))
    assert "latex.w" in line and time.monotonic() - started < 10


@pytest.mark.parametrize("payload", list(UNSAFE.values()), ids=list(UNSAFE))
def test_loading_refuses_every_unsafe_value(tmp_path, payload):
    problem = problem_yaml(tmp_path, latex={"w": payload})
    line = one_error_line(run("solve", problem))
    assert f"{problem}:" in line and "latex.w:" in line, line


def test_a_value_placed_into_the_document_is_checked_again(tmp_path):
    """Defence in depth: a latex: map that bypassed loading still cannot reach the document."""
    from backprop_tutor import load, solve
    solution = solve(load(problem_yaml(tmp_path)))
    solution.names["latex"] = {"w": "\\input{/etc/passwd}"}
    with pytest.raises(ProblemError) as info:
        to_latex(solution)
    assert info.value.key == "latex.w" and "\\input" in info.value.message
    with pytest.raises(ProblemError):
        tex_name("w", {"latex": {"w": "\\immediate\\pdfobj stream file {/etc/passwd}"}})


def test_good_latex_values_still_typeset(tmp_path):
    needs_pdflatex()
    problem = problem_yaml(tmp_path, latex={"w": r"\omega_{\mathrm{in}}", "y": r"\hat{y}^{\top}",
                                            "x": r"\left( \vec{x} \right)"})
    tex = tmp_path / "x.tex"
    result = run("export", problem, "-o", tex, "--pdf")
    assert result.exit_code == 0, result.output
    assert "\\omega_{\\mathrm{in}}" in tex.read_text(encoding="utf-8")
    assert (tmp_path / "x.pdf").read_bytes().startswith(b"%PDF")


# ---------------------------------------------------------------- 2. names and plain text

HOSTILE_NAMES = ["\\input{SECRET}", "a}\\input{SECRET}{", "$\\input{SECRET}$", "x^^5cinput{SECRET}",
                 "a%b", "a#b", "a&b", "a~b", "a\x00b", "é", "x__1", "__", "_b", "xscr", "xnorm", "x_"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_any_name_becomes_math_that_only_typesets(name):
    tex = tex_name(name)
    assert forbidden_in_document(tex) is None, tex
    assert "\\input" not in tex and "^^" not in tex and "%" not in tex.replace("\\%", "")
    depth = 0
    for m in re.finditer(r"\\.|[{}]", tex):
        depth += {"{": 1, "}": -1}.get(m.group(0), 0)
        assert depth >= 0, tex
    assert depth == 0, tex


def test_hostile_names_and_texts_compile_without_a_trace_of_the_secret(tmp_path, secret):
    """network.output, every text field, part labels and class labels carrying TeX: typeset as text."""
    needs_pdflatex()
    path, token = secret
    attack = f"\\input{{{path}}} \\immediate\\pdfobj stream file {{{path}}} ^^5cinput{{{path}}}"
    raw = {
        "title": f"Title {attack} 100% [a] ~ # & $ _ ^ {{ }} \\",
        "source": f"Source \r\x0b\x0c\x7f \u2028 \U0001F600 {attack}",
        "notes": f"First [paragraph] {attack}\n\nSecond paragraph\n\n\n[third]",
        "inputs": {"x": [1, 2]},
        "network": {"input": "x", "output": f"\\input{{{path}}}",
                    "layers": [{"weights": [[1, 0], [0, 1]], "activation": "relu"}, {"weights": [[1, 1]]}]},
        "ask": [{"part": f"[{attack}]", "show": "forward"},
                {"part": "b", "linear_pieces": {"below": f"[{attack}", "above": f"{attack}]"}}],
    }
    problem = tmp_path / "p.yaml"
    problem.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    tex = tmp_path / "x.tex"
    result = run("export", problem, "-o", tex, "--pdf")
    if result.exit_code == 2:  # the name may be refused as a name when the file is loaded: also safe
        assert "network.output" in one_error_line(result)
        return
    assert result.exit_code == 0, (result.output, result.exception)
    source = tex.read_text(encoding="utf-8")
    assert forbidden_in_document(source) is None
    assert not pdf_contains(tmp_path / "x.pdf", token)
    text = subprocess.run(["pdftotext", str(tmp_path / "x.pdf"), "-"], capture_output=True, text=True).stdout \
        if shutil.which("pdftotext") else ""
    if text:
        assert "100%" in text and "[paragraph]" in text and "input" in text


def test_every_name_sympy_spells_specially_typesets(tmp_path):
    """Names are SymPy's to spell (xhat, xscr, lamda, __): whatever it makes of them must compile."""
    needs_pdflatex()
    import importlib
    sympy_latex = importlib.import_module("sympy.printing.latex")
    names = sorted({"x" + m for m in sympy_latex.modifier_dict} | set(sympy_latex.greek_letters_set)
                   | set(sympy_latex.other_symbols) | {"lamda", "Lamda", "x__1", "_b", "__", "x_", "a__b__c"})
    names = [n for n in names if n not in ("L", "lambda")]
    groups = {f"s{k}": " + ".join(names[i:i + 10]) for k, i in enumerate(range(0, len(names), 10))}
    forward = {**groups, "y": "w * (" + " + ".join(groups) + ")"}  # sums of ten, within the expression limits
    problem = problem_yaml(tmp_path, inputs={n: 1 for n in names}, forward=forward)
    result = run("export", problem, "-o", tmp_path / "x.tex", "--pdf")
    assert result.exit_code == 0, (result.output, result.exception)
    assert (tmp_path / "x.pdf").read_bytes().startswith(b"%PDF")


def test_escape_text_leaves_nothing_tex_can_act_on():
    out = escape_text("\\input{x} % # $ & _ ^^5c ~ [a] \x00\r\n\t\x7f \u2028 \U0001F600")
    assert forbidden_in_document(out) is None
    assert not re.search(r"(?<!\\)[%#$&~]", out)
    assert not re.search(r"(?<![\\{])[\[\]]", out)
    assert all(ch >= " " for ch in out) and "\x7f" not in out
    assert "\\input" not in out and "^^" not in out


@pytest.mark.parametrize("path", PROBLEMS, ids=[p.stem for p in PROBLEMS])
def test_every_bundled_document_passes_the_document_check(tmp_path, path):
    tex = tmp_path / "x.tex"
    result = run("export", path, "-o", tex)
    assert result.exit_code == 0, result.output
    assert forbidden_in_document(tex.read_text(encoding="utf-8")) is None


# ---------------------------------------------------------------- 3. a hand-written document

ATTACKS = {
    "openin": "\\openin15=SECRET \\ifeof15 closed\\else\\read15 to\\l \\texttt{\\detokenize\\expandafter{\\l}}\\fi",
    "input": "\\input{SECRET}",
    "input-relative": "\\input{RELATIVE}",
    "pdfobj": "\\immediate\\pdfobj stream file {SECRET}\\pdfrefobj\\pdflastobj",
    "pdffiledump": "\\pdffiledump length 40 {SECRET}",
    "at-input": "\\makeatletter\\@@input SECRET \\makeatother",
}


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_compile_pdf_refuses_a_document_that_reads_files(tmp_path, secret, attack):
    path, token = secret
    body = ATTACKS[attack].replace("SECRET", str(path))
    tex = hand_written(tmp_path, body)
    with pytest.raises(UsageError, match="refusing to run LaTeX"):
        compile_pdf(tex)
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_pdflatex_itself_cannot_read_a_file_outside_its_folder(tmp_path, secret, monkeypatch, attack):
    """Bypassing every check of the text: the confined pdflatex still cannot put the file in the PDF."""
    needs_pdflatex()
    if attack in ("pdfobj",) and not sandbox.available():
        pytest.skip("pdfTeX reads \\pdfobj files despite openin_any; only Landlock stops it, not offered here")
    path, token = secret
    relative = "../" * 12 + str(path).lstrip("/")
    body = ATTACKS[attack].replace("SECRET", str(path)).replace("RELATIVE", relative)
    tex = hand_written(tmp_path, "Visible " + body)
    monkeypatch.setattr(export_module, "forbidden_in_document", lambda source: None)
    try:
        pdf = compile_pdf(tex, timeout=60)
    except ExternalError:
        assert not (tmp_path / "x.pdf").exists()
        log = tmp_path / "x.log"
        assert not log.exists() or token not in log.read_text(encoding="utf-8", errors="replace")
        return
    assert not pdf_contains(pdf, token)


def test_pdflatex_cannot_read_etc_passwd(tmp_path, monkeypatch):
    needs_pdflatex()
    if not Path("/etc/passwd").is_file() or "root:" not in Path("/etc/passwd").read_text():
        pytest.skip("no /etc/passwd with a root line here")
    body = ("\\openin15=/etc/passwd \\ifeof15 closed\\else\\read15 to\\l \\texttt{\\detokenize\\expandafter{\\l}}\\fi"
            + ("\\immediate\\pdfobj stream file {/etc/passwd}\\pdfrefobj\\pdflastobj" if sandbox.available() else ""))
    tex = hand_written(tmp_path, "Visible " + body)
    monkeypatch.setattr(export_module, "forbidden_in_document", lambda source: None)
    try:
        pdf = compile_pdf(tex)
    except ExternalError:
        return
    assert not pdf_contains(pdf, "root:x:0") and not pdf_contains(pdf, "root:")


def test_the_leak_check_can_see_a_token(tmp_path, monkeypatch):
    """The checks above would notice: a token typeset, and one in a compressed stream, are both found."""
    needs_pdflatex()
    token = "VISIBLE" + secrets.token_hex(6).upper()
    hidden = "HIDDEN" + secrets.token_hex(6).upper()
    tex = hand_written(tmp_path, f"{token} \\immediate\\pdfobj stream {{{hidden} {hidden}}}\\pdfrefobj\\pdflastobj")
    monkeypatch.setattr(export_module, "forbidden_in_document", lambda source: None)
    pdf = compile_pdf(tex)
    assert pdf_contains(pdf, token) and pdf_contains(pdf, hidden)
    assert hidden.encode() not in pdf.read_bytes(), "the stream should be compressed, so that inflating is tested"


def test_pdflatex_cannot_write_outside_its_folder_or_run_commands(tmp_path, monkeypatch):
    needs_pdflatex()
    marks = [tmp_path / "mark-write18", tmp_path / "mark-openout", tmp_path / "mark-relative"]
    relative = "../" * 12 + str(marks[2]).lstrip("/")
    body = (f"\\immediate\\write18{{touch {marks[0]}}}"
            f"\\immediate\\openout5={marks[1]} \\immediate\\write5{{x}}\\immediate\\closeout5 "
            f"\\immediate\\openout6={relative} \\immediate\\write6{{x}}\\immediate\\closeout6 done")
    tex = hand_written(tmp_path, body)
    monkeypatch.setattr(export_module, "forbidden_in_document", lambda source: None)
    try:
        compile_pdf(tex)
    except ExternalError:
        pass
    assert not any(m.exists() for m in marks)


@pytest.mark.parametrize("preamble, body, bad", [
    ("\\usepackage{verbatim}", "x", "verbatim"),
    ("\\usepackage [x] {embedfile}", "x", "embedfile"),
    ("\\usepackage{amsmath,catchfile}", "x", "catchfile"),
    ("\\usepackage x", "x", "plain"),
    ("\\usetikzlibrary{external}", "x", "external"),
    ("", "^^5cinput{x}", "^^"),
    ("", "\\csname pdfobj\\endcsname", "csname"),
    ("", "\\expandafter\\pdfprimitive\\pdfobj", "pdfprimitive"),
])
def test_the_document_check_refuses_what_exports_never_contain(preamble, body, bad):
    source = "\\documentclass{article}\n" + preamble + "\n\\begin{document}\n" + body + "\n\\end{document}\n"
    found = forbidden_in_document(source)
    assert found and bad in found, found


def test_the_document_check_reads_control_symbols_as_tex_does():
    assert forbidden_in_document(DOCUMENT % "a \\textbackslash{}input b") is None
    assert forbidden_in_document(DOCUMENT % "a \\\\input b") is None   # \\ then the word input
    assert forbidden_in_document(DOCUMENT % "a \\\\\\input b") == "\\input"


# ---------------------------------------------------------------- 4. nothing from the user's folders

def test_latexmkrc_and_tex_files_beside_the_output_are_not_read(tmp_path, monkeypatch):
    needs_pdflatex()
    marker = tmp_path / "MARKER"
    evil = "EVIL" + secrets.token_hex(6).upper()
    for rc in ("latexmkrc", ".latexmkrc"):
        (tmp_path / rc).write_text(f'system("touch {marker}");\n$pdflatex = "pdflatex -shell-escape %O %S";\n')
    (tmp_path / "article.cls").write_text(f"\\AtBeginDocument{{{evil}}}\\input{{/usr/share/texlive/"
                                          "texmf-dist/tex/latex/base/article.cls}\n")
    (tmp_path / "texmf.cnf").write_text(f"TEXINPUTS = {tmp_path}//\nshell_escape = t\nopenin_any = a\n")
    (tmp_path / "amsmath.sty").write_text(f"\\AtBeginDocument{{{evil}}}\n")
    monkeypatch.chdir(tmp_path)
    result = run("export", SHEET, "-o", "x.tex", "--pdf")
    assert result.exit_code == 0, (result.output, result.exception)
    assert not marker.exists()
    assert not pdf_contains(tmp_path / "x.pdf", evil)


def test_home_and_tex_variables_of_the_user_are_not_read(tmp_path):
    needs_pdflatex()
    evil = "EVIL" + secrets.token_hex(6).upper()
    home = tmp_path / "home"
    for folder in (home / "texmf" / "tex" / "latex", tmp_path / "inputs"):
        folder.mkdir(parents=True)
        (folder / "booktabs.sty").write_text(f"\\AtBeginDocument{{{evil}}}\n")
    env = dict(os.environ, HOME=str(home), TEXINPUTS=f"{tmp_path / 'inputs'}//:", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "backprop_tutor", "export", str(SHEET), "-o",
                           str(tmp_path / "x.tex"), "--pdf"], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert not pdf_contains(tmp_path / "x.pdf", evil)


def test_an_option_as_output_name_is_refused_or_harmless(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = one_error_line(run("export", SHEET, "-o", "-shell-escape", "--pdf"))
    assert "end it in .tex" in line
    assert leftovers(tmp_path) == []
    if shutil.which("pdflatex"):
        result = run("export", SHEET, "-o", "-shell-escape.tex", "--pdf")
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in tmp_path.iterdir()) == ["-shell-escape.pdf", "-shell-escape.tex"]
        result = run("export", SHEET, "-o", "-shell-escape.pdf")
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in tmp_path.iterdir()) == ["-shell-escape.pdf", "-shell-escape.tex"]


# ---------------------------------------------------------------- 5. time limit and interrupts

LOOP = "\\def\\a{\\a}\\a"


class Recorded(subprocess.Popen):
    """Popen that remembers the processes it started."""

    started: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        Recorded.started.append(self.pid)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_looping_document_is_stopped_at_the_time_limit(tmp_path, monkeypatch):
    needs_pdflatex()
    tex = hand_written(tmp_path, LOOP)
    Recorded.started = []
    monkeypatch.setattr(export_module.subprocess, "Popen", Recorded)
    started = time.monotonic()
    with pytest.raises(ExternalError) as info:
        compile_pdf(tex, timeout=2)
    took = time.monotonic() - started
    assert took < 6, took
    assert info.value.exit_code == 3 and "did not finish within 2 s" in str(info.value)
    assert Recorded.started and not any(group_alive(pid) for pid in Recorded.started)
    assert leftovers(tmp_path, {"x.tex"}) == []


def test_the_timeout_option_reaches_latex_and_kills_a_stubborn_one(tmp_path):
    """A pdflatex that ignores SIGTERM (as TeX in a loop does) is killed, with all it started."""
    fake = _stubborn_pdflatex(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, PATH=f"{fake.parent}:{os.environ.get('PATH', '')}", PYTHONPATH=str(ROOT))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "backprop_tutor", "export", str(SHEET), "-o", str(out / "x.tex"),
                           "--pdf", "--timeout", "2"], env=env, capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 15
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "did not finish within 2 s" in lines[0], done.stderr
    assert not _running(fake)
    assert leftovers(out, {"x.tex"}) == []


def _stubborn_pdflatex(tmp_path: Path) -> Path:
    fake = tmp_path / "fakebin" / "bin" / "pdflatex"
    fake.parent.mkdir(parents=True)
    # ignores SIGTERM and SIGINT, and starts a copy of itself that does too (and outlives its parent)
    fake.write_text("#!/bin/sh\ntrap '' TERM INT\n[ \"$1\" = child ] || \"$0\" child &\n"
                    "while :; do sleep 1; done\n")
    fake.chmod(0o755)
    return fake


def _running(fake: Path) -> list:
    """The live processes running the fake program (pgrep -f by its unique path)."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(fake) in cmdline and state != "Z":
            out.append(int(proc.name))
    return out


def _interruptible():
    """Run in the child before it starts: Ctrl-C reaches it, as it does a command typed at a terminal."""
    # A test session started in the background by a shell without job control (`.ci/run &` in a script)
    # ignores SIGINT, and its children inherit that; Python then installs no KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(predicate, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the processes")
def test_ctrl_c_during_pdf_stops_latex_and_leaves_nothing(tmp_path):
    fake = _stubborn_pdflatex(tmp_path)
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    tmp.mkdir()
    env = dict(os.environ, PATH=f"{fake.parent}:{os.environ.get('PATH', '')}", PYTHONPATH=str(ROOT), TMPDIR=str(tmp))
    tool = subprocess.Popen([sys.executable, "-m", "backprop_tutor", "export", str(SHEET), "-o", str(out / "x.tex"),
                             "--pdf"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_interruptible)
    try:
        assert _wait_for(lambda: _running(fake)), "the fake pdflatex never started"
        tool.send_signal(signal.SIGINT)
        _, stderr = tool.communicate(timeout=30)
    finally:
        if tool.poll() is None:
            tool.kill()
        for pid in _running(fake):
            os.kill(pid, signal.SIGKILL)
    assert tool.returncode == 130, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) <= 1, stderr
    assert _wait_for(lambda: not _running(fake), 5), "the fake pdflatex survived"
    assert leftovers(out, {"x.tex"}) == [], "no PDF and no temporary file"
    assert leftovers(tmp) == [], "the private LaTeX folder is removed"


SLOW_SCRIPT = """
import subprocess, sys
from pathlib import Path
from backprop_tutor import export

class Announced(subprocess.Popen):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        print(self.pid, flush=True)

export.subprocess.Popen = Announced
export.compile_pdf(Path(sys.argv[1]), timeout=120)
"""


def test_sigint_while_the_real_pdflatex_loops(tmp_path):
    needs_pdflatex()
    tex = hand_written(tmp_path, LOOP, "loop.tex")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp))
    script = subprocess.Popen([sys.executable, "-c", SLOW_SCRIPT, str(tex)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, preexec_fn=_interruptible)
    pid = None
    try:
        pid = int(script.stdout.readline())
        time.sleep(0.5)  # pdflatex is now in its loop
        assert group_alive(pid)
        script.send_signal(signal.SIGINT)
        _, stderr = script.communicate(timeout=30)
    finally:
        if script.poll() is None:
            script.kill()
        if pid and group_alive(pid):
            os.killpg(pid, signal.SIGKILL)
            pytest.fail("pdflatex survived the interrupt")
    assert "KeyboardInterrupt" in stderr
    assert leftovers(tmp_path, {"loop.tex", "tmp"}) == []
    assert leftovers(tmp) == []


def test_missing_pdflatex_is_an_external_error_and_says_the_old_pdf_is_stale(tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.pdf").write_bytes(b"%PDF old")
    env = dict(os.environ, PATH=str(empty), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "backprop_tutor", "export", str(SHEET), "-o", str(out / "x.tex"),
                           "--pdf"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pdflatex is not installed" in lines[0]
    assert f"{out / 'x.pdf'} is from an earlier export and out of date" in lines[0], lines[0]
    assert (out / "x.pdf").read_bytes() == b"%PDF old"


def test_a_failed_compile_keeps_the_log_and_says_the_old_pdf_is_stale(tmp_path):
    needs_pdflatex()
    tex = hand_written(tmp_path, "\\undefinedmacro")
    (tmp_path / "x.pdf").write_bytes(b"%PDF old")
    with pytest.raises(ExternalError) as info:
        compile_pdf(tex)
    message = str(info.value)
    assert "Undefined control sequence" in message and "out of date" in message and "\n" not in message
    assert (tmp_path / "x.pdf").read_bytes() == b"%PDF old"
    assert (tmp_path / "x.log").is_file()
    assert leftovers(tmp_path, {"x.tex", "x.pdf", "x.log"}) == []


# ---------------------------------------------------------------- 6. output paths

def test_a_folder_as_output_is_refused(tmp_path):
    folder = tmp_path / "d.tex"
    folder.mkdir()
    (folder / "keep").write_text("kept")
    line = one_error_line(run("export", SHEET, "-o", folder))
    assert "a folder" in line
    assert (folder / "keep").read_text() == "kept"
    one_error_line(run("export", SHEET, "-o", f"{tmp_path}/"))


def test_an_empty_output_name_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "file name" in one_error_line(run("export", SHEET, "-o", ""))
    assert leftovers(tmp_path) == []


def test_a_too_long_output_name_is_refused(tmp_path):
    target = tmp_path / ("x" * 296 + ".tex")
    line = one_error_line(run("export", SHEET, "-o", target))
    assert "at most" in line
    assert leftovers(tmp_path) == []


def test_a_too_long_path_is_one_line(tmp_path):
    deep = tmp_path / "/".join(["d" * 200] * 25)
    line = one_error_line(run("export", SHEET, "-o", deep / "x.tex"))
    assert "File name too long" in line or "does not exist" in line


def test_a_missing_folder_is_refused(tmp_path):
    line = one_error_line(run("export", SHEET, "-o", tmp_path / "no" / "x.tex"))
    assert "does not exist" in line


@pytest.mark.parametrize("device", ["/dev/null", "/dev/full"])
def test_a_device_is_never_replaced(device):
    if not Path(device).exists():
        pytest.skip(f"no {device}")
    one_error_line(run("export", SHEET, "-o", device))
    assert stat.S_ISCHR(os.stat(device).st_mode)
    with pytest.raises(UsageError, match="a device"):
        check_target(device)
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_a_device_named_like_a_tex_file_is_never_replaced(tmp_path):
    target = tmp_path / "dev.tex"
    try:
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device needs root")
    line = one_error_line(run("export", SHEET, "-o", target))
    assert "a device" in line and stat.S_ISCHR(os.lstat(target).st_mode)


def test_a_named_pipe_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "f.tex"
    os.mkfifo(fifo)
    line = one_error_line(run("export", SHEET, "-o", fifo))
    assert "a named pipe" in line and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_symbolic_link_is_replaced_and_its_target_untouched(tmp_path):
    real = tmp_path / "other" / "real.tex"
    real.parent.mkdir()
    real.write_text("ORIGINAL")
    link = tmp_path / "link.tex"
    link.symlink_to(real)
    result = run("export", SHEET, "-o", link)
    assert result.exit_code == 0, result.output
    assert not link.is_symlink() and link.read_text(encoding="utf-8").startswith("\\documentclass")
    assert real.read_text() == "ORIGINAL"


def test_the_pdf_replaces_a_link_not_the_file_it_points_at(tmp_path):
    needs_pdflatex()
    real = tmp_path / "real.pdf"
    real.write_bytes(b"ORIGINAL")
    (tmp_path / "x.pdf").symlink_to(real)
    result = run("export", SHEET, "-o", tmp_path / "x.tex", "--pdf")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "x.pdf").is_symlink() and (tmp_path / "x.pdf").read_bytes().startswith(b"%PDF")
    assert real.read_bytes() == b"ORIGINAL"


def test_the_problem_file_is_never_the_output(tmp_path):
    problem = tmp_path / "p.tex"
    shutil.copy(SHEET, problem)
    original = problem.read_bytes()
    assert "problem file" in one_error_line(run("export", problem, "-o", problem))
    os.link(problem, tmp_path / "hard.tex")
    assert "problem file" in one_error_line(run("export", problem, "-o", tmp_path / "hard.tex"))
    (tmp_path / "soft.tex").symlink_to(problem)
    assert "problem file" in one_error_line(run("export", problem, "-o", tmp_path / "soft.tex"))
    assert problem.read_bytes() == original
    (tmp_path / "q.yaml").write_bytes(original)
    os.link(tmp_path / "q.yaml", tmp_path / "q.pdf")
    assert "problem file" in one_error_line(run("export", tmp_path / "q.yaml", "-o", tmp_path / "q.tex", "--pdf"))
    assert (tmp_path / "q.yaml").read_bytes() == original and not (tmp_path / "q.tex").exists()


@pytest.mark.parametrize("name, hint", [("x.txt", ".tex"), ("x", ".pdf"), ("problem.yaml", ".md")])
def test_an_output_of_no_known_extension_is_refused(tmp_path, name, hint):
    target = tmp_path / name
    if name == "problem.yaml":
        shutil.copy(SHEET, target)
    before = target.read_bytes() if target.exists() else None
    for extra in ([], ["--pdf"]):
        line = one_error_line(run("export", SHEET, "-o", target, *extra))
        assert hint in line, line
    assert (target.read_bytes() if target.exists() else None) == before
    assert leftovers(tmp_path, {name} if before is not None else ()) == []


def test_fragment_with_pdf_is_refused_before_anything_is_written(tmp_path):
    assert "--fragment" in one_error_line(run("export", SHEET, "-o", tmp_path / "x.tex", "--fragment", "--pdf"))
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        result = run("export", SHEET, "-o", tmp_path / "x.tex", *(["--pdf"] if shutil.which("pdflatex") else []))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(tmp_path / "x.tex").st_mode) == mode
    if shutil.which("pdflatex"):
        assert stat.S_IMODE(os.stat(tmp_path / "x.pdf").st_mode) == mode


def test_a_folder_without_write_permission_is_one_line(tmp_path, monkeypatch):
    """EACCES (simulated: as root the permission bits do not apply)."""
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(export_module.tempfile, "mkstemp", refuse)
    line = one_error_line(run("export", SHEET, "-o", tmp_path / "x.tex"))
    assert "Permission denied" in line and str(tmp_path / "x.tex") in line
    assert leftovers(tmp_path) == []


def test_a_full_disk_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    """ENOSPC in the middle of writing (simulated): the old file stays, no temporary file is left."""
    target = tmp_path / "x.tex"
    target.write_text("OLD")

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module.os, "fsync", full)
    line = one_error_line(run("export", SHEET, "-o", target))
    assert "No space left on device" in line
    assert target.read_text() == "OLD" and leftovers(tmp_path, {"x.tex"}) == []


def test_a_really_full_disk(tmp_path):
    """A real ENOSPC: a 64 KiB tmpfs, mounted in a private mount namespace, too small for the PDF."""
    needs_pdflatex()
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    out = tmp_path / "small"
    out.mkdir()
    script = (f"mount -t tmpfs -o size=64k tmpfs {out} && printf OLD > {out}/x.pdf && "
              f"{sys.executable} -m backprop_tutor export {SHEET} -o {out}/x.tex --pdf; code=$?; "
              f"echo; echo CODE=$code; ls -A {out}; cat {out}/x.pdf")
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("no private mount namespaces here")
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=180)
    if "CODE=" not in done.stdout:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    assert "CODE=2" in done.stdout, (done.stdout, done.stderr)
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "No space left on device" in errors[0], done.stderr
    listing = done.stdout.split("CODE=2", 1)[1].split()
    assert sorted(listing[:2]) == ["x.pdf", "x.tex"] and listing[2] == "OLD", done.stdout


def test_write_atomically_leaves_no_temporary_file_on_interrupt(tmp_path, monkeypatch):
    target = tmp_path / "x.tex"
    target.write_text("OLD")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(export_module.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, "NEW")
    assert target.read_text() == "OLD" and leftovers(tmp_path, {"x.tex"}) == []


def test_write_atomically_refuses_what_is_not_a_file(tmp_path):
    with pytest.raises(UsageError):
        write_atomically(tmp_path, "x")
    with pytest.raises(OutputError):
        write_atomically(tmp_path / "missing" / "x.tex", "x")


def test_a_full_temporary_folder_is_one_line(tmp_path, monkeypatch):
    needs_pdflatex()

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module.tempfile, "mkdtemp", full)
    line = one_error_line(run("export", SHEET, "-o", tmp_path / "x.tex", "--pdf"))
    assert "temporary folder" in line and "No space left on device" in line
    assert leftovers(tmp_path, {"x.tex"}) == []


def test_a_pdflatex_that_cannot_be_run_is_an_external_error(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "pdflatex"
    fake.parent.mkdir()
    fake.write_text("not a program")
    fake.chmod(0o644)  # found by nothing but this test's which(); running it fails
    monkeypatch.setattr(export_module.shutil, "which", lambda name: str(fake))
    line = one_error_line(run("export", SHEET, "-o", tmp_path / "out.tex", "--pdf"), code=3)
    assert "cannot run" in line and str(tmp_path / "out.tex") in line
    assert leftovers(tmp_path, {"bin", "out.tex"}) == []


def test_escaped_text_keeps_dashes_and_quotes_as_typed():
    """TeX would join -- into an en dash and `` into a quote; text from a file is shown as typed."""
    out = escape_text("tutor derive --wrt w13 ``x'' a---b")
    assert "--" not in out and "``" not in out
    assert out.replace("-{}", "-").replace("\\textasciigrave{}", "`") == "tutor derive --wrt w13 ``x'' a---b"


def test_a_relative_output_in_a_subfolder_compiles(tmp_path, monkeypatch):
    """-o sub/x.tex --pdf from the folder above: LaTeX is given absolute paths, so the folder counts once."""
    needs_pdflatex()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    result = run("export", ROOT / "problems" / "ws24_sheet4_ex1.yaml", "-o", "sub/x.tex", "--pdf")
    assert result.exit_code == 0, (result.output, result.exception)
    assert (tmp_path / "sub" / "x.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["x.pdf", "x.tex"]
