"""The training step's cheap parts: dropout's counter-based keep mask and in-place LeakyReLU.

Both must leave what is learned unchanged: the mask has nn.Dropout's distribution (each
element kept with probability 1 - p, independently), and the in-place activations give the
gradients of the out-of-place ones.
"""

import copy
import math

import pytest
import torch
from torch import nn

from gradgames.gan.models import Discriminator, Dropout, Generator, ModelConfig, keep_mask


def _sigma(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.3, 0.5, 0.1, 0.9])
def test_the_drop_probability_is_p_within_2_to_the_minus_17(p):
    exact = round(65536 * p) / 65536  # the mask's drop probability by construction
    assert abs(exact - p) <= 2**-17
    torch.manual_seed(0)
    n = 1 << 22
    dropped = 1.0 - keep_mask((n,), p).float().mean().item()
    assert abs(dropped - exact) < 5 * _sigma(exact, n), dropped


def test_neighbouring_elements_and_consecutive_masks_are_independent():
    """P(both kept) = (1 - p)^2 for elements 1..8 apart (lanes of one word, and the next
    words), for the same element in two consecutive masks, and along the other axes."""
    torch.manual_seed(1)
    p, n = 0.3, 1 << 22
    first, second = keep_mask((n,), p), keep_mask((n,), p)
    q = 1 - p
    for gap in range(1, 9):
        both = (first[:-gap] & first[gap:]).float().mean().item()
        assert abs(both - q * q) < 5 * _sigma(q * q, n - gap), (gap, both)
    both = (first & second).float().mean().item()
    assert abs(both - q * q) < 5 * _sigma(q * q, n), both
    image = keep_mask((256, 64, 16, 16), p)  # channels and rows of one image
    for dim in (1, 2, 3):
        a, b = image.narrow(dim, 0, 8), image.narrow(dim, 1, 8)
        both = (a & b).float().mean().item()
        assert abs(both - q * q) < 5 * _sigma(q * q, a.numel()), (dim, both)


def test_the_mask_follows_torch_seed_and_every_shape():
    torch.manual_seed(3)
    a = keep_mask((5, 7, 3), 0.3)
    torch.manual_seed(3)
    assert torch.equal(keep_mask((5, 7, 3), 0.3), a)
    assert not torch.equal(keep_mask((5, 7, 3), 0.3), a)  # the next draw is another mask
    assert a.shape == (5, 7, 3) and a.dtype == torch.bool
    assert keep_mask((1,), 0.3).shape == (1,)


def test_dropout_scales_the_kept_elements_and_is_the_identity_in_eval():
    torch.manual_seed(4)
    layer = Dropout(0.3)
    x = torch.randn(64, 128, 7, 7)
    torch.manual_seed(5)
    y = layer(x)
    torch.manual_seed(5)
    keep = keep_mask(x.shape, 0.3)
    torch.testing.assert_close(y, torch.where(keep, x / 0.7, 0.0))
    layer.eval()
    assert torch.equal(layer(x), x)


@pytest.mark.parametrize("network", ["generator", "discriminator"])
def test_in_place_activations_give_the_out_of_place_gradients(network):
    torch.manual_seed(6)
    config = ModelConfig(dropout=0.0, dense_bn=True)
    fast = Generator(config) if network == "generator" else Discriminator(config)
    plain = copy.deepcopy(fast)
    activations = [m for m in fast.modules() if isinstance(m, nn.LeakyReLU)]
    assert activations and all(m.inplace for m in activations)
    for m in plain.modules():
        if isinstance(m, nn.LeakyReLU):
            m.inplace = False
    x = torch.randn(8, 100) if network == "generator" else torch.randn(8, 1, 28, 28)
    for model in (fast, plain):
        model(x).square().sum().backward()
    for p, q in zip(fast.parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad)


def test_a_zero_slope_keeps_the_activation_out_of_place():
    """torch's in-place LeakyReLU backward needs a positive slope: leak 0 must still train."""
    model = Discriminator(ModelConfig(leak=0.0))
    assert not any(m.inplace for m in model.modules() if isinstance(m, nn.LeakyReLU))
    model(torch.randn(4, 1, 28, 28)).sum().backward()
