"""The library report that ``gradgames reproduce`` calls for f = 4x^2 - 4y^2."""

from pathlib import Path

import numpy as np

from gradgames.files import parse_json, to_json
from gradgames.saddle import METHODS, AssignmentReport, assignment_report


def test_assignment_report(tmp_path):
    report = assignment_report(tmp_path)
    assert report.checks and all(report.checks.values()), report.checks
    runs = report.runs
    assert abs(runs["gda, stable eta"].observed_rate - 0.6) < 1e-12  # |1 - 8 * 0.05|
    assert (runs["gda, best eta"].status, runs["gda, best eta"].steps) == ("converged", 1)
    assert runs["gda, unstable eta"].status == "diverged"
    assert runs["gd"].status == "diverged"
    assert abs(report.gd_growth[0][0] - 8.0) < 1e-12
    assert set(report.figures) == {"trajectories", "spectral_radius", "stability_map"}
    for path in report.figures.values():
        assert Path(path).read_bytes()[:4] == b"\x89PNG"
    saved = parse_json((tmp_path / "saddle-assignment.json").read_text())
    assert saved == parse_json(to_json(report.to_dict()))
    assert list(saved["analysis"]["stationary_points"][0]["stability"]) == list(METHODS)
    again = AssignmentReport.from_dict(saved)
    assert again.checks == report.checks and again.runs == report.runs
    assert again.analysis.points[0].stability["gda"].intervals == [(0.0, 0.25)]


def test_the_two_timescale_map_of_the_assignment_is_the_square(tmp_path):
    report = assignment_report(tmp_path)
    grid = parse_json((tmp_path / "saddle-map-gda.json").read_text())["grid"]
    ex, ey = np.meshgrid(grid["eta_x"], grid["eta_y"])
    stable = np.array(grid["spectral_radius"]) < 1
    expected = (ex < 0.25) & (ey < 0.25)  # rho = max(|1 - 8 eta_x|, |1 - 8 eta_y|)
    assert np.array_equal(stable, expected)
    assert report.stability_map["stable_cells"] == int(expected.sum())
    lines = (tmp_path / "saddle-map-gda.csv").read_text().splitlines()
    assert lines[0] == "eta_x,eta_y,spectral_radius,stable" and len(lines) == ex.size + 1
