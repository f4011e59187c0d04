"""Sample quality of a generator, measured in the reference classifier's feature space.

Every image (generated or real) goes through :class:`~gradgames.gan.classifier.FashionClassifier`
once; its 128-d penultimate features ``phi`` and logits feed all the scores:

- FID: the Frechet distance between Gaussian fits ``N(mu_g, S_g)``, ``N(mu_r, S_r)`` of the
  generated and real features, ``||mu_g - mu_r||^2 + Tr(S_g + S_r - 2 (S_g S_r)^{1/2})``
  (torchmetrics' FrechetInceptionDistance, float64);
- KID: the unbiased squared MMD with the kernel ``k(x, y) = (x.y / d + 1)^3``, averaged over
  random subsets (torchmetrics' KernelInceptionDistance);
- the Inception-Score analogue ``exp(E_x KL(p(y|x) || p(y)))`` from the softmax of the logits,
  between 1 and 10 (torchmetrics' InceptionScore);
- the class histogram of ``argmax p(y|x)`` and its total-variation distance to uniform;
- precision and recall with k-nearest-neighbour manifolds (Kynkaanniemi et al., 2019), and
  density and coverage (Naeem et al., 2020) from the same balls: written here, as
  torchmetrics has no such metric.

The scores themselves are in :mod:`gradgames.gan.scores`. torchmetrics runs its ``feature``
module inside ``update(images)``; here the classifier's features are computed once and handed
to it through a pass-through module (:class:`~gradgames.gan.scores.Precomputed`), so one
forward pass per image serves every score and the real images' features are computed once per
process (as torch-fidelity and clean-fid cache them); a test checks that FID on images through
the classifier as a torchmetrics ``feature`` module equals FID on the precomputed features.

The real-data floor is every score of ``n`` training images against the test set, with ``n``
the number of generated images: sample-size bias makes FID positive even for real data, so a
generated FID is read against it. None of these numbers is comparable with Inception-based
scores in papers.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from gradgames.config import check_int, check_seed
from gradgames.gan.checkpoint import load_generator
from gradgames.gan.classifier import FashionClassifier, load_reference_classifier
from gradgames.gan.config import MAX_EVAL_BATCH, TRAIN_IMAGES, WeightsConfig
from gradgames.gan.data import CLASSES, load_fashion_mnist, to_unit_range
from gradgames.gan.results import Evaluation, Scores
from gradgames.gan.sampling import generated_batches
from gradgames.gan.scores import (
    class_histogram,
    fid,
    inception_score,
    kid,
    manifold_scores,
    tv_to_uniform,
)

FEATURE_SPACE = (
    "gradgames Fashion-MNIST classifier (128-d penultimate features and its class "
    "probabilities); not comparable with Inception-based FID/KID/IS from papers"
)
MAX_SAMPLES = TRAIN_IMAGES  # the floor needs as many training images as generated ones


@dataclass(frozen=True)
class Embedding:
    """The classifier's view of a set of images.

    Attributes:
        features: ``(N, 128)`` float64 penultimate activations.
        logits: ``(N, 10)`` float64 class logits.
    """

    features: torch.Tensor
    logits: torch.Tensor

    def __len__(self) -> int:
        return self.features.shape[0]


@torch.no_grad()
def embed(classifier: FashionClassifier, batches) -> Embedding:
    """Features and logits of an iterable of image batches, no grad.

    Args:
        classifier: the feature extractor, in eval mode.
        batches: tensors ``(B, 1, 28, 28)``: uint8 pixels or floats in [-1, 1].
    """
    device = next(classifier.parameters()).device
    feats, logits = [], []
    for x in batches:
        x = x.to(device)
        x = to_unit_range(x) if x.dtype == torch.uint8 else x.float()
        f = classifier.features(x)  # (B, 128)
        feats.append(f.double())
        logits.append(classifier.head(f).double())  # (B, 10)
    return Embedding(torch.cat(feats), torch.cat(logits))


def _subsample(x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    if len(x) <= n:
        return x
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    return x[order[:n].to(x.device)]


def scores(fake: Embedding, real: Embedding, *, seed: int = 0, k: int = 3) -> Scores:
    """Every score of ``fake`` against ``real`` (see the module docstring).

    Precision and recall compare equal numbers of points (the larger set is subsampled,
    seeded), since the k-NN radii shrink as a set grows.
    """
    kid_mean, kid_std = kid(fake.features, real.features, seed)
    is_mean, is_std = inception_score(fake.logits, seed)
    n = min(len(fake), len(real))
    manifold = manifold_scores(
        _subsample(fake.features, n, seed), _subsample(real.features, n, seed + 1), k
    )
    histogram = class_histogram(fake.logits)
    return Scores(
        fid=fid(fake.features, real.features),
        kid=kid_mean,
        kid_std=kid_std,
        inception_score=is_mean,
        inception_score_std=is_std,
        **manifold,
        class_histogram=tuple(round(float(h), 6) for h in histogram),
        class_tv_to_uniform=tv_to_uniform(histogram),
    )


@dataclass
class RealReference:
    """The real side of every comparison, computed once per process and device.

    Attributes:
        classifier: the reference classifier, eval mode.
        test: embedding of the 10,000 test images.
        test_accuracy: the classifier's top-1 accuracy on them (measured, not recorded).
        train_images: ``(60000, 1, 28, 28)`` uint8, the pool the floor draws from.
        floors: cache of :func:`real_floor` results keyed by ``(n, seed, k)``.
    """

    classifier: FashionClassifier
    test: Embedding
    test_accuracy: float
    train_images: torch.Tensor
    floors: dict = field(default_factory=dict)


@functools.lru_cache(maxsize=4)
def _cached_reference(device: str, data_dir: str | None, download: bool, batch_size: int):
    classifier = load_reference_classifier(device)
    test = load_fashion_mnist("test", data_dir, download)
    train = load_fashion_mnist("train", data_dir, download)
    embedding = embed(classifier, test.images.split(batch_size))
    correct = (embedding.logits.argmax(1).cpu() == test.labels).double().mean()
    return RealReference(classifier, embedding, float(correct), train.images)


def real_reference(
    device: torch.device | str = "cpu",
    data_dir: Path | str | None = None,
    download: bool = False,
    batch_size: int = 500,
) -> RealReference:
    """The (per-process cached) real reference on ``device``: classifier and test features."""
    key = str(data_dir) if data_dir is not None else None
    return _cached_reference(str(torch.device(device)), key, download, batch_size)


def real_floor(
    reference: RealReference, num_samples: int, seed: int = 0, k: int = 3, batch_size: int = 500
) -> Scores:
    """Every score of ``num_samples`` training images (seeded draw) against the test set.

    Cached in ``reference.floors``: the floor depends only on ``(num_samples, seed, k)``.
    """
    key = (num_samples, seed, k)
    if key not in reference.floors:
        order = torch.randperm(
            len(reference.train_images), generator=torch.Generator().manual_seed(seed)
        )
        images = reference.train_images[order[:num_samples]]
        embedding = embed(reference.classifier, images.split(batch_size))
        reference.floors[key] = scores(embedding, reference.test, seed=seed, k=k)
    return reference.floors[key]


def check_request(num_samples: int, batch_size: int, seed: int) -> None:
    """ConfigErrors naming the argument for a sample size, batch size or seed out of range
    (the real-data floor draws as many training images as there are samples)."""
    check_int("num_samples", num_samples, 2, MAX_SAMPLES)
    check_int("batch_size", batch_size, 1, MAX_EVAL_BATCH)
    check_seed("seed", seed)


def evaluate_embedding(
    fake: Embedding, *, seed: int = 0, reference: RealReference, k: int = 3, seconds: float = 0.0
) -> Evaluation:
    """Scores of an embedded image set with the real-data floor of the same size beside them."""
    return Evaluation(
        feature_space=FEATURE_SPACE,
        generated=scores(fake, reference.test, seed=seed, k=k),
        floor=real_floor(reference, len(fake), seed, k),
        num_samples=len(fake),
        num_real=len(reference.test),
        seed=seed,
        k=k,
        class_names=CLASSES,
        classifier_test_accuracy=reference.test_accuracy,
        seconds=seconds,
    )


def evaluate_images(
    images: torch.Tensor,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    batch_size: int = 500,
    real: RealReference | None = None,
) -> Evaluation:
    """Scores of an image set ``(N, 1, 28, 28)`` (uint8 or floats in [-1, 1]) vs the test set."""
    check_request(len(images), batch_size, seed)
    start = time.perf_counter()
    reference = real or real_reference(device, batch_size=batch_size)
    fake = embed(reference.classifier, images.split(batch_size))
    seconds = round(time.perf_counter() - start, 2)
    return evaluate_embedding(fake, seed=seed, reference=reference, seconds=seconds)


def evaluate_generator(
    generator: nn.Module,
    *,
    num_samples: int = 10_000,
    seed: int = 0,
    device: torch.device | str = "cpu",
    batch_size: int = 500,
    real: RealReference | None = None,
) -> Evaluation:
    """Samples ``num_samples`` images of ``generator`` and scores them against the test set.

    The generator runs in eval mode (batch norm with its running statistics) on ``z ~ N(0, I)``
    drawn from ``torch.Generator().manual_seed(seed)``; its previous mode is restored.

    Args:
        generator: a :class:`~gradgames.gan.models.Generator` (the plain module, not a
            DDP or compiled wrapper), on any device.
        num_samples: generated images, 2 to 60,000.
        seed: seed of the noise, of the floor's training images and of KID/IS subsets.
        device: where the classifier (and the real reference) run.
        batch_size: images per forward pass.
        real: a :func:`real_reference`; by default the per-process cached one for ``device``.

    Returns:
        The scores, each beside its real-data floor (``to_dict()`` gives the JSON).

    Raises:
        ConfigError: num_samples, batch_size or seed out of range.
        UsageError: the generator produced non-finite images.
    """
    check_request(num_samples, batch_size, seed)
    start = time.perf_counter()
    reference = real or real_reference(device, batch_size=batch_size)
    was_training = generator.training
    generator.eval()
    try:
        batches = generated_batches(generator, num_samples, seed, batch_size)
        fake = embed(reference.classifier, batches)
    finally:
        generator.train(was_training)
    seconds = round(time.perf_counter() - start, 2)
    return evaluate_embedding(fake, seed=seed, reference=reference, seconds=seconds)


def evaluate_checkpoint(
    path: Path | str,
    *,
    num_samples: int = 10_000,
    seed: int = 0,
    device: torch.device | str = "cpu",
    batch_size: int = 500,
    real: RealReference | None = None,
    stated: WeightsConfig | None = None,
) -> Evaluation:
    """:func:`evaluate_generator` on a run's ``generator.pt`` or ``checkpoints/last.pt``
    (loaded by :func:`~gradgames.gan.checkpoint.load_generator` with ``stated``)."""
    check_request(num_samples, batch_size, seed)
    generator = load_generator(path, device, stated=stated)
    return evaluate_generator(
        generator, num_samples=num_samples, seed=seed, device=device, batch_size=batch_size,
        real=real,
    )  # fmt: skip
