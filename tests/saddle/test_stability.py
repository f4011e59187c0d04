"""Stable step sizes: the assignment's closed forms, the bilinear game, and consistency of the
intervals with the spectral radius computed directly."""

import math

import numpy as np
import pytest

from gradgames.saddle.game import Game
from gradgames.saddle.stability import (
    METHODS,
    _scanned_stability,
    gd_growth,
    spectral_radius,
    stability,
    stability_table,
    update_matrix,
)
from tests.saddle.helpers import stable_at

ASSIGNMENT = np.diag([8.0, -8.0])  # the Hessian of 4x^2 - 4y^2
BILINEAR = np.array([[0.0, 1.0], [1.0, 0.0]])  # the Hessian of x*y


def test_assignment_numbers():
    (point,) = Game.from_expression("4*x**2 - 4*y**2").stationary_points()
    table = stability_table(point)
    gda = table["gda"]
    assert gda.intervals == [(0.0, 0.25)] and gda.closed_form
    assert gda.best_lr == 0.125 and gda.best_rate == 0.0
    assert table["gd"].intervals == [] and table["gd"].best_lr is None
    ((c, direction),) = gd_growth(point.hessian)
    assert c == pytest.approx(8.0, rel=1e-12)
    np.testing.assert_allclose(np.abs(direction), [0.0, 1.0], atol=1e-12)
    for eta in (0.01, 0.1, 1.0):  # rho of gd is 1 + 8 eta: y grows by that factor
        assert spectral_radius("gd", point.hessian, 1, eta) == pytest.approx(1 + 8 * eta)


@pytest.mark.parametrize(
    "method, end, best_lr, best_rate",
    [
        ("alt-gda", 0.25, 0.125, 0.0),  # the blocks decouple: the same |1 - 8 eta|
        ("eg", 1 / 8, 1 / 16, 0.75),  # 1 - 8 eta + 64 eta^2
        ("ogda", 1 / 12, None, None),  # mu^2 - (1 - 16 eta) mu - 8 eta has the root -1 at 1/12
    ],
)
def test_assignment_other_dynamics(method, end, best_lr, best_rate):
    s = stability(method, ASSIGNMENT, 1)
    ((lo, hi),) = s.intervals
    assert lo == 0.0 and hi == pytest.approx(end, rel=1e-9)
    if best_lr is not None:
        assert s.best_lr == pytest.approx(best_lr, rel=1e-9)
        assert s.best_rate == pytest.approx(best_rate, abs=1e-9)


def test_bilinear_game():
    assert stability("gda", BILINEAR, 1).intervals == []  # |1 - i eta| = sqrt(1 + eta^2) > 1
    assert stability("alt-gda", BILINEAR, 1).intervals == []  # det = 1: rho = 1, no contraction
    assert stability("gd", BILINEAR, 1).intervals == []
    eg = stability("eg", BILINEAR, 1)  # |1 - i eta - eta^2|^2 = 1 - eta^2 + eta^4
    assert eg.intervals == [(0.0, pytest.approx(1.0, rel=1e-12))]
    assert eg.best_lr == pytest.approx(1 / math.sqrt(2), rel=1e-9)
    assert eg.best_rate == pytest.approx(math.sqrt(3) / 2, rel=1e-9)
    ((lo, hi),) = stability("ogda", BILINEAR, 1).intervals
    assert lo == 0.0

    def ogda_rho(eta):  # from the characteristic polynomial mu^2 - (1 - 2 i eta) mu - i eta
        return np.abs(np.roots([1.0, -(1 - 2j * eta), -1j * eta])).max()

    assert ogda_rho(hi * (1 - 1e-6)) < 1 < ogda_rho(hi * (1 + 1e-6))
    assert all(ogda_rho(eta) < 1 for eta in np.linspace(1e-3, hi * 0.999, 50))


def test_update_matrices_have_the_documented_form():
    h = np.array([[2.0, 1.0, 0.5], [1.0, -1.0, 0.3], [0.5, 0.3, -3.0]])  # x in R^1, y in R^2
    eta = 0.1
    jac = h.copy()
    jac[1:] *= -1
    eye = np.eye(3)
    np.testing.assert_allclose(update_matrix("gda", h, 1, eta), eye - eta * jac)
    np.testing.assert_allclose(update_matrix("gd", h, 1, eta), eye - eta * h)
    np.testing.assert_allclose(update_matrix("eg", h, 1, eta), eye - eta * jac @ (eye - eta * jac))
    x_step = eye.copy()
    x_step[0] -= eta * jac[0]
    y_step = eye.copy()
    y_step[1:] -= eta * jac[1:]
    np.testing.assert_allclose(update_matrix("alt-gda", h, 1, eta), y_step @ x_step)
    companion = update_matrix("ogda", h, 1, eta)
    np.testing.assert_allclose(companion[:3, :3], eye - 2 * eta * jac)
    np.testing.assert_allclose(companion[:3, 3:], eta * jac)


def random_hessians(count, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n, m = rng.integers(1, 3, size=2)
        a = rng.normal(size=(n + m, n + m))
        h = a + a.T
        h[:n, :n] += (1 + n) * np.eye(n)  # lean towards saddles, so that intervals exist
        h[n:, n:] -= (1 + m) * np.eye(m)
        yield h, int(n)


@pytest.mark.parametrize("method", METHODS)
def test_intervals_agree_with_the_spectral_radius(method):
    for h, n in random_hessians(8, seed=METHODS.index(method)):
        s = stability(method, h, n)
        scale = np.abs(np.linalg.eigvals(h)).max()
        etas = np.linspace(1e-3, 4.0, 800) / scale
        rho = spectral_radius(method, h, n, etas)
        inside = np.array([stable_at(s, e) for e in etas])
        assert np.all(rho[inside] < 1) and np.all(rho[~inside] >= 1 - 1e-9)
        for lo, hi in s.intervals:
            for end in (lo, hi):
                if end > 0 and math.isfinite(end):
                    assert abs(spectral_radius(method, h, n, end) - 1) < 1e-7
        if s.intervals:
            assert s.best_rate == pytest.approx(spectral_radius(method, h, n, s.best_lr))
            assert s.best_rate <= rho[inside].min() + 1e-9


@pytest.mark.parametrize("method", ["gda", "gd", "eg"])
def test_closed_form_agrees_with_scan_and_bisection(method):
    for h, n in random_hessians(10, seed=7):
        exact = stability(method, h, n)
        intervals, (_, best_rate) = _scanned_stability(method, h, n)
        assert len(exact.intervals) == len(intervals)
        for (a, b), (c, d) in zip(exact.intervals, intervals, strict=True):
            assert c == pytest.approx(a, rel=1e-9, abs=1e-12)
            assert d == pytest.approx(b, rel=1e-9)
        if exact.intervals:
            assert exact.best_rate <= best_rate + 1e-9


def test_min_and_degenerate_points():
    h_min = np.diag([2.0, 4.0])
    assert stability("gd", h_min, 1).intervals == [(0.0, 0.5)]
    assert stability("gd", h_min, 1).best_lr == pytest.approx(1 / 3)  # 2 / (2 + 4)
    assert stability("gda", h_min, 1).intervals == []  # ascent on a minimum in y
    for method in METHODS:
        assert stability(method, np.diag([2.0, 0.0]), 1).intervals == []
        assert stability(method, np.zeros((2, 2)), 1).intervals == []
