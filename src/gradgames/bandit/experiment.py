"""Simulating many independent runs of a softmax policy-gradient learner on a bandit.

One step of every run, all runs at once (``t = 1, ..., steps``):

1. ``pi_t = softmax(theta)``; the action is ``A_t = #{i : c_i < u_t}`` with
   ``c = cumsum(pi_t)`` and ``u_t ~ U(0, 1)`` (inverse-CDF sampling, ``P(A_t = i) = pi_t(i)``);
2. the testbed returns ``R_t``;
3. the monitor records the step; the learner updates ``theta`` (see
   :mod:`gradgames.bandit.learner`);
4. at the end of each block of steps, runs whose policy's entropy became non-finite are
   marked diverged (see :mod:`gradgames.bandit.monitor`).

Random numbers come in blocks of steps from :class:`~gradgames.bandit.streams.Streams`, so the
per-step loop runs only tensor code over (runs, arms).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from gradgames.bandit.config import RunConfig
from gradgames.bandit.learner import Learner
from gradgames.bandit.monitor import CURVES, Z95, Monitor
from gradgames.bandit.results import RunSummary
from gradgames.bandit.streams import ACTION, REWARD, Streams
from gradgames.bandit.testbeds import Testbed, make_testbed
from gradgames.device import single_threaded
from gradgames.files import finite_or_none

BLOCK = 100
LOCK_IN = 0.99


@dataclass
class Result:
    """What :func:`simulate` measured.

    Attributes:
        config: the simulation's settings.
        curves: per measurement (``reward``, ``optimal_action``, ``entropy``,
            ``reward_variance``) a (2, steps) array: mean over runs, 95% half-width.
        values: (runs, arms) the arms' ``q*``.
        theta: (runs, arms) the final preferences.
        converged, convergence_step: (runs,) the policy-change criterion (step -1: not).
        reward_variance: (runs,) reward variance over each run's last window.
        greedy_arm: (runs,) ``argmax theta`` (-1 for a diverged run).
        locked_suboptimal: (runs,) final ``max pi > 0.99`` on a non-optimal arm.
        diverged_at: (runs,) step at which the preferences became non-finite, or -1.
        average_reward: (runs,) each run's mean reward over all its steps (NaN: diverged).
        seconds: wall time of the steps (the setup before them is left out: the first
            ``torch.optim`` optimiser of a process imports ``torch._dynamo``, seconds).
    """

    config: RunConfig
    curves: dict[str, np.ndarray]
    values: np.ndarray
    theta: np.ndarray
    converged: np.ndarray
    convergence_step: np.ndarray
    reward_variance: np.ndarray
    greedy_arm: np.ndarray
    locked_suboptimal: np.ndarray
    diverged_at: np.ndarray
    seconds: float
    average_reward: np.ndarray


def sample_actions(pi: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling: ``A = #{i : cumsum(pi)_i < u}``, so ``P(A = i) = pi_i``.

    Args:
        pi: (runs, arms) policies.
        u: (runs,) uniforms in (0, 1).

    Returns:
        (runs,) int64 actions (clamped to the last arm against rounding in the cumsum).
    """
    below = pi.cumsum(1) < u.unsqueeze(1)  # (runs, arms)
    return below.sum(1).clamp_(max=pi.shape[1] - 1)


def _step(t: int, learner: Learner, testbed: Testbed, monitor: Monitor,
          u: torch.Tensor, noise: torch.Tensor) -> None:
    """Step ``t`` (1-based) of every run, given its action uniforms and reward noise (runs,)."""
    pi, entropy = learner.policy()  # (runs, arms), (runs,)
    action = sample_actions(pi, u)  # (runs,)
    q_action = testbed.values.gather(1, action.unsqueeze(1)).squeeze(1)  # (runs,)
    reward = testbed.reward(q_action, noise)  # (runs,)
    monitor.record(t, pi, entropy, reward, q_action)
    learner.update(pi, action, reward)


