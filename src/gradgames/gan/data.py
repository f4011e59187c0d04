"""Fashion-MNIST from its original IDX files, held as one uint8 tensor.

Where the files are looked for, in order:

1. an explicit ``data_dir`` (``--data-dir``);
2. the directory in the environment variable ``GRADGAMES_DATA``;
3. Debian's ``/usr/share/datasets/fashion-mnist/`` (``apt-get install dataset-fashion-mnist``);
4. the user cache ``$XDG_CACHE_HOME/gradgames`` (``~/.cache/gradgames``), where
   ``download=True`` (``--download``) lets torchvision fetch them from its mirrors.

An explicit directory that lacks a file is an error, not a reason to look elsewhere.
Every file is parsed and checked (a regular file; magic number, with its data type and number
of dimensions; dimensions within what Fashion-MNIST can be; payload length; matching counts;
labels 0-9); anything wrong is a one-line :class:`~gradgames.errors.DataError` naming the file
and the remedy. A file is read as a stream: the header first, then exactly the bytes it
declares (at most :data:`MAX_IMAGES` 28x28 images), so a gzip that inflates to gigabytes is
refused after one byte more than its header allows, not inflated. Images stay uint8 until a
batch is normalised on the training device.
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import stat
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from gradgames.errors import DataError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SIZES = {"train": 60_000, "test": 10_000}  # images of each split
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
IMAGE_SIZE = (28, 28)  # rows, columns of every image
MAX_IMAGES = 100_000  # per file: Fashion-MNIST's splits hold 60,000 and 10,000
# The IDX format's data-type byte (the magic number's third byte) and what it stands for.
IDX_TYPES = {
    0x08: "unsigned bytes", 0x09: "signed bytes", 0x0B: "int16", 0x0C: "int32",
    0x0D: "float32", 0x0E: "float64",
}  # fmt: skip
REMEDY = (
    "install Debian's dataset-fashion-mnist package, or let gradgames download it "
    "(download=True; --download on the command line)"
)


@dataclass(frozen=True)
class FashionMNIST:
    """One split of Fashion-MNIST.

    Attributes:
        images: ``(N, 1, 28, 28)`` uint8 pixels, 0 (background) to 255.
        labels: ``(N,)`` int64 class indices 0-9 (names in :data:`CLASSES`).
        source: the directory the files came from.
    """

    images: torch.Tensor
    labels: torch.Tensor
    source: Path

    def __len__(self) -> int:
        return self.images.shape[0]


def cache_dir() -> Path:
    """The user cache for downloaded data: ``$XDG_CACHE_HOME/gradgames``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gradgames"


def _file_in(directory: Path, stem: str) -> Path | None:
    """``stem.gz`` or ``stem`` in ``directory``, whatever it is (checked when read)."""
    for name in (stem + ".gz", stem):
        if os.path.lexists(directory / name):
            return directory / name
    return None


def _complete(directory: Path) -> bool:
    return all(_file_in(directory, stem) for pair in FILES.values() for stem in pair)


def find_data_dir(data_dir: Path | str | None = None, download: bool = False) -> Path:
    """The directory holding the four IDX files, looked for in the documented order.

    Raises:
        DataError: an explicit directory lacks a file, or the data is nowhere and
            ``download`` is False (or the download failed).
    """
    explicit = data_dir or os.environ.get("GRADGAMES_DATA")
    if explicit:
        directory = Path(explicit)
        origin = "data_dir (--data-dir)" if data_dir else "GRADGAMES_DATA"
        remedy = REMEDY if not download else (
            f"a download goes into {cache_dir()}, never into a named folder: drop {origin} "
            "to download, or name a folder that holds the four files")  # fmt: skip
        if not directory.is_dir():
            raise DataError(f"{origin} {directory} is not a directory: {remedy}")
        for pair in FILES.values():
            for stem in pair:
                if _file_in(directory, stem) is None:
                    raise DataError(f"{directory / (stem + '.gz')} is missing: {remedy}")
        return directory
    cached = cache_dir() / "FashionMNIST" / "raw"
    for directory in (DEBIAN_DIR, cached):
        if _complete(directory):
            return directory
    if not download:
        raise DataError(
            f"Fashion-MNIST not found in {DEBIAN_DIR} or {cached}: {REMEDY} "
            "(or give the folder of the four files: data_dir, --data-dir)"
        )
    return _download(cache_dir())


