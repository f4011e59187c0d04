"""The assignment's game f = 4x^2 - 4y^2, checked against its closed forms.

GDA multiplies both coordinates by ``1 - 8 eta`` per step, so it converges exactly for
``0 < eta < 1/4`` and reaches the saddle in one step at ``eta = 1/8``; plain gradient descent on
both variables multiplies y by ``1 + 8 eta`` and diverges for every eta > 0 unless y0 = 0.
With separate step sizes the two coordinates decouple: GDA contracts exactly where
``eta_x < 1/4`` and ``eta_y < 1/4``. The dynamics beyond descent-ascent have closed forms here
too (``H = diag(8, -8)``, ``J = diag(8, 8)``, no rotation): negative momentum beta needs
``8 eta < 2 (1 + beta)``, consensus optimisation ``eta < 1 / (4 (1 + 8 gamma))``, Hamiltonian
descent ``eta < 2 / 64``, and SGA equals GDA (``A = 0``).
:func:`assignment_report` computes all of this with the general machinery (stationary points,
stability intervals, the stability map, runs) and compares it with those formulas.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gradgames.files import atomic_write_text, write_json
from gradgames.saddle.analysis import Analysis, RunSummary, analyze
from gradgames.saddle.config import ASSIGNMENT_F, Hyperparameters
from gradgames.saddle.dynamics import RunResult, run
from gradgames.saddle.game import Game
from gradgames.saddle.plots import plot_compare, plot_spectral_radius, plot_stability_map
from gradgames.saddle.stabmap import stability_map

RUNS = (  # (name, method, eta): a stable eta, the best one, an unstable one, and plain gd
    ("gda, stable eta", "gda", 0.05),
    ("gda, best eta", "gda", 0.125),
    ("gda, unstable eta", "gda", 0.3),
    ("gd", "gd", 0.05),
)
MAP_METHOD = "gda"


@dataclass(frozen=True)
class AssignmentReport:
    """What :func:`assignment_report` found and wrote.

    Attributes:
        f: the assignment's f.
        analysis: the :class:`~gradgames.saddle.analysis.Analysis` of f (every dynamic).
        runs: the runs of :data:`RUNS`, by name.
        gd_growth: ``(c, direction)`` of each direction plain gd expands by ``1 + c eta``.
        checks: the tool's numbers against the closed forms, by name.
        figures: the figures' paths: ``trajectories``, ``spectral_radius``, ``stability_map``.
        stability_map: the summary of gda's map over (eta_x, eta_y) (its ``to_dict()``).
    """

    f: str
    analysis: Analysis
    runs: dict[str, RunSummary]
    gd_growth: tuple[tuple[float, tuple[float, ...]], ...]
    checks: dict[str, bool]
    figures: dict[str, str]
    stability_map: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "f": self.f, "analysis": self.analysis.to_dict(),
            "runs": {name: r.to_dict() for name, r in self.runs.items()},
            "gd_growth": [{"c": c, "direction": list(v)} for c, v in self.gd_growth],
            "checks": dict(self.checks), "figures": dict(self.figures),
            "stability_map": self.stability_map,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AssignmentReport:
        return cls(
            data["f"], Analysis.from_dict(data["analysis"]),
            {name: RunSummary.from_dict(r) for name, r in data["runs"].items()},
            tuple((g["c"], tuple(g["direction"])) for g in data["gd_growth"]), dict(data["checks"]),
            dict(data["figures"]), data.get("stability_map", {}),
        )


def assignment_report(
    out_dir: Path, *, steps: int = 60, x0: float = 1.0, y0: float = 1.0, rtol: float = 1e-9
) -> AssignmentReport:
    """Analysis, runs and figures for f = 4x^2 - 4y^2, written into ``out_dir``.

    Writes ``saddle-trajectories.png`` (contours, field and the four runs of :data:`RUNS`),
    ``saddle-spectral-radius.png`` (rho(eta) of every dynamic), ``saddle-map-gda.png`` with
    ``.csv`` and ``.json`` (gda's spectral radius over the (eta_x, eta_y) plane) and
    ``saddle-assignment.json`` (:meth:`AssignmentReport.to_dict`).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    game = Game.from_expression(ASSIGNMENT_F)
    analysis = analyze(game)
    point = game.stationary_points()[0]
    results = [run(game, method, lr, steps, [x0], [y0], tol=0.0) for _, method, lr in RUNS]
    runs = {name: RunSummary.of(game, r) for (name, _, _), r in zip(RUNS, results, strict=True)}
    labels = [f"{name} {lr:g}" for name, _, lr in RUNS]
    title = f"f = {ASSIGNMENT_F}"
    figures = {
        "trajectories": plot_compare(
            game, results, out_dir / "saddle-trajectories.png", labels=labels, title=title
        ),
        "spectral_radius": plot_spectral_radius(
            point.hessian, 1, out_dir / "saddle-spectral-radius.png",
            title=f"{title}: spectral radius at the saddle (0, 0)",
        ),
    }
    grid = stability_map(
        MAP_METHOD, point.hessian, 1, eta_min=1e-3, eta_max=1.0, resolution=121,
        point=((0.0,), (0.0,), point.kind),
    )
    stem = out_dir / f"saddle-map-{MAP_METHOD}"
    figures["stability_map"] = plot_stability_map(
        grid, stem.with_suffix(".png"), title=f"{title}: {MAP_METHOD} with eta_x != eta_y"
    )
    atomic_write_text(stem.with_suffix(".csv"), grid.csv())
    write_json(stem.with_suffix(".json"), {"f": ASSIGNMENT_F, **grid.grid_dict()})
    report = AssignmentReport(
        ASSIGNMENT_F, analysis, runs, analysis.points[0].gd_growth,
        _checks(analysis, results, grid, rtol), {k: str(v) for k, v in figures.items()},
        grid.to_dict(),
    )
    write_json(out_dir / "saddle-assignment.json", report.to_dict())
    return report


def _interval_is(stability, end: float, rtol: float) -> bool:
    return len(stability.intervals) == 1 and np.allclose(
        stability.intervals[0], [0.0, end], rtol=rtol, atol=0
    )


def _checks(analysis: Analysis, results: list[RunResult], grid, rtol: float) -> dict[str, bool]:
    """The tool's numbers against the assignment's closed forms."""
    (point,) = analysis.points
    table = point.stability
    hyper = Hyperparameters()
    beta, gamma = hyper.momentum, hyper.co_gamma
    gda = table["gda"]
    checks = {
        "one stationary point (0, 0), a saddle": point.x == (0.0,)
        and point.y == (0.0,)
        and point.kind == "saddle",
        "gda stable exactly for 0 < eta < 1/4": _interval_is(gda, 0.25, rtol),
        "gda best eta 1/8 with rate 0": np.isclose(gda.best_lr, 0.125, rtol=rtol)
        and abs(gda.best_rate) <= rtol,
        "gd has no stable eta": table["gd"].intervals == [],
        f"nm-gda (beta {beta:g}) stable exactly for 0 < eta < (1 + beta)/4": _interval_is(
            table["nm-gda"], (1 + beta) / 4, 1e-9
        ),
        f"co (gamma {gamma:g}) stable exactly for 0 < eta < 1/(4 (1 + 8 gamma))": _interval_is(
            table["co"], 1 / (4 * (1 + 8 * gamma)), rtol
        ),
        "sga equals gda (no rotation: A = 0)": table["sga"].intervals == gda.intervals,
        "hgd stable exactly for 0 < eta < 1/32": _interval_is(table["hgd"], 1 / 32, rtol),
    }
    ex, ey = np.meshgrid(grid.eta_x, grid.eta_y)
    clear = (np.abs(ex / 0.25 - 1) > 1e-9) & (np.abs(ey / 0.25 - 1) > 1e-9)
    square = (ex < 0.25) & (ey < 0.25)
    checks["gda map: stable exactly where eta_x < 1/4 and eta_y < 1/4"] = bool(
        np.array_equal(grid.stable[clear], square[clear])
    )
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
