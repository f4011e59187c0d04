"""Figures and CSV of bandit simulations, in the house style of :mod:`gradgames.plotting`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from gradgames.bandit.experiment import Result, curve_rows
from gradgames.plotting import figure, save, styled
from gradgames.runs import atomic_write_text

LABELS = {
    "reward": "mean reward",
    "optimal_action": "optimal action (fraction of runs)",
    "entropy": "policy entropy (nats)",
    "reward_variance": "reward variance over the window",
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


def write_csv(result: Result, path: Path) -> Path:
    """The per-step curves as CSV: ``step, <name>_mean, <name>_ci95, ...`` (empty: undefined)."""
    rows = curve_rows(result)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else repr(v) for k, v in row.items()})
    atomic_write_text(Path(path), buffer.getvalue())
    return Path(path)
