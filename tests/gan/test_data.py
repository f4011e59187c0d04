import gzip
import os
import re
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


def _idx_header(magic, dims) -> bytes:
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims)


def _zip_bomb(path, header: bytes, payload: bytes, extra_mib: int):
    """A gzip of ``header + payload`` followed by ``extra_mib`` MiB of zeros, written as that
    many gzip members that repeat one compressed MiB (about 1 KB each on disk)."""
    zeros = gzip.compress(bytes(2**20), compresslevel=9)
    with open(path, "wb") as handle:
        handle.write(gzip.compress(header + payload))
        for _ in range(extra_mib):
            handle.write(zeros)


def test_a_gzip_bomb_is_refused_after_the_bytes_its_header_declares(tmp_path, monkeypatch):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = _idx_header(data.IMAGES_MAGIC, (10, 28, 28))
    _zip_bomb(path, header, bytes(10 * 784), extra_mib=1024)  # 1 GiB of zeros in ~1 MB
    assert path.stat().st_size < 2**21
    pulled = []
    read = gzip.GzipFile.read

    def counted(self, size=-1):
        assert size is not None and size >= 0, "the whole stream was asked for"
        chunk = read(self, size)
        pulled.append(len(chunk))
        return chunk

    monkeypatch.setattr(gzip.GzipFile, "read", counted)
    with pytest.raises(DataError, match="is longer than its header says .*7,840 payload bytes"):
        read_idx(path, data.IMAGES_MAGIC, 3)
    assert sum(pulled) == len(header) + 10 * 784 + 1  # header, payload, one byte too many


def test_a_plain_file_longer_than_its_header_is_refused(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(_idx_header(data.LABELS_MAGIC, (5,)) + bytes(5))
    os.truncate(path, 2**28)  # sparse: 256 MiB of zeros that take no disk space
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte is longer than its header says"):
        read_idx(path, data.LABELS_MAGIC, 1)


@pytest.mark.parametrize(
    ("magic", "dims", "fragment"),
    [
        (data.IMAGES_MAGIC, (200_000, 28, 28), "declares 200,000 images, expected 1 to 100,000"),
        (data.IMAGES_MAGIC, (4_000_000_000, 28, 28), "declares 4,000,000,000 images"),
        (data.IMAGES_MAGIC, (0, 28, 28), "declares 0 images, expected 1 to"),
        (data.IMAGES_MAGIC, (10, 32, 32), "declares 32x32 images, expected 28x28"),
        (0x00000D03, (10, 28, 28), "data are float32 (type byte 0x0d), not unsigned bytes"),
        (0x00000903, (10, 28, 28), "data are signed bytes (type byte 0x09)"),
        (0x00000801, (10,), "it has 1 dimensions, not 3"),
        (0x1F8B0803, (10, 28, 28), "magic number starts with two zero bytes"),
    ],
)
def test_headers_out_of_bounds_are_refused_before_the_payload_is_read(
    tmp_path, magic, dims, fragment
):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(_idx_header(magic, dims) + bytes(100))
    with pytest.raises(DataError, match=re.escape(fragment)):
        read_idx(path, data.IMAGES_MAGIC, 3)


def test_a_gzip_file_stored_without_its_suffix_is_named_as_not_idx(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(gzip.compress(_idx_header(data.LABELS_MAGIC, (3,)) + bytes(3)))
    with pytest.raises(DataError, match=r"magic number 0x1f8b08.*two zero bytes"):
        read_idx(path, data.LABELS_MAGIC, 1)


def test_a_gzip_with_a_wrong_checksum_is_corrupt(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.compress(_idx_header(data.LABELS_MAGIC, (3,)) + bytes(3)))
    raw[-8] ^= 0xFF  # the CRC-32 of the trailer
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="is corrupt .*CRC check failed"):
        read_idx(path, data.LABELS_MAGIC, 1)


def _spoil_with_directory(path):
    path.mkdir()


def _spoil_with_dev_zero(path):
    path.symlink_to("/dev/zero")


def _spoil_with_dangling_link(path):
    path.symlink_to(path.parent / "nowhere")


@pytest.mark.parametrize(
    ("spoil", "fragment"),
    [
        (_spoil_with_directory, "is a directory, not an IDX file"),
        (_spoil_with_dev_zero, "is not a regular file (a device, pipe or socket)"),
        (_spoil_with_dangling_link, "cannot be read (No such file or directory)"),
    ],
)
def test_something_other_than_a_file_in_a_files_place_is_named(tmp_path, data_dir, spoil, fragment):
    directory = _copy_split(data_dir, tmp_path / "d", skip=("t10k-images-idx3-ubyte",))
    spoil(directory / "t10k-images-idx3-ubyte.gz")
    with pytest.raises(DataError, match=re.escape(f"t10k-images-idx3-ubyte.gz {fragment}")):
        load_fashion_mnist("test", directory)


@pytest.mark.parametrize("hostile", ["bomb", "directory", "dev-zero", "float32"])
def test_hostile_training_files_are_one_line_errors_exit_2(cli, tmp_path, data_dir, hostile):
    directory = _copy_split(data_dir, tmp_path / "d", skip=("train-images-idx3-ubyte",))
    path = directory / "train-images-idx3-ubyte.gz"
    if hostile == "bomb":
        _zip_bomb(path, _idx_header(data.IMAGES_MAGIC, (10, 28, 28)), bytes(7840), 64)
    elif hostile == "directory":
        _spoil_with_directory(path)
    elif hostile == "dev-zero":
        _spoil_with_dev_zero(path)
    else:
        _write_idx(path, 0x00000D03, (10, 28, 28), bytes(4 * 7840))
    code, _, err = cli("gan", "train", "--data-dir", directory, "--out", tmp_path / "run")
    assert_one_line_error(code, err, "train-images-idx3-ubyte.gz", "--download")
