"""The bandit's settings: one typed dataclass per entry point, each checking itself.

A torch-free leaf: the command line builds its flags from these classes (``gradgames bandit
--help`` imports neither torch nor matplotlib), and the library takes them as arguments. Every
``__post_init__`` raises :class:`~gradgames.errors.ConfigError` naming the one field that is
wrong. The choice lists are the ``Literal`` types below (``typing.get_args(Rule)``).

Bounds that are not obvious:

- ``steps <= MAX_STEPS`` and ``runs * arms <= MAX_CELLS``: the curves hold 4 x (2, steps)
  floats; each (runs, arms) tensor holds ``runs * arms`` floats (200 MB at the bound).
- ``window * runs * arms <= MAX_WINDOW_CELLS``: the convergence criterion keeps the last
  ``window`` policies, each (runs, arms).
- ``|true_mean| <= MAX_TRUE_MEAN = 1e9``: what float64 arithmetic over a run supports. The
  rewards ``N(q*, 1)`` keep their unit noise to within ``ulp(1e9) ~ 1.2e-7`` (at ``2^53 ~ 9e15``
  the noise would round away entirely), and every sum the simulator forms (at most
  ``MAX_CELLS`` rewards of one step, or ``MAX_STEPS`` of one run) stays below ``1e17``, far
  from overflow (``1e308``); at ``1e308`` the mean over runs overflowed to infinity.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gradgames.config import (
    check_choice,
    check_finite,
    check_int,
    check_numbers,
    check_positive,
    check_range,
    check_seed,
    option,
)
from gradgames.errors import ConfigError

Rule = Literal["chosen-arm", "full"]  # the order of the step-size study's panels
Baseline = Literal["mean", "mean-inclusive", "none"]
Optimizer = Literal["sgd", "rmsprop", "adam"]
ScheduleName = Literal["constant", "inverse-time", "exponential", "step", "plateau"]
TestbedKind = Literal["gaussian", "bernoulli"]
Preset = Literal["step-size", "sutton-barto"]

MAX_STEPS = 10_000_000
MAX_CELLS = 50_000_000
MAX_WINDOW_CELLS = 100_000_000
MAX_TRUE_MEAN = 1e9


@dataclass
class BanditConfig:
    """The bandit problem: how many arms and how their rewards are drawn."""

    arms: int = option(10, "number of arms k (at least 2)")
    testbed: TestbedKind = option("gaussian", "reward distribution")
    true_mean: float = option(
        0.0, "gaussian: mean of the true values, q*(a) ~ N(true_mean, 1); |X| <= 1e9", metavar="X",
    )
    probs: tuple[float, ...] | None = option(
        None, "bernoulli: the arms' success probabilities, one per arm; none: q*(a) ~ U(0, 1)"
    )

    def __post_init__(self):
        check_int("arms", self.arms, 2, MAX_CELLS)
        check_choice("testbed", self.testbed, TestbedKind)
        check_range("true_mean", self.true_mean, -MAX_TRUE_MEAN, MAX_TRUE_MEAN)
        if self.true_mean != 0.0 and self.testbed != "gaussian":
            raise ConfigError("true_mean", "applies only to the gaussian testbed: drop it")
        if self.probs is not None:
            self._check_probs()

    def _check_probs(self) -> None:
        if self.testbed != "bernoulli":
            raise ConfigError("probs", "applies only to the bernoulli testbed: drop it or "
                              "choose that testbed")  # fmt: skip
        check_numbers("probs", self.probs)
        self.probs = tuple(self.probs)
        if len(self.probs) != self.arms:
            raise ConfigError(
                "probs",
                f"gives {len(self.probs)} probabilities for {self.arms} arms: give one per arm",
            )
        for p in self.probs:
            check_range("probs", p, 0.0, 1.0)


@dataclass
class LearnerConfig:
    """The update rule, baseline, optimiser and step-size schedule."""

    rule: Rule = option(
        "full", "full: REINFORCE moves every arm; chosen-arm: the assignment's rule"
    )
    baseline: Baseline = option(
        "mean",
        "mean: the textbook's R_bar_t, the mean of the run's rewards before step t "
        "(R_bar_1 = R_1, so the first update is zero; Sutton & Barto 2.8); mean-inclusive: "
        "the mean including R_t (the book's own figures); none: b = 0",
    )
    optimizer: Optimizer = option(
        "sgd", "torch.optim optimiser on the preferences (torch's default betas, alpha, eps)"
    )
    lr: float = option(0.1, "initial step size eta (> 0)", metavar="ETA")
    schedule: ScheduleName = option("constant", "step-size schedule eta_t")
    tau: float = option(100.0, "inverse-time: eta_t = eta / (1 + t / tau)")
    gamma: float = option(0.995, "exponential: eta_t = eta * gamma^t, gamma in (0, 1]")
    decay_every: int = option(
        250, "step: multiply the rate by --decay-factor every N steps", metavar="N"
    )
    decay_factor: float = option(0.5, "step and plateau: factor in (0, 1] applied at each decay")
    patience: int = option(
        50,
        "plateau: steps without improvement of the windowed mean reward tolerated; "
        "the next one decays",
    )
    min_improvement: float = option(
        0.01, "plateau: how much (>= 0) the windowed mean reward must beat its best to count"
    )

    def __post_init__(self):
        check_choice("rule", self.rule, Rule)
        check_choice("baseline", self.baseline, Baseline)
        check_choice("optimizer", self.optimizer, Optimizer)
        check_choice("schedule", self.schedule, ScheduleName)
        check_positive("lr", self.lr)
        check_positive("tau", self.tau)
        check_range("gamma", self.gamma, 0.0, 1.0, low_open=True)
        check_int("decay_every", self.decay_every, 1, MAX_STEPS)
        check_range("decay_factor", self.decay_factor, 0.0, 1.0, low_open=True)
        check_int("patience", self.patience, 1, MAX_STEPS)
        check_finite("min_improvement", self.min_improvement)
        if self.min_improvement < 0:
            raise ConfigError("min_improvement", f"must be >= 0; got {self.min_improvement!r}")


def _check_config(field: str, value: object, cls: type) -> None:
    if not isinstance(value, cls):
        raise ConfigError(field, f"must be a {cls.__name__}; got {type(value).__name__}")


def check_size(runs: int, steps: int, window: int, arms: int) -> None:
    """The size checks shared by :class:`RunConfig` and :class:`StudyConfig` (see the module
    docstring for the bounds)."""
    check_int("runs", runs, 1, MAX_CELLS)
    check_int("steps", steps, 1, MAX_STEPS)
    check_int("window", window, 1, MAX_STEPS)
    if runs * arms > MAX_CELLS:
        raise ConfigError(
            "runs",
            f"{runs:,} x {arms} arms exceeds {MAX_CELLS:,} simulated arms: use fewer "
            "runs (or split them over seeds)",
        )
    if window * runs * arms > MAX_WINDOW_CELLS:
        raise ConfigError(
            "window",
            f"{window:,} x {runs:,} runs x {arms} arms exceeds the {MAX_WINDOW_CELLS:,} "
            "policy entries the convergence criterion may hold: use a shorter window or fewer runs",
        )


@dataclass
class RunConfig:
    """One simulation: the bandit, the learner, and how many runs and steps."""

    runs: int = option(2000, "independent runs simulated together (at least 1)")
    steps: int = option(1000, "steps per run (1 to 10,000,000)")
    seed: int = option(0, "the one seed every run's random stream derives from")
    window: int = option(50, "window (steps) of the convergence criteria and plateau metric")
    tol: float = option(
        0.01, "a run has converged once its policy moves by < tol over every window"
    )
    bandit: BanditConfig = dataclasses.field(default_factory=BanditConfig)
    learner: LearnerConfig = dataclasses.field(default_factory=LearnerConfig)

    def __post_init__(self):
        _check_config("bandit", self.bandit, BanditConfig)
        _check_config("learner", self.learner, LearnerConfig)
        check_seed("seed", self.seed)
        check_positive("tol", self.tol)
        check_size(self.runs, self.steps, self.window, self.bandit.arms)


# The fields of StudyConfig that only the step-size comparison uses.
STEP_SIZE_FIELDS = ("lr_small", "lr_large", "lr_adaptive", "tau", "patience", "decay_factor")


@dataclass
class StudyConfig:
    """A study: the assignment's step-size comparison, or the textbook's Figures 2.5 and 2.6.

    ``runs`` and ``steps`` set its size (reduce both for a quick one). The ``sutton-barto``
    preset fixes its own testbeds (q* mean 4 for Figure 2.5, 0 for Figure 2.6), rule (full),
    optimiser (SGD) and step sizes; it takes the size, seed, arms, window, tol and the baseline
    of its "with baseline" curves, and refuses the step-size comparison's settings.
    """

    preset: Preset = option(
        "step-size",
        "step-size: the assignment's comparison of step-size control; "
        "sutton-barto: Figures 2.5 and 2.6 of Sutton & Barto (2nd ed.), beside the book's "
        "procedure simulated independently",
    )
    runs: int = option(2000, "independent runs per setting")
    steps: int = option(1000, "steps per run")
    seed: int = option(0, "the one seed (every setting sees the same bandits)")
    baseline: Baseline = option("mean", "baseline of both rules (sutton-barto: of the curves "
                                "with baseline)")  # fmt: skip
    lr_small: float = option(0.01, "the small constant step size")
    lr_large: float = option(1.0, "the large constant step size, and the decays' start")
    lr_adaptive: float = option(0.1, "RMSprop's and Adam's step size")
    tau: float = option(100.0, "inverse-time decay: eta_t = eta / (1 + t / tau)")
    patience: int = option(50, "plateau decay: steps without improvement before a decay")
    decay_factor: float = option(0.5, "plateau decay: factor in (0, 1] applied at each decay")
    window: int = option(50, "window (steps) of the convergence criteria and plateau metric")
    tol: float = option(0.01, "policy-change tolerance of the convergence criterion")
    bandit: BanditConfig = dataclasses.field(default_factory=BanditConfig)

    def __post_init__(self):
        check_choice("preset", self.preset, Preset)
        _check_config("bandit", self.bandit, BanditConfig)
        check_seed("seed", self.seed)
        check_choice("baseline", self.baseline, Baseline)
        for name in ("lr_small", "lr_large", "lr_adaptive", "tau", "tol"):
            check_positive(name, getattr(self, name))
        check_int("patience", self.patience, 1, MAX_STEPS)
        check_range("decay_factor", self.decay_factor, 0.0, 1.0, low_open=True)
        check_size(self.runs, self.steps, self.window, self.bandit.arms)
        if self.preset == "sutton-barto":
            self._check_sutton_barto()

    def _check_sutton_barto(self) -> None:
        defaults = StudyConfig.__dataclass_fields__
        for name in STEP_SIZE_FIELDS:
            if getattr(self, name) != defaults[name].default:
                raise ConfigError(name, "does not apply to the sutton-barto preset: drop it")
        if self.baseline == "none":
            raise ConfigError("baseline", "must be mean or mean-inclusive for the sutton-barto "
                              "preset (it compares runs with and without one)")  # fmt: skip
        if self.bandit.testbed != "gaussian":
            raise ConfigError("testbed", "must be gaussian for the sutton-barto preset")
        if self.bandit.true_mean != 0.0:
            raise ConfigError("true_mean", "does not apply to the sutton-barto preset (it uses "
                              "4 for Figure 2.5 and 0 for Figure 2.6): drop it")  # fmt: skip


@dataclass
class RunOutputs:
    """What ``gradgames bandit run`` prints and writes."""

    json: bool = option(False, "print one JSON object instead of text")
    plot: Path | None = option(
        None, "write reward / optimal-action / entropy curves (PNG)", metavar="FILE"
    )
    csv: Path | None = option(None, "write the per-step curves (CSV)", metavar="FILE")

    def __post_init__(self):
        if self.plot is not None and self.csv is not None and Path(self.plot) == Path(self.csv):
            raise ConfigError("csv", f"names the same file as the plot ({self.csv}): give two "
                              "files")  # fmt: skip
