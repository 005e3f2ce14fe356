"""Hostile and broken files through the command line: exit 2 (or 0), one line, fast, small, harmless.

Every case of tests/hostile (files and generated cases, see tests/hostile/generate.py) runs in its
own folder as a subprocess of `python -m backprop_tutor`, killed after 10 s; a case passes only
under 5 s of CPU time (its own work, whatever else the machine is doing) and 500 MB of peak memory
(its own too: see tests/hostile/measure.py). The cases run two at a time in the background from
the first test on, each test waiting for its own.
"""
from __future__ import annotations

import json
import math
from decimal import Decimal
import os
import re
import secrets
import signal
import stat
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hostile.generate import Case, Run, corpus_cases, generated_cases

ROOT = Path(__file__).resolve().parent.parent
CASES = corpus_cases() + generated_cases()
WORKERS = 2
KILL_AFTER = 10.0        # seconds: a hard stop for a run that hangs
CPU_LIMIT = 5.0          # seconds of CPU time: a run passes only when it works less than this
MEMORY_LIMIT_KB = 500 * 1024
ADDRESS_SPACE = 2 << 30  # bytes: keeps a runaway run from taking the machine's memory
MEASURE = Path(__file__).resolve().parent / "hostile" / "measure.py"
PASSWD = b"root:x:0:0:"


@dataclass
class Result:
    """What one run did."""

    args: tuple[str, ...]
    code: int
    wall: float
    cpu: float
    max_rss_kb: int
    stdout: str
    stderr: str
    timed_out: bool
    captured: bool
    new_files: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """What a whole case did: its runs and what was found in its folder afterwards."""

    folder: Path
    results: list[Result]
    leaks: list[str]
    markers: list[str]
    pdf_text: dict[str, str]
    problem_changed: bool
    kept_changed: list[str]


def test_the_corpus_is_large_enough_and_names_are_unique():
    assert len(CASES) >= 150
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_the_checks_see_a_secret_in_a_compressed_stream_and_a_header_is_read_strictly(tmp_path):
    token = "hostileSECRETselftest"
    (tmp_path / "secret.txt").write_text(token + "\n")
    stream = zlib.compress(f"BT ({token}) Tj ET".encode())
    (tmp_path / "leak.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <</Filter /FlateDecode>>\nstream\n" + stream
                                        + b"\nendstream\n")
    found = find_leaks(tmp_path, token, [], {})
    assert any("a stream of leak.pdf" in f for f in found), found
    from hostile.generate import parse_header
    head = parse_header("# expect: 0|2 key=a.b json.loss=0.5 command=export --pdf")
    assert head["expect"] == {0, 2} and head["key"] == "a.b" and head["json"] == [("loss", 0.5)]
    assert head["command"] == "export --pdf"
    with pytest.raises(ValueError):
        parse_header("# expect: 2 kye=latex.w")


def test_a_run_is_charged_its_own_peak_memory_and_cpu_time_not_this_processs(tmp_path):
    # Linux starts a program with the peak memory of the process that started it: late in a test session
    # this process holds hundreds of MB, and every case would be charged them
    ballast = bytearray(MEMORY_LIMIT_KB * 1024 + (100 << 20))
    ballast[::4096] = b"\1" * len(range(0, len(ballast), 4096))  # touched, so resident
    folder = tmp_path / "work"
    folder.mkdir()
    busy = "import time\nb = bytearray(300 << 20)\nb[::4096] = bytes(len(b) // 4096)\n" \
           "t = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    light = execute(Run(("-c", "pass")), Case(id="light", expect=frozenset({0})), folder, tmp_path / "light")
    heavy = execute(Run(("-c", busy)), Case(id="heavy", expect=frozenset({0})), folder, tmp_path / "heavy")
    assert len(ballast) > MEMORY_LIMIT_KB * 1024
    assert (light.code, heavy.code) == (0, 0), (light.stderr, heavy.stderr)
    assert light.max_rss_kb < 100 * 1024, light.max_rss_kb
    assert 300 * 1024 <= heavy.max_rss_kb < 400 * 1024, heavy.max_rss_kb
    assert light.cpu < 0.3 <= heavy.cpu, (light.cpu, heavy.cpu)


# -- running a case ------------------------------------------------------------------------------

def fill(text: str, case: Case, folder: Path) -> str:
    return (text.replace("{file}", case.file or case.name).replace("{dir}", str(folder))
            .replace("{out}", str(folder / "out.tex")).replace("@SECRET@", str(folder / "secret.txt"))
            .replace("@MARKER@", str(folder / "MARKER")))


