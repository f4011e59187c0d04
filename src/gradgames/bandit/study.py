"""The assignment's Part B comparison of step-size control, on one testbed.

For each rule (``chosen-arm``, ``full``) six settings, all with the same baseline and seed:
constant small and large ``eta`` (SGD), RMSprop and Adam (constant ``eta``), and SGD from the
large ``eta`` with inverse-time and with per-run plateau decay. :func:`run_study` simulates the
twelve, then writes one figure per measurement, a markdown and a JSON table, and the
derivative check of the softmax Jacobian and score function.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gradgames.bandit.experiment import Result, RunConfig, simulate, summary
from gradgames.bandit.learner import LearnerConfig
from gradgames.bandit.monitor import CURVES
from gradgames.bandit.plots import plot_comparison
from gradgames.bandit.policy import derivative_check
from gradgames.bandit.testbeds import BanditConfig
from gradgames.config import option, require_positive, to_dict
from gradgames.errors import UsageError
from gradgames.report import number
from gradgames.runs import atomic_write_text, prepare_output_dir, write_json

RULES = ("chosen-arm", "full")


@dataclass
class StudyConfig:
    """The study's settings; ``runs`` and ``steps`` set its size (reduce both for a quick one)."""

    runs: int = option(2000, "independent runs per setting")
    steps: int = option(1000, "steps per run")
    seed: int = option(0, "the one seed (every setting sees the same bandits)")
    baseline: Literal["mean", "none"] = option("mean", "baseline of both rules")
    lr_small: float = option(0.01, "the small constant step size")
    lr_large: float = option(1.0, "the large constant step size, and the decays' start")
    lr_adaptive: float = option(0.1, "RMSprop's and Adam's step size")
    tau: float = option(100.0, "inverse-time decay: eta_t = eta / (1 + t / tau)")
    patience: int = option(50, "plateau decay: steps without improvement before a decay")
    decay_factor: float = option(0.5, "plateau decay: factor applied at each decay")
    window: int = option(50, "window (steps) of the convergence criteria and plateau metric")
    tol: float = option(0.01, "policy-change tolerance of the convergence criterion")
    bandit: BanditConfig = dataclasses.field(default_factory=BanditConfig)

    def __post_init__(self):
        for name in ("lr_small", "lr_large", "lr_adaptive", "tau"):
            require_positive("--" + name.replace("_", "-"), getattr(self, name))
        self.settings()  # validates runs, steps, window, tol, patience, decay_factor

    def settings(self) -> list[tuple[str, str, RunConfig]]:
        """The twelve simulations as ``(rule, label, config)``."""
        out = []
        for rule in RULES:
            variants = [
                (f"constant eta={self.lr_small:g}", "sgd", "constant", self.lr_small),
                (f"constant eta={self.lr_large:g}", "sgd", "constant", self.lr_large),
                (f"RMSprop eta={self.lr_adaptive:g}", "rmsprop", "constant", self.lr_adaptive),
                (f"Adam eta={self.lr_adaptive:g}", "adam", "constant", self.lr_adaptive),
                (f"inverse-time eta={self.lr_large:g}", "sgd", "inverse-time", self.lr_large),
                (f"plateau eta={self.lr_large:g}", "sgd", "plateau", self.lr_large),
            ]
            for label, optimizer, schedule, lr in variants:
                learner = LearnerConfig(
                    rule=rule, baseline=self.baseline, optimizer=optimizer, lr=lr,
                    schedule=schedule, tau=self.tau, patience=self.patience,
                    decay_factor=self.decay_factor,
                )
                run = RunConfig(runs=self.runs, steps=self.steps, seed=self.seed,
                                window=self.window, tol=self.tol, bandit=self.bandit,
                                learner=learner)
                out.append((rule, label, run))
        return out


def table_row(rule: str, label: str, result: Result) -> dict[str, Any]:
    """One line of the study's table."""
    s = summary(result)
    keys = ("final_mean_reward", "final_mean_reward_ci95", "final_optimal_action",
            "locked_suboptimal_fraction", "converged_fraction", "mean_convergence_step",
            "final_entropy", "status")
    return {"rule": rule, "setting": label, **{k: s[k] for k in keys}}


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The table as GitHub markdown."""
    lines = [
        "| rule | setting | final reward (95% CI) | optimal action | locked suboptimal "
        "| converged | mean convergence step | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        reward = f"{number(r['final_mean_reward'])} ± {number(r['final_mean_reward_ci95'])}"
        step = number(r["mean_convergence_step"], 0)
        lines.append(
            f"| {r['rule']} | {r['setting']} | {reward} | {number(r['final_optimal_action'])} "
            f"| {number(r['locked_suboptimal_fraction'])} | {number(r['converged_fraction'])} "
            f"| {step} | {r['status']} |"
        )
    return "\n".join(lines) + "\n"


def _markdown(config: StudyConfig, rows: list[dict[str, Any]], check: dict[str, float]) -> str:
    b = config.bandit
    where = f"{b.testbed}" + (f", true mean {b.true_mean:g}" if b.testbed == "gaussian" else "")
    return (
        f"# Bandit study: step-size control ({b.arms} arms, {where})\n\n"
        f"{config.runs} runs x {config.steps} steps per setting, baseline {config.baseline}, "
        f"seed {config.seed}. Final values are at the last step; lock-in means probability "
        f"> 0.99 on a non-optimal arm; convergence: the policy moves by less than "
        f"{config.tol:g} over every {config.window}-step window until the end.\n\n"
        + markdown_table(rows)
        + f"\nDerivative check (analytic vs autograd, {check['samples']} random points): "
        f"Jacobian max abs error {check['jacobian_max_abs_error']:.2e}, score function "
        f"{check['score_max_abs_error']:.2e}.\n"
    )


def prepare_study_dir(out_dir: Path) -> Path:
    """Creates ``out_dir`` for a study, refusing a file, an unwritable place or a past study."""
    out_dir = Path(out_dir)
    if (out_dir / "study.json").exists():
        raise UsageError(f"{out_dir} already holds a study: choose another --out or remove it")
    return prepare_output_dir(out_dir, marker="study.json")


def run_study(config: StudyConfig, out_dir: Path) -> dict[str, Any]:
    """Runs the comparison and writes its figures and tables into ``out_dir``.

    Writes ``study.json`` (config, table, derivative check, paths), ``study.md`` and
    ``reward.png``, ``optimal_action.png``, ``entropy.png``, ``reward_variance.png``.

    Args:
        config: the study.
        out_dir: a new or empty directory (one that already holds a study is refused).

    Returns:
        ``{"config", "table", "derivative_check", "paths"}``, as written to study.json.
    """
    out_dir = prepare_study_dir(out_dir)
    panels: dict[str, dict[str, Result]] = {f"{rule} rule": {} for rule in RULES}
    rows = []
    for rule, label, run_config in config.settings():
        result = simulate(run_config)
        panels[f"{rule} rule"][label] = result
        rows.append(table_row(rule, label, result))
    paths = {name: str(plot_comparison(panels, name, out_dir / f"{name}.png")) for name in CURVES}
    check = derivative_check(config.bandit.arms)
    paths["markdown"] = str(out_dir / "study.md")
    paths["json"] = str(out_dir / "study.json")
    atomic_write_text(out_dir / "study.md", _markdown(config, rows, check))
    report = {"config": to_dict(config), "table": rows, "derivative_check": check,
              "paths": paths}
    write_json(out_dir / "study.json", report)
    return report
