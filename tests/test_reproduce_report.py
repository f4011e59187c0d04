"""The report's form on small inputs, in milliseconds: maths, zeros, contents, grids."""

import pytest

from gradgames.report import GRID_WIDTH, Report
from gradgames.reproduce_report import ZERO, _g, greek, maths


@pytest.mark.parametrize("expression, printed", [
    ("4*x**2 - 4*y**2", "4x² - 4y²"), ("-x*y", "-x·y"),
    ("x**2*y + 3*(x - y)**3", "x²·y + 3(x - y)³"),
])  # fmt: skip
def test_expressions_print_in_unicode(expression, printed):
    assert maths(expression) == printed


def test_setting_labels_get_their_greek_letters():
    assert greek("constant eta=0.1") == "constant η=0.1"
    assert greek("alpha=1/32, beta -0.5, betas") == "α=1/32, β -0.5, betas"
    assert greek("(gamma 10): eta_x < 1/4, |1 - 8 eta|^n d0") == "(γ 10): η_x < 1/4, |1 - 8 η|ⁿ d0"


def test_rounding_errors_of_an_exact_zero_print_as_zero():
    assert _g(1.77636e-15) == "0" and _g(-0.0) == "0" and _g(None) == "none"
    assert _g(ZERO * 0.25 / 2, 0.25) == "0" and _g(1e-9, 0.25) == "1e-09"
    assert _g(0.125) == "0.125" and _g(2e-12) == "2e-12"


def test_contents_link_every_heading_with_github_anchors(tmp_path):
    report = Report("t")
    for text, level in (("Part 1: a (1.0 s)", 2), ("After epoch 1", 3), ("After epoch 1", 3)):
        report.heading(text, level)
    assert [a for _, a in report.contents()] == ["part-1-a-10-s", "after-epoch-1",
                                                 "after-epoch-1-1"]  # fmt: skip
    markdown = report.markdown()
    assert "- [Part 1: a (1.0 s)](#part-1-a-10-s)\n  - [After epoch 1](#after-epoch-1)" in markdown
    html = report.html(tmp_path)
    assert '<a href="#after-epoch-1-1">' in html and '<h3 id="after-epoch-1-1">' in html


def test_grids_render_at_one_width_and_plain_figures_as_they_are(tmp_path):
    (tmp_path / "g.png").write_bytes(b"\x89PNG")
    report = Report("t")
    report.figure("g.png", "a grid", grid=True)
    report.figure("g.png", "a curve")
    assert report.figures() == ["g.png", "g.png"]
    markdown = report.markdown()
    assert f'<img src="g.png" alt="a grid" width="{GRID_WIDTH}">' in markdown
    assert "![a curve](g.png)" in markdown
    html = report.html(tmp_path)
    assert html.count('<img class="grid"') == 1 and html.count("<img ") == 2
