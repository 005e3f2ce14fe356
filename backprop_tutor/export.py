"""Writing outputs so that nothing is lost, and typesetting a PDF in a confined, time-limited pdflatex."""
from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from . import sandbox
from .errors import ExternalError, OutputError, UsageError
from .texsafe import forbidden_in_document

INSTALL_HINT = ("install a TeX system, e.g. on Debian/Ubuntu: apt install texlive-latex-base "
                "texlive-latex-recommended texlive-pictures")
DEFAULT_TIMEOUT = 60.0   # seconds for the whole LaTeX run
KILL_GRACE = 1.0         # seconds between asking LaTeX to stop and killing it
MAX_RUNS = 3             # pdflatex runs while the log asks for another
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
          (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))


# ---------------------------------------------------------------- outputs that never lose anything

def check_target(path, suffix: str | None = None, protect=()) -> Path:
    """The output path, if writing there replaces at most an earlier output; else UsageError/OutputError.

    Refused: an empty or over-long name, a name without `suffix`, a missing folder, anything that
    exists and is not a regular file or a symbolic link (a folder, a device, a named pipe), and the
    files in `protect` (the problem file) however they are reached.
    """
    text = os.fspath(path) if path is not None else ""
    if not text.strip():
        raise UsageError("the output needs a file name")
    target = Path(text)
    shown = str(target)
    if text.endswith(("/", os.sep)) or target.name in ("", ".", ".."):
        raise UsageError("names a folder; give a file name", file=shown)
    if suffix and target.suffix.lower() != suffix:
        raise UsageError(f"the output must end in {suffix}", file=shown)
    folder = target.parent
    limit = _name_max(folder)
    if len(os.fsencode(target.name)) > limit:
        raise UsageError(f"the file name is {len(os.fsencode(target.name))} bytes long; "
                         f"at most {limit} are allowed", file=shown)
    try:
        if not folder.is_dir():
            raise OutputError(f"the folder {str(folder)!r} does not exist", file=shown)
        info = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError as e:
        raise OutputError(f"cannot write here: {e.strerror or e}", file=shown) from None
    for kind, what in _KINDS:
        if kind(info.st_mode):
            raise UsageError(f"exists and is {what}, not a file; refusing to replace it", file=shown)
    for other in protect:
        try:
            if os.path.samefile(target, other):
                raise UsageError("is the problem file itself; choose another output name", file=shown)
        except OSError:  # a dangling link, or a protected file that is gone: nothing to protect
            continue
    return target


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder if str(folder) else ".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path, data) -> None:
    """Write text or bytes to path so that the file is the old one or the whole new one, never half;
    a symbolic link there is replaced (not what it points at); the mode follows the umask."""
    path = Path(path)
    check_target(path)
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tutor-", suffix=".tmp", dir=folder)
    except OSError as e:
        raise OutputError(f"cannot write here: {e.strerror or e}", file=str(path)) from None
    try:
        mode = "w" if isinstance(data, str) else "wb"
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), 0o666 & ~_umask())
        check_target(path)  # nothing else appeared there meanwhile
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise OutputError(f"cannot write: {e.strerror or e}", file=str(path)) from None
        raise


# ---------------------------------------------------------------- a PDF from pdflatex

def compile_pdf(tex, timeout: float = DEFAULT_TIMEOUT, protect=()) -> Path:
    """Typeset a .tex file into the PDF beside it, in a private folder with a time limit (see typeset_pdf)."""
    tex = Path(tex)
    check_target(tex.with_suffix(".pdf"), ".pdf", protect)
    try:
        source = tex.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read the document: {e.strerror or e}", file=str(tex)) from None
    return typeset_pdf(source, tex.with_suffix(".pdf"), timeout, protect, shown=tex)


def typeset_pdf(document, pdf, timeout: float = DEFAULT_TIMEOUT, protect=(), shown=None) -> Path:
    """Typeset a LaTeX document (text or bytes) into the file pdf, in a private folder with a time limit.

    pdflatex runs without a shell, with shell escape off, reading and writing files only in its own
    temporary folder (kpathsea's paranoid settings; where Linux offers Landlock, confined to that
    folder and the TeX installation as well), in a session of its own that is killed on time-out or
    Ctrl-C. Nothing but the PDF appears beside it; on failure the log is kept beside the PDF (NAME.log)
    and ExternalError names its first errors. Errors name `shown` (the .tex), else the PDF.
    """
    pdf = Path(pdf)
    log, named = pdf.with_suffix(".log"), str(shown if shown is not None else pdf)
    check_target(pdf, ".pdf", protect)
    source = document.encode("utf-8") if isinstance(document, str) else bytes(document)
    try:
        made, log_text = typeset(source, timeout)
    except UsageError as e:
        e.file = named
        raise
    except subprocess.TimeoutExpired:
        raise ExternalError(f"LaTeX did not finish within {timeout:g} s and was stopped"
                            + _stale(pdf), file=named) from None
    except (ExternalError, OutputError) as e:
        e.file, e.message = named, e.message + _stale(pdf)
        raise
    if made is not None:
        write_atomically(pdf, made)
        return pdf
    kept = _keep_log(log, log_text, protect)
    raise ExternalError(f"LaTeX failed: {summarise_log(log_text)}"
                        + (f" (log: {log})" if kept else "") + _stale(pdf), file=named)


