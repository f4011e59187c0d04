"""The reproduction report: the assignment's questions and the answers the run measured.

Every number in it is read from the record the parts returned (and wrote as JSON); nothing
here computes a result of its own, it only chooses, orders and words them.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from gradgames.bandit.results import StudyResult
from gradgames.gan.results import SCORES, Evaluation, TrainResult
from gradgames.report import Report, number


def build_report(record: dict[str, Any], out: Path) -> Report:
    """The report of a :func:`gradgames.reproduce.reproduce` record; figures relative to out."""
    report = Report("gradgames: the assignment, reproduced")
    seconds = record["seconds"]
    if record["quick"]:
        report.paragraph(
            "**Quick run (--quick): every step of the reproduction at reduced size** "
            f"({record['sizes']['bandit_runs']} bandit runs of {record['sizes']['bandit_steps']} "
            f"steps, {record['sizes']['gan_epochs']} GAN epochs on "
            f"{record['sizes']['gan_subset']} images). Its numbers show the pipeline works; "
            "they are not the assignment's results."
        )
    rows = [[name, seconds_text(s)] for name, s in seconds.items()]
    report.table(["part", "wall time"], rows + [["total", seconds_text(total_seconds(seconds))]])
    _bandit(report, record["parts"]["bandit"], seconds["bandit"], out)
    _saddle(report, record["parts"]["saddle"], seconds["saddle"], out)
    _gan(report, record["parts"]["gan"], seconds["gan"], out)
    return report


def total_seconds(seconds: dict[str, float | None]) -> float | None:
    """The sum of the parts' wall times (None if one was not recorded)."""
    values = list(seconds.values())
    return None if None in values else sum(values)


def seconds_text(seconds: float | None, readable: bool = True) -> str:
    """"12.3 s", "754.0 s (12 min 34 s)", "16657.4 s (4 h 37 min)" ("754.0 s" without
    ``readable``: a heading's), or why there is no figure (a part resumed from an unrecorded
    session)."""
    if seconds is None:
        return "not recorded"
    whole = round(seconds)
    if whole < 60 or not readable:
        return f"{seconds:.1f} s"
    hours, minutes = whole // 3600, whole % 3600 // 60
    readable = f"{hours} h {minutes} min" if hours else f"{minutes} min {whole % 60} s"
    return f"{seconds:.1f} s ({readable})"


def _rel(path: str | Path, out: Path) -> str:
    return os.path.relpath(Path(path), out)


def _direction(vector: list[float]) -> str:
    """A direction in (x, y) space: "y (the direction (0, 1) of (x, y))" for a scalar game's
    axis, else the vector itself."""
    text = f"({', '.join(_g(v) for v in vector)})"
    if len(vector) == 2 and sorted(abs(v) for v in vector) == [0.0, 1.0]:
        return f"{'x' if abs(vector[0]) == 1.0 else 'y'} (the direction {text} of (x, y))"
    return f"the direction {text} of (x, y)"


# An exact answer computed in floating point: |value| <= ZERO * scale is a rounding error of 0
# (a spectral radius of 1.8e-15 where the closed form gives 0; scale: the quantity's own size).
ZERO = 1e-12
SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _g(value: float | None, scale: float = 1.0, decimals: int | None = None) -> str:
    """Six significant digits without trailing zeros (or ``decimals``), 0 below ``ZERO *
    scale`` and never "-0" (for exact answers)."""
    if value is None:
        return "none" if decimals is None else "n/a"
    if abs(value) <= ZERO * abs(scale):
        return "0"
    return f"{value + 0.0:.6g}" if decimals is None else number(value, decimals)


def greek(text: str) -> str:
    """A label with its Greek letters and powers: ``constant eta=0.1`` -> ``constant η=0.1``,
    ``eta_x`` -> ``η_x``, ``|1 - 8 eta|^n`` -> ``|1 - 8 η|ⁿ``."""
    letters = {"eta": "η", "alpha": "α", "beta": "β", "gamma": "γ"}
    text = re.sub(r"\b(eta|alpha|beta|gamma)(?=\b|_)", lambda m: letters[m.group(1)], text)
    return text.replace("^n", "ⁿ")


