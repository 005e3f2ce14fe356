"""The package's imports flow one way: no private name crosses a module, no cycle, no printer below render/."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "backprop_tutor"
NAME = "backprop_tutor"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str):
    """(imported module, imported name or None, line) for every import of ours in a module,
    at module level or inside a function."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == NAME:
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != NAME:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:  # from . import stable: the module itself
                    yield sub, None, node.lineno
                else:
                    yield target, alias.name, node.lineno


def test_the_walk_finds_our_imports():
    found = {(m, n) for m, n, _ in imports("backprop_tutor.render.printer")}
    assert ("backprop_tutor.algebra", "Partial") in found
    found = {(m, n) for m, n, _ in imports("backprop_tutor.render.terminal")}
    assert ("backprop_tutor.render.console", "trimmed") in found
    assert ("backprop_tutor.stable", None) in {(m, n) for m, n, _ in imports("backprop_tutor.algebra")}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_name_is_imported_from_another_module(name):
    bad = [f"line {line}: {n} from {m}" for m, n, line in imports(name)
           if n is not None and n.startswith("_") and not n.startswith("__") and m != name]
    assert not bad, bad


def graph() -> dict:
    edges = {name: set() for name in MODULES}
    for name in MODULES:
        for m, _, _ in imports(name):
            if m in MODULES and m != name:
                edges[name].add(m)
    return edges


def cycle(edges: dict) -> list | None:
    """One cycle among the modules, or None."""
    state: dict = {}
    path: list = []

    def visit(n):
        state[n] = "open"
        path.append(n)
        for m in sorted(edges[n]):
            if state.get(m) == "open":
                return path[path.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        path.pop()
        state[n] = "done"
        return None

    for n in sorted(edges):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_our_modules():
    # a package imports its own submodules lazily; a submodule importing its package is the edge that counts
    edges = graph()
    found = cycle(edges)
    assert found is None, " → ".join(found)


def test_only_the_printers_and_the_cli_import_render():
    allowed = ("backprop_tutor.render", "backprop_tutor.cli")
    bad = [f"{name} line {line}: {m}" for name in MODULES if not name.startswith(allowed)
           for m, _, line in imports(name) if m.startswith("backprop_tutor.render")]
    assert not bad, bad


def documented_layers() -> dict:
    """module → the number of its layer in docs/architecture.md (render/* as `render`)."""
    import re
    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    out = {}
    for k, item in enumerate(re.findall(r"^\d+\. .*(?:\n {3,}.*)*", doc, re.M)):
        for m in re.findall(r"`([a-z_]+)(?:\.py|/\*)`", item):
            out[m] = k
    return out


def layer_of(name: str, layers: dict):
    short = name.removeprefix(NAME).lstrip(".") or "__init__"
    return layers.get(short.split(".")[0])


def test_the_documented_layers_name_real_modules():
    layers = documented_layers()
    assert len(layers) > 20
    for m in layers:
        assert f"{NAME}.{m}" in MODULES or m == "__init__", m


def test_imports_go_only_to_the_same_or_an_earlier_layer():
    layers = documented_layers()
    bad = []
    for name in MODULES:
        for m, _, line in imports(name):
            a, b = layer_of(name, layers), layer_of(m, layers)
            if a is not None and b is not None and b > a:
                bad.append(f"{name} line {line} imports {m}, a later layer")
    assert not bad, bad
