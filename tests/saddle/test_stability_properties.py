"""Property tests: a step size inside a reported stable interval gives a trajectory of the real
dynamic contracting at the predicted rate rho(M); one outside does not contract.

On a quadratic f = z^T H z / 2 every dynamic is exactly its linearisation, so the distance to
the saddle after k steps behaves like rho^k up to a bounded factor; over the last half of
K = 160 steps that factor costs at most a few percent of the estimated rate. sga's alignment
rule is linear only near the saddle (its sign test is of degree 4 in the error against
epsilon = 1/10): with alignment the contracting runs start at 1e-3 and the growing ones are
run without it.
"""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradgames.saddle.config import METHODS, Hyperparameters
from gradgames.saddle.dynamics import run
from gradgames.saddle.game import Game
from gradgames.saddle.linear import spectral_radius
from gradgames.saddle.stability import stability
from tests.saddle.helpers import stable_at

STEPS = 160
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


@st.composite
def games(draw):
    """A quadratic game: a symmetric H (N = 2 or 3) leaning towards a saddle, its x_dim, a step
    ratio R and hyper-parameters."""
    n, m = draw(st.sampled_from([(1, 1), (1, 2), (2, 1)]))
    size = n + m
    entries = draw(st.lists(st.floats(-2, 2), min_size=size * size, max_size=size * size))
    a = np.array(entries).reshape(size, size)
    h = a + a.T
    h[:n, :n] += 2 * np.eye(n)
    h[n:, n:] -= 2 * np.eye(m)
    ratio = draw(st.sampled_from([0.25, 1.0, 3.0]))
    hyper = Hyperparameters(
        momentum=draw(st.sampled_from([-0.5, -0.2])),
        co_gamma=draw(st.sampled_from([0.3, 1.0])),
        sga_align=draw(st.booleans()),
    )
    return h, n, ratio, hyper


def quadratic_game(h: np.ndarray, x_dim: int) -> Game:
    matrix = torch.as_tensor(h, dtype=torch.float64)

    def f(x, y):  # (..., n), (..., m) -> (...)
        z = torch.cat([x, y], dim=-1)
        return 0.5 * torch.einsum("...i,ij,...j->...", z, matrix, z)

    return Game(f, x_dim, len(h) - x_dim, quadratic=True, batched=True)


def trajectory_rate(h, n, method, eta, ratio, hyper) -> tuple[float, object]:
    """The distance's contraction per step over the last half of a run, and the run."""
    start = np.linspace(0.6, 1.1, len(h))  # generic: not on an invariant subspace
    if hyper.sga_align:
        start *= 1e-3
    result = run(
        quadratic_game(h, n),
        method,
        eta,
        STEPS,
        start[:n],
        start[n:],
        tol=0.0,
        bound=1e300,
        target=np.zeros(len(h)),
        lr_ratio=ratio,
        hyper=hyper,
    )
    d = result.distances
    half = len(d) // 2
    return float((d[-1] / d[half]) ** (1.0 / (len(d) - 1 - half))), result


@SETTINGS
@given(game=games(), method=st.sampled_from(METHODS), fraction=st.floats(0.05, 0.95))
def test_inside_a_reported_interval_the_dynamic_contracts_at_the_predicted_rate(
    game, method, fraction
):
    h, n, ratio, hyper = game
    s = stability(method, h, n, lr_ratio=ratio, hyper=hyper)
    assume(s.intervals)
    lo, hi = s.intervals[0]
    hi = hi if np.isfinite(hi) else 4 * max(lo, 1.0 / np.abs(h).max())
    eta = lo + fraction * (hi - lo)
    rho = spectral_radius(method, h, n, eta, lr_ratio=ratio, hyper=hyper)
    assume(0.5 <= rho <= 0.95)
    rate, result = trajectory_rate(h, n, method, eta, ratio, hyper)
    assert stable_at(s, eta)
    assert result.status == "max-steps" and result.distances[-1] < result.distances[0]
    assert abs(rate - rho) <= 0.05, (method, eta, rate, rho)


@SETTINGS
@given(game=games(), method=st.sampled_from(METHODS), factor=st.floats(1.05, 3.0))
def test_outside_the_reported_intervals_the_dynamic_does_not_contract(game, method, factor):
    h, n, ratio, hyper = game
    hyper = Hyperparameters(hyper.momentum, hyper.co_gamma, hyper.sga_lambda, sga_align=False)
    s = stability(method, h, n, lr_ratio=ratio, hyper=hyper)
    ends = [hi for _, hi in s.intervals if np.isfinite(hi)]
    base = ends[0] if ends else 1.0 / np.abs(np.linalg.eigvals(h)).max()
    eta = base * factor
    assume(not stable_at(s, eta))
    rho = spectral_radius(method, h, n, eta, lr_ratio=ratio, hyper=hyper)
    assume(1.03 <= rho <= 3.0)
    rate, result = trajectory_rate(h, n, method, eta, ratio, hyper)
    assert result.status in ("max-steps", "diverged")
    assert result.distances[-1] > result.distances[0]
    assert abs(rate - rho) <= 0.05 * rho, (method, eta, rate, rho)


COVARIANT = ("gda", "gd", "eg", "alt-gda", "ogda", "nm-gda")  # co, sga, hgd: gamma, lambda, H^2


@given(games(), st.integers(-15, 15), st.floats(1.0, 10.0))
@settings(max_examples=40, deadline=None)
def test_answers_are_scale_covariant(game, exponent, mantissa):
    """f -> c f: the stable step sizes scale by 1/c and the type stays (no absolute tolerance
    decides either)."""
    from gradgames.saddle.game import classify

    h, n, ratio, hyper = game
    c = mantissa * 10.0**exponent
    assert classify(c * h, n, quadratic=True) == classify(h, n, quadratic=True)
    for method in COVARIANT:
        base = stability(method, h, n, lr_ratio=ratio, hyper=hyper)
        scaled = stability(method, c * h, n, lr_ratio=ratio, hyper=hyper)
        assert len(scaled.intervals) == len(base.intervals), method
        for (lo, hi), (slo, shi) in zip(base.intervals, scaled.intervals, strict=True):
            assert slo * c == pytest.approx(lo, rel=1e-6, abs=1e-300)
            assert shi * c == pytest.approx(hi, rel=1e-6), method