def _download(root: Path) -> Path:
    from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

    print(f"downloading Fashion-MNIST into {root} from torchvision's mirrors", flush=True)
    try:
        for train in (True, False):
            TorchvisionFashionMNIST(root=str(root), train=train, download=True)
    except (OSError, RuntimeError) as exc:
        raise DataError(
            f"download of Fashion-MNIST failed ({exc}); install Debian's "
            "dataset-fashion-mnist package, or copy the four IDX files into a folder and give "
            "it as data_dir (--data-dir)"
        ) from None
    return root / "FashionMNIST" / "raw"


def _stat_regular(path: Path) -> os.stat_result:
    """``path``'s status; a DataError unless it is a regular file (or a link to one)."""
    try:
        status = path.stat()
    except OSError as exc:
        raise DataError(f"{path} cannot be read ({exc.strerror}): {REMEDY}") from None
    if stat.S_ISDIR(status.st_mode):
        raise DataError(f"{path} is a directory, not an IDX file: {REMEDY}")
    if not stat.S_ISREG(status.st_mode):
        raise DataError(
            f"{path} is not a regular file (a device, pipe or socket), not an IDX file: {REMEDY}"
        )
    return status


def _parse_header(path: Path, header: bytes, magic: int, ndim: int) -> tuple[int, ...]:
    """The dimensions a header declares, checked against the expected kind of file."""
    kind = "image" if ndim == 3 else "label"
    if len(header) < 4 + 4 * ndim:
        raise DataError(f"{path} is truncated (only {len(header)} bytes): {REMEDY}")
    (found,) = struct.unpack(">I", header[:4])
    if found != magic:
        type_byte, dims_byte = (found >> 8) & 0xFF, found & 0xFF
        if found >> 16:
            why = "an IDX magic number starts with two zero bytes"
        elif type_byte != magic >> 8:
            name = IDX_TYPES.get(type_byte, "an unknown type")
            why = f"its data are {name} (type byte 0x{type_byte:02x}), not unsigned bytes"
        else:
            why = f"it has {dims_byte} dimensions, not {ndim}"
        raise DataError(
            f"{path} has magic number 0x{found:08x}, expected 0x{magic:08x} ({why}): "
            f"it is not a Fashion-MNIST {kind} file; {REMEDY}"
        )
    dims = struct.unpack(f">{ndim}I", header[4:])
    if not 1 <= dims[0] <= MAX_IMAGES:
        raise DataError(
            f"{path} declares {dims[0]:,} {kind}s, expected 1 to {MAX_IMAGES:,}: {REMEDY}"
        )
    if ndim == 3 and dims[1:] != IMAGE_SIZE:
        raise DataError(f"{path} declares {dims[1]}x{dims[2]} images, expected 28x28: {REMEDY}")
    return dims


