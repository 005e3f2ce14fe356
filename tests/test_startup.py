"""Start-up: each command imports only what it uses (the modules a fresh process holds after it ran),
and the command line reads its values without typer's pydantic conversion, giving what typer gives."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "matplotlib", "graphviz", "rich", "pydantic", "pydantic_core")
PRINTERS = ("terminal", "pretty", "latex", "html", "mathml", "markdown", "tikz", "svg", "dot", "marks")


def modules_after(*args, tmp_path: Path) -> set:
    """The modules a fresh Python holds after running `tutor ARGS` (its output thrown away)."""
    out = tmp_path / "modules.json"
    code = ("import json, sys\n"
            f"sys.argv = ['tutor', *{[str(a) for a in args]!r}]\n"
            "from backprop_tutor.cli import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            f"open({str(out)!r}, 'w').write(json.dumps(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return set(json.loads(out.read_text()))


def fresh_modules(code: str) -> set:
    done = subprocess.run([sys.executable, "-c", code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def among(modules: set, packages) -> list:
    return sorted(m for m in modules if m.split(".")[0] in packages)


@pytest.mark.parametrize("args", [["--help"], ["list"], ["list", "--names"], ["solve", "--help"]],
                         ids=" ".join)
def test_help_and_list_import_neither_sympy_nor_rich(args, tmp_path):
    modules = modules_after(*args, tmp_path=tmp_path)
    assert among(modules, HEAVY + ("sympy", "mpmath")) == []
    assert "backprop_tutor.render.terminal" not in modules


def test_the_programs_help_loads_no_records(tmp_path):
    # `import backprop_tutor` names Limits without importing it, so the top-level help needs no msgspec
    assert among(modules_after("--help", tmp_path=tmp_path), ("msgspec", "typing_extensions")) == []
    assert among(fresh_modules("import backprop_tutor"), ("msgspec",)) == []
    assert "msgspec" in fresh_modules("from backprop_tutor import Limits")


def test_a_json_solve_imports_no_printer_it_does_not_use(tmp_path):
    modules = modules_after("solve", ROOT / "problems" / "ws24_sheet4_ex1.yaml", "--json", tmp_path=tmp_path)
    assert "backprop_tutor.engine" in modules and "ReL" in (ROOT / "problems" / "ws24_sheet4_ex1.yaml").read_text()
    assert among(modules, HEAVY) == []
    assert [m for m in modules if m.startswith("backprop_tutor.render.") and m.split(".")[2] in PRINTERS] == []
    assert "backprop_tutor.diagram" not in modules  # the drawing's code: for the printers that draw
    # of SymPy only what SymPy loads itself, on import and for its first sum (Add imports sympy.tensor)
    sympy_own = fresh_modules("import sympy\nsympy.Symbol('a') + 1")
    assert among(modules - sympy_own, ("sympy", "mpmath")) == []


def test_typer_conversion_is_not_needed_for_a_terminal_solve_or_an_export(tmp_path):
    problem = ROOT / "problems" / "sheet12_p2.yaml"
    for args in (["solve", problem, "--digits", "5", "--no-color"],
                 ["export", problem, "-o", tmp_path / "x.tex", "--timeout", "30", "--part", "a"]):
        assert among(modules_after(*args, tmp_path=tmp_path), ("pydantic", "numpy", "matplotlib")) == []


def command_parameters():
    """(command, parameter) for every parameter of every command, the program's own options included."""
    import typer.main
    from backprop_tutor.cli import app
    group = typer.main.get_command(app)
    out = [("tutor", p) for p in group.params]
    for name, command in group.commands.items():
        out += [(name, p) for p in command.params]
    return out


VALUES = ["0", "1", "4", "05", "30", "31", "60", "60.5", "86400", "86401", "0.5", "1e3", " 5", "5 ", "+5", "-1",
          "x", "", "١٢", "99999999999999999999999", "1_000", "1.", ".5", "nan", "inf", "\udcff", None, True, False,
          4, 60.0, 3, ("a", "b"), (), ["c"]]


