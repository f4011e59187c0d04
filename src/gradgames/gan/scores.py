"""Sample-quality scores of feature sets: FID, KID, IS analogue, class coverage, precision/recall.

Functions of feature tensors only (no images, no classifier), so they can be tested on synthetic
Gaussians and reused with any feature space. torchmetrics computes FID, KID and the Inception
Score; its metrics run a ``feature`` module inside ``update``, and :class:`Precomputed` (the
identity with ``num_features``) lets them take features computed once beforehand. Written here:
the k-NN precision/recall and density/coverage (torchmetrics 1.9 has none; a test checks them
against the ``prdc`` package of Naeem et al.) and the class histogram. (The tests check
torchmetrics' FID against an independent eigen-decomposition Frechet distance.)

Every function refuses features, logits or Gaussian fits that hold NaN or infinity with a
:class:`NonFiniteError` before any computation: no score is defined for them, and LAPACK's
eigen-solvers may crash the process on such input instead of raising.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance

from gradgames.config import check_int, check_seed
from gradgames.device import single_threaded
from gradgames.errors import UsageError


class NonFiniteError(UsageError, ValueError):
    """Features, logits or a Gaussian fit that hold NaN or infinity (exit status 2).

    A ``ValueError`` for Python callers; the command line prints it as one line.
    """


def check_finite_tensor(name: str, tensor: torch.Tensor) -> None:
    """Raises :class:`NonFiniteError` naming ``name`` if ``tensor`` holds NaN or infinity.

    The message counts the rows (entries of a vector) that hold a non-finite value.
    """
    finite = torch.isfinite(tensor)
    if bool(finite.all()):
        return
    rows = finite.reshape(len(tensor), -1).all(dim=1) if tensor.dim() > 1 else finite.flatten()
    unit = "rows" if tensor.dim() > 1 else "entries"
    raise NonFiniteError(
        f"{name} are not finite: NaN or infinity in {int((~rows).sum()):,} of {len(rows):,} "
        f"{unit}; the scores need finite values (a generator with non-finite weights gives "
        "non-finite images)"
    )


def _check_pair(fake: torch.Tensor, real: torch.Tensor, min_rows: int = 2) -> None:
    """Two feature sets ``(N, d)`` and ``(M, d)``, finite, with at least ``min_rows`` each."""
    for name, x in (("fake", fake), ("real", real)):
        if x.dim() != 2 or len(x) < min_rows:
            raise ValueError(
                f"{name} features must be a 2-d tensor (N, d) with at least {min_rows} rows; "
                f"got shape {tuple(x.shape)}"
            )
    if fake.shape[1] != real.shape[1]:
        raise ValueError(
            f"fake and real features differ in width: {fake.shape[1]} and {real.shape[1]}"
        )
    check_finite_tensor("fake features", fake)
    check_finite_tensor("real features", real)


class Precomputed(nn.Module):
    """torchmetrics' ``feature`` module for features computed beforehand: the identity."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _quietly(metric_class, **kwargs):
    with warnings.catch_warnings():  # "will save all extracted features in buffer"
        warnings.simplefilter("ignore", UserWarning)
        return metric_class(**kwargs)


def fid(fake: torch.Tensor, real: torch.Tensor) -> float:
    """torchmetrics' FID between feature sets ``(N, d)`` and ``(M, d)`` (float64).

    Raises:
        NonFiniteError: features that hold NaN or infinity, or so large that their float64
            covariance overflows (checked before torchmetrics' LAPACK call).
    """
    _check_pair(fake, real)
    for name, x in (("fake", fake), ("real", real)):
        if not bool(torch.isfinite(x.double().square().sum())):
            raise NonFiniteError(
                f"{name} features are too large: their float64 squares overflow (a covariance "
                "needs values below about 1e150 in magnitude)"
            )
    metric = FrechetInceptionDistance(feature=Precomputed(fake.shape[1])).to(fake.device)
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return float(metric.compute())


def kid(
    fake: torch.Tensor,
    real: torch.Tensor,
    seed: int,
    subsets: int = 100,
    dtype: torch.dtype = torch.float32,
) -> tuple[float, float]:
    """torchmetrics' KID: mean and std over ``subsets`` random subsets of up to 1,000 each.

    Per subset, the unbiased squared MMD with ``k(x, y) = (x.y / d + 1)^3``:
    ``sum_{i!=j} k(x_i, x_j) / (m(m-1)) + sum_{i!=j} k(y_i, y_j) / (m(m-1))
    - 2 sum_{i,j} k(x_i, y_j) / m^2``. The subsets are drawn from torch's global generator,
    forked and seeded with ``seed`` here. float32 by default: on the CPU it is 2-4 times faster
    than float64, and on the classifier's features the two agree to about 1e-7 (a test checks).

    Raises:
        NonFiniteError: features that hold NaN or infinity.
        ConfigError: ``seed`` or ``subsets`` out of range.
    """
    _check_pair(fake, real)
    check_seed("seed", seed)
    check_int("subsets", subsets)
    size = min(1000, len(fake), len(real))
    metric = _quietly(
        KernelInceptionDistance, feature=Precomputed(fake.shape[1]), subsets=subsets,
        subset_size=size,
    ).to(fake.device)  # fmt: skip
    metric.update(real.to(dtype), real=True)
    metric.update(fake.to(dtype), real=False)
    with torch.random.fork_rng(devices=[]), single_threaded():
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def inception_score(logits: torch.Tensor, seed: int, splits: int = 10) -> tuple[float, float]:
    """torchmetrics' Inception Score from logits ``(N, C)``, mean and std over ``splits``.

    Per split, ``exp(E_x KL(p(y|x) || p(y)))`` with ``p(y|x) = softmax(logits)`` and ``p(y)``
    the split's mean: between 1 (every image gets the same distribution) and ``C`` (confident
    and evenly spread over the classes). The split order is a seeded permutation. With one
    split the std is NaN.

    Raises:
        NonFiniteError: logits that hold NaN or infinity.
        ConfigError: ``seed`` or ``splits`` out of range.
    """
    check_finite_tensor("logits", logits)
    check_seed("seed", seed)
    check_int("splits", splits)
    metric = _quietly(InceptionScore, feature=Precomputed(logits.shape[1]), splits=splits)
    metric.update(logits.double())
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "degrees of freedom <= 0" for 1 split
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def class_histogram(logits: torch.Tensor) -> torch.Tensor:
    """Fractions ``(10,)`` of images per predicted class ``argmax p(y|x)``."""
    check_finite_tensor("logits", logits)
    counts = torch.bincount(logits.argmax(1), minlength=logits.shape[1])
    return counts.double() / len(logits)


