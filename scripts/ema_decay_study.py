"""Choose the EMA generator's decay by measurement: one training run, several EMAs at once.

Trains ONE run of ``gradgames gan train``'s settings (the assignment's defaults unless told
otherwise: batch 64, Adam 1e-4 (0.5, 0.999), all 60,000 images, seed 0) while keeping one
:class:`gradgames.gan.ema.EmaGenerator` per decay, each updated after every step. At the
evaluation epochs it scores the raw generator and every EMA with the project's evaluation
(:func:`gradgames.gan.metrics.evaluate_generator`: the same noise seed, the same number of
samples, the same real-data floor) and writes the table so far to ``--json`` and stdout, so a
study stopped early still leaves every finished row.

The raw generator is the one ``gan train`` trains with the same settings: the run is opened
by :func:`gradgames.gan.run.open_run` and stepped by the run's own training step, and an EMA
update touches neither the weights nor any random stream.

Run it again (about 5 min an epoch plus about 20 s per scored generator on a 2-core CPU):

    PYTHONPATH=src python scripts/ema_decay_study.py --out /tmp/ema-study \\
        --epochs 12 --eval-epochs 2,4,8,12 --json /tmp/ema-study.json

Quick check of the script itself: ``--subset 256 --epochs 2 --eval-epochs 1,2
--eval-samples 200``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time

import torch
from torch import nn

from gradgames.config import parse_path
from gradgames.files import write_json
from gradgames.gan.artifacts import save_image_grid
from gradgames.gan.config import TrainConfig
from gradgames.gan.data import epoch_permutation
from gradgames.gan.ema import EmaGenerator
from gradgames.gan.metrics import evaluate_generator, real_reference
from gradgames.gan.run import open_run

SCORES = ("fid", "kid", "precision", "recall", "coverage", "class_tv_to_uniform",
          "inception_score")  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=parse_path, required=True, help="run directory (new)")
    p.add_argument("--json", type=parse_path, help="where to write the table as JSON")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--eval-epochs", default="2,4,8,12", help="comma-separated epochs")
    p.add_argument("--decays", default="0.99,0.995,0.999,0.9995,0.9999")
    p.add_argument("--eval-samples", type=int, default=10_000)
    p.add_argument(
        "--recalibrate",
        default="",
        help="decays whose EMA is also scored with its own batch-norm statistics",
    )
    p.add_argument(
        "--save",
        action="store_true",
        help="save the generator and every EMA at each evaluation epoch",
    )
    p.add_argument("--subset", type=int, default=None, help="train on the first N images")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's; 1 is faster on a shared machine)",
    )
    return p.parse_args(argv)


@torch.no_grad()
def recalibrated(generator: nn.Module, batches: int = 100, seed: int = 1) -> nn.Module:
    """A copy of ``generator`` whose batch-norm statistics are its own: the cumulative mean
    and variance over ``batches`` batches of 64 fresh noise vectors (BigGAN's "standing
    statistics", torch.optim.swa_utils.update_bn's rule), instead of the trained generator's."""
    copy_ = copy.deepcopy(generator).train()
    for module in copy_.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # a cumulative average
    stream = torch.Generator().manual_seed(seed)
    device = next(copy_.parameters()).device
    for _ in range(batches):
        copy_(torch.randn(64, copy_.config.noise_dim, generator=stream).to(device))
    return copy_.eval()


def score(generator, name: str, decay: float | None, epoch: int, step: int, args, real) -> dict:
    """One row of the table: ``generator``'s scores (``decay`` None for the raw one)."""
    e = evaluate_generator(generator, num_samples=args.eval_samples, seed=args.seed,
                           device=real.test.features.device, real=real)  # fmt: skip
    row = {"epoch": epoch, "step": step, "generator": name, "decay": decay}
    row.update({k: round(float(getattr(e.generated, k)), 6) for k in SCORES})
    row["fid_real_floor"] = round(e.floor.fid, 6)
    row["seconds"] = e.seconds
    return row


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    decays = [float(d) for d in args.decays.split(",")]
    recal = [float(d) for d in args.recalibrate.split(",") if d]
    evals = sorted({int(e) for e in args.eval_epochs.split(",")})
    config = TrainConfig(
        out=args.out, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
        subset=args.subset, device=args.device, snapshot_epochs=(), eval_epochs=(),
        ema_decay=0.0, tensorboard=False, progress=False,
    )  # fmt: skip
    rows: list[dict] = []
    epoch_seconds: list[float] = []
    with open_run(config) as run:
        state, spe = run.state, run.steps_per_epoch
        emas = {d: EmaGenerator(state.generator, d) for d in decays}
        step = run.make_step()
        real = real_reference(run.device)
        for epoch in range(1, args.epochs + 1):
            clock = time.perf_counter()
            order = epoch_permutation(len(run.images), config.seed, epoch - 1, run.device)
            for i in range(spe):
                step(run.batch(order, i))
                state.step += 1
                for ema in emas.values():
                    ema.update(state.generator)
                if state.step % 200 == 0:
                    print(f"step {state.step} ({time.perf_counter() - clock:.0f} s)", flush=True)
            epoch_seconds.append(round(time.perf_counter() - clock, 1))
            print(f"epoch {epoch}: {epoch_seconds[-1]} s", flush=True)
            if epoch not in evals:
                continue
            generators = [("raw", None, state.generator)]
            generators += [(f"ema {d:g}", d, ema.module) for d, ema in emas.items()]
            generators += [(f"ema {d:g} own-bn", d, recalibrated(emas[d].module))
                           for d in recal]  # fmt: skip
            if args.save:
                torch.save({name: g.state_dict() for name, _, g in generators},
                           run.out / f"generators_{epoch:03d}.pt")  # fmt: skip
            for name, decay, generator in generators:
                rows.append(score(generator, name, decay, epoch, state.step, args, real))
                print(table_row(rows[-1]), flush=True)
                grid = generator.eval()(state.fixed_noise)  # (64, 1, 28, 28)
                generator.train()
                save_image_grid(grid.detach(), run.out / "samples" /
                                f"epoch_{epoch:03d}_{name.replace(' ', '_')}.png")  # fmt: skip
            if args.json:
                write_json(args.json, {"settings": vars(args) | {"out": str(args.out),
                                       "json": str(args.json)}, "decays": decays,
                                       "epoch_seconds": epoch_seconds, "rows": rows})  # fmt: skip
    print(markdown(rows, decays))
    return 0


def table_row(row: dict) -> str:
    return "  ".join(f"{k}={row[k]}" for k in ("epoch", "generator", *SCORES))


def markdown(rows: list[dict], decays: list[float]) -> str:
    """FID by epoch (rows) and generator (columns), each EMA's ratio to the raw FID."""
    names = ["raw", *(f"ema {d:g}" for d in decays)]
    names += sorted({r["generator"] for r in rows} - set(names))
    lines = ["| epoch | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for epoch in sorted({r["epoch"] for r in rows}):
        by = {r["generator"]: r for r in rows if r["epoch"] == epoch}
        raw = by["raw"]["fid"]
        cells = [f"{by[n]['fid']:.2f}" + ("" if n == "raw" else f" ({by[n]['fid'] / raw:.2f}x)")
                 for n in names if n in by]  # fmt: skip
        lines.append(f"| {epoch} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