def read_idx(path: Path, magic: int, ndim: int) -> torch.Tensor:
    """Parses one IDX file of unsigned bytes into a uint8 tensor of its stored shape.

    The header is a big-endian magic number (two zero bytes, the data-type byte ``0x08`` for
    unsigned bytes, the number of dimensions: ``0x00000803`` for 3-d images, ``0x00000801``
    for 1-d labels) followed by one big-endian 32-bit size per dimension. The file (gzip or
    plain) is read as a stream: the header, checked (at most :data:`MAX_IMAGES` items, 28x28
    images), then exactly the payload it declares, then one byte more, which must not exist.

    Raises:
        DataError: not a regular file, unreadable or corrupt gzip, wrong magic number, sizes
            out of bounds, or a payload shorter or longer than the header declares.
    """
    path = Path(path)
    _stat_regular(path)
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as handle:
            dims = _parse_header(path, handle.read(4 + 4 * ndim), magic, ndim)
            expected = math.prod(dims)
            payload = handle.read(expected)
            if len(payload) < expected:
                raise DataError(
                    f"{path} is truncated ({len(payload):,} payload bytes for dims {dims}, "
                    f"expected {expected:,}): {REMEDY}"
                )
            if handle.read(1):
                raise DataError(
                    f"{path} is longer than its header says (more than the {expected:,} "
                    f"payload bytes of dims {dims}): {REMEDY}"
                )
    except EOFError:
        raise DataError(f"{path} is truncated (the gzip stream ends early): {REMEDY}") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path} is corrupt (not a valid gzip file: {exc}): {REMEDY}") from None
    except OSError as exc:
        raise DataError(f"{path} cannot be read ({exc.strerror or exc}): {REMEDY}") from None
    return torch.frombuffer(bytearray(payload), dtype=torch.uint8).reshape(dims)


@functools.lru_cache(maxsize=4)
def _load(directory: Path, split: str, stamp: tuple) -> FashionMNIST:
    image_stem, label_stem = FILES[split]
    image_path, label_path = _file_in(directory, image_stem), _file_in(directory, label_stem)
    images = read_idx(image_path, IMAGES_MAGIC, 3)
    labels = read_idx(label_path, LABELS_MAGIC, 1)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{image_path} holds {images.shape[0]} images but {label_path} holds "
            f"{labels.shape[0]} labels: {REMEDY}"
        )
    if labels.numel() and int(labels.max()) > 9:
        raise DataError(f"{label_path} holds labels outside 0-9: {REMEDY}")
    return FashionMNIST(images.unsqueeze(1), labels.long(), directory)


def load_fashion_mnist(
    split: str = "train", data_dir: Path | str | None = None, download: bool = False
) -> FashionMNIST:
    """Loads the ``"train"`` (60,000 images) or ``"test"`` (10,000 images) split.

    Results are cached per process (keyed on the files' sizes and modification times), so
    repeated calls cost nothing; treat the returned tensors as read-only.
    """
    if split not in FILES:
        raise DataError(f"unknown split {split!r}: use 'train' or 'test'")
    directory = find_data_dir(data_dir, download)
    stamp = tuple(
        (status.st_size, status.st_mtime_ns)
        for status in (_stat_regular(_file_in(directory, stem)) for stem in FILES[split])
    )
    return _load(directory.resolve(), split, stamp)


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float32 in [-1, 1]: ``x / 127.5 - 1`` (run it on the training device)."""
    return images.float().div_(127.5).sub_(1.0)


def epoch_permutation(n: int, seed: int, epoch: int, device: torch.device | str = "cpu"):
    """The order of the ``n`` training images in ``epoch``: a function of (seed, epoch) only.

    Deriving it from the pair, not from a running generator, lets a resumed run and every
    process of a distributed run compute the same order without exchanging state. The pair is
    folded into torch's 64-bit seed (every seed below about 1.8e13 keeps the order it had).
    """
    generator = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**64)
    return torch.randperm(n, generator=generator).to(device)


def steps_per_epoch(n: int, batch_size: int, world_size: int = 1) -> int:
    """Optimiser steps per epoch: ``ceil(n / global_batch)``, the last batch possibly short.

    A final global batch too small to give every process one image is dropped.
    """
    global_batch = batch_size * world_size
    full, rest = divmod(n, global_batch)
    return full + (1 if rest >= world_size else 0)


def batch_indices(
    permutation: torch.Tensor, step: int, batch_size: int, rank: int = 0, world_size: int = 1
) -> torch.Tensor:
    """The indices process ``rank`` trains on at ``step`` (0-based within the epoch).

    The epoch's permutation is cut into global batches of ``batch_size * world_size``; each is
    split into ``world_size`` near-equal parts, so the ranks together see every image once.
    """
    global_batch = batch_size * world_size
    chunk = permutation[step * global_batch : (step + 1) * global_batch]
    return chunk.tensor_split(world_size)[rank]
