"""``gradgames gan evaluate`` and ``gradgames gan train-classifier``: parse, call, print.

``register_commands(commands)`` adds both to the ``gan`` part's sub-parsers (the object
:func:`gradgames.cli.subcommands` returns). Like :mod:`gradgames.gan.cli`, this module imports
only core modules and the torch-free configs; the metrics (torchmetrics, torchvision, scipy)
are imported when ``evaluate`` runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gradgames.config import add_arguments, from_namespace
from gradgames.device import resolve_device
from gradgames.files import to_json
from gradgames.gan.config import ClassifierConfig, EvaluateConfig, WeightsConfig
from gradgames.gan.results import SCORES, Evaluation


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
    add_arguments(p, WeightsConfig)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run_evaluate)

    p = commands.add_parser(
        "train-classifier",
        help="train the reference classifier (writes weights, .sha256 and .json)",
        description="Trains the Fashion-MNIST classifier whose features the evaluation uses. "
        "With the defaults on the CPU it reproduces the shipped weights. Existing files are "
        "never overwritten.",
    )
    add_arguments(p, ClassifierConfig)
    p.set_defaults(func=run_train_classifier)


def run_evaluate(args: argparse.Namespace) -> int:
    from gradgames.gan.checkpoint import load_generator
    from gradgames.gan.metrics import check_request, evaluate_generator, real_reference

    config = from_namespace(EvaluateConfig, args)
    stated = from_namespace(WeightsConfig, args)
    check_request(config.num, config.batch_size, config.seed)
    device = resolve_device(config.device)
    generator = load_generator(config.checkpoint, device, stated=stated)
    reference = real_reference(device, config.data_dir, config.download, config.batch_size)
    evaluation = evaluate_generator(
        generator, num_samples=config.num, seed=config.seed, device=device,
        batch_size=config.batch_size, real=reference,
    )  # fmt: skip
    if args.json:
        print(to_json({"checkpoint": str(config.checkpoint), **evaluation.to_dict()}))
    else:
        print(format_table(evaluation, config.checkpoint))
    return 0


def format_table(r: Evaluation, checkpoint: Path | str = "generator") -> str:
    """The evaluation as a readable table: each score beside its real-data floor."""
    n = r.num_samples
    lines = [
        f"{checkpoint}: {n:,} generated vs {r.num_real:,} real test images (seed {r.seed})",
        f"feature space: {r.feature_space}",
        f"classifier test accuracy: {100 * r.classifier_test_accuracy:.2f}%",
        "",
        f"{'score (classifier features)':<28} {'generated':>11} {'real floor':>11}  note",
    ]
    for s in SCORES:
        name = f"{s.label} (k={r.k})" if s.name in ("precision", "recall") else s.label
        g, f = getattr(r.generated, s.name), getattr(r.floor, s.name)
        lines.append(f"{name:<28} {g:>11.4f} {f:>11.4f}  {s.note}")
    lines.append("")
    lines.append("class histogram of generated images (fraction per predicted class):")
    for name, share in zip(r.class_names, r.generated.class_histogram, strict=True):
        lines.append(f"  {name:<12} {share:6.3f} {'#' * round(50 * share)}")
    lines.append(f"(real floor: {n:,} training images vs the test set; {r.seconds:.1f} s)")
    return "\n".join(lines)


def run_train_classifier(args: argparse.Namespace) -> int:
    from gradgames.gan.classifier import train_and_save

    trained = train_and_save(from_namespace(ClassifierConfig, args), log=print)
    print(f"test accuracy {100 * trained.test_accuracy:.2f}% after {trained.seconds:.0f} s")
    print(f"wrote {trained.path} (sha256 {trained.sha256})")
    print(f"wrote {trained.path.with_suffix('.sha256')} and {trained.path.with_suffix('.json')}")
    return 0