def maths(expression: str) -> str:
    """An expression of the safe parser as it is printed: ``4*x**2 - 4*y**2`` -> ``4x² - 4y²``
    (powers as superscripts, a product after a number without its sign, others as ``·``)."""
    text = re.sub(r"\*\*(\d+)", lambda m: m.group(1).translate(SUPERSCRIPTS), expression)
    return re.sub(r"(?<=\d)\*(?=[a-z(])", "", text).replace("*", "·")


def _bandit(report: Report, part: dict[str, Any], seconds: float | None, out: Path) -> None:
    study = StudyResult.from_dict(part)
    cfg, check = study.config, study.derivative_check
    report.heading("Part 1: softmax policy gradient on a k-armed bandit "
                   f"({seconds_text(seconds, readable=False)})")  # fmt: skip
    report.paragraph(
        "**Question.** With the softmax policy π(a_i) = exp(θ_i) / Σ_j exp(θ_j), "
        "derive ∂π/∂θ and the update when a_i is taken and reward R observed; then "
        "compare step-size control: constant (too large, too small), RMSProp, Adam, decaying "
        "(time-based and performance-based) schedules and convergence criteria."
    )
    report.paragraph(
        "**Answer: the derivatives.** ∂π_i/∂θ_i = π_i (1 - π_i) and ∂π_i/∂θ_j = -π_i π_j "
        "(j ≠ i). The assignment's chosen-arm rule moves only the arm taken: "
        "`θ_i += η R (1 - π(a_i))`; the full REINFORCE rule also lowers every other arm, "
        "`θ_j -= η (R - b) π(a_j)`, with b the textbook's baseline R̄_t, the mean of the "
        "rewards before step t (R̄_1 = R_1, so the first update is zero). Checked numerically "
        f"against torch.autograd at {check.samples} random points of {check.arms} arms: "
        f"Jacobian max abs error {number(check.jacobian_max_abs_error, 1, style='scientific')}, "
        f"score function {number(check.score_max_abs_error, 1, style='scientific')}."
    )
    report.paragraph(
        f"**Answer: the step-size study.** {cfg.runs} independent runs of {cfg.steps} "
        f"steps per setting on the {cfg.bandit.testbed} testbed ({cfg.bandit.arms} "
        f"arms), baseline `{cfg.baseline}`, seed {cfg.seed}. Final values are at the last "
        "step; lock-in is probability > 0.99 on a non-optimal arm."
    )
    _step_size_table(report, study)
    for name, caption in (("reward", "mean reward per step (95% band)"),
                          ("optimal_action", "fraction of runs taking the optimal arm"),
                          ("entropy", "policy entropy"),
                          ("reward_variance", "reward variance over the window")):  # fmt: skip
        report.figure(_rel(study.paths[name], out), f"Part 1: {caption}")
    _sutton_barto(report, StudyResult.from_dict(part["sutton_barto"]), out)


def _step_size_table(report: Report, study: StudyResult) -> None:
    """The step-size study's table and, per rule, its best setting and its worst lock-in."""
    rows = study.table
    report.table(
        ["rule", "setting", "final reward", "optimal action", "locked suboptimal", "converged",
         "mean convergence step"],
        [[r.rule, greek(r.setting),
          f"{number(r.final_mean_reward)} ± {number(r.final_mean_reward_ci95)}",
          number(r.final_optimal_action), number(r.locked_suboptimal_fraction),
          number(r.converged_fraction), number(r.mean_convergence_step, 0)] for r in rows],
    )  # fmt: skip
    for rule in sorted({r.rule for r in rows}):
        mine = [r for r in rows if r.rule == rule]
        best = max(mine, key=lambda r: -math.inf if r.final_mean_reward is None
                   else r.final_mean_reward)  # fmt: skip
        locked = max(mine, key=lambda r: r.locked_suboptimal_fraction)
        report.paragraph(
            f"{rule} rule: the best final reward came from **{greek(best.setting)}** "
            f"({number(best.final_mean_reward)}, optimal arm in "
            f"{number(best.final_optimal_action)} of runs); the most lock-in on a poor arm from "
            f"{greek(locked.setting)} ({number(locked.locked_suboptimal_fraction)} of runs)."
        )


