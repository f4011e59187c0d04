"""An exponential moving average (EMA) of the generator's weights: a second generator.

After every optimiser step ``t = 1, 2, ...`` of the trained generator (weights ``theta_t``;
``theta_0`` the start), the EMA generator's weights move towards them:

    theta_ema_0 = theta_0,     theta_ema_t = beta_t * theta_ema_{t-1} + (1 - beta_t) * theta_t,
    beta_t = min(beta, (1 + t) / (10 + t))

so that ``theta_ema_t`` averages roughly the last ``1 / (1 - beta)`` steps (half of its weight
lies on the last ``ln 2 / (1 - beta)`` steps). The warm-up ``(1 + t) / (10 + t)`` is
TensorFlow's ``ExponentialMovingAverage(num_updates=t)``: early on the average forgets fast
(``beta_1 = 2/11``), so a run shorter than ``1 / (1 - beta)`` steps does not return its
initial weights; ``beta_t`` reaches ``beta = 0.99`` at step 890 and ``0.999`` at step 8,990.
Averaging the iterates of a GAN's generator damps the oscillation of the two-player game around
its equilibrium (Yazici et al., "The Unusual Effectiveness of Averaging in GAN Training", ICLR
2019) and is the evaluated generator of progressive GANs, BigGAN and StyleGAN (Karras et al.,
2018).

Batch-norm running statistics are buffers, not parameters: they are copied from the live
generator after each update rather than averaged, since an average of running means and
variances of other weights describes no network's activations.

This is the update of :class:`torch.optim.swa_utils.AveragedModel` with ``use_buffers=False``
and the warm-up as its ``multi_avg_fn`` (a test checks the two agree bit for bit), written out
because that class keeps its update count in a tensor and copies it to the parameters' device
at every update: on CUDA a blocking host-to-device copy, which synchronises the stream once per
training step. Here the count is a Python int and an update is two fused multi-tensor kernels
on the parameters' device (``torch._foreach_lerp_`` for the weights, ``torch._foreach_copy_``
for the buffers), with no host synchronisation. It runs after the training step, outside a
CUDA graph of the step, on the same stream: it reads the weights the replayed graph has just
written. The trained generator, its optimiser and every random stream are untouched: a run
trains the same generator with or without its EMA.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from gradgames.config import check_range
from gradgames.gan.step import unwrap


class EmaGenerator:
    """The EMA of a generator's parameters, with the live generator's batch-norm buffers.

    Example::

        ema = EmaGenerator(generator, decay=0.999)
        for real in batches:
            train_step(generator, discriminator, opt_g, opt_d, real)
            ema.update(generator)
        images = ema.module.eval()(z)  # a Generator like any other

    Args:
        generator: the trained generator (a Generator, or one wrapped by DDP); copied.
        decay: ``beta`` of the module docstring, in (0, 1).

    Attributes:
        decay: ``beta``, the decay after the warm-up.
        module: the averaged :class:`~gradgames.gan.models.Generator` (on the generator's
            device, no gradients; sample it in eval mode).
        updates: how many training steps the average has taken in (``t``; 0: a copy of the
            start).
    """

    def __init__(self, generator: nn.Module, decay: float):
        check_range("decay", decay, 0.0, 1.0, low_open=True, high_open=True)
        self.decay = decay
        self.module = copy.deepcopy(unwrap(generator)).requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, generator: nn.Module) -> None:
        """Takes in the generator's weights after a step (with the decay ``beta_t`` of the
        module docstring) and copies its buffers."""
        live = unwrap(generator)
        self.updates += 1
        mine = [p.detach() for p in self.module.parameters()]
        theirs = [p.detach() for p in live.parameters()]
        # theta_ema += (1 - beta_t) (theta - theta_ema)
        torch._foreach_lerp_(mine, theirs, 1.0 - self.current_decay())
        buffers = list(self.module.buffers())
        if buffers:
            torch._foreach_copy_(buffers, [b.detach() for b in live.buffers()])

    def current_decay(self) -> float:
        """``beta_t = min(beta, (1 + t) / (10 + t))`` for ``t`` = :attr:`updates`."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    def state_dict(self) -> dict[str, Any]:
        """``{"state_dict": the averaged Generator's state dict (CPU), "updates": count}``."""
        weights = {k: v.detach().cpu() for k, v in self.module.state_dict().items()}
        return {"state_dict": weights, "updates": self.updates}

    def load_state_dict(self, saved: Mapping[str, Any]) -> None:
        """Restores :meth:`state_dict` (raises RuntimeError if the weights do not fit)."""
        self.module.load_state_dict(saved["state_dict"])
        self.updates = int(saved["updates"])
