"""The settings of every GAN entry point, each a dataclass that checks itself.

A torch-free leaf: the command line generates its flags from these classes (``batch_size`` ->
``--batch-size``) without importing torch, and every other GAN module imports its config from
here. Each config refuses a value it cannot use with a :class:`~gradgames.errors.ConfigError`
naming the field, whether it was built by a Python caller, by the command line or from a run's
config.json: the checks follow from each field's annotation and the bounds its ``option``
gives (:func:`gradgames.config.check_fields`), and ``__post_init__`` adds only the rules across
fields. The bounds are those within which the setting means something (a LeakyReLU slope in
[0, 1), Adam's betas in [0, 1), a batch no larger than the data).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gradgames.config import check_fields, option
from gradgames.errors import ConfigError

TRAIN_IMAGES = 60_000  # Fashion-MNIST's training split (gradgames.gan.data.SIZES["train"])
DEFAULT_SNAPSHOTS = (10, 30, 50)
MAX_EPOCHS = 10_000
MAX_NOISE_DIM = 4_096  # the dense layer alone then holds 51 million weights
MAX_GRID = 10_000  # ``gan sample``: a 100 x 100 grid, a 3-megapixel PNG
MAX_EVAL_BATCH = 10_000
MAX_TIMEOUT_S = 86_400.0

Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["fp32", "bf16"]
Init = Literal["default", "dcgan"]
Backend = Literal["auto", "gloo", "nccl"]
Dynamics = Literal["alt-gda", "gda", "eg", "ogda", "nm-gda", "co"]
Optimizer = Literal["adam", "sgd"]
Network = Literal["dcgan", "dirac"]
UNIT = {"low": 0.0, "high": 1.0, "high_open": True}  # [0, 1): a probability, a slope, a decay
NM_MOMENTUM = -0.5  # Gidel et al., "Negative Momentum for Improved Game Dynamics" (2019)
CO_GAMMA = 10.0  # Mescheder et al., "The Numerics of GANs" (2017): their experiments' gamma


@dataclass
class ModelConfig:
    """Hyper-parameters of the two networks (the assignment's by default)."""

    noise_dim: int = option(100, "length of the generator's noise vector z ~ N(0, I)",
                            high=MAX_NOISE_DIM)  # fmt: skip
    dense_bn: bool = option(
        False, "add batch norm + LeakyReLU after the generator's dense layer (TF tutorial)"
    )
    init: Init = option(
        "default", "weight init: PyTorch's default, or the DCGAN paper's N(0, 0.02)"
    )
    dropout: float = option(0.3, "the discriminator's dropout probability, in [0, 1)",
                            **UNIT)  # fmt: skip
    leak: float = option(0.3, "negative slope of every LeakyReLU, in [0, 1)", **UNIT)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class TrainConfig:
    """Settings of ``gradgames gan train`` (the assignment's defaults)."""

    epochs: int = option(50, f"training epochs (1 to {MAX_EPOCHS:,})", high=MAX_EPOCHS)
    batch_size: int = option(64, "images per optimiser step (per process); at most the images")
    lr: float = option(1e-4, "learning rate of both networks (adam or sgd), in (0, 1]",
                       low=0.0, high=1.0, low_open=True)  # fmt: skip
    beta1: float = option(0.5, "Adam beta1 of both networks, in [0, 1)", **UNIT)
    beta2: float = option(0.999, "Adam beta2 of both networks, in [0, 1)", **UNIT)
    snapshot_epochs: tuple[int, ...] | None = option(
        None, "epochs after which the fixed-noise sample grid is saved "
        "(default: 10,30,50 and the last epoch, those within --epochs)"
    )  # fmt: skip
    out: Path = option(Path("runs/gan"), "run directory", metavar="DIR")
    data_dir: Path | None = option(None, "directory of the four Fashion-MNIST IDX files")
    download: bool = option(False, "download Fashion-MNIST into the user cache if missing")
    device: Device = option("auto", "auto (CUDA when present), cpu or cuda")
    seed: int = option(0, "seed of every random draw (init, noise, dropout, data order)")
    subset: int | None = option(
        None, f"train on the first N training images only (1 to {TRAIN_IMAGES:,})", metavar="N",
        high=TRAIN_IMAGES,
    )  # fmt: skip
    max_steps: int | None = option(
        None, "stop after N optimiser steps (all artefacts are still written)", metavar="N"
    )
    resume: bool = option(False, "continue the run in --out from checkpoints/last.pt")
    precision: Precision = option(
        "fp32", "arithmetic: fp32, or bf16 autocast (faster where the hardware has bf16; "
        "its sample quality against fp32 is not yet measured, so not the default)"
    )  # fmt: skip
    eval_epochs: tuple[int, ...] | None = option(
        None, "epochs after which the generator is evaluated (FID etc.) into evaluations.json "
        "and fid.png (default: the snapshot epochs; '' for none)"
    )  # fmt: skip
    eval_samples: int = option(10_000, f"generated images per evaluation (2 to {TRAIN_IMAGES:,})",
                               low=2, high=TRAIN_IMAGES)  # fmt: skip
    channels_last: bool | None = option(
        None, "channels-last memory format for both networks (default: on CUDA only)"
    )
    cuda_graphs: bool = option(False, "on CUDA, replay each training step as one CUDA graph "
                               "(opt-in; a capture that fails falls back to the eager step)")
    sync_bn: bool = option(False, "under torchrun, batch-norm statistics over the global batch "
                           "(SyncBatchNorm, CUDA only)")  # fmt: skip
    ema_decay: float = option(
        0.99, "decay of the EMA generator (an exponential moving average of the generator's "
        "weights, updated after every step, saved as generator_ema.pt and evaluated beside "
        "the generator), in [0, 1); 0 turns it off", **UNIT,
    )  # fmt: skip
    ema_compare: tuple[float, ...] = option(
        (), "further EMA decays, to choose one: each is averaged beside the EMA generator (and "
        "kept in the checkpoint, not saved as weights); at every evaluation each, and the EMA "
        "generator, is scored with its batch-norm statistics as copied from the generator and "
        "as recalibrated on --eval-samples noise vectors (evaluations.json 'averages')",
        metavar="A,B,...", **UNIT, low_open=True,
    )  # fmt: skip
    tensorboard: bool = option(
        True, "write TensorBoard event files into the run directory (when the tensorboard "
        "package is installed: from a checkout, pip install -e '.[tensorboard]')"
    )  # fmt: skip
    log_every: int = option(50, "steps between progress and metrics.csv updates")
    progress: bool = option(True, "show a progress bar")
    dynamics: Dynamics = option(
        "alt-gda", "the game dynamics: alt-gda (a D step, then a G step against the new D), "
        "gda (simultaneous), eg (extragradient; ExtraAdam with adam), ogda (optimistic; "
        "OptimisticAdam with adam), nm-gda (alternating, negative momentum), co (consensus)"
    )  # fmt: skip
    optimizer: Optimizer = option("adam", "the update both players apply: adam or sgd")
    momentum: float | None = option(
        None, f"nm-gda's momentum, in (-1, 1): Adam's beta1 with adam, heavy-ball momentum "
        f"with sgd (default: {NM_MOMENTUM}, Gidel et al. 2019)", low=-1.0, high=1.0,
        low_open=True, high_open=True,
    )  # fmt: skip
    co_gamma: float | None = option(
        None, f"co's weight gamma >= 0 of grad |v|^2/2 (default: {CO_GAMMA:g}, Mescheder et "
        "al. 2017)", low=0.0, high=1e6,
    )  # fmt: skip
    r1: float = option(
        0.0, "weight gamma >= 0 of the R1 penalty gamma/2 E|grad_x D(x)|^2 on real data (0: off)",
        low=0.0, high=1e6,
    )  # fmt: skip
    network: Network = option(
        "dcgan", "the game: the assignment's DCGAN, or the DiracGAN (data at 0, G = theta, "
        "D(x) = psi x; no images, evaluations, EMA or TensorBoard; 100 steps an epoch)",
    )  # fmt: skip
    dirac_init: tuple[float, ...] | None = option(
        None, "the DiracGAN's start (default: 1,1)", metavar="THETA,PSI"
    )
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self) -> None:
        check_fields(self)
        images = self.subset or TRAIN_IMAGES
        if self.batch_size > images:
            where = "the subset" if self.subset else "the training set"
            raise ConfigError(
                "batch_size",
                f"must be at most the {images:,} images of {where}; got {self.batch_size:,}",
            )
        for name in ("snapshot_epochs", "eval_epochs"):
            for epoch in getattr(self, name) or ():
                if epoch > self.epochs:
                    raise ConfigError(name, f"{epoch} is outside 1..{self.epochs} (epochs); give "
                                      "epochs within the run")  # fmt: skip
        if self.ema_compare and not self.ema_decay:
            raise ConfigError("ema_compare", "compares decays with the EMA generator's: give "
                              "--ema-decay above 0")  # fmt: skip
        if len({self.ema_decay, *self.ema_compare}) != 1 + len(self.ema_compare):
            raise ConfigError("ema_compare", "must list distinct decays other than --ema-decay")
        self._check_dynamics()

    def _check_dynamics(self) -> None:
        paper = (("momentum", "nm-gda", NM_MOMENTUM), ("co_gamma", "co", CO_GAMMA))
        for name, used, default in paper:
            if getattr(self, name) is None and self.dynamics == used:
                setattr(self, name, default)  # the paper's, recorded in config.json
            elif getattr(self, name) is not None and self.dynamics != used:
                raise ConfigError(name, f"is {used}'s setting: drop it or give --dynamics {used}")
        if (self.dynamics == "co" or self.r1) and self.precision != "fp32":
            raise ConfigError("precision", "must be fp32 with co or r1 (double backward)")
        if self.network == "dirac":  # a point: no EMA generator, nothing for TensorBoard
            if self.ema_compare:
                raise ConfigError("ema_compare", "needs an EMA generator: not with --network dirac")
            self.ema_decay, self.tensorboard = 0.0, False
        if self.dirac_init is not None:
            if self.network != "dirac":
                raise ConfigError("dirac_init", "is the DiracGAN's start: give --network dirac")
            if len(self.dirac_init) != 2:
                raise ConfigError("dirac_init", f"must be two finite numbers THETA,PSI; got "
                                  f"{','.join(map(str, self.dirac_init))}")  # fmt: skip

    def legacy_step(self) -> bool:
        """Whether training takes the assignment's step (:func:`gradgames.gan.step.train_step`
        with fused Adam): alt-gda, adam, no R1, the DCGAN."""
        return (self.dynamics, self.optimizer, self.r1, self.network) == (
            "alt-gda", "adam", 0.0, "dcgan")  # fmt: skip

    def snapshots(self) -> tuple[int, ...]:
        """The snapshot epochs in effect."""
        if self.snapshot_epochs is not None:
            return tuple(sorted(set(self.snapshot_epochs)))
        return tuple(sorted({e for e in DEFAULT_SNAPSHOTS if e <= self.epochs} | {self.epochs}))

    def evaluations(self, world_size: int = 1) -> tuple[int, ...]:
        """The evaluation epochs in effect.

        Under torchrun the default is none: rank 0 would evaluate while the other ranks wait
        in their next collective, which the distributed timeout may end. Evaluate the saved
        generator with ``gradgames gan evaluate`` instead, or give eval_epochs and a long
        timeout.
        """
        if self.eval_epochs is not None:
            return tuple(sorted(set(self.eval_epochs)))
        return self.snapshots() if world_size == 1 else ()


