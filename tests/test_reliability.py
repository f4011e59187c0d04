"""Faults and hostile input across the commands: each class of issue 7 has a test here or in
the part's own tests (the README's reliability table says which)."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from gradgames.errors import GradgamesError
from gradgames.files import atomic_torch_save
from gradgames.gan import TrainConfig, train
from gradgames.gan.checkpoint import load_checkpoint
from gradgames.gan.models import Generator
from tests.conftest import assert_one_line_error, interrupt_training

TINY = dict(subset=128, batch_size=64, progress=False, eval_epochs=(), log_every=1)


class Planted:
    """Unpickling this object would create the file ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant(path, marker, wrap=lambda obj: obj):
    torch.save(wrap(Planted(marker)), path)
    assert path.exists() and not marker.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["gan", "sample", "--checkpoint", "{pt}", "--out", "{tmp}/s.png"],
        ["gan", "evaluate", "--checkpoint", "{pt}", "--num", "10"],
    ],
)
def test_a_pickle_that_runs_code_is_refused_and_never_runs(cli, tmp_path, command):
    marker, pt = tmp_path / "pwned", tmp_path / "evil.pt"
    plant(pt, marker, wrap=lambda obj: {"dense.0.weight": obj})
    args = [a.format(pt=pt, tmp=tmp_path) for a in command]
    code, _, err = cli(*args)
    assert_one_line_error(code, err, "was refused", "never unpickles")
    assert not marker.exists()


def test_a_raw_pickle_is_refused_without_unpickling(cli, tmp_path):
    import pickle

    marker, pt = tmp_path / "pwned", tmp_path / "raw.pt"
    pt.write_bytes(pickle.dumps(Planted(marker)))
    code, _, err = cli("gan", "sample", "--checkpoint", pt)
    assert_one_line_error(code, err, "raw pickle")
    assert not marker.exists()


def test_resume_refuses_a_planted_or_truncated_checkpoint(cli, tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(out=out, epochs=1, **TINY))
    last = out / "checkpoints" / "last.pt"
    marker = tmp_path / "pwned"
    plant(last, marker, wrap=lambda obj: {"format": "gradgames-gan", "version": 1, "x": obj})
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--epochs", "2")
    assert_one_line_error(code, err, "last.pt was refused")
    assert not marker.exists()
    atomic_torch_save({"generator": Generator().state_dict()}, last)
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--epochs", "2")
    assert_one_line_error(code, err, "last.pt is truncated or not a torch checkpoint")


def test_a_checkpoint_of_another_architecture_is_named(cli, tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(out=out, epochs=1, **TINY))
    last = out / "checkpoints" / "last.pt"
    state = load_checkpoint(last)
    state["generator"]["dense.0.weight"] = torch.zeros(12544, 50)
    atomic_torch_save(state, last)
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--epochs", "2")
    assert_one_line_error(code, err, "'generator.dense.0.weight' entry is missing or malformed",
                          "shape (12544, 50), expected a torch.float32 tensor of shape")


WRITER = textwrap.dedent(
    """
    import sys, torch
    from gradgames.files import atomic_torch_save
    path = sys.argv[1]
    i = 0
    while True:
        i += 1
        atomic_torch_save({"i": i, "w": torch.full((2_000_000,), float(i))}, path)
        print(i, flush=True)
    """
)


def test_sigkill_during_checkpoint_writes_never_leaves_a_torn_file(tmp_path):
    path = tmp_path / "last.pt"
    seen = set()
    for attempt in range(6):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        writer.stdout.readline()  # at least one complete write
        time.sleep(0.05 + 0.07 * attempt)  # land the kill at different points of a write
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        state = torch.load(path, weights_only=True)
        assert torch.all(state["w"] == state["i"]), "a torn or mixed file"
        seen.add(state["i"])
    leftovers = [p for p in tmp_path.iterdir() if p.name != "last.pt"]
    assert len(seen) >= 2
    assert all(p.name.startswith(".last.pt.") for p in leftovers)  # temp files only, if any


