"""Figures and CSV of bandit simulations, in the house style of :mod:`gradgames.plotting`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from gradgames.bandit.experiment import Result, curve_rows
from gradgames.files import atomic_write_text
from gradgames.plotting import figure, save, styled

PERCENT = 100.0

LABELS = {
    "reward": "mean reward", "optimal_action": "optimal action (fraction of runs)",
    "entropy": "policy entropy (nats)", "reward_variance": "reward variance over the window",
}


def _band(ax, curve: np.ndarray, label: str | None = None, color=None) -> None:
    """Plots a (2, steps) mean / 95% half-width curve as a line with a shaded band."""
    steps = np.arange(1, curve.shape[1] + 1)
    (line,) = ax.plot(steps, curve[0], lw=1.0, label=label, color=color)
    ax.fill_between(steps, curve[0] - curve[1], curve[0] + curve[1], alpha=0.25, lw=0,
                    color=line.get_color())


def describe(result: Result) -> str:
    """A one-line description of a simulation's settings, for titles."""
    c = result.config
    b, lc = c.bandit, c.learner
    where = f"{b.testbed}" + (f" (mean {b.true_mean:g})" if b.testbed == "gaussian" else "")
    return (f"{b.arms}-armed {where}, {lc.rule} rule, baseline {lc.baseline}, "
            f"{lc.optimizer} eta={lc.lr:g} {lc.schedule}, {result.values.shape[0]} runs")


@styled
def plot_run(result: Result, path: Path) -> Path:
    """Reward, optimal-action fraction and entropy over steps, each with its 95% band.

    The reward panel also shows the mean ``max_a q*(a)`` (best possible) and the uniform
    policy's mean reward.
    """
    fig, axes = figure(1, 3, width=4.6, height=3.6)
    for ax, name in zip(axes, ("reward", "optimal_action", "entropy"), strict=True):
        _band(ax, result.curves[name])
        ax.set_xlabel("step")
        ax.set_ylabel(LABELS[name])
    axes[0].axhline(result.values.max(1).mean(), ls="--", lw=0.8, color="k", label="best arm")
    axes[0].axhline(result.values.mean(1).mean(), ls=":", lw=0.8, color="k", label="uniform")
    axes[0].legend()
    axes[1].set_ylim(0, 1)
    fig.suptitle(describe(result), fontsize=9)
    return save(fig, path)


@styled
def plot_comparison(panels: dict[str, dict[str, Result]], name: str, path: Path) -> Path:
    """One measurement for several settings: one panel per group, one curve per setting.

    Args:
        panels: ``{panel title: {setting label: result}}``.
        name: the measurement (a key of :data:`LABELS`).
        path: the PNG to write.
    """
    fig, axes = figure(1, len(panels), width=5.2, height=3.8, squeeze=False)
    for ax, (title, results) in zip(axes[0], panels.items(), strict=True):
        for label, result in results.items():
            _band(ax, result.curves[name], label=label)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel(LABELS[name])
        if name == "optimal_action":
            ax.set_ylim(0, 1)
    axes[0][-1].legend(fontsize=7)
    return save(fig, path)


def write_rows_csv(rows: list[dict], path: Path) -> Path:
    """Rows of one dict each as CSV, the first row's keys as the header (empty: undefined)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else repr(v) for k, v in row.items()})
    atomic_write_text(Path(path), buffer.getvalue())
    return Path(path)


def write_csv(result: Result, path: Path) -> Path:
    """The per-step curves as CSV: ``step, <name>_mean, <name>_ci95, ...`` (empty: undefined)."""
    return write_rows_csv(curve_rows(result), path)


@styled
def plot_figure_2_5(results: dict[str, Result], book: dict[str, float], path: Path) -> Path:
    """Sutton & Barto's Figure 2.5: % optimal action per step, one curve (with its 95% band)
    per setting, and the book's procedure's value at the end (see
    :func:`~gradgames.bandit.sutton_barto.book_procedure`) as a marker of the curve's colour."""
    fig, ax = figure(1, 1, width=6.4, height=4.2)
    for label, result in results.items():
        curve = result.curves["optimal_action"] * PERCENT
        _band(ax, curve, label=label)
        if label in book:
            ax.plot([curve.shape[1]], [book[label] * PERCENT], marker="o", mfc="none",
                    color=ax.lines[-1].get_color(), ls="none")  # fmt: skip
    ax.plot([], [], marker="o", mfc="none", color="k", ls="none",
            label="the book's procedure, last 50 steps")
    ax.set_xlabel("step")
    ax.set_ylabel("% optimal action")
    ax.set_ylim(0, 100)
    ax.set_title("Gradient bandit, q* ~ N(4, 1) (Sutton & Barto, Figure 2.5)", fontsize=9)
    ax.legend(fontsize=7)
    return save(fig, path)


@styled
def plot_figure_2_6(rows: list[dict], path: Path) -> Path:
    """Sutton & Barto's Figure 2.6, gradient-bandit curve: average reward over all steps
    against alpha on a log2 axis (95% error bars), beside the book's procedure's values.

    Args:
        rows: ``{"alpha", "average_reward", "average_reward_ci95", "book"}`` per alpha
            (``book``: the book's procedure, or None).
        path: the PNG to write.
    """
    fig, ax = figure(1, 1, width=6.4, height=4.2)
    alpha = np.array([r["alpha"] for r in rows])
    value = np.array([np.nan if r["average_reward"] is None else r["average_reward"]
                      for r in rows])  # fmt: skip
    error = np.array([0.0 if r["average_reward_ci95"] is None else r["average_reward_ci95"]
                      for r in rows])  # fmt: skip
    ax.errorbar(alpha, value, yerr=error, marker=".", capsize=3, label="measured (95% CI)")
    book = [(r["alpha"], r["book"]) for r in rows if r["book"] is not None]
    if book:
        ax.plot(*zip(*book, strict=True), marker="o", mfc="none", ls="--", lw=0.8, color="k",
                label="the book's procedure")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xticks(alpha, [_fraction(a) for a in alpha])
    ax.set_xlabel("alpha (step size)")
    ax.set_ylabel("average reward over the steps")
    ax.set_title("Gradient bandit with baseline, q* ~ N(0, 1) (Sutton & Barto, Figure 2.6)",
                 fontsize=9)  # fmt: skip
    ax.legend(fontsize=7)
    return save(fig, path)


def _fraction(alpha: float) -> str:
    return f"1/{round(1 / alpha)}" if alpha < 1 else f"{alpha:g}"
