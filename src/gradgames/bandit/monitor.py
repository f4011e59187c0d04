"""What a simulation measures, per step over runs and per run.

Per step ``t`` (mean over runs with a 95% interval ``mean +- 1.96 s / sqrt(n)``, the normal
approximation): the reward ``R_t``, whether the action was optimal, the policy's entropy
``H(pi_t)``, and the sample variance of the run's last ``min(t, w)`` rewards (undefined,
NaN, at ``t = 1``).

Per run, two convergence criteria over a window of ``w`` steps:

- policy change: ``d_t = max_a |pi_t(a) - pi_{t-w}(a)|`` (defined for ``t > w``). The run's
  convergence step is the first ``T`` with ``d_t < tol`` for every ``t >= T`` up to the end;
  the run counts as converged when that has held for at least ``w`` steps at the end.
- reward variance: the sample variance of the run's last ``w`` rewards.

Per run also its average reward over all steps, ``(R_1 + ... + R_T) / T`` (the measure of
Sutton & Barto's parameter study, Figure 2.6).

A run whose preferences become non-finite is marked diverged at that update and left out of
every later measurement (its curves' ``n`` shrinks), so one diverging run never turns the
curves into NaN. ``H(pi)`` is finite exactly when every preference is (a NaN or an infinity
makes ``pi z`` NaN, see :func:`~gradgames.bandit.policy.policy_and_entropy`), so the entropy
the monitor records anyway doubles as the divergence check.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import torch

Z95 = 1.959963984540054
CURVES = ("reward", "optimal_action", "entropy", "reward_variance")


def mean_and_interval(
    x: torch.Tensor, keep: torch.Tensor | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean over runs and 95% half-width ``1.96 s / sqrt(n)`` of (steps, runs) values.

    Args:
        x: (steps, runs) values.
        keep: (steps, runs) bool, which values count (default: all).

    Returns:
        ``(mean, half_width)``, both (steps,) float64; NaN where fewer than 1 (mean) or 2
        (interval) values count.
    """
    if keep is None:
        n = torch.tensor(float(x.shape[1]), dtype=x.dtype)
        mean = x.mean(1)
        dev = x - mean[:, None]
    else:
        n = keep.sum(1).to(x.dtype)  # (steps,)
        mean = torch.where(keep, x, 0.0).sum(1) / n
        dev = torch.where(keep, x - mean[:, None], 0.0)
    var = (dev * dev).sum(1) / (n - 1)
    return mean.numpy(), (Z95 * torch.sqrt(var / n)).numpy()


def windowed_variance(values: torch.Tensor, new: int, window: int) -> torch.Tensor:
    """Sample variance of each run's last ``min(t, window)`` values at each of the last steps.

    Args:
        values: (h + B, runs) the values of consecutive steps: ``h`` earlier ones (only the
            last ``window - 1`` matter; fewer at the start of a simulation), then ``B`` new.
        new: ``B``.
        window: ``w``.

    Returns:
        (B, runs) the variances at the ``B`` new steps (NaN where the window holds one value).
    """
    h = len(values) - new
    x = values - values.mean(0)  # centring keeps the running sums small
    sums, squares = x.cumsum(0), (x * x).cumsum(0)  # (h + B, runs)
    total, total_sq = sums[h:].clone(), squares[h:].clone()  # (B, runs)
    first = max(0, window - h)  # the first new row whose window starts after row 0
    if first < new:
        total[first:] -= sums[h + first - window : h + new - window]
        total_sq[first:] -= squares[h + first - window : h + new - window]
    n = torch.arange(h + 1, h + new + 1).clamp(max=window).to(x.dtype)[:, None]  # (B, 1)
    var = ((total_sq - total * total / n) / (n - 1)).clamp_(min=0.0)
    return var.masked_fill_(n == 1, math.nan)


