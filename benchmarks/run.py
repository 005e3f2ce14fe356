"""Time `tutor` against the SymPy import floor: bundled problems, generated MLPs, peak memory.

Usage: python benchmarks/run.py [--rounds N] [--quick]   (from the repository root, with tutor installed)

Every figure is the median CPU time (user + system) of a fresh process, measured in rounds that run each
command once, each run between runs of the two floors: a ratio is the median of the run-by-run ratios to
the mean of the floor's runs on either side, which holds on a machine whose speed drifts. Ratios are to
the imports the tool cannot avoid (`import sympy, typer, yaml, rich`) or to a bare `import sympy`; the
spread (between the quartiles of the ratios to the imports) says how far apart the runs lay.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TUTOR = [PYTHON, "-m", "backprop_tutor"]
FLOORS = {"import sympy": [PYTHON, "-c", "import sympy"],
          "import sympy, typer, yaml, rich": [PYTHON, "-c", "import sympy, typer, yaml, rich"]}
BUNDLED = ("ws24_sheet4_ex1", "sheet12_p2", "mazur_step_by_step", "conv2d_maxpool", "rnn_elman_bptt")


def mlp(width: int, depth: int, activation: str, seed: int = 1) -> str:
    """A problem file: 4 inputs, `depth` hidden layers of `width` units, 2 outputs, weights ±0.1…±0.9."""
    rng = random.Random(seed)

    def tenth():
        return rng.choice([k / 10 for k in range(-9, 10) if k])

    def matrix(rows, cols):
        return "[" + ", ".join("[" + ", ".join(f"{tenth():g}" for _ in range(cols)) + "]" for _ in range(rows)) + "]"

    def vector(n):
        return "[" + ", ".join(f"{tenth():g}" for _ in range(n)) + "]"

    sizes = [4] + [width] * depth + [2]
    lines = [f"title: \"MLP 4-{'-'.join(str(width) for _ in range(depth))}-2, {activation}\"",
             "inputs:", "  x: [1, -1, 2, 0.5]", "parameters:"]
    for k in range(1, len(sizes)):
        lines.append(f"  W{k}: {matrix(sizes[k], sizes[k - 1])}")
        lines.append(f"  b{k}: {vector(sizes[k])}")
    lines += ["targets:", "  t: [1, 0]", "forward:"]
    previous = "x"
    for k in range(1, len(sizes)):
        last = k == len(sizes) - 1
        lines.append(f"  z{k}: W{k} @ {previous} + b{k}")
        lines.append(f"  h{k}: {'sigmoid' if last else activation}(z{k})")
        previous = f"h{k}"
    lines += ["loss: half_sse(h%d, t)" % (len(sizes) - 1), "learning_rate: 0.1", ""]
    return "\n".join(lines)


def limits(width: int, depth: int) -> list:
    """The --limit settings a network this wide and deep needs."""
    settings = [f"values={max(1536, (depth + 1) * width * width + 8 * width)}"]
    if width > 32:
        settings += [f"matrix_side={width}", f"matrix_elements={width * width}"]
    return [part for setting in settings for part in ("--limit", setting)]


def cpu(command: list, cwd: str) -> tuple[float, int]:
    """CPU seconds (user + system) and peak resident kilobytes of one run of `command`."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=dict(os.environ, COLUMNS="80"))
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()[-500:]}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def bracketed(seconds: float, before: float, after: float) -> float:
    """A run's ratio to a floor: to the mean of the floor's runs just before and just after it, which
    cancels a drift of the machine's speed that a floor on one side would count in the ratio."""
    return seconds / ((before + after) / 2)


def quartile_spread(values: list) -> float:
    """The distance between the upper and the lower quartile: how far apart the middle half of the runs lie."""
    if len(values) < 2:
        return 0.0
    lower, _, upper = statistics.quantiles(values, n=4)
    return upper - lower


