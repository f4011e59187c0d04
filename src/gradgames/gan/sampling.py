"""Drawing images from a generator, and ``gradgames gan sample``'s grid of them.

A sample is ``G(z)`` with ``z ~ N(0, I)`` drawn on the CPU from a seeded generator, so the same
seed gives the same images on every device; the generator runs in eval mode (batch norm with
its running statistics). Every batch is checked to be finite before anyone scores or writes
it: a diverged generator is named, not drawn.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from gradgames.config import check_int, check_seed
from gradgames.device import resolve_device
from gradgames.errors import UsageError
from gradgames.gan.artifacts import save_image_grid
from gradgames.gan.checkpoint import load_generator
from gradgames.gan.config import TRAIN_IMAGES, SampleConfig, WeightsConfig
from gradgames.gan.shipped import pretrained_path
from gradgames.rundir import check_output_file


@torch.no_grad()
def generated_batches(generator: nn.Module, num: int, seed: int, batch_size: int):
    """Yields ``num`` images ``(B, 1, 28, 28)`` of ``generator`` from ``z ~ N(0, I)``.

    ``z`` is drawn on the CPU from ``torch.Generator().manual_seed(seed)``, so the samples are
    the same on every device, then moved to the generator's device.

    Raises:
        UsageError: the generator produced a non-finite pixel (its weights are unusable).
    """
    stream = torch.Generator().manual_seed(seed)
    noise_dim = generator.config.noise_dim
    device = next(generator.parameters()).device
    for start in range(0, num, batch_size):
        b = min(batch_size, num - start)
        z = torch.randn(b, noise_dim, generator=stream)  # (B, noise_dim)
        images = generator(z.to(device))  # (B, 1, 28, 28)
        if not bool(torch.isfinite(images).all()):
            raise UsageError(
                "the generator produced non-finite images (NaN or infinity): its weights "
                "cannot be used; take a checkpoint from before training diverged"
            )
        yield images


@torch.no_grad()
def sample_images(generator: nn.Module, num: int, seed: int = 0) -> torch.Tensor:
    """``num`` images ``(num, 1, 28, 28)`` of ``generator`` in eval mode (see
    :func:`generated_batches`); its previous mode is restored. A ConfigError for ``num``
    outside 1 to 60,000 (the largest set an evaluation scores) or a seed outside the seed
    range."""
    check_int("num", num, 1, TRAIN_IMAGES)
    check_seed("seed", seed)
    was_training = generator.training
    generator.eval()
    try:
        return torch.cat(list(generated_batches(generator, num, seed, batch_size=500)))
    finally:
        generator.train(was_training)


def write_samples(config: SampleConfig, stated: WeightsConfig | None = None) -> Path:
    """Writes the grid of ``config.num`` samples of the generator in ``config.checkpoint`` (or
    the shipped one ``config.pretrained``) and returns its path; a UsageError for an output
    path that cannot be written (checked first), an unusable weights file, or non-finite
    images."""
    out = check_output_file(config.out, ".png", inputs=filter(None, [config.checkpoint]))
    device = resolve_device(config.device)
    path = pretrained_path(config.pretrained) if config.pretrained else config.checkpoint
    generator = load_generator(path, device, stated=stated)
    images = sample_images(generator, config.num, config.seed)  # (num, 1, 28, 28)
    return save_image_grid(images, out, nrow=config.nrow)
