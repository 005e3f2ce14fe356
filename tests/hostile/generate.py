"""The hostile corpus as cases: the `# expect:` line of every file here, and the cases built in code.

A corpus file starts with one line saying what the program must do with it:

    # expect: 2 key=latex.w command=export --pdf

`expect` is the exit status (`0|2`: either is right, as long as the run is clean), then optional
`key=` (the key the error line must name), `literal=` (text the PDF must show), `json.PATH=VALUE`
(a value `solve --json` must print, VALUE in JSON), `stdout_has=` / `stdout_lacks=`, and last
`command=` (the rest of the line: `export`, `export --pdf`, `derive --wrt w`).  Without a command
a file to refuse runs as `solve`, a valid one as `solve` and `solve --json`, one that may be
either as `solve --json`.

Cases that are large, need a device, a FIFO, a folder with a latexmkrc or a particular command line
are built below by `generated_cases()`, with the same fields.  In file texts and arguments
`@SECRET@` is a file whose contents must never come out, `@MARKER@` a file that must never appear;
in arguments `{file}` is the problem file, `{dir}` the case's folder and `{out}` its out.tex.
"""
from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
PROBLEM_NAME = "problem.yaml"


@dataclass(frozen=True)
class Run:
    """One command line run on a case: the arguments after `python`, and how it is run."""

    args: tuple[str, ...]
    stdout: str = "capture"        # "capture" or "full" (/dev/full)
    prefix: tuple[str, ...] = ()   # a command that runs python: a shell closing stdout, a mount namespace
    umask: int | None = None
    env: tuple[tuple[str, str], ...] = ()  # extra variables; "{dir}" is replaced


@dataclass(frozen=True)
class Case:
    """A hostile input and what the program must do with it."""

    id: str
    expect: frozenset[int]
    text: bytes | None = None           # the problem file, written as `name` into the case folder
    name: str = PROBLEM_NAME
    file: str | None = None             # FILE on the command line when it is not the written file
    runs: tuple[Run, ...] = ()
    key: str | None = None
    mentions: str | None = "<problem>"  # what the error line must name; "<problem>" = the file's name
    literal: str | None = None
    json: tuple[tuple[str, object], ...] = ()
    stdout_has: str | None = None
    stdout_lacks: str | None = None
    keep: tuple[str, ...] = ()          # files (relative) that must be byte for byte the same after
    setup: Callable[[Path], None] | None = field(default=None, compare=False)
    unless: Callable[[], str | None] | None = field(default=None, compare=False)  # a reason to skip
    check: Callable[[Path, list], None] | None = field(default=None, compare=False)


def cli(*args: str) -> tuple[str, ...]:
    """The arguments that run the program itself."""
    return ("-m", "backprop_tutor", *args)


def default_runs(expect: frozenset[int]) -> tuple[Run, ...]:
    """solve for a file to refuse, solve --json for one that may be valid, both for a valid one."""
    solve, as_json = Run(cli("solve", "{file}")), Run(cli("solve", "{file}", "--json"))
    if expect == frozenset({0}):
        return (solve, as_json)
    return (as_json,) if 0 in expect else (solve,)


def command_runs(command: str, expect: frozenset[int]) -> tuple[Run, ...]:
    """The runs of a file's `command=`: export gets `-o {out}`, the others the file after the verb."""
    if not command:
        return default_runs(expect)
    verb, *rest = command.split()
    if verb == "export" and "-o" not in rest:
        rest = ["-o", "{out}", *rest]
    return (Run(cli(verb, "{file}", *rest)),)


def parse_header(line: str) -> dict:
    """`# expect: 2 key=K command=export --pdf` → its fields."""
    if not line.startswith("# expect:"):
        raise ValueError(f"the first line must be '# expect: ...', not {line!r}")
    rest = line[len("# expect:"):].strip()
    command = ""
    if "command=" in rest:
        rest, command = rest.split("command=", 1)
    words = rest.split()
    out = {"expect": frozenset(int(c) for c in words[0].split("|")), "command": command.strip(), "json": []}
    for word in words[1:]:
        name, _, value = word.partition("=")
        if name.startswith("json."):
            import json
            out["json"].append((name[5:], json.loads(value)))
        elif name in ("key", "literal", "stdout_has", "stdout_lacks"):
            out[name] = value
        else:
            raise ValueError(f"unknown field {name!r} in {line!r}")
    return out


def corpus_cases(folder: Path = HERE) -> list[Case]:
    """Every NAME.yaml of the folder as a case named NAME."""
    cases = []
    for path in sorted(folder.glob("*.yaml")):
        data = path.read_bytes()
        head = parse_header(data.split(b"\n", 1)[0].decode("utf-8").lstrip("\ufeff"))
        cases.append(Case(
            id=path.stem, expect=head["expect"], text=data, name=path.name,
            runs=command_runs(head["command"], head["expect"]), key=head.get("key"),
            literal=head.get("literal"), json=tuple(head["json"]), stdout_has=head.get("stdout_has"),
            stdout_lacks=head.get("stdout_lacks")))
    return cases


# -- building blocks for the generated cases -----------------------------------------------------

