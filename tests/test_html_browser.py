"""The exported pages in a real browser: headless Chromium lays them out (MathML, SVG) and draws them."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from backprop_tutor import load, solve
from backprop_tutor.prose import paragraphs
from backprop_tutor.render.html import to_html
from backprop_tutor.render.printer import plain_given

from helpers import cli as run

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
PAGES = ["sheet12_p2", "dnn_a9_q2", "exercise3_softmax_ce"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTH, HEIGHT = 1000, 3000
TIMEOUT = 120   # seconds for one browser run


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip("chromium is not installed (apt install chromium)")
    return str(CHROMIUM)


def chromium(browser: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """One headless run with a profile of its own, no shell, a time limit."""
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def rendered(browser, tmp_path_factory):
    """name → (the page's DOM as the browser built it, the screenshot as an RGB array)."""
    out = {}
    for name in PAGES:
        folder = tmp_path_factory.mktemp(name)
        page = folder / f"{name}.html"
        result = run("export", ROOT / "problems" / f"{name}.yaml", "-o", page)
        assert result.exit_code == 0, (result.output, result.exception)
        dom = chromium(browser, folder, "--dump-dom", page.as_uri())
        assert dom.returncode == 0, dom.stderr[-2000:]
        png = folder / f"{name}.png"
        shot = chromium(browser, folder, f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri())
        assert shot.returncode == 0 and png.is_file(), shot.stderr[-2000:]
        import matplotlib.image as image
        out[name] = (dom.stdout.decode("utf-8"), image.imread(png)[:, :, :3])
    return out


def displayed(name: str) -> int:
    """How many pieces of math the page must set at least: each $…$ of the notes, one display per step
    (a section of given values is one display), and the quantity and value of each row of the answers table."""
    solution = solve(load(ROOT / "problems" / f"{name}.yaml"))
    count = sum(math for p in paragraphs(solution.notes or "") for math, _ in p)
    for section in solution.sections:
        steps = section.steps
        if steps and all(plain_given(s) for s in steps):
            count += 1
        else:
            count += sum(type(s).__name__ not in ("GraphStructure", "Dimensions") for s in steps)
    return count + 2 * len(solution.results)


@pytest.mark.parametrize("name", PAGES)
def test_the_browser_builds_the_math_and_the_drawing(rendered, name):
    dom, _ = rendered[name]
    need = displayed(name)
    assert need >= 3
    assert dom.count("<math") >= need, (dom.count("<math"), need)
    solution = solve(load(ROOT / "problems" / f"{name}.yaml"))
    figures = (solution.diagram is not None) + sum(type(s).__name__ == "GraphStructure" for s in solution.steps())
    assert figures >= 1 and dom.count("<svg") == figures and "<polygon" in dom    # the drawings, inline
    assert "<script" not in dom.lower()
    assert solve(load(ROOT / "problems" / f"{name}.yaml")).title.split()[0] in dom


@pytest.mark.parametrize("name", PAGES)
def test_the_browser_draws_the_page_all_the_way_down(rendered, name):
    _, pixels = rendered[name]
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    ink = (pixels < 0.8).any(axis=2)            # a pixel of text or line, not the white page
    top = pixels[:400]
    colours = np.unique((top * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 30, len(colours)      # antialiased text, grey fills: not a blank or one-colour page
    assert ink[:400].mean() > 0.01
    rows = np.flatnonzero(ink.any(axis=1))
    depth = rows.max()
    assert depth > 1000, depth                  # the answers table sits far below the heading
    bands = [ink[y:y + 250].any() for y in range(0, depth, 250)]
    assert all(bands), bands                    # and no band in between is empty: the page is drawn throughout
    assert ink[:, :50].mean() < 0.01            # nothing runs off to the left margin


def test_a_page_is_the_same_page_the_library_writes(rendered, tmp_path):
    page = tmp_path / "x.html"
    assert run("export", ROOT / "problems" / "sheet12_p2.yaml", "-o", page).exit_code == 0
    assert page.read_text(encoding="utf-8") == to_html(solve(load(ROOT / "problems" / "sheet12_p2.yaml")))
