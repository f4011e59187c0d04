"""``gradgames gan ...``: train, sample and summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from gradgames.cli import subcommands
from gradgames.config import add_arguments, from_namespace, given_fields
from gradgames.errors import UsageError
from gradgames.gan.artifacts import save_image_grid
from gradgames.gan.checkpoint import load_generator
from gradgames.gan.cli_eval import register_commands
from gradgames.gan.distributed import DistConfig, World, rank_zero_reports
from gradgames.gan.models import Discriminator, Generator, ModelConfig, count_parameters, summary
from gradgames.gan.resume import command_line_resume
from gradgames.gan.train import TrainConfig, train
from gradgames.runs import ensure_parent_writable, resolve_device

SIGNAL_STATUS = {"SIGINT": 130, "SIGTERM": 143}


def register(parser: argparse.ArgumentParser) -> None:
    commands = subcommands(parser)
    p = commands.add_parser(
        "train",
        help="train the DCGAN on Fashion-MNIST (the assignment's defaults)",
        description="Train the assignment's DCGAN and write a run directory: config.json, "
        "metrics.csv, samples/, losses.png, checkpoints/last.pt, generator.pt, "
        "discriminator.pt, summary.json.",
    )
    add_arguments(p, TrainConfig, skip=("model",))
    add_arguments(p, ModelConfig)
    add_arguments(p, DistConfig)
    p.set_defaults(func=run_train)

    p = commands.add_parser("sample", help="write a grid of new samples from a generator")
    p.add_argument("--checkpoint", type=Path, required=True,
                   help="a run's generator.pt or checkpoints/last.pt")  # fmt: skip
    p.add_argument("--num", type=int, default=64, help="number of images (default: 64)")
    p.add_argument("--out", type=Path, default=Path("samples.png"), help="PNG file to write")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default: 0)")
    p.add_argument("--nrow", type=int, default=8, help="images per grid row (default: 8)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    p.set_defaults(func=run_sample)

    register_commands(commands)  # evaluate, train-classifier

    p = commands.add_parser("summary", help="print both architectures layer by layer")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--dense-bn", action="store_true", help="the generator with dense batch norm")
    p.set_defaults(func=run_summary)


def run_train(args: argparse.Namespace) -> int:
    config = from_namespace(TrainConfig, args, model=from_namespace(ModelConfig, args))
    with rank_zero_reports():
        if config.resume:
            given = given_fields(TrainConfig, args) | given_fields(ModelConfig, args)
            config = command_line_resume(config, given)
        with World.from_env(config.device, from_namespace(DistConfig, args)) as world:
            result = train(config, world)
    if not world.is_main:  # rank 0 speaks for the job
        return SIGNAL_STATUS.get(result["stopped_by"], 1) if result["stopped_by"] else 0
    where = result["run_dir"]
    if result["stopped_by"]:
        print(
            f"stopped by {result['stopped_by']} after step {result['steps']}: checkpoint saved; "
            f"continue with: gradgames gan train --out {where} --resume"
        )
        return SIGNAL_STATUS.get(result["stopped_by"], 1)
    print(
        f"trained {result['steps_this_session']} steps in {result['seconds']:.1f} s "
        f"({result['images_per_s']} images/s, global batch {result['global_batch']} = "
        f"{world.size} x {result['global_batch'] // world.size}); final EMA losses D "
        f"{result.get('final_d_loss_ema')} G {result.get('final_g_loss_ema')}; run in {where}"
    )
    return 0


MAX_GRID = 10_000  # a 100 x 100 grid: a 3-megapixel PNG


def run_sample(args: argparse.Namespace) -> int:
    if not 1 <= args.num <= MAX_GRID:
        raise UsageError(
            f"--num must be between 1 and {MAX_GRID:,} (one grid image); got {args.num}"
        )
    if args.nrow < 1:
        raise UsageError(f"--nrow must be >= 1; got {args.nrow}")
    out = ensure_parent_writable(args.out)
    device = resolve_device(args.device)
    generator = load_generator(args.checkpoint, device)
    noise = torch.randn(
        args.num, generator.config.noise_dim, generator=torch.Generator().manual_seed(args.seed)
    )
    with torch.no_grad():
        images = generator(noise.to(device))
    save_image_grid(images, out, nrow=args.nrow)
    print(f"wrote {args.num} samples to {out}")
    return 0


def run_summary(args: argparse.Namespace) -> int:
    config = ModelConfig(dense_bn=args.dense_bn)
    nets = {
        "generator": (Generator(config), torch.zeros(2, config.noise_dim)),
        "discriminator": (Discriminator(config), torch.zeros(2, 1, 28, 28)),
    }
    report = {
        name: {"parameters": count_parameters(net), "layers": summary(net, example)}
        for name, (net, example) in nets.items()
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for name, info in report.items():
        print(f"{name}: {info['parameters']:,} parameters")
        print(f"  {'layer':<38} {'output shape':<22} {'parameters':>10}")
        for row in info["layers"]:
            shape = "(" + ", ".join(map(str, row["output_shape"])) + ")"
            print(f"  {row['layer']:<38} {shape:<22} {row['parameters']:>10,}")
        print()
    return 0
