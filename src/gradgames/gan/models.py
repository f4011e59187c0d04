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
from gradgames.seeding import GAMMA, mix64_

__all__ = [
    "DiracDiscriminator",
    "DiracGenerator",
    "Discriminator",
    "Dropout",
    "Generator",
    "ModelConfig",
    "count_parameters",
    "dcgan_init",
    "keep_mask",
    "summary",
]


def keep_mask(shape: torch.Size | tuple[int, ...], p: float, device: torch.device | str = "cpu"):
    """Dropout's keep mask: True with probability ``1 - p``, each element independently.

    On the CPU the mask costs 16 random bits an element instead of a 32-bit uniform draw: one
    64-bit key ``k`` is drawn from torch's global generator (so ``torch.manual_seed`` and the
    checkpointed RNG state fix it), word ``j`` is SplitMix64's output
    ``mix(j * gamma + k)``, and each word gives four 16-bit lanes ``u`` (as int16). An element
    is kept when ``u >= round(65536 p) - 32768``: its drop probability is exactly
    ``round(65536 p) / 65536``, within ``2^-17`` of ``p``. SplitMix64's outputs pass BigCrush,
    so lanes within a word, words within a mask and masks of different keys are independent
    for any practical purpose. On other devices: ``rand >= p`` (Philox is cheap there).

    Returns:
        a bool tensor of ``shape`` on ``device``.
    """
    device = torch.device(device)
    if device.type != "cpu":
        return torch.rand(shape, device=device) >= p
    n = 1
    for size in shape:
        n *= size
    key = int(torch.randint(-(2**63), 2**63 - 1, (), dtype=torch.int64))
    z = mix64_(torch.arange((n + 3) // 4, dtype=torch.int64).mul_(GAMMA).add_(key))  # (words,)
    lanes = z.view(torch.int16)[:n].view(shape)  # 4 lanes a word
    return lanes >= round(65536 * p) - 32768


class Dropout(nn.Module):
    """Inverted dropout: ``y = x * keep / (1 - p)`` with ``keep`` from :func:`keep_mask`.

    The same distribution as :class:`torch.nn.Dropout` (keep with probability ``1 - p`` up to
    ``2^-17``, scale the kept values by ``1 / (1 - p)``), with a cheaper mask on the CPU; the
    backward pass keeps the boolean mask, a quarter of a float one. Uses torch's global
    generator, like ``nn.Dropout``.
    """

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        return (x * keep_mask(x.shape, self.p, x.device)).mul_(1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def leaky_relu(slope: float) -> nn.LeakyReLU:
    """LeakyReLU computed in place (no new tensor) wherever autograd allows it: its input is
    a convolution's or batch norm's output, which their backward passes do not read, and the
    in-place backward needs a positive slope."""
    return nn.LeakyReLU(slope, inplace=slope > 0)


class Generator(nn.Module):
    """z (B, noise_dim) -> image (B, 1, 28, 28) in [-1, 1]. No biases anywhere."""

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        c = config or ModelConfig()
        self.config = c
        dense = [nn.Linear(c.noise_dim, 7 * 7 * 256, bias=False)]
        if c.dense_bn:
            dense += [nn.BatchNorm1d(7 * 7 * 256), leaky_relu(c.leak)]
        self.dense = nn.Sequential(*dense)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False),  # (B, 128, 7, 7)
            nn.BatchNorm2d(128),
            leaky_relu(c.leak),
            nn.ConvTranspose2d(128, 64, 5, 2, padding=2, output_padding=1, bias=False),  # 14x14
            nn.BatchNorm2d(64),
            leaky_relu(c.leak),
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
            leaky_relu(c.leak),
            Dropout(c.dropout),
            nn.Conv2d(64, 128, 5, stride=2, padding=2),  # (B, 128, 7, 7)
            leaky_relu(c.leak),
            Dropout(c.dropout),
            nn.Flatten(),  # (B, 6272)
            nn.Linear(128 * 7 * 7, 1),
        )
        if c.init == "dcgan":
            dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class DiracGenerator(nn.Module):
    """The DiracGAN's generator (Mescheder, Geiger and Nowozin 2018): the point theta,
    whatever the noise: z (B, 1) -> (B, 1)."""

    def __init__(self, theta: float = 1.0):
        super().__init__()
        self.config = ModelConfig(noise_dim=1)
        self.theta = nn.Parameter(torch.tensor(float(theta)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.theta.expand(len(z), 1)


class DiracDiscriminator(nn.Module):
    """The DiracGAN's discriminator: the logit ``D(x) = psi x``, x (B, 1) -> (B,)."""

    def __init__(self, psi: float = 1.0):
        super().__init__()
        self.psi = nn.Parameter(torch.tensor(float(psi)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.psi * x[:, 0]


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
