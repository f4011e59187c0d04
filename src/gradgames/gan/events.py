"""TensorBoard event files of a training run, in the run directory itself, so that
``tensorboard --logdir runs/`` names each run by its folder.

Written through :class:`torch.utils.tensorboard.SummaryWriter`, each value at the global
optimiser step (the x axis of every curve). TensorBoard orders charts by tag, so the tags are
numbered: training first, then evaluation, then the final scores.

- at each log interval: ``1_train/d_loss``, ``1_train/g_loss``, ``1_train/d_real`` (mean
  sigmoid D(x)) and ``1_train/d_fake`` (mean sigmoid D(G(z))), each the mean over the
  interval's steps (metrics.csv keeps every step), ``1_train/images_per_s``, and the learning
  rates ``1_train/lr_generator`` and ``1_train/lr_discriminator``;
- at every epoch end: the grid of the fixed noise batch, ``samples/generator`` and (with an
  EMA) ``samples/generator_ema``;
- at each evaluation: every score, ``2_eval/<score>`` for the trained generator,
  ``2_eval_ema/<score>`` for the EMA generator and ``2_eval_floor/<score>``;
- Custom Scalars: D's and G's losses on one chart, D(x) against D(G(z)) on another, and each
  score of both generators with its floor on one chart;
- at the end of a session: the whole config as a JSON block (Text tab, tag ``config``), and
  the run's settings as hparams (booleans as booleans) with the final scores
  (``3_final/<score>``, ``3_final/<score>_ema``, ``3_final/d_loss``, ``3_final/g_loss``).
  ``SummaryWriter.add_hparams`` would open a second writer in a new sub-folder named by the
  time, which TensorBoard shows as another run; the same three summaries
  (:func:`torch.utils.tensorboard.summary.hparams`) go through this run's own writer instead.

Only rank 0 writes. A resumed run opens its writer with ``purge_step`` = the restored step + 1:
TensorBoard then drops what an interrupted session logged after that checkpoint, and the
curves go on with no repeated steps. Without the ``tensorboard`` package (an optional extra,
``gradgames[tensorboard]``) or with ``tensorboard=False`` nothing is written and every method
is a no-op.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from pathlib import Path
from typing import Any

import torch

from gradgames.config import to_dict
from gradgames.files import to_json
from gradgames.gan.artifacts import image_grid
from gradgames.gan.config import TrainConfig
from gradgames.gan.results import SCORES, Evaluation

# The settings shown in the HParams tab (those that tell runs apart).
HPARAMS = ("epochs", "batch_size", "lr", "beta1", "beta2", "seed", "precision", "ema_decay",
           "dynamics", "optimizer", "sync_bn")  # fmt: skip
MODEL_HPARAMS = ("noise_dim", "dense_bn", "init", "dropout", "leak")


def _guarded(method):
    """An EventLog method that does nothing without a writer, and gives up on events (one
    warning) when writing them fails."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        if self.writer is None:
            return
        try:
            method(self, *args, **kwargs)
        except OSError as exc:
            self._lost(exc)

    return call


def tensorboard_available() -> bool:
    """Whether ``torch.utils.tensorboard`` can be imported (the tensorboard package)."""
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def _booleans_as_booleans(summaries: tuple, values: dict[str, Any]) -> tuple:
    """torch's ``hparams`` summaries with each bool of ``values`` typed and set as a bool
    (torch tests ``isinstance(v, int)`` first, so it logs True as the number 1.0)."""
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    flags = {k: v for k, v in values.items() if isinstance(v, bool)}
    for summary in summaries:
        plugin = summary.value[0].metadata.plugin_data
        data = plugin_data_pb2.HParamsPluginData.FromString(plugin.content)
        for info in data.experiment.hparam_infos:  # in the experiment summary only
            if info.name in flags:
                info.type = api_pb2.DATA_TYPE_BOOL
        for name in flags.keys() & data.session_start_info.hparams.keys():
            data.session_start_info.hparams[name].bool_value = flags[name]
        plugin.content = data.SerializeToString()
    return summaries