def simulate(config: RunConfig, run_ids: np.ndarray | None = None) -> Result:
    """Simulates ``config.runs`` independent runs together (or the runs ``run_ids``).

    Args:
        config: the settings.
        run_ids: which runs to simulate (default ``range(config.runs)``); run ``r`` gives the
            same numbers whichever other runs are simulated with it.

    Returns:
        The measurements.
    """
    ids = np.arange(config.runs) if run_ids is None else np.asarray(run_ids)
    with single_threaded():
        streams = Streams(config.seed, ids)
        testbed = make_testbed(config.bandit, streams)
        learner = Learner(config.learner, len(ids), config.bandit.arms, config.window)
        monitor = Monitor(testbed.best, config.steps, config.window, config.tol)
        start = time.perf_counter()
        for first in range(0, config.steps, BLOCK):
            indices = np.arange(first, min(first + BLOCK, config.steps))
            u = streams.uniform(indices, ACTION)  # (block, runs)
            noise = testbed.noise(streams.uniform(indices, REWARD))  # (block, runs)
            for i, index in enumerate(indices):
                _step(int(index) + 1, learner, testbed, monitor, u[i], noise[i])
            monitor.flush()
        monitor.check_final(learner.policy()[1])
        return _result(config, testbed, learner, monitor, time.perf_counter() - start)


def _result(config: RunConfig, testbed: Testbed, learner: Learner, monitor: Monitor,
            seconds: float) -> Result:
    theta = learner.theta
    diverged = monitor.diverged_at >= 0
    pi = torch.softmax(theta, dim=1)
    top, greedy = pi.max(1)
    greedy = torch.where(diverged, -1, greedy)
    greedy_value = testbed.values.gather(1, greedy.clamp(min=0).unsqueeze(1)).squeeze(1)
    locked = ~diverged & (top > LOCK_IN) & ~testbed.is_optimal(greedy_value)
    converged, step = monitor.convergence()
    return Result(
        config=config, curves=monitor.curves, values=testbed.values.numpy(),
        theta=theta.numpy().copy(), converged=converged.numpy(),
        convergence_step=step.numpy(), reward_variance=monitor.reward_variance().numpy(),
        greedy_arm=greedy.numpy(), locked_suboptimal=locked.numpy(),
        diverged_at=monitor.diverged_at.numpy(), seconds=seconds,
        average_reward=monitor.average_reward().numpy(),
    )


def _nan_mean(x: np.ndarray) -> float | None:
    """Mean of the finite entries, None if there are none."""
    finite = x[np.isfinite(x)]
    return float(finite.mean()) if finite.size else None


def _mean_and_ci95(x: np.ndarray) -> tuple[float | None, float | None]:
    """Mean of the finite entries and its 95% half-width ``1.96 s / sqrt(n)`` (None: fewer than
    1 or 2 entries)."""
    finite = x[np.isfinite(x)]
    if finite.size < 2:
        return _nan_mean(finite), None
    return float(finite.mean()), float(Z95 * finite.std(ddof=1) / math.sqrt(finite.size))


def summary(result: Result) -> RunSummary:
    """The summary of a simulation (non-finite figures become None); see :class:`RunSummary`."""
    c = result.curves
    diverged = result.diverged_at >= 0
    steps = result.convergence_step[result.converged]
    average, average_ci95 = _mean_and_ci95(result.average_reward)
    runs, arms = result.values.shape
    return RunSummary(
        status="diverged" if diverged.any() else "ok", steps=result.config.steps,
        runs=int(runs), arms=int(arms), final_mean_reward=finite_or_none(c["reward"][0, -1]),
        final_mean_reward_ci95=finite_or_none(c["reward"][1, -1]),
        final_optimal_action=finite_or_none(c["optimal_action"][0, -1]),
        final_optimal_action_ci95=finite_or_none(c["optimal_action"][1, -1]),
        final_entropy=finite_or_none(c["entropy"][0, -1]),
        optimal_value=finite_or_none(result.values.max(1).mean()),
        random_value=finite_or_none(result.values.mean(1).mean()),
        converged_fraction=float(result.converged.mean()),
        mean_convergence_step=float(steps.mean()) if steps.size else None,
        locked_suboptimal_fraction=float(result.locked_suboptimal.mean()),
        final_reward_variance=_nan_mean(result.reward_variance),
        diverged_fraction=float(diverged.mean()),
        first_divergence_step=int(result.diverged_at[diverged].min()) if diverged.any() else None,
        seconds=round(result.seconds, 3), average_reward=average, average_reward_ci95=average_ci95,
    )  # fmt: skip


def curve_rows(result: Result) -> list[dict[str, float | None]]:
    """The per-step curves as rows ``{"step", "<name>_mean", "<name>_ci95", ...}``."""
    rows = []
    for t in range(result.config.steps):
        row: dict[str, float | None] = {"step": t + 1}
        for name in CURVES:
            row[f"{name}_mean"] = finite_or_none(result.curves[name][0, t])
            row[f"{name}_ci95"] = finite_or_none(result.curves[name][1, t])
        rows.append(row)
    return rows
