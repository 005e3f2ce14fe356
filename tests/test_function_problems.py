"""The bundled problems of the newer functions (attention_head, svm_hinge, leaky_relu_net), each against
its own independent computation: the loss written here in mpmath at 50 digits from the file's numbers,
its gradient a central difference (the hinge's kink by its one-sided slopes)."""
from __future__ import annotations

from pathlib import Path

import mpmath
import sympy as sp
import yaml

from backprop_tutor import loads, solve

from test_functions import H, check_against, entry, matmul, matvec, moved, numbers, slots, softmax
PROBLEMS = Path(__file__).resolve().parent.parent / "problems"


def bundled_text(name: str) -> str:
    return (PROBLEMS / f"{name}.yaml").read_text(encoding="utf-8")


def test_leaky_relu_net_against_mpmath():
    def loss(g):
        z = [a + b for a, b in zip(matvec(g["W1"], g["x"]), g["b1"])]
        h = [v if v > 0 else v / 10 for v in z]
        y = matvec(g["w2"], h)[0] + g["b2"][0]
        return (y - g["t"][0]) ** 2 / 2
    text = bundled_text("leaky_relu_net")
    check_against(text, loss)
    sol = solve(loads(text))
    assert list(sol.values["h"]) == [sp.Rational(6, 5), sp.Rational(-7, 100)]  # the leaky slope, exactly
    assert sol.loss == sp.Rational(18, 100)


def test_svm_hinge_against_mpmath():
    text = bundled_text("svm_hinge")
    data = yaml.safe_load(text)
    X, t = numbers(data["inputs"]["X"]), numbers(data["targets"]["t"])

    def scores(g):
        return [v + g["b"] for v in matvec(X, g["w"])]

    def loss(g, skip=()):
        y = scores(g)
        hinge = mpmath.fsum(max(0, 1 - b * a) for n, (a, b) in enumerate(zip(y, t)) if n not in skip)
        return hinge + mpmath.mpf("0.1") * mpmath.fsum(v * v for v in g["w"])
    given = {"w": numbers(data["parameters"]["w"]), "b": numbers(data["parameters"]["b"])}
    y = scores(given)
    assert [mpmath.mpf(str(v)) for v in solve(loads(text)).values["y"]] == y
    on_margin = [n for n, (a, b) in enumerate(zip(y, t)) if a * b == 1]
    assert on_margin == [0], "the first point lies exactly on the margin"
    sol = solve(loads(text))
    assert abs(mpmath.mpf(str(sp.N(sol.loss, 50))) - loss(given)) < mpmath.mpf("1e-40")
    # the subgradient 0 for the point on the margin: the gradient is that of the other terms
    for name in ("w", "b"):
        for slot in slots(data["parameters"][name]):
            up = loss({**given, name: moved(given[name], slot, H)}, skip=on_margin)
            down = loss({**given, name: moved(given[name], slot, -H)}, skip=on_margin)
            fd = (up - down) / (2 * H)
            assert abs(mpmath.mpf(str(sp.N(entry(sol.gradients[name], slot), 50))) - fd) < mpmath.mpf("1e-25")
    # and that term's one-sided slopes enclose 0: a subgradient indeed
    right = (loss({**given, "b": given["b"] + H}) - loss(given)) / H
    left = (loss(given) - loss({**given, "b": given["b"] - H})) / H
    assert left - mpmath.mpf("1e-20") <= mpmath.mpf(str(sp.N(sol.gradients["b"], 50))) <= right + mpmath.mpf("1e-20")


def attention(g) -> dict:
    """The head's every intermediate, written out here with its own loops."""
    out = {"Q": matmul(g["X"], g["Wq"]), "K": matmul(g["X"], g["Wk"]), "V": matmul(g["X"], g["Wv"])}
    out["S"] = [[mpmath.fsum(q * k for q, k in zip(out["Q"][i], out["K"][j])) / mpmath.sqrt(2) for j in range(3)]
                for i in range(3)]
    out["A"] = [softmax(row) for row in out["S"]]
    out["Z"] = matmul(out["A"], out["V"])
    return out


def test_attention_head_against_mpmath():
    def loss(g):
        Z = attention(g)["Z"]
        return mpmath.fsum((Z[i][j] - g["T"][i][j]) ** 2 for i in range(3) for j in range(2)) / 2
    text = bundled_text("attention_head")
    check_against(text, loss)
    data = yaml.safe_load(text)
    given = {k: numbers(v) for section in ("inputs", "parameters") for k, v in data[section].items()}
    sol = solve(loads(text))
    for name, rows in attention(given).items():  # every intermediate, a value of its own
        got = sol.values[name]
        for i, row in enumerate(rows):
            for j, want in enumerate(row):
                assert abs(mpmath.mpf(str(sp.N(got[i, j], 50))) - want) < mpmath.mpf("1e-38"), (name, i, j)
