"""Sutton & Barto's gradient-bandit figures (Reinforcement Learning: An Introduction, 2nd ed.,
2018, section 2.8 and Figure 2.6), simulated and set beside the book's own procedure.

The algorithm is this package's ``full`` rule with SGD and a constant step ``alpha``:
``H_{t+1} = H_t + alpha (R_t - R_bar_t)(e_{A_t} - pi_t)`` (the book's eq. 2.12), with
``R_bar_t`` the ``mean`` baseline (the book's definition; ``baseline="mean-inclusive"`` gives
the variant its footnote says its own figures used) or 0 ("without baseline").

- Figure 2.5: 10 arms, ``q*(a) ~ N(4, 1)``, 2000 runs x 1000 steps; % optimal action per step
  for ``alpha = 0.1`` and ``0.4``, with and without baseline.
- Figure 2.6 (parameter study): the average reward over the first 1000 steps against the
  parameter on a log2 axis, on the standard testbed ``q*(a) ~ N(0, 1)``; its gradient-bandit
  curve (with baseline) for ``alpha = 1/32 .. 4``. (Its other curves, epsilon-greedy, UCB and
  optimistic greedy, are not gradient methods and are not simulated here.)

What the book's figures show is checked two ways (``tests/bandit/test_sutton_barto.py``):

1. Against the book's own procedure, simulated independently by :func:`book_procedure`: the
   algorithm as the book states it (eq. 2.12, the 10-armed testbed of section 2.3), with the
   baseline its figures used. The book defines ``R_bar_t`` as the average of the rewards "up to
   but not including time t (with R_bar_1 = R_1)" but notes that "in the empirical results in
   this chapter, the baseline R_bar_t also included R_t" (footnote in section 2.8, quoted by
   the rlbook project's chapter 2 notes; ShangtongZhang's companion code for the book's figures
   also updates the average before using it). Every value of the study is set beside that
   procedure's, which uses NumPy's own random numbers: they agree when they differ by less than
   three standard errors of the difference.
2. Against what the book and its readers say in words: the with-baseline curve at alpha = 0.1
   ends "over 80%" optimal (a reader comparing the printed figure, stats.stackexchange.com
   question 324973); without the baseline "performance would be significantly degraded" (the
   book, on Figure 2.5); the parameter study's axis spans average rewards 1.0 to 1.5.

No numeric table of the printed curves exists, and the figures' images could not be read here:
the study reports measured values with their standard errors so that anyone holding the book
can set them beside its curves.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from gradgames.bandit.config import (
    MAX_TRUE_MEAN,
    BanditConfig,
    LearnerConfig,
    RunConfig,
    StudyConfig,
    check_size,
)
from gradgames.bandit.experiment import Result
from gradgames.bandit.monitor import Z95
from gradgames.bandit.plots import plot_figure_2_5, plot_figure_2_6, write_rows_csv
from gradgames.bandit.results import BookPoint, StudyRow
from gradgames.config import check_int, check_positive, check_range, check_seed
from gradgames.report import number

FIGURE_2_5 = "Figure 2.5"
FIGURE_2_6 = "Figure 2.6"
ALPHAS_2_5 = (0.1, 0.4)
ALPHAS_2_6 = tuple(2.0**k for k in range(-5, 3))  # 1/32 .. 4
TRUE_MEAN_2_5 = 4.0
END_WINDOW = 50  # Figure 2.5 is compared on the mean of its last 50 steps


def book_procedure(
    alpha: float, baseline: bool, true_mean: float, *, runs: int = 2000, steps: int = 1000,
    arms: int = 10, seed: int = 0,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """The gradient bandit exactly as the book describes its figures' runs, in plain NumPy.

    Each run: ``q*(a) ~ N(true_mean, 1)``; at step ``t``, ``A_t ~ pi_t = softmax(H_t)``,
    ``R_t ~ N(q*(A_t), 1)``, ``R_bar <- R_bar + (R_t - R_bar) / t`` (including ``R_t``, the
    footnote's variant), ``H_{t+1} = H_t + alpha (R_t - b)(1{a = A_t} - pi_t)`` with
    ``b = R_bar`` or 0. Random numbers from ``numpy.random.default_rng(seed)``.

    Returns:
        ``(optimal, average)``: (steps,) the fraction of runs taking an optimal arm per step,
        and (runs,) each run's average reward over its steps.

    Raises:
        ConfigError: a non-positive alpha, a true mean outside the configs' bound, sizes out
            of range or a seed outside the seed range.
    """
    check_positive("alpha", alpha)
    check_range("true_mean", true_mean, -MAX_TRUE_MEAN, MAX_TRUE_MEAN)
    check_int("arms", arms, 2)
    check_size(runs, steps, 1, arms)
    check_seed("seed", seed)
    rng = np.random.default_rng(seed)
    q = rng.normal(true_mean, 1.0, (runs, arms))
    best = q.max(1)
    rows = np.arange(runs)
    h = np.zeros((runs, arms))
    average = np.zeros(runs)
    total = np.zeros(runs)
    optimal = np.empty(steps)
    for t in range(1, steps + 1):
        e = np.exp(h - h.max(1, keepdims=True))
        pi = e / e.sum(1, keepdims=True)  # (runs, arms)
        a = np.minimum((pi.cumsum(1) < rng.random(runs)[:, None]).sum(1), arms - 1)
        r = rng.normal(q[rows, a], 1.0)  # (runs,)
        average += (r - average) / t
        advantage = r - average if baseline else r
        h -= alpha * advantage[:, None] * pi
        h[rows, a] += alpha * advantage
        optimal[t - 1] = (q[rows, a] >= best).mean()
        total += r
    return optimal, total / steps


def alpha_text(alpha: float) -> str:
    """``1/32``, ``0.1``, ``2``: a power of two as a fraction, anything else as ``%g``."""
    exponent = math.log2(alpha)
    if exponent == round(exponent):
        return str(Fraction(alpha).limit_denominator(1 << 20))
    return f"{alpha:g}"


def label_2_5(alpha: float, with_baseline: bool) -> str:
    return f"alpha={alpha_text(alpha)} {'with' if with_baseline else 'without'} baseline"


def settings(config: StudyConfig) -> list[tuple[str, str, str, float, RunConfig]]:
    """The preset's simulations as ``(panel, rule, label, lr, config)``: Figure 2.5's four
    curves, then Figure 2.6's eight step sizes."""
    size = dict(runs=config.runs, steps=config.steps, seed=config.seed, window=config.window,
                tol=config.tol)  # fmt: skip
    arms = config.bandit.arms
    out = []
    for with_baseline in (True, False):
        for alpha in ALPHAS_2_5:
            learner = LearnerConfig(rule="full", optimizer="sgd", lr=alpha,
                                    baseline=config.baseline if with_baseline else "none")
            run = RunConfig(bandit=BanditConfig(arms=arms, true_mean=TRUE_MEAN_2_5),
                            learner=learner, **size)  # fmt: skip
            out.append((FIGURE_2_5, "full", label_2_5(alpha, with_baseline), alpha, run))
    for alpha in ALPHAS_2_6:
        learner = LearnerConfig(rule="full", optimizer="sgd", lr=alpha, baseline=config.baseline)
        run = RunConfig(bandit=BanditConfig(arms=arms), learner=learner, **size)
        out.append((FIGURE_2_6, "full", f"alpha={alpha_text(alpha)}", alpha, run))
    return out


def end_of_curve(result: Result, name: str = "optimal_action") -> tuple[float, float]:
    """The mean of a curve over its last :data:`END_WINDOW` steps, and the per-step standard
    error at the last step (``ci95 / 1.96``; an upper bound for the window mean's, since the
    steps of one run are positively correlated)."""
    curve = result.curves[name]
    return float(np.nanmean(curve[0, -END_WINDOW:])), float(curve[1, -1] / Z95)


def _book_point(figure: str, setting: str, measure: str, measured: float | None,
                noise: float | None, book: tuple[float, float]) -> BookPoint:  # fmt: skip
    def finite(x):
        return x if x is not None and math.isfinite(x) else None

    return BookPoint(figure=figure, setting=setting, measure=measure, measured=finite(measured),
                     noise=finite(noise), book=finite(book[0]), book_noise=finite(book[1]))


def book_points(
    config: StudyConfig, rows: list[StudyRow], results: dict[str, dict[str, Result]]
) -> list[BookPoint]:
    """Every value of the preset beside the book's procedure's (:func:`book_procedure`, same
    size and seed, NumPy's random numbers), Figure 2.5 then Figure 2.6."""
    size = dict(runs=config.runs, steps=config.steps, arms=config.bandit.arms, seed=config.seed)
    window = min(END_WINDOW, config.steps)
    points = []
    for with_baseline in (True, False):
        for alpha in ALPHAS_2_5:
            label = label_2_5(alpha, with_baseline)
            optimal, _ = book_procedure(alpha, with_baseline, TRUE_MEAN_2_5, **size)
            p = optimal[-1]
            book = (float(optimal[-window:].mean()), math.sqrt(p * (1 - p) / config.runs))
            points.append(_book_point(
                "2.5", label, f"optimal-action fraction, mean of the last {window} steps",
                *end_of_curve(results[FIGURE_2_5][label]), book,
            ))  # fmt: skip
    by_label = {row.setting: row for row in rows if row.panel == FIGURE_2_6}
    for alpha in ALPHAS_2_6:
        row = by_label[f"alpha={alpha_text(alpha)}"]
        _, average = book_procedure(alpha, True, 0.0, **size)
        spread = average.std(ddof=1) / math.sqrt(len(average)) if len(average) > 1 else math.nan
        book = (float(average.mean()), float(spread))
        ci = row.average_reward_ci95
        points.append(_book_point("2.6", row.setting, "average reward over all steps",
                                  row.average_reward, None if ci is None else ci / Z95, book))
    return points


def describe(config: StudyConfig) -> str:
    """The heading and the settings of the preset's markdown."""
    return (
        "# Bandit study: Sutton & Barto, Figures 2.5 and 2.6\n\n"
        f"Gradient bandit (full rule, SGD, constant alpha), {config.bandit.arms} arms, "
        f"{config.runs} runs x {config.steps} steps per setting, seed {config.seed}, baseline "
        f"`{config.baseline}` for the curves with one. Figure 2.5: q* ~ N({TRUE_MEAN_2_5:g}, 1); "
        "Figure 2.6: q* ~ N(0, 1), average reward over all steps.\n\n"
    )


def book_table(points: list[BookPoint]) -> str:
    """The comparison with the book's procedure as markdown."""
    lines = [
        "| figure | setting | measure | measured ± standard error | the book's procedure ± "
        "standard error | difference | within 3 standard errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in points:
        diff = None if p.measured is None or p.book is None else p.measured - p.book
        lines.append(
            f"| {p.figure} | {p.setting} | {p.measure} | {number(p.measured)} ± "
            f"{number(p.noise)} | {number(p.book)} ± {number(p.book_noise)} | {number(diff)} "
            f"| {'yes' if p.agrees else 'no'} (± {number(p.tolerance)}) |"
        )
    return "\n".join(lines) + "\n"


def curve_rows(results: dict[str, Result]) -> list[dict[str, float | int | None]]:
    """Figure 2.5's CSV rows: ``step`` and, per curve, the optimal-action fraction and its 95%
    half-width."""
    rows = []
    steps = next(iter(results.values())).config.steps
    for t in range(steps):
        row: dict[str, float | int | None] = {"step": t + 1}
        for label, result in results.items():
            key = label.replace("alpha=", "alpha_").replace(" ", "_")
            mean, half = result.curves["optimal_action"][:, t]
            row[f"{key}_optimal_action"] = float(mean) if math.isfinite(mean) else None
            row[f"{key}_ci95"] = float(half) if math.isfinite(half) else None
        rows.append(row)
    return rows


def parameter_rows(rows: list[StudyRow], points: list[BookPoint]) -> list[dict]:
    """Figure 2.6's CSV rows: ``alpha``, ``log2_alpha``, the average reward, its 95%
    half-width and the book's procedure's value."""
    book = {p.setting: p.book for p in points if p.figure == "2.6"}
    return [
        {"alpha": r.lr, "log2_alpha": math.log2(r.lr), "average_reward": r.average_reward,
         "average_reward_ci95": r.average_reward_ci95, "book": book.get(r.setting)}
        for r in rows if r.panel == FIGURE_2_6
    ]  # fmt: skip


def write_outputs(
    results: dict[str, dict[str, Result]], rows: list[StudyRow], points: list[BookPoint], out
) -> dict[str, str]:
    """Writes ``figure_2_5.png``, ``figure_2_6.png``, ``figure_2_5.csv``, ``figure_2_6.csv``
    into ``out``; returns their paths by name."""
    book_2_5 = {p.setting: p.book for p in points if p.figure == "2.5"}
    parameter = parameter_rows(rows, points)
    return {
        "figure_2_5": str(plot_figure_2_5(results[FIGURE_2_5], book_2_5, out / "figure_2_5.png")),
        "figure_2_6": str(plot_figure_2_6(parameter, out / "figure_2_6.png")),
        "figure_2_5_csv": str(write_rows_csv(curve_rows(results[FIGURE_2_5]),
                                             out / "figure_2_5.csv")),
        "figure_2_6_csv": str(write_rows_csv(parameter, out / "figure_2_6.csv")),
    }  # fmt: skip
