"""The Part 2 section of the reproduction report, built from the AssignmentReport's JSON."""

from pathlib import Path

from gradgames.files import parse_json, to_json
from gradgames.report import Report
from gradgames.reproduce_report import _saddle
from gradgames.saddle import METHODS, assignment_report


def test_part2_section_shows_every_dynamic_and_the_two_timescale_map(tmp_path):
    record = parse_json(to_json(assignment_report(tmp_path / "part2").to_dict()))
    report = Report("test")
    _saddle(report, record, 1.0, tmp_path)
    markdown = report.markdown()
    assert "| gda | (0, 0.25) | 0.125 | 0 |" in markdown  # the assignment's answer
    for method in METHODS:
        assert f"| {method} | " in markdown, method
    assert "| nm-gda | (0, 0.125) |" in markdown and "momentum = -0.5" in markdown
    assert "| co | (0, 0.00308642) |" in markdown and "co_gamma = 10.0" in markdown
    assert "| hgd | (0, 0.03125) |" in markdown
    assert "**NO**" not in markdown
    figures = report.figures()
    assert "part2/saddle-map-gda.png" in figures and len(figures) == 3
    for figure in figures:
        assert (Path(tmp_path) / figure).read_bytes()[:4] == b"\x89PNG"
    assert "Two timescales" in markdown and "both are below 1/4" in markdown
