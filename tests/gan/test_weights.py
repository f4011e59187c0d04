"""generator.pt and discriminator.pt carry the model settings that built them (issue 14)."""

from __future__ import annotations

import json

import pytest
import torch

from gradgames.gan import load_discriminator, load_generator
from gradgames.gan.checkpoint import InferredSettingsWarning, save_weights
from gradgames.gan.config import ModelConfig
from gradgames.gan.models import Generator
from tests.conftest import assert_one_line_error

TINY = ["--subset", "64", "--max-steps", "2", "--eval-epochs", "", "--no-progress"]


@pytest.fixture(scope="module")
def leaky_run(tmp_path_factory):
    """A two-step run trained with a non-default LeakyReLU slope and dropout."""
    from gradgames.cli import main

    out = tmp_path_factory.mktemp("weights") / "run"
    with pytest.raises(SystemExit) as done:
        main(["gan", "train", "--out", str(out), "--leak", "0.05", "--dropout", "0.1", *TINY])
    assert done.value.code == 0
    return out


def sample(cli, checkpoint, out, *extra) -> tuple[int, str, bytes | None]:
    code, _, err = cli("gan", "sample", "--checkpoint", checkpoint, "--out", out, "--num", "16",
                       *extra)  # fmt: skip
    return code, err, out.read_bytes() if out.exists() else None


def test_sample_gives_the_same_image_from_generator_pt_as_from_the_checkpoint(
    cli, leaky_run, tmp_path
):
    code, err, from_weights = sample(cli, leaky_run / "generator.pt", tmp_path / "a.png")
    assert code == 0 and err == "", err
    code, err, from_checkpoint = sample(
        cli, leaky_run / "checkpoints" / "last.pt", tmp_path / "b.png"
    )
    assert code == 0 and err == "", err
    assert from_weights == from_checkpoint


def test_a_plain_state_dict_still_loads_with_a_warning_and_a_stated_leak(cli, leaky_run, tmp_path):
    plain = tmp_path / "old-generator.pt"
    torch.save(load_generator(leaky_run / "generator.pt").state_dict(), plain)  # earlier format
    _, _, right = sample(cli, leaky_run / "generator.pt", tmp_path / "right.png")
    code, err, guessed = sample(cli, plain, tmp_path / "guessed.png")
    assert code == 0 and guessed != right  # the default slope 0.3: another image
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradgames: warning: ")
    assert "old-generator.pt" in lines[0] and "inferred (leak 0.3, the default)" in lines[0]
    code, err, stated = sample(cli, plain, tmp_path / "stated.png", "--leak", "0.05")
    assert code == 0 and stated == right
    assert "inferred (leak 0.05, as stated)" in err


@pytest.mark.parametrize("name", ["generator.pt", "checkpoints/last.pt"])
def test_a_conflicting_flag_is_refused_and_nothing_is_written(cli, leaky_run, tmp_path, name):
    code, err, written = sample(cli, leaky_run / name, tmp_path / "x.png", "--leak", "0.3")
    assert_one_line_error(code, err, "--leak 0.3 differs from the 0.05 that", name)
    assert written is None
    code, _, err = cli("gan", "evaluate", "--checkpoint", leaky_run / name, "--noise-dim", "64")
    assert_one_line_error(code, err, "--noise-dim 64 differs from the 100")


def test_evaluate_scores_generator_pt_like_the_checkpoint(cli, leaky_run):
    results = []
    for name in ("generator.pt", "checkpoints/last.pt"):
        code, out, err = cli("gan", "evaluate", "--checkpoint", leaky_run / name, "--num", "40",
                             "--json")  # fmt: skip
        assert code == 0 and err == "", err
        results.append(json.loads(out))
    assert results[0]["fid"] == results[1]["fid"]


def test_the_discriminator_carries_its_settings_and_is_told_apart(cli, leaky_run, tmp_path):
    discriminator = load_discriminator(leaky_run / "discriminator.pt")
    assert discriminator.config.leak == 0.05 and discriminator.config.dropout == 0.1
    assert not discriminator.training
    code, err, _ = sample(cli, leaky_run / "discriminator.pt", tmp_path / "x.png")
    assert_one_line_error(code, err, "discriminator.pt holds discriminator weights, not a")
    plain = tmp_path / "old-discriminator.pt"
    torch.save(discriminator.state_dict(), plain)
    code, err, _ = sample(cli, plain, tmp_path / "x.png")
    assert_one_line_error(code, err, "old-discriminator.pt holds discriminator weights")
    with pytest.raises(Exception, match="holds generator weights, not a discriminator's"):
        load_discriminator(leaky_run / "generator.pt")


def test_the_settings_in_a_weights_file_are_checked(cli, tmp_path):
    path = tmp_path / "generator.pt"
    save_weights(path, Generator(), "generator")
    record = torch.load(path, weights_only=True)
    record["config"]["leak"] = float("nan")
    torch.save(record, path)
    code, err, _ = sample(cli, path, tmp_path / "x.png")
    assert_one_line_error(code, err, "generator.pt carries model settings gradgames cannot use",
                          "leak must lie in [0, 1)")  # fmt: skip


def test_the_python_loader_warns_about_inferred_settings(tmp_path):
    plain = tmp_path / "g.pt"
    torch.save(Generator(ModelConfig(dense_bn=True, noise_dim=32)).state_dict(), plain)
    with pytest.warns(InferredSettingsWarning, match="settings were inferred"):
        generator = load_generator(plain)
    assert generator.config.noise_dim == 32 and generator.config.dense_bn