def outcome(conversion, value, param):
    """What a conversion makes of a value: ("value", the value) or ("error", typer's message)."""
    from typer._click.exceptions import BadParameter
    try:
        return "value", conversion.coerce(value, param=param, ctx=None)
    except BadParameter as e:
        return "error", e.format_message()


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_value_taken_as_typed_is_what_typers_own_conversion_makes_of_it(value):
    from typer._coercion import build_runtime_param
    from backprop_tutor.plainargs import plain, take_plain_values
    taken = 0
    for name, param in command_parameters():
        typers = outcome(build_runtime_param(param.type_descriptor), value, param)
        param._runtime_param = None
        take_plain_values([param])
        ours = outcome(param._runtime_param, value, param)
        assert ours == typers and type(ours[1]) is type(typers[1]), (name, param.name, value)
        descriptor = param.type_descriptor
        taken += bool(plain(value, descriptor.annotation, descriptor.parameter_info))
    if value in ("4", "05", "30", 4, "60.5", ("a", "b"), "x", True):
        assert taken, f"{value!r} is taken as typed by some parameter"


def test_only_unusual_values_need_typers_conversion(tmp_path):
    from backprop_tutor.cli import app
    from typer.testing import CliRunner
    assert "Invalid value for '--digits'" in CliRunner().invoke(app, ["solve", "x.yaml", "--digits", "0"]).output
    modules = modules_after("solve", ROOT / "problems" / "ws24_sheet4_ex1.yaml", "--digits", " 6", "--json",
                            tmp_path=tmp_path)
    assert "pydantic" in modules          # " 6" is not plain digits: typer converts it, as before


@pytest.mark.parametrize("columns", [30, 44, 80, 101, 160, 400])
def test_list_lays_out_its_table_as_rich_would(columns):
    from rich.console import Console
    from rich.table import Table
    from backprop_tutor.bundled import bundled
    from backprop_tutor.render.listing import table
    rows = [(entry.name, entry.title, entry.source) for entry in bundled()]
    rich_table = Table(box=None, show_header=True, pad_edge=False)
    for column in ("name", "title", "source"):
        rich_table.add_column(column, overflow="fold")
    for row in rows:
        rich_table.add_row(*row)
    console = Console(width=columns, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(rich_table)
    expected = [line.rstrip() for line in console.export_text().splitlines()]
    assert table(("name", "title", "source"), rows, columns) == expected
    assert max(len(line) for line in expected) <= columns


def test_a_terminal_solve_loads_no_physical_units(tmp_path):
    modules = modules_after("solve", ROOT / "problems" / "sheet12_p2.yaml", "--no-color", tmp_path=tmp_path)
    assert "backprop_tutor.render.pretty" in modules
    assert [m for m in modules if m.startswith("sympy.physics")] == []
    assert "backprop_tutor.diagram" not in modules


def test_the_terminal_writes_a_product_as_sympys_pretty_printer_does():
    import sympy as sp
    from sympy.printing.pretty.pretty import PrettyPrinter
    from backprop_tutor.render.pretty import MathPrinter
    x, y, z, w = sp.symbols("x y z w")
    products = [x * y, 2 * x, -x * y, x / y, y * x**-2, sp.Rational(1, 2) * x, sp.Rational(3, 4) * x / (y * z),
                sp.Mul(2, x, evaluate=False), sp.Mul(1, x, evaluate=False), sp.Mul(-1, x, y, evaluate=False),
                sp.Mul(x, sp.Rational(3, 4), evaluate=False), x * y / (z * w), x / (y**2 * z),
                sp.Mul(-1, 2, x, evaluate=False), sp.Mul(-1, x, 3, evaluate=False),
                sp.Mul(x, sp.Pow(y, -1, evaluate=False), evaluate=False), sp.Mul(x, y**sp.Rational(-1, 2)),
                sp.Mul(sp.Rational(1, 3), sp.Pow(z, -1), evaluate=False), sp.sin(x) * sp.exp(y) / 7]
    for exact in (False, True):
        printer = MathPrinter(3, exact)
        for e in products:
            assert isinstance(e, sp.Mul), e
            ours = printer.sympy_product(e).render(wrap_line=False)
            assert ours == PrettyPrinter._print_Mul(printer, e).render(wrap_line=False), e
