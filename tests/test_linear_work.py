"""The work is linear in the size of the network: no path enumeration, no expression swell.

A scalar chain h_k = tanh(w_k * h_(k-1)) of depth D has D parameters and 2D + 1 nodes. Reverse
accumulation visits every node a bounded number of times, so the number of calls to
rules.backward grows linearly with D; we count them by wrapping the function.
"""
from __future__ import annotations

import importlib
import time

import pytest

import backprop_tutor.rules as rules
from backprop_tutor import loads, solve


def chain(depth: int) -> str:
    weights = "\n".join(f"  w{k}: {'0.9' if k % 2 else '-0.8'}" for k in range(1, depth + 1))
    lines = "\n".join(f"  h{k}: tanh(w{k} * h{k - 1})" for k in range(1, depth + 1))
    return (f"inputs:\n  h0: 0.5\nparameters:\n{weights}\ntargets:\n  t: 0.25\n"
            f"forward:\n{lines}\nloss: half_sse(h{depth}, t)\nlearning_rate: 0.1\n")


@pytest.fixture
def count_backward(monkeypatch):
    """Counts every call of rules.backward, the recursive ones included."""
    engine_module = importlib.import_module("backprop_tutor.engine")
    calls = {"n": 0}
    original = rules.backward

    def counted(*args, **kwargs):
        calls["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(rules, "backward", counted)        # the recursion inside rules.py
    monkeypatch.setattr(engine_module, "backward", counted)  # the calls from the engine
    return calls


def calls_for(depth: int, calls: dict) -> int:
    calls["n"] = 0
    sol = solve(loads(chain(depth)))
    assert set(sol.gradients) == {f"w{k}" for k in range(1, depth + 1)}
    return calls["n"]


def test_backward_calls_grow_linearly(count_backward):
    c10, c20, c40 = (calls_for(d, count_backward) for d in (10, 20, 40))
    assert c10 > 0
    assert c40 <= 4.5 * c10, (c10, c20, c40)
    # a constant amount per layer: equal increments when the depth grows by equal amounts
    assert c40 - c20 == 2 * (c20 - c10), (c10, c20, c40)


def test_depth_40_is_solved_quickly():
    start = time.perf_counter()
    sol = solve(loads(chain(40)))
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"depth 40 took {elapsed:.1f} s"
    assert sol.loss_after is not None
