"""The assignment's game f = 4x^2 - 4y^2, checked against its closed forms.

GDA multiplies both coordinates by ``1 - 8 eta`` per step, so it converges exactly for
``0 < eta < 1/4`` and reaches the saddle in one step at ``eta = 1/8``; plain gradient descent on
both variables multiplies y by ``1 + 8 eta`` and diverges for every eta > 0 unless y0 = 0.
:func:`assignment_report` computes all of this with the general machinery (stationary points,
stability intervals, runs) and compares it with those formulas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gradgames.runs import write_json
from gradgames.saddle.dynamics import run
from gradgames.saddle.game import Game
from gradgames.saddle.plots import plot_compare, plot_spectral_radius
from gradgames.saddle.report import ASSIGNMENT_F, analyze, run_summary
from gradgames.saddle.stability import gd_growth

RUNS = (  # (name, method, eta): a stable eta, the best one, an unstable one, and plain gd
    ("gda, stable eta", "gda", 0.05),
    ("gda, best eta", "gda", 0.125),
    ("gda, unstable eta", "gda", 0.3),
    ("gd", "gd", 0.05),
)


def assignment_report(
    out_dir: Path, *, steps: int = 60, x0: float = 1.0, y0: float = 1.0, rtol: float = 1e-9
) -> dict[str, Any]:
    """Analysis, runs and figures for f = 4x^2 - 4y^2, written into ``out_dir``.

    Writes ``saddle-trajectories.png`` (contours, field and the four runs of :data:`RUNS`),
    ``saddle-spectral-radius.png`` (rho(eta) per dynamic) and ``saddle-assignment.json`` (the
    returned dict: ``analysis`` as :func:`~gradgames.saddle.report.analyze`, ``runs``,
    ``checks`` name -> bool against the closed forms, ``figures``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    game = Game.from_expression(ASSIGNMENT_F)
    analysis = analyze(game)
    point = game.stationary_points()[0]
    results = [run(game, method, lr, steps, [x0], [y0], tol=0.0) for _, method, lr in RUNS]
    runs = {name: run_summary(game, r) for (name, _, _), r in zip(RUNS, results, strict=True)}
    figures = {
        "trajectories": str(
            plot_compare(
                game,
                results,
                out_dir / "saddle-trajectories.png",
                labels=[f"{name} {lr:g}" for name, _, lr in RUNS],
                title=f"f = {ASSIGNMENT_F}",
            )
        ),
        "spectral_radius": str(
            plot_spectral_radius(
                point.hessian,
                1,
                out_dir / "saddle-spectral-radius.png",
                title=f"f = {ASSIGNMENT_F}: spectral radius at the saddle (0, 0)",
            )
        ),
    }
    report = {
        "f": ASSIGNMENT_F,
        "analysis": analysis,
        "runs": runs,
        "gd_growth": [{"c": c, "direction": v.tolist()} for c, v in gd_growth(point.hessian)],
        "checks": _checks(analysis, results, rtol),
        "figures": figures,
    }
    write_json(out_dir / "saddle-assignment.json", report)
    return report


def _checks(analysis: dict[str, Any], results, rtol: float) -> dict[str, bool]:
    """The tool's numbers against the assignment's closed forms."""
    (point,) = analysis["stationary_points"]
    gda, gd = point["stability"]["gda"], point["stability"]["gd"]
    checks = {
        "one stationary point (0, 0), a saddle": point["x"] == [0.0]
        and point["y"] == [0.0]
        and point["type"] == "saddle",
        "gda stable exactly for 0 < eta < 1/4": len(gda["intervals"]) == 1
        and np.allclose(gda["intervals"][0], [0.0, 0.25], rtol=rtol, atol=0),
        "gda best eta 1/8 with rate 0": np.isclose(gda["best_lr"], 0.125, rtol=rtol)
        and abs(gda["best_rate"]) <= rtol,
        "gd has no stable eta": gd["intervals"] == [],
    }
    for result in results:
        d, k = result.distances, np.arange(len(result.distances))
        if result.method == "gda":
            expected = d[0] * np.abs(1 - 8 * result.lr) ** k
            checks[f"gda eta={result.lr:g}: distance after n steps = |1 - 8 eta|^n d0"] = bool(
                np.allclose(d, expected, rtol=rtol, atol=0)
            )
        else:
            y = result.trajectory[:, 1]
            checks[f"gd eta={result.lr:g}: y grows by 1 + 8 eta per step"] = bool(
                np.allclose(y[1:] / y[:-1], 1 + 8 * result.lr, rtol=rtol)
            )
    return {name: bool(ok) for name, ok in checks.items()}
