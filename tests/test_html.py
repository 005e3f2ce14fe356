"""tutor export -o NAME.html: one self-contained page of the same solution, math in MathML, the drawing in SVG."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.dom.minidom import Document

import pytest
import sympy as sp

import backprop_tutor
from backprop_tutor import load, loads, solve
from backprop_tutor.notation import number_text
from backprop_tutor.render.html import to_html
from backprop_tutor.render.latex import to_latex
from backprop_tutor.render.markdown import to_markdown
from backprop_tutor.render.mathml import MathMathML, TexMathML
from backprop_tutor.render.svg import clean_svg, plot_svg
from backprop_tutor.texsafe import UnsafeTeX

from helpers import cli as run, sheet12_by_hand

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
SHEET12 = ROOT / "problems" / "sheet12_p2.yaml"
XHTML = "{http://www.w3.org/1999/xhtml}"
MATHML = "http://www.w3.org/1998/Math/MathML"


def needs_dot():
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")


def parsed(page: str):
    """The page read as XML (it is written well-formed): its root element."""
    assert page.startswith("<!DOCTYPE html>\n")
    return ET.fromstring(page[len("<!DOCTYPE html>\n"):])


def answers_rows(page: str) -> list:
    """The rows of the answers table, each cell as its text."""
    root = parsed(page)
    tables = root.findall(".//table")
    assert tables, "no table"
    rows = []
    for tr in tables[-1].find("tbody").findall("tr"):
        rows.append(["".join(td.itertext()) for td in tr.findall("td")])
    return rows


def page_of(path, **options) -> str:
    solution = solve(load(path))
    return to_html(solution, 4, False, figures=options.pop("figures", False), **options)


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_every_bundled_page_is_well_formed_and_fetches_nothing(path):
    page = page_of(path)
    root = parsed(page)
    assert root.tag == "html" and [c.tag for c in root] == ["head", "body"]
    assert root.find("head/title").text == solve(load(path)).title
    assert root.find("body/main/h1") is not None
    lowered = page.lower()
    for word in ("<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import", "javascript:"):
        assert word not in lowered, word
    assert "default-src 'none'" in page   # and the browser is told to fetch nothing either


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_a_page_has_the_parts_and_answers_the_markdown_export_has(path):
    solution = solve(load(path))
    page, markdown = to_html(solution, figures=False), to_markdown(solution)
    md_heads = re.findall(r"^###? (.*)$", markdown, re.M)
    root = parsed(page)
    html_heads = ["".join(h.itertext()) for h in root.iter() if h.tag in ("h1", "h2", "h3")]
    assert len(html_heads) == len(md_heads)
    def parts(heads):   # a part's further sections repeat its label in Markdown only
        labels = [re.match(r"\((\w+)\)", h).group(1) for h in heads if re.match(r"\((\w+)\)", h)]
        return [x for i, x in enumerate(labels) if not i or labels[i - 1] != x]
    assert parts(html_heads) == parts(md_heads)
    if solution.results:
        assert len(answers_rows(page)) == len(solution.results)


def test_the_sheet12_answers_are_the_values_worked_by_hand():
    hand = sheet12_by_hand()
    rows = {(r[0], r[1].replace("\xa0", " ")): r[-1].replace("≈", "").strip() for r in answers_rows(page_of(SHEET12))}
    # the text of W^{(2)}_{21} reads base, subscript, superscript
    want = {("(b)", "L"): hand["loss"], ("(c)", "∂L/∂W21(2)"): hand["g21"], ("(d)", "∂L/∂W12(1)"): hand["g12"],
            ("(e)", "W21(2) (updated)"): hand["W21"], ("(e)", "W12(1) (updated)"): hand["W12"]}
    for key, value in want.items():
        assert rows[key] == number_text(sp.Rational(value.numerator, value.denominator), 4), (key, rows)
    assert rows[("(f)", "L after the update")].endswith(
        number_text(sp.Rational(hand["loss_after"].numerator, hand["loss_after"].denominator), 4))


def test_each_part_ends_in_its_answer_boxed_as_the_latex_boxes_it():
    solution = solve(load(SHEET12))
    page = to_html(solution, figures=False)
    assert page.count('class="boxed"') == to_latex(solution).count("\\boxed{")


def test_the_options_apply_as_for_markdown(tmp_path):
    result = run("export", SHEET12, "-o", tmp_path / "x.html", "--digits", "3", "--part", "b", "--exact")
    assert result.exit_code == 0, (result.output, result.exception)
    page = (tmp_path / "x.html").read_text(encoding="utf-8")
    assert page == to_html(solve(load(SHEET12), parts=("b",), closed_forms=True), 3, True)
    heads = re.findall(r"<h2>\((\w+)\)", page)
    assert heads == ["b"]
    hand = sheet12_by_hand()["loss"]
    assert re.search(f"<mfrac><mrow><mn>{hand.numerator}</mn></mrow><mrow><mn>{hand.denominator}</mn></mrow></mfrac>",
                     page)   # the exact loss, as a fraction


@pytest.mark.parametrize("options, word", [(["--pdf"], "--pdf"), (["--fragment"], "--fragment"),
                                           (["--keep-tex"], "--keep-tex")])
def test_latex_only_options_are_refused_with_a_page(tmp_path, options, word):
    result = run("export", SHEET12, "-o", tmp_path / "x.html", *options)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and word in lines[0]
    assert list(tmp_path.iterdir()) == []


HOSTILE = """
title: "<script>alert(1)</script> & <b onmouseover='x'>"
source: "</title><script>alert(2)</script>"
notes: "Text <img src=x onerror=alert(3)> and math $a <b> c$ and \\\\$5."
inputs: {x: 2}
parameters: {w: 3}
targets: {t: 1}
forward:
  y: w * x
