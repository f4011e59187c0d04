"""The trained generators that ship with gradgames, loaded as torchvision loads its weights.

    from gradgames.gan import pretrained, sample_images

    generator = pretrained("ema")  # the EMA generator of the full run, eval mode, CPU
    images = sample_images(generator, 64)  # (64, 1, 28, 28) in [-1, 1]

``"raw"`` is the trained generator itself, ``"ema"`` the exponential moving average of its
weights; both come from the full reproduction in docs/results (50 epochs on Fashion-MNIST's
60,000 training images; docs/model-card.md says how they were trained and how they score).

They ship inside the package, in ``gan/assets/`` beside the reference classifier, rather than
behind a URL fetched on first use: they then work after ``pip install`` with no checkout and no
network, and there is no address to keep alive (9 MB each, small beside torch). The
repository holds each file once: docs/results/part3-gan/generator*.pt are links to them. Their
SHA-256 is read from the one record that ships with them, ``gan/assets/weights.json``
(a copy of the run's record, :mod:`gradgames.gan.release`), and each file is hashed before it
is loaded: a changed or damaged file is refused, not sampled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

from gradgames.errors import UsageError
from gradgames.files import read_json
from gradgames.gan.checkpoint import load_generator
from gradgames.gan.classifier import ASSETS, sha256_of
from gradgames.gan.models import Generator

Weights = Literal["ema", "raw"]
FILES = {"ema": "generator_ema.pt", "raw": "generator.pt"}
REINSTALL = "reinstall gradgames (pip install --force-reinstall gradgames)"


def pretrained_path(weights: Weights = "ema") -> Path:
    """The shipped file of ``weights`` ("ema" or "raw"), after checking its SHA-256.

    Raises:
        UsageError: another name, or the file is missing or fails its SHA-256 check.
    """
    if weights not in FILES:
        raise UsageError(f"no pretrained weights {weights!r}: choose one of {', '.join(FILES)}")
    path, record = ASSETS / FILES[weights], ASSETS / "weights.json"
    if not path.is_file() or not record.is_file():
        raise UsageError(f"{path if record.is_file() else record} is missing; {REINSTALL}")
    try:
        expected = str(read_json(record)["files"][path.name]["sha256"])
    except (KeyError, TypeError):
        raise UsageError(f"{record} does not record {path.name}'s SHA-256; {REINSTALL}") from None
    found = sha256_of(path.read_bytes())
    if found != expected:
        raise UsageError(f"{path} fails its SHA-256 check (expected {expected[:16]}..., found "
                         f"{found[:16]}...): the file was changed or damaged; "
                         f"{REINSTALL}")  # fmt: skip
    return path


def pretrained(weights: Weights = "ema", device: torch.device | str = "cpu") -> Generator:
    """The shipped generator (``"ema"``: the EMA generator, ``"raw"``: the trained one) in
    eval mode on ``device``, its SHA-256 checked first (:func:`pretrained_path`)."""
    return load_generator(pretrained_path(weights), device)
