"""The library report that ``gradgames reproduce`` calls for f = 4x^2 - 4y^2."""

import json
from pathlib import Path

from gradgames.saddle import assignment_report


def test_assignment_report(tmp_path):
    report = assignment_report(tmp_path)
    assert report["checks"] and all(report["checks"].values()), report["checks"]
    runs = report["runs"]
    assert abs(runs["gda, stable eta"]["observed_rate"] - 0.6) < 1e-12  # |1 - 8 * 0.05|
    assert (runs["gda, best eta"]["status"], runs["gda, best eta"]["steps"]) == ("converged", 1)
    assert runs["gda, unstable eta"]["status"] == "diverged"
    assert runs["gd"]["status"] == "diverged"
    assert abs(report["gd_growth"][0]["c"] - 8.0) < 1e-12
    for path in report["figures"].values():
        assert Path(path).read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "saddle-assignment.json").read_text())
    assert saved["checks"] == report["checks"]
