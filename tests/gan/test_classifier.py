"""The reference classifier: shipped weights, hash and weights-only loading, training."""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest
import torch

from gradgames.errors import UsageError
from gradgames.gan import classifier
from gradgames.gan.classifier import (
    accuracy,
    command_line,
    fit_classifier,
    load_classifier,
    load_reference_classifier,
    sha256_of,
    shift_and_flip,
)
from gradgames.gan.config import ClassifierConfig
from gradgames.gan.data import load_fashion_mnist

SHIPPED = classifier.ASSETS / classifier.WEIGHTS_NAME


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message, message
    return message


def copy_assets(tmp_path: pathlib.Path) -> pathlib.Path:
    for suffix in (".pt", ".sha256", ".json"):
        shutil.copy(SHIPPED.with_suffix(suffix), tmp_path / SHIPPED.with_suffix(suffix).name)
    return tmp_path / SHIPPED.name


def test_shipped_weights_reach_92_percent_on_the_real_test_set():
    model = load_reference_classifier()
    test = load_fashion_mnist("test")
    measured = accuracy(model, test.images, test.labels)
    assert measured >= 0.92
    record = json.loads(SHIPPED.with_suffix(".json").read_text())
    assert measured == pytest.approx(record["test_accuracy"], abs=1e-4)


def test_shipped_record_names_the_digest_and_a_reproducing_command():
    digest = sha256_of(SHIPPED.read_bytes())
    record = json.loads(SHIPPED.with_suffix(".json").read_text())
    assert SHIPPED.with_suffix(".sha256").read_text().split()[0] == digest
    assert record["sha256"] == digest
    config = ClassifierConfig(out=pathlib.Path(f"src/gradgames/gan/assets/{SHIPPED.name}"))
    for key, value in record["config"].items():
        setattr(config, key, value)
    assert record["command"] == command_line(config)
    assert SHIPPED.stat().st_size < 4_000_000


def test_a_tampered_weights_file_is_refused(tmp_path, monkeypatch):
    weights = copy_assets(tmp_path)
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(classifier, "ASSETS", tmp_path)
    with pytest.raises(UsageError) as exc:
        load_reference_classifier()
    message = one_line(exc)
    assert "fails its SHA-256 check" in message
    assert "gradgames gan train-classifier" in message


def test_missing_weights_are_refused_with_the_remedy(tmp_path, monkeypatch):
    monkeypatch.setattr(classifier, "ASSETS", tmp_path)
    with pytest.raises(UsageError) as exc:
        load_reference_classifier()
    assert "does not exist" in one_line(exc)
    assert "train-classifier" in one_line(exc)


class _CreatesFile:
    """Unpickling this object would call ``open(marker, "w")``, creating the file."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_malicious_pickle_with_a_matching_hash_is_refused_unexecuted(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    weights = tmp_path / SHIPPED.name
    torch.save({"body.0.weight": _CreatesFile(marker)}, weights)
    weights.with_suffix(".sha256").write_text(f"{sha256_of(weights.read_bytes())}  x.pt\n")
    monkeypatch.setattr(classifier, "ASSETS", tmp_path)
    with pytest.raises(UsageError) as exc:
        load_reference_classifier()
    assert "refused" in one_line(exc)
    assert not marker.exists()
    torch.load(weights, weights_only=False)  # the payload is real: unsafe loading runs it
    assert marker.exists()


def test_weights_of_another_shape_are_refused(tmp_path):
    weights = tmp_path / "other.pt"
    torch.save({"body.0.weight": torch.zeros(3)}, weights)
    weights.with_suffix(".sha256").write_text(sha256_of(weights.read_bytes()) + "\n")
    with pytest.raises(UsageError) as exc:
        load_classifier(weights)
    assert "not this classifier's weights" in one_line(exc)


def test_fitting_is_deterministic_per_seed_and_leaves_global_rng_alone():
    config = ClassifierConfig(epochs=1, batch_size=64, train_images=192, augment=True)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = fit_classifier(config).state_dict()
    assert torch.rand(1) == before
    second = fit_classifier(config).state_dict()
    other = fit_classifier(ClassifierConfig(**{**vars(config), "seed": 1})).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first["head.1.weight"], other["head.1.weight"])


def test_shift_and_flip_moves_each_image_by_at_most_two_pixels():
    images = torch.zeros(64, 1, 28, 28, dtype=torch.uint8)
    images[:, 0, 10, 12] = 255
    out = shift_and_flip(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == torch.uint8
    assert torch.all(out.flatten(1).sum(1) == 255)  # one bright pixel, nothing lost
    rows, cols = out[:, 0].nonzero()[:, 1], out[:, 0].nonzero()[:, 2]
    assert torch.all((rows - 10).abs() <= 2)
    assert torch.all(((cols - 12).abs() <= 2) | ((27 - cols - 12).abs() <= 2))
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) > 10  # offsets vary


def test_invalid_training_settings_are_one_line_errors():
    for bad in ({"epochs": 0}, {"lr": 0.0}, {"lr": float("inf")}, {"weight_decay": float("nan")},
                {"weight_decay": -1.0}, {"label_smoothing": 1.0}, {"train_images": 0}):
        with pytest.raises(UsageError) as exc:
            fit_classifier(ClassifierConfig(**bad))
        one_line(exc)
