"""The reference Fashion-MNIST classifier: the feature space the GAN's samples are measured in.

InceptionV3 weights cannot be downloaded on the project's machines, so FID, KID, the
Inception-Score analogue and precision/recall (:mod:`gradgames.gan.metrics`) use this small CNN
instead: its penultimate layer (:data:`NUM_FEATURES` = 128 values after a ReLU) plays the part
of Inception's pool3 features and its softmax the part of Inception's class probabilities.

The trained weights ship inside the package (``gan/assets/``) with their SHA-256, so every user
measures in the same feature space. :func:`load_reference_classifier` checks the hash before it
unpickles anything, and unpickles with ``weights_only=True``. ``fashion_classifier.json`` beside
the weights records the command that produced them and their test accuracy;
:func:`train_classifier` (``gradgames gan train-classifier``) reproduces them on the CPU.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gradgames.config import to_dict
from gradgames.device import resolve_device
from gradgames.errors import ConfigError, UsageError
from gradgames.files import atomic_torch_save, atomic_write_text, write_json
from gradgames.gan.checkpoint import load_file
from gradgames.gan.config import ClassifierConfig
from gradgames.gan.data import load_fashion_mnist, to_unit_range
from gradgames.rundir import check_output_file

ASSETS = Path(__file__).resolve().parent / "assets"
WEIGHTS_NAME = "fashion_classifier.pt"
NUM_FEATURES = 128
NUM_CLASSES = 10
REGENERATE = (
    "reinstall gradgames, or regenerate them with `gradgames gan train-classifier --out "
    "src/gradgames/gan/assets/fashion_classifier.pt` after removing the three "
    "fashion_classifier files there"
)


def _conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    ]


class FashionClassifier(nn.Module):
    """image ``(B, 1, 28, 28)`` in [-1, 1] -> logits ``(B, 10)``; 128-d penultimate features.

    Two conv blocks (3x3 conv, batch norm, ReLU, 2x2 max pool: 32 then 64 channels), a dense
    layer to :data:`NUM_FEATURES` with ReLU (the feature layer), dropout and a dense head.
    """

    num_features = NUM_FEATURES

    def __init__(self, dropout: float = 0.25):
        super().__init__()
        self.body = nn.Sequential(
            *_conv_block(1, 32),  # (B, 32, 14, 14)
            *_conv_block(32, 64),  # (B, 64, 7, 7)
            nn.Flatten(),  # (B, 3136)
            nn.Linear(64 * 7 * 7, NUM_FEATURES),
            nn.ReLU(inplace=True),  # (B, 128): the feature layer
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(NUM_FEATURES, NUM_CLASSES))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate activations ``(B, 128)``, non-negative."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))  # (B, 10)


def shift_and_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random shifts of -2..2 pixels (zero padding) and horizontal flips with probability 1/2.

    Args:
        images: ``(B, 1, 28, 28)`` uint8.
        generator: the CPU generator the offsets and flips are drawn from.

    Returns:
        ``(B, 1, 28, 28)`` uint8, each image moved by its own offset.
    """
    b = images.shape[0]
    padded = F.pad(images, (2, 2, 2, 2))  # (B, 1, 32, 32)
    dy, dx = torch.randint(0, 5, (2, b), generator=generator)
    grid = torch.arange(28)
    rows = (dy[:, None] + grid)[:, :, None]  # (B, 28, 1)
    cols = (dx[:, None] + grid)[:, None, :]  # (B, 1, 28)
    out = padded[torch.arange(b)[:, None, None], 0, rows, cols].unsqueeze(1)
    flip = (torch.rand(b, generator=generator) < 0.5).view(b, 1, 1, 1)
    return torch.where(flip, out.flip(-1), out)


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000):
    """Top-1 accuracy of ``model`` on uint8 ``images (N, 1, 28, 28)``; restores its mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for x, y in zip(images.split(batch), labels.split(batch), strict=True):
        correct += int((model(to_unit_range(x.to(device))).argmax(1).cpu() == y).sum())
    model.train(was_training)
    return correct / len(labels)


def train_classifier(
    config: ClassifierConfig, log: Callable[[str], None] | None = None
) -> tuple[FashionClassifier, float]:
    """Trains the reference classifier (:func:`fit_classifier`) and measures it.

    Returns:
        The model in eval mode and its top-1 accuracy on the 10,000 test images.
    """
    model = fit_classifier(config, log)
    test = load_fashion_mnist("test", config.data_dir, config.download)
    return model, accuracy(model, test.images, test.labels)


def fit_classifier(
    config: ClassifierConfig, log: Callable[[str], None] | None = None
) -> FashionClassifier:
    """Fits the classifier to the training set; deterministic on the CPU for a given seed.

    AdamW with a one-cycle learning rate (warm-up over the first 20% of steps to ``lr``, then
    cosine annealing) on label-smoothed cross-entropy. The global RNG state is forked, so the
    caller's random streams are left as they were.

    Returns:
        The model in eval mode.
    """
    device = resolve_device(config.device)
    train = load_fashion_mnist("train", config.data_dir, config.download)
    images, labels = train.images[: config.train_images], train.labels[: config.train_images]
    steps_per_epoch = -(-len(labels) // config.batch_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = FashionClassifier().to(device)
        opt = torch.optim.AdamW(model.parameters(), config.lr, weight_decay=config.weight_decay)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            opt, config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=0.2
        )
        stream = torch.Generator().manual_seed(config.seed)
        for epoch in range(config.epochs):
            start = time.perf_counter()
            loss = _train_epoch(model, opt, schedule, images, labels, stream, config, device)
            if log:
                log(f"epoch {epoch + 1}/{config.epochs}: loss {loss:.4f}, "
                    f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    return model.eval()


def _train_epoch(model, opt, schedule, images, labels, stream, config, device) -> float:
    """One pass over ``images`` in a seeded order; returns the mean training loss."""
    model.train()
    order = torch.randperm(len(labels), generator=stream)
    total = 0.0
    for idx in order.split(config.batch_size):
        x = images[idx]
        if config.augment:
            x = shift_and_flip(x, stream)
        logits = model(to_unit_range(x.to(device)))  # (B, 10)
        loss = F.cross_entropy(
            logits, labels[idx].to(device), label_smoothing=config.label_smoothing
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        total += loss.item() * len(idx)
    return total / len(labels)


@dataclass(frozen=True)
class TrainedClassifier:
    """What :func:`train_and_save` wrote and measured."""

    path: Path
    sha256: str
    test_accuracy: float
    seconds: float


def train_and_save(
    config: ClassifierConfig, log: Callable[[str], None] | None = None
) -> TrainedClassifier:
    """Trains the classifier and writes its weights, ``.sha256`` and ``.json`` record.

    Raises:
        ConfigError: ``config.out`` is missing, or it or one of its two companions exists
            (nothing is overwritten: the shipped weights live at such a path).
        UsageError: the folder of ``config.out`` cannot be written (checked before training).
    """
    if config.out is None:
        raise ConfigError("out", "is required: the weights file to write (.pt)")
    sidecars = (config.out.with_suffix(".sha256"), config.out.with_suffix(".json"))
    for path in (config.out, *sidecars):
        if path.exists() or path.is_symlink():
            raise ConfigError(
                "out", f"{config.out}: {path} exists and is never overwritten; choose another "
                "path or remove it"
            )  # fmt: skip
    out = check_output_file(config.out, ".pt", sidecars=sidecars)
    start = time.perf_counter()
    model, test_accuracy = train_classifier(config, log)
    seconds = time.perf_counter() - start
    digest = save_classifier(model, out, training_record(config, test_accuracy, seconds))
    return TrainedClassifier(out, digest, test_accuracy, seconds)


def sha256_of(data: bytes) -> str:
    """The hex SHA-256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def save_classifier(model: FashionClassifier, path: Path, record: dict) -> str:
    """Writes the weights (a plain state dict), ``.sha256`` and ``.json`` record atomically.

    Returns:
        The weights' hex SHA-256.
    """
    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_torch_save(state, path)
    digest = sha256_of(path.read_bytes())
    atomic_write_text(path.with_suffix(".sha256"), f"{digest}  {path.name}\n")
    write_json(path.with_suffix(".json"), {**record, "sha256": digest})
    return digest


