"""The float path (numeric.py) agrees with the exact engine: every function, loss, value and gradient."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from backprop_tutor import bundled, load
from backprop_tutor.decision import classify, decision, target_classes
from backprop_tutor.engine import Work
from backprop_tutor.graph import build
from backprop_tutor.numeric import (FUNCTIONS, LOSS_TERMS, batch_of, float_leaves, forward_batch,
                                    loss_and_gradients, natural)
from backprop_tutor.ops import ELEMENTWISE, LOSSES
from backprop_tutor.problem import loads

POINTS = [-2.5, -0.75, -0.1, 0.3, 1.2, 3.0]


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_each_function_and_its_slope_match_the_table(name):
    op = ELEMENTWISE[name]
    f, slope = FUNCTIONS[name]
    params = [sp.Rational(3, 10)] * len(op.params)  # the a of leaky_relu(z, a), elu(z, a)
    floats = [np.array(float(p)) for p in params]
    for v in POINTS:
        if name in ("log", "sqrt") and v <= 0:
            continue
        x = sp.Rational(v).limit_denominator(1000)
        assert f(np.array(float(x)), *floats) == pytest.approx(float(sp.N(op.forward(x, *params), 30)),
                                                              rel=1e-13, abs=1e-15)
        assert slope(np.array(float(x)), *floats) == pytest.approx(float(sp.N(op.derivative(x, *params), 30)),
                                                                  rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_each_loss_term_matches_the_table(name):
    pairs = [(0.3, 1.0), (0.8, 0.0), (0.25, 0.5), (0.9, 1.0)] if name in ("bce", "cross_entropy", "kl") else \
        [(1.5, -0.5), (-0.2, 0.7), (2.0, 2.0)]
    params = [sp.Rational(1, 2)] * len(LOSSES[name].params)  # the delta of huber
    for y, t in pairs:
        if name == "kl" and t == 0:
            continue
        exact = LOSSES[name].term(sp.Rational(y).limit_denominator(100), sp.Rational(t).limit_denominator(100), *params)
        got = LOSS_TERMS[name](np.array(y), np.array(t), *(np.array(float(p)) for p in params))
        assert got == pytest.approx(float(sp.N(exact, 30)), rel=1e-13, abs=1e-15)


def numeric_problems():
    out = []
    for name in [e.name for e in bundled.bundled()]:
        problem = load(bundled.find(name))
        graph = build(problem)
        if problem.loss is None or len(float_leaves(graph)) < sum(n.expr is None for n in graph.nodes.values()):
            continue
        out.append(name)
    return out


def floats(x, shape):
    """An exact engine value as floats of the node's own shape."""
    if shape == ():
        return float(sp.N(x, 30))
    a = np.array([float(sp.N(v, 30)) for v in x], dtype=float)
    return a if len(shape) == 1 else a.reshape(shape)


@pytest.mark.parametrize("name", numeric_problems())
def test_float_values_and_gradients_agree_with_the_exact_engine(name):
    graph = build(load(bundled.find(name)))
    work = Work(graph, asked=set())
    leaves = float_leaves(graph)
    values = forward_batch(graph, leaves)
    for n, node in graph.nodes.items():
        assert np.allclose(natural(values[n], node.shape), floats(work.values[n].x, node.shape),
                           rtol=1e-12, atol=1e-14), n
    trained = [p.name for p in graph.parameters if p.name not in graph.problem.frozen]  # asked=set(): frozen ones have no δ
    loss, grads = loss_and_gradients(graph, leaves, trained)
    assert loss == pytest.approx(float(sp.N(work.values["L"].x, 30)), rel=1e-12)
    for p in trained:
        assert np.allclose(natural(grads[p], graph.nodes[p].shape), floats(work.deltas[p].x, graph.nodes[p].shape),
                           rtol=1e-10, atol=1e-13), p


RING = """
inputs: {x: [0, 0]}
parameters:
  W1: [[0.5, -0.3], [0.2, 0.8], [-0.6, 0.1]]
  b1: [0.1, -0.2, 0.05]
  w2: [[0.7, -0.4, 0.9]]
  b2: [-0.1]
targets: {t: [0]}
forward:
  h: tanh(W1 @ x + b1)
  z: w2 @ h + b2
loss: bce(sigmoid(z), t)
"""


def test_a_batch_is_the_mean_of_its_samples_one_by_one():
    graph = build(loads(RING))
    rng = np.random.default_rng(3)
    xs, ts = rng.normal(size=(7, 2)), rng.integers(0, 2, size=(7, 1)).astype(float)
    leaves = float_leaves(graph)
    wrt = ["W1", "b1", "w2", "b2"]
    loss, grads = loss_and_gradients(graph, {**leaves, "x": batch_of(graph, "x", xs), "t": batch_of(graph, "t", ts)},
                                     wrt)
    singles = [loss_and_gradients(graph, {**leaves, "x": batch_of(graph, "x", xs[k:k + 1]),
                                          "t": batch_of(graph, "t", ts[k:k + 1])}, wrt) for k in range(7)]
    assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-14)
    for p in wrt:
        assert np.allclose(grads[p], np.mean([s[1][p] for s in singles], axis=0), rtol=1e-13, atol=1e-15)


def test_float_gradients_agree_with_finite_differences():
    graph = build(loads(RING))
    rng = np.random.default_rng(5)
    leaves = {**float_leaves(graph), "x": batch_of(graph, "x", rng.normal(size=(5, 2))),
              "t": batch_of(graph, "t", rng.integers(0, 2, size=5))}
    _, grads = loss_and_gradients(graph, leaves, ["W1"])
    h = 1e-6
    for i in range(3):
        for j in range(2):
            up, down = leaves["W1"].copy(), leaves["W1"].copy()
            up[0, i, j] += h
            down[0, i, j] -= h
            slope = (loss_and_gradients(graph, {**leaves, "W1": up}, [])[0]
                     - loss_and_gradients(graph, {**leaves, "W1": down}, [])[0]) / (2 * h)
            assert grads["W1"][i, j] == pytest.approx(slope, rel=1e-6, abs=1e-9)


def test_the_classes_of_a_fused_logit_split_at_zero_and_targets_read_alike():
    d = decision(loads(RING), targets=np.array([[0.0], [1.0]]))
    assert (d.output, d.threshold, d.labels) == ("z", 0.0, ("t = 0", "t = 1"))
    assert classify(d, np.array([-0.2, 0.3, 1e-9])).tolist() == [0, 1, 1]
    assert target_classes(d, np.array([[1.0], [0.0]])).tolist() == [1, 0]


def test_a_linear_pieces_part_names_the_classes():
    d = decision(load(bundled.find("sheet2_ex1")))
    assert (d.output, d.threshold, d.labels) == ("y", 0.0, ("class 1", "class 2"))


def test_two_target_values_split_at_their_midpoint_and_a_softmax_at_its_largest_entry():
    sse = loads(RING.replace("loss: bce(sigmoid(z), t)", "loss: sse(z, t)"))
    d = decision(sse, targets=np.array([-1.0, 1.0, 1.0]))
    assert d.threshold == 0.0 and d.labels == ("t = -1", "t = 1")
    d = decision(sse, targets=np.array([0.0, 1.0]))
    assert d.threshold == 0.5 and classify(d, np.array([0.49, 0.51])).tolist() == [0, 1]
    soft = decision(load(bundled.find("exercise3_softmax_ce")))
    assert soft.threshold is None
    assert classify(soft, np.array([[[0.1], [0.7], [0.2]]])).tolist() == [1]
