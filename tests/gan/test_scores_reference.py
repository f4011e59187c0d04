"""gradgames' hand-written scores against independent implementations of the same definitions.

Precision, recall, density and coverage against the ``prdc`` package (the code of Naeem et al.,
2020), on random, structured and real features; KID against the unbiased MMD^2 of Binkowski et
al. (2018) written out; FID on real features against torch-fidelity's and pytorch-fid's
formula (scipy's ``sqrtm`` of the product of the covariances). torchmetrics' FID against the
eigenvalue formula, and the matrix square root against scipy, are in test_metrics.py.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import math
import warnings

import pytest
import scipy.linalg
import torch

from gradgames.gan.metrics import embed, generated_batches, real_reference
from gradgames.gan.models import Generator
from gradgames.gan.scores import fid, kid, manifold_scores
from tests.gan.fid_reference import gaussian_fit

prdc_module = importlib.import_module("prdc.prdc")

KEYS = ("precision", "recall", "density", "coverage")


def prdc_scores(fake: torch.Tensor, real: torch.Tensor, k: int) -> dict[str, float]:
    """prdc's four scores (it prints the set sizes: silenced)."""
    with contextlib.redirect_stdout(io.StringIO()):
        result = prdc_module.compute_prdc(real.double().numpy(), fake.double().numpy(), k)
    return {key: float(result[key]) for key in KEYS}


def assert_same(ours: dict[str, float], theirs: dict[str, float]) -> None:
    # One point more or less in a ball moves a score by at least 1 / (k * N) > 1e-5 here.
    for key in KEYS:
        assert ours[key] == pytest.approx(theirs[key], rel=0, abs=1e-12), key


