"""One training step of the DCGAN and the state it evolves (networks, optimisers, noise).

The game: the discriminator D (a logit) and the generator G play

    L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)            (D minimises)
    L_G = BCE(D(G(z)), 1) = -log sigmoid(D(G(z)))   (G minimises: the non-saturating loss)

with x a minibatch of real images in [-1, 1], z ~ N(0, I), Adam for both networks, one D step
then one G step per minibatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from gradgames.config import to_dict
from gradgames.errors import UsageError
from gradgames.gan import accel
from gradgames.gan.models import Discriminator, Generator

if TYPE_CHECKING:
    from gradgames.gan.train import TrainConfig


@dataclass
class GanState:
    """Everything that evolves during training."""

    generator: Generator
    discriminator: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    fixed_noise: torch.Tensor  # (64, noise_dim)
    step: int = 0
    seconds: float | None = 0.0  # training time to ``step`` over all sessions (None: unknown)


def build_state(
    config: TrainConfig, device: torch.device, graphs: bool = False, channels_last: bool = False
) -> GanState:
    """Fresh networks (seeded), their Adam optimisers and the fixed snapshot noise."""
    torch.manual_seed(config.seed)
    generator = Generator(config.model).to(device)
    discriminator = Discriminator(config.model).to(device)
    if channels_last:
        generator.to(memory_format=torch.channels_last)
        discriminator.to(memory_format=torch.channels_last)
    betas = (config.beta1, config.beta2)
    noise = torch.Generator().manual_seed(config.seed + 1)
    return GanState(
        generator,
        discriminator,
        accel.adam(generator.parameters(), config.lr, betas, device, graphs),
        accel.adam(discriminator.parameters(), config.lr, betas, device, graphs),
        torch.randn(64, config.model.noise_dim, generator=noise).to(device),
    )


def train_step(
    generator: nn.Module,
    discriminator: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: torch.Tensor,
    autocast=None,
    d_for_g: nn.Module | None = None,
) -> torch.Tensor:
    """One D step then one G step on the minibatch ``real`` (B, 1, 28, 28) in [-1, 1].

    Real and fake images go through D in one concatenated pass: D has no batch norm, so this
    equals two passes. During the G step D's parameters are frozen, so backpropagation skips
    their weight gradients. ``d_for_g`` is D as seen by the G step (the unwrapped module under
    DistributedDataParallel). Gradients are zeroed in place, never freed (CUDA graphs).

    Returns:
        ``(4,)`` tensor on the device: ``[L_D, L_G, mean sigmoid D(x), mean sigmoid D(G(z))]``.
    """
    autocast = autocast or accel.autocast(real.device, "fp32")
    d_for_g = d_for_g or discriminator
    b = real.shape[0]
    z = torch.randn(b, generator_noise_dim(generator), device=real.device)  # (B, noise_dim)
    ones = torch.ones(b, device=real.device)
    with autocast:
        fake = generator(z)  # (B, 1, 28, 28)
        logits = discriminator(torch.cat([real, fake.detach()])).float()  # (2B,)
        real_logits, fake_logits = logits[:b], logits[b:]
        d_loss = F.binary_cross_entropy_with_logits(
            real_logits, ones
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(ones))
    opt_d.zero_grad(set_to_none=False)
    d_loss.backward()
    opt_d.step()

    d_for_g.requires_grad_(False)
    with autocast:
        g_loss = F.binary_cross_entropy_with_logits(d_for_g(fake).float(), ones)
    opt_g.zero_grad(set_to_none=False)
    g_loss.backward()
    opt_g.step()
    d_for_g.requires_grad_(True)
    with torch.no_grad():
        return torch.stack(
            [d_loss, g_loss, real_logits.sigmoid().mean(), fake_logits.sigmoid().mean()]
        ).detach()


def generator_noise_dim(generator: nn.Module) -> int:
    module = getattr(generator, "module", generator)  # DistributedDataParallel wraps it
    return module.config.noise_dim


def checkpoint_state(state: GanState, config: TrainConfig, world_size: int = 1) -> dict:
    """The checkpoint dict of :mod:`gradgames.gan.checkpoint` (tensors on the CPU)."""
    return {
        "config": to_dict(config),
        "generator": unwrap(state.generator).state_dict(),
        "discriminator": unwrap(state.discriminator).state_dict(),
        "opt_g": state.opt_g.state_dict(),
        "opt_d": state.opt_d.state_dict(),
        "fixed_noise": state.fixed_noise.cpu(),
        "rng": {
            "cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state() if torch.cuda.is_initialized() else None,
        },
        "step": state.step,
        "seconds": state.seconds,
        "world_size": world_size,
    }


def restore(state: GanState, checkpoint: dict) -> None:
    """Loads a checkpoint into ``state`` (networks, optimisers, RNG, step, training time)."""
    try:
        unwrap(state.generator).load_state_dict(checkpoint["generator"])
        unwrap(state.discriminator).load_state_dict(checkpoint["discriminator"])
        state.opt_g.load_state_dict(checkpoint["opt_g"])
        state.opt_d.load_state_dict(checkpoint["opt_d"])
    except (RuntimeError, KeyError, ValueError) as exc:
        raise UsageError(
            f"the checkpoint does not fit this model ({str(exc).splitlines()[0]}): "
            "resume with the settings it was written with"
        ) from None
    state.fixed_noise.copy_(checkpoint["fixed_noise"])
    state.step = int(checkpoint["step"])
    seconds = checkpoint.get("seconds")  # absent from checkpoints of earlier versions
    state.seconds = float(seconds) if isinstance(seconds, (int, float)) else None
    torch.set_rng_state(checkpoint["rng"]["cpu"])
    if checkpoint["rng"].get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(checkpoint["rng"]["cuda"])


def unwrap(module: nn.Module) -> nn.Module:
    return getattr(module, "module", module)
