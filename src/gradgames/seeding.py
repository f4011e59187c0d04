"""SplitMix64 (Steele, Lea and Flood 2014): the one mixer behind the counter-based random numbers
of the bandit's streams and the GAN's dropout masks, in int64 arithmetic (torch's int64 multiply
wraps modulo 2^64; a logical right shift is an arithmetic one with the sign bits masked off)."""

from __future__ import annotations

import torch

GAMMA = 0x9E3779B97F4A7C15 - 2**64
"""SplitMix64's increment (the golden ratio times 2^64), as an int64."""
_ROUNDS = ((30, 0xBF58476D1CE4E5B9 - 2**64), (27, 0x94D049BB133111EB - 2**64), (31, None))


def mix64_(z: torch.Tensor) -> torch.Tensor:
    """SplitMix64's output function of the int64 tensor ``z``, in place; returns ``z``."""
    for shift, multiplier in _ROUNDS:
        z.bitwise_xor_(z.bitwise_right_shift(shift).bitwise_and_((1 << (64 - shift)) - 1))
        if multiplier is not None:
            z.mul_(multiplier)
    return z
