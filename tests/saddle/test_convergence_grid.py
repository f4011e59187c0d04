"""Convergence grids: on games with known answers, every dynamic converges at the step sizes
the stability analysis calls stable and diverges at those it calls unstable."""

import math

import numpy as np
import pytest

from gradgames.saddle.dynamics import run_many
from gradgames.saddle.game import Game
from gradgames.saddle.stability import METHODS, spectral_radius, stability
from tests.saddle.helpers import stable_at

GAMES = [
    "4*x**2 - 4*y**2",
    "x*y",
    "x*y + 0.3*x**2 - 0.5*y**2",
    "x1*y1 + 2*x2*y2 + x1**2 + 0.5*x2**2 - 0.25*y1**2 - y2**2 + 0.3*x1*x2",
]
MARGIN = 0.08  # grid step sizes must have rho <= 1 - MARGIN or rho >= 1 + MARGIN


def grid(hessian, x_dim, method):
    """Step sizes with a clear verdict, spread over (0, 2 * the last stable end]."""
    s = stability(method, hessian, x_dim)
    ends = [hi for _, hi in s.intervals if math.isfinite(hi)]
    scale = max(ends) if ends else 1.0 / np.abs(np.linalg.eigvals(hessian)).max()
    etas = scale * np.linspace(0.02, 2.0, 100)
    rho = spectral_radius(method, hessian, x_dim, etas)
    stable = [e for e, r in zip(etas, rho, strict=True) if r <= 1 - MARGIN]
    unstable = [e for e, r in zip(etas, rho, strict=True) if r >= 1 + MARGIN]
    return s, spread(stable), spread(unstable)


def spread(values, count=4):
    """At most ``count`` of ``values``, evenly spaced through the list, ends included."""
    if not values:
        return []
    return [values[i] for i in np.linspace(0, len(values) - 1, min(count, len(values))).astype(int)]


@pytest.mark.parametrize("text", GAMES)
def test_predicted_stable_step_sizes_converge_and_unstable_ones_diverge(text):
    game = Game.from_expression(text)
    (point,) = game.stationary_points()
    start = 0.5 + np.arange(game.dim) * 0.25  # generic: not on an invariant subspace
    x0, y0 = start[: game.x_dim], start[game.x_dim :]
    seen = {"converged": 0, "diverged": 0}
    for method in METHODS:
        s, stable, unstable = grid(point.hessian, game.x_dim, method)
        assert all(stable_at(s, e) for e in stable) and not any(stable_at(s, e) for e in unstable)
        steps = int(math.log(1e-6) / math.log(1 - MARGIN) * 3) + 30
        results = run_many(game, method, stable + unstable, steps, x0, y0, tol=1e-6, bound=1e3)
        for eta, r in zip(stable + unstable, results, strict=True):
            expected = "converged" if eta in stable else "diverged"
            assert r.status == expected, (method, eta, r.status)
            seen[expected] += 1
    assert seen["converged"] >= 4 and seen["diverged"] >= 10