def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    atomic_torch_save({"i": 1}, path)

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(GradgamesError, match="No space left on device.*previous version"):
        atomic_torch_save({"i": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"i": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_a_full_disk_at_the_first_checkpoint_is_one_line_and_the_folder_stays_usable(
    cli, tmp_path, monkeypatch
):
    real_fsync = os.fsync

    def full_for_checkpoints(fd):
        if ".last.pt." in os.readlink(f"/proc/self/fd/{fd}"):  # the checkpoint's temp file
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_for_checkpoints)
    out = tmp_path / "run"
    args = ["gan", "train", "--out", out, "--subset", "128", "--epochs", "1", "--no-progress",
            "--log-every", "1", "--eval-epochs", ""]  # fmt: skip
    code, _, err = cli(*args)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert "could not write" in lines[0] and "last.pt" in lines[0]
    assert "No space left on device" in lines[0]
    # the step-0 checkpoint comes first: nothing trained, nothing left but the lock file
    assert [p.name for p in out.iterdir()] == [".gradgames.lock"]
    monkeypatch.undo()
    code, stdout, err = cli(*args)  # space again: the same folder takes the run
    assert code == 0 and "trained 2 steps" in stdout, err


def test_a_full_disk_while_logging_is_one_line(cli, tmp_path, monkeypatch):
    from gradgames import files as runs

    out = tmp_path / "run"
    real_open = runs.Path.open

    def open_full_for_appends(self, mode="r", *args, **kw):
        if "a" in mode and self.name == "metrics.csv":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(self, mode, *args, **kw)

    monkeypatch.setattr(runs.Path, "open", open_full_for_appends)
    code, _, err = cli("gan", "train", "--out", out, "--subset", "128", "--epochs", "1",
                       "--no-progress")  # fmt: skip
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert "could not append to" in lines[0] and "metrics.csv" in lines[0]
    assert (out / "config.json").is_file()


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: s.pop("generator"),
        lambda s: s.pop("config"),
        lambda s: s.pop("rng"),
        lambda s: s.__setitem__("step", "7"),
        lambda s: s.__setitem__("fixed_noise", torch.zeros(64)),
        lambda s: s.__setitem__("seconds", "soon"),
    ],
    ids=["no-generator", "no-config", "no-rng", "step-as-text", "noise-1d", "seconds-as-text"],
)
def test_a_damaged_checkpoint_is_named_by_every_command(cli, tmp_path, damage):
    out = tmp_path / "run"
    train(TrainConfig(out=out, epochs=1, **TINY))
    last = out / "checkpoints" / "last.pt"
    state = load_checkpoint(last)
    damage(state)
    atomic_torch_save(state, last)
    for args in (["gan", "train", "--out", out, "--resume", "--epochs", "2"],
                 ["gan", "sample", "--checkpoint", last, "--out", tmp_path / "s.png"]):  # fmt: skip
        code, _, err = cli(*args)
        assert_one_line_error(code, err, "last.pt is damaged", "missing or malformed")


def test_sigterm_checkpoints_and_exits_143(tmp_path):
    out = tmp_path / "run"
    code, stdout, stderr = interrupt_training(out, signal.SIGTERM)
    assert code == 143, stderr
    assert "stopped by SIGTERM" in stdout and "Traceback" not in stderr
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] >= 1


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["gan", "train", "--out", "{file}"], "is a file, not a directory"),
        (["gan", "train", "--out", "{file}/run"], "cannot create"),
        (["gan", "train", "--out", "{tmp}/r", "--data-dir", "{tmp}/nowhere"], "not a directory"),
        (["gan", "sample", "--checkpoint", "{file}", "--num", "0"], "--num must be an integer"),
        (["gan", "sample", "--checkpoint", "{tmp}/g.pt", "--out", "{tmp}"], "is a directory"),
        (["reproduce", "--out", "{file}"], "is a file, not a directory"),
        (["gan", "train", "--out", "{tmp}/r", "--batch-size", "-3"], "--batch-size must be"),
        (["gan", "train", "--out", "{tmp}/r", "--max-steps", "0"], "--max-steps must be an"),
        (["gan", "train", "--out", "{tmp}/r", "--beta1", "1.5"], "--beta1 must lie in [0, 1)"),
        (["gan", "train", "--out", "{tmp}/r", "--epochs", "x"], "--epochs takes an integer"),
    ],
)
def test_bad_paths_and_numbers_are_one_line_exit_2(cli, tmp_path, args, fragment):
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me")
    torch.save(Generator().state_dict(), tmp_path / "g.pt")
    code, _, err = cli(*[a.format(file=a_file, tmp=tmp_path) for a in args])
    assert_one_line_error(code, err, fragment)
    assert a_file.read_text() == "keep me"
