"""``gan train --network dirac``: the DiracGAN (Mescheder, Geiger and Nowozin, "Which Training
Methods for GANs do actually Converge?", ICML 2018) through the GAN's dynamics and optimisers.

The data is the point 0, G = theta, D(x) = psi x (a logit), the losses those of the DCGAN
(:func:`gradgames.gan.dynamics.game_step`; the default alt-gda + adam with the same Adam
update). The only equilibrium is (0, 0); there the players' gradients are
``(dL_D/dpsi, dL_G/dtheta) = (theta / 2, -psi / 2) + O(|z|^3)`` (plus ``r1 psi`` with R1): the
game ``f(psi, theta) = psi theta / 2 + r1 psi^2 / 2``, psi minimising first, theta maximising,
whose step-size stability Part 2 computes. A run writes config.json, metrics.csv (the losses,
theta and psi after each logged step), trajectory.png (the path in the (theta, psi) plane)
and summary.json; it keeps no checkpoint (seconds of CPU: train again rather than resume).
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import torch

from gradgames import plotting
from gradgames.config import to_dict
from gradgames.device import environment, single_threaded
from gradgames.errors import ConfigError, UsageError
from gradgames.files import atomic_write_text, write_json
from gradgames.gan.config import TrainConfig
from gradgames.gan.dynamics import game_step
from gradgames.gan.results import TrainResult
from gradgames.gan.step import build_state
from gradgames.rundir import claimed_output_dir

STEPS_PER_EPOCH = 100
COLUMNS = ("step", "d_loss", "g_loss", "d_real", "d_fake", "theta", "psi")


def train(config: TrainConfig, world_size: int = 1) -> TrainResult:
    """Trains the DiracGAN for ``max_steps`` (default ``epochs`` x 100) steps on the CPU."""
    if config.resume:
        raise ConfigError("resume", "the DiracGAN keeps no checkpoint: train it again")
    if world_size > 1:
        raise UsageError("the DiracGAN trains in one process: run it without torchrun")
    total = config.max_steps or config.epochs * STEPS_PER_EPOCH
    with claimed_output_dir(config.out) as out, single_threaded():  # scalars: no threads
        state = build_state(config, torch.device("cpu"))
        real = torch.zeros(config.batch_size, 1)
        path = [(state.generator.theta.item(), state.discriminator.psi.item())]
        rows, clock = [], time.perf_counter()
        for step in range(1, total + 1):
            stats = game_step(state.generator, state.discriminator, state.opt_g, state.opt_d,
                              real, config)  # fmt: skip
            point = (state.generator.theta.item(), state.discriminator.psi.item())
            path.append(point)
            if step % config.log_every == 0 or step == total:
                rows.append((step, *stats.tolist(), *point))
        seconds = time.perf_counter() - clock
        cpu = environment(torch.device("cpu"))
        write_json(
            out / "config.json",
            {"config": to_dict(config), "resolved": {"steps": total}, "environment": cpu},
        )
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows([COLUMNS, *rows])
        atomic_write_text(out / "metrics.csv", text.getvalue())
        plot_trajectory(path, out / "trajectory.png", config.dynamics)
        d_ema, g_ema = (float(plotting.ema([r[i] for r in rows])[-1]) for i in (1, 2))
        result = TrainResult(total, total // STEPS_PER_EPOCH, total, config.batch_size, seconds,
                             seconds, None, None, out, d_ema, g_ema)  # fmt: skip
        write_json(out / "summary.json", result.to_dict())
    return result


@plotting.styled
def plot_trajectory(path: list[tuple[float, float]], out: Path, dynamics: str) -> Path:
    """The path of (theta, psi), its start and the equilibrium (0, 0)."""
    fig, ax = plotting.figure(width=4.8, height=4.4)
    theta, psi = zip(*path, strict=True)
    ax.plot(theta, psi, lw=0.8, label=dynamics)
    ax.plot(theta[0], psi[0], "o", label="start")
    ax.plot(0, 0, "k*", ms=10, label="equilibrium")
    ax.set(xlabel="theta (generator)", ylabel="psi (discriminator)", title="DiracGAN")
    ax.legend()
    return plotting.save(fig, out)