def typeset(source: bytes, timeout: float = DEFAULT_TIMEOUT) -> tuple[bytes | None, str]:
    """Run the confined pdflatex on a document: the PDF's bytes (None when it failed) and the log's text.

    Raises UsageError for a document that uses what exported documents never do, ExternalError
    when pdflatex cannot be run, OutputError when its temporary folder cannot be made or written,
    and subprocess.TimeoutExpired on time-out.
    """
    bad = forbidden_in_document(source.decode("utf-8", errors="replace"))
    if bad:
        raise UsageError(f"the document uses {bad}, which exported documents never do; "
                         "refusing to run LaTeX on it")
    pdflatex = shutil.which("pdflatex")
    if not pdflatex:
        raise ExternalError(f"cannot make a PDF: pdflatex is not installed ({INSTALL_HINT})")
    try:
        build = Path(tempfile.mkdtemp(prefix="tutor-latex-"))
    except OSError as e:
        raise OutputError(f"cannot make a temporary folder for LaTeX in {tempfile.gettempdir()}: "
                          f"{e.strerror or e}") from None
    try:
        try:
            (build / "doc.tex").write_bytes(source)
            ok, log_text = _typeset(os.path.abspath(pdflatex), build, timeout)
            made = (build / "doc.pdf").read_bytes() if ok and (build / "doc.pdf").is_file() else None
        except OSError as e:  # the temporary folder is full or gone
            raise OutputError(f"cannot run LaTeX in {build}: {e.strerror or e}") from None
        return made, log_text
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _stale(pdf: Path) -> str:
    """The words telling that an older PDF still stands where the new one should be."""
    return f"; {pdf} is from an earlier export and out of date" if os.path.lexists(pdf) else ""


def _keep_log(log: Path, text: str, protect) -> bool:
    try:
        check_target(log, ".log", protect)
        write_atomically(log, text)
        return True
    except (UsageError, OutputError):
        return False


def _typeset(pdflatex: str, build: Path, timeout: float) -> tuple[bool, str]:
    """Run pdflatex on build/doc.tex (again while the log asks to); success and the log's text."""
    env = _tex_environment(build)
    command = [pdflatex, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
               str(build / "doc.tex")]
    deadline = time.monotonic() + timeout
    text = ""
    for _ in range(MAX_RUNS):
        code = _run(command, build, env, deadline)
        log = build / "doc.log"
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        if code != 0:
            output = build / "output.txt"
            return False, text or (output.read_text(encoding="utf-8", errors="replace") if output.is_file() else "")
        if "Rerun to get" not in text:
            break
    return True, text


def _tex_environment(build: Path) -> dict:
    """An environment that gives TeX nothing of the user's: no texmf.cnf, no TEXINPUTS, no home folder."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT")}
    for name in ("home", "texmf-home", "texmf-var", "texmf-config"):
        (build / name).mkdir()
    env.update(HOME=str(build / "home"), TEXMFHOME=str(build / "texmf-home"), TEXMFVAR=str(build / "texmf-var"),
               TEXMFCONFIG=str(build / "texmf-config"), TEXMFOUTPUT=str(build), TMPDIR=str(build),
               openin_any="p", openout_any="p", shell_escape="f")
    return env


def _run(command: list, build: Path, env: dict, deadline: float, readable=None) -> int:
    """One run in a session of its own; the whole process group is killed on time-out or interrupt."""
    preexec = sandbox.confine(readable or _system_folders(command[0]), [str(build), os.devnull])
    try:
        with open(build / "output.txt", "wb") as output:
            try:
                process = subprocess.Popen(command, cwd=build, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                           stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
                                           preexec_fn=preexec)
            except (OSError, subprocess.SubprocessError) as e:
                raise ExternalError(f"cannot run {command[0]}: {getattr(e, 'strerror', None) or e}") from None
    finally:
        sandbox.release(preexec)
    try:
        return process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except BaseException:
        kill_group(process)
        raise


def kill_group(process: subprocess.Popen) -> None:
    """Stop a process started with start_new_session and everything it started: SIGTERM, then SIGKILL."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=KILL_GRACE)
    except BaseException:  # too slow to stop (TeX in a loop ignores SIGTERM), or a second Ctrl-C
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _system_folders(program: str) -> list:
    """The folders pdflatex reads its own files from: the system's, and the TeX installation's."""
    folders = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/texmf", "/var/lib/texmf",
               "/etc/ld.so.cache", "/etc/localtime", "/dev/urandom", "/dev/zero"]
    real = Path(os.path.realpath(program))
    for parent in real.parents:
        if parent.name == "bin":
            root = parent.parent
            if root != Path(root.anchor) and root != Path.home():
                folders.append(str(root))
            break
    return folders


