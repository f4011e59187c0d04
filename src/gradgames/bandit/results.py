"""What the bandit's entry points return: frozen records with ``to_dict()`` (the JSON printed and
written) and, for the study, ``from_dict()`` (study.json read back by ``reproduce --resume``,
through :func:`gradgames.config.from_dict`: every value checked against its field, ranges by
the records' ``__post_init__``).

A torch-free leaf like :mod:`~gradgames.bandit.config`: the command line and the reproduction
report read these records' attributes, never string keys. ``to_dict()`` keeps every key the
JSON had before these records existed, in the same order; new keys come after them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from gradgames.bandit.config import StudyConfig
from gradgames.config import check_int, check_range, from_dict, to_dict


@dataclass(frozen=True)
class RunSummary:
    """The summary of one simulation (``gradgames bandit run --json``); None: undefined.

    Attributes:
        status: ``ok``, or ``diverged`` when some runs' preferences became non-finite.
        final_mean_reward, final_optimal_action, final_entropy: means over runs at the last
            step (``_ci95``: 95% half-widths).
        optimal_value: mean over runs of ``max_a q*(a)``; random_value: of the uniform
            policy's expected reward.
        converged_fraction, mean_convergence_step: the policy-change criterion (the step
            averaged over converged runs).
        locked_suboptimal_fraction: runs ending with probability > 0.99 on a non-optimal arm.
        final_reward_variance: mean over runs of the last window's reward variance.
        diverged_fraction, first_divergence_step: the runs that diverged, and when.
        seconds: wall time of the steps.
        average_reward: mean over runs of each run's average reward over all its steps (the
            measure of Sutton & Barto's Figure 2.6), with its 95% half-width
            ``average_reward_ci95``; diverged runs are left out.
    """

    status: str
    steps: int
    runs: int
    arms: int
    final_mean_reward: float | None
    final_mean_reward_ci95: float | None
    final_optimal_action: float | None
    final_optimal_action_ci95: float | None
    final_entropy: float | None
    optimal_value: float | None
    random_value: float | None
    converged_fraction: float
    mean_convergence_step: float | None
    locked_suboptimal_fraction: float
    final_reward_variance: float | None
    diverged_fraction: float
    first_divergence_step: int | None
    seconds: float
    average_reward: float | None = None
    average_reward_ci95: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class StudyRow:
    """One simulation of a study, one line of its table.

    ``panel`` groups the rows (``chosen-arm rule``, ``full rule``, ``Figure 2.5``,
    ``Figure 2.6``); ``lr`` is the setting's initial step size.
    """

    rule: str
    setting: str
    final_mean_reward: float | None
    final_mean_reward_ci95: float | None
    final_optimal_action: float | None
    locked_suboptimal_fraction: float
    converged_fraction: float
    mean_convergence_step: float | None
    final_entropy: float | None
    status: Literal["ok", "diverged"]
    panel: str = ""
    lr: float | None = None
    average_reward: float | None = None
    average_reward_ci95: float | None = None

    def __post_init__(self):
        for name in ("final_optimal_action", "locked_suboptimal_fraction", "converged_fraction"):
            _within(name, getattr(self, name), 0.0, 1.0)
        for name in ("final_mean_reward_ci95", "average_reward_ci95", "mean_convergence_step",
                     "final_entropy", "lr"):  # fmt: skip
            _within(name, getattr(self, name), 0.0, math.inf)

    @classmethod
    def of(cls, panel: str, rule: str, setting: str, lr: float, s: RunSummary) -> StudyRow:
        """The row of a simulation's summary ``s``."""
        return cls(
            rule=rule, setting=setting, final_mean_reward=s.final_mean_reward,
            final_mean_reward_ci95=s.final_mean_reward_ci95,
            final_optimal_action=s.final_optimal_action,
            locked_suboptimal_fraction=s.locked_suboptimal_fraction,
            converged_fraction=s.converged_fraction,
            mean_convergence_step=s.mean_convergence_step, final_entropy=s.final_entropy,
            status=s.status, panel=panel, lr=lr, average_reward=s.average_reward,
            average_reward_ci95=s.average_reward_ci95,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class DerivativeCheck:
    """The analytic softmax Jacobian and score function against autograd."""

    jacobian_max_abs_error: float
    score_max_abs_error: float
    arms: int
    samples: int

    def __post_init__(self):
        _within("jacobian_max_abs_error", self.jacobian_max_abs_error, 0.0, math.inf)
        _within("score_max_abs_error", self.score_max_abs_error, 0.0, math.inf)
        check_int("arms", self.arms, 2)
        check_int("samples", self.samples, 1)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _within(name: str, value: float | None, low: float, high: float) -> None:
    """A ConfigError naming ``name`` when ``value`` (None: undefined) is outside [low, high]."""
    if value is not None:
        check_range(name, value, low, high)


@dataclass(frozen=True)
class BookPoint:
    """One value of a textbook figure: this study's, and that of the book's own procedure.

    Attributes:
        figure: ``2.5`` or ``2.6`` (Sutton & Barto, 2nd ed.).
        setting: which curve or point, e.g. ``alpha=0.4 with baseline``.
        measure: what is compared, in words.
        measured: this study's value (None: undefined, e.g. every run diverged).
        noise: its standard error over the runs.
        book: the same value from the book's procedure as the book states it (its baseline
            includes ``R_t``, as its footnote says its figures' did), simulated independently
            (:func:`~gradgames.bandit.sutton_barto.book_procedure`: NumPy, NumPy's random
            numbers, nothing shared with this package's simulator).
        book_noise: its standard error over the runs.
    """

    figure: str
    setting: str
    measure: str
    measured: float | None
    noise: float | None
    book: float | None
    book_noise: float | None

    def __post_init__(self):
        _within("noise", self.noise, 0.0, math.inf)
        _within("book_noise", self.book_noise, 0.0, math.inf)

    @property
    def tolerance(self) -> float | None:
        """Three standard errors of the difference, ``3 sqrt(noise^2 + book_noise^2)`` (None
        when either is undefined)."""
        if self.noise is None or self.book_noise is None:
            return None
        return 3.0 * math.hypot(self.noise, self.book_noise)

    @property
    def agrees(self) -> bool:
        """Whether the two values are equal or lie within :attr:`tolerance` of each other."""
        if self.measured is None or self.book is None:
            return False
        tolerance = self.tolerance or 0.0
        return abs(self.measured - self.book) <= tolerance

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "tolerance": self.tolerance, "agrees": self.agrees}


