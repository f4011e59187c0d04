"""``gradgames gan train --config FILE``: a run started from an earlier run's config.json, the
flags given on the command line overriding its settings; a bad file is one line, exit 2."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from gradgames.cli import build_parser
from gradgames.config import to_dict
from gradgames.gan import ModelConfig, TrainConfig
from gradgames.gan.cli import train_config
from tests.conftest import assert_one_line_error

EARLIER = TrainConfig(lr=3e-4, seed=7, subset=64, epochs=3, eval_epochs=(), progress=False,
                      model=ModelConfig(dropout=0.1, dense_bn=True))  # fmt: skip


def config_file(tmp_path, record) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(record))
    return str(path)


@pytest.mark.parametrize("shape", ["run", "bare"])
def test_the_file_gives_the_settings_and_the_flags_override_them(tmp_path, shape):
    settings = to_dict(EARLIER)
    path = config_file(tmp_path, {"config": settings, "ema": False} if shape == "run" else settings)
    argv = ["gan", "train", "--config", path, "--seed", "3", "--dropout", "0.2"]
    config = train_config(build_parser().parse_args(argv))
    model = replace(EARLIER.model, dropout=0.2)
    assert config == replace(EARLIER, seed=3, model=model)


def test_a_run_started_from_a_config_file_writes_the_merged_settings(cli, tmp_path):
    path = config_file(tmp_path, {"config": to_dict(EARLIER)})
    out = tmp_path / "new"
    code, _, err = cli("gan", "train", "--config", path, "--out", out, "--max-steps", "1",
                       "--no-tensorboard")  # fmt: skip
    assert code == 0, err
    saved = json.loads((out / "config.json").read_text())["config"]
    assert saved == to_dict(replace(EARLIER, out=out, max_steps=1, tensorboard=False))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "unreadable"), ("{not json", "not strict JSON"), ('{"colour": 1}', "unknown key"),
     ('{"config": {"lr": 5.0}}', "lr must lie in (0, 1]"), ("[1, 2]", "must be a JSON object")],
)  # fmt: skip
def test_a_bad_file_is_one_line_and_exit_2(cli, tmp_path, content, fragment):
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    code, _, err = cli("gan", "train", "--config", path, "--out", tmp_path / "run")
    assert_one_line_error(code, err, "config.json", fragment)
    assert not (tmp_path / "run").exists()