def fill_bytes(data: bytes, folder: Path) -> bytes:
    secret = str(folder / "secret.txt")
    return (data.replace(b"@SECRET_CARET@", secret.replace("/", "^^2f").encode())
            .replace(b"@SECRET@", secret.encode()).replace(b"@MARKER@", str(folder / "MARKER").encode()))


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every regular file under the folder with its bytes (other kinds of file: their type)."""
    out = {}
    for path in folder.rglob("*"):
        mode = os.lstat(path).st_mode
        rel = str(path.relative_to(folder))
        if stat.S_ISREG(mode):
            try:
                out[rel] = path.read_bytes()
            except OSError:
                out[rel] = None
        elif not stat.S_ISDIR(mode):
            out[rel] = f"<{stat.S_IFMT(mode):o}>".encode()
    return out


def execute(run: Run, case: Case, folder: Path, capture: Path) -> Result:
    """One run in its own process group, killed after KILL_AFTER; wall time, CPU time and peak memory measured
    (by tests/hostile/measure.py, so that the peak is the run's own, not this process's)."""
    argv = [*(fill(a, case, folder) for a in run.prefix), sys.executable, *(fill(a, case, folder) for a in run.args)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")
    env.pop("PYTHONSTARTUP", None)
    for name, value in run.env:
        env[name] = fill(value, case, folder)
    out_path, err_path = capture.with_suffix(".stdout"), capture.with_suffix(".stderr")
    report = capture.with_suffix(".usage")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        sink = open("/dev/full", "wb") if run.stdout == "full" else out
        try:
            start = time.monotonic()
            proc = subprocess.Popen([sys.executable, "-I", "-S", str(MEASURE), str(report), str(ADDRESS_SPACE), *argv],
                                    cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=err,
                                    start_new_session=True, umask=-1 if run.umask is None else run.umask)
            timed_out = False
            while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
                if time.monotonic() - start > KILL_AFTER:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
                    break
                time.sleep(0.01)
            wall = time.monotonic() - start
            try:  # what the run left behind in its group (a TeX run), before its id can be reused
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        finally:
            if sink is not out:
                sink.close()
    stdout, stderr = out_path.read_text("utf-8", "replace"), err_path.read_text("utf-8", "replace")
    if timed_out:
        code, cpu, max_rss_kb = proc.returncode, wall, 0
    else:
        assert report.is_file(), f"{describe(tuple(argv))} could not be started: {stderr[-300:]!r}"
        fields = report.read_text().split()
        code, cpu, max_rss_kb = int(fields[0]), float(fields[1]), int(fields[2])
    return Result(tuple(argv), code, wall, cpu, max_rss_kb, stdout, stderr, timed_out, run.stdout == "capture")


def play(case: Case, base: Path) -> Outcome:
    """Lay out the case's folder, run its command lines, and look at what they left."""
    folder = base / "work"
    folder.mkdir()
    token = "hostileSECRET" + secrets.token_hex(8)
    (folder / "secret.txt").write_text(f"{token}\nsecond line {token}\n")
    if case.text is not None:
        (folder / case.name).write_bytes(fill_bytes(case.text, folder))
    if case.setup:
        case.setup(folder)
    problem = folder / (case.file or case.name)
    problem_before = problem.read_bytes() if problem.is_file() and not problem.is_symlink() else None
    kept = {name: (folder / name).read_bytes() for name in case.keep}
    results = []
    for i, run in enumerate(case.runs):
        before = snapshot(folder)
        result = execute(run, case, folder, base / f"run{i}")
        after = snapshot(folder)
        result.new_files = sorted(set(after) - set(before))
        result.changed_files = sorted(k for k in before if k in after and after[k] != before[k])
        results.append(result)
    pdf_text = {}
    leaks = find_leaks(folder, token, results, pdf_text)
    # a command that ran makes a file named MARKER; outputs whose own names spell the command do not count
    markers = sorted(str(p.relative_to(folder)) for p in folder.rglob("MARKER"))
    problem_changed = problem_before is not None and (not problem.exists() or problem.read_bytes() != problem_before)
    kept_changed = [n for n, data in kept.items()
                    if not (folder / n).is_file() or (folder / n).read_bytes() != data]
    for big in (problem, folder / "out.tex"):  # the largest files are not kept once looked at
        if big.is_file() and big.stat().st_size > 1 << 20:
            big.unlink()
    return Outcome(folder, results, leaks, markers, pdf_text, problem_changed, kept_changed)


