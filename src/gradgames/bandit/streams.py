"""Counter-based random numbers: one independent stream per run, derived from one seed.

Every random number the simulator uses is a pure function of ``(seed, run, index, stream)``:

    u = (splitmix64(key(seed, run) XOR splitmix64(index * 256 + stream)) >> 11 + 1/2) / 2^53

where ``splitmix64`` is Steele, Lea and Flood's 64-bit finaliser (the output function of
SplitMix64) and ``key(seed, run) = splitmix64(splitmix64(seed) XOR (run + 1))``. Nothing depends
on how many runs are simulated together or in which order: run 7 of a 2000-run simulation sees
the same numbers as run 7 of an 8-run one, and a plain per-run loop can reproduce any run of the
vectorised simulator exactly (``tests/bandit/test_equivalence.py``). The arithmetic wraps
modulo 2^64 (:mod:`gradgames.seeding`); the seed is therefore required to lie in
:data:`gradgames.config.SEED_RANGE` (0 to 2^63 - 1, every command's range), so that two
different seeds never name the same streams (-1 would wrap onto 2^64 - 1).
"""

from __future__ import annotations

import numpy as np
import torch

from gradgames.config import check_int, check_seed
from gradgames.seeding import GAMMA, mix64_

ACTION = 0
"""Stream of the uniform that picks the action at each step (inverse CDF of the policy)."""
REWARD = 1
"""Stream of the uniform behind each step's reward noise (Gaussian) or success (Bernoulli)."""
ARM_VALUE = 2
"""Stream of the uniform behind each arm's true value (indexed by arm, not by step)."""

def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser of ``x + golden``, elementwise on a ``uint64`` array."""
    z = torch.from_numpy(np.ascontiguousarray(x, dtype=np.uint64).view(np.int64)).add(GAMMA)
    return mix64_(z).numpy().view(np.uint64)


def run_keys(seed: int, run_ids: np.ndarray) -> np.ndarray:
    """The 64-bit key of each run's stream: ``splitmix64(splitmix64(seed) ^ (run + 1))``.

    Args:
        seed: an integer in :data:`gradgames.config.SEED_RANGE`.
        run_ids: (runs,) non-negative run indices below 2^63.

    Returns:
        (runs,) ``uint64`` keys.

    Raises:
        ConfigError: a seed outside the range, or a negative or non-integer run index.
    """
    check_seed("seed", seed)
    run_ids = np.asarray(run_ids)
    if run_ids.size and (run_ids.dtype.kind not in "iu" or run_ids.min() < 0):
        check_int("run_ids", run_ids.min().item(), 0)  # raises, naming the first bad index
    base = splitmix64(np.array([seed % 2**64], dtype=np.uint64))
    return splitmix64(base ^ (np.asarray(run_ids, dtype=np.uint64) + np.uint64(1)))


class Streams:
    """The random numbers of a set of runs, addressed by ``(index, stream)``.

    Args:
        seed: the one seed of the simulation.
        run_ids: (runs,) the runs' indices (``range(runs)`` for a whole simulation; a subset
            gives exactly those runs' numbers).
    """

    def __init__(self, seed: int, run_ids: np.ndarray):
        self.keys = run_keys(seed, run_ids)  # (runs,)

    def uniform(self, indices: np.ndarray, stream: int) -> torch.Tensor:
        """Uniforms in (0, 1) for every run at every index of one stream.

        Args:
            indices: (n,) non-negative step (or arm) indices.
            stream: one of :data:`ACTION`, :data:`REWARD`, :data:`ARM_VALUE`.

        Returns:
            (n, runs) float64 tensor; entry ``[i, r]`` depends only on
            ``(seed, run_ids[r], indices[i], stream)``.
        """
        counters = np.asarray(indices, dtype=np.uint64) * np.uint64(256) + np.uint64(stream)
        z = splitmix64(self.keys[None, :] ^ splitmix64(counters)[:, None])  # (n, runs)
        u = ((z >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
        return torch.from_numpy(u)
