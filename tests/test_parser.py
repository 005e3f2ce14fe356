"""The whitelisting expression parser, and proof that nothing from a file is ever evaluated as code."""
from __future__ import annotations

import ast
import builtins
import io
from fractions import Fraction
from pathlib import Path

import pytest
import sympy
import sympy.parsing
import sympy.parsing.sympy_parser
from rich.console import Console
from typer.testing import CliRunner

import backprop_tutor
from backprop_tutor import load, solve
from backprop_tutor.cli import app
from backprop_tutor.expr import BinOp, Call, ExprError, Name, Neg, Num, Transpose, names_in, parse
from backprop_tutor.ops import FUNCTIONS, LOSSES
from backprop_tutor.render.jsonout import dumps, to_json
from backprop_tutor.render.terminal import print_solution

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(backprop_tutor.__file__).resolve().parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))


def p(text):
    return parse(text, FUNCTIONS)


# -- what the grammar accepts -----------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("0.1", Fraction(1, 10)),
    ("1e-3", Fraction(1, 1000)),
    ("2.5E2", Fraction(250)),
    ("7", Fraction(7)),
    ("0.3", Fraction(3, 10)),
    (".5", Fraction(1, 2)),
    ("1.", Fraction(1)),
])
def test_numbers_are_exact(text, value):
    node = p(text)
    assert node == Num(value)
    assert isinstance(node.value, Fraction)


def test_python_numbers_are_exact():
    assert p(0.1) == Num(Fraction(1, 10))      # a YAML float, read as the decimal written
    assert p(3) == Num(Fraction(3))
    for bad in (True, None, [1], {"a": 1}):
        with pytest.raises(ExprError):
            p(bad)


def test_names_and_precedence():
    a, b, c = Name("a"), Name("b"), Name("c")
    assert p("a") == a
    assert p("W_1_hat2") == Name("W_1_hat2")
    assert p("a + b * c") == BinOp("+", a, BinOp("*", b, c))
    assert p("a - b - c") == BinOp("-", BinOp("-", a, b), c)
    assert p("a / b * c") == BinOp("*", BinOp("/", a, b), c)
    assert p("(a + b) * c") == BinOp("*", BinOp("+", a, b), c)
    assert p("-a") == Neg(a)
    assert p("-a ** 2") == Neg(BinOp("**", a, Num(Fraction(2))))     # −(a²), as in mathematics
    assert p("a ** -b") == BinOp("**", a, Neg(b))
    assert p("a ** b ** c") == BinOp("**", a, BinOp("**", b, c))      # right-associative
    assert p("+a") == a
    assert p("a @ b + c") == BinOp("+", BinOp("@", a, b), c)
    assert p("a.T") == Transpose(a)
    assert p("a.T @ b") == BinOp("@", Transpose(a), b)
    assert p("(a @ b).T") == Transpose(BinOp("@", a, b))
    assert p("  a  *  ( b )  ") == BinOp("*", a, b)


@pytest.mark.parametrize("func", sorted(FUNCTIONS))
def test_every_function_of_the_table_is_accepted(func):
    if func in LOSSES:
        assert p(f"{func}(y, t)") == Call(func, (Name("y"), Name("t")))
    else:
        assert p(f"{func}(x)") == Call(func, (Name("x"),))


def test_the_contract_function_list_is_in_the_table():
    contract = ("relu sigmoid tanh exp log softplus abs cosh sinh sqrt linear identity step sum mean "
                "softmax sse mse half_sse l1 mae log_cosh cross_entropy bce").split()
    assert set(contract) <= set(FUNCTIONS)


def test_nested_calls_and_names_in():
    node = p("half_sse(W2 @ relu(W1 @ x + b1) + b2, t)")
    assert isinstance(node, Call) and node.func == "half_sse"
    assert names_in(node) == ["W2", "W1", "x", "b1", "b2", "t"]


# -- what it rejects -------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "x.__class__",
    "x.T.__class__",
    "x.real",
    "a.b",
    "__import__('os')",
    "__import__",  # a bare name is fine syntactically, but see below: it must not be callable
    "eval('1')",
    "exec('1')",
    "getattr(x, 'T')",
    "open('/etc/passwd')",
    "x[0]",
    "W[1, 2, 3]",  # W[1, 2] is an entry (see test_indexing); three indices are not
    "lambda x: x",
    "lambda: 1",
    "'abc'",
    '"abc"',
    "x ^ 2",
    "foo(x)",
    "Relu(x)",
    "x if y else z",
    "x; y",
    "x, y",
    "a = 1",
    "a == b",
    "a < b",
    "a % b",
    "a // b",
    "not a",
    "a and b",
    "[1, 2]",
    "{1: 2}",
    "f(x)(y)",
    "1 +",
    "()",
    "",
    "   ",
    "(a + b",
    "a + b)",
    "relu(x,)",
    "relu()",
    "x.T()",
    "1x",
    "x$",
    "x\\y",
    "#comment",
])
def test_anything_else_is_rejected(text):
    if text == "__import__":
        # a bare word parses as a name (the graph then reports it as unknown), but never as a call
        assert p(text) == Name(text)
        with pytest.raises(ExprError):
            p(text + "(x)")
        return
    with pytest.raises(ExprError):
        p(text)


