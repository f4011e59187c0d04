"""The assignment's DCGAN: generator (2,280,384 parameters) and discriminator (212,865).

The architecture of TensorFlow's DCGAN tutorial, as the assignment specifies it: a generator
z -> dense 7x7x256 -> transposed convolutions 5x5 to 128x7x7, 64x14x14 and 1x28x28, batch norm
and LeakyReLU between them, tanh, no bias anywhere; a discriminator of two 5x5 stride-2
convolutions (64 and 128 channels) with LeakyReLU and dropout, then a dense layer to one logit.
The discriminator returns the logit; ``sigmoid(logit)`` is the probability that the image is
real, and the losses use BCE-with-logits, the same loss as sigmoid + BCE but numerically safe.
The settings (:class:`~gradgames.gan.config.ModelConfig`) live in the torch-free
:mod:`gradgames.gan.config`; each network keeps its own as ``.config``.
"""

from __future__ import annotations

import torch
from torch import nn

from gradgames.gan.config import ModelConfig

__all__ = [
    "Discriminator",
    "Dropout",
    "Generator",
    "ModelConfig",
    "count_parameters",
    "dcgan_init",
    "summary",
]


class Dropout(nn.Module):
    """Inverted dropout with the mask drawn as ``rand_like(x) >= p``.

    Same distribution as :class:`torch.nn.Dropout` (keep with probability ``1 - p``, scale the
    kept values by ``1 / (1 - p)``): ``P(u >= p) = 1 - p`` for ``u ~ U[0, 1)``. A uniform draw
    and a compare cost less than ``nn.Dropout``'s Bernoulli sampling on the CPU (the README's
    speed section has the measurement). Uses torch's global generator, like ``nn.Dropout``.
    """

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, device=x.device, dtype=torch.float32) >= self.p
        return x * keep.to(x.dtype) * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Generator(nn.Module):
    """z (B, noise_dim) -> image (B, 1, 28, 28) in [-1, 1]. No biases anywhere."""

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        c = config or ModelConfig()
        self.config = c
        dense = [nn.Linear(c.noise_dim, 7 * 7 * 256, bias=False)]
        if c.dense_bn:
            dense += [nn.BatchNorm1d(7 * 7 * 256), nn.LeakyReLU(c.leak)]
        self.dense = nn.Sequential(*dense)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False),  # (B, 128, 7, 7)
            nn.BatchNorm2d(128),
            nn.LeakyReLU(c.leak),
            nn.ConvTranspose2d(128, 64, 5, 2, padding=2, output_padding=1, bias=False),  # 14x14
            nn.BatchNorm2d(64),
            nn.LeakyReLU(c.leak),
            nn.ConvTranspose2d(64, 1, 5, 2, padding=2, output_padding=1, bias=False),  # 28x28
            nn.Tanh(),
        )
        if c.init == "dcgan":
            dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.dense(z).view(-1, 256, 7, 7)  # (B, 256, 7, 7)
        return self.net(x)  # (B, 1, 28, 28)


class Discriminator(nn.Module):
    """image (B, 1, 28, 28) -> logit (B,): positive means "real"."""

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        c = config or ModelConfig()
        self.config = c
        self.net = nn.Sequential(
            nn.Conv2d(1, 64, 5, stride=2, padding=2),  # (B, 64, 14, 14)
            nn.LeakyReLU(c.leak),
            Dropout(c.dropout),
            nn.Conv2d(64, 128, 5, stride=2, padding=2),  # (B, 128, 7, 7)
            nn.LeakyReLU(c.leak),
            Dropout(c.dropout),
            nn.Flatten(),  # (B, 6272)
            nn.Linear(128 * 7 * 7, 1),
        )
        if c.init == "dcgan":
            dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


def dcgan_init(model: nn.Module) -> None:
    """The DCGAN paper's init: conv/linear weights ~ N(0, 0.02); BN weight ~ N(1, 0.02), bias 0."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def summary(model: nn.Module, example: torch.Tensor) -> list[dict]:
    """Layer-by-layer rows ``{"layer", "output_shape", "parameters"}`` of one forward pass."""
    rows: list[dict] = []
    hooks = []
    for name, module in model.named_modules():
        if len(list(module.children())) == 0:
            hooks.append(module.register_forward_hook(_recorder(rows, name, module)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(example)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return rows


def _recorder(rows: list[dict], name: str, module: nn.Module):
    def hook(_module, _inputs, output):
        rows.append(
            {
                "layer": f"{name} ({type(module).__name__})",
                "output_shape": [-1, *output.shape[1:]],
                "parameters": sum(p.numel() for p in module.parameters(recurse=False)),
            }
        )

    return hook