def inflated_streams(data: bytes) -> list[bytes]:
    """The contents of a PDF's compressed streams (the ones zlib can inflate)."""
    out = []
    for m in re.finditer(rb"stream\r?\n", data):
        if data[max(0, m.start() - 3):m.start()] == b"end":
            continue
        try:
            out.append(zlib.decompressobj().decompress(data[m.end():m.end() + (8 << 20)]))
        except zlib.error:
            pass
    return out


def pdf_to_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", "-q", str(path), "-"], capture_output=True, timeout=30)
    return done.stdout.decode("utf-8", "replace")


def find_leaks(folder: Path, token: str, results: list[Result], pdf_text: dict) -> list[str]:
    """Where the secret file's contents (as text, hex or its MD5) or /etc/passwd came out."""
    import hashlib
    secret = (folder / "secret.txt").read_bytes()
    needles = [token.encode(), token.encode().hex().encode(), token.encode().hex().upper().encode(),
               hashlib.md5(secret).hexdigest().encode(), hashlib.md5(secret).hexdigest().upper().encode(), PASSWD]
    found = []

    def look(where: str, data: bytes) -> None:
        for needle in needles:
            if needle in data:
                found.append(f"{where} holds {needle[:24].decode()!r}")

    for r in results:
        look("standard output", r.stdout.encode())
        look("standard error", r.stderr.encode())
    for path in folder.rglob("*"):
        if path.name == "secret.txt" or path.is_symlink() or not path.is_file():
            continue
        rel = str(path.relative_to(folder))
        data = path.read_bytes()
        look(rel, data)
        if data.startswith(b"%PDF"):
            for stream in inflated_streams(data):
                look(f"a stream of {rel}", stream)
            text = pdf_to_text(path)
            pdf_text[rel] = text
            look(f"the text of {rel}", squeeze(text).encode())  # math sets letters apart
    return found


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory):
    """Every selected case started in the background, in order; each test waits for its own."""
    here = sys.modules[__name__]
    wanted = [item.callspec.params["case"] for item in request.session.items
              if getattr(item, "module", None) is here and hasattr(item, "callspec") and "case" in item.callspec.params]
    pool = ThreadPoolExecutor(WORKERS)
    futures = {c.id: pool.submit(play, c, tmp_path_factory.mktemp(c.id[:60]))
               for c in wanted if not (c.unless and c.unless())}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


# -- what every case must do ---------------------------------------------------------------------