def test_only_the_given_functions_may_be_called():
    assert p("relu(x)") == Call("relu", (Name("x"),))
    with pytest.raises(ExprError, match="relu"):
        parse("relu(x)", frozenset({"sigmoid"}))


def test_error_message_names_the_offending_text():
    with pytest.raises(ExprError) as e:
        p("frobnicate(x)")
    assert "frobnicate" in str(e.value)
    with pytest.raises(ExprError) as e:
        p("x ^ 2")
    assert "^" in str(e.value)


# -- nothing from a file reaches eval / exec / sympify / parse_expr -----------------------------

def _everything(path, runner):
    """Load, solve (with the finite-difference check), render JSON and terminal, run the CLI."""
    sol = solve(load(path), verify=True)
    to_json(sol)
    dumps(sol)
    for exact in (False, True):
        print_solution(sol, Console(width=80, file=io.StringIO(), no_color=True), 4, exact)
    for args in (["--json"], ["--no-color"], ["--no-color", "--exact", "--verify"]):
        result = runner.invoke(app, ["solve", str(path), *args])
        assert result.exit_code == 0, (result.stderr, result.exception)


def test_no_file_text_reaches_eval_exec_sympify_or_parse_expr(monkeypatch):
    runner = CliRunner()
    for path in PROBLEMS:           # warm up: lazy imports inside the libraries run exec legitimately
        _everything(path, runner)

    calls = []
    # Typer reads the commands' signatures with inspect.signature(eval_str=True), which evaluates
    # any annotation written as a string in cli.py (it writes none now; its annotations are
    # evaluated when defined): source text, not file text. Exactly such strings are let through.
    import backprop_tutor.cli as cli
    annotations = {v for f in vars(cli).values() if callable(f)
                   for v in getattr(f, "__annotations__", {}).values() if isinstance(v, str)}
    compiled = {(c.co_code, c.co_names, c.co_consts) for c in
                (compile(a, "<string>", "eval") for a in annotations)}   # typing.ForwardRef's form

    def _is_annotation(src):
        if isinstance(src, str):
            return src in annotations
        return getattr(src, "co_filename", None) == "<string>" and (
            (src.co_code, src.co_names, src.co_consts) in compiled)

    def forbidden(name):
        def trap(*args, **kwargs):
            if name == "eval" and args and _is_annotation(args[0]):
                return real_eval(*args, **kwargs)
            calls.append((name, args[:1]))
            raise AssertionError(f"{name} was called with {args[:1]!r}")
        return trap

    real_sympify = sympy.sympify
    real_eval = builtins.eval

    def sympify_no_strings(a, *args, **kwargs):
        if isinstance(a, str):
            calls.append(("sympify", a))
            raise AssertionError(f"sympify was called on the text {a!r}")
        return real_sympify(a, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden("eval"))
    monkeypatch.setattr(builtins, "exec", forbidden("exec"))
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", forbidden("parse_expr"))
    monkeypatch.setattr(sympy.parsing, "parse_expr", forbidden("parse_expr"))
    monkeypatch.setattr(sympy, "parse_expr", forbidden("parse_expr"))
    monkeypatch.setattr(sympy, "sympify", sympify_no_strings)

    for path in PROBLEMS:
        _everything(path, runner)
    # a file that writes values as string expressions and derived parameters
    extra = ROOT / "tests" / "_no_eval_probe.yaml"
    text = ('inputs:\n  x: ["1/3", "log(2)"]\nparameters:\n  v: "0.5"\n  w: "log(1 + exp(v))"\n'
            'targets:\n  t: "sqrt(2)"\nforward:\n  y: sum(x) * w\nloss: half_sse(y, t)\nlearning_rate: 0.1\n')
    sol = solve(backprop_tutor.loads(text, str(extra)), verify=True)
    to_json(sol)
    print_solution(sol, Console(width=80, file=io.StringIO(), no_color=True))
    assert calls == []


# -- and the source never calls them -------------------------------------------------------

