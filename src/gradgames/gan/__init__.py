"""Part 3: the assignment's DCGAN on Fashion-MNIST, trained, sampled and measured.

    from pathlib import Path
    from gradgames.gan import TrainConfig, evaluate_generator, load_generator, train

    result = train(TrainConfig(out=Path("runs/tiny"), subset=256, epochs=1, eval_epochs=()))
    generator = load_generator(result.run_dir / "generator.pt")
    evaluation = evaluate_generator(generator, num_samples=500)
    print(result.final_g_loss_ema, evaluation.generated.fid, evaluation.floor.fid)

The layers, each importing only those below it:

* :mod:`.config` (settings of every entry point, torch-free) and :mod:`.results` (typed
  results, torch-free);
* the maths: :mod:`.models` (the two networks), :mod:`.step` (one training step),
  :mod:`.scores` (FID, KID, IS, precision/recall), :mod:`.data` (Fashion-MNIST),
  :mod:`.accel` (precision, CUDA graphs), :mod:`.ema` (the EMA generator);
* the run machinery: :mod:`.checkpoint` (the files of tensors and their schema),
  :mod:`.artifacts` (metrics.csv, grids, plots), :mod:`.events` (TensorBoard),
  :mod:`.distributed` (torchrun),
  :mod:`.resume`, :mod:`.run` (a run's state and start), :mod:`.loop` (the training loop),
  :mod:`.writeout` (the end of a run), :mod:`.sampling`, :mod:`.classifier` and
  :mod:`.metrics` (the evaluation), :mod:`.shipped` (the shipped generators);
* the command line: :mod:`.cli`, :mod:`.cli_eval`.

Importing this package imports neither torch nor matplotlib; each name below loads its module
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradgames.exports import lazy_exports

_SOURCES = {
    "ClassifierConfig": "config",
    "DistConfig": "config",
    "EvaluateConfig": "config",
    "ModelConfig": "config",
    "SampleConfig": "config",
    "TrainConfig": "config",
    "WeightsConfig": "config",
    "Evaluation": "results",
    "SCORES": "results",
    "Scores": "results",
    "TrainResult": "results",
    "Discriminator": "models",
    "Generator": "models",
    "count_parameters": "models",
    "EmaGenerator": "ema",
    "train_step": "step",
    "load_fashion_mnist": "data",
    "load_checkpoint": "checkpoint",
    "load_discriminator": "checkpoint",
    "load_generator": "checkpoint",
    "train": "loop",
    "pretrained": "shipped",
    "sample_images": "sampling",
    "write_samples": "sampling",
    "FashionClassifier": "classifier",
    "load_reference_classifier": "classifier",
    "evaluate_checkpoint": "metrics",
    "evaluate_generator": "metrics",
    "evaluate_images": "metrics",
    "real_reference": "metrics",
}

__all__ = sorted(_SOURCES)

if TYPE_CHECKING:
    from gradgames.gan.checkpoint import load_checkpoint, load_discriminator, load_generator
    from gradgames.gan.classifier import FashionClassifier, load_reference_classifier
    from gradgames.gan.config import (
        ClassifierConfig,
        DistConfig,
        EvaluateConfig,
        ModelConfig,
        SampleConfig,
        TrainConfig,
        WeightsConfig,
    )
    from gradgames.gan.data import load_fashion_mnist
    from gradgames.gan.ema import EmaGenerator
    from gradgames.gan.loop import train
    from gradgames.gan.metrics import (
        evaluate_checkpoint,
        evaluate_generator,
        evaluate_images,
        real_reference,
    )
    from gradgames.gan.models import Discriminator, Generator, count_parameters
    from gradgames.gan.results import SCORES, Evaluation, Scores, TrainResult
    from gradgames.gan.sampling import sample_images, write_samples
    from gradgames.gan.shipped import pretrained
    from gradgames.gan.step import train_step


__getattr__, __dir__ = lazy_exports(__name__, _SOURCES, __all__)
