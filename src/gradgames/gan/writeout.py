"""The end of a training session: final checkpoint, weights (generator_ema.pt with them),
grids, loss plot, TensorBoard hparams and summary.json, and the message that tells the truth
when training diverged."""

from __future__ import annotations

from dataclasses import replace

from gradgames.files import write_json
from gradgames.gan import artifacts
from gradgames.gan.checkpoint import save_ema_weights, save_weights
from gradgames.gan.results import SCORES, TrainResult
from gradgames.gan.run import Run
from gradgames.plotting import ema

LOSSES = ("d_loss", "g_loss")


def finish(
    run: Run, stopped: str | None, start_step: int, evaluating: float = 0.0
) -> TrainResult:
    """Writes the final artefacts (also after max_steps or a signal) and summary.json.

    Args:
        run: the run, its weights finite.
        stopped: the signal that ended the session early, if any.
        start_step: the step this session started at.
        evaluating: the seconds this session spent evaluating, left out of images/s.
    """
    seconds = run.seconds()
    run.save_checkpoint()
    images = sum(run.images_of(s) for s in range(start_step, run.state.step))
    training = seconds - evaluating
    result = TrainResult(
        steps=run.state.step,
        epochs_completed=run.state.step // run.steps_per_epoch,
        steps_this_session=run.state.step - start_step,
        global_batch=run.config.batch_size * run.world.size,
        seconds=round(seconds, 3),
        seconds_total=None if run.state.seconds is None else round(run.state.seconds, 3),
        images_per_s=round(images / training, 1) if training > 0 else None,
        stopped_by=stopped,
        run_dir=run.out,
    )
    if run.ema is not None:
        result = replace(result, ema_decay=run.ema.decay, ema_updates=run.ema.updates)
    if run.world.is_main:
        run.snapshot("final")
        save_weights(run.out / "generator.pt", run.state.generator, "generator")
        save_weights(run.out / "discriminator.pt", run.state.discriminator, "discriminator")
        if run.ema is not None:
            save_ema_weights(run.out / "generator_ema.pt", run.ema)
        rows = artifacts.read_metrics(run.out / "metrics.csv")
        if rows:
            artifacts.plot_losses(run.out / "metrics.csv", run.out / "losses.png")
            d_loss, g_loss = (round(float(ema([float(r[k]) for r in rows])[-1]), 4)
                              for k in LOSSES)  # fmt: skip
            result = replace(result, final_d_loss_ema=d_loss, final_g_loss_ema=g_loss)
        if run.events.folder is not None:
            result = replace(result, tensorboard_dir=run.events.folder)
            write_hparams(run, result)
        write_json(run.out / "summary.json", result.to_dict())
    return result


def write_hparams(run: Run, result: TrainResult) -> None:
    """The run's settings and final scores (the last evaluation's, both generators) to the
    HParams tab of TensorBoard."""
    evaluations = artifacts.read_evaluations(run.out)
    last = evaluations[-1] if evaluations and evaluations[-1].step <= run.state.step else None
    final: dict[str, float | None] = {
        "d_loss": result.final_d_loss_ema, "g_loss": result.final_g_loss_ema,
    }  # fmt: skip
    for score in SCORES:
        final[score.name] = getattr(last.generated, score.name) if last else None
        final[f"{score.name}_ema"] = getattr(last.ema, score.name) if last and last.ema else None
    run.events.hparams(run.config, run.state.step, final, world_size=run.world.size,
                       train_images=len(run.images))  # fmt: skip


def diverged(run: Run, what: str) -> str:
    """The one-line message of a divergence: what is kept, and what to do instead.

    The run cannot go on with its settings: a resumed run repeats the same steps from its
    checkpoint, so the remedy is a new run with a lower learning rate (or fp32 arithmetic).
    """
    remedy = "a lower lr" + (" or precision fp32" if run.precision != "fp32" else "")
    if run.saved_step == 0:
        return (
            f"{what}: training stopped; these settings diverge from the start, and "
            f"{run.checkpoint_path} holds only the initial weights (step 0): start a new run "
            f"with {remedy}, in another directory or after removing {run.out}"
        )
    return (
        f"{what}: training stopped; the last good checkpoint {run.checkpoint_path} (step "
        f"{run.saved_step}) is kept for sampling and evaluation; resuming would repeat the "
        f"divergence: train on with a new run with {remedy}"
    )
