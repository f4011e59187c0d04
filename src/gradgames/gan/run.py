"""One training run in progress, and how it starts: settings, world, state, data, directory.

:func:`open_run` turns a :class:`~gradgames.gan.config.TrainConfig` into a :class:`Run` in two
phases:

1. **plan**, writing nothing: the settings (on resume, the run's own from its config.json),
   the device, the data, the steps per epoch, whether a step fits in memory and whether the
   run directory can take the run;
2. **claim**: rank 0 takes the run directory's lock (:class:`gradgames.rundir.RunLock`, held
   until the run ends, released by the kernel even after a SIGKILL), then the state is built
   and a new run writes its step-0 checkpoint and then config.json, or a resumed run restores
   its checkpoint. A directory with a config.json therefore always holds a checkpoint to
   resume from. Beside the state live the EMA generator (:mod:`gradgames.gan.ema`, in the
   checkpoint) and the TensorBoard log (:mod:`gradgames.gan.events`, closed when the block
   ends).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from gradgames.config import to_dict
from gradgames.device import environment, resolve_device
from gradgames.errors import ConfigError, UsageError
from gradgames.files import write_json
from gradgames.gan import accel, artifacts
from gradgames.gan.checkpoint import load_checkpoint, restore, restore_ema, save_checkpoint
from gradgames.gan.config import TrainConfig
from gradgames.gan.data import batch_indices, load_fashion_mnist, steps_per_epoch, to_unit_range
from gradgames.gan.distributed import World, resumed_step
from gradgames.gan.ema import EmaGenerator, recalibrated
from gradgames.gan.events import EventLog
from gradgames.gan.results import Evaluation
from gradgames.gan.resume import resume_config
from gradgames.gan.step import GanState, build_state, train_step
from gradgames.rundir import LOCK_NAME, RunLock, check_output_dir, claimed_output_dir

# Peak memory a training step adds per image of its batch, measured at batch 64 and 512 on
# the CPU in fp32 (about 1.3 MB), with a margin; the weights, their gradients and Adam's two
# moments add 16 bytes per parameter.
STEP_BYTES_PER_IMAGE = 1.6e6
BASE_BYTES = 256e6


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
    cuda_graphs: bool  # CUDA, cuda_graphs, and a single process
    clock: float | None = None  # start of this session's training (None: not started)
    seconds_before: float | None = 0.0  # training time of earlier sessions (None: unknown)
    saved_step: int = 0  # the step of the last checkpoint written or restored
    ema: EmaGenerator | None = None  # the EMA generator (None: ema_decay 0)
    events: EventLog = field(default_factory=lambda: EventLog(None))

    def start_clock(self) -> None:
        self.clock, self.seconds_before = time.perf_counter(), self.state.seconds

    def seconds(self) -> float:
        """Training time of this session so far."""
        return 0.0 if self.clock is None else time.perf_counter() - self.clock

    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoints" / "last.pt"

    def save_checkpoint(self) -> None:
        if self.seconds_before is not None:
            self.state.seconds = self.seconds_before + self.seconds()
        if self.world.is_main:
            save_checkpoint(self.checkpoint_path, self.state, self.config, self.world.size,
                            self.ema)  # fmt: skip
            self.events.flush()
        self.saved_step = self.state.step

    def images_of(self, step: int) -> int:
        """Images all processes train on at ``step`` (0-based; an epoch's last may be short)."""
        i, global_batch = step % self.steps_per_epoch, self.config.batch_size * self.world.size
        return min(global_batch, len(self.images) - i * global_batch)

    def make_step(self):
        """The training step as the loop calls it: ``step(real) -> stats`` (see train_step)."""
        state = self.state
        autocast = accel.autocast(self.device, self.precision, self.cuda_graphs)
        generator = self.world.wrap(state.generator, self.config.sync_bn)
        discriminator = self.world.wrap(state.discriminator)

        def step(real: torch.Tensor) -> torch.Tensor:
            return train_step(
                generator, discriminator, state.opt_g, state.opt_d, real, autocast,
                state.discriminator,
            )  # fmt: skip

        return accel.CudaGraphStep(step, self.config.batch_size) if self.cuda_graphs else step

    def batch(self, order: torch.Tensor, i: int) -> torch.Tensor:
        """Minibatch ``i`` of the epoch ``order``, normalised on the device: (B, 1, 28, 28)."""
        c = self.config
        idx = batch_indices(order, i, c.batch_size, self.world.rank, self.world.size)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        return to_unit_range(self.images[idx]).contiguous(memory_format=fmt)

    def evaluate(self, epoch: int) -> None:
        """Scores the generator and the EMA generator on the same noise (see
        :mod:`gradgames.gan.metrics`) and records the scores (rank 0)."""
        if not self.world.is_main:
            return
        from gradgames.gan.metrics import evaluate_generator, real_reference  # torchmetrics

        c = self.config
        real = real_reference(self.device, c.data_dir, c.download)

        def score(generator) -> Evaluation:
            return evaluate_generator(generator, num_samples=c.eval_samples, seed=c.seed,
                                      device=self.device, real=real)  # fmt: skip

        evaluation = replace(score(self.state.generator), epoch=epoch, step=self.state.step)
        if self.ema is not None:
            ema = score(self.ema.module)
            evaluation = replace(evaluation, ema=ema.generated,
                                 seconds=evaluation.seconds + ema.seconds)  # fmt: skip
        if self.ema is not None and self.ema.compared:
            averages, seconds = {}, evaluation.seconds
            for decay, module in ((self.ema.decay, self.ema.module), *self.ema.compared.items()):
                kinds = [("", module)] if module is not self.ema.module else []
                kinds.append((" recalibrated", recalibrated(module, c.seed, c.eval_samples)))
                for suffix, generator in kinds:
                    found = score(generator)
                    averages[f"{decay!r}{suffix}"] = found.generated
                    seconds += found.seconds
            evaluation = replace(evaluation, averages=averages, seconds=seconds)
        artifacts.record_evaluation(self.out, evaluation)
        self.events.evaluation(evaluation)

    def generators(self) -> dict[str, torch.nn.Module]:
        """The generators a run draws: ``{"generator": G}`` and ``"generator_ema"``."""
        found = {"generator": self.state.generator}
        if self.ema is not None:
            found["generator_ema"] = self.ema.module
        return found

    @torch.no_grad()
    def fixed_grids(self) -> dict[str, torch.Tensor]:
        """Each generator's images ``(64, 1, 28, 28)`` of the fixed noise, in eval mode."""
        grids = {}
        for name, generator in self.generators().items():
            generator.eval()
            grids[name] = generator(self.state.fixed_noise)  # (64, 1, 28, 28)
            generator.train()
        return grids

    def snapshot(self, stem: str | None, events: bool = False) -> None:
        """Draws the fixed noise batch with each generator (rank 0): to
        ``samples/<stem>.png`` and ``samples/<stem>_ema.png`` (``stem`` None: no file) and,
        with ``events``, to TensorBoard at the current step."""
        events = events and self.events.writer is not None
        if not self.world.is_main or (stem is None and not events):
            return
        for name, images in self.fixed_grids().items():
            if stem is not None:
                suffix = "_ema" if name == "generator_ema" else ""
                artifacts.save_image_grid(images, self.out / "samples" / f"{stem}{suffix}.png")
            if events:
                self.events.grid(name, images, self.state.step)


@dataclass(frozen=True)
class Plan:
    """What phase 1 found: everything a run needs before it writes anything."""

    config: TrainConfig
    world: World
    device: torch.device
    images: torch.Tensor  # (N, 1, 28, 28) uint8, on the CPU
    steps_per_epoch: int
    total_steps: int
    channels_last: bool
    cuda_graphs: bool


@contextlib.contextmanager
def open_run(config: TrainConfig, world: World | None = None) -> Iterator[Run]:
    """The run of ``config``, its directory locked by rank 0 until the block ends.

    Raises:
        UsageError: settings, data, memory or run directory that cannot work (nothing is
            written), or another process holding the directory (its pid is named).
    """
    plan = make_plan(config, world or World())
    with _claimed(plan):
        run = _start(plan)
        try:
            yield run
        finally:
            run.events.close()


def make_plan(config: TrainConfig, world: World) -> Plan:
    """Phase 1: every check that needs no writing, in the order a user would fix them."""
    if world.is_main:
        refuse_if_held(config.out)
    if config.resume:
        check_output_dir(config.out, resume=True)
        config = resume_config(config)
    elif world.is_main:
        check_output_dir(config.out)
    world.check(config.sync_bn)
    device = world.device or resolve_device(config.device)
    data = load_fashion_mnist("train", config.data_dir, config.download)
    if config.subset and config.subset > len(data):
        raise ConfigError("subset", f"{config.subset:,} exceeds the {len(data):,} training images")
    images = data.images[: config.subset] if config.subset else data.images
    global_batch = config.batch_size * world.size
    if global_batch > len(images):
        raise ConfigError(
            "batch_size", f"{config.batch_size:,} x {world.size} processes is more than the "
            f"{len(images):,} training images: give a smaller batch"
        )  # fmt: skip
    check_memory(config, world.size, device)
    spe = steps_per_epoch(len(images), config.batch_size, world.size)
    total = config.epochs * spe
    if config.max_steps:
        total = min(total, config.max_steps)
    graphs = device.type == "cuda" and config.cuda_graphs and world.size == 1
    channels_last = accel.resolve_channels_last(config.channels_last, device)
    return Plan(config, world, device, images, spe, total, channels_last, graphs)


def step_bytes(config: TrainConfig) -> float:
    """An estimate of the memory one training step of one process needs, in bytes."""
    dense = config.model.noise_dim * 7 * 7 * 256
    parameters = dense + 1_025_984 + 212_865  # the rest of G and all of D
    return BASE_BYTES + 16 * parameters + STEP_BYTES_PER_IMAGE * config.batch_size


def check_memory(config: TrainConfig, world_size: int, device: torch.device) -> None:
    """A ConfigError naming the batch size when a step cannot fit in the free memory."""
    free = free_memory(device)
    need = step_bytes(config) * (world_size if device.type == "cpu" else 1)
    if free is not None and need > free:
        raise ConfigError(
            "batch_size", f"{config.batch_size:,} needs about {need / 1e9:.1f} GB for a "
            f"training step, more than the {free / 1e9:.1f} GB free on {device}: give a "
            "smaller batch"
        )  # fmt: skip


def free_memory(device: torch.device) -> float | None:
    """Bytes free for a new allocation on ``device`` (None where it cannot be known)."""
    if device.type == "cuda":
        return float(torch.cuda.mem_get_info(device)[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def refuse_if_held(out: Path) -> None:
    """A one-line UsageError naming the pid of a live process that holds ``out``'s lock.

    Checked first, so that a second run started on the same directory is told who holds it
    rather than what the first run has written there so far.
    """
    if (Path(out) / LOCK_NAME).is_file():
        RunLock(out).acquire().release()


@contextlib.contextmanager
def _claimed(plan: Plan) -> Iterator[None]:
    if not plan.world.is_main:  # other ranks write nothing
        yield
        return
    with claimed_output_dir(plan.config.out, resume=plan.config.resume):
        yield


def _start(plan: Plan) -> Run:
    """Phase 2 (under the lock): the state, built fresh or restored from the checkpoint."""
    config, world, device = plan.config, plan.world, plan.device
    accel.configure(device)
    state = build_state(config, device, graphs=plan.cuda_graphs, channels_last=plan.channels_last)
    run = Run(config, world, device, state, plan.images.to(device), Path(config.out),
              plan.steps_per_epoch, plan.total_steps, config.precision, plan.channels_last,
              plan.cuda_graphs)  # fmt: skip
    if config.resume:
        if not run.checkpoint_path.exists():  # a run of an earlier version, stopped early
            raise UsageError(
                f"{run.out} holds a run that stopped before its first checkpoint was written: "
                f"nothing was kept; start it again without resume, in another directory or "
                f"after removing {run.out}"
            )
        checkpoint = load_checkpoint(run.checkpoint_path)
        restore(state, checkpoint)
        run.ema = _ema(config, state.generator)
        if run.ema is not None:
            restore_ema(run.ema, checkpoint)
        _map_to_world(run, int(checkpoint.get("world_size") or 1))
        run.saved_step = state.step
    else:
        run.ema = _ema(config, state.generator)
        if world.is_main:
            _write_start(run)
    run.events = EventLog.open(run.out, config.tensorboard, world.is_main, state.step,
                               config.resume)  # fmt: skip
    world.reseed(config.seed, state.step)
    return run


def _ema(config: TrainConfig, generator: torch.nn.Module) -> EmaGenerator | None:
    if config.ema_decay == 0:
        return None
    return EmaGenerator(generator, config.ema_decay, config.ema_compare)


def _write_start(run: Run) -> None:
    """A new run's step-0 checkpoint, then its marker config.json; if either fails (a full
    disk, an interrupt), what was written goes, so the directory can take a new run."""
    try:
        run.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        run.save_checkpoint()  # step 0, before the marker: a run always has one to resume
        write_json(run.out / "config.json", run_record(run))
    except BaseException:
        run.checkpoint_path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            run.checkpoint_path.parent.rmdir()
        raise


def _map_to_world(run: Run, old_size: int) -> None:
    """Maps a restored step written by ``old_size`` processes onto this world.

    The step becomes :func:`~gradgames.gan.distributed.resumed_step`; rank 0 rewrites
    metrics.csv to the rows up to the checkpoint, their ``step`` relabelled the same way (so
    the column keeps counting steps of the current global batch).
    """
    if old_size == run.world.size:
        return

    def remap(step: int) -> int:
        return resumed_step(step, len(run.images), run.config.batch_size, old_size, run.world.size)

    metrics = run.out / "metrics.csv"
    if run.world.is_main and metrics.exists():
        artifacts.rewrite_metrics(metrics, run.state.step, remap)
    run.state.step = remap(run.state.step)


def run_record(run: Run) -> dict:
    """config.json: every setting, the resolved ones, versions and the device."""
    return {
        "config": to_dict(run.config),
        "resolved": {
            "precision": run.precision, "channels_last": run.channels_last,
            "snapshot_epochs": list(run.config.snapshots()),
            "eval_epochs": list(run.config.evaluations(run.world.size)),
            "cuda_graphs": run.cuda_graphs, "world_size": run.world.size,
            "global_batch": run.config.batch_size * run.world.size,
            "train_images": len(run.images), "steps_per_epoch": run.steps_per_epoch,
            "ema": run.ema is not None, "tensorboard": run.events.folder is not None,
        },  # fmt: skip
        "environment": environment(run.device),
    }
