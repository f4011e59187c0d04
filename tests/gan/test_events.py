"""TensorBoard event files of a run, read back with tensorboard's own EventAccumulator: tags
and their order, steps, an image, the Custom Scalars layout, the config text, the hparams, and
resumed curves without repeats."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from gradgames.gan import TrainConfig, train
from gradgames.gan.events import EventLog

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.custom_scalar import layout_pb2  # noqa: E402
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2  # noqa: E402

# 4 steps per epoch of 32 images; log every 3 steps (and at each epoch end)
SMALL = dict(subset=128, batch_size=32, progress=False, log_every=3, ema_decay=0.9)


def events(folder) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    return accumulator.Reload()


def event_files(folder) -> list:
    return sorted(folder.glob("events.out.tfevents.*"))


def steps(accumulator: EventAccumulator, tag: str) -> list[int]:
    return [event.step for event in accumulator.Scalars(tag)]


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("events") / "run"
    result = train(TrainConfig(out=out, epochs=2, eval_epochs=(2,), eval_samples=64, **SMALL))
    return out, result


def test_a_run_writes_its_curves_grids_scores_and_hparams(evaluated_run):
    out, result = evaluated_run
    assert result.tensorboard_dir == out  # the run's folder names it in TensorBoard
    acc = events(out)
    for name in ("d_loss", "g_loss", "d_real", "d_fake", "images_per_s", "lr_generator",
                 "lr_discriminator"):  # fmt: skip
        tag = f"1_train/{name}"
        assert steps(acc, tag) == [3, 4, 6, 8], tag  # each interval, and each epoch's end
    assert [e.value for e in acc.Scalars("1_train/lr_generator")] == pytest.approx([1e-4] * 4)
    for tag in ("2_eval/fid", "2_eval_ema/fid", "2_eval_floor/fid", "2_eval_ema/coverage",
                "2_eval/kid", "2_eval_ema/precision", "2_eval_ema/recall"):  # fmt: skip
        assert steps(acc, tag) == [8], tag
    groups = [tag.split("/")[0] for tag in sorted(acc.Tags()["scalars"])]
    assert groups.index("2_eval") > max(i for i, g in enumerate(groups) if g == "1_train")
    entry = (out / "evaluations.json").read_text()
    assert f"{acc.Scalars('2_eval_ema/fid')[0].value:.4f}"[:6] in entry
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
    assert start.hparams["dense_bn"].WhichOneof("kind") == "bool_value"
    assert start.hparams["dense_bn"].bool_value is False  # the default
    assert start.hparams["sync_bn"].WhichOneof("kind") == "bool_value"
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/experiment"]
    ).experiment
    types = {info.name: info.type for info in experiment.hparam_infos}
    assert types["dense_bn"] == types["sync_bn"] == api_pb2.DATA_TYPE_BOOL
    assert types["lr"] == api_pb2.DATA_TYPE_FLOAT64
    metrics = {m.name.tag for m in experiment.metric_infos}
    assert {"3_final/fid", "3_final/fid_ema", "3_final/d_loss", "3_final/coverage_ema"} <= metrics
    assert steps(acc, "3_final/fid_ema") == [8]
    assert len(event_files(out)) == 1  # one event file: no sub-run for hparams
    assert not [p for p in out.iterdir() if p.is_dir() and event_files(p)]


def test_the_custom_scalars_overlay_the_losses_and_d_outputs_first(evaluated_run):
    out, _ = evaluated_run
    (event,) = events(out).Tensors("custom_scalars__config__")
    layout = layout_pb2.Layout.FromString(event.tensor_proto.string_val[0])
    charts = {c.title: list(c.multiline.tag) for cat in layout.category for c in cat.chart}
    assert layout.category[0].title == "training"
    assert charts["losses: D and G"] == ["1_train/d_loss", "1_train/g_loss"]
    assert charts["D(x) and D(G(z))"] == ["1_train/d_real", "1_train/d_fake"]
    assert charts["FID"] == ["2_eval/fid", "2_eval_ema/fid", "2_eval_floor/fid"]


def test_the_whole_config_is_logged_once_as_text(evaluated_run):
    out, _ = evaluated_run
    (text,) = events(out).Tensors("config/text_summary")
    block = text.tensor_proto.string_val[0].decode()
    assert block.startswith("```json\n") and block.endswith("\n```")
    assert json.loads(block[8:-4]) == json.loads((out / "config.json").read_text())["config"]


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
    acc = events(out)
    assert steps(acc, "1_train/d_loss") == [3, 4, 6, 8, 9, 12]
    assert [g.step for g in acc.Images("samples/generator")] == [4, 8, 12]
    assert len(event_files(out)) == 3  # one event file per session


def test_no_tensorboard_writes_no_events(tmp_path):
    result = train(TrainConfig(out=tmp_path / "run", max_steps=2, tensorboard=False,
                               eval_epochs=(), **{**SMALL, "ema_decay": 0.0}))  # fmt: skip
    assert result.tensorboard_dir is None
    assert event_files(tmp_path / "run") == []


def test_only_rank_0_opens_a_writer(tmp_path):
    assert EventLog.open(tmp_path, True, False, 0, False).writer is None
    assert event_files(tmp_path) == []
    log = EventLog.open(tmp_path, True, True, 0, False)
    assert log.writer is not None
    log.close()


def test_without_the_package_training_works_and_the_cli_says_so_once(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    code, stdout, err = cli("gan", "train", "--out", tmp_path / "run", "--subset", "64",
                            "--max-steps", "2", "--eval-epochs", "", "--no-progress")  # fmt: skip
    assert code == 0, err
    assert event_files(tmp_path / "run") == []
    lines = [line for line in (stdout + err).splitlines() if "tensorboard" in line.lower()]
    assert len(lines) == 1 and "not installed" in lines[0], lines
    assert "gradgames[tensorboard]" in lines[0]


def test_events_that_cannot_be_written_warn_once_and_training_goes_on(tmp_path, monkeypatch):
    """On resume, the event file cannot be created: one warning, the run finishes with its
    checkpoint."""
    import torch.utils.tensorboard

    out = tmp_path / "run"
    train(TrainConfig(out=out, epochs=1, **SMALL))

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(torch.utils.tensorboard, "SummaryWriter", refused)
    with pytest.warns(RuntimeWarning, match="events stop: .*run cannot be written") as w:
        result = train(TrainConfig(out=out, epochs=2, resume=True, **SMALL))
    assert len([x for x in w if "TensorBoard" in str(x.message)]) == 1
    assert result.epochs_completed == 2 and result.tensorboard_dir is None


def test_a_failing_write_mid_run_stops_the_events_not_the_run(tmp_path, monkeypatch):
    log = EventLog(tmp_path)

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
