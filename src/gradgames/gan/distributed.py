"""The process world of a training run: one process, or several under torchrun (DDP).

A single process is the world of size 1: the training loop is the same code either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class World:
    """Rank, size and device of this process; a single process by default."""

    rank: int = 0
    size: int = 1
    device: torch.device | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, module: nn.Module) -> nn.Module:
        """The module as the training step should call it (DDP-wrapped when size > 1)."""
        return module

    def barrier(self) -> None:
        """Waits for every process (nothing to wait for in a world of one)."""

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is set on any process."""
        return flag
