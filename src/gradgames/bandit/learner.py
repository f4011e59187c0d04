"""Softmax policy-gradient learners for many independent runs at once.

Each run ``r`` has preferences ``theta[r]`` (a row of the (runs, arms) tensor) and acts with
``pi = softmax(theta[r])``. After taking ``A`` and receiving ``R``, with baseline ``b``, it
moves along the ascent direction ``g`` of one of two rules:

- ``full`` (REINFORCE): ``g = (R - b) (e_A - pi)``, i.e. ``g_A = (R - b)(1 - pi_A)`` and
  ``g_j = -(R - b) pi_j`` for the other arms. Its expectation over ``A ~ pi`` is the exact
  gradient of the expected reward ``J = sum_a pi_a q*(a)``, whatever ``b``:
  ``E[g]_i = pi_i (q*(i) - J)``.
- ``chosen-arm`` (the assignment's rule): ``g_A = (R - b)(1 - pi_A)``, the other arms stay.
  Its expectation ``E[g]_i = pi_i (1 - pi_i)(q*(i) - b)`` keeps only the Jacobian's diagonal;
  it is not the gradient of ``J`` in general, and with ``b = 0`` it raises every arm whose
  ``q*`` is positive.

Baselines (Sutton & Barto, 2nd ed., section 2.8, eq. 2.12):

- ``none``: ``b = 0``.
- ``mean``: the book's ``R_bar_t``, the average of the run's rewards up to but not including
  step ``t``, with ``R_bar_1 = R_1``: ``b_1 = R_1`` (the first update is zero) and
  ``b_t = (R_1 + ... + R_{t-1}) / (t - 1)`` for ``t >= 2``, kept incrementally as
  ``R_bar_{t+1} = R_bar_t + (R_t - R_bar_t) / t``. For ``t >= 2`` it does not depend on
  ``A_t``, so it leaves ``E[g]`` unchanged for the full rule while lowering its variance.
- ``mean-inclusive``: the average including ``R_t``, ``(R_1 + ... + R_t) / t``, which the
  book's footnote to section 2.8 says its figures used. Since
  ``R_t - (R_1 + ... + R_t) / t = ((t - 1) / t) (R_t - b_t)`` with ``b_t`` the ``mean``
  baseline, with SGD it is exactly the ``mean`` update taken with the step ``eta (t - 1) / t``.

With either mean baseline, adding a constant ``c`` to every reward changes no ``R - b`` and so
no update (in exact arithmetic): the learner is invariant to the rewards' origin, as the book
remarks on Figure 2.5. With ``b = 0`` it is not.

The optimiser (``torch.optim`` SGD, RMSprop or Adam) receives ``-g`` as the gradient of the
(runs, arms) preference tensor. RMSprop and Adam act elementwise, so one optimiser over that
tensor is exactly one adaptive optimiser per run.
"""

from __future__ import annotations

import torch

from gradgames.bandit import schedules
from gradgames.bandit.config import LearnerConfig, Rule
from gradgames.bandit.policy import arm_major_zeros, policy_and_entropy
from gradgames.config import check_choice, check_int


def schedule_fn(config: LearnerConfig) -> schedules.Schedule:
    """The time-based schedule ``t -> eta_t`` of ``config`` (plateau: ``eta``, before any decay)."""
    if config.schedule == "inverse-time":
        return schedules.inverse_time(config.lr, config.tau)
    if config.schedule == "exponential":
        return schedules.exponential(config.lr, config.gamma)
    if config.schedule == "step":
        return schedules.step(config.lr, config.decay_every, config.decay_factor)
    return schedules.constant(config.lr)


def ascent_direction(
    rule: str, pi: torch.Tensor, action: torch.Tensor, advantage: torch.Tensor
) -> torch.Tensor:
    """The update direction ``g`` of one step (the rate is applied by the optimiser).

    Args:
        rule: ``full`` (``g = (R - b)(e_A - pi)``) or ``chosen-arm``
            (``g = (R - b)(1 - pi_A) e_A``).
        pi: (runs, arms) the policy that chose the actions.
        action: (runs,) the actions ``A``.
        advantage: (runs,) ``R - b``.

    Returns:
        (runs, arms) ``g``.

    Raises:
        ConfigError: an unknown rule.
    """
    check_choice("rule", rule, Rule)
    index = action.unsqueeze(1)  # (runs, 1)
    adv = advantage.unsqueeze(1)  # (runs, 1)
    if rule == "full":
        return (pi * -adv).scatter_add_(1, index, adv)
    chosen = adv * (1.0 - pi.gather(1, index))  # (runs, 1)
    return torch.zeros_like(pi).scatter_(1, index, chosen)


