"""The end of a training session: final checkpoint, weights, grid, loss plot and summary.json,
and the message that tells the truth when training diverged."""

from __future__ import annotations

from dataclasses import replace

from gradgames.gan import artifacts
from gradgames.gan.checkpoint import save_weights
from gradgames.gan.results import TrainResult
from gradgames.gan.run import Run
from gradgames.plotting import ema
from gradgames.runs import write_json

LOSSES = ("d_loss", "g_loss")


def finish(run: Run, stopped: str | None, start_step: int) -> TrainResult:
    """Writes the final artefacts (also after max_steps or a signal) and summary.json.

    Args:
        run: the run, its weights finite.
        stopped: the signal that ended the session early, if any.
        start_step: the step this session started at.
    """
    seconds = run.seconds()
    run.save_checkpoint()
    images = sum(run.images_of(s) for s in range(start_step, run.state.step))
    result = TrainResult(
        steps=run.state.step,
        epochs_completed=run.state.step // run.steps_per_epoch,
        steps_this_session=run.state.step - start_step,
        global_batch=run.config.batch_size * run.world.size,
        seconds=round(seconds, 3),
        seconds_total=None if run.state.seconds is None else round(run.state.seconds, 3),
        images_per_s=round(images / seconds, 1) if seconds > 0 else None,
        stopped_by=stopped,
        run_dir=run.out,
    )
    if run.world.is_main:
        run.snapshot("final.png")
        save_weights(run.out / "generator.pt", run.state.generator, "generator")
        save_weights(run.out / "discriminator.pt", run.state.discriminator, "discriminator")
        rows = artifacts.read_metrics(run.out / "metrics.csv")
        if rows:
            artifacts.plot_losses(run.out / "metrics.csv", run.out / "losses.png")
            d_loss, g_loss = (round(float(ema([float(r[k]) for r in rows])[-1]), 4)
                              for k in LOSSES)  # fmt: skip
            result = replace(result, final_d_loss_ema=d_loss, final_g_loss_ema=g_loss)
        write_json(run.out / "summary.json", result.to_dict())
    return result


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
