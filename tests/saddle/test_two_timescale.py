"""Two step sizes and the dynamics beyond descent-ascent (nm-gda, co, sga, hgd): intervals
against closed forms derived by hand, against a brute-force scan of the spectral radius where
there is none, the linearised update against one step of each dynamic, and the map over the
(eta_x, eta_y) plane against the intervals along eta_y = R eta_x."""

import math

import numpy as np
import pytest
import torch

from gradgames.saddle.config import METHODS, Hyperparameters
from gradgames.saddle.dynamics import run
from gradgames.saddle.game import Game
from gradgames.saddle.linear import spectral_radius, update_matrix
from gradgames.saddle.stability import stability
from gradgames.saddle.stabmap import stability_map
from tests.saddle.helpers import stable_at

BILINEAR = np.array([[0.0, 1.0], [1.0, 0.0]])  # f = x*y: J = [[0, 1], [-1, 0]], J^T J = I
HYPER = Hyperparameters()


def separable_end(method, a, b, ratio, hyper=HYPER):
    """The stable eta_x of f = a x^2 - b y^2 (a, b > 0): H = diag(2a, -2b), J = diag(2a, 2b)
    (no rotation), so each coordinate is a scalar recursion with w = 2a eta_x or 2b R eta_x:
    gda, alt-gda and sga (A = 0): |1 - w| < 1; eg: |1 - w + w^2| < 1 <=> w < 1; ogda:
    mu^2 - (1 - 2w) mu - w stable <=> w < 2/3; nm-gda: mu^2 - (1 + beta - w) mu + beta stable
    <=> w < 2 (1 + beta); co: w (1 + gamma c) < 2 with c = 2a (2b); hgd: w c < 2."""
    gamma, beta = hyper.co_gamma, hyper.momentum
    limits = {
        "gda": lambda c: 2 / c,
        "alt-gda": lambda c: 2 / c,
        "sga": lambda c: 2 / c,
        "eg": lambda c: 1 / c,
        "ogda": lambda c: 2 / (3 * c),
        "nm-gda": lambda c: 2 * (1 + beta) / c,
        "co": lambda c: 2 / (c * (1 + gamma * c)),
        "hgd": lambda c: 2 / c**2,
    }
    if method == "gd":
        return None  # y grows by 1 + 2b eta_y for every eta
    x_end = limits[method](2 * a)
    if method == "hgd":  # D J^T J = diag(eta_x 4a^2, R eta_x 4b^2)
        return min(x_end, 2 / (ratio * (2 * b) ** 2))
    return min(x_end, limits[method](2 * b) / ratio)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("a, b, ratio", [(4.0, 4.0, 1.0), (1.0, 3.0, 0.2), (2.5, 0.5, 7.0)])
def test_separable_quadratics_have_their_closed_forms(method, a, b, ratio):
    s = stability(method, np.diag([2 * a, -2 * b]), 1, lr_ratio=ratio)
    end = separable_end(method, a, b, ratio)
    if end is None:
        assert s.intervals == []
        return
    ((lo, hi),) = s.intervals
    assert lo == 0.0 and hi == pytest.approx(end, rel=1e-9)
    assert s.lr_ratio == ratio and s.hyperparameters == HYPER.of(method)


@pytest.mark.parametrize(
    "method, end, best_lr, best_rate",
    [
        # co: D (J + gamma I) has eigenvalues eta (gamma +- i): |1 - eta (gamma +- i)| < 1
        ("co", 20 / 101, 10 / 101, 1 / math.sqrt(101)),
        # sga: A = J, A^T = -J, (I - J) J = J + I: |1 - eta (1 +- i)|^2 = 1 - 2 eta + 2 eta^2
        ("sga", 1.0, 0.5, 1 / math.sqrt(2)),
        # hgd: J^T J = I: M = (1 - eta) I
        ("hgd", 2.0, 1.0, 0.0),
        ("eg", 1.0, 1 / math.sqrt(2), math.sqrt(3) / 2),
    ],
)
def test_bilinear_game_closed_forms(method, end, best_lr, best_rate):
    s = stability(method, BILINEAR, 1)
    ((lo, hi),) = s.intervals
    assert lo == 0.0 and hi == pytest.approx(end, rel=1e-12)
    assert s.best_lr == pytest.approx(best_lr, rel=1e-9)
    assert s.best_rate == pytest.approx(best_rate, abs=1e-9)


@pytest.mark.parametrize("ratio", [0.25, 1.0, 4.0])
def test_bilinear_game_with_two_step_sizes(ratio):
    """diag(1, R) J has eigenvalues +-i sqrt(R): eg needs eta_x sqrt(R) < 1; gda never
    contracts; hgd: diag(1, R) J^T J = diag(1, R), so eta_x < min(2, 2 / R)."""
    eg = stability("eg", BILINEAR, 1, lr_ratio=ratio)
    assert eg.intervals == [(0.0, pytest.approx(1 / math.sqrt(ratio), rel=1e-12))]
    assert stability("gda", BILINEAR, 1, lr_ratio=ratio).intervals == []
    hgd = stability("hgd", BILINEAR, 1, lr_ratio=ratio)
    assert hgd.intervals == [(0.0, pytest.approx(min(2.0, 2.0 / ratio), rel=1e-12))]


