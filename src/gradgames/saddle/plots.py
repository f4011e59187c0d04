"""Figures of saddle-point dynamics: the landscape of f with the descent-ascent field and
trajectories, the distance to the saddle per step, the spectral radius rho(eta) and the
stability map over the (eta_x, eta_y) plane."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from gradgames.plotting import figure, save, styled
from gradgames.saddle.config import METHODS, Hyperparameters
from gradgames.saddle.dynamics import RunResult
from gradgames.saddle.game import DTYPE, Game
from gradgames.saddle.stability import spectral_radius, stability
from gradgames.saddle.stabmap import StabilityMap

COLORS = {
    "gda": "C0", "alt-gda": "C1", "gd": "C3", "ogda": "C2", "eg": "C4", "nm-gda": "C5", "co": "C6",
    "sga": "C8", "hgd": "C9",
}
STYLES = {
    "gda": "-", "alt-gda": "--", "gd": "-", "ogda": "-.", "eg": ":", "nm-gda": "--", "co": "-",
    "sga": "-.", "hgd": ":",
}


def _colors(results: Sequence[RunResult]) -> list[str]:
    """One colour per dynamic, or one per run when a dynamic occurs more than once."""
    methods = [r.method for r in results]
    if len(set(methods)) == len(methods):
        return [COLORS.get(m, "k") for m in methods]
    return [f"C{i}" for i in range(len(results))]


def _window(game: Game, results: Sequence[RunResult]) -> tuple[np.ndarray, float]:
    """A square window in the (x1, y1) plane: centred on the target, wide enough for the
    starts and (up to 3 times the start's distance) the trajectories."""
    first = results[0]
    centre = first.target if first.target is not None else np.zeros(game.dim)
    centre = np.array([centre[0], centre[game.x_dim]])
    if not np.isfinite(centre).all():
        centre = first.trajectory[0, [0, game.x_dim]]
    points = np.concatenate([r.trajectory[:, [0, game.x_dim]] for r in results])
    with np.errstate(over="ignore", invalid="ignore"):
        offsets = np.abs(points - centre)
    start = float(np.abs(first.trajectory[0, [0, game.x_dim]] - centre).max())
    reach = float(offsets[np.isfinite(offsets)].max(initial=0.0))
    half = 1.3 * max(min(reach, 3.0 * start), start, 1e-3)
    return centre, float(min(half, 1e150))


def _landscape(ax, game: Game, centre: np.ndarray, half: float) -> None:
    """Contour lines of f and the normalised descent-ascent direction ``(-gx, gy)``."""
    xs = np.linspace(centre[0] - half, centre[0] + half, 120)
    ys = np.linspace(centre[1] - half, centre[1] + half, 120)
    gx_grid, gy_grid = np.meshgrid(xs, ys)
    x = torch.as_tensor(gx_grid, dtype=DTYPE)[..., None]  # (120, 120, 1)
    y = torch.as_tensor(gy_grid, dtype=DTYPE)[..., None]
    with torch.no_grad():
        values = game.value(x, y).numpy()
    finite = np.isfinite(values)
    if finite.any() and np.ptp(values[finite]) > 0:
        values = np.where(finite, values, np.nan)
        contour = ax.contour(gx_grid, gy_grid, values, levels=15, cmap="coolwarm", linewidths=0.8)
        ax.clabel(contour, fontsize=7, fmt="%.2g")
    coarse = (slice(None, None, 12), slice(None, None, 12))
    gx, gy = game.gradients(x[coarse], y[coarse])
    u, v = -gx[..., 0].numpy(), gy[..., 0].numpy()
    norm = np.hypot(u, v)
    shown = (norm > 0) & np.isfinite(norm)  # no arrow where the field is 0 or undefined
    norm = np.where(shown, norm, 1.0)
    ax.quiver(
        gx_grid[coarse], gy_grid[coarse], np.where(shown, u / norm, 0.0),
        np.where(shown, v / norm, 0.0), color="0.55", angles="xy", width=0.003, scale=25,
    )


def _trajectories(ax, game: Game, results: Sequence[RunResult], labels: Sequence[str]) -> None:
    for result, label, color in zip(results, labels, _colors(results), strict=True):
        path = result.trajectory[:, [0, game.x_dim]]
        ax.plot(path[:, 0], path[:, 1], "-o", ms=2.5, lw=1.2, label=label, color=color)
        ax.plot(*path[0], "ks", ms=5)
    target = results[0].target
    if target is not None and np.isfinite(target).all():
        ax.plot(target[0], target[game.x_dim], "k*", ms=11, label="stationary point")


def _plane(ax, game: Game, results: Sequence[RunResult], labels: Sequence[str]) -> None:
    """The (x1, y1) panel: landscape when f is a function of two scalars, then trajectories."""
    centre, half = _window(game, results)
    if game.dim == 2:
        _landscape(ax, game, centre, half)
    _trajectories(ax, game, results, labels)
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_xlabel("x" if game.x_dim == 1 else f"x1 (of x in R^{game.x_dim})")
    ax.set_ylabel("y" if game.y_dim == 1 else f"y1 (of y in R^{game.y_dim})")
    ax.legend(fontsize=8, loc="best")


def _distances(ax, results: Sequence[RunResult], labels: Sequence[str]) -> None:
    """Distance to the target per step, log scale; an exact zero is noted in the legend."""
    for result, label, color in zip(results, labels, _colors(results), strict=True):
        d = np.array(result.distances, dtype=np.float64)
        zero = np.flatnonzero(d == 0)
        if len(zero):
            label += f" (exactly 0 from step {zero[0]})"
        d[(d == 0) | ~(d < 1e250)] = np.nan  # a log axis' ticks overflow float64 beyond
        ax.semilogy(
            np.arange(len(d)), d, STYLES.get(result.method, "-"), lw=1.4,
            label=f"{label}: {result.status}", color=color,
        )
    ax.set_xlabel("step")
    ax.set_ylabel("distance to the stationary point")
    ax.legend(fontsize=8)


@styled
def plot_run(game: Game, result: RunResult, path: Path) -> Path:
    """One run: the (x1, y1) plane (contours of f and the field ``(-gx, gy)`` when x and y are
    scalars) with the trajectory, and the distance to the stationary point per step."""
    fig, (left, right) = figure(1, 2, width=5.2, height=4.6)
    label = f"{result.method}, lr {result.lr:g}"
    _plane(left, game, [result], [label])
    left.set_title(f"f = {game.name}", fontsize=9)
    if result.target is not None:
        _distances(right, [result], [label])
    right.set_title(f"{result.status} after {result.steps} steps", fontsize=9)
    return save(fig, path)


@styled
def plot_compare(
    game: Game, results: Sequence[RunResult], path: Path, *, labels: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Several runs from the same start (by default every dynamic at one step size):
    trajectories in the (x1, y1) plane and the distance to the saddle per step, log scale."""
    fig, (left, right) = figure(1, 2, width=5.6, height=4.8)
    labels = list(labels) if labels is not None else [r.method for r in results]
    _plane(left, game, results, labels)
    left.set_title(title or f"f = {game.name}, lr {results[0].lr:g}", fontsize=9)
    if results[0].target is not None:
        _distances(right, results, labels)
    right.set_title("distance to the saddle", fontsize=9)
    return save(fig, path)


@styled
def plot_spectral_radius(
    hessian: np.ndarray, x_dim: int, path: Path, *, title: str = "",
    methods: Sequence[str] = METHODS, lr_ratio: float = 1.0, hyper: Hyperparameters | None = None,
) -> Path:
    """``rho(M(eta_x))`` of each dynamic against eta_x (eta_y = ``lr_ratio`` eta_x), log axis;
    below the line rho = 1 the dynamic contracts."""
    options = {"lr_ratio": lr_ratio, "hyper": hyper}
    tables = [stability(m, hessian, x_dim, **options) for m in methods]
    ends = [hi for t in tables for _, hi in t.intervals if np.isfinite(hi)]
    scale = np.abs(np.linalg.eigvals(hessian)).max(initial=1e-12)
    eta_max = 3.0 * max(ends) if ends else 2.0 / scale
    eta_min = (
        min(
            [lo for t in tables for lo, hi in t.intervals if lo > 0]
            + [hi for t in tables for _, hi in t.intervals]
            + [eta_max]
        )
        / 30
    )
    etas = np.geomspace(eta_min, eta_max, 1500)
    fig, ax = figure(width=7.4, height=4.6)
    for method, table in zip(methods, tables, strict=True):
        ax.semilogx(
            etas, spectral_radius(method, hessian, x_dim, etas, **options), STYLES.get(method, "-"),
            lw=1.5, color=COLORS.get(method), label=_stable_label(method, table),
        )
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set_ylim(0, 2)
    ax.set_xlabel("step size eta_x" + (f" (eta_y = {lr_ratio:g} eta_x)" if lr_ratio != 1 else ""))
    ax.set_ylabel("spectral radius of the linearised update")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return save(fig, path)


def _stable_label(method: str, table) -> str:
    if not table.intervals:
        return f"{method}: no stable eta"
    spans = ", ".join(f"({lo:.4g}, {hi:.4g})" for lo, hi in table.intervals)
    return f"{method}: stable for {spans}"


@styled
def plot_stability_map(stability_map: StabilityMap, path: Path, *, title: str = "") -> Path:
    """The spectral radius over the (eta_x, eta_y) plane on log axes (colour, clipped to
    [0, 2]), the stable region outlined (rho = 1), the line eta_y = R eta_x and the grid's
    best cell."""
    m = stability_map
    fig, ax = figure(width=6.0, height=5.0)
    mesh = ax.pcolormesh(
        m.eta_x, m.eta_y, np.clip(m.radius, 0.0, 2.0), cmap="RdBu_r", vmin=0.0, vmax=2.0,
        shading="nearest",
    )
    fig.colorbar(mesh, ax=ax, label="spectral radius of the linearised update")
    if m.stable.any() and not m.stable.all():
        ax.contour(m.eta_x, m.eta_y, m.radius, levels=[1.0], colors="k", linewidths=1.4)
    line = np.clip(m.eta_x * m.lr_ratio, m.eta_y[0], m.eta_y[-1])
    ax.plot(m.eta_x, line, "--", color="0.35", lw=1.0, label=f"eta_y = {m.lr_ratio:g} eta_x")
    best = m.best()
    if best is not None:
        ax.plot(best[0], best[1], "r*", ms=10, label=f"smallest rho {best[2]:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("eta_x (minimising player)")
    ax.set_ylabel("eta_y (maximising player)")
    stable = f"stable (rho < 1): {int(m.stable.sum())} of {m.radius.size} cells"
    ax.set_title(f"{title or m.method}\n{stable}", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    return save(fig, path)
