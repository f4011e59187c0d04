"""``gradgames gan ...``: train, sample and summary."""

from __future__ import annotations

import argparse
import json

import torch

from gradgames.cli import subcommands
from gradgames.gan.models import Discriminator, Generator, ModelConfig, count_parameters, summary


def register(parser: argparse.ArgumentParser) -> None:
    commands = subcommands(parser)
    p = commands.add_parser("summary", help="print both architectures layer by layer")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--dense-bn", action="store_true", help="the generator with dense batch norm")
    p.set_defaults(func=run_summary)


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