def test_consensus_and_sga_follow_their_hyperparameters_on_the_bilinear_game():
    for gamma in (0.5, 1.0, 3.0):  # eta < 2 gamma / (1 + gamma^2)
        ((_, hi),) = stability("co", BILINEAR, 1, hyper=Hyperparameters(co_gamma=gamma)).intervals
        assert hi == pytest.approx(2 * gamma / (1 + gamma**2), rel=1e-12)
    assert stability("co", BILINEAR, 1, hyper=Hyperparameters(co_gamma=0.0)).intervals == []
    # lambda = -1 pushes along the rotation: (I + J) J = J - I, |1 + eta -+ i eta| > 1
    against = Hyperparameters(sga_lambda=-1.0)
    assert stability("sga", BILINEAR, 1, hyper=against).intervals == []
    # the alignment rule picks lambda's sign: near z* it is +, whatever sign was given
    aligned = stability("sga", BILINEAR, 1, hyper=Hyperparameters(sga_lambda=-1.0, sga_align=True))
    assert aligned.intervals == stability("sga", BILINEAR, 1).intervals
    assert aligned.hyperparameters == {
        "sga_lambda": -1.0,
        "sga_align": True,
        "sga_align_epsilon": 0.1,
    }


def test_negative_momentum_on_the_bilinear_game_matches_its_characteristic_polynomial():
    """nm-gda on x*y (eta_x = eta_y = eta): (mu^2 - (1 + beta) mu + beta)^2 + eta^2 mu^3 = 0
    (z-transform of the two alternating recursions); no closed form for the ends, so the
    reported interval is checked against the roots on a dense grid."""
    for beta in (-0.5, -0.2, 0.3):
        s = stability("nm-gda", BILINEAR, 1, hyper=Hyperparameters(momentum=beta))

        def rho(eta, beta=beta):
            p = np.polymul([1.0, -(1 + beta), beta], [1.0, -(1 + beta), beta])
            return np.abs(np.roots(np.polyadd(p, [eta**2, 0, 0, 0]))).max()

        etas = np.geomspace(1e-3, 10, 600)
        inside = np.array([stable_at(s, e) for e in etas])
        radii = np.array([rho(e) for e in etas])
        assert np.all(radii[inside] < 1) and np.all(radii[~inside] >= 1 - 1e-9), beta
        if beta < 0:
            assert inside.any()  # negative momentum makes alternating GDA converge
        else:
            assert not inside.any()  # positive momentum does not (Gidel et al. 2019)


def random_hessians(count, seed):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n, m = rng.integers(1, 3, size=2)
        a = rng.normal(size=(n + m, n + m))
        h = a + a.T
        h[:n, :n] += (1 + n) * np.eye(n)
        h[n:, n:] -= (1 + m) * np.eye(m)
        yield h, int(n), float(np.exp(rng.uniform(-1.5, 1.5)))


@pytest.mark.parametrize("method", METHODS)
def test_intervals_with_two_step_sizes_agree_with_a_brute_force_scan(method):
    for h, n, ratio in random_hessians(6, seed=METHODS.index(method)):
        s = stability(method, h, n, lr_ratio=ratio)
        scale = np.abs(np.linalg.eigvals(h)).max() * max(1.0, ratio)
        etas = np.geomspace(1e-4, 20.0, 1500) / scale
        rho = spectral_radius(method, h, n, etas, lr_ratio=ratio)
        inside = np.array([stable_at(s, e) for e in etas])
        assert np.all(rho[inside] < 1) and np.all(rho[~inside] >= 1 - 1e-9)
        for _, hi in s.intervals:
            if math.isfinite(hi):
                assert abs(spectral_radius(method, h, n, hi, lr_ratio=ratio) - 1) < 1e-7
        if s.intervals:
            assert s.best_rate == pytest.approx(
                spectral_radius(method, h, n, s.best_lr, lr_ratio=ratio)
            )
            assert s.best_rate <= rho[inside].min() + 1e-9


QUADRATIC = "x1*y1 + 0.3*x1**2 + 0.7*x2**2 - 0.2*y1**2 + x2*y1 + 0.4*x1*x2"


