"""Hostile and faulty input to the gan commands (issue 19): each class refused in one line,
exit status 2, with nothing written, or survived with a true message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import gradgames
from gradgames.errors import DivergenceError
from gradgames.gan import TrainConfig, train
from gradgames.gan import run as run_module
from gradgames.gan.artifacts import read_metrics
from gradgames.gan.checkpoint import load_checkpoint, save_weights
from gradgames.gan.models import Generator
from gradgames.rundir import RunLock
from tests.conftest import assert_one_line_error, run_gradgames, start_training, wait_until

TINY = ["--subset", "64", "--max-steps", "2", "--eval-epochs", "", "--no-progress"]
SRC = str(Path(gradgames.__file__).resolve().parents[1])
SMALL = dict(subset=64, batch_size=32, progress=False, log_every=1, eval_epochs=())


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to show nothing changed)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# 1: one run per directory at a time


HOLDER = textwrap.dedent(
    """
    import sys, time
    from gradgames.rundir import RunLock
    RunLock(sys.argv[1]).acquire()
    print("held", flush=True)
    time.sleep(120)
    """
)


def test_a_second_run_on_a_directory_in_use_is_refused_naming_the_holder(cli, tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(out=out, max_steps=1, **SMALL))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": SRC})  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        before = tree(out)
        for extra in ([], ["--resume"]):
            code, _, err = cli("gan", "train", "--out", out, *TINY, *extra)
            assert_one_line_error(code, err, "is in use by another gradgames process",
                                  f"pid {holder.pid}")  # fmt: skip
        assert tree(out) == before
    finally:
        holder.send_signal(signal.SIGKILL)  # the kernel drops the lock with the process
        holder.wait()
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--max-steps", "2")
    assert code == 0, err


def test_the_lock_is_held_for_the_run_s_whole_life(tmp_path, monkeypatch):
    seen = []

    def probe(*args, **kw):
        with pytest.raises(Exception, match=f"pid {os.getpid()}"):
            RunLock(tmp_path / "run").acquire()
        seen.append(1)
        return real(*args, **kw)

    real = run_module.train_step
    monkeypatch.setattr(run_module, "train_step", probe)
    train(TrainConfig(out=tmp_path / "run", max_steps=2, **SMALL))
    assert seen == [1, 1]
    RunLock(tmp_path / "run").acquire().release()  # free once the run has ended


# 2: a folder holding other files is never written into


@pytest.mark.parametrize("name", ["generator.pt", "metrics.csv", "summary.json"])
def test_a_folder_of_the_user_s_own_files_is_refused(cli, tmp_path, name):
    out = tmp_path / "mine"
    out.mkdir()
    (out / name).write_text("the user's own file")
    for extra, fragment in (([], "is not empty"), (["--resume"], "holds no run")):
        code, _, err = cli("gan", "train", "--out", out, *TINY, *extra)
        assert_one_line_error(code, err, fragment)
    assert tree(out) == {name: b"the user's own file"}


# 4: bounded settings, a true divergence message, a run restartable before its first epoch


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--lr", "1e30"], "--lr must lie in (0, 1]"),
        (["--leak", "nan"], "--leak takes a finite number"),
        (["--leak", "inf"], "--leak takes a finite number"),
        (["--leak", "-5"], "--leak must lie in [0, 1)"),
        (["--leak", "1"], "--leak must lie in [0, 1)"),
        (["--dropout", "1"], "--dropout must lie in [0, 1)"),
        (["--beta2", "1"], "--beta2 must lie in [0, 1)"),
        (["--beta1", "-0.1"], "--beta1 must lie in [0, 1)"),
        (["--dist-timeout", "1e300"], "--dist-timeout must lie in (0, 86400]"),
        (["--epochs", "100000"], "--epochs must be an integer from 1 to 10,000"),
        (["--batch-size", "1000000000"], "--batch-size must be at most the 64 images"),
        (["--noise-dim", "1000000000"], "--noise-dim must be an integer from 1 to 4,096"),
        (["--seed", "99999999999999999999999"], "--seed takes an integer from 0 to 2^63 - 1"),
        (["--seed", "-1"], "--seed takes an integer from 0"),
        (["--out", ""], "an empty path"),
        (["--data-dir", ""], "an empty path"),
    ],
)
def test_meaningless_settings_are_refused_before_anything_is_written(cli, tmp_path, args,
                                                                     fragment):  # fmt: skip
    out = tmp_path / "run"
    code, _, err = cli("gan", "train", "--out", out, *TINY, *args)
    assert_one_line_error(code, err, fragment)
    assert not out.exists()


def test_a_step_that_cannot_fit_in_memory_is_refused_before_anything_is_written(
    cli, tmp_path, monkeypatch
):
    monkeypatch.setattr(run_module, "free_memory", lambda device: 2e9)
    out = tmp_path / "run"
    code, _, err = cli("gan", "train", "--out", out, "--batch-size", "4096", "--no-progress")
    assert_one_line_error(code, err, "--batch-size 4,096 needs about", "GB free on cpu")
    assert not out.exists()


def test_throughput_counts_the_images_really_trained(tmp_path):
    result = train(TrainConfig(out=tmp_path / "run", subset=96, batch_size=64, epochs=1,
                               progress=False, eval_epochs=()))  # fmt: skip
    assert result.steps == 2  # 64 images, then the 32 left
    assert result.images_per_s == pytest.approx(96 / result.seconds, rel=0.02)


def diverging(monkeypatch, at: int):
    real, calls = run_module.train_step, {"n": 0}

    def step(*args, **kw):
        calls["n"] += 1
        stats = real(*args, **kw)
        return stats * float("nan") if calls["n"] >= at else stats

    monkeypatch.setattr(run_module, "train_step", step)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_divergence_at_the_first_step_says_what_is_true(tmp_path, monkeypatch, precision):
    diverging(monkeypatch, at=1)
    out = tmp_path / "run"
    small = {**SMALL, "batch_size": 8, "subset": 16} if precision == "bf16" else SMALL
    with pytest.raises(DivergenceError) as caught:
        train(TrainConfig(out=out, max_steps=2, precision=precision, **small))
    message = str(caught.value)
    assert "non-finite loss at step 1" in message
    assert "holds only the initial weights (step 0)" in message
    assert "last good" not in message
    assert ("precision fp32" in message) == (precision == "bf16")
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 0
    monkeypatch.undo()
    resumed = train(TrainConfig(out=out, resume=True, max_steps=2, **small))
    assert resumed.steps == 2  # the folder is not stuck: it restarts from step 0


def test_a_later_divergence_names_the_step_of_the_kept_checkpoint(tmp_path, monkeypatch):
    diverging(monkeypatch, at=3)  # 2 steps per epoch: the epoch-1 checkpoint is step 2
    with pytest.raises(DivergenceError, match=r"last good checkpoint .*\(step 2\) is kept"):
        train(TrainConfig(out=tmp_path / "run", epochs=3, **SMALL))


def test_a_sigkill_before_the_first_epoch_end_leaves_a_run_that_resumes(tmp_path):
    out = tmp_path / "run"
    process = start_training(out)  # 10 steps per epoch
    wait_until(lambda: (out / "metrics.csv").exists() and len(read_metrics(out / "metrics.csv")))
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 0
    again = run_gradgames("gan", "train", "--out", out, "--no-progress")
    assert again.returncode == 2 and "already holds a run: pass --resume" in again.stderr
    resumed = run_gradgames("gan", "train", "--out", out, "--resume", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert "trained 30 steps" in resumed.stdout


def test_a_double_ctrl_c_says_how_to_go_on(tmp_path):
    out = tmp_path / "run"
    # A shell's background job (`pytest ... &`) ignores SIGINT, and so would the training
    # process it starts: the second Ctrl-C would then be ignored as the user asked.
    ignored = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = start_training(out)
    finally:
        signal.signal(signal.SIGINT, ignored)
    wait_until(lambda: (out / "metrics.csv").exists() and len(read_metrics(out / "metrics.csv")))
    last = out / "checkpoints" / "last.pt"
    written = last.stat().st_mtime_ns
    process.send_signal(signal.SIGINT)  # stop after this step: checkpoint, then the artefacts
    wait_until(lambda: last.stat().st_mtime_ns != written)
    process.send_signal(signal.SIGINT)  # while the artefacts are written: interrupt at once
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"gradgames: interrupted; {out} keeps its last checkpoint" in stderr, stdout + stderr
    assert f"gradgames gan train --out {out} --resume" in stderr
    resumed = run_gradgames("gan", "train", "--out", out, "--resume", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr


# 6: a config.json with values no run can have is refused on resume


@pytest.mark.parametrize(
    "text,fragment",
    [
        ('"leak": NaN', "not strict JSON (NaN is not JSON)"),
        ('"leak": 5', "config.json: leak must lie in [0, 1)"),
        ('"leak": "0.3"', "config.json: model.leak must be a finite number"),
    ],
)
def test_a_tampered_config_json_is_refused_on_resume(cli, tmp_path, text, fragment):
    out = tmp_path / "run"
    train(TrainConfig(out=out, max_steps=1, **SMALL))
    path = out / "config.json"
    path.write_text(path.read_text().replace('"leak": 0.3', text))
    before = tree(out)
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--max-steps", "2")
    assert_one_line_error(code, err, "config.json", fragment)
    assert tree(out) == before


# 7: one seed range for every command


@pytest.mark.parametrize("command", ["sample", "evaluate"])
@pytest.mark.parametrize("seed", ["99999999999999999999999", "-1", "1.5"])
def test_sample_and_evaluate_take_the_one_seed_range(cli, tmp_path, command, seed):
    weights = tmp_path / "generator.pt"
    save_weights(weights, Generator(), "generator")
    code, _, err = cli("gan", command, "--checkpoint", weights, "--seed", seed,
                       *(["--out", tmp_path / "s.png"] if command == "sample" else []))  # fmt: skip
    assert_one_line_error(code, err, "--seed takes an integer from 0 to 2^63 - 1")
    assert not (tmp_path / "s.png").exists()


def test_the_largest_seed_samples_and_evaluates(cli, tmp_path):
    weights = tmp_path / "generator.pt"
    save_weights(weights, Generator(), "generator")
    top = str(2**63 - 1)
    code, _, err = cli("gan", "sample", "--checkpoint", weights, "--seed", top,
                       "--out", tmp_path / "s.png")  # fmt: skip
    assert code == 0, err
    code, out, err = cli("gan", "evaluate", "--checkpoint", weights, "--seed", top, "--num", "20",
                         "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["seed"] == 2**63 - 1


# 9: non-finite weights or outputs, from every command


def nan_weights(path: Path) -> None:
    generator = Generator()
    with torch.no_grad():
        generator.dense[0].weight[0, 0] = float("nan")
    save_weights(path, generator, "generator")


def nan_outputs(path: Path) -> None:
    generator = Generator()  # finite weights, but a variance below zero: sqrt gives NaN
    generator.net[1].running_var.fill_(-1.0)
    save_weights(path, generator, "generator")


@pytest.mark.parametrize(
    "make,fragment",
    [(nan_weights, "generator.pt holds non-finite weights (NaN or infinity in 'dense.0.weight')"),
     (nan_outputs, "the generator produced non-finite images")],
)  # fmt: skip
@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_non_finite_weights_or_images_are_one_line_exit_2(cli, tmp_path, make, fragment, command):
    weights = tmp_path / "generator.pt"
    make(weights)
    extra = ["--out", tmp_path / "s.png"] if command == "sample" else ["--num", "20", "--json"]
    code, out, err = cli("gan", command, "--checkpoint", weights, *extra)
    assert_one_line_error(code, err, fragment)
    assert out == "" and not (tmp_path / "s.png").exists()


def test_a_checkpoint_with_non_finite_weights_is_refused_on_resume(cli, tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(out=out, max_steps=1, **SMALL))
    path = out / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    state["discriminator"]["net.0.weight"][0] = float("inf")
    torch.save(state, path)
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--max-steps", "2")
    assert_one_line_error(code, err, "last.pt holds non-finite weights", "'net.0.weight'")


# 12: paths that are not weights files are named for what they are


@pytest.mark.parametrize(
    "path,fragment",
    [("{tmp}", "is a directory: give a file in it"),
     ("/dev/zero", "/dev/zero is not a regular file"),
     ("{tmp}/none.pt", "none.pt does not exist"),
     ("", "an empty path")],
)  # fmt: skip
@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_a_checkpoint_path_that_is_no_file_is_named(cli, tmp_path, path, fragment, command):
    extra = ["--out", tmp_path / "s.png"] if command == "sample" else []
    code, _, err = cli("gan", command, "--checkpoint", path.format(tmp=tmp_path), *extra)
    assert_one_line_error(code, err, fragment)


# 13: train-classifier never overwrites; path flags refuse ''


@pytest.mark.parametrize("existing", ["clf.pt", "clf.json", "clf.sha256"])
def test_train_classifier_never_overwrites(cli, tmp_path, existing):
    (tmp_path / existing).write_text("shipped weights, say")
    code, out, err = cli("gan", "train-classifier", "--out", tmp_path / "clf.pt", "--epochs", "1",
                         "--train-images", "64")  # fmt: skip
    assert_one_line_error(code, err, "--out", "exists and is never overwritten")
    assert out == "" and tree(tmp_path) == {existing: b"shipped weights, say"}


@pytest.mark.parametrize(
    "args,fragment",
    [(["--out", ""], "an empty path"),
     (["--out", "{tmp}/c.pt", "--weight-decay", "-1"], "--weight-decay must lie in [0, 1]"),
     (["--out", "{tmp}/c.pt", "--lr", "5"], "--lr must lie in (0, 1]"),
     (["--out", "{tmp}/no/c.pt", "--epochs", "1"], "does not exist"),
     (["--epochs", "1"], "--out is required")],
)  # fmt: skip
def test_train_classifier_arguments_are_checked_before_training(cli, tmp_path, args, fragment):
    code, out, err = cli("gan", "train-classifier", *[a.format(tmp=tmp_path) for a in args])
    assert_one_line_error(code, err, fragment)
    assert out == "" and not list(tmp_path.iterdir())


def test_the_largest_seed_trains(tmp_path):
    result = train(TrainConfig(out=tmp_path / "run", seed=2**63 - 1, max_steps=1, **SMALL))
    assert result.steps == 1


def test_a_run_of_an_earlier_version_without_a_checkpoint_says_how_to_restart(cli, tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(out=out, max_steps=1, **SMALL))
    (out / "checkpoints" / "last.pt").unlink()  # as an earlier version left a run killed early
    code, _, err = cli("gan", "train", "--out", out, "--resume")
    assert_one_line_error(code, err, "stopped before its first checkpoint", "start it again")