BASE = """inputs: {x: 3}
parameters: {w: 2}
targets: {t: 5}
loss: half_sse(w * x, t)
learning_rate: 0.1
"""
BASE_JSON = (("loss", 0.5), ("gradients.w", 3), ("updated.w", 1.7))
MATRIX = """inputs: {x: [1, 2]}
parameters:
  W: [[0.5, -1], [2, 0.25]]
  b: [0.1, 0.2]
targets: {t: [1, 0]}
forward:
  z: W @ x + b
  y: relu(z)
loss: half_sse(y, t)
learning_rate: 0.1
"""
EXPORT = cli("export", "{file}", "-o", "{out}")
EXPORT_PDF = EXPORT + ("--pdf",)
ZERO, TWO, EITHER, EXTERNAL = frozenset({0}), frozenset({2}), frozenset({0, 2}), frozenset({3})


def text_case(id, expect, text, **kw) -> Case:
    """A case whose problem file is the given text, run as a corpus file would be."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return Case(id=id, expect=expect, text=data, runs=kw.pop("runs", None) or default_runs(expect), **kw)


def line_of(n: int, item: str, sep: str = ", ") -> str:
    return sep.join([item] * n)


def write(path: Path, text: str | bytes, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    if mode is not None:
        path.chmod(mode)


def mknod(path: Path, minor: int) -> None:
    """A character device of the memory driver in the case folder: 3 is null, 7 is full."""
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))


def still_char_device(name: str) -> Callable[[Path, list], None]:
    def check(folder: Path, results) -> None:
        mode = os.lstat(folder / name).st_mode
        assert stat.S_ISCHR(mode), f"{name} is no longer a character device"
    return check


def mode_is(expected: dict[str, int]) -> Callable[[Path, list], None]:
    def check(folder: Path, results) -> None:
        if results[-1].code != 0:
            return
        for name, want in expected.items():
            got = stat.S_IMODE(os.stat(folder / name).st_mode)
            assert got == want, f"{name} has mode {got:04o}, the umask asks for {want:04o}"
    return check


def stale_said(folder: Path, results) -> None:
    """After a failed compile the old PDF is gone, or the error says the PDF there is the old one."""
    import re
    if (folder / "out.pdf").exists():
        err = results[-1].stderr.replace(str(folder), "FOLDER")
        assert re.search(r"\b(stale|old|older|previous|out of date|not updated)\b", err, re.I), \
            f"a failed compile left the earlier out.pdf without saying so: {err!r}"


def delta_not_confused(folder: Path, results) -> None:
    """A parameter called delta_y must not be written as the delta of y is."""
    import re
    result = results[0]
    if result.code != 0:
        return
    lines = result.stdout.splitlines()
    given = {m.group(1) for l in lines if (m := re.match(r"\s*(\S+) = 2\s*$", l))}
    deltas = {l.split("=")[0].strip() for l in lines if "= ∂L/∂y" in l}
    assert given and deltas, "the output shows neither the parameter nor the delta of y"
    assert not given & deltas, f"the parameter delta_y and the delta of y are both shown as {given & deltas}"


def latexmkrc(name: str, text: str, where: str = ".") -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        write(folder / where / name, text.replace("@MARKER@", str(folder / "MARKER")))
    return setup


def planted_package(folder: Path) -> None:
    """A booktabs.sty beside the output that reads the secret into the document, then the real one."""
    real = subprocess.run(["kpsewhich", "booktabs.sty"], capture_output=True, text=True).stdout.strip()
    assert real, "kpsewhich cannot find booktabs.sty (is TeX installed?)"
    write(folder / "booktabs.sty",
          f"\\immediate\\openin15={folder / 'secret.txt'} \\read15 to\\hostileline \\closein15\n"
          "\\AtBeginDocument{\\texttt{\\detokenize\\expandafter{\\hostileline}}}\n"
          f"\\input{{{real}}}\n")


def evil_tex(folder: Path) -> None:
    """A .tex in the working folder that latexmk would compile, with shell escape, if given no file."""
    write(folder / "evil.tex", "\\documentclass{article}\\begin{document}"
          f"\\immediate\\write18{{touch {folder / 'MARKER'}}}hi\\end{{document}}\n")


def failing_latex(folder: Path) -> None:
    """latexmk and pdflatex that always fail, first in PATH; an out.pdf from an earlier run."""
    for tool in ("latexmk", "pdflatex"):
        write(folder / "bin" / tool, "#!/bin/sh\necho '! Emergency stop.'\nexit 1\n", 0o755)
    write(folder / "out.pdf", b"%PDF-1.4\n% the PDF of an earlier run\n")


def own_mount(options: str) -> tuple[str, ...]:
    """Run python with {dir}/mnt a fresh tmpfs (mounted with the options; a full one holds a file
    `fill`), and list what is in it afterwards into {dir}.listing, beside the case's folder."""
    fill = 'head -c 8192 /dev/zero > "$0/mnt/fill" 2>/dev/null; ' if options == "size=8k" else ""
    script = (f'mount -t tmpfs -o {options} hostile "$0/mnt" || exit 99; {fill}'
              '"$@"; code=$?; ls -A "$0/mnt" > "$0.listing"; exit $code')
    return ("unshare", "--mount", "/bin/sh", "-c", script, "{dir}")