class EventLog:
    """A run's TensorBoard writer, or a no-op stand-in (``EventLog(None)``).

    Args:
        folder: the event folder (created), or None to write nothing.
        purge_step: a resumed run's restored step + 1 (None for a new run).
    """

    def __init__(self, folder: Path | None, purge_step: int | None = None):
        self.folder = folder
        self.writer = None
        if folder is not None:
            from torch.utils.tensorboard import SummaryWriter

            try:
                self.writer = SummaryWriter(str(folder), purge_step=purge_step)
            except OSError as exc:
                self._lost(exc)

    def _lost(self, exc: OSError) -> None:
        """One warning, then no more events: training never stops for its dashboard."""
        reason = exc.strerror or str(exc).splitlines()[0]
        warnings.warn(f"TensorBoard events stop: {self.folder} cannot be written ({reason}); "
                      "training goes on, its checkpoints and metrics.csv unaffected",
                      RuntimeWarning, stacklevel=3)  # fmt: skip
        writer, self.writer, self.folder = self.writer, None, None
        if writer is not None:
            with contextlib.suppress(OSError):
                writer.close()

    @classmethod
    def open(cls, out: Path, enabled: bool, is_main: bool, step: int, resume: bool) -> EventLog:
        """The log of the run in ``out`` at ``step``: a writer on rank 0 when ``enabled`` and
        the package is installed, else the no-op."""
        if not (enabled and is_main and tensorboard_available()):
            return cls(None)
        log = cls(Path(out), purge_step=step + 1 if resume else None)
        log.layout()
        return log

    @_guarded
    def interval(self, step: int, means: dict[str, float], images_per_s: float,
                 lrs: dict[str, float]) -> None:  # fmt: skip
        """A log interval's mean statistics, throughput and learning rates at ``step``."""
        values = {**means, "images_per_s": images_per_s, **{f"lr_{k}": v for k, v in lrs.items()}}
        for name, value in values.items():
            self.writer.add_scalar(f"1_train/{name}", value, step)

    @_guarded
    def grid(self, tag: str, images: torch.Tensor, step: int) -> None:
        """The grid of ``images`` ``(B, 1, 28, 28)`` in [-1, 1] as image ``samples/<tag>``."""
        self.writer.add_image(f"samples/{tag}", image_grid(images), step)

    @_guarded
    def evaluation(self, evaluation: Evaluation) -> None:
        """Every score of an evaluation made in training (and of its EMA) at its step."""
        sets = {"2_eval": evaluation.generated, "2_eval_ema": evaluation.ema,
                "2_eval_floor": evaluation.floor}  # fmt: skip
        for prefix, scores in sets.items():
            for score in SCORES if scores is not None else ():
                value = getattr(scores, score.name)
                self.writer.add_scalar(f"{prefix}/{score.name}", value, evaluation.step)

    @_guarded
    def layout(self) -> None:
        """The Custom Scalars tab: the two losses on one chart, D(x) and D(G(z)) on another, and
        each score of both generators and its floor on one chart."""
        pairs = {"losses: D and G": ("d_loss", "g_loss"), "D(x) and D(G(z))": ("d_real", "d_fake")}
        training = {name: ["Multiline", [f"1_train/{t}" for t in tags]]
                    for name, tags in pairs.items()}  # fmt: skip
        prefixes = ("2_eval", "2_eval_ema", "2_eval_floor")
        charts = {s.label: ["Multiline", [f"{p}/{s.name}" for p in prefixes]] for s in SCORES}
        self.writer.add_custom_scalars(
            {"training": training, "evaluation: generator, EMA and real floor": charts}
        )

    @_guarded
    def hparams(self, config: TrainConfig, step: int, final: dict[str, float | None],
                **resolved: int) -> None:  # fmt: skip
        """The whole config as text, and the run's settings (and ``resolved`` ones, such as the
        world size) with its final scores (``final``: name -> value; None is left out)."""
        from torch.utils.tensorboard.summary import hparams

        settings = to_dict(config)
        self.writer.add_text("config", f"```json\n{to_json(settings)}\n```", step)
        values: dict[str, Any] = {k: settings[k] for k in HPARAMS}
        values.update({k: settings["model"][k] for k in MODEL_HPARAMS}, **resolved)
        metrics = {f"3_final/{k}": float(v) for k, v in final.items() if v is not None}
        for summary in _booleans_as_booleans(hparams(values, metrics), values):
            self.writer.file_writer.add_summary(summary, step)
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, value, step)

    @_guarded
    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            try:
                writer.close()
            except OSError as exc:
                self._lost(exc)
