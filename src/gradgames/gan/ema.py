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

To choose the decay on full runs, an EmaGenerator can keep further averages with other decays
beside its own (``compare``), updated by the same call; :func:`recalibrated` gives a copy of a
generator whose batch-norm statistics are measured afresh on its own outputs' activations
(``torch.optim.swa_utils.update_bn``, as for SWA) rather than copied from the live generator.
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
        compare: further decays, each averaged beside ``decay`` from the same start.

    Attributes:
        decay: ``beta``, the decay after the warm-up.
        module: the averaged :class:`~gradgames.gan.models.Generator` (on the generator's
            device, no gradients; sample it in eval mode).
        updates: how many training steps the average has taken in (``t``; 0: a copy of the
            start).
        compared: ``{decay: averaged Generator}`` of ``compare``.
    """

    def __init__(self, generator: nn.Module, decay: float, compare: tuple[float, ...] = ()):
        for beta in (decay, *compare):
            check_range("decay", beta, 0.0, 1.0, low_open=True, high_open=True)
        self.decay = decay
        self.module = copy.deepcopy(unwrap(generator)).requires_grad_(False)
        self.compared = {beta: copy.deepcopy(self.module) for beta in compare}
        self.updates = 0

    @torch.no_grad()
    def update(self, generator: nn.Module) -> None:
        """Takes in the generator's weights after a step (with the decay ``beta_t`` of the
        module docstring) and copies its buffers."""
        live = unwrap(generator)
        self.updates += 1
        theirs = [p.detach() for p in live.parameters()]
        live_buffers = [b.detach() for b in live.buffers()]
        for beta, module in ((self.decay, self.module), *self.compared.items()):
            # theta_ema += (1 - beta_t) (theta - theta_ema)
            mine = [p.detach() for p in module.parameters()]
            torch._foreach_lerp_(mine, theirs, 1.0 - self.current_decay(beta))
            if live_buffers:
                torch._foreach_copy_(list(module.buffers()), live_buffers)

    def current_decay(self, decay: float | None = None) -> float:
        """``beta_t = min(beta, (1 + t) / (10 + t))`` for ``t`` = :attr:`updates` (``beta``:
        ``decay``, or :attr:`decay`)."""
        return min(self.decay if decay is None else decay, (1 + self.updates) / (10 + self.updates))

    def state_dict(self) -> dict[str, Any]:
        """``{"state_dict": the averaged Generator's state dict (CPU), "updates": count}``, and
        ``"compared": {repr(decay): state dict}`` when it keeps further averages."""
        saved = {"state_dict": _cpu(self.module), "updates": self.updates}
        if self.compared:
            saved["compared"] = {repr(beta): _cpu(m) for beta, m in self.compared.items()}
        return saved

    def load_state_dict(self, saved: Mapping[str, Any]) -> None:
        """Restores :meth:`state_dict` (raises RuntimeError if the weights do not fit)."""
        self.module.load_state_dict(saved["state_dict"])
        for beta, module in self.compared.items():
            module.load_state_dict(saved["compared"][repr(beta)])
        self.updates = int(saved["updates"])


def _cpu(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


@torch.no_grad()
def recalibrated(generator: nn.Module, seed: int, samples: int = 10_000, batch: int = 500):
    """A copy of ``generator`` whose batch-norm running statistics are the plain average of its
    batch statistics on ``samples`` noise vectors (drawn from their own seeded stream: the
    training's random streams are untouched), by ``torch.optim.swa_utils.update_bn``."""
    from torch.optim.swa_utils import update_bn

    copied = copy.deepcopy(unwrap(generator))
    first = next(copied.parameters())
    stream = torch.Generator(first.device).manual_seed(seed)
    dim = copied.config.noise_dim
    noise = [torch.randn(min(batch, samples - i), dim, generator=stream, device=first.device)
             for i in range(0, samples, batch)]  # fmt: skip
    update_bn(noise, copied)
    return copied.eval()
