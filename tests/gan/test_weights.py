"""generator.pt and discriminator.pt carry the model settings that built them."""

from __future__ import annotations

import json

import pytest
import torch

from gradgames.errors import UsageError
from gradgames.gan import load_discriminator, load_generator
from gradgames.gan.checkpoint import save_weights
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


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_a_bare_state_dict_is_refused_saying_what_file_to_give(cli, leaky_run, tmp_path, command):
    plain = tmp_path / "plain.pt"
    torch.save(load_generator(leaky_run / "generator.pt").state_dict(), plain)
    extra = ["--out", tmp_path / "s.png"] if command == "sample" else []
    code, out, err = cli("gan", command, "--checkpoint", plain, "--leak", "0.05", *extra)
    assert_one_line_error(code, err, "plain.pt is neither a gradgames weights file nor a training "
                          "checkpoint (a bare state dict carries no model settings): give a "
                          "run's generator.pt or checkpoints/last.pt")  # fmt: skip
    assert out == "" and not (tmp_path / "s.png").exists()
    with pytest.raises(UsageError, match="a bare state dict carries no model settings"):
        load_generator(plain)


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
    assert results[0]["generated"] == results[1]["generated"]


def test_the_discriminator_carries_its_settings_and_is_told_apart(cli, leaky_run, tmp_path):
    discriminator = load_discriminator(leaky_run / "discriminator.pt")
    assert discriminator.config.leak == 0.05 and discriminator.config.dropout == 0.1
    assert not discriminator.training
    code, err, _ = sample(cli, leaky_run / "discriminator.pt", tmp_path / "x.png")
    assert_one_line_error(code, err, "discriminator.pt holds discriminator weights, not a")
    with pytest.raises(Exception, match="holds generator weights, not a discriminator's"):
        load_discriminator(leaky_run / "generator.pt")


def test_the_settings_in_a_weights_file_are_checked(cli, tmp_path):
    path = tmp_path / "generator.pt"
    save_weights(path, Generator(), "generator")
    record = torch.load(path, weights_only=True)
    record["config"]["leak"] = float("nan")
    torch.save(record, path)
    code, err, _ = sample(cli, path, tmp_path / "x.png")
    assert_one_line_error(code, err, "generator.pt carries settings gradgames cannot use",
                          "leak must be a finite number; got nan")  # fmt: skip
