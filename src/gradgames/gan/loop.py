"""The training loop: epochs of minibatches, logging, snapshots, evaluations, checkpoints.

:func:`train` is the library's entry point for ``gradgames gan train``:

1. open the run (:func:`gradgames.gan.run.open_run`: checks, lock, state, step-0 checkpoint);
2. for each epoch, the permutation of (seed, epoch); for each of its minibatches one
   :func:`~gradgames.gan.step.train_step`, then the EMA generator's update
   (:class:`~gradgames.gan.ema.EmaGenerator`, outside the step and its CUDA graph), the
   statistics kept on the device and written to metrics.csv (and TensorBoard) every
   ``log_every`` steps (where the processes also agree on stopping);
3. at an epoch's end: check the weights are finite, write the checkpoint, save the sample
   grids (every epoch to TensorBoard) and evaluate both generators at the requested epochs
   (saying so first; their time is left out of images/s); a resumed run first makes the
   evaluation its checkpoint's epoch missed;
4. at the end, after ``max_steps`` or a signal: the final artefacts
   (:func:`gradgames.gan.writeout.finish`).

A non-finite loss or weight stops training before it can reach a checkpoint.
"""

from __future__ import annotations

import sys
import time

import torch
from tqdm import tqdm

from gradgames.errors import DivergenceError, UsageError
from gradgames.gan import accel, dirac
from gradgames.gan.artifacts import MetricsLog, read_evaluations
from gradgames.gan.config import TrainConfig
from gradgames.gan.data import epoch_permutation
from gradgames.gan.distributed import World
from gradgames.gan.dynamics import game_step
from gradgames.gan.results import TrainResult
from gradgames.gan.run import Run, open_run
from gradgames.gan.writeout import diverged, finish
from gradgames.rundir import StopSignals


def train(config: TrainConfig, world: World | None = None) -> TrainResult:
    """Trains the DCGAN and writes the run directory (docs/gan.md lists its files).

    Args:
        config: the settings (with ``resume``, those of the run in ``config.out`` apply,
            except epochs, max_steps, device, progress and log_every).
        world: the processes of a torchrun job (default: this process alone).

    Returns:
        How the session ended (also written to summary.json).

    Raises:
        UsageError: bad settings, data, memory or run directory, before anything is written;
            another process holding the run directory.
        DivergenceError: a non-finite loss or weight; the last good checkpoint is kept.
    """
    size = world.size if world is not None else 1
    if config.network == "dirac":
        return dirac.train(config, size)
    if size > 1 and (config.dynamics == "co" or config.r1):
        raise UsageError("co and r1 need double backward, which DistributedDataParallel lacks: "
                         "train them in one process")  # fmt: skip
    with open_run(config, world) as run:
        log = MetricsLog(
            run.out / "metrics.csv" if run.world.is_main else None,
            run.images_of,
            run.steps_per_epoch,
        )
        log.start(run.state.step)
        start_step = run.state.step
        run.start_clock()
        with StopSignals() as stop, _progress(run) as bar:
            try:
                evaluating = _loop(run, log, stop, bar)
                require_finite(run, "at the end of training")  # before finish() checkpoints
            except DivergenceError as exc:
                raise DivergenceError(diverged(run, str(exc))) from None
        return finish(run, stop.requested, start_step, evaluating)


