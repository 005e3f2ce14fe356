"""benchmarks/run.py's arithmetic, on a machine that is simulated (no timing is asserted here)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("benchmark_run", ROOT / "benchmarks" / "run.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


class DriftingMachine:
    """Runs take their work times a speed factor that grows by `drift` with every run; the log keeps the order."""

    def __init__(self, work: dict, drift: float):
        self.work, self.drift, self.runs, self.log = work, drift, 0, []

    def cpu(self, command, cwd):
        self.runs += 1
        self.log.append(command[-1])
        return self.work[command[-1]] * (1 + self.drift * self.runs), 1024


def test_a_steady_drift_of_the_machine_does_not_reach_the_ratios(monkeypatch):
    floors = dict(bench.FLOORS)
    work = {"import sympy": 1.0, "import sympy, typer, yaml, rich": 1.25, "solve": 1.875, "export": 2.5}
    machine = DriftingMachine(work, drift=0.01)
    monkeypatch.setattr(bench, "cpu", machine.cpu)
    commands = dict(floors, solve=["tutor", "solve"], export=["tutor", "export"])
    results = bench.measure(commands, rounds=3, cwd=".")
    for name, (_, to_sympy, to_imports, spread, _) in results.items():
        assert to_sympy == pytest.approx(work[name] / 1.0)
        assert to_imports == pytest.approx(work[name] / 1.25)
        assert spread == pytest.approx(0.0, abs=1e-12)
    # every run of a command lies between runs of both floors
    floor_names = {command[-1] for command in floors.values()}
    for i, name in enumerate(machine.log):
        if name not in floor_names:
            assert set(machine.log[i - 2:i]) == floor_names and set(machine.log[i + 1:i + 3]) == floor_names


def test_a_ratio_is_to_the_mean_of_the_floors_on_either_side():
    assert bench.bracketed(3.0, 1.0, 2.0) == 2.0
    assert bench.quartile_spread([1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(3.0)
    assert bench.quartile_spread([1.4]) == 0.0
