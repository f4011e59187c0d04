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

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from gradgames.bandit.streams import ARM_VALUE, Streams
from gradgames.config import option
from gradgames.errors import UsageError

TESTBEDS = ("gaussian", "bernoulli")


@dataclass
class BanditConfig:
    """The bandit problem: how many arms and how their rewards are drawn."""

    arms: int = option(10, "number of arms k (at least 2)")
    testbed: Literal["gaussian", "bernoulli"] = option("gaussian", "reward distribution")
    true_mean: float = option(
        0.0, "gaussian: mean of the true values, q*(a) ~ N(true_mean, 1)", metavar="X"
    )
    probs: tuple[float, ...] | None = option(
        None, "bernoulli: the arms' success probabilities, one per arm; none: q*(a) ~ U(0, 1)"
    )

    def __post_init__(self):
        if not isinstance(self.arms, int) or self.arms < 2:
            raise UsageError(f"--arms must be an integer of at least 2; got {self.arms}")
        if self.testbed not in TESTBEDS:
            raise UsageError(f"unknown --testbed {self.testbed!r}: use gaussian or bernoulli")
        if not math.isfinite(self.true_mean):
            raise UsageError(f"--true-mean must be a finite number; got {self.true_mean}")
        if self.probs is not None:
            self._check_probs()

    def _check_probs(self) -> None:
        if self.testbed != "bernoulli":
            raise UsageError("--probs applies only to --testbed bernoulli: drop it or add that")
        if len(self.probs) != self.arms:
            raise UsageError(
                f"--probs gives {len(self.probs)} probabilities for {self.arms} arms: "
                "give one per arm"
            )
        bad = [p for p in self.probs if not (math.isfinite(p) and 0.0 <= p <= 1.0)]
        if bad:
            raise UsageError(f"--probs must lie in [0, 1]; got {bad[0]}")


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
