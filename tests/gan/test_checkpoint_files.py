"""Damaged and hostile checkpoints and weights files: every one is refused in one line naming
the file and the entry, before torch uses any of it, and quickly (no bomb goes off)."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradgames.errors import UsageError
from gradgames.gan import TrainConfig, load_generator, train
from gradgames.gan.checkpoint import load_checkpoint, restore
from gradgames.gan.config import ModelConfig
from gradgames.gan.step import build_state
from tests.conftest import assert_one_line_error, run_gradgames

SMALL = dict(subset=64, batch_size=32, progress=False, eval_epochs=(), tensorboard=False,
             model=ModelConfig(noise_dim=8))  # fmt: skip


def laughs(depth: int = 64) -> list:
    """A list of 2**depth leaves in a few hundred bytes: each level holds the one below twice."""
    value: list = []
    for _ in range(depth):
        value = [value, value]
    return value


def deep(depth: int = 400) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A one-step run of a small model, its checkpoint and weights files."""
    out = tmp_path_factory.mktemp("files") / "run"
    train(TrainConfig(out=out, max_steps=1, **SMALL))
    return out


def raw(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def copied(value):
    """A copy of the dicts and lists of a record; its tensors are shared, never changed."""
    if isinstance(value, dict):
        return {k: copied(v) for k, v in value.items()}
    return [copied(v) for v in value] if isinstance(value, list) else value


def paths(record, prefix=()) -> list[tuple]:
    """Every entry of a record, as a path of keys and indices."""
    found = []
    items = record.items() if isinstance(record, dict) else enumerate(record)
    for key, value in items:
        found.append((*prefix, key))
        if isinstance(value, (dict, list)):
            found.extend(paths(value, (*prefix, key)))
    return found


def at(record, path):
    for key in path:
        record = record[key]
    return record


VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats(), st.text(max_size=8),
    st.sampled_from([2**70, 10**30, -1, 10**5000, "x" * 100_000]),
    st.sampled_from([laughs, deep, dict, lambda: torch.zeros(3), lambda: torch.zeros(3, 3,
                     dtype=torch.int64), lambda: torch.full((2,), float("nan"))]).map(
                         lambda make: make()),
)  # fmt: skip


def damage(record: dict, data) -> bytes:
    """The bytes of ``record`` with one generated fault: an entry replaced, dropped or added,
    or the file cut short."""
    record = copied(record)
    path = data.draw(st.sampled_from(paths(record)))
    parent, key = at(record, path[:-1]), path[-1]
    kind = data.draw(st.sampled_from(["replace", "drop", "add", "truncate"]))
    if kind == "drop" and isinstance(parent, dict):
        del parent[key]
    elif kind == "add" and isinstance(parent, dict):
        parent[data.draw(st.text(max_size=5))] = data.draw(VALUES)
    else:
        parent[key] = data.draw(VALUES)
    buffer = io.BytesIO()
    torch.save(record, buffer)
    written = buffer.getvalue()
    if kind == "truncate":
        written = written[: data.draw(st.integers(0, len(written) - 1))]
    return written


def refused_or_sound(load, path: Path) -> object | None:
    """``load(path)``, or None if it was refused in one line naming the file."""
    try:
        return load(path)
    except UsageError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 500 and path.name in message, message
        return None


CAMPAIGN = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])  # fmt: skip


@CAMPAIGN
@given(data=st.data())
def test_a_damaged_checkpoint_is_refused_in_one_line_or_resumes_soundly(run, tmp_path, data):
    path = tmp_path / "last.pt"
    path.write_bytes(damage(raw(run / "checkpoints" / "last.pt"), data))
    checkpoint = refused_or_sound(load_checkpoint, path)
    if checkpoint is not None:  # harmless damage: it restores and Adam steps
        config = TrainConfig(out=run, **SMALL)
        state = build_state(config, torch.device("cpu"))
        restore(state, checkpoint)
        for opt in (state.opt_g, state.opt_d):
            for group in opt.param_groups:
                for p in group["params"]:
                    p.grad = torch.ones_like(p)
            opt.step()


@CAMPAIGN
@given(data=st.data())
def test_a_damaged_weights_file_is_refused_in_one_line_or_draws(run, tmp_path, data):
    path = tmp_path / "generator.pt"
    path.write_bytes(damage(raw(run / "generator_ema.pt"), data))
    generator = refused_or_sound(load_generator, path)
    if generator is not None:
        generator(torch.zeros(2, generator.config.noise_dim))