def walk_json(value, where="$"):
    """Every number in a JSON value must be finite."""
    if isinstance(value, float):
        assert math.isfinite(value), f"{where} is {value}"
    elif isinstance(value, dict):
        for k, v in value.items():
            walk_json(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            walk_json(v, f"{where}[{i}]")


def strict_json(text: str):
    def refuse(constant):
        raise AssertionError(f"--json printed {constant}, which is not JSON")
    value = json.loads(text, parse_constant=refuse)
    walk_json(value)
    return value


def at(value, path: str):
    for part in path.split("."):
        assert isinstance(value, dict) and part in value, f"--json has no {path!r}"
        value = value[part]
    return value


def same_numbers(got, want, where: str) -> None:
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: {got!r} is not like {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            same_numbers(g, w, f"{where}[{i}]")
        return
    if isinstance(got, str):  # beyond a double's range, JSON holds the decimal digits as text
        assert re.fullmatch(r"-?\d(\.\d+)?e[+-]\d+", got), f"{where}: {got!r} is not a number"
        value = Decimal(got)
        assert not (Decimal("1e-300") < abs(value) < Decimal("1e300")), f"{where}: {got!r} fits a double"
        assert abs(value - Decimal(repr(want))) <= Decimal("1e-12") * max(Decimal(1), abs(value)), \
            f"{where}: {got!r} != {want!r}"
        return
    assert isinstance(got, (int, float)) and not isinstance(got, bool), f"{where}: {got!r} is not a number"
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), f"{where}: {got!r} != {want!r}"


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def describe(args: tuple[str, ...]) -> str:
    """A run's command line, short: the API call of a script, long arguments cut, no wrapper."""
    args = args[args.index(sys.executable) + 1:]
    if args[0] == "-c":
        return "python: " + re.search(r"try:\n\s+(.*)\n", args[1]).group(1)
    return " ".join(a if len(a) < 80 else a[:77] + "..." for a in args).replace("-m backprop_tutor", "tutor", 1)


def check_run(case: Case, r: Result, outcome: Outcome) -> list[str]:
    """What is wrong with one run (nothing, if it did what the case expects)."""
    shown = describe(r.args)
    both = r.stdout + r.stderr
    if r.timed_out:
        return [f"{shown}: still running after {KILL_AFTER:.0f} s (killed)"]
    wrong = []
    if r.cpu >= CPU_LIMIT:
        wrong.append(f"took {r.cpu:.1f} s of CPU time (limit {CPU_LIMIT:.0f} s)")
    if r.max_rss_kb >= MEMORY_LIMIT_KB:
        wrong.append(f"peak memory {r.max_rss_kb // 1024} MB (limit 500 MB)")
    if "Traceback" in both:
        wrong.append(f"printed a traceback: ...{both[-300:]!r}")
    if r.code not in case.expect:
        wrong.append(f"exit {r.code}, expected {'|'.join(map(str, sorted(case.expect)))}; stderr {r.stderr[-300:]!r}")
    if r.code in (2, 3):
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        mention = case.mentions
        if mention == "<problem>":
            mention = Path(case.file or case.name).name
        if len(lines) != 1:
            wrong.append(f"the error is {len(lines)} lines, not one: {r.stderr[-300:]!r}")
        elif not lines[0].startswith("error: "):
            wrong.append(f"the error does not start with 'error: ': {lines[0][:300]!r}")
        elif mention and mention not in lines[0]:
            wrong.append(f"the error does not name {mention[:40]!r}: {lines[0][:300]!r}")
        elif case.key and case.key not in lines[0]:
            wrong.append(f"the error does not name the key {case.key!r}: {lines[0][:300]!r}")
    if r.code == 2:
        # a .tex written whole before its PDF failed is said so; nothing else may be printed
        said = [l for l in r.stdout.splitlines() if not ("--pdf" in r.args and re.fullmatch(r"wrote .*\.tex", l))]
        if r.captured and said:
            wrong.append(f"exit 2 but printed on standard output: {r.stdout[:200]!r}")
        if r.new_files:
            wrong.append(f"exit 2 but wrote {r.new_files}")
        if r.changed_files:
            wrong.append(f"exit 2 but changed {r.changed_files}")
    if r.code == 0:
        try:
            check_success(case, r, outcome)
        except AssertionError as e:
            wrong.append(str(e).splitlines()[0])
    return [f"{shown}: {w}" for w in wrong]


def check_success(case: Case, r: Result, outcome: Outcome) -> None:
    """A run that succeeded: strict, finite JSON with the right values; the PDF there, showing the text."""
    if "--json" in r.args:
        value = strict_json(r.stdout)
        for path, want in case.json:
            same_numbers(at(value, path), want, path)
    if case.stdout_has and "--json" not in r.args:
        assert case.stdout_has in r.stdout, f"the output lacks {case.stdout_has!r}"
    if case.stdout_lacks:
        assert case.stdout_lacks not in r.stdout, f"the output has {case.stdout_lacks!r}"
    if "--pdf" in r.args:
        target = Path(r.args[r.args.index("-o") + 1])
        pdf = (target if target.is_absolute() else outcome.folder / target).with_suffix(".pdf")
        assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-", f"exit 0 but no PDF at {pdf.name}"
        if case.literal:
            text = outcome.pdf_text.get(str(pdf.relative_to(outcome.folder)), "")
            assert squeeze(case.literal) in squeeze(text), \
                f"the PDF does not show {case.literal!r} literally: {squeeze(text)[:300]!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_case(case: Case, outcomes):
    if case.unless and (reason := case.unless()):
        pytest.skip(reason)
    outcome = outcomes[case.id].result()
    wrong = [w for r in outcome.results for w in check_run(case, r, outcome)]
    if outcome.leaks:
        wrong.append(f"the secret came out: {'; '.join(outcome.leaks)}")
    if outcome.markers:
        wrong.append(f"something ran: {outcome.markers} appeared")
    if outcome.problem_changed:
        wrong.append("the problem file was changed")
    if outcome.kept_changed:
        wrong.append(f"{outcome.kept_changed} changed or disappeared")
    if case.check:
        try:
            case.check(outcome.folder, outcome.results)
        except AssertionError as e:
            wrong.append(str(e))
    if wrong:
        pytest.fail("\n".join(wrong), pytrace=False)
