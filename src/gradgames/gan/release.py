"""The record that ships a run's trained generators: each file's SHA-256 and a small evaluation.

``gradgames reproduce`` writes ``weights.json`` beside ``generator.pt`` and ``generator_ema.pt``
at the end of Part 3, so that the weights committed under docs/results can be checked by
anyone who downloads them: the hash says the bytes are the ones trained, and a small evaluation
(:data:`SMALL`: 500 samples of seed 0, seconds on a CPU) recomputed from the loaded file must
land within :data:`TOLERANCE` of the figure recorded when they were written. The hash checks
the file; the evaluation checks that this version of the code still loads it into the same
generator (the settings it carries, the layers' order, the sampling).

    {"format": "gradgames-weights-record", "version": 1,
     "small_evaluation": {"num_samples": 500, "seed": 0, "feature_space": "..."},
     "tolerance": {"fid": 0.02, ...},
     "files": {"generator.pt": {"sha256": "...", "bytes": 9123456,
                                "scores": {"fid": ..., "kid": ..., ...}},
               "generator_ema.pt": {...}}}

The tolerances cover the arithmetic of other CPUs and libraries (a different convolution
kernel moves each generated pixel by about 1e-6); they are far below what a generator whose
weights are not the recorded ones changes (tests/gan/test_release.py: one layer's weights
halved fails the check).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from gradgames.config import check_int, from_dict, shown
from gradgames.errors import ConfigError, UsageError
from gradgames.files import read_json, write_json
from gradgames.gan.checkpoint import load_generator
from gradgames.gan.metrics import RealReference, evaluate_generator
from gradgames.gan.results import SCORES

RECORD = "weights.json"
FORMAT = "gradgames-weights-record"
FILES = ("generator.pt", "generator_ema.pt")
SMALL = {"num_samples": 500, "seed": 0}
CHECKED = {s.name: s.tolerance for s in SCORES if s.tolerance is not None}


@dataclass(frozen=True)
class FileRecord:
    """One shipped file: its SHA-256, size and small-evaluation scores."""

    sha256: str
    bytes: int
    scores: dict[str, float]

    def __post_init__(self):
        if len(self.sha256) != 64 or set(self.sha256) - set("0123456789abcdef"):
            raise ConfigError("sha256", f"must be 64 hex digits; got {shown(self.sha256)}")
        check_int("bytes", self.bytes, 1, 2**40)
        if set(self.scores) != set(CHECKED):
            raise ConfigError("scores", f"must hold exactly {', '.join(CHECKED)}")


@dataclass(frozen=True)
class WeightsRecord:
    """weights.json (the module docstring shows it)."""

    format: Literal["gradgames-weights-record"]
    version: Literal[1]
    small_evaluation: dict[str, int]
    tolerance: dict[str, float]
    files: dict[str, FileRecord]

    def __post_init__(self):
        if not self.files or set(self.files) - set(FILES):
            raise ConfigError("files", f"must name some of {', '.join(FILES)}")


def sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def small_scores(
    path: Path, device: torch.device | str = "cpu", real: RealReference | None = None
) -> dict[str, float]:
    """:data:`SCORES` of the generator in ``path``: :data:`SMALL` samples, on ``device``."""
    generator = load_generator(path, device)
    evaluation = evaluate_generator(generator, device=device, real=real, **SMALL)
    return {name: round(float(getattr(evaluation.generated, name)), 6) for name in CHECKED}


def write_record(
    run_dir: Path, device: torch.device | str = "cpu", real: RealReference | None = None
) -> dict[str, Any]:
    """Writes ``run_dir/weights.json`` for the generator files present; returns the record."""
    files = {}
    for name in FILES:
        path = run_dir / name
        if path.exists():
            files[name] = {"sha256": sha256(path), "bytes": path.stat().st_size,
                           "scores": small_scores(path, device, real)}  # fmt: skip
    record = {"format": FORMAT, "version": 1, "small_evaluation": dict(SMALL),
              "tolerance": dict(CHECKED), "files": files}  # fmt: skip
    write_json(run_dir / RECORD, record)
    return record


def check_record(
    run_dir: Path, device: torch.device | str = "cpu", real: RealReference | None = None
) -> list[str]:
    """The disagreements between ``run_dir``'s weight files and their ``weights.json``: a hash
    that differs, or a small-evaluation score outside its tolerance (``[]``: all agree).

    Raises:
        UsageError: there is no record, it is not one (every value is checked, and it names
            only the shipped files), or a file it names is missing.
    """
    path = run_dir / RECORD
    record = from_dict(WeightsRecord, read_json(path), str(path))
    problems = []
    for name, entry in record.files.items():
        path = run_dir / name
        if not path.is_file():
            raise UsageError(f"{path} is missing: {RECORD} names it")
        digest = sha256(path)
        if digest != entry.sha256:
            problems.append(f"{name}: SHA-256 {digest} is not the recorded {entry.sha256}")
            continue
        for score, value in small_scores(path, device, real).items():
            expected = entry.scores[score]
            allowed = CHECKED[score] * (abs(expected) if score == "fid" else 1.0)
            if abs(value - expected) > allowed:
                problems.append(f"{name}: {score} {value:.6g} is not within {allowed:.3g} of the "
                                f"recorded {expected:.6g}")  # fmt: skip
    return problems
