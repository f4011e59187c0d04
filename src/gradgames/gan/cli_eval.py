"""``gradgames gan evaluate`` and ``gradgames gan train-classifier``: parse, call, print.

``register_commands(commands)`` adds both to the ``gan`` part's sub-parsers (the object
:func:`gradgames.cli.subcommands` returns). The metrics module is imported only when
``evaluate`` runs: torchmetrics pulls in torchvision and scipy, seconds that other commands
should not pay.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gradgames.config import add_arguments, from_namespace, option
from gradgames.errors import UsageError
from gradgames.gan import classifier
from gradgames.runs import ensure_parent_writable, resolve_device


@dataclass
class EvaluateConfig:
    """What ``gradgames gan evaluate`` measures."""

    checkpoint: Path | None = option(
        None, "a run's generator.pt or checkpoints/last.pt (required)", metavar="PATH"
    )
    num: int = option(10_000, "generated images (2 to 60,000); the floor uses as many real ones")
    seed: int = option(0, "seed of the noise, the floor's training images and KID/IS subsets")
    batch_size: int = option(500, "images per forward pass")
    device: Literal["auto", "cpu", "cuda"] = option("auto", "where to run")
    data_dir: Path | None = option(None, "directory of the Fashion-MNIST IDX files")
    download: bool = option(False, "download Fashion-MNIST if it is not installed")


def register_commands(commands) -> None:
    """Adds ``evaluate`` and ``train-classifier`` to the gan part's sub-parsers."""
    p = commands.add_parser(
        "evaluate",
        help="score a generator in the reference classifier's feature space",
        description="FID, KID, Inception-Score analogue, class histogram and precision/recall "
        "of a generator against the Fashion-MNIST test set, each beside the real-data floor. "
        "Measured in gradgames' own classifier's feature space: not comparable with "
        "Inception-based scores.",
    )
    add_arguments(p, EvaluateConfig)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run_evaluate)

    p = commands.add_parser(
        "train-classifier",
        help="train the reference classifier (writes weights, .sha256 and .json)",
        description="Trains the Fashion-MNIST classifier whose features the evaluation uses. "
        "With the defaults on the CPU it reproduces the shipped weights.",
    )
    add_arguments(p, classifier.ClassifierConfig)
    p.set_defaults(func=run_train_classifier)


def run_evaluate(args: argparse.Namespace) -> int:
    from gradgames.gan.checkpoint import load_generator
    from gradgames.gan.metrics import evaluate_generator, real_reference, validate_request

    config = from_namespace(EvaluateConfig, args)
    validate_request(config.num, config.batch_size)
    if config.checkpoint is None:
        raise UsageError("--checkpoint PATH is required: a run's generator.pt or last.pt")
    if not config.checkpoint.is_file():
        raise UsageError(f"--checkpoint {config.checkpoint} does not exist")
    device = resolve_device(config.device)
    generator = load_generator(config.checkpoint, device)
    reference = real_reference(device, config.data_dir, config.download, config.batch_size)
    result = evaluate_generator(
        generator, num_samples=config.num, seed=config.seed, device=device,
        batch_size=config.batch_size, real=reference,
    )  # fmt: skip
    result = {"checkpoint": str(config.checkpoint), **result}
    if args.json:
        print(json.dumps(_finite(result), indent=2))
    else:
        print(format_table(result))
    return 0


def _finite(value):
    """NaN and infinities -> None, so the JSON is standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def format_table(r: dict) -> str:
    """The evaluation as a readable table: each score beside its real-data floor."""
    n = r["num_samples"]
    rows = [
        ("FID", r["fid"], r["fid_real_floor"], "lower is better"),
        ("KID", r["kid"], r["kid_real_floor"], "lower is better; unbiased, ~0 for real"),
        ("Inception-Score analogue", r["inception_score"], r["inception_score_real"], "1 to 10"),
        (f"precision (k={r['k']})", r["precision"], r["precision_real_floor"], "fidelity"),
        (f"recall (k={r['k']})", r["recall"], r["recall_real_floor"], "diversity"),
        ("density", r["density"], r["density_real_floor"], "~1 for real; outlier-robust"),
        ("coverage", r["coverage"], r["coverage_real_floor"], "outlier-robust diversity"),
        ("class TV to uniform", r["class_tv_to_uniform"], r["class_tv_real_floor"], "0 = even"),
    ]
    lines = [
        f"{r.get('checkpoint', 'generator')}: {n:,} generated vs {r['num_real']:,} real test "
        f"images (seed {r['seed']})",
        f"feature space: {r['feature_space']}",
        f"classifier test accuracy: {100 * r['classifier_test_accuracy']:.2f}%",
        "",
        f"{'score (classifier features)':<28} {'generated':>11} {'real floor':>11}  note",
    ]
    lines += [f"{name:<28} {g:>11.4f} {f:>11.4f}  {note}" for name, g, f, note in rows]
    lines.append("")
    lines.append("class histogram of generated images (fraction per predicted class):")
    for name, share in zip(r["class_names"], r["class_histogram"], strict=True):
        lines.append(f"  {name:<12} {share:6.3f} {'#' * round(50 * share)}")
    lines.append(f"(real floor: {n:,} training images vs the test set; {r['seconds']:.1f} s)")
    return "\n".join(lines)


def run_train_classifier(args: argparse.Namespace) -> int:
    config = from_namespace(classifier.ClassifierConfig, args)
    if config.out is None:
        raise UsageError("--out FILE is required: where to write the weights (.pt)")
    classifier.validate(config)
    out = ensure_parent_writable(config.out)
    start = time.perf_counter()
    model, test_accuracy = classifier.train_classifier(config, log=print)
    seconds = time.perf_counter() - start
    record = classifier.training_record(config, test_accuracy, seconds)
    digest = classifier.save_classifier(model, out, record)
    print(f"test accuracy {100 * test_accuracy:.2f}% after {seconds:.0f} s")
    print(f"wrote {out} (sha256 {digest})")
    print(f"wrote {out.with_suffix('.sha256')} and {out.with_suffix('.json')}")
    return 0
