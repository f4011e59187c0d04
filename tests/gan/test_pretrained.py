"""The shipped generators: pretrained(), gan sample --pretrained, torch.hub, their hash check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from gradgames.errors import UsageError
from gradgames.gan import Generator, load_generator, pretrained, sample_images, shipped
from gradgames.gan.classifier import ASSETS
from tests.conftest import assert_one_line_error

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "results" / "part3-gan"


@pytest.mark.parametrize("weights, name", [("ema", "generator_ema.pt"), ("raw", "generator.pt")])
def test_pretrained_is_the_committed_run_s_generator(weights, name):
    generator = pretrained(weights)
    assert isinstance(generator, Generator) and not generator.training
    committed = load_generator(RESULTS / name)  # a link to the same file in the package
    for mine, theirs in zip(generator.state_dict().values(), committed.state_dict().values(),
                            strict=True):
        assert torch.equal(mine, theirs)
    assert (RESULTS / name).resolve() == (ASSETS / name).resolve()


def test_the_shipped_record_is_the_run_s_record():
    """The hashes pretrained() checks are those of docs/results' weights.json, the same bytes."""
    assert (ASSETS / "weights.json").read_bytes() == (RESULTS / "weights.json").read_bytes()


def test_a_changed_file_is_refused_before_it_is_loaded(tmp_path, monkeypatch):
    for name in ("generator_ema.pt", "weights.json"):
        shutil.copy(ASSETS / name, tmp_path / name)
    with open(tmp_path / "generator_ema.pt", "r+b") as f:
        f.seek(-1, 2)
        f.write(b"\x00" if f.read(1) != b"\x00" else b"\x01")
        f.seek(-1, 2)
    monkeypatch.setattr(shipped, "ASSETS", tmp_path)
    with pytest.raises(UsageError, match="fails its SHA-256 check.*reinstall gradgames") as e:
        pretrained("ema")
    assert "\n" not in str(e.value)
    with pytest.raises(UsageError, match="generator.pt is missing"):
        pretrained("raw")
    with pytest.raises(UsageError, match="no pretrained weights 'best': choose one of ema, raw"):
        pretrained("best")


def test_gan_sample_draws_the_shipped_generator(cli, tmp_path):
    out = tmp_path / "grid.png"
    code, stdout, err = cli("gan", "sample", "--pretrained", "raw", "--num", "4", "--out", out)
    assert code == 0, err
    assert "wrote 4 samples" in stdout and out.stat().st_size > 0


def test_pretrained_and_checkpoint_exclude_each_other(cli, tmp_path):
    out = tmp_path / "grid.png"
    code, _, err = cli("gan", "sample", "--pretrained", "ema",
                       "--checkpoint", RESULTS / "generator.pt", "--out", out)  # fmt: skip
    assert_one_line_error(code, err, "--pretrained and --checkpoint exclude each other")
    code, _, err = cli("gan", "sample", "--out", out)
    assert_one_line_error(code, err, "--checkpoint is required")
    assert not out.exists()


def test_torch_hub_loads_the_generator_from_a_checkout():
    generator = torch.hub.load(str(ROOT), "generator", source="local", weights="ema")
    images = sample_images(generator, 3)
    assert images.shape == (3, 1, 28, 28)
    assert torch.equal(images, sample_images(pretrained("ema"), 3))


def test_the_package_exports_the_function_whatever_was_imported_first():
    import gradgames.gan as gan

    assert callable(gan.pretrained) and gan.pretrained is shipped.pretrained


def test_the_model_card_quotes_the_committed_evaluation():
    card = (ROOT / "docs" / "model-card.md").read_text()
    evaluation = json.loads((RESULTS / "evaluation.json").read_text())
    keys = ("fid", "kid", "inception_score", "precision", "recall", "coverage",
            "class_tv_to_uniform")  # fmt: skip
    for label, which in (("raw generator", "generated"), ("EMA generator", "ema"),
                         ("floor (real vs real)", "floor")):  # fmt: skip
        row = next(line for line in card.splitlines() if line.startswith(f"| {label} |"))
        quoted = [float(cell) for cell in row.strip("|").split("|")[1:]]
        recorded = [evaluation[which][key] for key in keys]
        assert quoted == pytest.approx(recorded, abs=0.006), label