def own_dev() -> tuple[str, ...]:
    """Run python with /dev a fresh tmpfs holding its own null, full, zero and urandom (the machine's
    stay untouched), and write the kinds of /dev/null and /dev/full afterwards into {dir}.listing."""
    script = ('mount -t tmpfs hostile /dev || exit 99; '
              'for d in null:3 full:7 zero:5 urandom:9; do mknod -m 666 "/dev/${d%:*}" c 1 "${d#*:}"; done; '
              '"$@"; code=$?; stat -c "%n %F" /dev/null /dev/full > "$0.listing"; exit $code')
    return ("unshare", "--mount", "/bin/sh", "-c", script, "{dir}")


def devices_intact(folder: Path, results) -> None:
    listing = folder.with_name(folder.name + ".listing").read_text().splitlines()
    assert listing == ["/dev/null character special file", "/dev/full character special file"], \
        f"the devices are not what they were: {listing}"


def no_mount_namespace() -> str | None:
    """Why a private mount namespace cannot be had here (None when it can)."""
    try:
        done = subprocess.run(["unshare", "--mount", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"no unshare: {e}"
    return None if done.returncode == 0 else f"unshare --mount fails: {done.stderr.decode(errors='replace')}"


def only_listed(*names: str) -> Callable[[Path, list], None]:
    def check(folder: Path, results) -> None:
        listing = folder.with_name(folder.name + ".listing").read_text().split()
        assert sorted(listing) == sorted(names), f"the folder holds {listing}, expected only {list(names)}"
    return check


def api(id: str, call: str, expect=TWO) -> Case:
    """The Python API called with something it cannot take: it must raise a TutorError."""
    script = (
        "import pathlib, sys\n"
        "import backprop_tutor as bt\n"
        "try:\n"
        f"    {call}\n"
        "except bt.TutorError as e:\n"
        "    print('error: ' + str(e).replace('\\n', '\\\\n'), file=sys.stderr)\n"
        "    sys.exit(2)\n"
        "except Exception as e:\n"
        "    print(f'error: {type(e).__name__} is not a TutorError', file=sys.stderr)\n"
        "    sys.exit(70)\n")
    return Case(id=id, expect=expect, text=BASE.encode(), runs=(Run(("-c", script)),), mentions=None)


def alias_bomb() -> str:
    levels = ["[" + line_of(9, '"lol"') + "]"]
    names = "abcdefghi"
    out = ["notes:"]
    out.append(f"  - &a {levels[0]}")
    for prev, name in zip(names, names[1:]):
        out.append(f"  - &{name} [" + line_of(9, f"*{prev}") + "]")
    return BASE + "\n".join(out) + "\n"


def huge_file(folder: Path) -> None:
    with open(folder / PROBLEM_NAME, "w", encoding="ascii") as f:
        f.write(BASE + "notes: >\n")
        line = "  " + "lorem ipsum " * 8 + "\n"
        for _ in range(60 * 1024 * 1024 // len(line)):
            f.write(line)


def fifo(folder: Path) -> None:
    os.mkfifo(folder / "pipe.yaml")


def generated_cases() -> list[Case]:
    """The cases too large, or too particular, for a file of the corpus."""
    cases: list[Case] = []
    add = cases.append

    # -- hangs and tracebacks from sheer size
    add(text_case("yaml_alias_bomb_9x9", TWO, alias_bomb()))
    add(text_case("yaml_deep_nesting_lists", TWO, BASE + "notes: " + "[" * 10000 + "]" * 10000 + "\n"))
    add(text_case("yaml_deep_nesting_mappings", TWO, BASE + "notes: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n"))
    add(text_case("expr_nested_parentheses_200", EITHER,
                  BASE.replace("half_sse(w * x, t)", "half_sse(" + "(" * 200 + "w * x" + ")" * 200 + ", t)"),
                  json=BASE_JSON))
    add(text_case("expr_nested_parentheses_5000", EITHER,
                  BASE.replace("half_sse(w * x, t)", "half_sse(" + "(" * 5000 + "w * x" + ")" * 5000 + ", t)"),
                  json=BASE_JSON))
    add(text_case("expr_nested_calls_500", EITHER,
                  BASE.replace("half_sse(w * x, t)", "half_sse(" + "relu(" * 500 + "w * x" + ")" * 500 + ", t)"),
                  json=BASE_JSON))
    add(text_case("expr_nested_minus_3000", EITHER,
                  BASE.replace("half_sse(w * x, t)", "half_sse(" + "-" * 3000 + "w * x, t)"), json=BASE_JSON))
    add(text_case("expr_sum_500_terms", EITHER,
                  "inputs: {x: 1}\nparameters: {w: 0.001}\ntargets: {t: 0}\nforward:\n  y: "
                  + line_of(500, "w * x", " + ") + "\nloss: half_sse(y, t)\n",
                  json=(("loss", 0.125), ("gradients.w", 250))))
    add(text_case("expr_sum_5000_terms", EITHER,
                  "inputs: {x: 1}\nparameters: {w: 0.0001}\ntargets: {t: 0}\nforward:\n  y: "
                  + line_of(5000, "w * x", " + ") + "\nloss: half_sse(y, t)\n",
                  json=(("loss", 0.125), ("gradients.w", 2500))))
    add(text_case("data_500_samples", EITHER,
                  "inputs: {x: 0}\nparameters: {w: 2}\ntargets: {t: 0}\nforward:\n  y: w * x\nloss: half_sse(y, t)\n"
                  "data:\n" + "".join(f"  - {{x: {k}, t: {2 * k + 1}}}\n" for k in range(500)),
                  json=(("loss", 0.5), ("gradients.w", -249.5))))
    digits = "9" * 5000
    add(text_case("num_5000_digits", TWO, BASE.replace("{w: 2}", f"{{w: 2, b: [{digits}]}}"), key="parameters.b"))
    add(text_case("num_5000_digits_quoted", TWO, BASE.replace("{w: 2}", f'{{w: 2, b: ["{digits}"]}}'),
                  key="parameters.b"))
    add(text_case("num_5000_digits_in_expression", TWO,
                  BASE.replace("half_sse(w * x, t)", f"half_sse(w * x + {digits}, t)"), key="loss"))
    n = 200
    row = "[" + line_of(n, "0.01") + "]"
    add(text_case("matrix_200x200", EITHER,
                  f"inputs: {{x: [{line_of(n, '1')}]}}\nparameters:\n  W: [{line_of(n, row)}]\n"
                  f"targets: {{t: [{line_of(n, '0')}]}}\nforward:\n  y: W @ x\nloss: sse(y, t)\nlearning_rate: 0.1\n",
                  json=(("loss", 800),)))
    add(text_case("matrix_200x200_sigmoid", EITHER,
                  f"inputs: {{x: [{line_of(n, '1')}]}}\nparameters:\n  W: [{line_of(n, row)}]\n"
                  f"targets: {{t: [{line_of(n, '0')}]}}\nforward:\n  y: sigmoid(W @ x)\nloss: sse(y, t)\n"))
    add(text_case("vector_100000", EITHER,
                  f"inputs: {{x: [{line_of(100000, '1')}]}}\nparameters: {{w: 1}}\n"
                  f"targets: {{t: [{line_of(100000, '0')}]}}\nloss: sse(w * x, t)\n",
                  json=(("loss", 100000), ("gradients.w", 200000))))
    add(text_case("huge_single_line_notes", EITHER, BASE + "notes: " + "a" * (5 * 1024 * 1024) + "\n"))
    add(Case(id="huge_file_60mb", expect=EITHER, runs=default_runs(EITHER), setup=huge_file))
    long_name = "w" * 10000
    add(text_case("name_10000_characters", EITHER,
                  BASE.replace("{w: 2}", f"{{{long_name}: 2}}").replace("w * x", f"{long_name} * x"),
                  json=(("loss", 0.5),)))
    add(text_case("forward_chain_2000", EITHER,
                  "inputs: {x: 3}\nparameters: {w: 2}\ntargets: {t: 5}\nforward:\n  h0: w * x\n"
                  + "".join(f"  h{k}: h{k - 1} + 0\n" for k in range(1, 2000)) + "loss: half_sse(h1999, t)\n",
                  json=BASE_JSON[:2]))
    add(text_case("parameters_5000", EITHER,
                  "inputs: {x: 3}\nparameters:\n  w: 2\n" + "".join(f"  p{k}: 0\n" for k in range(5000))
                  + "targets: {t: 5}\nforward:\n  y: w * x + " + " + ".join(f"p{k}" for k in range(5000))
                  + "\nloss: half_sse(y, t)\n", json=BASE_JSON[:2]))
    add(text_case("network_300_layers", EITHER,
                  "inputs: {x: [3]}\ntargets: {t: 5}\nnetwork:\n  layout: Wx\n  input: x\n  layers:\n"
                  + "    - {weights: [[1]], activation: linear}\n" * 299
                  + "    - {weights: [[2]], activation: linear}\nloss: half_sse(y, t)\n", json=(("loss", 0.5),)))

    # -- FILE that is not a file
    for dev in ("zero", "urandom"):
        add(Case(id=f"file_dev_{dev}", expect=TWO, file=f"/dev/{dev}", runs=default_runs(TWO), mentions=f"/dev/{dev}"))
    add(Case(id="file_fifo", expect=TWO, file="pipe.yaml", runs=default_runs(TWO), setup=fifo, mentions="pipe.yaml"))
    add(Case(id="file_directory", expect=TWO, file="folder.yaml", runs=default_runs(TWO),
             setup=lambda d: (d / "folder.yaml").mkdir(), mentions="folder.yaml"))
    add(Case(id="file_missing", expect=TWO, file="missing.yaml", runs=default_runs(TWO), mentions="missing.yaml"))
    add(Case(id="file_proc_environ", expect=TWO, file="/proc/self/environ", runs=default_runs(TWO),
             mentions="environ"))

    # -- encodings and line ends
    add(text_case("encoding_bom", ZERO, b"\xef\xbb\xbf" + BASE.encode(), json=BASE_JSON))
    add(text_case("encoding_crlf", ZERO, BASE.replace("\n", "\r\n"), json=BASE_JSON))
    add(text_case("encoding_cr_only", ZERO, BASE.replace("\n", "\r"), json=BASE_JSON))
    add(text_case("encoding_bom_crlf", ZERO, b"\xef\xbb\xbf" + BASE.replace("\n", "\r\n").encode(), json=BASE_JSON))
    add(text_case("encoding_nul_byte", TWO, BASE.replace("half_sse", "half_\0sse")))
    add(text_case("encoding_nul_in_title", TWO, "title: a\0b\n" + BASE))
    add(text_case("encoding_invalid_utf8", TWO, b"title: \xff\xfe\xc3\x28\n" + BASE.encode()))
    add(text_case("encoding_latin1_title", TWO, "title: Übung für Änderungen\n".encode("latin-1") + BASE.encode()))
    add(text_case("encoding_utf16", EITHER, BASE.encode("utf-16"), json=BASE_JSON))
    add(text_case("encoding_overlong_utf8", TWO, b"title: \xc0\xaf\n" + BASE.encode()))
    add(text_case("encoding_lone_surrogate", TWO, b"title: \xed\xa0\x80\n" + BASE.encode()))

    # -- output paths that cannot be written
    b = BASE.encode()
    for id, out, mentions, setup in [
        ("out_directory", "sub", "sub", lambda d: (d / "sub").mkdir()),
        ("out_empty_name", "", None, None),
        ("out_300_characters", "a" * 300 + ".tex", None, None),
        ("out_proc", "/proc/hostile.tex", "/proc", None),
        ("out_proc_self", "/proc/self/hostile.tex", "/proc", None),
        ("out_sys", "/sys/hostile.tex", "/sys", None),
        ("out_missing_folder", "nope/out.tex", "nope", None),
        ("out_wrong_extension", "out.txt", "out.txt", None),
        ("out_no_extension", "out", "out", None),
    ]:
        add(Case(id=id, expect=TWO, text=b, runs=(Run(cli("export", "{file}", "-o", out)),), mentions=mentions,
                 setup=setup))
    add(Case(id="out_trailing_slash", expect=EITHER, text=b, runs=(Run(cli("export", "{file}", "-o", "out.tex/")),),
             mentions="out.tex"))
    add(Case(id="out_char_device_null", expect=EITHER, text=b, runs=(Run(cli("export", "{file}", "-o", "null.tex")),),
             mentions="null.tex", setup=lambda d: mknod(d / "null.tex", 3), check=still_char_device("null.tex")))
    add(Case(id="out_char_device_full", expect=TWO, text=b, runs=(Run(cli("export", "{file}", "-o", "full.tex")),),
             mentions="full.tex", setup=lambda d: mknod(d / "full.tex", 7), check=still_char_device("full.tex")))
    add(Case(id="out_char_device_full_pdf", expect=TWO, text=b,
             runs=(Run(cli("export", "{file}", "-o", "full.tex", "--pdf")),), mentions="full.tex",
             setup=lambda d: mknod(d / "full.tex", 7), check=still_char_device("full.tex")))
    add(Case(id="out_char_device_pdf_target", expect=TWO, text=b,
             runs=(Run(cli("export", "{file}", "-o", "out.tex", "--pdf")),), mentions="out.pdf",
             setup=lambda d: mknod(d / "out.pdf", 3), check=still_char_device("out.pdf")))

    # -- data loss: the problem file, other files, devices, links
    precious = "precious.txt"

    def with_precious(d: Path) -> None:
        write(d / precious, "the only copy of something\n")

    add(Case(id="out_pdf_extension_with_pdf", expect=TWO, text=b,
             runs=(Run(cli("export", "{file}", "-o", "x.pdf", "--pdf")),), mentions="x.pdf",
             setup=lambda d: write(d / "x.pdf", b"%PDF-1.4\n% an earlier document\n"), keep=("x.pdf",)))
    for id, out in [("out_problem_itself", PROBLEM_NAME), ("out_problem_itself_dotslash", "./" + PROBLEM_NAME),
                    ("out_problem_itself_absolute", "{dir}/" + PROBLEM_NAME)]:
        add(Case(id=id, expect=TWO, text=b, runs=(Run(cli("export", "{file}", "-o", out)),)))
    add(Case(id="out_problem_named_tex", expect=TWO, text=b, name="problem.tex",
             runs=(Run(cli("export", "{file}", "-o", "problem.tex")),)))
    add(Case(id="out_problem_named_tex_pdf", expect=TWO, text=b, name="problem.tex",
             runs=(Run(cli("export", "{file}", "-o", "problem.tex", "--pdf")),)))
    add(Case(id="out_symlink_to_problem", expect=EITHER, text=b, runs=(Run(cli("export", "{file}", "-o", "link.tex")),),
             setup=lambda d: os.symlink(PROBLEM_NAME, d / "link.tex"), mentions="link.tex"))
    add(Case(id="out_hardlink_to_problem", expect=EITHER, text=b,
             runs=(Run(cli("export", "{file}", "-o", "hard.tex")),),
             setup=lambda d: os.link(d / PROBLEM_NAME, d / "hard.tex"), mentions="hard.tex"))
    add(Case(id="out_symlink_to_other_file", expect=EITHER, text=b,
             runs=(Run(cli("export", "{file}", "-o", "link.tex")),),
             setup=lambda d: (with_precious(d), os.symlink(precious, d / "link.tex")), keep=(precious,),
             mentions="link.tex"))
    add(Case(id="out_pdf_symlink_to_other_file", expect=EITHER, text=b, runs=(Run(EXPORT_PDF),),
             setup=lambda d: (with_precious(d), os.symlink(precious, d / "out.pdf")), keep=(precious,),
             mentions="out."))
    add(Case(id="out_failed_compile_beside_earlier_pdf", expect=EXTERNAL, text=b,
             runs=(Run(EXPORT_PDF, env=(("PATH", "{dir}/bin:" + os.environ.get("PATH", "")),)),),
             setup=failing_latex, mentions=None, check=stale_said))
    for id, umask, expected, args in [
        ("umask_022_tex", 0o022, {"out.tex": 0o644}, EXPORT),
        ("umask_027_tex", 0o027, {"out.tex": 0o640}, EXPORT),
        ("umask_077_tex", 0o077, {"out.tex": 0o600}, EXPORT),
        ("umask_022_pdf", 0o022, {"out.tex": 0o644, "out.pdf": 0o644}, EXPORT_PDF),
    ]:
        add(Case(id=id, expect=ZERO, text=b, runs=(Run(args, umask=umask),), check=mode_is(expected)))

    # -- standard output that cannot be written
    for id, args in [("stdout_full_solve", cli("solve", "{file}")),
                     ("stdout_full_json", cli("solve", "{file}", "--json")),
                     ("stdout_full_derive", cli("derive", "{file}", "--wrt", "w")),
                     ("stdout_full_derive_latex", cli("derive", "{file}", "--all", "--latex"))]:
        add(Case(id=id, expect=TWO, text=b, runs=(Run(args, stdout="full"),), mentions=None))
    add(Case(id="stdout_closed_solve", expect=TWO, text=b, mentions=None,
             runs=(Run(cli("solve", "{file}"), prefix=("/bin/sh", "-c", 'exec "$@" >&-', "sh")),)))

    # -- /dev/null and /dev/full themselves, in a private mount namespace with a /dev of its own
    for id, expect, args in [
        ("out_dev_null", EITHER, cli("export", "{file}", "-o", "/dev/null")),
        ("out_dev_null_pdf", TWO, cli("export", "{file}", "-o", "/dev/null", "--pdf")),
        ("out_dev_full", TWO, cli("export", "{file}", "-o", "/dev/full")),
    ]:
        add(Case(id=id, expect=expect, text=b, mentions="/dev/", runs=(Run(args, prefix=own_dev()),),
                 check=devices_intact, unless=no_mount_namespace))

    # -- a full disk and a read-only folder, each a file system of its own in a private mount namespace
    for id, mount, args, check, mentions in [
        ("out_full_disk", "size=8k", cli("export", "{file}", "-o", "{dir}/mnt/out.tex"), only_listed("fill"),
         "out.tex"),
        ("out_full_disk_pdf", "size=8k", cli("export", "{file}", "-o", "{dir}/mnt/out.tex", "--pdf"),
         only_listed("fill"), "out.tex"),
        # the .tex fits and is kept whole; the PDF that does not fit is what the error names
        ("out_nearly_full_disk_pdf", "size=16k", cli("export", "{file}", "-o", "{dir}/mnt/out.tex", "--pdf"),
         only_listed("out.tex"), "out.pdf"),
        ("out_read_only_folder", "ro", cli("export", "{file}", "-o", "{dir}/mnt/out.tex"), only_listed(), "out.tex"),
        ("out_read_only_folder_pdf", "ro", cli("export", "{file}", "-o", "{dir}/mnt/out.tex", "--pdf"),
         only_listed(), "out.tex"),
    ]:
        add(Case(id=id, expect=TWO, text=b, mentions=mentions, runs=(Run(args, prefix=own_mount(mount)),),
                 setup=lambda d: (d / "mnt").mkdir(), check=check, unless=no_mount_namespace))

    # -- code execution around the compile: run-control files, options and names on the command line
    system = 'system("touch @MARKER@");\n'
    add(Case(id="latexmkrc_system_in_output_folder", expect=ZERO, text=b, runs=(Run(EXPORT_PDF),),
             setup=latexmkrc("latexmkrc", system)))
    add(Case(id="dot_latexmkrc_system_in_output_folder", expect=ZERO, text=b, runs=(Run(EXPORT_PDF),),
             setup=latexmkrc(".latexmkrc", system)))
    add(Case(id="latexmkrc_system_subfolder_absolute", expect=ZERO, text=b,
             runs=(Run(cli("export", "{file}", "-o", "{dir}/sub/out.tex", "--pdf")),),
             setup=latexmkrc("latexmkrc", system, "sub")))
    add(Case(id="dot_latexmkrc_system_subfolder_relative", expect=ZERO, text=b,
             runs=(Run(cli("export", "{file}", "-o", "sub/out.tex", "--pdf")),),
             setup=latexmkrc(".latexmkrc", system, "sub")))
    add(Case(id="latexmkrc_system_in_working_folder", expect=ZERO, text=b,
             runs=(Run(cli("export", "{file}", "-o", "{dir}/sub/out.tex", "--pdf")),),
             setup=lambda d: ((d / "sub").mkdir(), latexmkrc("latexmkrc", system)(d))))
    add(Case(id="latexmkrc_pdflatex_command", expect=ZERO, text=b, runs=(Run(EXPORT_PDF),),
             setup=latexmkrc("latexmkrc", '$pdflatex = "touch @MARKER@; pdflatex %O %S";\n')))
    add(Case(id="latexmkrc_pdf_mode_command", expect=ZERO, text=b, runs=(Run(EXPORT_PDF),),
             setup=latexmkrc(".latexmkrc", '$pdf_mode = 1; $pdflatex = "sh -c \'touch @MARKER@\'; pdflatex %O %S";\n')))
    shell_escape = '$pdflatex = "pdflatex -shell-escape %O %S";\n'
    add(Case(id="latexmkrc_shell_escape_with_escaped_notes", expect=ZERO,
             text=("notes: '\\immediate\\write18{touch @MARKER@}'\n" + BASE).encode(), runs=(Run(EXPORT_PDF),),
             setup=latexmkrc("latexmkrc", shell_escape), literal="write18"))
    add(Case(id="latexmkrc_shell_escape_with_latex_map", expect=TWO,
             text=(BASE + "latex:\n  w: '\\immediate\\write18{touch @MARKER@}w'\n").encode(), runs=(Run(EXPORT_PDF),),
             setup=latexmkrc("latexmkrc", shell_escape), key="latex.w"))
    add(Case(id="planted_package_in_output_folder", expect=ZERO, text=b, runs=(Run(EXPORT_PDF),),
             setup=planted_package))
    add(Case(id="out_option_shell_escape", expect=TWO, text=b,
             runs=(Run(cli("export", "{file}", "-o", "-shell-escape", "--pdf")),), setup=evil_tex, mentions=None))
    add(Case(id="out_option_pdflatex", expect=TWO, text=b,
             runs=(Run(cli("export", "{file}", "-o", "-pdflatex=touch MARKER; pdflatex %O %S", "--pdf")),),
             mentions=None))
    add(Case(id="out_option_pdflatex_tex_suffix", expect=EITHER, text=b,
             runs=(Run(cli("export", "{file}", "-o", "-pdflatex=touch MARKER;true #.tex", "--pdf")),), mentions=None))
    add(Case(id="out_option_shell_escape_tex_suffix", expect=EITHER, text=b,
             runs=(Run(cli("export", "{file}", "-o", "-shell-escape.tex", "--pdf")),), setup=evil_tex, mentions=None))
    for id, out in [("out_name_dollar_paren", "$(touch MARKER).tex"), ("out_name_backticks", "`touch MARKER`.tex"),
                    ("out_name_double_quotes", 'a";touch MARKER;".tex'),
                    ("out_name_single_quotes", "a';touch MARKER;'.tex"),
                    ("out_name_newline", "a\ntouch MARKER\n.tex"), ("out_name_tex_input", "x\\input{secret.txt}.tex"),
                    ("out_name_percent", "a%b.tex")]:
        add(Case(id=id, expect=EITHER, text=b, runs=(Run(cli("export", "{file}", "-o", out, "--pdf")),), mentions=None))
    add(Case(id="out_name_spaces", expect=ZERO, text=b, runs=(Run(cli("export", "{file}", "-o", "a b.tex", "--pdf")),)))

    # -- names on the command line
    m = MATRIX.encode()
    for id, args, key, mentions in [
        ("wrt_python", ("--wrt", "__import__('os').system('touch MARKER')"), "--wrt", "<problem>"),
        ("wrt_empty", ("--wrt", ""), None, None),
        ("wrt_index_zero", ("--wrt", "W[0,1]"), "--wrt", "<problem>"),
        ("wrt_index_huge", ("--wrt", "W[99999999999999999999999999,1]"), "--wrt", "<problem>"),
        ("wrt_index_negative", ("--wrt", "W[-1,1]"), "--wrt", "<problem>"),
        ("wrt_latex_payload", ("--wrt", "\\input{@SECRET@}", "--latex"), "--wrt", "<problem>"),
        ("wrt_newline", ("--wrt", "W\n"), "--wrt", "<problem>"),
        ("of_attribute", ("--wrt", "W", "--of", "x.__class__"), "--of", "<problem>"),
    ]:
        add(Case(id=id, expect=TWO, text=m, runs=(Run(cli("derive", "{file}", *args)),), key=key, mentions=mentions))

    # -- the Python API used wrongly
    add(api("api_load_none", "bt.load(None)"))
    add(api("api_load_number", "bt.load(5)"))
    add(api("api_load_list", "bt.load([])"))
    add(api("api_load_bytes_text", "bt.load(b'loss: sse(w, t)')"))
    add(api("api_load_yaml_text", f"bt.load({BASE!r})"))
    add(api("api_load_nul_in_path", "bt.load('a\\x00b.yaml')"))
    add(api("api_load_directory", "bt.load('.')"))
    add(api("api_loads_none", "bt.loads(None)"))
    add(api("api_loads_number", "bt.loads(5)"))
    add(api("api_loads_path", f"bt.loads(pathlib.Path({PROBLEM_NAME!r}))"))
    add(api("api_loads_bytes", f"bt.loads({BASE.encode()!r})", EITHER))
    add(api("api_solve_none", "bt.solve(None)"))
    add(api("api_solve_yaml_text", f"bt.solve({BASE!r})"))
    add(api("api_solve_mapping", "bt.solve({'loss': 'sse(w, t)'})"))
    add(api("api_derive_none", "bt.derive(None, 'w')"))
    add(api("api_derive_wrt_none", f"bt.derive({PROBLEM_NAME!r}, None)"))
    add(api("api_derive_wrt_number", f"bt.derive({PROBLEM_NAME!r}, 5)"))

    # -- a parameter named like a delta
    add(text_case("name_delta_y", EITHER,
                  "inputs: {x: 3}\nparameters: {delta_y: 2}\ntargets: {t: 5}\nforward:\n  y: delta_y * x\n"
                  "loss: half_sse(y, t)\n",
                  runs=(Run(cli("solve", "{file}", "--no-color")),), check=delta_not_confused))

    # -- a web page: markup in a title, notes, a name's TeX or a function's notation stays text
    page = Run(cli("export", "{file}", "-o", "{dir}/out.html"))
    add(text_case("html_markup_in_title_and_notes", ZERO,
                  'title: "<script>alert(1)</script>"\nsource: "</title><iframe src=x>"\n'
                  'notes: "<img src=x onerror=alert(2)> and $<script> x$"\n' + MATRIX,
                  runs=(page,), check=markup_stays_text))
    add(text_case("html_markup_in_latex_names_and_activations", ZERO,
                  MATRIX + 'latex: {W: "<script>W</script>", b: "</mi><img/>"}\n'
                  'notation:\n  activations:\n    relu: "</text><script>"\n',
                  runs=(page,), check=markup_stays_text))
    # -- answers files for tutor check: sizes, bombs, non-numbers, wrong shapes; each one line, exit 2
    checked = Run(cli("check", "sheet12_p2", "{file}"))
    answers = {
        "answers_alias_bomb": alias_bomb().replace(BASE, "") + "L: 0.8\n",
        "answers_deep_nesting": "L: " + "[" * 5000 + "]" * 5000 + "\n",
        "answers_deep_mappings": "a: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
        "answers_10000_digits": "L: 0." + "8" * 10000 + "\n",
        "answers_10000_digit_fraction": "L: " + "8" * 10000 + "/3\n",
        "answers_exponent_huge": "L: 1e999999999\n",
        "answers_nan": "L: .nan\n",
        "answers_inf": "L: -.inf\n",
        "answers_text": "L: zero point eight\n",
        "answers_latex_payload": "L: \\input{/etc/passwd}\n",
        "answers_date": "L: 2024-02-05\n",
        "answers_wrong_shape": "s1: [[0.7, 0.2], [0.1, 0.3]]\n",
        "answers_vector_too_long": "s1: [" + line_of(5000, "0.1") + "]\n",
        "answers_many_keys": "".join(f"k{i}: 1\n" for i in range(5000)),
        "answers_long_name": "s" * 5000 + ": 1\n",
        "answers_not_a_mapping": "- L: 0.8\n",
        "answers_control_character_name": '"s1\\u0007": [0.7, 0.2]\n',
        "answers_index_huge": '"dL/dW2[99999999999999999999,1]": 0.2\n',
        "answers_empty": "",
    }
    for id, text in answers.items():
        add(text_case(id, TWO, text, runs=(checked,)))
    return cases


PAGE_ELEMENTS = frozenset("""html head meta title style body main h1 h2 h3 p div strong ul li table thead tbody tr
    th td figure code math mrow mi mn mo mtext mspace msub msup msubsup mfrac mover mstyle mtable mtr mtd mphantom
    msqrt mroot svg g path polygon polyline ellipse circle rect line text tspan""".split())


def markup_stays_text(folder: Path, results) -> None:
    """The page written, well-formed, of the printer's own elements only, with no attribute a file's
    text could have smuggled in; the markup in the file is there as text."""
    import xml.etree.ElementTree as ET
    page = (folder / "out.html").read_text(encoding="utf-8")
    root = ET.fromstring(page.removeprefix("<!DOCTYPE html>\n"))
    tags = {e.tag.rpartition("}")[2] for e in root.iter()}
    assert tags <= PAGE_ELEMENTS, f"the page holds {sorted(tags - PAGE_ELEMENTS)}"
    attributes = {k for e in root.iter() for k in e.attrib}
    assert not {k for k in attributes if k.lower().startswith("on") or k in ("src", "href")}, attributes
    assert "&lt;script&gt;" in page or "&lt;/text&gt;" in page
