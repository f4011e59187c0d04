"""Sample-quality scores of feature sets: FID, KID, IS analogue, class coverage, precision/recall.

Functions of feature tensors only (no images, no classifier), so they can be tested on synthetic
Gaussians and reused with any feature space. torchmetrics computes FID, KID and the Inception
Score; its metrics run a ``feature`` module inside ``update``, and :class:`Precomputed` (the
identity with ``num_features``) lets them take features computed once beforehand. Written here
because no well-kept library provides them: the k-NN precision/recall (torchmetrics has none),
the class histogram, and the eigen-decomposition matrix square root used by
:func:`frechet_distance`, an independent check on torchmetrics' FID.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance


class Precomputed(nn.Module):
    """torchmetrics' ``feature`` module for features computed beforehand: the identity."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def sqrtm_psd(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix.

    ``S = V diag(l) V^T`` (``torch.linalg.eigh``) gives ``S^{1/2} = V diag(sqrt(max(l, 0))) V^T``;
    clamping the round-off negative eigenvalues keeps it real and stable for singular ``S``.
    """
    sym = (matrix + matrix.mT) / 2
    eigenvalues, vectors = torch.linalg.eigh(sym)
    return (vectors * eigenvalues.clamp(min=0).sqrt()) @ vectors.mT


def gaussian_fit(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(d,)`` and unbiased covariance ``(d, d)`` of ``features (N, d)``, float64."""
    x = features.double()
    return x.mean(0), torch.cov(x.T)


def frechet_distance(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> float:
    """``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})``, the check on torchmetrics' FID.

    ``S1 S2`` is not symmetric, but it is similar to ``A S2 A`` with ``A = S1^{1/2}``, which is
    symmetric PSD, so ``Tr (S1 S2)^{1/2} = sum_i sqrt(lambda_i(A S2 A))``.
    """
    root = sqrtm_psd(sigma1)
    inner = torch.linalg.eigvalsh(root @ sigma2 @ root).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * inner)


def _quietly(metric_class, **kwargs):
    with warnings.catch_warnings():  # "will save all extracted features in buffer"
        warnings.simplefilter("ignore", UserWarning)
        return metric_class(**kwargs)


def fid(fake: torch.Tensor, real: torch.Tensor) -> float:
    """torchmetrics' FID between feature sets ``(N, d)`` and ``(M, d)`` (float64)."""
    metric = FrechetInceptionDistance(feature=Precomputed(fake.shape[1])).to(fake.device)
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return float(metric.compute())


def kid(fake: torch.Tensor, real: torch.Tensor, seed: int, subsets: int = 100) -> tuple:
    """torchmetrics' KID (mean, std over ``subsets`` subsets of up to 1,000 each), seeded."""
    size = min(1000, len(fake), len(real))
    metric = _quietly(
        KernelInceptionDistance, feature=Precomputed(fake.shape[1]), subsets=subsets,
        subset_size=size,
    ).to(fake.device)  # fmt: skip
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def inception_score(logits: torch.Tensor, seed: int, splits: int = 10) -> tuple:
    """torchmetrics' IS from logits ``(N, 10)``: ``exp(E_x KL(p(y|x) || p(y)))``, mean/std."""
    metric = _quietly(InceptionScore, feature=Precomputed(logits.shape[1]), splits=splits)
    metric.update(logits.double())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def class_histogram(logits: torch.Tensor) -> torch.Tensor:
    """Fractions ``(10,)`` of images per predicted class ``argmax p(y|x)``."""
    counts = torch.bincount(logits.argmax(1), minlength=logits.shape[1])
    return counts.double() / len(logits)


def tv_to_uniform(histogram: torch.Tensor) -> float:
    """Total-variation distance ``1/2 sum_c |h_c - 1/C|`` of a histogram to uniform, in [0, 1)."""
    return float((histogram - 1.0 / len(histogram)).abs().sum() / 2)


def knn_radii(features: torch.Tensor, k: int, batch_size: int = 1000) -> torch.Tensor:
    """Distance ``(N,)`` from each point to its k-th nearest neighbour in the same set.

    The point itself (distance 0) is the nearest, so this is the (k+1)-th smallest distance.
    """
    radii = [
        torch.cdist(chunk, features).kthvalue(k + 1, dim=1).values  # (b, N) -> (b,)
        for chunk in features.split(batch_size)
    ]
    return torch.cat(radii)


def precision_recall(
    fake: torch.Tensor, real: torch.Tensor, k: int = 3, batch_size: int = 1000
) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al., 2019) of feature sets.

    The real manifold is the union of balls around each real feature with radius its distance
    to its k-th nearest real neighbour; precision is the fraction of generated features inside
    it. Recall swaps the roles: the fraction of real features inside the generated manifold.
    Written here because torchmetrics (1.9) has no such metric. Distances in float32 through
    ``torch.cdist``, in row blocks so that memory stays ``O(batch_size * M)``; each block of
    generated-to-real distances is used for precision (rows) and recall (columns).

    Args:
        fake: ``(N, d)`` generated features.
        real: ``(M, d)`` real features.
        k: the neighbour whose distance sets each ball's radius (at most ``min(N, M) - 1``).
        batch_size: rows per distance block.

    Returns:
        ``(precision, recall)``, each in [0, 1].
    """
    fake, real = fake.float(), real.float()
    k = min(k, len(fake) - 1, len(real) - 1)
    real_radii, fake_radii = knn_radii(real, k), knn_radii(fake, k)  # (M,), (N,)
    fake_inside = []
    real_inside = torch.zeros(len(real), dtype=torch.bool, device=real.device)
    for chunk, radii in zip(fake.split(batch_size), fake_radii.split(batch_size), strict=True):
        d = torch.cdist(chunk, real)  # (b, M): each block serves both directions
        fake_inside.append((d <= real_radii).any(dim=1))
        real_inside |= (d <= radii[:, None]).any(dim=0)
    return float(torch.cat(fake_inside).double().mean()), float(real_inside.double().mean())
