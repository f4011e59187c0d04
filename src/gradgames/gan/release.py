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
from pathlib import Path
from typing import Any

import torch

from gradgames.errors import UsageError
from gradgames.files import read_json, write_json
from gradgames.gan.checkpoint import load_generator
from gradgames.gan.metrics import RealReference, evaluate_generator

RECORD = "weights.json"
FORMAT = "gradgames-weights-record"
FILES = ("generator.pt", "generator_ema.pt")
SMALL = {"num_samples": 500, "seed": 0}
SCORES = ("fid", "kid", "precision", "recall", "coverage", "class_tv_to_uniform")
TOLERANCE = {  # absolute; FID's is relative (a share of the recorded value)
    "fid": 0.02,
    "kid": 0.005,
    "precision": 0.01,
    "recall": 0.01,
    "coverage": 0.01,
    "class_tv_to_uniform": 0.01,
}


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
    return {name: round(float(getattr(evaluation, name)), 6) for name in SCORES}


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
              "tolerance": dict(TOLERANCE), "files": files}  # fmt: skip
    write_json(run_dir / RECORD, record)
    return record


def check_record(
    run_dir: Path, device: torch.device | str = "cpu", real: RealReference | None = None
) -> list[str]:
    """The disagreements between ``run_dir``'s weight files and their ``weights.json``: a hash
    that differs, or a small-evaluation score outside its tolerance (``[]``: all agree).

    Raises:
        UsageError: there is no record, it is not one, or a file it names is missing.
    """
    record = read_json(run_dir / RECORD)
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise UsageError(f"{run_dir / RECORD} is not a gradgames weights record")
    problems = []
    for name, entry in record["files"].items():
        path = run_dir / name
        if not path.is_file():
            raise UsageError(f"{path} is missing: {RECORD} names it")
        digest = sha256(path)
        if digest != entry["sha256"]:
            problems.append(f"{name}: SHA-256 {digest} is not the recorded {entry['sha256']}")
            continue
        for score, value in small_scores(path, device, real).items():
            expected = entry["scores"][score]
            allowed = TOLERANCE[score] * (abs(expected) if score == "fid" else 1.0)
            if abs(value - expected) > allowed:
                problems.append(f"{name}: {score} {value:.6g} is not within {allowed:.3g} of the "
                                f"recorded {expected:.6g}")  # fmt: skip
    return problems
