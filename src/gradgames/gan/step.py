"""One training step of the DCGAN and the state it evolves (networks, optimisers, noise).

The game: the discriminator D (a logit) and the generator G play

    L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)            (D minimises)
    L_G = BCE(D(G(z)), 1) = -log sigmoid(D(G(z)))   (G minimises: the non-saturating loss)

with x a minibatch of real images in [-1, 1], z ~ N(0, I), Adam for both networks, one D step
then one G step per minibatch. The other dynamics and optimisers (``gan train --dynamics``)
are :mod:`gradgames.gan.dynamics`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gradgames.gan import accel, dynamics
from gradgames.gan.config import TrainConfig
from gradgames.gan.models import DiracDiscriminator, DiracGenerator, Discriminator, Generator


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
    """Fresh networks (seeded), their optimisers and the fixed snapshot noise: the DCGAN with
    fused Adam (:meth:`TrainConfig.legacy_step`), else :func:`dynamics.optimizer`'s."""
    torch.manual_seed(config.seed)
    if config.network == "dirac":
        theta, psi = config.dirac_init or (1.0, 1.0)
        generator, discriminator = DiracGenerator(theta), DiracDiscriminator(psi)
    else:
        generator = Generator(config.model).to(device)
        discriminator = Discriminator(config.model).to(device)
    if channels_last:
        generator.to(memory_format=torch.channels_last)
        discriminator.to(memory_format=torch.channels_last)
    betas = (config.beta1, config.beta2)
    noise = torch.Generator().manual_seed(config.seed + 1)
    if config.legacy_step():
        opt_g = accel.adam(generator.parameters(), config.lr, betas, device, graphs)
        opt_d = accel.adam(discriminator.parameters(), config.lr, betas, device, graphs)
    else:
        opt_g = dynamics.optimizer(config, generator.parameters())
        opt_d = dynamics.optimizer(config, discriminator.parameters())
    noise_dim = generator.config.noise_dim
    return GanState(generator, discriminator, opt_g, opt_d,
                    torch.randn(64, noise_dim, generator=noise).to(device))  # fmt: skip


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
    """The noise size of ``generator`` (a Generator, or one wrapped by DDP)."""
    return unwrap(generator).config.noise_dim


def unwrap(module: nn.Module) -> nn.Module:
    """The module itself when DistributedDataParallel wraps it (``.module``), else it."""
    return getattr(module, "module", module)
