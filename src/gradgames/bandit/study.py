"""Studies: the assignment's comparison of step-size control, or the textbook's figures.

``preset="step-size"`` (the assignment's Part B): for each rule (``chosen-arm``, ``full``) six
settings, all with the same baseline and seed: constant small and large ``eta`` (SGD), RMSprop
and Adam (constant ``eta``), and SGD from the large ``eta`` with inverse-time and with per-run
plateau decay. ``preset="sutton-barto"``: Figures 2.5 and 2.6 of Sutton & Barto, see
:mod:`~gradgames.bandit.sutton_barto`.

:func:`run_study` simulates every setting, then writes the figures, a markdown and a JSON
table, and the derivative check of the softmax Jacobian and score function.
"""

from __future__ import annotations

import typing
from pathlib import Path

from gradgames.bandit import sutton_barto
from gradgames.bandit.config import LearnerConfig, Rule, RunConfig, StudyConfig
from gradgames.bandit.experiment import Result, simulate, summary
from gradgames.bandit.monitor import CURVES
from gradgames.bandit.plots import plot_comparison
from gradgames.bandit.policy import derivative_check
from gradgames.bandit.results import DerivativeCheck, StudyResult, StudyRow
from gradgames.errors import ConfigError
from gradgames.files import atomic_write_text, write_json
from gradgames.report import number
from gradgames.rundir import check_output_dir, claimed_output_dir

DERIVATIVE_CHECK_MAX_ARMS = 100  # the check's Jacobians are (arms, arms) per point


def step_size_settings(config: StudyConfig) -> list[tuple[str, str, str, float, RunConfig]]:
    """The step-size study's twelve simulations as ``(panel, rule, label, lr, config)``."""
    out = []
    for rule in typing.get_args(Rule):
        variants = [
            (f"constant eta={config.lr_small:g}", "sgd", "constant", config.lr_small),
            (f"constant eta={config.lr_large:g}", "sgd", "constant", config.lr_large),
            (f"RMSprop eta={config.lr_adaptive:g}", "rmsprop", "constant", config.lr_adaptive),
            (f"Adam eta={config.lr_adaptive:g}", "adam", "constant", config.lr_adaptive),
            (f"inverse-time eta={config.lr_large:g}", "sgd", "inverse-time", config.lr_large),
            (f"plateau eta={config.lr_large:g}", "sgd", "plateau", config.lr_large),
        ]
        for label, optimizer, schedule, lr in variants:
            learner = LearnerConfig(
                rule=rule, baseline=config.baseline, optimizer=optimizer, lr=lr,
                schedule=schedule, tau=config.tau, patience=config.patience,
                decay_factor=config.decay_factor,
            )  # fmt: skip
            run = RunConfig(runs=config.runs, steps=config.steps, seed=config.seed,
                            window=config.window, tol=config.tol, bandit=config.bandit,
                            learner=learner)  # fmt: skip
            out.append((f"{rule} rule", rule, label, lr, run))
    return out


def settings(config: StudyConfig) -> list[tuple[str, str, str, float, RunConfig]]:
    """Every simulation of the study as ``(panel, rule, label, lr, config)``."""
    if config.preset == "sutton-barto":
        return sutton_barto.settings(config)
    return step_size_settings(config)


def markdown_table(rows: tuple[StudyRow, ...] | list[StudyRow]) -> str:
    """The table as GitHub markdown."""
    lines = [
        "| rule | setting | final reward (95% CI) | optimal action | locked suboptimal "
        "| converged | mean convergence step | average reward (95% CI) | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        reward = f"{number(r.final_mean_reward)} ± {number(r.final_mean_reward_ci95)}"
        average = f"{number(r.average_reward)} ± {number(r.average_reward_ci95)}"
        lines.append(
            f"| {r.rule} | {r.setting} | {reward} | {number(r.final_optimal_action)} "
            f"| {number(r.locked_suboptimal_fraction)} | {number(r.converged_fraction)} "
            f"| {number(r.mean_convergence_step, 0)} | {average} | {r.status} |"
        )
    return "\n".join(lines) + "\n"


def _check_text(check: DerivativeCheck) -> str:
    jacobian = number(check.jacobian_max_abs_error, 2, style="scientific")
    score = number(check.score_max_abs_error, 2, style="scientific")
    return (
        f"Derivative check (analytic vs autograd, {check.samples} random points, {check.arms} "
        f"arms): Jacobian max abs error {jacobian}, score function {score}.\n"
    )


def _markdown(config: StudyConfig, rows: list[StudyRow], check: DerivativeCheck) -> str:
    b = config.bandit
    where = f"{b.testbed}" + (f", true mean {b.true_mean:g}" if b.testbed == "gaussian" else "")
    return (
        f"# Bandit study: step-size control ({b.arms} arms, {where})\n\n"
        f"{config.runs} runs x {config.steps} steps per setting, baseline {config.baseline}, "
        f"seed {config.seed}. Final values are at the last step; lock-in means probability "
        f"> 0.99 on a non-optimal arm; convergence: the policy moves by less than "
        f"{config.tol:g} over every {config.window}-step window until the end; the average "
        "reward is over all steps.\n\n" + markdown_table(rows) + "\n" + _check_text(check)
    )


def prepare_study_dir(out_dir: Path) -> Path:
    """Checks, creating nothing, that ``out_dir`` can take a study (and holds no past one)."""
    if (Path(out_dir) / "study.json").exists():
        raise ConfigError("out", f"{out_dir} already holds a study: choose another folder")
    return check_output_dir(out_dir, marker="study.json")


def _derivative_check(arms: int) -> DerivativeCheck:
    return derivative_check(min(arms, DERIVATIVE_CHECK_MAX_ARMS))


def run_study(config: StudyConfig, out_dir: Path) -> StudyResult:
    """Runs the study and writes its figures and tables into ``out_dir``, holding its lock.

    Writes ``study.json`` (:meth:`StudyResult.to_dict`) and ``study.md``; the step-size
    preset also ``reward.png``, ``optimal_action.png``, ``entropy.png``,
    ``reward_variance.png``; the sutton-barto preset the files of
    :func:`~gradgames.bandit.sutton_barto.write_outputs`.

    Args:
        config: the study.
        out_dir: a new or empty directory (one that already holds a study is refused).

    Returns:
        The result, as written to study.json.
    """
    prepare_study_dir(out_dir)
    with claimed_output_dir(out_dir, marker="study.json") as out:
        results: dict[str, dict[str, Result]] = {}
        rows = []
        for panel, rule, label, lr, run_config in settings(config):
            result = simulate(run_config)
            results.setdefault(panel, {})[label] = result
            rows.append(StudyRow.of(panel, rule, label, lr, summary(result)))
        check = _derivative_check(config.bandit.arms)
        if config.preset == "sutton-barto":
            book = sutton_barto.book_points(config, rows, results)
            paths = sutton_barto.write_outputs(results, rows, book, out)
            text = (sutton_barto.describe(config) + markdown_table(rows) + "\n"
                    + sutton_barto.book_table(book) + "\n" + _check_text(check))
        else:
            book = ()
            paths = {name: str(plot_comparison(results, name, out / f"{name}.png"))
                     for name in CURVES}  # fmt: skip
            text = _markdown(config, rows, check)
        paths.update(markdown=str(out / "study.md"), json=str(out / "study.json"))
        atomic_write_text(out / "study.md", text)
        study = StudyResult(config=config, table=tuple(rows), derivative_check=check,
                            paths=paths, book=tuple(book))  # fmt: skip
        write_json(out / "study.json", study.to_dict())
        return study