# ---------------------------------------------------------------- a picture from Graphviz's dot

DOT_HINT = "install Graphviz, e.g. on Debian/Ubuntu: apt install graphviz"
DOT_FORMATS = (".svg", ".png", ".pdf")
_FONT_FOLDERS = ["/etc/fonts", "/var/cache/fontconfig"]


def render_dot(source: str, target, timeout: float = DEFAULT_TIMEOUT, protect=()) -> Path:
    """Lay out DOT source with the system's dot into target (.svg, .png or .pdf, as its extension says):
    no shell, a private folder, a time limit, the output written atomically; ExternalError when dot
    is missing, fails or takes too long (an older file there is left as it was)."""
    target = check_target(target, None, protect)
    kind = target.suffix.lower()
    if kind not in DOT_FORMATS:
        raise UsageError("a picture ends in " + ", ".join(DOT_FORMATS), file=str(target))
    write_atomically(target, layout_dot(source, kind[1:], timeout, str(target)))
    return target


def layout_dot(source: str, fmt: str = "svg", timeout: float = DEFAULT_TIMEOUT, shown: str | None = None) -> bytes:
    """The bytes of DOT source laid out by the system's dot as svg, png or pdf, run as render_dot runs it
    (no shell, a private folder, a time limit); ExternalError names `shown` when dot is missing or fails."""
    if "." + fmt not in DOT_FORMATS:
        raise UsageError("a picture is one of " + ", ".join(f[1:] for f in DOT_FORMATS), file=shown)
    dot = shutil.which("dot")
    if not dot:
        raise ExternalError(f"cannot draw a picture: Graphviz's dot is not installed ({DOT_HINT})", file=shown)
    try:
        build = Path(tempfile.mkdtemp(prefix="tutor-dot-"))
    except OSError as e:
        raise OutputError(f"cannot make a temporary folder for dot in {tempfile.gettempdir()}: "
                          f"{e.strerror or e}", file=shown) from None
    try:
        return _dot(os.path.abspath(dot), build, source, fmt, timeout, shown)
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _dot(dot: str, build: Path, source: str, fmt: str, timeout: float, shown: str) -> bytes:
    """Run dot on build/in.dot into build/out.FMT: the picture's bytes, or ExternalError with dot's message."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")}
    env.update(HOME=str(build), TMPDIR=str(build), XDG_CACHE_HOME=str(build))
    out = build / f"out.{fmt}"
    command = [dot, f"-T{fmt}", "-o", str(out), str(build / "in.dot")]
    try:
        (build / "in.dot").write_text(source, encoding="utf-8")
        try:
            code = _run(command, build, env, time.monotonic() + timeout,
                        _system_folders(dot) + _FONT_FOLDERS)
        except subprocess.TimeoutExpired:
            raise ExternalError(f"dot did not finish within {timeout:g} s and was stopped", file=shown) from None
        except ExternalError as e:
            e.file = shown
            raise
        said = (build / "output.txt").read_text(encoding="utf-8", errors="replace")
        if code != 0 or not out.is_file() or out.stat().st_size == 0:
            first = next((line for line in said.splitlines() if line.strip()), f"exit status {code}")
            raise ExternalError(f"dot failed: {_printable(first)[:200]}", file=shown)
        return out.read_bytes()
    except OSError as e:
        raise OutputError(f"cannot run dot in {build}: {e.strerror or e}", file=shown) from None


def summarise_log(log: str) -> str:
    """The first errors of a LaTeX log, each with the line it points at."""
    out = []
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("!"):
            where = next((l for l in lines[i + 1:i + 8] if re.match(r"l\.\d+", l)), "")
            out.append(_printable(f"{line[1:].strip()} {where.strip()}".strip())[:200])
        if len(out) == 3:
            break
    return "; ".join(out) or "see the log (no error line found)"


def _printable(s: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in s)
