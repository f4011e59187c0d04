"""The text ``gradgames saddle`` prints: analyses, runs, comparisons and stability maps, each
rendered from its typed record."""

from __future__ import annotations

from gradgames.report import number
from gradgames.saddle.analysis import Analysis, Comparison, PointAnalysis, RunSummary
from gradgames.saddle.stabmap import StabilityMap

KIND_TEXT = {
    "saddle": "saddle of the game (min in x, max in y)", "min": "local minimum in (x, y)",
    "max": "local maximum in (x, y)", "other-saddle": "saddle, but not min in x / max in y",
    "degenerate": "degenerate (the second-order test cannot decide)",
}


def vector(values) -> str:
    """``[0.5, -1]``: six significant digits, never "-0"."""
    return "[" + ", ".join(f"{v + 0.0:.6g}" for v in values) + "]"


def intervals_text(intervals) -> str:
    """``(0, 0.25), (1, inf)`` or ``none``."""
    return ", ".join(f"({lo:.6g}, {hi:.6g})" for lo, hi in intervals) or "none"


def _hyper_text(hyperparameters: dict) -> str:
    return ", ".join(
        f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in hyperparameters.items()
    )


def describe_point(index: int, point: PointAnalysis) -> list[str]:
    """The text block of one stationary point: type, the Hessian blocks' eigenvalues, the
    table of stable step sizes per dynamic and the directions gd expands."""
    value = "n/a" if point.value is None else f"{point.value:.6g}"
    lines = [
        f"point {index}: x = {vector(point.x)}, y = {vector(point.y)}, f = {value}",
        f"  type: {point.kind}: {KIND_TEXT[point.kind]}",
        f"  eigenvalues of Hxx: {vector(point.hessian_x)}, of Hyy: {vector(point.hessian_y)}",
        f"  {'dynamic':<8} {'stable step sizes eta_x':<34} {'best eta_x':<12} rate at best",
    ]
    for method, table in point.stability.items():
        spans = intervals_text(table.intervals) + ("" if table.closed_form else " *")
        extra = f"   ({_hyper_text(table.hyperparameters)})" if table.hyperparameters else ""
        lines.append(
            f"  {method:<8} {spans:<34} {number(table.best_lr, 6, style='significant'):<12} "
            f"{number(table.best_rate, 6, style='significant')}{extra}"
        )
    for c, direction in point.gd_growth:
        lines.append(
            f"  gd: along {vector(direction)} the error grows by (1 + {c:.6g}*eta) "
            "per step for every eta > 0"
        )
    return lines


def describe(analysis: Analysis) -> str:
    """The human-readable form of an :class:`Analysis`."""
    box = analysis.box
    kind = "quadratic" if analysis.quadratic else f"not quadratic; searched [-{box:g}, {box:g}]^N"
    count = len(analysis.points)
    lines = [
        f"f(x, y) = {analysis.f}   (x in R^{analysis.x_dim}, y in R^{analysis.y_dim}, {kind})",
        f"{count} stationary point{'s' if count != 1 else ''}",
    ]
    if analysis.lr_ratio != 1.0:
        lines.append(f"two timescales: eta_y = {analysis.lr_ratio:g} eta_x")
    for i, point in enumerate(analysis.points, 1):
        lines += ["", *describe_point(i, point)]
    if analysis.points:
        lines += [
            "",
            "intervals: eta_x with spectral radius of the linearised update < 1; "
            "* = by scan and bisection, else closed form",
        ]
    return "\n".join(lines)


def describe_run(f: str, summary: RunSummary) -> str:
    """The human-readable summary of one run: status, final point, distance and rates."""
    steps = f"lr {summary.lr:g}" + (f", lr_y {summary.lr_y:g}" if summary.lr_ratio != 1 else "")
    lines = [f"f(x, y) = {f}: {summary.method} with {steps}"]
    if summary.hyperparameters:
        lines.append(f"hyper-parameters: {_hyper_text(summary.hyperparameters)}")
    if summary.status == "diverged":
        lines += [
            f"status: diverged at step {summary.diverged_at} (an iterate was not finite or "
            "beyond the bound)",
            f"last finite point: x = {vector(summary.x)}, y = {vector(summary.y)}",
        ]
    else:
        lines += [
            f"status: {summary.status} after {summary.steps} steps",
            f"final point: x = {vector(summary.x)}, y = {vector(summary.y)}",
        ]
    if summary.target is not None and summary.distance is not None:
        target = summary.target
        lines += [
            f"distance to the stationary point x = {vector(target['x'])}, "
            f"y = {vector(target['y'])}: {summary.distance:.3g}",
            f"rate per step: observed {number(summary.observed_rate, 6)}, predicted by the "
            f"linearised update {number(summary.predicted_rate, 6)}",
        ]
    return "\n".join(lines)


def describe_comparison(comparison: Comparison) -> str:
    """A table of a :class:`Comparison`: one row per dynamic with its status, steps, final
    distance, observed rate and the spectral radius of its linearised update."""
    start = next(iter(comparison.runs.values())).trajectory_start
    ratio = f", eta_y = {comparison.lr_ratio:g} eta_x" if comparison.lr_ratio != 1 else ""
    lines = [
        f"f(x, y) = {comparison.f}, lr {comparison.lr:g}{ratio}, from x = {vector(start['x'])}, "
        f"y = {vector(start['y'])}",
        f"  {'dynamic':<8} {'status':<10} {'steps':>6} {'distance':>10} {'rate':>8} {'rho(M)':>8}",
    ]
    for method, s in comparison.runs.items():
        lines.append(
            f"  {method:<8} {s.status:<10} {s.steps:>6} {number(s.distance, 4):>10} "
            f"{number(s.observed_rate, 4):>8} {number(s.predicted_rate, 4):>8}"
        )
    return "\n".join(lines)


def describe_map(f: str, stability_map: StabilityMap) -> str:
    """The text summary of a :class:`StabilityMap`."""
    m = stability_map
    best = m.best()
    lines = [
        f"f(x, y) = {f}: {m.method} at x = {vector(m.x)}, y = {vector(m.y)} ({m.kind})",
        f"grid: {len(m.eta_x)} x {len(m.eta_y)} step sizes, eta_x and eta_y from "
        f"{m.eta_x[0]:.3g} to {m.eta_x[-1]:.3g} (geometric)",
        f"stable cells: {int(m.stable.sum())} of {m.radius.size}",
    ]
    if best is not None:
        lines.append(
            f"smallest spectral radius {best[2]:.4g} at eta_x = {best[0]:.4g}, "
            f"eta_y = {best[1]:.4g}"
        )
    lines += [f"wrote {path}" for path in m.files.values()]
    return "\n".join(lines)