def _stream(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def shifted_gaussians(seed):
    g = _stream(seed)
    return 1.2 * torch.randn(500, 16, generator=g) + 0.3, torch.randn(600, 16, generator=g)


def wide_gaussians(seed):
    g = _stream(seed)
    return torch.randn(1000, 128, generator=g) + 0.05, torch.randn(1000, 128, generator=g)


def collapsed_onto_three_modes(seed):
    g = _stream(seed)
    centres = 4 * torch.randn(10, 32, generator=g)  # (10, 32): the real modes
    real = centres.repeat(60, 1) + torch.randn(600, 32, generator=g)
    fake = centres[:3].repeat(100, 1) + 0.2 * torch.randn(300, 32, generator=g)
    return fake, real


def noisy_circle_in_64d(seed):
    g = _stream(seed)
    basis = torch.linalg.qr(torch.randn(64, 2, generator=g)).Q  # (64, 2) orthonormal

    def circle(n, noise):
        angle = 2 * math.pi * torch.rand(n, generator=g)
        plane = torch.stack([angle.cos(), angle.sin()], dim=1)  # (n, 2)
        return plane @ basis.T + noise * torch.randn(n, 64, generator=g)

    return circle(400, 0.05), circle(400, 0.01)


def heavy_tails_with_outliers(seed):
    g = _stream(seed)

    def student_t(n, d):  # 2 degrees of freedom: z / sqrt(chi2_2 / 2)
        chi2 = torch.randn(n, 2, generator=g).square().sum(1, keepdim=True)  # (n, 1)
        return torch.randn(n, d, generator=g) / (chi2 / 2).sqrt()

    return student_t(700, 8), student_t(500, 8)


def disjoint_supports(seed):
    g = _stream(seed)
    return torch.randn(200, 4, generator=g) + 100, torch.randn(200, 4, generator=g)


def tiny_sets(seed):
    g = _stream(seed)
    return torch.randn(7, 3, generator=g), torch.randn(8, 3, generator=g)  # prdc: k <= n - 2


FEATURE_SETS = [
    shifted_gaussians, wide_gaussians, collapsed_onto_three_modes, noisy_circle_in_64d,
    heavy_tails_with_outliers, disjoint_supports, tiny_sets,
]  # fmt: skip


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("features", FEATURE_SETS, ids=lambda f: f.__name__)
def test_manifold_scores_equal_prdc(features, k):
    fake, real = features(seed=k)
    k = min(k, len(fake) - 1, len(real) - 1)
    assert_same(manifold_scores(fake, real, k, batch_size=97), prdc_scores(fake, real, k))


def test_the_structured_sets_exercise_every_regime():
    """The sets above are not all alike: each score takes low and high values among them."""
    results = [manifold_scores(*features(seed=3)) for features in FEATURE_SETS]
    for key in KEYS:
        values = [r[key] for r in results]
        assert min(values) < 0.2 and max(values) > 0.8, (key, values)
    assert max(r["density"] for r in results) > 1.5  # the collapsed set crowds three modes


@pytest.fixture(scope="module")
def reference():
    return real_reference("cpu")


@pytest.mark.parametrize("k", [3, 5])
def test_manifold_scores_equal_prdc_on_the_classifiers_features(reference, k):
    test = reference.test.features
    with torch.random.fork_rng():
        torch.manual_seed(0)
        generator = Generator().eval()
    untrained = embed(reference.classifier, generated_batches(generator, 1000, 0, 500))
    for fake, real in ((test[:2000], test[5000:7000]), (untrained.features, test[:1000])):
        assert_same(manifold_scores(fake, real, k), prdc_scores(fake, real, k))


def test_on_ties_the_balls_are_closed_as_in_kynkaanniemi_et_al(monkeypatch):
    """On a lattice many distances equal a radius exactly. Our balls are closed (``<=``, the
    paper's definition); prdc's are open (``<``). Widening prdc's radii by a relative 1e-9
    (less than any gap between distinct lattice distances) closes them: then the two agree."""
    grid = torch.tensor([[i, j] for i in range(12) for j in range(12)], dtype=torch.float32)
    fake = grid[torch.randperm(len(grid), generator=_stream(0))[:80]] + torch.tensor([1.0, 0.0])
    ours, open_balls = manifold_scores(fake, grid), prdc_scores(fake, grid, 3)
    assert ours["density"] > open_balls["density"]  # the tie points count here, not in prdc
    radii = prdc_module.compute_nearest_neighbour_distances
    monkeypatch.setattr(
        prdc_module, "compute_nearest_neighbour_distances", lambda x, k: radii(x, k) * (1 + 1e-9)
    )
    assert_same(ours, prdc_scores(fake, grid, 3))


def unbiased_mmd2(x: torch.Tensor, y: torch.Tensor) -> float:
    """Binkowski et al. (2018), eq. 4, with the kernel ``k(a, b) = (a.b / d + 1)^3``."""
    m, d = x.shape
    kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))  # (m, m)
    within = (kxx.sum() - kxx.trace() + kyy.sum() - kyy.trace()) / (m * (m - 1))
    return float(within - 2 * kxy.sum() / m**2)


def test_kid_equals_the_unbiased_mmd_written_out():
    """With subsets as large as the sets, every subset is the whole set (reordered), so each
    of torchmetrics' subset MMDs, and their mean, equal the formula on the full sets."""
    g = _stream(0)
    x = torch.randn(300, 24, generator=g, dtype=torch.float64)
    y = 1.1 * torch.randn(300, 24, generator=g, dtype=torch.float64) + 0.2
    mean, std = kid(x, y, seed=0, subsets=4, dtype=torch.float64)
    assert mean == pytest.approx(unbiased_mmd2(x, y), rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_fid_on_real_features_equals_the_scipy_formula(reference):
    """torch-fidelity and pytorch-fid compute ``Tr (S1 S2)^{1/2}`` as the trace of
    ``scipy.linalg.sqrtm(S1 @ S2)``; here on the classifier's 128-d features."""
    a, b = reference.test.features[:5000], reference.test.features[5000:] + 0.02
    (mu1, s1), (mu2, s2) = gaussian_fit(a), gaussian_fit(b)
    with warnings.catch_warnings():  # "Matrix is singular": some features are never active
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    expected = float((mu1 - mu2).square().sum() + s1.trace() + s2.trace()) - 2 * root.trace()
    assert fid(a, b) == pytest.approx(expected, rel=1e-6)
