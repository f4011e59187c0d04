"""TensorBoard event files of a run (issue 15, item 2), read back with tensorboard's own
EventAccumulator: tags, steps, an image, the hparams, and resumed curves without repeats."""

from __future__ import annotations

import shutil
import sys

import pytest

from gradgames.gan import TrainConfig, train
from gradgames.gan.events import EventLog

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

# 4 steps per epoch of 32 images; log every 3 steps (and at each epoch end)
SMALL = dict(subset=128, batch_size=32, progress=False, log_every=3, ema_decay=0.9)


def events(folder) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    return accumulator.Reload()


def steps(accumulator: EventAccumulator, tag: str) -> list[int]:
    return [event.step for event in accumulator.Scalars(tag)]


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tb") / "run"
    result = train(TrainConfig(out=out, epochs=2, eval_epochs=(2,), eval_samples=64, **SMALL))
    return out, result


def test_a_run_writes_its_curves_grids_scores_and_hparams(evaluated_run):
    out, result = evaluated_run
    assert result.tensorboard_dir == out / "tb"
    acc = events(out / "tb")
    for tag in ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake",
                "train/images_per_s", "lr/generator", "lr/discriminator"):  # fmt: skip
        assert steps(acc, tag) == [3, 4, 6, 8], tag  # each interval, and each epoch's end
    assert [e.value for e in acc.Scalars("lr/generator")] == pytest.approx([1e-4] * 4)
    for tag in ("eval/fid", "eval_ema/fid", "eval_floor/fid", "eval_ema/coverage",
                "eval/kid", "eval_ema/precision", "eval_ema/recall"):  # fmt: skip
        assert steps(acc, tag) == [8], tag
    entry = (out / "evaluations.json").read_text()
    assert f"{acc.Scalars('eval_ema/fid')[0].value:.4f}"[:6] in entry
    grids = acc.Images("samples/generator")
    assert [g.step for g in grids] == [4, 8]  # every epoch's end
    assert (grids[0].width, grids[0].height) == (242, 242)
    assert grids[0].encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n"
    assert [g.step for g in acc.Images("samples/generator_ema")] == [4, 8]
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]
    ).session_start_info
    assert start.hparams["lr"].number_value == pytest.approx(1e-4)
    assert start.hparams["ema_decay"].number_value == pytest.approx(0.9)
    assert start.hparams["precision"].string_value == "fp32"
    assert start.hparams["train_images"].number_value == 128
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/experiment"]
    ).experiment
    metrics = {m.name.tag for m in experiment.metric_infos}
    assert {"final/fid", "final/fid_ema", "final/d_loss", "final/coverage_ema"} <= metrics
    assert steps(acc, "final/fid_ema") == [8]
    assert len(list((out / "tb").iterdir())) == 1  # one event file: no sub-run for hparams


def test_a_resumed_run_continues_the_curves_without_repeated_steps(tmp_path):
    """Session 2 logs up to step 8, but the run is resumed from session 1's checkpoint at step
    4 (as after a crash): TensorBoard shows each step once, the curves going on to step 12."""
    out = tmp_path / "run"
    train(TrainConfig(out=out, epochs=3, max_steps=4, eval_epochs=(), **SMALL))
    kept = tmp_path / "last-at-step-4.pt"
    shutil.copy(out / "checkpoints" / "last.pt", kept)
    again = dict(out=out, epochs=3, resume=True, progress=False, log_every=3)
    train(TrainConfig(max_steps=8, **again))
    shutil.copy(kept, out / "checkpoints" / "last.pt")  # crashed after step 8's events
    train(TrainConfig(**again))
    acc = events(out / "tb")
    assert steps(acc, "train/d_loss") == [3, 4, 6, 8, 9, 12]
    assert [g.step for g in acc.Images("samples/generator")] == [4, 8, 12]
    assert len(list((out / "tb").iterdir())) == 3  # one event file per session


def test_no_tensorboard_writes_no_events(tmp_path):
    result = train(TrainConfig(out=tmp_path / "run", max_steps=2, tensorboard=False,
                               eval_epochs=(), **{**SMALL, "ema_decay": 0.0}))  # fmt: skip
    assert result.tensorboard_dir is None
    assert not (tmp_path / "run" / "tb").exists()


def test_only_rank_0_opens_a_writer(tmp_path):
    assert EventLog.open(tmp_path, True, False, 0, False).writer is None
    assert not (tmp_path / "tb").exists()
    log = EventLog.open(tmp_path, True, True, 0, False)
    assert log.writer is not None
    log.close()


def test_without_the_package_training_works_and_the_cli_says_so_once(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    code, stdout, err = cli("gan", "train", "--out", tmp_path / "run", "--subset", "64",
                            "--max-steps", "2", "--eval-epochs", "", "--no-progress")  # fmt: skip
    assert code == 0, err
    assert not (tmp_path / "run" / "tb").exists()
    lines = [line for line in (stdout + err).splitlines() if "tensorboard" in line.lower()]
    assert len(lines) == 1 and "not installed" in lines[0], lines
    assert "gradgames[tensorboard]" in lines[0]


@pytest.mark.parametrize("spoil", ["file", "devnull"])
def test_events_that_cannot_be_written_warn_once_and_training_goes_on(tmp_path, spoil):
    """On resume, tb/ a file or a link to /dev/null: one warning, the run finishes with its
    checkpoint."""
    out = tmp_path / "run"
    train(TrainConfig(out=out, epochs=1, **SMALL))
    shutil.rmtree(out / "tb")
    if spoil == "file":
        (out / "tb").write_text("not a folder")
    else:
        (out / "tb").symlink_to("/dev/null")
    with pytest.warns(RuntimeWarning, match="TensorBoard events stop: .*tb cannot be written") as w:
        result = train(TrainConfig(out=out, epochs=2, resume=True, **SMALL))
    assert len([x for x in w if "TensorBoard" in str(x.message)]) == 1
    assert result.epochs_completed == 2 and result.tensorboard_dir is None


def test_a_failing_write_mid_run_stops_the_events_not_the_run(tmp_path, monkeypatch):
    log = EventLog(tmp_path / "tb")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(log.writer, "add_scalar", full_disk)
    with pytest.warns(RuntimeWarning, match=r"\(No space left on device\); training goes on"):
        log.interval(1, {"d_loss": 1.0}, 10.0, {"generator": 1e-4})
    assert log.writer is None
    log.interval(2, {"d_loss": 1.0}, 10.0, {})  # a no-op now: no second warning
    log.close()


def test_the_command_line_prints_a_library_warning_as_one_line():

    from gradgames.cli import _one_line_warning

    text = _one_line_warning(RuntimeWarning("events stop"), RuntimeWarning, "x.py", 1)
    assert text == "gradgames: warning: events stop\n"
