"""Independent references the tests check the scores against: a Frechet distance by
eigen-decomposition (the check on torchmetrics' FID) and the classifier as a torchmetrics
``feature`` module."""

import torch
from torch import nn


def sqrtm_psd(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric PSD matrix: ``S = V diag(l) V^T`` gives
    ``S^{1/2} = V diag(sqrt(max(l, 0))) V^T`` (round-off negative eigenvalues clamped)."""
    eigenvalues, vectors = torch.linalg.eigh((matrix + matrix.mT) / 2)
    return (vectors * eigenvalues.clamp(min=0).sqrt()) @ vectors.mT


def gaussian_fit(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(d,)`` and unbiased covariance ``(d, d)`` of ``features (N, d)``, float64."""
    x = features.double()
    return x.mean(0), torch.cov(x.T)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})``: ``S1 S2`` is similar to the
    symmetric PSD ``A S2 A`` with ``A = S1^{1/2}``, so ``Tr (S1 S2)^{1/2} = sum_i
    sqrt(lambda_i(A S2 A))``."""
    root = sqrtm_psd(sigma1)
    inner = torch.linalg.eigvalsh(root @ sigma2 @ root).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * inner)


class ClassifierFeatures(nn.Module):
    """images ``(B, 1, 28, 28)`` in [-1, 1] -> float64 features ``(B, 128)``: the classifier
    as a torchmetrics ``feature`` module."""

    def __init__(self, classifier):
        super().__init__()
        self.classifier = classifier.eval()
        self.num_features = classifier.num_features

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(x).double()