@dataclass
class DistConfig:
    """How the processes of a torchrun job talk: a launch setting, free to change on resume."""

    dist_backend: Backend = option(
        "auto", "process-group backend under torchrun: auto = nccl on CUDA, gloo on the CPU"
    )
    dist_timeout: float = option(
        120.0, "seconds a process waits for the others (start-up or a collective) before it "
        "exits with an error (at most one day)", metavar="SECONDS", low=0.0, low_open=True,
        high=MAX_TIMEOUT_S,
    )  # fmt: skip

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class WeightsConfig:
    """Model settings a command that loads weights may state (``gan sample``, ``gan evaluate``).

    A weights file written by gradgames carries the settings that built it; a setting given
    here must agree with it. A plain state dict from an earlier version carries none: its
    shapes give the noise size and the dense batch norm, the rest is assumed to be the
    default unless given here.
    """

    leak: float | None = option(
        None, "the generator's LeakyReLU slope, in [0, 1) (default: the one the file carries)",
        **UNIT,
    )  # fmt: skip
    noise_dim: int | None = option(
        None, "the generator's noise size (default: the one the file carries)", high=MAX_NOISE_DIM
    )

    def __post_init__(self) -> None:
        check_fields(self)

    def given(self) -> dict[str, Any]:
        """The settings that were stated (not None)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


def _check_checkpoint(value: Any) -> None:
    if value is None:
        raise ConfigError("checkpoint", "is required: a run's generator.pt or checkpoints/last.pt")


@dataclass
class SampleConfig:
    """What ``gradgames gan sample`` draws and where it writes the grid."""

    checkpoint: Path | None = option(
        None, "a run's generator.pt or checkpoints/last.pt (or --pretrained)", metavar="PATH"
    )
    pretrained: Literal["ema", "raw"] | None = option(
        None, "the generator shipped with gradgames instead of --checkpoint: ema or raw"
    )
    num: int = option(64, f"number of images (1 to {MAX_GRID:,})", high=MAX_GRID)
    out: Path = option(Path("samples.png"), "PNG file to write (its folder must exist)")
    seed: int = option(0, "seed of the noise")
    nrow: int = option(8, "images per grid row (1 to 100)", high=100)
    device: Device = option("auto", "auto, cpu or cuda")

    def __post_init__(self) -> None:
        check_fields(self)
        if self.pretrained is None:
            _check_checkpoint(self.checkpoint)
        elif self.checkpoint is not None:
            raise ConfigError("pretrained", "and {checkpoint} exclude each other: give one",
                              mentions=("checkpoint",))  # fmt: skip


@dataclass
class EvaluateConfig:
    """What ``gradgames gan evaluate`` measures."""

    checkpoint: Path | None = option(
        None, "a run's generator.pt or checkpoints/last.pt (required)", metavar="PATH"
    )
    num: int = option(
        10_000, f"generated images (2 to {TRAIN_IMAGES:,}); the floor uses as many real ones",
        low=2, high=TRAIN_IMAGES,
    )  # fmt: skip
    seed: int = option(0, "seed of the noise, the floor's training images and KID/IS subsets")
    batch_size: int = option(500, f"images per forward pass (1 to {MAX_EVAL_BATCH:,})",
                             high=MAX_EVAL_BATCH)  # fmt: skip
    device: Device = option("auto", "where to run")
    data_dir: Path | None = option(None, "directory of the Fashion-MNIST IDX files")
    download: bool = option(False, "download Fashion-MNIST if it is not installed")

    def __post_init__(self) -> None:
        check_fields(self)
        _check_checkpoint(self.checkpoint)


@dataclass
class ClassifierConfig:
    """How ``gradgames gan train-classifier`` trains the reference classifier."""

    out: Path | None = option(
        None, "weights file to write (.pt; must not exist); .sha256 and .json go beside it"
    )
    epochs: int = option(6, "passes over the 60,000 training images (1 to 1,000)", high=1_000)
    batch_size: int = option(128, "images per optimiser step", high=TRAIN_IMAGES)
    lr: float = option(3e-3, "peak learning rate of the one-cycle schedule (AdamW), in (0, 1]",
                       low=0.0, high=1.0, low_open=True)  # fmt: skip
    weight_decay: float = option(1e-4, "AdamW's decoupled weight decay, in [0, 1]", low=0.0,
                                 high=1.0)  # fmt: skip
    label_smoothing: float = option(0.1, "label smoothing of the cross-entropy loss, in [0, 1)",
                                    **UNIT)  # fmt: skip
    augment: bool = option(False, "random 2-pixel shifts and horizontal flips")
    seed: int = option(0, "seed of the initial weights, shuffling, augmentation and dropout")
    train_images: int | None = option(
        None, "train on the first N training images only (quick checks)", metavar="N",
        high=TRAIN_IMAGES,
    )  # fmt: skip
    device: Device = option("cpu", "cpu (reproduces the shipped weights), cuda or auto")
    data_dir: Path | None = option(None, "directory of the Fashion-MNIST IDX files")
    download: bool = option(False, "download Fashion-MNIST if it is not installed")

    def __post_init__(self) -> None:
        check_fields(self)
