"""Analyses and reports built from the pieces: what ``gradgames saddle`` prints and what
``gradgames reproduce`` calls for the assignment's f = 4x^2 - 4y^2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gradgames.runs import write_json
from gradgames.saddle.dynamics import METHODS as DYNAMICS
from gradgames.saddle.dynamics import RunResult, observed_rate, run
from gradgames.saddle.game import Game, StationaryPoint
from gradgames.saddle.plots import plot_compare
from gradgames.saddle.stability import gd_growth, spectral_radius, stability_table

ASSIGNMENT_F = "4*x**2 - 4*y**2"
KIND_TEXT = {
    "saddle": "saddle of the game (min in x, max in y)",
    "min": "local minimum in (x, y)",
    "max": "local maximum in (x, y)",
    "other-saddle": "saddle, but not min in x / max in y",
    "degenerate": "degenerate (the second-order test cannot decide)",
}


def analyze(game: Game, *, box: float = 3.0) -> dict[str, Any]:
    """The stationary points of ``game``, their type and, per dynamic, the stable step sizes::

    {"stationary_points": [{"x": [...], "y": [...], "type": ..., "stability":
        {"gda": {"intervals": [[lo, hi], ...], "best_lr": ..., "best_rate": ...}, ...}}]}
    """
    points = []
    for point in game.stationary_points(box=box):
        table = stability_table(point)
        points.append(
            {
                "x": point.x.tolist(),
                "y": point.y.tolist(),
                "type": point.kind,
                "stability": {m: s.to_dict() for m, s in table.items()},
            }
        )
    return {"stationary_points": points}


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _vector(values) -> str:
    return "[" + ", ".join(f"{v + 0.0:.6g}" for v in values) + "]"  # + 0.0: no "-0"


def describe_point(index: int, point: StationaryPoint) -> list[str]:
    """The text block of one stationary point: type, Hessian blocks' eigenvalues, the table
    of stable step sizes per dynamic and the directions gd expands."""
    n = len(point.x)
    lines = [
        f"point {index}: x = {_vector(point.x)}, y = {_vector(point.y)}, f = {point.value:.6g}",
        f"  type: {point.kind}: {KIND_TEXT[point.kind]}",
        f"  eigenvalues of Hxx: {_vector(np.linalg.eigvalsh(point.hessian[:n, :n]))}, "
        f"of Hyy: {_vector(np.linalg.eigvalsh(point.hessian[n:, n:]))}",
        f"  {'dynamic':<8} {'stable step sizes eta':<34} {'best eta':<12} rate at best",
    ]
    for method, table in stability_table(point).items():
        spans = ", ".join(f"({lo:.6g}, {hi:.6g})" for lo, hi in table.intervals) or "none"
        how = "" if table.closed_form else " *"
        lines.append(
            f"  {method:<8} {spans + how:<34} {_num(table.best_lr):<12} {_num(table.best_rate)}"
        )
    for c, direction in gd_growth(point.hessian):
        lines.append(
            f"  gd: along {_vector(direction)} the error grows by (1 + {c:.6g}*eta) "
            "per step for every eta > 0"
        )
    return lines


def describe(game: Game, *, box: float = 3.0) -> str:
    """The human-readable form of :func:`analyze`."""
    kind = "quadratic" if game.quadratic else f"not quadratic; searched [-{box:g}, {box:g}]^N"
    points = game.stationary_points(box=box)
    lines = [
        f"f(x, y) = {game.name}   (x in R^{game.x_dim}, y in R^{game.y_dim}, {kind})",
        f"{len(points)} stationary point{'s' if len(points) != 1 else ''}",
    ]
    for i, point in enumerate(points, 1):
        lines += ["", *describe_point(i, point)]
    if points:
        lines += [
            "",
            "intervals: eta with spectral radius of the linearised update < 1; "
            "* = by scan and bisection, else closed form",
        ]
    return "\n".join(lines)


def compare_dynamics(game: Game, lr: float, steps: int, x0, y0, **kwargs) -> list[RunResult]:
    """Runs every dynamic with the same step size from the same start (kwargs go to run)."""
    return [run(game, method, lr, steps, x0, y0, **kwargs) for method in DYNAMICS]


def run_summary(game: Game, result: RunResult) -> dict[str, Any]:
    """:meth:`RunResult.to_dict` plus the observed rate and the predicted spectral radius at
    the target (None when there is no target)."""
    out = result.to_dict()
    out["trajectory_start"] = {
        "x": result.trajectory[0, : game.x_dim].tolist(),
        "y": result.trajectory[0, game.x_dim :].tolist(),
    }
    out["observed_rate"] = _finite(observed_rate(result))
    out["predicted_rate"] = None
    if result.target is not None:
        x, y = result.target[: game.x_dim], result.target[game.x_dim :]
        out["predicted_rate"] = spectral_radius(
            result.method, game.hessian(x, y), game.x_dim, result.lr
        )
    return out


def describe_run(game: Game, result: RunResult) -> str:
    """The human-readable summary of one run: status, final point, distance and rates."""
    summary = run_summary(game, result)
    lines = [f"f(x, y) = {game.name}: {result.method} with lr {result.lr:g}"]
    if result.status == "diverged":
        lines += [
            f"status: diverged at step {result.diverged_at} (an iterate was not finite or "
            "beyond the bound)",
            f"last finite point: x = {_vector(result.x)}, y = {_vector(result.y)}",
        ]
    else:
        lines += [
            f"status: {result.status} after {result.steps} steps",
            f"final point: x = {_vector(result.x)}, y = {_vector(result.y)}",
        ]
    if result.target is not None and len(result.distances):
        target = result.target
        lines += [
            f"distance to the stationary point x = {_vector(target[: game.x_dim])}, "
            f"y = {_vector(target[game.x_dim :])}: {result.distances[-1]:.3g}",
            f"rate per step: observed {_num(summary['observed_rate'])}, predicted by the "
            f"linearised update {_num(summary['predicted_rate'])}",
        ]
    return "\n".join(lines)


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def write_comparison(game: Game, results: list[RunResult], out_dir: Path) -> dict[str, Any]:
    """Writes ``compare.png`` and ``compare.json`` (one :func:`run_summary` per dynamic)."""
    out_dir = Path(out_dir)
    figure_path = plot_compare(game, results, out_dir / "compare.png")
    report = {
        "f": game.name,
        "lr": results[0].lr,
        "runs": {r.method: run_summary(game, r) for r in results},
        "figure": str(figure_path),
    }
    write_json(out_dir / "compare.json", report)
    return report


def describe_comparison(report: dict[str, Any]) -> str:
    """A table of :func:`write_comparison`'s report: one row per dynamic with its status, steps,
    final distance, observed rate and the spectral radius of its linearised update."""
    first = next(iter(report["runs"].values()))
    start = first["trajectory_start"]
    lines = [
        f"f(x, y) = {report['f']}, lr {report['lr']:g}, from x = {_vector(start['x'])}, "
        f"y = {_vector(start['y'])}",
        f"  {'dynamic':<8} {'status':<10} {'steps':>6} {'distance':>10} {'rate':>8} {'rho(M)':>8}",
    ]
    for method, s in report["runs"].items():
        lines.append(
            f"  {method:<8} {s['status']:<10} {s['steps']:>6} {_short(s['distance']):>10} "
            f"{_short(s['observed_rate']):>8} {_short(s['predicted_rate']):>8}"
        )
    return "\n".join(lines)


def _short(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