def measure(commands: dict, rounds: int, cwd: str) -> dict:
    """For each command: the median of its CPU seconds, the medians of its ratios to the two floors, the
    spread of its ratios to the imports (quartile_spread) and its largest peak memory, over interleaved
    rounds; each run lies between runs of the floors, and each ratio is bracketed()."""
    order = list(FLOORS)
    times = {name: [] for name in commands}
    ratios = {name: ([], []) for name in commands}
    memory = {name: 0 for name in commands}
    for _ in range(rounds):
        before = {floor: cpu(FLOORS[floor], cwd)[0] for floor in order}
        for name, command in commands.items():
            seconds, peak = cpu(command, cwd)
            order.reverse()  # the floors in mirror order on either side: each as many runs before as after
            after = {floor: cpu(FLOORS[floor], cwd)[0] for floor in order}
            times[name].append(seconds)
            for kept, floor in zip(ratios[name], FLOORS):
                kept.append(bracketed(seconds, before[floor], after[floor]))
            memory[name] = max(memory[name], peak)
            before = after
    return {name: (statistics.median(times[name]), statistics.median(ratios[name][0]),
                   statistics.median(ratios[name][1]), quartile_spread(ratios[name][1]), memory[name] / 1024)
            for name in commands}


def derive_sizes(work: str) -> dict:
    """Lines of `tutor derive --wrt W1` (the first layer's weights: the longest chain) by depth."""
    out = {}
    for depth in (1, 2, 4, 6):
        path = os.path.join(work, f"mlp_4x{depth}_sigmoid.yaml")
        Path(path).write_text(mlp(4, depth, "sigmoid"))
        run = subprocess.run(TUTOR + ["derive", path, "--wrt", "W1", "--no-color"], capture_output=True, text=True,
                             cwd=work, env=dict(os.environ, COLUMNS="80"), check=True)
        out[depth] = len(run.stdout.splitlines())
    return out


def machine() -> str:
    """The machine the table was measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
            f"Python {platform.python_version()}; {platform.system()} {platform.release()}")


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument("--quick", action="store_true", help="floors, bundled problems and the 3x32 MLPs only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        commands = dict(FLOORS)
        for name in BUNDLED:
            commands[f"solve {name} --json"] = TUTOR + ["solve", name, "--json"]
            commands[f"solve {name}"] = TUTOR + ["solve", name, "--no-color"]
            commands[f"export {name} -o .tex"] = TUTOR + ["export", name, "-o", os.path.join(work, f"{name}.tex")]
        shapes = [(32, 3, a) for a in ("relu", "sigmoid", "tanh")]
        if not args.quick:
            shapes += [(w, 3, "sigmoid") for w in (8, 16, 64)] + [(16, d, "sigmoid") for d in (1, 2, 4, 6)]
            shapes += [(64, 3, "relu"), (64, 3, "tanh")]
        for width, depth, activation in shapes:
            path = os.path.join(work, f"mlp_{width}x{depth}_{activation}.yaml")
            Path(path).write_text(mlp(width, depth, activation))
            label = f"MLP 4-{width}x{depth}-2 {activation}"
            commands[f"{label} --json"] = TUTOR + limits(width, depth) + ["solve", path, "--json"]
            if activation == "sigmoid" or not args.quick:
                commands[f"{label} terminal"] = TUTOR + limits(width, depth) + ["solve", path, "--no-color"]
        results = measure(commands, args.rounds, work)
        sizes = derive_sizes(work) if not args.quick else {}
    floor = results["import sympy"][0]
    unavoidable = results["import sympy, typer, yaml, rich"][0]
    print(f"machine: {machine()}")
    print(f"median CPU of {args.rounds} rounds (`import sympy` {floor:.3f} s, `import sympy, typer, yaml, rich` "
          f"{unavoidable:.3f} s); each ratio is the median of the run-by-run ratios to the mean of the floor's\n"
          "runs just before and just after; spread: between the quartiles of the ratios to the imports\n")
    print(f"| {'command':<42} | {'CPU s':>6} | {'× sympy':>7} | {'× imports':>9} | {'spread':>6} | {'peak MB':>7} |")
    print(f"|{'-' * 44}|{'-' * 8}:|{'-' * 9}:|{'-' * 11}:|{'-' * 8}:|{'-' * 9}:|")
    for name, (seconds, to_sympy, to_imports, spread, peak) in results.items():
        print(f"| {name:<42} | {seconds:6.3f} | {to_sympy:7.2f} | {to_imports:9.2f} | {spread:6.2f} | {peak:7.0f} |")
    if sizes:
        print("\n`tutor derive --wrt W1` on a 4-unit-wide sigmoid MLP, lines of output by depth: "
              + ", ".join(f"depth {d}: {n}" for d, n in sizes.items()))


if __name__ == "__main__":
    main()