def tv_to_uniform(histogram: torch.Tensor) -> float:
    """Total-variation distance ``1/2 sum_c |h_c - 1/C|`` of a histogram to uniform, in [0, 1)."""
    check_finite_tensor("histogram entries", histogram)
    return float((histogram - 1.0 / len(histogram)).abs().sum() / 2)


def knn_radii(features: torch.Tensor, k: int, batch_size: int = 1000) -> torch.Tensor:
    """Distance ``(N,)`` from each point to its k-th nearest neighbour in the same set.

    The point itself (distance 0) is the nearest, so this is the (k+1)-th smallest distance
    (``topk`` of the k+1 smallest: about 8 times faster than ``kthvalue`` on the CPU).
    """
    check_finite_tensor("features", features)
    check_int("k", k, high=len(features) - 1)
    check_int("batch_size", batch_size)
    radii = [
        torch.cdist(chunk, features).topk(k + 1, dim=1, largest=False).values[:, -1]  # (b,)
        for chunk in features.split(batch_size)
    ]
    return torch.cat(radii)


def manifold_scores(
    fake: torch.Tensor, real: torch.Tensor, k: int = 3, batch_size: int = 1000
) -> dict[str, float]:
    """k-NN manifold scores of generated features against real ones, from one distance pass.

    With ``B(x, r) = {y : ||y - x|| <= r}`` the closed ball around ``x`` whose radius ``r`` is
    the distance from ``x`` to its k-th nearest neighbour in its own set (the point itself is
    not one of its neighbours; a duplicate of it is):

    - precision (Kynkaanniemi et al., 2019): the fraction of generated points inside some real
      ball; recall: the fraction of real points inside some generated ball;
    - density and coverage (Naeem et al., 2020), robust to outliers: density is
      ``1/(kN) sum_j #{i : fake_j in B(real_i)}`` (about 1 for matching sets), coverage the
      fraction of real balls that hold at least one generated point. Precision saturates when a
      collapsed set sits inside one wide ball around a real outlier; coverage does not.

    Written here because torchmetrics (1.9) has none of them. Distances in float64 through
    ``torch.cdist``, in row blocks so that memory stays ``O(batch_size * M)``; each block of
    generated-to-real distances serves all four scores. float64, not float32: ``cdist``'s
    matrix-product distances in float32 carry relative errors near 1e-6 on the classifier's
    features, enough to move a point or two per 10,000 across a ball's edge.

    The balls are closed, as in Kynkaanniemi et al.'s definition (``||phi - phi'|| <=
    ||phi' - NN_k(phi')||``) and their reference code. The ``prdc`` package (Naeem et al.'s
    code) tests ``<``, open balls: the two give the same four numbers unless a distance equals
    a radius exactly, which almost never happens with continuous features (a test checks the
    agreement on random, structured and real features) but does for duplicated points,
    lattices, or a tie-free set scored against itself (density ``(k + 1) / k`` here, 1 in
    ``prdc``).

    Args:
        fake: ``(N, d)`` generated features.
        real: ``(M, d)`` real features.
        k: the neighbour whose distance sets each ball's radius (lowered to ``min(N, M) - 1``
            when larger).
        batch_size: rows per distance block.

    Returns:
        ``{"precision", "recall", "density", "coverage"}``; all but density lie in [0, 1].

    Raises:
        NonFiniteError: features that hold NaN or infinity.
        ConfigError: ``k`` or ``batch_size`` below 1.
    """
    _check_pair(fake, real)
    check_int("k", k)
    check_int("batch_size", batch_size)
    fake, real = fake.double(), real.double()  # (N, d), (M, d)
    k = min(k, len(fake) - 1, len(real) - 1)
    real_radii, fake_radii = knn_radii(real, k), knn_radii(fake, k)  # (M,), (N,)
    in_real_balls = []  # per generated point: how many real balls hold it
    covered = torch.zeros(len(real), dtype=torch.bool, device=real.device)
    recalled = torch.zeros(len(real), dtype=torch.bool, device=real.device)
    for chunk, radii in zip(fake.split(batch_size), fake_radii.split(batch_size), strict=True):
        d = torch.cdist(chunk, real)  # (b, M)
        inside = d <= real_radii  # (b, M): generated j inside the ball of real i
        in_real_balls.append(inside.sum(dim=1))
        covered |= inside.any(dim=0)
        recalled |= (d <= radii[:, None]).any(dim=0)
    counts = torch.cat(in_real_balls).double()  # (N,)
    return {
        "precision": float((counts > 0).double().mean()),
        "recall": float(recalled.double().mean()),
        "density": float(counts.sum() / (k * len(fake))),
        "coverage": float(covered.double().mean()),
    }
