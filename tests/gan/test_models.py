import json

import pytest
import torch
from torch import nn

from gradgames.gan.models import (
    Discriminator,
    Dropout,
    Generator,
    ModelConfig,
    count_parameters,
)


def test_parameter_counts_match_the_spec():
    assert count_parameters(Generator()) == 2_280_384
    assert count_parameters(Discriminator()) == 212_865
    # the TF tutorial's variant: BatchNorm1d(12544) after the dense layer adds 2 * 12544
    assert count_parameters(Generator(ModelConfig(dense_bn=True))) == 2_280_384 + 2 * 12_544


def test_generator_has_no_bias_and_outputs_tanh_range():
    generator = Generator()
    layers = [m for m in generator.modules() if isinstance(m, (nn.Linear, nn.ConvTranspose2d))]
    assert len(layers) == 4 and all(m.bias is None for m in layers)
    z = torch.randn(16, 100) * 50  # large inputs saturate tanh but never leave [-1, 1]
    images = generator(z)
    assert images.shape == (16, 1, 28, 28)
    assert images.min() >= -1.0 and images.max() <= 1.0


def test_discriminator_returns_one_logit_per_image():
    logits = Discriminator()(torch.randn(5, 1, 28, 28))
    assert logits.shape == (5,)


def test_dropout_keeps_expectation_and_is_identity_in_eval():
    torch.manual_seed(0)
    layer = Dropout(0.3)
    x = torch.ones(200_000)
    y = layer(x)
    kept = (y != 0).float().mean().item()
    assert abs(kept - 0.7) < 0.01
    assert abs(y.mean().item() - 1.0) < 0.02
    assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / 0.7))
    layer.eval()
    assert torch.equal(layer(x), x)
    with pytest.raises(ValueError):
        Dropout(1.0)


def test_dcgan_init_draws_weights_with_std_002():
    torch.manual_seed(0)
    generator = Generator(ModelConfig(init="dcgan"))
    weight = generator.dense[0].weight
    assert abs(weight.std().item() - 0.02) < 0.001
    default = Generator().dense[0].weight
    assert default.std().item() < 0.06 and abs(default.std().item() - 0.02) > 0.02


def test_summary_command_prints_counts(cli):
    code, out, _ = cli("gan", "summary", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["generator"]["parameters"] == 2_280_384
    assert report["discriminator"]["parameters"] == 212_865
    shapes = [row["output_shape"] for row in report["generator"]["layers"]]
    assert shapes[-1] == [-1, 1, 28, 28]
    assert sum(r["parameters"] for r in report["discriminator"]["layers"]) == 212_865
    code, out, _ = cli("gan", "summary")
    assert code == 0 and "2,280,384" in out and "(-1, 128, 7, 7)" in out
