import copy
import json
import signal
import time

import pytest
import torch
from PIL import Image

from gradgames.errors import DivergenceError
from gradgames.gan import TrainConfig, accel, train
from gradgames.gan import run as run_module
from gradgames.gan.artifacts import METRIC_COLUMNS, read_evaluations, read_metrics
from gradgames.gan.checkpoint import load_checkpoint, load_generator, save_weights
from gradgames.gan.models import Discriminator, Generator, ModelConfig
from gradgames.gan.step import build_state, train_step
from tests.conftest import assert_one_line_error, interrupt_training, run_gradgames
from tests.gan.reference import plain_step

# 4 steps per epoch, no evaluation
SMALL = dict(subset=256, batch_size=64, progress=False, log_every=2, eval_epochs=())


def small_config(out, **kw):
    return TrainConfig(out=out, **{**SMALL, **kw})


def test_two_epoch_run_leaves_every_artefact(cli, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = cli(
        "gan", "train", "--subset", "640", "--epochs", "2", "--snapshot-epochs", "1,2",
        "--out", out, "--no-progress", "--log-every", "3", "--eval-samples", "200",
    )  # fmt: skip
    assert code == 0, err
    assert "trained 20 steps" in stdout
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["epochs"] == 2 and record["config"]["batch_size"] == 64
    assert record["config"]["lr"] == 1e-4 and record["config"]["beta1"] == 0.5
    assert record["resolved"]["steps_per_epoch"] == 10
    assert record["environment"]["torch"] == torch.__version__
    assert record["environment"]["device"] == "cpu"
    rows = read_metrics(out / "metrics.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 21))
    assert [int(r["epoch"]) for r in rows] == [1] * 10 + [2] * 10
    assert set(rows[0]) == set(METRIC_COLUMNS)
    assert all(0 < float(r["d_real"]) < 1 and float(r["images_per_s"]) > 0 for r in rows)
    for name in ("epoch_001.png", "epoch_002.png", "final.png"):
        assert Image.open(out / "samples" / name).size == (242, 242)  # 8 x (28 + 2) + 2
    assert Image.open(out / "losses.png").size[0] > 400
    checkpoint = load_checkpoint(out / "checkpoints" / "last.pt")
    assert checkpoint["step"] == 20 and checkpoint["fixed_noise"].shape == (64, 100)
    assert {"generator", "discriminator", "opt_g", "opt_d", "rng", "config"} <= set(checkpoint)
    saved = torch.load(out / "generator.pt", weights_only=True)  # the README's three lines
    generator = Generator(ModelConfig(**saved["config"])).eval()
    generator.load_state_dict(saved["state_dict"])
    assert saved["format"] == "gradgames-gan-weights" and saved["network"] == "generator"
    assert saved["config"] == checkpoint["config"]["model"]
    d_saved = torch.load(out / "discriminator.pt", weights_only=True)
    assert d_saved["network"] == "discriminator"
    Discriminator(ModelConfig(**d_saved["config"])).load_state_dict(d_saved["state_dict"])
    g_weights = saved["state_dict"]
    assert torch.equal(g_weights["dense.0.weight"], checkpoint["generator"]["dense.0.weight"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 20 and summary["epochs_completed"] == 2
    evaluations = read_evaluations(out)
    assert [e.epoch for e in evaluations] == [1, 2]  # the snapshot epochs
    assert all(e.generated.fid > e.floor.fid > 0 for e in evaluations)
    assert evaluations[0].num_samples == 200
    assert Image.open(out / "fid.png").size[0] > 300


def test_training_moves_the_losses_and_is_seeded(tmp_path):
    a = train(small_config(tmp_path / "a", epochs=2))
    b = train(small_config(tmp_path / "b", epochs=2))
    c = train(small_config(tmp_path / "c", epochs=2, seed=1))
    weights = [load_generator(tmp_path / r / "generator.pt").state_dict() for r in "abc"]
    assert torch.equal(weights[0]["net.0.weight"], weights[1]["net.0.weight"])
    assert not torch.equal(weights[0]["net.0.weight"], weights[2]["net.0.weight"])
    assert a.final_d_loss_ema == b.final_d_loss_ema != c.final_d_loss_ema
    untrained = Generator()
    torch.manual_seed(0)
    assert not torch.equal(Generator().state_dict()["net.0.weight"], weights[0]["net.0.weight"])
    del untrained


def test_resume_gives_the_same_weights_as_one_go(tmp_path):
    train(small_config(tmp_path / "one", max_steps=7))
    first = train(small_config(tmp_path / "two", max_steps=3))  # stops mid-epoch
    resumed = train(small_config(tmp_path / "two", max_steps=7, resume=True, lr=0.5))
    assert resumed.steps == 7
    assert first.seconds_total == pytest.approx(first.seconds, abs=0.5)
    assert resumed.seconds_total > first.seconds_total + 0.5 * resumed.seconds > 0
    one = load_checkpoint(tmp_path / "one" / "checkpoints" / "last.pt")
    two = load_checkpoint(tmp_path / "two" / "checkpoints" / "last.pt")
    assert two["config"]["lr"] == 1e-4  # settings come from the run, not the new config
    for net in ("generator", "discriminator"):
        for key, value in one[net].items():
            assert torch.equal(value, two[net][key]), f"{net}.{key}"
    rows = read_metrics(tmp_path / "two" / "metrics.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 8))
    assert rows == read_metrics(tmp_path / "one" / "metrics.csv") or all(
        r1[k] == r2[k]
        for r1, r2 in zip(rows, read_metrics(tmp_path / "one" / "metrics.csv"), strict=True)
        for k in ("d_loss", "g_loss")
    )


def test_evaluation_during_training_reads_the_data_from_data_dir(tmp_path, monkeypatch, data_dir):
    from gradgames.gan import data, metrics

    only_here = tmp_path / "data"
    only_here.mkdir()
    for pair in data.FILES.values():
        for stem in pair:
            (only_here / f"{stem}.gz").symlink_to(data_dir / f"{stem}.gz")
    monkeypatch.delenv("GRADGAMES_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "nowhere")
    metrics._cached_reference.cache_clear()  # a reference cached by another test would hide it
    try:
        summary = train(small_config(tmp_path / "run", epochs=1, eval_epochs=(1,),
                                     eval_samples=64, data_dir=only_here))  # fmt: skip
    finally:
        metrics._cached_reference.cache_clear()
    assert summary.epochs_completed == 1
    assert json.loads((tmp_path / "run" / "evaluations.json").read_text())[0]["epoch"] == 1


def test_images_per_s_counts_training_time_only(tmp_path, monkeypatch, capsys):
    """An evaluation (here one that moves the clock on by 1000 s) is said before it runs and
    left out of the session's images/s and of the next logged interval's."""
    clock, skipped = time.perf_counter, [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: clock() + skipped[0])
    monkeypatch.setattr(run_module.Run, "evaluate",
                        lambda self, epoch: skipped.__setitem__(0, 1000.0))  # fmt: skip
    out = tmp_path / "run"
    result = train(small_config(out, epochs=2, eval_epochs=(1,), eval_samples=64))
    said = "epoch 1: evaluating 64 samples of the generator and of the EMA generator ...\n"
    assert capsys.readouterr().err == said
    assert result.seconds > 1000.0  # the wall time holds the evaluation
    # 8 steps of 64 images: with the evaluation's 1000 s counted it would be below 0.52
    assert result.images_per_s > 10 * 512 / result.seconds
    assert json.loads((out / "summary.json").read_text())["images_per_s"] == result.images_per_s
    after = read_metrics(out / "metrics.csv")[4]  # the first row of epoch 2
    assert int(after["epoch"]) == 2 and float(after["images_per_s"]) > 1.0  # not 128 / 1000
    train(small_config(tmp_path / "shown", epochs=1, eval_epochs=(1,), eval_samples=64,
                       progress=True, ema_decay=0.0))  # fmt: skip
    assert "epoch 1: evaluating 64 samples of the generator ..." in capsys.readouterr().err


def test_an_evaluation_that_fails_is_made_on_resume(tmp_path, monkeypatch):
    """The epoch's checkpoint is written before its evaluation; an evaluation interrupted (a
    second Ctrl-C) is made by --resume, with the same scores as an uninterrupted run's."""
    settings = dict(epochs=2, eval_epochs=(1, 2), eval_samples=64)
    train(small_config(tmp_path / "whole", **settings))
    evaluate = run_module.Run.evaluate

    def interrupted(self, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        evaluate(self, epoch)

    monkeypatch.setattr(run_module.Run, "evaluate", interrupted)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(small_config(out, **settings))
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 8  # epoch 2 is kept
    assert [e.epoch for e in read_evaluations(out)] == [1]
    monkeypatch.setattr(run_module.Run, "evaluate", evaluate)
    assert train(small_config(out, resume=True, **settings)).steps == 8
    whole, resumed = read_evaluations(tmp_path / "whole"), read_evaluations(out)
    assert [e.epoch for e in resumed] == [1, 2]
    for one, two in zip(whole, resumed, strict=True):
        assert {**one.to_dict(), "seconds": 0} == {**two.to_dict(), "seconds": 0}
    calls = []
    monkeypatch.setattr(run_module.Run, "evaluate", lambda self, epoch: calls.append(epoch))
    train(small_config(out, resume=True, **settings))  # nothing missing: nothing evaluated
    assert calls == []


def test_a_full_disk_at_an_epoch_end_keeps_the_epoch(tmp_path, monkeypatch):
    """No space for the TensorBoard events (epoch 1: they stop, training goes on) nor for
    epoch 2's sample grid: epoch 2's checkpoint, written first, is kept; a resume finishes."""
    import errno
    import tempfile

    from gradgames.errors import GradgamesError

    make, full = tempfile.mkstemp, OSError(errno.ENOSPC, "No space left on device")

    def mkstemp(*args, dir=None, **kwargs):
        if str(dir).endswith("samples"):
            raise full
        return make(*args, dir=dir, **kwargs)

    def no_space(*args, **kwargs):
        raise full

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr("torch.utils.tensorboard.SummaryWriter.add_image", no_space)
    out = tmp_path / "run"
    with pytest.warns(RuntimeWarning, match="No space left"), pytest.raises(
            GradgamesError, match="No space left on device"):  # fmt: skip
        train(small_config(out, epochs=2, snapshot_epochs=(2,), tensorboard=True))
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 8
    monkeypatch.undo()
    assert train(small_config(out, epochs=2, resume=True)).steps == 8
    assert (out / "samples" / "final.png").is_file()


def test_eval_samples_beyond_the_training_set_are_refused_before_training(cli, tmp_path):
    code, _, err = cli("gan", "train", "--eval-samples", "60001", "--out", tmp_path / "run")
    assert_one_line_error(code, err, "--eval-samples must be an integer from 2 to 60,000")
    assert not (tmp_path / "run").exists()


def test_resume_from_a_checkpoint_without_a_training_time_says_it_is_unknown(tmp_path):
    out = tmp_path / "run"
    train(small_config(out, max_steps=2))
    path = out / "checkpoints" / "last.pt"
    checkpoint = load_checkpoint(path)
    checkpoint["seconds"] = None  # a session whose training time was not recorded
    torch.save(checkpoint, path)
    resumed = train(small_config(out, max_steps=3, resume=True))
    assert resumed.steps == 3 and resumed.seconds > 0
    assert resumed.seconds_total is None
    assert load_checkpoint(path)["seconds"] is None


def test_resume_refuses_a_saved_setting_this_version_does_not_know(cli, tmp_path):
    out = tmp_path / "run"
    train(small_config(out, max_steps=2))
    record = json.loads((out / "config.json").read_text())
    record["config"]["precision"] = "auto"  # a choice an earlier version had
    (out / "config.json").write_text(json.dumps(record))
    code, _, err = cli("gan", "train", "--out", out, "--resume")
    assert_one_line_error(code, err, "precision must be one of fp32, bf16; got 'auto'")
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 2  # nothing lost


def test_resume_on_the_command_line_keeps_the_run_settings(cli, tmp_path):
    out = tmp_path / "run"
    train(small_config(out, epochs=2, max_steps=2))
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--lr", "0.5")
    assert_one_line_error(code, err, "--lr 0.5 differs from the run's 0.0001")
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--subset", "256")
    assert code == 0, err  # unchanged settings may be repeated; epochs stay the run's 2
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 8


def _pair(config, channels_last=False):
    state = build_state(config, torch.device("cpu"), channels_last=channels_last)
    generator2, discriminator2 = copy.deepcopy(state.generator), copy.deepcopy(state.discriminator)
    opts = [torch.optim.Adam(n.parameters(), lr=1e-4, betas=(0.5, 0.999))
            for n in (generator2, discriminator2)]  # fmt: skip
    return state, (generator2, discriminator2, *opts)


@pytest.mark.parametrize(
    "precision,channels_last,tol",
    [("fp32", False, 1e-5), ("fp32", True, 1e-5), ("bf16", False, 5e-2)],
)
def test_fast_step_matches_the_plain_step(tmp_path, precision, channels_last, tol):
    config = small_config(tmp_path, model=ModelConfig(dropout=0.0))
    state, (g2, d2, og2, od2) = _pair(config, channels_last)
    real = torch.rand(8, 1, 28, 28) * 2 - 1  # small: bf16 is emulated on CPUs without it
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for i in range(3 if precision == "fp32" else 1):
        torch.manual_seed(7)
        fast = train_step(state.generator, state.discriminator, state.opt_g, state.opt_d,
                          real.contiguous(memory_format=fmt),
                          accel.autocast(torch.device("cpu"), precision))  # fmt: skip
        torch.manual_seed(7)
        plain = plain_step(g2, d2, og2, od2, real)
        assert torch.allclose(fast, plain, atol=tol, rtol=tol), (fast, plain)
        if precision == "fp32" and i == 0:  # from equal weights, G's gradients agree too
            for p, q in zip(state.generator.parameters(), g2.parameters(), strict=True):
                scale = float(q.grad.abs().max())
                torch.testing.assert_close(p.grad, q.grad, rtol=1e-3, atol=1e-4 * scale)


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real_step = run_module.train_step
    calls = {"n": 0}

    def exploding(*args, **kw):
        calls["n"] += 1
        stats = real_step(*args, **kw)
        return stats * float("nan") if calls["n"] == 6 else stats

    monkeypatch.setattr(run_module, "train_step", exploding)
    with pytest.raises(DivergenceError, match="non-finite loss at step 6 .*last good checkpoint"):
        train(small_config(tmp_path / "run", epochs=3))
    kept = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert kept["step"] == 4  # the end of epoch 1
    assert not (tmp_path / "run" / "generator.pt").exists()


def test_non_finite_weights_at_a_stop_never_replace_the_last_good_checkpoint(
    tmp_path, monkeypatch
):
    real_step = run_module.train_step
    calls = {"n": 0}

    def poisoning(generator, *args, **kw):
        calls["n"] += 1
        stats = real_step(generator, *args, **kw)
        if calls["n"] == 6:  # the losses of this step are finite; the weights after it are not
            with torch.no_grad():
                next(generator.parameters()).fill_(float("nan"))
        return stats

    monkeypatch.setattr(run_module, "train_step", poisoning)
    with pytest.raises(DivergenceError, match="non-finite parameters at the end of training"):
        train(small_config(tmp_path / "run", epochs=3, max_steps=6))
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["step"] == 4


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--epochs", "2"], "already holds a run"),
        (["--epochs", "2", "--snapshot-epochs", "1,5", "--out", "NEW"], "--snapshot-epochs 5"),
        (["--lr", "-1", "--out", "NEW"], "--lr must lie in (0, 1]"),
        (["--lr", "nan", "--out", "NEW"], "--lr takes a finite number"),
        (["--batch-size", "0", "--out", "NEW"], "--batch-size must be"),
        (["--epochs", "0", "--out", "NEW"], "--epochs must be"),
        (["--resume", "--out", "NEW"], "holds no run"),
        (["--device", "cuda", "--out", "NEW"], "no CUDA"),
        (["--subset", "70000", "--out", "NEW"], "--subset must be an integer from 1 to 60,000"),
        (["--snapshot-epochs", "x", "--out", "NEW"], "comma-separated"),
        (["--epochs", "3", "--eval-epochs", "4", "--out", "NEW"], "--eval-epochs 4"),
        (["--eval-samples", "1", "--out", "NEW"], "--eval-samples must be"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(cli, tmp_path, args, fragment):
    if torch.cuda.is_available() and "cuda" in args:
        pytest.skip("this machine has CUDA")
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "config.json").write_text("{}")
    args = [str(tmp_path / "new") if a == "NEW" else a for a in args]
    if "--out" not in args:
        args += ["--out", str(existing)]
    code, _, err = cli("gan", "train", "--no-progress", *args)
    assert_one_line_error(code, err, fragment)
    assert (existing / "config.json").read_text() == "{}"


def test_sigint_writes_a_checkpoint_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    code, stdout, stderr = interrupt_training(out, signal.SIGINT, rows=2)
    assert code == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stdout
    step = load_checkpoint(out / "checkpoints" / "last.pt")["step"]
    assert 2 <= step < 30
    finished = run_gradgames("gan", "train", "--out", out, "--resume", "--no-progress")
    assert finished.returncode == 0, finished.stderr
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 30
    whole = tmp_path / "whole"  # the same run without the interruption, in a process alike
    one_go = run_gradgames("gan", "train", "--subset", "640", "--epochs", "3", "--out", whole,
                           "--no-progress", "--eval-epochs", "")  # fmt: skip
    assert one_go.returncode == 0, one_go.stderr
    resumed = load_generator(out / "generator.pt").state_dict()
    for key, value in load_generator(whole / "generator.pt").state_dict().items():
        assert torch.equal(value, resumed[key]), key


def test_sample_command_writes_a_grid(cli, tmp_path):
    weights = tmp_path / "generator.pt"
    save_weights(weights, Generator(), "generator")
    code, out, err = cli("gan", "sample", "--checkpoint", weights, "--num", "16", "--nrow", "4",
                         "--out", tmp_path / "grid.png")  # fmt: skip
    assert code == 0 and err == "", err
    assert Image.open(tmp_path / "grid.png").size == (4 * 30 + 2, 4 * 30 + 2)
    assert not load_generator(weights).training


def test_sample_refuses_bad_files(cli, tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    code, _, err = cli("gan", "sample", "--checkpoint", tmp_path / "junk.pt")
    assert_one_line_error(code, err, "junk.pt is truncated or not a torch checkpoint")
    torch.save({"dense.0.weight": torch.zeros(12544, 100), "x": torch.zeros(1)},
               tmp_path / "other.pt")  # fmt: skip
    code, _, err = cli("gan", "sample", "--checkpoint", tmp_path / "other.pt")
    assert_one_line_error(code, err, "other.pt is neither a gradgames weights file nor a training "
                          "checkpoint", "give a run's generator.pt")  # fmt: skip
    code, _, err = cli("gan", "sample", "--checkpoint", tmp_path / "missing.pt")
    assert_one_line_error(code, err, "missing.pt does not exist")
    for num in ("0", "10001"):
        code, _, err = cli("gan", "sample", "--checkpoint", tmp_path / "junk.pt", "--num", num)
        assert_one_line_error(code, err, "--num must be an integer from 1 to 10,000")