def expected_direction(
    rule: str, theta: torch.Tensor, values: torch.Tensor, baseline: float = 0.0
) -> torch.Tensor:
    """``E_{A ~ pi}[g]`` summed exactly over the actions, with ``E[R | A] = q*(A)``.

    Args:
        rule: ``full`` or ``chosen-arm``.
        theta: (runs, arms) preferences.
        values: (runs, arms) ``q*``.
        baseline: a fixed ``b``.

    Returns:
        (runs, arms) ``sum_a pi_a g(a)`` where ``g(a)`` is :func:`ascent_direction` with
        ``A = a`` and ``R = q*(a)``.
    """
    pi = torch.softmax(theta, dim=1)
    total = torch.zeros_like(theta)
    for a in range(theta.shape[1]):
        action = torch.full((theta.shape[0],), a, dtype=torch.int64)
        g = ascent_direction(rule, pi, action, values[:, a] - baseline)
        total += pi[:, a : a + 1] * g
    return total


def make_optimizer(name: str, theta: torch.Tensor, lr: float) -> torch.optim.Optimizer:
    """``torch.optim`` SGD, RMSprop or Adam over ``theta`` with torch's default constants.

    RMSprop: ``v <- 0.99 v + 0.01 G^2``, ``theta <- theta - lr G / (sqrt(v) + 1e-8)``;
    Adam: betas (0.9, 0.999), eps 1e-8, with bias correction; ``G = -g`` is the gradient fed.
    The single-tensor implementations (``foreach=False``) suit one parameter tensor.
    """
    if name == "rmsprop":
        return torch.optim.RMSprop([theta], lr=lr, foreach=False)
    if name == "adam":
        return torch.optim.Adam([theta], lr=lr, foreach=False)
    return torch.optim.SGD([theta], lr=lr, foreach=False)


class Learner:
    """The preferences, optimiser, schedule and baseline of a set of runs.

    The rate of run ``r`` at update ``t`` is ``eta_t * m_r``: ``eta_t`` is the optimiser's
    (shared) rate, moved by a ``torch.optim.lr_scheduler``, and ``m_r`` is the run's plateau
    multiplier (1 unless ``schedule == "plateau"``). ``torch.optim`` keeps one rate per
    parameter group and all runs live in one tensor, so a per-run rate cannot be set there;
    instead the optimiser's update ``d`` is rescaled per run, ``theta <- theta + m_r d``.
    SGD's, RMSprop's and Adam's updates are proportional to the rate, so this is exactly a
    per-run rate ``eta_t m_r``.

    Args:
        config: the learner's settings.
        runs: number of runs.
        arms: number of arms.
        window: how many recent rewards the plateau schedule's metric averages.
    """

    def __init__(self, config: LearnerConfig, runs: int, arms: int, window: int = 50):
        check_int("runs", runs, 1)
        check_int("arms", arms, 2)
        check_int("window", window, 1)
        self.config = config
        self.theta = arm_major_zeros(runs, arms=arms)  # (runs, arms)
        self.optimizer = make_optimizer(config.optimizer, self.theta, config.lr)
        self.scheduler = schedules.torch_scheduler(
            self.optimizer, config.schedule, tau=config.tau, gamma=config.gamma,
            every=config.decay_every, factor=config.decay_factor,
        )
        self.plateau = None
        if config.schedule == "plateau":
            self.plateau = schedules.PerRunPlateau(
                runs, window, config.patience, config.decay_factor, config.min_improvement
            )
        self.mean_reward = torch.zeros(runs, dtype=torch.float64)  # (runs,) mean of R_1..R_n
        self.updates = 0

    def policy(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pi, H)``: (runs, arms) the policy, (runs,) its entropy."""
        return policy_and_entropy(self.theta)

    def rates(self) -> torch.Tensor:
        """(runs,) each run's rate for the next update, ``eta_t * m_r``."""
        lr = self.optimizer.param_groups[0]["lr"]
        scale = self.plateau.scale[:, 0] if self.plateau is not None else 1.0
        return lr * torch.ones_like(self.mean_reward) * scale

    def update(self, pi: torch.Tensor, action: torch.Tensor, reward: torch.Tensor) -> None:
        """One update of every run from its action and reward.

        Args:
            pi: (runs, arms) the policy that chose the actions.
            action: (runs,) the actions.
            reward: (runs,) the rewards.
        """
        baseline = self.baseline(reward)  # (runs,) or 0.0
        # g is linear in R - b, so the direction for b - R is -g: the gradient to descend.
        self.theta.grad = ascent_direction(self.config.rule, pi, action, baseline - reward)
        if self.plateau is None:
            self.optimizer.step()
        else:
            before = self.theta.clone()
            self.optimizer.step()
            self.theta.sub_(before).mul_(self.plateau.scale).add_(before)
            self.plateau.observe_reward(reward)
        if self.scheduler is not None:
            self.scheduler.step()
        self.updates += 1
        self.mean_reward.lerp_(reward, 1.0 / self.updates)  # R_bar += (R - R_bar) / t

    def baseline(self, reward: torch.Tensor) -> torch.Tensor | float:
        """The baseline ``b_t`` of the coming update ``t = updates + 1`` (see the module
        docstring), given that step's rewards (runs,)."""
        if self.config.baseline == "none":
            return 0.0
        if self.config.baseline == "mean":
            return reward if self.updates == 0 else self.mean_reward  # R_bar_1 = R_1
        return self.mean_reward.lerp(reward, 1.0 / (self.updates + 1))  # includes R_t