@pytest.mark.parametrize("method, align", [(m, False) for m in METHODS] + [("sga", True)])
def test_one_step_on_a_quadratic_is_the_linearised_update(method, align):
    """On a quadratic every dynamic is exactly linear in the error: a step from e1 is M e1
    (M (e2, e1) for the dynamics with memory). With alignment sga's sign is + on this path."""
    game = Game.from_expression(QUADRATIC)
    h = game.hessian(np.zeros(2), np.zeros(1))
    hyper = Hyperparameters(sga_align=align, momentum=-0.3, co_gamma=0.7, sga_lambda=0.8)
    r = run(game, method, 0.2, 3, [1.0, -0.5], [0.8], tol=0.0, lr_ratio=1.7, hyper=hyper)
    e0, e1, e2, e3 = r.trajectory
    m = update_matrix(method, h, 2, 0.2, lr_ratio=1.7, hyper=hyper)
    if method in ("ogda", "nm-gda"):
        np.testing.assert_allclose(
            m @ np.concatenate([e2, e1]), np.concatenate([e3, e2]), rtol=1e-12, atol=1e-14
        )
    else:
        np.testing.assert_allclose(m @ e1, e2, rtol=1e-12, atol=1e-14)


def test_each_new_step_follows_its_formula():
    """f = x*y + 0.5 x^2: g = (y + x, x), xi = (y + x, -x), H = [[1, 1], [1, 0]]."""
    game = Game.from_expression("x*y + 0.5*x**2")
    x, y = torch.tensor([1.0], dtype=torch.float64), torch.tensor([2.0], dtype=torch.float64)
    g, xi, h = np.array([3.0, 1.0]), np.array([3.0, -1.0]), np.array([[1.0, 1.0], [1.0, 0.0]])
    ex, ey = 0.1, 0.3  # two step sizes
    hyper = HYPER
    jt_xi = h @ g  # J^T xi = H g
    j_xi = np.array([1, -1]) * (h @ xi)
    expected = {
        "co": np.array([1.0, 2.0]) - [ex, ey] * (xi + hyper.co_gamma * jt_xi),
        "sga": np.array([1.0, 2.0]) - [ex, ey] * (xi + hyper.sga_lambda * 0.5 * (jt_xi - j_xi)),
        "hgd": np.array([1.0, 2.0]) - [ex, ey] * jt_xi,
    }
    for method, want in expected.items():
        r = run(game, method, ex, 1, [1.0], [2.0], tol=0.0, lr_ratio=ey / ex)
        np.testing.assert_allclose(r.trajectory[1], want, rtol=1e-13)
    # nm-gda: the first step has no momentum; the second adds beta (z - z_prev)
    r = run(game, "nm-gda", ex, 2, [1.0], [2.0], tol=0.0, lr_ratio=ey / ex)
    x1 = 1.0 - ex * 3.0
    y1 = 2.0 + ey * x1
    x2 = x1 - ex * (y1 + x1) + hyper.momentum * (x1 - 1.0)
    y2 = y1 + ey * x2 + hyper.momentum * (y1 - 2.0)
    np.testing.assert_allclose(r.trajectory[1:], [[x1, y1], [x2, y2]], rtol=1e-13)
    assert (x.item(), y.item()) == (1.0, 2.0)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("ratio", [1.0, 10.0, 0.1])
def test_the_map_agrees_with_the_intervals_along_the_line(method, ratio):
    """On a geometric axis with 30 cells a decade, eta_y = R eta_x (R = 10^k) is the diagonal
    shifted by 30 k cells; its stable cells are those inside the intervals of eta_x."""
    h = np.array([[2.0, 1.0], [1.0, -0.5]])
    grid = stability_map(method, h, 1, eta_min=1e-3, eta_max=10.0, resolution=121)
    shift = round(30 * math.log10(ratio))
    s = stability(method, h, 1, lr_ratio=ratio)
    compared = 0
    for j, eta in enumerate(grid.eta_x):
        i = j + shift
        if not 0 <= i < len(grid.eta_y):
            continue
        assert grid.eta_y[i] == pytest.approx(ratio * eta, rel=1e-12)
        ends = [e for span in s.intervals for e in span if e > 0 and math.isfinite(e)]
        if any(abs(eta / e - 1) < 1e-6 for e in ends):
            continue
        assert bool(grid.stable[i, j]) == stable_at(s, eta), (method, eta)
        compared += 1
    assert compared > 80


def test_map_summary_and_files_are_consistent():
    grid = stability_map("eg", BILINEAR, 1, resolution=41)
    summary = grid.to_dict()
    assert summary["cells"] == 41 * 41 and summary["stable_cells"] == int(grid.stable.sum())
    best = summary["best"]
    assert best["rate"] == pytest.approx(
        spectral_radius("eg", BILINEAR, 1, best["eta_x"], lr_y=best["eta_y"])
    )
    lines = grid.csv().splitlines()
    assert len(lines) == 41 * 41 + 1
    ex, ey, rho, stable = lines[1 + 41 * 3 + 5].split(",")
    assert (float(ex), float(ey)) == (grid.eta_x[5], grid.eta_y[3])
    assert float(rho) == grid.radius[3, 5] and int(stable) == int(grid.radius[3, 5] < 1)