def _sutton_barto(report: Report, study: StudyResult, out: Path) -> None:
    apart = [f"{p.figure} {greek(p.setting)}" for p in study.book if not p.agrees]
    report.paragraph(
        "**Beyond: Sutton & Barto's Figures 2.5 and 2.6.** The gradient bandit (full rule, SGD, "
        f"constant α), {study.config.runs} runs of {study.config.steps} steps per setting, "
        f"baseline `{study.config.baseline}`: Figure 2.5 on q* ~ N(4, 1), α 0.1 and 0.4 with "
        "and without baseline; Figure 2.6's gradient-bandit curve, the average reward over the "
        "steps for α = 1/32 .. 4 on q* ~ N(0, 1). Each value is set beside the book's own "
        "procedure (its baseline includes R_t, as its footnote says its figures' did), simulated "
        f"independently with NumPy's random numbers: {len(study.book) - len(apart)} of "
        f"{len(study.book)} agree within three standard errors of the difference"
        + (f"; apart: {', '.join(apart)}." if apart else ".")
    )
    report.table(
        ["figure", "setting", "measured", "the book's procedure", "within 3 standard errors"],
        [[p.figure, greek(p.setting), f"{number(p.measured)} ± {number(p.noise)}",
          f"{number(p.book)} ± {number(p.book_noise)}", "yes" if p.agrees else "no"]
         for p in study.book],
    )  # fmt: skip
    report.figure(_rel(study.paths["figure_2_5"], out),
                  "Part 1: Sutton & Barto's Figure 2.5, % optimal action per step")  # fmt: skip
    report.figure(_rel(study.paths["figure_2_6"], out),
                  "Part 1: Sutton & Barto's Figure 2.6, average reward against α")  # fmt: skip


def _saddle(report: Report, result: dict[str, Any], seconds: float | None, out: Path) -> None:
    from gradgames.saddle.assignment import AssignmentReport

    saddle = AssignmentReport.from_dict(result)
    report.heading(f"Part 2: minimax optimisation of f = {maths(saddle.f)} "
                   f"({seconds_text(seconds, readable=False)})")  # fmt: skip
    report.paragraph(
        f"**Question.** Find the stationary point of f(x, y) = {maths(saddle.f)} (minimised over "
        "x, maximised over y) and its type; for which step sizes η does simultaneous gradient "
        "descent-ascent converge; what happens when plain gradient descent is run on both "
        "variables?"
    )
    points = saddle.analysis.points
    report.table(
        ["x", "y", "type"],
        [[", ".join(map(_g, p.x)), ", ".join(map(_g, p.y)), p.kind] for p in points],
    )
    report.paragraph(
        "**Answer: stable step sizes** at that point, exact from the spectral radius of each "
        "dynamic's linearised update (the best η minimises it; its value is the linear rate). "
        "Beyond descent-ascent: alternating GDA with negative momentum (nm-gda, Gidel et al. "
        "2019), consensus optimisation (co, Mescheder et al. 2017), symplectic gradient "
        "adjustment (sga, Balduzzi et al. 2018) and Hamiltonian gradient descent (hgd), at "
        "their papers' hyper-parameters:"
    )
    report.table(
        ["dynamic", "stable η", "best η", "rate at best", "hyper-parameters"],
        [[name, ", ".join(f"({_g(lo, hi)}, {_g(hi)})" for lo, hi in s.intervals) or "none",
          _g(s.best_lr), _g(s.best_rate), _hyperparameters(s.hyperparameters)]
         for name, s in points[0].stability.items()],
    )  # fmt: skip
    for c, direction in saddle.gd_growth:
        report.paragraph(
            "Plain gradient descent on both variables multiplies the component along "
            f"{_direction(list(direction))} by (1 + {_g(c)}η) per step: it "
            "grows for every η > 0 unless it starts at exactly 0; f has no minimum or maximum "
            "to settle in."
        )
    report.table(
        ["run", "status", "steps", "final distance to (0, 0)", "observed rate", "predicted rate"],
        [[greek(name), r.status + (f" at step {r.diverged_at}" if r.diverged_at else ""),
          r.steps, number(r.distance, 4), _g(r.observed_rate, 1.0, 4),
          _g(r.predicted_rate, 1.0, 4)]
         for name, r in saddle.runs.items()],
    )  # fmt: skip
    report.table(
        ["check against the closed form", "holds"],
        [[greek(name), "yes" if ok else "**NO**"] for name, ok in saddle.checks.items()],
    )
    report.figure(_rel(saddle.figures["trajectories"], out),
                  "Part 2: contours of f, the descent-ascent field and the four runs")  # fmt: skip
    report.figure(_rel(saddle.figures["spectral_radius"], out),
                  "Part 2: spectral radius of each dynamic's update against η")  # fmt: skip
    if "stability_map" in saddle.figures:
        _saddle_map(report, saddle.stability_map, saddle.figures["stability_map"], out)


