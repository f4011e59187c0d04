import gzip
import shutil
import struct

import pytest
import torch

from gradgames.errors import DataError
from gradgames.gan import data
from gradgames.gan.data import (
    batch_indices,
    epoch_permutation,
    find_data_dir,
    load_fashion_mnist,
    read_idx,
    steps_per_epoch,
    to_unit_range,
)
from tests.conftest import assert_one_line_error


def test_real_splits_have_the_documented_counts(data_dir):
    train = load_fashion_mnist("train", data_dir)
    test = load_fashion_mnist("test", data_dir)
    assert train.images.shape == (60_000, 1, 28, 28)
    assert test.images.shape == (10_000, 1, 28, 28)
    assert train.images.dtype == torch.uint8
    assert torch.bincount(train.labels, minlength=10).tolist() == [6_000] * 10
    assert torch.bincount(test.labels, minlength=10).tolist() == [1_000] * 10
    assert int(train.images.min()) == 0 and int(train.images.max()) == 255


def test_unit_range_maps_pixels_to_minus_one_one():
    pixels = torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8)
    values = to_unit_range(pixels)
    assert values.dtype == torch.float32
    assert values[0] == -1.0 and values[-1] == 1.0
    assert torch.all(values[1:] > values[:-1])


def _copy_split(src, dst, skip=()):
    dst.mkdir(exist_ok=True)
    for pair in data.FILES.values():
        for stem in pair:
            if stem not in skip:
                (dst / f"{stem}.gz").symlink_to(src / f"{stem}.gz")
    return dst


def _write_idx(path, magic, dims, payload: bytes):
    header = struct.pack(">i", magic) + struct.pack(f">{len(dims)}i", *dims)
    with gzip.open(path, "wb") as handle:
        handle.write(header + payload)


def test_missing_file_is_named(tmp_path, data_dir):
    directory = _copy_split(data_dir, tmp_path / "d", skip=("t10k-labels-idx1-ubyte",))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz is missing.*--download"):
        find_data_dir(directory)


def test_truncated_gzip_is_reported(tmp_path, data_dir):
    directory = _copy_split(data_dir, tmp_path / "d", skip=("t10k-labels-idx1-ubyte",))
    raw = (data_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz is truncated"):
        load_fashion_mnist("test", directory)


def test_corrupt_gzip_is_reported(tmp_path, data_dir):
    directory = _copy_split(data_dir, tmp_path / "d", skip=("t10k-labels-idx1-ubyte",))
    raw = bytearray((data_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    raw[0] ^= 0xFF
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="corrupt"):
        load_fashion_mnist("test", directory)


def test_wrong_magic_and_short_payload(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    _write_idx(path, 0x00000804, (3,), bytes(3))
    with pytest.raises(DataError, match="magic number 0x00000804, expected 0x00000801"):
        read_idx(path, data.LABELS_MAGIC, 1)
    _write_idx(path, data.LABELS_MAGIC, (10,), bytes(7))
    with pytest.raises(DataError, match="truncated"):
        read_idx(path, data.LABELS_MAGIC, 1)


def test_counts_must_agree_and_labels_be_0_to_9(tmp_path, data_dir):
    directory = _copy_split(data_dir, tmp_path / "d", skip=("t10k-labels-idx1-ubyte",))
    labels = directory / "t10k-labels-idx1-ubyte.gz"
    _write_idx(labels, data.LABELS_MAGIC, (9_999,), bytes(9_999))
    with pytest.raises(DataError, match="10000 images but .* 9999 labels"):
        load_fashion_mnist("test", directory)
    _write_idx(labels, data.LABELS_MAGIC, (10_000,), bytes([10]) * 10_000)
    with pytest.raises(DataError, match="labels outside 0-9"):
        load_fashion_mnist("test", directory)


def test_bad_data_dir_is_one_line_exit_2(cli, tmp_path, data_dir):
    directory = _copy_split(data_dir, tmp_path / "d", skip=("train-images-idx3-ubyte",))
    code, _, err = cli("gan", "train", "--data-dir", directory, "--out", tmp_path / "run")
    assert_one_line_error(code, err, "train-images-idx3-ubyte.gz is missing", "--download")


def test_lookup_order(tmp_path, monkeypatch, data_dir):
    env_dir = _copy_split(data_dir, tmp_path / "env")
    explicit = _copy_split(data_dir, tmp_path / "explicit")
    monkeypatch.setenv("GRADGAMES_DATA", str(env_dir))
    assert find_data_dir() == env_dir
    assert find_data_dir(explicit) == explicit
    monkeypatch.delenv("GRADGAMES_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "nowhere")
    with pytest.raises(DataError, match="apt-get|dataset-fashion-mnist"):
        find_data_dir()
    cached = tmp_path / "cache" / "gradgames" / "FashionMNIST" / "raw"
    shutil.copytree(tmp_path / "env", cached, symlinks=True)
    assert find_data_dir() == cached


def test_epoch_order_and_batches():
    assert steps_per_epoch(60_000, 64) == 938
    order = epoch_permutation(60_000, seed=0, epoch=0)
    assert len(batch_indices(order, 937, 64)) == 32
    assert torch.equal(order, epoch_permutation(60_000, seed=0, epoch=0))
    assert not torch.equal(order, epoch_permutation(60_000, seed=0, epoch=1))
    seen = torch.cat([batch_indices(order, s, 64) for s in range(938)])
    assert torch.equal(seen.sort().values, torch.arange(60_000))


def test_ranks_split_each_epoch_without_overlap():
    n, batch, world = 1_000, 32, 3
    order = epoch_permutation(n, seed=5, epoch=2)
    steps = steps_per_epoch(n, batch, world)
    parts = [
        torch.cat([batch_indices(order, s, batch, rank, world) for s in range(steps)])
        for rank in range(world)
    ]
    union = torch.cat(parts)
    assert len(union) == len(set(union.tolist())) == n