@dataclass(frozen=True)
class StudyResult:
    """What :func:`~gradgames.bandit.study.run_study` measured and wrote.

    Attributes:
        config: the study's settings.
        table: one row per simulation.
        derivative_check: the softmax derivatives against autograd.
        paths: ``{name: path}`` of every file written (figures, ``markdown``, ``json``, CSVs).
        book: the ``sutton-barto`` preset's comparison with the book (empty otherwise).
    """

    config: StudyConfig
    table: tuple[StudyRow, ...]
    derivative_check: DerivativeCheck
    paths: dict[str, str] = field(default_factory=dict)
    book: tuple[BookPoint, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """``{"config", "table", "derivative_check", "paths", "preset", "book"}``."""
        return {
            "config": to_dict(self.config), "table": [row.to_dict() for row in self.table],
            "derivative_check": self.derivative_check.to_dict(), "paths": dict(self.paths),
            "preset": self.config.preset, "book": [point.to_dict() for point in self.book],
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "study.json") -> StudyResult:
        """Rebuilds a result from :meth:`to_dict`'s output (or an older study.json, whose rows
        lack the newer keys), every value checked (:func:`gradgames.config.from_dict`).

        Raises:
            UsageError: one line naming ``where`` and the field that is wrong.
        """
        record = from_dict(StudyFile, data, where)
        book = tuple(p.point() for p in record.book)
        return cls(record.config, record.table, record.derivative_check, record.paths, book)


@dataclass(frozen=True)
class BookEntry:
    """A :class:`BookPoint` as study.json holds it, its derived values beside it."""

    figure: str
    setting: str
    measure: str
    measured: float | None
    noise: float | None
    book: float | None
    book_noise: float | None
    tolerance: float | None = None
    agrees: bool = False

    def __post_init__(self):
        self.point()  # its ranges

    def point(self) -> BookPoint:
        return BookPoint(*dataclasses.astuple(self)[:7])


@dataclass(frozen=True)
class StudyFile:
    """study.json as :meth:`StudyResult.to_dict` writes it (``preset`` repeats the config's)."""

    config: StudyConfig
    table: tuple[StudyRow, ...]
    derivative_check: DerivativeCheck
    paths: dict[str, str]
    preset: str = ""
    book: tuple[BookEntry, ...] = ()
