"""Step-size schedules ``t -> eta_t`` (``t = 0`` is the first update) and per-run plateau decay.

The time-based schedules are pure functions of the step, with these closed forms:

- constant:      ``eta_t = eta``
- inverse-time:  ``eta_t = eta / (1 + t / tau)``
- exponential:   ``eta_t = eta * gamma^t``
- step:          ``eta_t = eta * factor^floor(t / every)``

:func:`torch_scheduler` drives a ``torch.optim`` optimiser along the same rates with
``torch.optim.lr_scheduler`` (``LambdaLR``, ``ExponentialLR``, ``StepLR``). Performance-based
decay is :class:`PerRunPlateau`: ``ReduceLROnPlateau``'s rule applied to every run separately,
which ``torch.optim.lr_scheduler`` cannot do (it keeps one rate per parameter group, and all
runs share one preference tensor).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Schedule = Callable[[int], float]


def constant(eta: float) -> Schedule:
    """``eta_t = eta``."""
    return lambda t: eta


def inverse_time(eta: float, tau: float) -> Schedule:
    """``eta_t = eta / (1 + t / tau)``: halves at ``t = tau``, ~1/t decay after."""
    return lambda t: eta / (1.0 + t / tau)


def exponential(eta: float, gamma: float) -> Schedule:
    """``eta_t = eta * gamma^t``."""
    return lambda t: eta * gamma**t


def step(eta: float, every: int, factor: float) -> Schedule:
    """``eta_t = eta * factor^floor(t / every)``: multiplied by ``factor`` every ``every`` steps."""
    return lambda t: eta * factor ** (t // every)


def torch_scheduler(
    optimizer: torch.optim.Optimizer, name: str, *, tau: float, gamma: float, every: int,
    factor: float,
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The ``torch.optim.lr_scheduler`` that makes ``optimizer``'s rate follow a schedule.

    Call its ``step()`` once after each update; the optimiser's rate at update ``t`` is then
    the schedule's ``eta_t`` with ``eta`` the optimiser's initial rate.

    Args:
        optimizer: an optimiser with one parameter group.
        name: ``constant``, ``inverse-time``, ``exponential``, ``step`` or ``plateau``.
        tau, gamma, every, factor: the schedules' constants (see the module docstring).

    Returns:
        The scheduler, or None for ``constant`` and ``plateau`` (see :class:`PerRunPlateau`).
    """
    lr_scheduler = torch.optim.lr_scheduler
    if name == "inverse-time":
        return lr_scheduler.LambdaLR(optimizer, inverse_time(1.0, tau))
    if name == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma)
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=every, gamma=factor)
    return None


class PerRunPlateau:
    """Performance-based decay, separately for every run.

    Each run ``r`` keeps a rate multiplier ``m_r`` (1 at the start) and applies
    ``torch.optim.lr_scheduler.ReduceLROnPlateau``'s rule (mode ``max``, absolute threshold,
    no cooldown) to its own metric ``M_r(t)``, its mean reward over its last ``window`` steps
    (fewer at the start):

    - if ``M_r(t) > best_r + threshold``: ``best_r = M_r(t)`` and ``bad_r = 0``;
    - else ``bad_r += 1``, and once ``bad_r > patience``: ``m_r *= factor``, ``bad_r = 0``.

    The run's rate is then ``eta_t = eta * m_r = eta * factor^(number of plateaus so far)``.

    Args:
        runs: number of runs.
        window: how many recent rewards the metric averages.
        patience: how many steps without improvement are tolerated.
        factor: multiplier of the rate at each plateau, in (0, 1].
        threshold: by how much the metric must beat its best to count as an improvement.
    """

    def __init__(self, runs: int, window: int, patience: int, factor: float, threshold: float):
        self.patience, self.factor, self.threshold = patience, factor, threshold
        self.scale = torch.ones(runs, 1, dtype=torch.float64)  # (runs, 1) m_r
        self.best = torch.full((runs,), -math.inf, dtype=torch.float64)  # (runs,)
        self.bad = torch.zeros(runs, dtype=torch.int64)  # (runs,)
        self.recent = torch.zeros(window, runs, dtype=torch.float64)  # (window, runs)
        self.recent_sum = torch.zeros(runs, dtype=torch.float64)  # (runs,)
        self.seen = 0

    def observe_reward(self, reward: torch.Tensor) -> None:
        """Adds one step's rewards (runs,) to the window and observes the new window means."""
        slot = self.seen % len(self.recent)
        self.recent_sum += reward - self.recent[slot]
        self.recent[slot] = reward
        self.seen += 1
        self.observe(self.recent_sum / min(self.seen, len(self.recent)))

    def observe(self, metric: torch.Tensor) -> None:
        """Takes every run's metric ``M_r(t)`` after an update; may lower some ``m_r``.

        Args:
            metric: (runs,) the metric (larger is better).
        """
        improved = metric > self.best + self.threshold
        self.best = torch.where(improved, metric, self.best)
        self.bad = torch.where(improved, 0, self.bad + 1)
        decay = self.bad > self.patience
        self.scale = torch.where(decay[:, None], self.scale * self.factor, self.scale)
        self.bad.masked_fill_(decay, 0)
