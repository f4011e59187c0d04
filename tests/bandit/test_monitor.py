"""The monitor's block-wise statistics against direct computations."""

import math

import numpy as np
import pytest
import torch

from gradgames.bandit.monitor import Z95, mean_and_interval, windowed_variance


@pytest.mark.parametrize("window", [1, 2, 5, 50, 400])
def test_windowed_variance_in_blocks_equals_the_variance_of_the_last_window(window):
    gen = torch.Generator().manual_seed(window)
    x = 3 + torch.randn(300, 7, generator=gen, dtype=torch.float64)
    pieces = []
    for start in range(0, 300, 37):
        earlier = x[max(0, start - (window - 1)) : start] if window > 1 else x[:0]
        block = x[start : start + 37]
        pieces.append(windowed_variance(torch.cat([earlier, block]), len(block), window))
    got = torch.cat(pieces)
    want = torch.stack([
        x[max(0, t - window + 1) : t + 1].var(0) if min(t + 1, window) > 1
        else torch.full((7,), math.nan, dtype=torch.float64)
        for t in range(300)
    ])
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12, equal_nan=True)


def test_mean_and_interval_count_only_the_kept_values():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 50, generator=gen, dtype=torch.float64)
    mean, half = mean_and_interval(x)
    np.testing.assert_allclose(mean, x.mean(1).numpy(), atol=1e-15)
    np.testing.assert_allclose(half, Z95 * x.std(1).numpy() / math.sqrt(50), atol=1e-15)
    keep = torch.ones_like(x, dtype=torch.bool)
    keep[1, :10] = False
    keep[2, :] = False
    holed = x.masked_fill(~keep, math.inf)  # left-out values must not matter
    mean, half = mean_and_interval(holed, keep)
    assert mean[1] == pytest.approx(x[1, 10:].mean().item())
    assert half[1] == pytest.approx(Z95 * x[1, 10:].std().item() / math.sqrt(40))
    assert math.isnan(mean[2]) and mean[0] == pytest.approx(x[0].mean().item())
