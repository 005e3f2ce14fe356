"""Vectors and matrices whose elements are left open (null): each element is a symbol x[i], W[i,j]."""
import sympy as sp

from backprop_tutor import loads
from backprop_tutor.derivation import derive

PROBLEM = """
inputs: {x: [null, null]}
parameters: {W: [[null, null], [null, null]]}
targets: {t: [null, null]}
forward:
  z: W @ x
  h: relu(z)
loss: half_sse(h, t)
"""


def R(name):
    return sp.Symbol(name, real=True)


def test_an_open_weight_element_is_derived_in_element_names():
    d = derive(loads(PROBLEM), "W[1,2]")
    # by hand: δ_h = h − t, δ_z = δ_h ⊙ step(z), ∂L/∂W[1,2] = δ_z[1]·x[2]
    from backprop_tutor.ops import step
    want = (R("h[1]") - R("t[1]")) * step(R("z[1]")) * R("x[2]")
    assert sp.expand(d.whole.expression - want) == 0
    assert [f"{p.of}/{p.wrt}" for p in d.chain.factors] == ["L/h", "h/z", "z/W[1,2]"]


def test_a_partly_open_vector_mixes_numbers_and_symbols():
    problem = loads("inputs: {x: [2, null]}\nparameters: {w: [3, 1]}\ntargets: {t: 0}\n"
                    "forward: {y: w @ x}\nloss: sse(y, t)\n")
    d = derive(problem, "w[1]")
    # y = 3·2 + 1·x[2] stays the name y (as a sheet writes it); ∂L/∂w[1] = 2 (y − t) x[1] = 4 y
    assert sp.expand(d.whole.value - 4 * R("y")) == 0
    y = loads("inputs: {x: [2, null]}\nparameters: {w: [3, 1]}\nforward: {y: w @ x}\n"
              "ask: [{part: a, show: forward}]\n")
    from backprop_tutor import solve
    assert sp.expand(solve(y).values["y"] - (6 + R("x[2]"))) == 0