def _saddle_map(report: Report, grid: dict[str, Any], figure: str, out: Path) -> None:
    """The two-timescale paragraph and GDA's map over (η_x, η_y)."""
    report.paragraph(
        "**Two timescales.** With separate step sizes η_x (the minimising player) and "
        "η_y (the maximising one), GDA's update multiplies x by (1 - 8η_x) and y by "
        "(1 - 8η_y): it contracts exactly where both are below 1/4, the square of the "
        f"map below ({grid['stable_cells']} of its {grid['cells']} cells, "
        f"{grid['eta_x']['count']} step sizes per axis from {_g(grid['eta_x']['min'])} to "
        f"{_g(grid['eta_x']['max'])})."
    )
    report.figure(_rel(figure, out), "Part 2: spectral radius of GDA over (η_x, η_y); the "
                  "stable region outlined")  # fmt: skip


def _hyperparameters(values: dict[str, Any]) -> str:
    """``momentum = -0.5`` style, or "-" for a dynamic without hyper-parameters."""
    return ", ".join(f"{k} = {v}" for k, v in values.items()) or "-"


def _gan(report: Report, result: dict[str, Any], seconds: float | None, out: Path) -> None:
    training = TrainResult.from_dict(result["training"])
    evaluation = Evaluation.from_dict(result["evaluation"])
    evaluations = [Evaluation.from_dict(e) for e in result.get("evaluations", [])]
    run_dir = training.run_dir
    report.heading(f"Part 3: the DCGAN on Fashion-MNIST ({seconds_text(seconds, readable=False)})")
    report.paragraph(
        "**Question.** Train the specified DCGAN (generator 2,280,384 parameters, "
        "discriminator 212,865) on Fashion-MNIST for 50 epochs with Adam (lr 1e-4, betas "
        "(0.5, 0.999)), batch 64 and the non-saturating BCE loss; show generated images after "
        "epochs 10, 30 and 50, plot both losses over iterations and save both models."
    )
    resumed = training.steps_this_session < training.steps
    took = seconds_text(training.seconds_total)
    sessions = f", over resumed sessions (the last {training.seconds:.1f} s)" if resumed else ""
    ema_file = ", `generator_ema.pt` (the EMA generator)" if training.ema_decay else ""
    seeds = result.get("seeds")
    first = f" of seed {seeds['plan']['seeds'][0]}, the first of {len(seeds['plan']['seeds'])}" \
        if seeds else ""  # fmt: skip
    report.paragraph(
        f"**Answer.** The run{first}: {training.steps} optimiser steps "
        f"({training.epochs_completed} epochs) in {took} of training{sessions}, "
        f"{number(training.images_per_s, 0)} images/s{' in the last' if resumed else ''}. "
        f"Final losses (EMA 0.8): D {number(training.final_d_loss_ema)}, G "
        f"{number(training.final_g_loss_ema)} (a straightforward implementation ends near "
        "D 1.2-1.4, G 0.8-1.0). Models: `generator.pt`, `discriminator.pt` (weights with the "
        f"model settings that built them){ema_file} and `checkpoints/last.pt` in the run "
        f"directory `{_rel(run_dir, out)}`."
    )
    _weights(report, result.get("weights") or {})
    _gan_beside_ema(report, evaluations, training, run_dir, out)
    report.figure(_rel(run_dir / "losses.png", out),
                  "Part 3: generator and discriminator losses, raw and EMA-smoothed")  # fmt: skip
    if (run_dir / "fid.png").exists():
        report.figure(_rel(run_dir / "fid.png", out), "Part 3: FID over epochs")
    report.paragraph(f"**Sample quality** after training: the scores after epoch "
                     f"{evaluation.epoch} above.")  # fmt: skip
    if seeds:
        _over_seeds(report, seeds)


def _weights(report: Report, record: dict[str, Any]) -> None:
    """The weight files' SHA-256 and small evaluation (weights.json), one line each."""
    files = record.get("files") or {}
    if not files:
        return
    small = record["small_evaluation"]
    lines = [f"`{name}` ({entry['bytes']:,} bytes), SHA-256 `{entry['sha256']}`, FID "
             f"{number(entry['scores']['fid'])} at {small['num_samples']} samples"
             for name, entry in files.items()]  # fmt: skip
    report.paragraph(
        "**The weights**, recorded in `weights.json` (the small evaluation, noise seed "
        f"{small['seed']}, is what a download is checked against): " + "; ".join(lines) + "."
    )


