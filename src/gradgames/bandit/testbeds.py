"""k-armed bandit testbeds, one independent bandit per run, as (runs, arms) tensors.

- Gaussian: true values ``q*(a) ~ N(true_mean, 1)`` per run and arm; the reward of arm ``A``
  is ``R ~ N(q*(A), 1)``.
- Bernoulli: success probabilities ``q*(a) ~ U(0, 1)`` per run and arm, or the same given
  probabilities in every run; the reward is ``R = 1`` with probability ``q*(A)``, else ``0``.

In both, ``q*(a)`` is the expected reward of arm ``a`` and an arm is optimal when its ``q*`` is
the largest of its run (ties count as optimal). The randomness comes from
:class:`~gradgames.bandit.streams.Streams`, so each run's bandit depends only on the seed and
the run's index.
"""

from __future__ import annotations

import numpy as np
import torch

from gradgames.bandit.config import BanditConfig
from gradgames.bandit.streams import ARM_VALUE, Streams

__all__ = ["BanditConfig", "Testbed", "make_testbed"]


class Testbed:
    """The bandits of a set of runs.

    Attributes:
        kind: ``"gaussian"`` or ``"bernoulli"``.
        values: (runs, arms) the expected rewards ``q*(a)``.
        best: (runs,) ``max_a q*(a)``, the expected reward of an optimal arm.
    """

    def __init__(self, kind: str, values: torch.Tensor):
        self.kind = kind
        self.values = values  # (runs, arms)
        self.best = values.amax(1)  # (runs,)

    def noise(self, u: torch.Tensor) -> torch.Tensor:
        """Turns reward uniforms into what :meth:`reward` consumes (any shape).

        Gaussian: the standard normal ``Phi^{-1}(u)``; Bernoulli: ``u`` itself.
        """
        return torch.special.ndtri(u) if self.kind == "gaussian" else u

    def reward(self, q_action: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The rewards of the chosen arms.

        Args:
            q_action: (runs,) ``q*(A)`` of each run's chosen arm.
            noise: (runs,) that step's :meth:`noise`.

        Returns:
            (runs,) ``q*(A) + z`` (Gaussian) or ``1{u < q*(A)}`` (Bernoulli).
        """
        if self.kind == "gaussian":
            return q_action + noise
        return (noise < q_action).to(q_action.dtype)

    def is_optimal(self, q_action: torch.Tensor) -> torch.Tensor:
        """(runs,) bool: whether the chosen arm (given by its ``q*``) is an optimal arm."""
        return q_action >= self.best


def make_testbed(config: BanditConfig, streams: Streams) -> Testbed:
    """Draws each run's bandit from its own stream.

    Args:
        config: the problem.
        streams: the runs' random streams (their number of runs sets the batch).

    Returns:
        The testbed, float64.
    """
    u = streams.uniform(np.arange(config.arms), ARM_VALUE).T  # (runs, arms), arm-major
    if config.testbed == "gaussian":
        values = config.true_mean + torch.special.ndtri(u)
    elif config.probs is not None:
        values = torch.tensor(config.probs, dtype=torch.float64)[:, None].expand(-1, len(u)).T
    else:
        values = u
    return Testbed(config.testbed, values)