def spoil(record: dict, path: str, value) -> None:
    keys = path.split("/")
    at(record, [int(k) if k.isdigit() else k for k in keys[:-1]])[keys[-1]] = value


@pytest.mark.parametrize(
    "path,value,fragment",
    [("opt_g/state/0/exp_avg", torch.zeros(7, 3), "'opt_g.state.0.exp_avg' entry"),
     ("rng/cpu", torch.zeros(100, dtype=torch.uint8), "'rng.cpu' entry"),
     ("rng/cpu", torch.zeros(5056, dtype=torch.int32), "'rng.cpu' entry"),
     ("opt_d/param_groups/0/lr", "0.001", "'opt_d.param_groups.0.lr' entry"),
     ("step", 2**70, "'step' entry is missing or malformed (an integer of 71 bits"),
     ("world_size", 10**30, "'world_size' entry"),
     ("generator_ema", None, "'generator_ema' entry is missing or malformed (None"),
     ("version", laughs(), "'version' entry is missing or malformed (a list, expected 1)"),
     ("config/model/leak", laughs(), "'config.model.leak' entry")],
)  # fmt: skip
def test_resume_names_the_damaged_entry_and_touches_nothing(cli, run, path, value, fragment):
    last = run / "checkpoints" / "last.pt"
    before = last.read_bytes()
    record = raw(last)
    spoil(record, path, value)
    torch.save(record, last)
    try:
        code, _, err = cli("gan", "train", "--out", run, "--resume", "--max-steps", "2")
        assert_one_line_error(code, err, "last.pt is damaged", fragment)
    finally:
        last.write_bytes(before)


def test_adam_moments_of_another_shape_are_refused_not_a_segfault(run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(run, out)
    record = raw(out / "checkpoints" / "last.pt")
    spoil(record, "opt_g/state/0/exp_avg", torch.zeros(3))
    torch.save(record, out / "checkpoints" / "last.pt")
    resumed = run_gradgames("gan", "train", "--out", out, "--resume", "--max-steps", "2")
    assert_one_line_error(resumed.returncode, resumed.stderr, "'opt_g.state.0.exp_avg' entry")


@pytest.mark.parametrize(
    "path,value,fragment",
    [("version", laughs(), "'version' entry is missing or malformed (a list, expected 1)"),
     ("config/noise_dim", laughs(), "'config.noise_dim' entry"),
     ("config/leak", laughs(), "'config.leak' entry"),
     ("network", ["generator"], "'network' entry is missing or malformed (a list"),
     ("state_dict/dense.0.weight", torch.zeros(5), "'state_dict.dense.0.weight' entry")],
)  # fmt: skip
def test_sample_names_the_damaged_entry_of_a_weights_file(cli, run, tmp_path, path, value,
                                                          fragment):  # fmt: skip
    record = raw(run / "generator.pt")
    spoil(record, path, value)
    torch.save(record, tmp_path / "g.pt")
    code, _, err = cli("gan", "sample", "--checkpoint", tmp_path / "g.pt", "--out",
                       tmp_path / "s.png")  # fmt: skip
    assert_one_line_error(code, err, "g.pt is damaged", fragment)
    assert not (tmp_path / "s.png").exists()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(cli, run, tmp_path):
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(run / "generator.pt") as real, zipfile.ZipFile(bomb, "w") as out:
        for entry in real.infolist():
            out.writestr(entry.filename, real.read(entry), zipfile.ZIP_DEFLATED)
        out.writestr("generator/data/99", bytes(256 * 2**20), zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 8 * 2**20  # 256 MiB of zeros in a few kilobytes, and the weights
    code, _, err = cli("gan", "sample", "--checkpoint", bomb, "--out", tmp_path / "s.png")
    assert_one_line_error(code, err, "bomb.pt was refused: its archive expands to",
                          "torch.save never compresses")  # fmt: skip


def test_a_file_over_1_gib_is_refused_unread(tmp_path):
    big = tmp_path / "big.pt"
    with big.open("wb") as handle:
        handle.truncate(2**30 + 1)  # sparse: nothing is written
    with pytest.raises(UsageError, match=r"big.pt is 1.0 GiB, more than any gradgames file"):
        load_generator(big)
    os.remove(big)