class Monitor:
    """Collects the measurements of one simulation, step by step.

    Args:
        best: (runs,) ``max_a q*(a)`` of each run (to tell optimal actions).
        steps: number of steps.
        window: ``w``, the window of both convergence criteria.
        tol: the policy-change tolerance.
    """

    def __init__(self, best: torch.Tensor, steps: int, window: int, tol: float):
        runs = len(best)
        self.best, self.window, self.tol, self.steps = best, window, tol, steps
        self.curves = {name: np.full((2, steps), np.nan) for name in CURVES}
        self.block: dict[str, list[torch.Tensor]] = {"reward": [], "q": [], "entropy": []}
        self.block_start = 0
        self.history = torch.zeros(0, runs, dtype=torch.float64)  # (< w, runs) past rewards
        self.past_pi: deque[torch.Tensor] = deque()  # the last w policies, (runs, arms) each
        self.last_unsettled = torch.full((runs,), window, dtype=torch.int64)  # (runs,)
        self.diverged_at = torch.full((runs,), -1, dtype=torch.int64)  # (runs,) update or -1
        self.last_variance = torch.zeros(runs, dtype=torch.float64)  # (runs,)
        self.reward_sum = torch.zeros(runs, dtype=torch.float64)  # (runs,) sum of R_1..R_t

    def record(self, t: int, pi: torch.Tensor, entropy: torch.Tensor, reward: torch.Tensor,
               q_action: torch.Tensor) -> None:
        """Records step ``t`` (1-based).

        Args:
            t: the step.
            pi: (runs, arms) the policy that acted.
            entropy: (runs,) its entropy.
            reward: (runs,) the rewards.
            q_action: (runs,) ``q*`` of the chosen arms.
        """
        if t > self.window:
            change = (pi - self.past_pi.popleft()).abs_().amax(1)  # (runs,) d_t
            self.last_unsettled.masked_fill_(change >= self.tol, t)
        self.past_pi.append(pi)
        self.block["reward"].append(reward)
        self.block["q"].append(q_action)
        self.block["entropy"].append(entropy)

    def flush(self) -> None:
        """Reduces the steps recorded since the last flush to their means and intervals."""
        count = len(self.block["reward"])
        if count == 0:
            return
        stop = self.block_start + count
        reward, q, entropy = (torch.stack(self.block[k]) for k in ("reward", "q", "entropy"))
        self.reward_sum += reward.sum(0)
        joined = torch.cat([self.history, reward])  # (h + B, runs)
        values = {
            "reward": reward, "optimal_action": (q >= self.best).to(torch.float64),
            "entropy": entropy, "reward_variance": windowed_variance(joined, count, self.window),
        }
        self.history = joined[len(joined) - min(self.window - 1, len(joined)) :]
        self.last_variance = values["reward_variance"][-1]
        steps = torch.arange(self.block_start + 1, stop + 1)[:, None]  # (B, 1)
        self._mark_diverged(steps, entropy)
        gone = (self.diverged_at >= 0) & (steps > self.diverged_at)  # (B, runs)
        keep = ~gone if gone.any() else None
        for name, value in values.items():
            mean, half = mean_and_interval(value, keep)
            self.curves[name][:, self.block_start : stop] = mean, half
        self.block = {k: [] for k in self.block}
        self.block_start = stop

    def _mark_diverged(self, steps: torch.Tensor, entropy: torch.Tensor) -> None:
        """Marks runs whose policy first has a non-finite entropy at step ``t`` of the block
        as diverged by update ``t - 1``.

        Args:
            steps: (B, 1) the block's steps.
            entropy: (B, runs) the entropies recorded at those steps.
        """
        bad = ~torch.isfinite(entropy)  # (B, runs)
        if not bad.any():
            return
        first = torch.where(bad, steps, self.steps + 2).amin(0)  # (runs,)
        newly = (first <= self.steps) & (self.diverged_at < 0)
        self.diverged_at = torch.where(newly, first - 1, self.diverged_at)

    def check_final(self, entropy: torch.Tensor) -> None:
        """Marks runs whose final policy (after update ``steps``) has a non-finite entropy."""
        newly = ~torch.isfinite(entropy) & (self.diverged_at < 0)
        self.diverged_at.masked_fill_(newly, self.steps)

    def convergence(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per run ``(converged, convergence_step)``; the step is -1 where not converged."""
        step = self.last_unsettled + 1
        converged = (self.steps - step + 1 >= self.window) & (self.diverged_at < 0)
        return converged, torch.where(converged, step, -1)

    def average_reward(self) -> torch.Tensor:
        """(runs,) each run's mean reward over all its steps (NaN: diverged)."""
        return (self.reward_sum / self.steps).masked_fill(self.diverged_at >= 0, math.nan)

    def reward_variance(self) -> torch.Tensor:
        """(runs,) the variance of each run's last ``min(steps, w)`` rewards (NaN: diverged)."""
        return self.last_variance.masked_fill(self.diverged_at >= 0, math.nan)
