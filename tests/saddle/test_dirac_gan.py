"""DiracGAN (Mescheder, Geiger and Nowozin, "Which Training Methods for GANs do actually
Converge?", ICML 2018): generator p = delta_theta, discriminator D(x) = psi x, data at 0;
f(theta, psi) = log sigmoid(psi theta), theta = x minimised, psi = y maximised.

At the only stationary point (0, 0): f_xy = 1/2, f_xx = f_yy = 0, so J = [[0, 1/2], [-1/2, 0]]
is x*y's scaled by 1/2 and every interval is x*y's doubled, with J^T J = I/4: co's
(I + gamma J^T) J = J + gamma/4 I, eta < 8 gamma / (gamma^2 + 4); sga's (I - lambda J) J =
J + lambda/4 I, eta < 8 lambda / (lambda^2 + 4); hgd's M = (1 - eta/4) I, eta < 8.
"""

import math

import numpy as np
import pytest

from gradgames.saddle import DIRAC_GAN_F, Game, analyze, run
from gradgames.saddle.config import METHODS

GAME = Game.from_expression(DIRAC_GAN_F)
ENDS = {"eg": 2.0, "ogda": 2 / math.sqrt(3), "co": 80 / 104, "sga": 1.6, "hgd": 8.0}
STABLE_AT_HALF = ("ogda", "eg", "nm-gda", "co", "sga", "hgd")


def test_the_only_stationary_point_and_its_hessian():
    ((point),) = GAME.stationary_points()
    assert point.x.tolist() == [0.0] and point.y.tolist() == [0.0]
    np.testing.assert_allclose(point.hessian, [[0.0, 0.5], [0.5, 0.0]], atol=1e-12)
    assert point.kind == "degenerate"  # f is flat along both axes: no second-order test
    assert point.value == pytest.approx(-math.log(2))


def test_which_dynamics_are_stable_and_where():
    (point,) = analyze(GAME).points
    for method in ("gda", "alt-gda", "gd"):
        assert point.stability[method].intervals == []
    for method, end in ENDS.items():
        ((lo, hi),) = point.stability[method].intervals
        assert lo == 0.0 and hi == pytest.approx(end, rel=1e-9), method
    assert point.stability["nm-gda"].intervals[0][1] == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_runs_from_a_start_in_the_basin_follow_the_analysis(method):
    """From (1, 0.5) at eta = 0.5 the locally stable dynamics converge; gda spirals out to the
    sigmoid's plateau, alt-gda circles, gd runs away."""
    result = run(GAME, method, 0.5, 2500, [1.0], [0.5], tol=1e-8)
    if method in STABLE_AT_HALF:
        assert result.status == "converged", method
    else:
        assert result.status in ("max-steps", "diverged") and result.distances[-1] > 0.5
