"""What the GAN's entry points return: typed, frozen records with the JSON they write, and
the one table of the scores every writer loops over.

A torch-free leaf, like :mod:`gradgames.gan.config`: :func:`gradgames.gan.train` returns a
:class:`TrainResult` (summary.json), :func:`gradgames.gan.evaluate_generator` an
:class:`Evaluation` (evaluation.json, an entry of evaluations.json, ``gan evaluate --json``)
that holds the generated images' :class:`Scores`, the real-data floor's and the EMA
generator's. Callers read attributes; ``to_dict()`` gives the JSON and ``from_dict()`` reads it
back through :func:`gradgames.config.from_dict`, which checks every value against its field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gradgames.config import check_int, check_range, from_dict, to_dict


@dataclass(frozen=True)
class Score:
    """One row of the score table: how a score is named, printed and compared.

    Attributes:
        name: the key in the JSON, the TensorBoard tag and the attribute of :class:`Scores`.
        label: the name a reader sees.
        digits: decimals printed.
        better: which direction is better ("lower", "higher"; "real": closest to the
            real-data floor).
        note: a few words on reading it.
        tolerance: how far a recomputation of the shipped weights' small evaluation
            (weights.json) may stray (relative for FID, absolute for the others); None: the
            score is not rechecked.
    """

    name: str
    label: str
    digits: int
    better: Literal["lower", "higher", "real"]
    note: str
    tolerance: float | None = None


SCORES = (
    Score("fid", "FID", 3, "lower", "lower is better", 0.02),
    Score("kid", "KID", 4, "lower", "lower is better; unbiased, ~0 for real", 0.005),
    Score("inception_score", "Inception-Score analogue", 3, "real", "1 to 10"),
    Score("precision", "precision", 3, "higher", "fidelity", 0.01),
    Score("recall", "recall", 3, "higher", "diversity", 0.01),
    Score("density", "density", 3, "real", "~1 for real; outlier-robust"),
    Score("coverage", "coverage", 3, "higher", "outlier-robust diversity", 0.01),
    Score("class_tv_to_uniform", "class TV distance to uniform", 3, "lower", "0 = even", 0.01),
)


@dataclass(frozen=True)
class Scores:
    """Every score of one image set against the test set, in the reference classifier's
    feature space (:mod:`gradgames.gan.metrics` defines each; :data:`SCORES` lists them)."""

    fid: float
    kid: float
    kid_std: float
    inception_score: float
    inception_score_std: float
    precision: float
    recall: float
    density: float
    coverage: float
    class_tv_to_uniform: float
    class_histogram: tuple[float, ...]

    def __post_init__(self):
        for name in ("fid", "kid_std", "inception_score_std", "density"):
            check_range(name, getattr(self, name), 0.0, 1e12)
        for name in ("precision", "recall", "coverage", "class_tv_to_uniform"):
            check_range(name, getattr(self, name), 0.0, 1.0)
        check_range("inception_score", self.inception_score, 1.0, 1e12)
        check_range("kid", self.kid, -1e12, 1e12)
        for value in self.class_histogram:
            check_range("class_histogram", value, 0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


@dataclass(frozen=True)
class TrainResult:
    """How a training session ended (summary.json).

    Attributes:
        steps: optimiser steps of the run so far (all sessions).
        epochs_completed: whole epochs among them.
        steps_this_session: steps this session trained.
        global_batch: images per optimiser step over all processes.
        seconds: training time of this session.
        seconds_total: training time of every session to the last checkpoint (None: an
            earlier session did not record it).
        images_per_s: images this session trained per second of training (its evaluations'
            time left out; None: no time elapsed).
        stopped_by: "SIGINT" or "SIGTERM" when a signal ended the session early, else None.
        run_dir: the run directory.
        final_d_loss_ema, final_g_loss_ema: the losses' exponential moving average (factor
            0.8) at the last logged step (None: nothing logged).
        ema_decay: the decay of the EMA generator (generator_ema.pt); None: the run keeps
            none.
        ema_updates: the training steps the EMA generator has averaged (None: no EMA, or
            an earlier version's summary).
        tensorboard_dir: the folder of the TensorBoard event files this session wrote (None:
            turned off, the ``tensorboard`` package is not installed, or not rank 0).
    """

    steps: int
    epochs_completed: int
    steps_this_session: int
    global_batch: int
    seconds: float
    seconds_total: float | None
    images_per_s: float | None
    stopped_by: Literal["SIGINT", "SIGTERM"] | None
    run_dir: Path
    final_d_loss_ema: float | None = None
    final_g_loss_ema: float | None = None
    ema_decay: float | None = None
    ema_updates: int | None = None
    tensorboard_dir: Path | None = None

    def __post_init__(self):
        for name in ("steps", "epochs_completed", "steps_this_session"):
            check_int(name, getattr(self, name), 0)
        check_int("global_batch", self.global_batch, 1)
        for name in ("seconds", "seconds_total", "images_per_s"):
            if getattr(self, name) is not None:
                check_range(name, getattr(self, name), 0.0, 1e12)
        check_int("ema_updates", self.ema_updates, 0, optional=True)
        if self.ema_decay is not None:
            check_range("ema_decay", self.ema_decay, 0.0, 1.0, low_open=True, high_open=True)

    def to_dict(self) -> dict[str, Any]:
        """summary.json (the paths as strings)."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "summary.json") -> TrainResult:
        """Reads back :meth:`to_dict`, every value checked."""
        return from_dict(cls, data, where)


@dataclass(frozen=True)
class Evaluation:
    """Sample-quality scores of a generated set beside the real-data floor.

    ``generated`` holds the scores of the generated images; ``floor`` the same measures of as
    many real training images against the test set; ``ema`` those of the EMA generator
    (generator_ema.pt) at the same moment, on the same noise (None: not scored); ``averages``
    those of every EMA of a run that compares decays (``--ema-compare``), named by decay, with
    ``" recalibrated"`` where its batch-norm statistics were measured afresh. ``epoch`` and
    ``step`` say when in training the generator was scored (None outside training);
    ``seconds`` is the time the scoring took (both generators').
    """

    feature_space: str
    generated: Scores
    floor: Scores
    num_samples: int
    num_real: int
    seed: int
    k: int
    class_names: tuple[str, ...]
    classifier_test_accuracy: float
    seconds: float = 0.0
    epoch: int | None = None
    step: int | None = None
    ema: Scores | None = None
    averages: dict[str, Scores] = field(default_factory=dict)

    def __post_init__(self):
        check_int("num_samples", self.num_samples, 2)
        check_int("num_real", self.num_real, 1)
        check_int("seed", self.seed, 0)
        check_int("k", self.k, 1)
        check_range("classifier_test_accuracy", self.classifier_test_accuracy, 0.0, 1.0)
        check_range("seconds", self.seconds, 0.0, 1e9)
        check_int("epoch", self.epoch, 1, optional=True)
        check_int("step", self.step, 0, optional=True)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``gan evaluate --json`` and evaluation.json (epoch and step only when
        scored during training, ``ema`` and ``averages`` only when scored)."""
        data = to_dict(self)
        return {k: v for k, v in data.items()
                if (v is not None and v != {}) or k not in ("epoch", "step", "ema", "averages")}

    @classmethod
    def from_dict(cls, data: Any, where: str = "the evaluation") -> Evaluation:
        """Reads back :meth:`to_dict`, every value checked."""
        return from_dict(cls, data, where)