def _gan_beside_ema(report: Report, evaluations: list[Evaluation], training: TrainResult,
                    run_dir: Path, out: Path) -> None:  # fmt: skip
    """At each evaluation epoch: the scores of the trained generator and of its EMA side by
    side, then both grids of the fixed noise; then the class spread of both."""
    averaged = "" if training.ema_updates is None else \
        f"; it averaged {training.ema_updates:,} updates in all"  # fmt: skip
    report.paragraph(
        f"**The trained generator and its EMA.** Beside the generator the assignment trains, "
        f"the run keeps an exponential moving average of its weights (decay "
        f"{training.ema_decay}, updated after every step{averaged}; batch-norm statistics "
        "copied from the generator). Training is not changed by it. Both are scored on "
        f"{evaluations[0].num_samples} generated images against the real test set, "
        f"{evaluations[0].feature_space}, beside the real-data floor: the same measure between "
        "real training and real test images of the same number."
    )
    for e in evaluations:
        report.heading(f"After epoch {e.epoch} (step {e.step})", level=3)
        _score_table(report, e)
        for suffix, whose in (("", "the generator"), ("_ema", "the EMA generator")):
            grid = run_dir / "samples" / f"epoch_{e.epoch:03d}{suffix}.png"
            if grid.exists():
                report.figure(_rel(grid, out), f"Part 3: the fixed noise batch after epoch "
                              f"{e.epoch}, {whose}", grid=True)  # fmt: skip
    report.paragraph("**The class spread** (share of generated images per predicted class; "
                     "1/10 each is even):")  # fmt: skip
    header = ["class"] + [f"{who} e{e.epoch}" for e in evaluations for who in ("G", "EMA")]
    rows = [[name] + [number(x.class_histogram[i]) for e in evaluations
                      for x in (e.generated, e.ema)]
            for i, name in enumerate(evaluations[0].class_names)]  # fmt: skip
    report.table(header, rows)


def _over_seeds(report: Report, summary: dict[str, Any]) -> None:
    """Each final score of the generator and its EMA over the seeds (mean and 95% Student-t
    interval of the mean, ``gan sweep``'s summary.json), and the EMA's FID over the
    generator's, paired by seed."""
    seeds = summary["plan"]["seeds"]
    last = max(r["epoch"] for r in summary["scores"])
    rows = {(r["generator"], r["score"]): r for r in summary["scores"] if r["epoch"] == last}

    def spread(r: dict[str, Any] | None, digits: int = 3) -> str:
        if r is None:
            return "n/a"
        ci = r["ci95"] and f" [{number(r['ci95'][0], digits)}, {number(r['ci95'][1], digits)}]"
        return f"{number(r['mean'], digits)}{ci or ''}"

    report.heading(f"Over {len(seeds)} seeds ({', '.join(map(str, seeds))})", level=3)
    ratio = next((r for r in summary["fid_ratios"]
                  if r["epoch"] == last and r["generator"] == "ema"), None)  # fmt: skip
    report.paragraph(
        f"Each seed trains the same settings from its own initial weights, noise and data "
        f"order. After epoch {last}, the mean over the seeds and its 95% Student-t interval "
        "[low, high]. The EMA generator's FID over the generator's, paired by seed (below 1: "
        f"the EMA is better): **{spread(ratio)}**."
    )
    report.table(
        ["measure", "generator", "EMA generator"],
        [[s.label, *(spread(rows.get((who, s.name)), s.digits) for who in ("generator", "ema"))]
         for s in SCORES],
    )  # fmt: skip


def _score_table(report: Report, e: Evaluation) -> None:
    """Every score of the generator (and of its EMA) beside the real-data floor."""
    sets = [("generator", e.generated)] + ([] if e.ema is None else [("EMA generator", e.ema)])
    report.table(
        ["measure", *(who for who, _ in sets), "real-data floor"],
        [[s.label, *(number(getattr(x, s.name), s.digits) for _, x in sets),
          number(getattr(e.floor, s.name), s.digits)] for s in SCORES],
    )  # fmt: skip
