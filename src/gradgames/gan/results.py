"""What the GAN's entry points return: typed, frozen records with the JSON they write.

A torch-free leaf, like :mod:`gradgames.gan.config`: :func:`gradgames.gan.train` returns a
:class:`TrainResult` (summary.json), :func:`gradgames.gan.evaluate_generator` an
:class:`Evaluation` (evaluation.json, an entry of evaluations.json, ``gan evaluate --json``).
Callers read attributes; ``to_dict()`` gives the JSON, ``from_dict()`` reads it back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradgames.errors import UsageError


def _from_dict(cls: type, data: Any, what: str):
    """``cls(**data)`` for a dict with every required key; extra keys are ignored."""
    if not isinstance(data, dict):
        raise UsageError(f"{what} is not a JSON object")
    names = {f.name for f in dataclasses.fields(cls)}
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    missing = sorted(required - set(data))
    if missing:
        raise UsageError(f"{what} lacks {', '.join(missing)} (written by another version?)")
    return cls(**{k: v for k, v in data.items() if k in names})


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
        images_per_s: images this session trained per second (None: no time elapsed).
        stopped_by: "SIGINT" or "SIGTERM" when a signal ended the session early, else None.
        run_dir: the run directory.
        final_d_loss_ema, final_g_loss_ema: the losses' exponential moving average (factor
            0.8) at the last logged step (None: nothing logged).
        ema_decay: the decay of the EMA generator (generator_ema.pt); None: the run keeps
            none.
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
    stopped_by: str | None
    run_dir: Path
    final_d_loss_ema: float | None = None
    final_g_loss_ema: float | None = None
    ema_decay: float | None = None
    tensorboard_dir: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """summary.json (the paths as strings)."""
        tb = None if self.tensorboard_dir is None else str(self.tensorboard_dir)
        return {**dataclasses.asdict(self), "run_dir": str(self.run_dir), "tensorboard_dir": tb}

    @classmethod
    def from_dict(cls, data: Any) -> TrainResult:
        """Reads back :meth:`to_dict` (a summary.json of this or an earlier version)."""
        result = _from_dict(cls, data, "summary.json")
        tb = result.tensorboard_dir
        return dataclasses.replace(
            result, run_dir=Path(result.run_dir), tensorboard_dir=None if tb is None else Path(tb)
        )


@dataclass(frozen=True)
class Evaluation:
    """Sample-quality scores of a generated set, each beside its real-data floor.

    The scores are measured in the reference classifier's feature space
    (:mod:`gradgames.gan.metrics` defines each); ``*_real_floor`` (and
    ``inception_score_real``) are the same measures of as many real training images against
    the test set. ``epoch`` and ``step`` say when in training the generator was scored
    (None outside training). ``ema`` holds the scores of the EMA generator
    (generator_ema.pt) at the same moment, on the same noise, beside those of the trained
    generator (None: not scored).
    """

    feature_space: str
    fid: float
    kid: float
    kid_std: float
    inception_score: float
    inception_score_std: float
    precision: float
    recall: float
    density: float
    coverage: float
    class_histogram: tuple[float, ...]
    class_tv_to_uniform: float
    fid_real_floor: float
    kid_real_floor: float
    precision_real_floor: float
    recall_real_floor: float
    density_real_floor: float
    coverage_real_floor: float
    inception_score_real: float
    class_tv_real_floor: float
    num_samples: int
    num_real: int
    seed: int
    k: int
    class_names: tuple[str, ...]
    classifier_test_accuracy: float
    seconds: float = 0.0
    epoch: int | None = None
    step: int | None = None
    ema: Evaluation | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``gan evaluate --json`` and evaluation.json (tuples as lists; epoch and
        step first, and only when scored during training; ``ema`` last, nested, and only when
        scored)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        when = {k: data.pop(k) for k in ("epoch", "step")}
        ema = data.pop("ema")
        data["class_histogram"] = list(self.class_histogram)
        data["class_names"] = list(self.class_names)
        extra = {} if ema is None else {"ema": ema.to_dict()}
        return {**{k: v for k, v in when.items() if v is not None}, **data, **extra}

    @classmethod
    def from_dict(cls, data: Any) -> Evaluation:
        """Reads back :meth:`to_dict` (extra keys, such as an entry's epoch, are ignored)."""
        result = _from_dict(cls, data, "the evaluation")
        ema = result.ema
        return dataclasses.replace(
            result,
            class_histogram=tuple(result.class_histogram),
            class_names=tuple(result.class_names),
            ema=None if ema is None else cls.from_dict(ema),
        )
