"""Training the DCGAN: its config and the loop that writes a run directory.

The step itself (the game, the losses, the optimisers) is in :mod:`gradgames.gan.step`.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from tqdm import tqdm

from gradgames.config import option, require_positive, to_dict
from gradgames.errors import DivergenceError, UsageError
from gradgames.gan import accel, artifacts
from gradgames.gan.checkpoint import load_checkpoint, save_checkpoint
from gradgames.gan.data import (
    SIZES,
    batch_indices,
    epoch_permutation,
    load_fashion_mnist,
    steps_per_epoch,
    to_unit_range,
)
from gradgames.gan.distributed import World, resume_in_world
from gradgames.gan.models import ModelConfig
from gradgames.gan.resume import resume_config
from gradgames.gan.step import (
    GanState,
    build_state,
    checkpoint_state,
    restore,
    train_step,
)
from gradgames.plotting import ema
from gradgames.runs import (
    StopSignals,
    atomic_torch_save,
    environment,
    prepare_output_dir,
    resolve_device,
)
from gradgames.runs import write_json as write_json_file

DEFAULT_SNAPSHOTS = (10, 30, 50)
LOSSES = ("d_loss", "g_loss")


@dataclass
class TrainConfig:
    """Settings of ``gradgames gan train`` (the assignment's defaults)."""

    epochs: int = option(50, "training epochs")
    batch_size: int = option(64, "images per optimiser step (per process)")
    lr: float = option(1e-4, "Adam learning rate of both networks")
    beta1: float = option(0.5, "Adam beta1 of both networks")
    beta2: float = option(0.999, "Adam beta2 of both networks")
    snapshot_epochs: tuple[int, ...] | None = option(
        None, "epochs after which the fixed-noise sample grid is saved "
        "(default: 10,30,50 and the last epoch, those within --epochs)"
    )
    out: Path = option(Path("runs/gan"), "run directory", metavar="DIR")
    data_dir: Path | None = option(None, "directory of the four Fashion-MNIST IDX files")
    download: bool = option(False, "download Fashion-MNIST into the user cache if missing")
    device: str = option("auto", "auto, cpu or cuda")
    seed: int = option(0, "seed of every random draw (init, noise, dropout, data order)")
    subset: int | None = option(None, "train on the first N training images only", metavar="N")
    max_steps: int | None = option(
        None, "stop after N optimiser steps (all artefacts are still written)", metavar="N"
    )
    resume: bool = option(False, "continue the run in --out from checkpoints/last.pt")
    precision: Literal["fp32", "bf16"] = option(
        "fp32", "arithmetic: fp32, or bf16 autocast (faster where the hardware has bf16; "
        "its sample quality against fp32 is not yet measured, so not the default)"
    )
    eval_epochs: tuple[int, ...] | None = option(
        None, "epochs after which the generator is evaluated (FID etc.) into metrics_eval.csv "
        "and fid.png (default: the snapshot epochs; '' for none)"
    )
    eval_samples: int = option(10_000, "generated images per evaluation")
    channels_last: bool | None = option(
        None, "channels-last memory format for both networks (default: on CUDA only)"
    )
    cuda_graphs: bool = option(True, "on CUDA, replay each training step as one CUDA graph")
    sync_bn: bool = option(False, "under torchrun, batch-norm statistics over the global batch "
                           "(SyncBatchNorm, CUDA only)")  # fmt: skip
    log_every: int = option(50, "steps between progress and metrics.csv updates")
    progress: bool = option(True, "show a progress bar")
    model: ModelConfig = field(default_factory=ModelConfig)

    def validate(self) -> None:
        """Raises a one-line UsageError for any setting that cannot work."""
        for name in ("epochs", "batch_size", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be an integer >= 1; got {value}")
        for name in ("subset", "max_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be >= 1; got {value}")
        require_positive("--lr", self.lr)
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value < 1.0):
                raise UsageError(f"--{name} must be in [0, 1); got {value}")
        for flag, epochs in (("--snapshot-epochs", self.snapshot_epochs),
                             ("--eval-epochs", self.eval_epochs)):  # fmt: skip
            bad = [e for e in epochs or () if not 1 <= e <= self.epochs]
            if bad:
                raise UsageError(
                    f"{flag} {bad[0]} is outside 1..{self.epochs} (--epochs); "
                    "give epochs within the run"
                )
        if self.precision not in ("fp32", "bf16"):
            raise UsageError(f"--precision must be fp32 or bf16; got {self.precision!r}")
        if not 2 <= self.eval_samples <= SIZES["train"]:
            raise UsageError(
                f"--eval-samples must be between 2 and {SIZES['train']:,} (the real-data "
                f"floor draws as many training images); got {self.eval_samples}"
            )
        if not 0.0 <= self.model.dropout < 1.0:
            raise UsageError(f"--dropout must be in [0, 1); got {self.model.dropout}")
        if self.model.noise_dim < 1:
            raise UsageError(f"--noise-dim must be >= 1; got {self.model.noise_dim}")

    def evaluations(self, world_size: int = 1) -> tuple[int, ...]:
        """The evaluation epochs in effect.

        Under torchrun the default is none: rank 0 would evaluate while the other ranks wait
        in their next collective, which --dist-timeout may end. Evaluate the saved generator
        with ``gradgames gan evaluate`` instead, or give --eval-epochs and a long timeout.
        """
        if self.eval_epochs is not None:
            return tuple(sorted(set(self.eval_epochs)))
        return self.snapshots() if world_size == 1 else ()

    def snapshots(self) -> tuple[int, ...]:
        """The snapshot epochs in effect."""
        if self.snapshot_epochs is not None:
            return tuple(sorted(set(self.snapshot_epochs)))
        return tuple(sorted({e for e in DEFAULT_SNAPSHOTS if e <= self.epochs} | {self.epochs}))


@dataclass
class Run:
    """One training run in progress: settings, state, data and where it writes."""

    config: TrainConfig
    world: World
    device: torch.device
    state: GanState
    images: torch.Tensor  # (N, 1, 28, 28) uint8 on the device
    out: Path
    steps_per_epoch: int
    total_steps: int
    precision: str
    channels_last: bool
    cuda_graphs: bool  # CUDA, --cuda-graphs, and a single process
    clock: float = field(default_factory=time.perf_counter)  # start of this session's training
    seconds_before: float | None = 0.0  # training time of earlier sessions (None: unknown)

    def start_clock(self) -> None:
        self.clock, self.seconds_before = time.perf_counter(), self.state.seconds

    def seconds(self) -> float:
        """Training time of this session so far."""
        return time.perf_counter() - self.clock

    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoints" / "last.pt"

    def save_checkpoint(self) -> None:
        if self.seconds_before is not None:
            self.state.seconds = self.seconds_before + self.seconds()
        if self.world.is_main:
            state = checkpoint_state(self.state, self.config, self.world.size)
            save_checkpoint(self.checkpoint_path, state)

    def make_step(self):
        """The training step as the loop calls it: ``step(real) -> stats`` (see train_step)."""
        state = self.state
        graphs = self.cuda_graphs
        autocast = accel.autocast(self.device, self.precision, graphs)
        generator = self.world.wrap(state.generator, self.config.sync_bn)
        discriminator = self.world.wrap(state.discriminator)

        def step(real: torch.Tensor) -> torch.Tensor:
            return train_step(
                generator, discriminator, state.opt_g, state.opt_d, real, autocast,
                state.discriminator,
            )  # fmt: skip

        return accel.CudaGraphStep(step, self.config.batch_size) if graphs else step

    def batch(self, order: torch.Tensor, i: int) -> torch.Tensor:
        """Minibatch ``i`` of the epoch ``order``, normalised on the device: (B, 1, 28, 28)."""
        c = self.config
        idx = batch_indices(order, i, c.batch_size, self.world.rank, self.world.size)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        return to_unit_range(self.images[idx]).contiguous(memory_format=fmt)

    def evaluate(self, epoch: int) -> None:
        """Scores the generator (see :mod:`gradgames.gan.metrics`) and records them."""
        if not self.world.is_main:
            return
        from gradgames.gan.metrics import evaluate_generator, real_reference  # seconds to import

        c = self.config
        scores = evaluate_generator(
            self.state.generator, num_samples=c.eval_samples, seed=c.seed, device=self.device,
            real=real_reference(self.device, c.data_dir, c.download),
        )  # fmt: skip
        artifacts.record_evaluation(self.out, epoch, self.state.step, scores)

    def snapshot(self, name: str) -> None:
        if not self.world.is_main:
            return
        generator = self.state.generator
        generator.eval()
        with torch.no_grad():
            images = generator(self.state.fixed_noise)
        generator.train()
        artifacts.save_image_grid(images, self.out / "samples" / name)


def setup(config: TrainConfig, world: World | None = None) -> Run:
    """Checks the settings and the run directory, loads the data, builds or restores the state."""
    world = world or World()
    if config.resume:
        prepare_output_dir(config.out, resume=True)
        config = resume_config(config)
    config.validate()
    world.validate(config)
    device = world.device or resolve_device(config.device)
    out = Path(config.out)
    if world.is_main and not config.resume:
        prepare_output_dir(out)
    data = load_fashion_mnist("train", config.data_dir, config.download)
    if config.subset and config.subset > len(data):
        raise UsageError(f"--subset {config.subset} exceeds the {len(data)} training images")
    images = (data.images[: config.subset] if config.subset else data.images).to(device)
    spe = steps_per_epoch(len(images), config.batch_size, world.size)
    if spe == 0:
        raise UsageError(f"--subset {len(images)} is smaller than the {world.size} processes")
    total = config.epochs * spe
    if config.max_steps:
        total = min(total, config.max_steps)
    precision = config.precision
    channels_last = accel.resolve_channels_last(config.channels_last, device)
    accel.configure(device)
    graphs = device.type == "cuda" and config.cuda_graphs and world.size == 1
    state = build_state(config, device, graphs=graphs, channels_last=channels_last)
    run = Run(
        config, world, device, state, images, out, spe, total, precision, channels_last, graphs
    )
    if config.resume:
        checkpoint = load_checkpoint(run.checkpoint_path)
        restore(state, checkpoint)
        resume_in_world(run, checkpoint)
    elif world.is_main:
        (out / "checkpoints").mkdir(parents=True, exist_ok=True)
        write_json_file(out / "config.json", run_record(run))
    world.reseed(config.seed, state.step)
    return run


def run_record(run: Run) -> dict:
    """config.json: every setting, the resolved ones, versions and the device."""
    return {
        "config": to_dict(run.config),
        "resolved": {
            "precision": run.precision,
            "channels_last": run.channels_last,
            "snapshot_epochs": list(run.config.snapshots()),
            "eval_epochs": list(run.config.evaluations(run.world.size)),
            "cuda_graphs": run.cuda_graphs,
            "world_size": run.world.size,
            "global_batch": run.config.batch_size * run.world.size,
            "train_images": len(run.images),
            "steps_per_epoch": run.steps_per_epoch,
        },
        "environment": environment(run.device),
    }


def train(config: TrainConfig, world: World | None = None) -> dict:
    """Trains the DCGAN and writes the run directory (see the README for its files).

    Returns:
        A summary: steps, epochs, seconds (this session; seconds_total: all sessions, None if
        an earlier one did not record it), images/s, final smoothed losses, how it ended.

    Raises:
        UsageError: bad settings, data or run directory (before any training).
        DivergenceError: a non-finite loss or parameter; the last good checkpoint is kept.
    """
    run = setup(config, world)
    log = artifacts.MetricsLog(
        run.out / "metrics.csv" if run.world.is_main else None,
        run.config.batch_size * run.world.size,
        run.steps_per_epoch,
    )
    log.start(run.state.step)
    start_step = run.state.step
    run.start_clock()
    with StopSignals() as stop, _progress(run) as bar:
        try:
            _loop(run, log, stop, bar)
            _require_finite(run, "at the end of training")  # before finish() checkpoints
        except DivergenceError as exc:
            raise DivergenceError(
                f"{exc}: training stopped; the last good checkpoint {run.checkpoint_path} is "
                "kept; lower --lr or use --precision fp32"
            ) from None
    return finish(run, log, stop.requested, run.state.step - start_step, run.seconds())


def _loop(run: Run, log: artifacts.MetricsLog, stop: StopSignals, bar) -> None:
    state, config, spe = run.state, run.config, run.steps_per_epoch
    step = run.make_step()
    while state.step < run.total_steps and not stop.requested:
        epoch = state.step // spe  # 0-based
        bar.set_description(f"epoch {epoch + 1}/{config.epochs}")
        order = epoch_permutation(len(run.images), config.seed, epoch, run.device)
        for i in range(state.step % spe, spe):
            log.record(step(run.batch(order, i)))
            state.step += 1
            if state.step % config.log_every == 0 or i == spe - 1:  # ranks agree on stopping
                _report(log, bar)
                if run.world.any(stop.requested is not None):
                    stop.requested = stop.requested or "SIGINT"
                    break
            if state.step >= run.total_steps:
                break
        _report(log, bar)
        if state.step % spe == 0 and not stop.requested:
            _end_of_epoch(run, state.step // spe)


def _report(log: artifacts.MetricsLog, bar) -> None:
    done = log.flush()
    if done:
        bar.update(done)
        last = log.last
        bar.set_postfix(
            d_loss=f"{last['d_loss']:.3f}", g_loss=f"{last['g_loss']:.3f}",
            img_s=f"{last['images_per_s']:.0f}",
        )  # fmt: skip


def _require_finite(run: Run, when: str) -> None:
    """A DivergenceError before a checkpoint could replace the last good one with NaNs."""
    params = [*run.state.generator.parameters(), *run.state.discriminator.parameters()]
    if not all(bool(torch.isfinite(p).all()) for p in params):
        raise DivergenceError(f"non-finite parameters {when} (step {run.state.step})")


def _end_of_epoch(run: Run, epoch: int) -> None:
    _require_finite(run, f"after epoch {epoch}")
    if epoch in run.config.snapshots():
        run.snapshot(f"epoch_{epoch:03d}.png")
    if epoch in run.config.evaluations(run.world.size):
        run.save_checkpoint()  # the epoch is kept even if its evaluation fails
        run.evaluate(epoch)
    run.save_checkpoint()


def finish(run: Run, log, stopped: str | None, steps: int, seconds: float) -> dict:
    """Writes the final artefacts (also after --max-steps or a signal) and the summary."""
    run.save_checkpoint()
    summary = {
        "steps": run.state.step,
        "epochs_completed": run.state.step // run.steps_per_epoch,
        "steps_this_session": steps,
        "global_batch": run.config.batch_size * run.world.size,
        "seconds": round(seconds, 3),
        "seconds_total": None if run.state.seconds is None else round(run.state.seconds, 3),
        "images_per_s": round(steps * run.config.batch_size * run.world.size / seconds, 1)
        if seconds > 0
        else None,
        "stopped_by": stopped,
        "run_dir": str(run.out),
    }
    if run.world.is_main:
        run.snapshot("final.png")
        atomic_torch_save(run.state.generator.state_dict(), run.out / "generator.pt")
        atomic_torch_save(run.state.discriminator.state_dict(), run.out / "discriminator.pt")
        losses = artifacts.read_metrics(run.out / "metrics.csv")
        if losses:
            artifacts.plot_losses(run.out / "metrics.csv", run.out / "losses.png")
            summary["final_d_loss_ema"], summary["final_g_loss_ema"] = _final_ema(losses)
        write_json_file(run.out / "summary.json", summary)
    return summary


def _final_ema(rows: list[dict]) -> tuple[float, float]:
    return tuple(round(float(ema([float(r[k]) for r in rows])[-1]), 4) for k in LOSSES)


def _progress(run: Run):
    return tqdm(
        total=run.total_steps,
        initial=run.state.step,
        unit="step",
        dynamic_ncols=True,
        disable=not (run.config.progress and run.world.is_main),
        file=sys.stderr,
    )