# Every sp.sympify call in the package, reviewed by hand: none of them receives text from a file
# (each gets a SymPy value, a Fraction, or a literal number). A new call must be reviewed and added.
SYMPIFY_REVIEWED = {
    ("notation.py", "number_text", "x"),        # a SymPy number from the Solution
    ("notation.py", "rounded", "x"),            # a SymPy number from the Solution
    ("notation.py", "shows_rounded", "value"),  # a value from the Solution
    ("notation.py", "tex_number", "x"),         # a SymPy number from the Solution or a diagram
    ("diagram.py", "_linear_parts", "pre"),     # an expression the engine evaluated over symbols
    ("render/tikz.py", "_numeric", "x"),        # a weight or value from the diagram
    ("render/dot.py", "_numeric", "x"),         # a weight or value from the diagram, never a str
    ("drawing.py", "_known", "x"),              # a value the engine computed (SymPy), never text
    ("numeric.py", "float_leaves", "node.given"),  # a leaf's value as the graph built it (SymPy), never text
    ("render/jsonout.py", "number", "x"),       # a value from the Solution
    ("algebra.py", "const", "v"),               # a Rational from a Num node, a literal, or the learning rate
    ("algebra.py", "finish", "e"),              # a SymPy expression being evaluated
    ("ops.py", "_c", "v"),                      # the literals of the loss-gradient table
    ("numeric.py", "float_leaves", "node.given"),  # a leaf's value as the graph built it (SymPy), never text
    ("rounding.py", "half_up", "x"),            # a value the engine computed (SymPy) or a student's Fraction, never text
}

FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "execfile", "input"}
FORBIDDEN_ANYWHERE = {"parse_expr", "sympy_parser", "literal_eval", "unsafe_load", "full_load",
                      "UnsafeLoader", "FullLoader"}


def _sources():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 5
    return [(f.relative_to(PACKAGE).as_posix(), f.read_text(encoding="utf-8")) for f in files]


def _calls(tree):
    """(call node, name of the enclosing function) for every call in a module."""
    out = []

    def walk(node, func):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            if isinstance(child, ast.Call):
                out.append((child, func))
            walk(child, inner)

    walk(tree, None)
    return out


def _called_name(call):
    f = call.func
    if isinstance(f, ast.Name):
        return f.id, None
    if isinstance(f, ast.Attribute):
        return f.attr, ast.unparse(f.value)
    return None, None


def test_source_never_calls_eval_exec_or_parse_expr():
    bad = []
    for rel, text in _sources():
        tree = ast.parse(text)
        for call, func in _calls(tree):
            name, owner = _called_name(call)
            if owner is None and name == "__import__" and all(isinstance(a, ast.Constant) for a in call.args):
                continue  # __import__("re"): a module name written in the source, not file text
            if owner is None and name in FORBIDDEN_CALLS:
                bad.append(f"{rel}:{call.lineno}: {ast.unparse(call)}")
            if owner is not None and name in ("eval", "exec") and owner not in ("cls", "self"):
                bad.append(f"{rel}:{call.lineno}: {ast.unparse(call)}")
        for node in ast.walk(tree):
            ident = (node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute)
                     else None)
            if ident in FORBIDDEN_ANYWHERE:
                bad.append(f"{rel}:{node.lineno}: uses {ident}")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name.split(".")[-1] in FORBIDDEN_ANYWHERE or (
                            isinstance(node, ast.ImportFrom) and node.module and "sympy_parser" in node.module):
                        bad.append(f"{rel}:{node.lineno}: imports {alias.name}")
    assert not bad, "\n".join(bad)


def test_source_text_has_no_eval_tokens():
    """The plain grep: `eval(`, `exec(`, `parse_expr` appear only as sympy's classmethod `def eval(cls, …)`."""
    bad = []
    for rel, text in _sources():
        for n, line in enumerate(text.splitlines(), 1):
            code = line.split("#", 1)[0]
            for token in ("eval(", "exec(", "parse_expr", "sympy_parser"):
                if token in code and not code.strip().startswith("def eval(cls"):
                    bad.append(f"{rel}:{n}: {line.strip()}")
    assert not bad, "\n".join(bad)


def test_every_sympify_call_was_reviewed():
    found = set()
    for rel, text in _sources():
        for call, func in _calls(ast.parse(text)):
            name, owner = _called_name(call)
            if name == "sympify" or name == "S" and owner in ("sp", "sympy"):
                args = ", ".join(ast.unparse(a) for a in call.args)
                found.add((rel, func, args))
    unreviewed = found - SYMPIFY_REVIEWED
    assert not unreviewed, f"sympify calls not yet reviewed (could one receive file text?): {sorted(unreviewed)}"


def test_yaml_is_only_read_safely():
    for rel, text in _sources():
        tree = ast.parse(text)
        for call, _ in _calls(tree):
            name, owner = _called_name(call)
            if owner == "yaml" and name in ("load", "load_all", "compose", "compose_all", "parse"):
                loader = [k for k in call.keywords if k.arg == "Loader"]
                assert loader and ast.unparse(loader[0].value) in ("yaml.SafeLoader", "yaml.CSafeLoader"), \
                    f"{rel}:{call.lineno}: {ast.unparse(call)}"