loss: sse(y, t)
"""


def test_text_from_the_file_is_escaped_never_markup():
    problem = loads(HOSTILE)
    page = to_html(solve(problem), figures=False)
    root = parsed(page)
    tags = {e.tag for e in root.iter()}
    assert not tags & {"script", "img", "b"}
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b onmouseover=&#x27;x&#x27;&gt;" in page
    assert "&lt;img src=x onerror=alert(3)&gt;" in page
    assert "<mo>&lt;</mo><mi>b</mi><mo>&gt;</mo>" in page   # $a <b> c$ is math: b between two signs
    assert root.find("head/title").text == problem.title
    assert "".join(root.find("body/main/h1").itertext()) == problem.title


def test_a_hostile_title_reaches_the_drawing_only_as_text():
    needs_dot()
    svg = backprop_tutor.draw(loads(HOSTILE))._repr_svg_()
    root = ET.fromstring(svg)
    assert {e.tag.split("}")[1] for e in root.iter()} <= {"svg", "g", "path", "polygon", "ellipse", "text", "polyline"}
    assert any("<script>alert(1)</script>" in (e.text or "") for e in root.iter())   # the words, as text
    assert "<script" not in svg and not any(k.startswith("on") for e in root.iter() for k in e.attrib)


def test_clean_svg_keeps_the_drawing_and_drops_everything_else():
    dirty = b"""<?xml version="1.0"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<!-- made by dot -->
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt" onload="alert(1)">
<script>alert(2)</script><style>*{background:url(http://x)}</style>
<g id="node1" class="node"><title>n0</title>
<a xlink:href="javascript:alert(3)"><text x="1" y="2">inside a link</text></a>
<ellipse cx="1" cy="2" rx="3" ry="4" fill="url(http://evil/)" stroke="black" style="x"/>
<text x="5" y="6" font-size="12.00">a &lt;b&gt; c</text>
<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>
<image xlink:href="http://x/y.png"/></g></svg>"""
    clean = clean_svg(dirty)
    assert clean.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="10pt" role="img">')
    for word in ("<?xml", "DOCTYPE", "<!--", "script", "style", "onload", "title", "href", "url(", "foreignObject",
                 "image", "inside a link", "id=", "class="):
        assert word not in clean, word
    assert '<ellipse cx="1" cy="2" rx="3" ry="4" stroke="black"></ellipse>' in clean
    assert '<text x="5" y="6" font-size="12.00">a &lt;b&gt; c</text>' in clean
    with pytest.raises(ValueError):
        clean_svg(b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>')
    with pytest.raises(ValueError):
        clean_svg(b"<html/>")


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_a_page_draws_a_figure_where_the_latex_does(path):
    needs_dot()
    solution = solve(load(path))
    page = to_html(solution)
    latex = to_latex(solution)   # the network, the graphs and the decision-boundary plots
    assert page.count("<svg") == latex.count("\\begin{tikzpicture}")
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"


def test_without_dot_the_page_is_written_without_its_figure_and_says_why(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "x.html"
    env = dict(os.environ, PATH=str(empty), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "backprop_tutor", "export", str(SHEET12), "-o", str(out)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("note: ") and "dot is not installed" in lines[0]
    page = out.read_text(encoding="utf-8")
    assert "<svg" not in page and page == to_html(solve(load(SHEET12)), figures=False)


def test_a_page_replaces_an_earlier_one_whole(tmp_path):
    out = tmp_path / "x.html"
    out.write_text("old")
    assert run("export", SHEET12, "-o", out, "--part", "a").exit_code == 0
    assert out.read_text(encoding="utf-8").endswith("</html>\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.html"]


def test_a_fragment_for_a_page_of_ones_own_is_the_main_part():
    solution = solve(load(SHEET12))
    main = to_html(solution, figures=False, standalone=False)
    assert main.startswith("<main>") and "<html" not in main and "<style" not in main
    assert main.strip() in to_html(solution, figures=False)


# ---------------------------------------------------------------- the safe TeX subset as MathML

def translate(tex: str) -> str:
    return TexMathML(Document()).translate(tex).toxml()


@pytest.mark.parametrize("tex, mathml", [
    ("x_1", "<msub><mi>x</mi><mn>1</mn></msub>"),
    ("x_1^2", "<msubsup><mi>x</mi><mn>1</mn><mn>2</mn></msubsup>"),
    ("W^{(2)}_{21}", '<msubsup><mi>W</mi><mrow><mn>21</mn></mrow><mrow><mo stretchy="false">(</mo><mn>2</mn>'
                     '<mo stretchy="false">)</mo></mrow></msubsup>'),
    ("\\frac{a}{b}", "<mfrac><mrow><mi>a</mi></mrow><mrow><mi>b</mi></mrow></mfrac>"),
    ("\\tfrac12", '<mstyle displaystyle="false"><mfrac><mn>1</mn><mn>2</mn></mfrac></mstyle>'),
    ("\\hat{y}", '<mover accent="true"><mrow><mi>y</mi></mrow><mo>^</mo></mover>'),
    ("\\alpha \\le 0.25", "<mrow><mi>α</mi><mo>≤</mo><mn>0.25</mn></mrow>"),
    ("\\mathrm{in}", '<mi mathvariant="normal">in</mi>'),
    ("\\mathbf{W}", "<mrow><mi>𝐖</mi></mrow>"),
    ("\\sqrt[3]{x}", "<mroot><mrow><mi>x</mi></mrow><mn>3</mn></mroot>"),
    ("a - b", "<mrow><mi>a</mi><mo>−</mo><mi>b</mi></mrow>"),
])
def test_the_safe_subset_becomes_mathml(tex, mathml):
    assert translate(tex) == mathml


@pytest.mark.parametrize("tex", ["\\input{x}", "\\text{x}", "a & b", "{x", "\\left( x", "x^", "<script>" * 30])
def test_tex_outside_the_subset_is_refused(tex):
    with pytest.raises(UnsafeTeX):
        translate(tex)


def test_numbers_and_names_follow_the_sheets_notation():
    m = MathMathML(4, False, {"latex": {"W1": "\\mathbf{W}_{1}"}})
    assert m.doprint(sp.Symbol("W1")) == "<msub><mrow><mi>𝐖</mi></mrow><mrow><mn>1</mn></mrow></msub>"
    assert m.doprint(sp.Rational(1, 3)) == "<mn>0.3333</mn>"
    assert MathMathML(4, True).doprint(sp.Rational(-1, 3)) == \
        ('<mrow><mo>−</mo><mstyle displaystyle="false"><mfrac><mrow><mn>1</mn></mrow><mrow><mn>3</mn></mrow></mfrac>'
         '</mstyle></mrow>')
    assert m.doprint(sp.Symbol("y_hat")) == '<mover accent="true"><mrow><mi>y</mi></mrow><mo>^</mo></mover>'
    odd = m.doprint(sp.Symbol("x<y"))
    assert odd == '<mi mathvariant="normal">x&lt;y</mi>'
    # SymPy's own printing (a function it names, its entity for ·) is escaped as well
    assert "<mi>&lt;b&gt;</mi>" in m.doprint(sp.Function("<b>")(sp.Symbol("x")))
    assert "<mo>·</mo>" in m.doprint(sp.Symbol("a") * sp.Symbol("b"))


def test_a_drawing_shows_itself_in_a_notebook_as_svg():
    needs_dot()
    drawing = backprop_tutor.draw("sheet12_p2", values=True)
    svg = drawing._repr_svg_()
    root = ET.fromstring(svg)
    texts = [e.text for e in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "= 0.8089" in texts   # the loss, as the network drawing writes it beside L


def test_drawing_loads_no_printer_until_it_is_shown():
    code = ("import sys, backprop_tutor as b; d = b.draw('sheet12_p2'); "
            "print(sorted(m for m in sys.modules if m.startswith('backprop_tutor.render')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("detail", ["brief", "full"])
@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_every_detail_every_check_and_the_answers_alone_make_a_well_formed_page(path, detail):
    problem = load(path)
    solution = solve(problem, detail=detail, verify=True)
    page = to_html(solution, figures=False, comment=problem.comment)
    parsed(page)
    checked = [s for s in solution.steps() if getattr(s, "check", None) is not None]
    assert page.count("central finite difference") == len(checked)
    if problem.comment:
        assert "<strong>Comment.</strong>" in page
    alone = to_html(solve(problem, answers_only=True), figures=False)
    assert len(parsed(alone).findall(".//table")) == (1 if solution.results else 0)
    assert ("<h2>Answers</h2>" in alone) == bool(solution.results)


@pytest.mark.parametrize("name, wrt", [("sheet2_ex3", "w13"), ("sheet12_p2", "x"), ("ws24_sheet4_ex1", "u11")])
def test_a_derivation_makes_a_page_too(name, wrt):
    d = backprop_tutor.derive(name, wrt)
    page = to_html(d, figures=False)
    root = parsed(page)
    assert "".join(root.find("body/main/h1").itertext()) == d.title
    assert page.count("<math") >= len(list(d.steps()))


def test_a_decision_boundary_is_drawn_as_the_pdf_draws_it():
    from backprop_tutor.diagram import boundary_plot
    solution = solve(load(ROOT / "problems" / "sheet2_ex1.yaml"))
    pieces = next(s for s in solution.steps() if type(s).__name__ == "LinearPieces")
    plot = boundary_plot(pieces)
    svg = plot_svg(plot, ("x<sub>", "y&"))
    root = ET.fromstring(svg)
    shapes = root.findall("{http://www.w3.org/2000/svg}polygon")
    assert len(shapes) == len(plot.areas) + len(plot.borders)
    assert len(root.findall("{http://www.w3.org/2000/svg}polyline")) == len(plot.boundary)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "x<sub>" in texts and "y&" in texts and {"class 1", "class 2"} <= set(texts)
    assert "<sub>" not in svg
    page = to_html(solution, figures=False)   # the plot needs no dot
    assert page.count("<svg") == 1 and "class 1" in page


def test_a_formula_too_wide_for_a_line_is_cut_between_terms_and_loses_nothing():
    from backprop_tutor.render.html import LINE_CHARACTERS, HtmlDocument, characters
    x = sp.symbols("x1:40")
    wide = sp.Add(*[sp.tanh(s) * s for s in x], evaluate=False)
    document = HtmlDocument()
    whole = document.m(wide)
    pieces = document.broken(wide, 40)
    assert len(pieces) > 5
    assert all(characters(p) <= 40 for p in pieces)
    assert all(re.match(r"<mo>[+−]</mo>", p) for p in pieces[1:])   # each further line starts with its sign
    text = lambda s: re.sub(r"<[^>]+>", "", s)  # noqa: E731
    assert "".join(map(text, pieces)) == text(whole)
    display = document.align("<mi>y</mi>", [wide], None)   # the line's room less the left side's
    assert display.count("<mtr>") == len(document.broken(wide, LINE_CHARACTERS - 1)) > 1
    assert "<mtr>" in document.align("<mi>y</mi>", [x[0]], None) and \
        document.align("<mi>y</mi>", [x[0]], None).count("<mtr>") == 1