def _loop(run: Run, log: MetricsLog, stop: StopSignals, bar) -> float:
    """Trains to the end (or a stop); returns the seconds spent evaluating."""
    state, config, spe = run.state, run.config, run.steps_per_epoch
    step = run.make_step() if config.legacy_step() else _game_step(run)
    evaluating = _missed_evaluation(run, bar)
    while state.step < run.total_steps and not stop.requested:
        epoch = state.step // spe  # 0-based
        bar.set_description(f"epoch {epoch + 1}/{config.epochs}")
        order = epoch_permutation(len(run.images), config.seed, epoch, run.device)
        for i in range(state.step % spe, spe):
            log.record(step(run.batch(order, i)))
            if run.ema is not None:  # after the (graphed) step, on the device
                run.ema.update(state.generator)
            state.step += 1
            if state.step % config.log_every == 0 or i == spe - 1:  # ranks agree on stopping
                _report(run, log, bar)
                if run.world.any(stop.requested is not None):
                    stop.requested = stop.requested or "SIGINT"
                    break
            if state.step >= run.total_steps:
                break
        _report(run, log, bar)
        if state.step % spe == 0 and not stop.requested:
            spent = _end_of_epoch(run, state.step // spe, bar)
            log.clock += spent  # the next interval's images/s counts training time only
            evaluating += spent
    return evaluating


def _game_step(run: Run):
    """:func:`~gradgames.gan.dynamics.game_step` for the run's dynamics (eager, no CUDA graph)."""
    s, c = run.state, run.config
    autocast = accel.autocast(run.device, run.precision)
    g, d = run.world.wrap(s.generator, c.sync_bn), run.world.wrap(s.discriminator)
    return lambda real: game_step(g, d, s.opt_g, s.opt_d, real, c, autocast, s.discriminator)


def _report(run: Run, log: MetricsLog, bar) -> None:
    done = log.flush()
    if done:
        bar.update(done)
        last = log.last
        lrs = {"generator": run.state.opt_g.param_groups[0]["lr"],
               "discriminator": run.state.opt_d.param_groups[0]["lr"]}  # fmt: skip
        run.events.interval(log.interval_step, log.interval, last["images_per_s"], lrs)
        bar.set_postfix(
            d_loss=f"{last['d_loss']:.3f}", g_loss=f"{last['g_loss']:.3f}",
            img_s=f"{last['images_per_s']:.0f}",
        )  # fmt: skip


def require_finite(run: Run, when: str) -> None:
    """A DivergenceError before a checkpoint could replace the last good one with NaNs."""
    params = [*run.state.generator.parameters(), *run.state.discriminator.parameters()]
    if not all(bool(torch.isfinite(p).all()) for p in params):
        raise DivergenceError(f"non-finite parameters {when} (step {run.state.step})")


def _end_of_epoch(run: Run, epoch: int, bar) -> float:
    """Checkpoints, then snapshots and evaluates; returns the seconds spent evaluating.

    The checkpoint comes first: a snapshot, event or evaluation that fails (a full disk, a
    crash, a stop) never loses the epoch, and a resume makes a missed evaluation
    (:func:`_missed_evaluation`).
    """
    require_finite(run, f"after epoch {epoch}")
    run.save_checkpoint()
    run.snapshot(f"epoch_{epoch:03d}" if epoch in run.config.snapshots() else None, events=True)
    if epoch not in run.config.evaluations(run.world.size):
        return 0.0
    spent = _evaluate(run, epoch, bar)
    run.save_checkpoint()  # the session's time, evaluation included
    return spent


def _missed_evaluation(run: Run, bar) -> float:
    """On resume, evaluations.json read (and checked) before training, and the evaluation of
    the checkpoint's epoch made if it lacks it (it failed or was stopped after the checkpoint):
    the restored generators are that epoch's own, so its scores are the ones it would have
    had. Returns the seconds spent."""
    if not (run.config.resume and run.world.is_main):
        return 0.0
    done = {e.epoch for e in read_evaluations(run.out)}
    step, spe = run.state.step, run.steps_per_epoch
    epoch = step // spe
    if step % spe or epoch in done or epoch not in run.config.evaluations(run.world.size):
        return 0.0
    return _evaluate(run, epoch, bar)


def _evaluate(run: Run, epoch: int, bar) -> float:
    """Says what is evaluated, evaluates (the random number generators left as they were:
    loading the classifier draws from them); returns the seconds spent."""
    what = f"epoch {epoch}: evaluating {run.config.eval_samples:,} samples of the generator"
    if run.ema is not None:
        what += " and of the EMA generator" + (
            f" and its {len(run.ema.compared)} compared averages" if run.ema.compared else "")
    what += " ..."
    if not bar.disable:
        bar.set_description(what)
    elif run.world.is_main:
        print(what, file=sys.stderr, flush=True)
    start = time.perf_counter()
    cuda = [run.device] if run.device.type == "cuda" else []
    with torch.random.fork_rng(cuda):  # training's random numbers never depend on it
        run.evaluate(epoch)
    return time.perf_counter() - start


def _progress(run: Run):
    return tqdm(
        total=run.total_steps,
        initial=run.state.step,
        unit="step",
        dynamic_ncols=True,
        disable=not (run.config.progress and run.world.is_main),
        file=sys.stderr,
    )