def command_line(config: ClassifierConfig) -> str:
    """The ``gradgames gan train-classifier`` command that gives ``config`` (non-defaults)."""
    parts = ["gradgames gan train-classifier", "--out", str(config.out)]
    defaults = ClassifierConfig()
    for f in fields(ClassifierConfig):
        value = getattr(config, f.name)
        if f.name in ("out", "data_dir", "download") or value == getattr(defaults, f.name):
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else "--no-" + flag[2:])
        else:
            parts += [flag, str(value)]
    return " ".join(parts)


def training_record(config: ClassifierConfig, test_accuracy: float, seconds: float) -> dict:
    """What ``fashion_classifier.json`` holds: the command, settings, accuracy and versions."""
    settings = {k: v for k, v in to_dict(config).items() if k not in ("out", "data_dir")}
    return {
        "command": command_line(config),
        "config": settings,
        "test_accuracy": round(test_accuracy, 4),
        "train_seconds": round(seconds, 1),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def load_classifier(path: Path | str, device: torch.device | str = "cpu") -> FashionClassifier:
    """A classifier in eval mode from ``path``, after checking the SHA-256 in ``path.sha256``.

    The bytes are hashed first and unpickled from the same bytes with ``weights_only=True``,
    so a replaced file is refused before any of it is interpreted.

    Raises:
        UsageError: the weights or their digest are missing, the digest does not match, or
            the file holds anything but this architecture's tensors.
    """
    path = Path(path)
    digest_file = path.with_suffix(".sha256")
    if not path.is_file() or not digest_file.is_file():
        missing = path if not path.is_file() else digest_file
        raise UsageError(f"classifier weights missing: {missing} does not exist; {REGENERATE}")
    data = path.read_bytes()
    expected = (digest_file.read_text().split() or [""])[0]  # sha256sum format: "HEX  NAME"
    found = sha256_of(data)
    if found != expected:
        raise UsageError(
            f"{path} fails its SHA-256 check (expected {expected[:16]}..., found "
            f"{found[:16]}...): the file was changed or damaged; {REGENERATE}"
        )
    try:
        state = load_file(path, data)
    except UsageError as exc:
        raise UsageError(f"{exc}; {REGENERATE}") from None
    model = FashionClassifier()
    try:
        model.load_state_dict(state)
    except (RuntimeError, ValueError, TypeError, AttributeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(
            f"{path} is not this classifier's weights ({reason}); {REGENERATE}"
        ) from None
    return model.to(device).eval()


def load_reference_classifier(device: torch.device | str = "cpu") -> FashionClassifier:
    """The shipped classifier (``gan/assets/fashion_classifier.pt``), hash-checked, eval mode."""
    return load_classifier(ASSETS / WEIGHTS_NAME, device)
