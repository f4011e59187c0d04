"""``gradgames gan ...``: train, sample, evaluate, train-classifier, sweep and summary.

Parse the flags into a config of :mod:`gradgames.gan.config`, call the library, print. Only
core modules and the torch-free configs are imported here: the library (torch, matplotlib)
is imported inside each command, so ``gradgames gan --help`` starts in a blink.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from gradgames.config import add_arguments, from_dict, from_namespace, given_fields, subcommands
from gradgames.files import read_json, to_json
from gradgames.gan.cli_eval import register_commands
from gradgames.gan.config import (
    DistConfig,
    ModelConfig,
    SampleConfig,
    TrainConfig,
    WeightsConfig,
)
from gradgames.gan.sweep import register as register_sweep

SIGNAL_STATUS = {"SIGINT": 130, "SIGTERM": 143}


def register(parser: argparse.ArgumentParser) -> None:
    """Adds the gan part's commands to ``parser`` (see :mod:`gradgames.cli`)."""
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
    p.add_argument(
        "--config", type=Path, metavar="FILE", help="start from the settings in FILE (an earlier "
        "run's config.json, or some settings as one JSON object); flags given here override them"
    )  # fmt: skip
    p.set_defaults(func=run_train)

    p = commands.add_parser(
        "sample",
        help="write a grid of new samples from a generator",
        description="Draw images from a run's generator.pt or checkpoints/last.pt (with the "
        "model settings the file carries) and write them as one PNG grid.",
    )
    add_arguments(p, SampleConfig)
    add_arguments(p, WeightsConfig)
    p.set_defaults(func=run_sample)

    register_commands(commands)  # evaluate, train-classifier
    register_sweep(commands)

    p = commands.add_parser("summary", help="print both architectures layer by layer")
    add_arguments(p, ModelConfig)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.set_defaults(func=run_summary)


def run_train(args: argparse.Namespace) -> int:
    from gradgames.gan.accel import tune_allocator
    from gradgames.gan.distributed import World, rank_zero_reports
    from gradgames.gan.loop import train
    from gradgames.gan.resume import command_line_resume

    tune_allocator()  # process-wide, so here in the command and not in the library
    with rank_zero_reports():
        config = train_config(args)
        if config.resume:
            given = given_fields(TrainConfig, args) | given_fields(ModelConfig, args)
            config = command_line_resume(config, given)
        try:
            with World.from_env(config.device, from_namespace(DistConfig, args)) as world:
                result = train(config, world)
        except KeyboardInterrupt:  # a second Ctrl-C: no end-of-run artefacts
            return interrupted(config.out)
    stopped = result.stopped_by
    if not world.is_main:  # rank 0 speaks for the job
        return SIGNAL_STATUS.get(stopped, 1) if stopped else 0
    if stopped:
        print(
            f"stopped by {stopped} after step {result.steps}: checkpoint saved; "
            f"continue with: gradgames gan train --out {result.run_dir} --resume"
        )
        return SIGNAL_STATUS.get(stopped, 1)
    averaged = ("" if result.ema_updates is None else
                f"; the EMA generator averaged {result.ema_updates} steps")  # fmt: skip
    print(
        f"trained {result.steps_this_session} steps in {result.seconds:.1f} s "
        f"({result.images_per_s} images/s of training, global batch {result.global_batch} = "
        f"{world.size} x {result.global_batch // world.size}); final EMA losses D "
        f"{result.final_d_loss_ema} G {result.final_g_loss_ema}{averaged}; run in "
        f"{result.run_dir}"
    )
    if result.tensorboard_dir is not None:
        print(f"TensorBoard: tensorboard --logdir {result.tensorboard_dir}")
    elif config.tensorboard:
        print(NO_TENSORBOARD, file=sys.stderr)
    return 0


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The flags of ``gan train``, over the settings in ``--config FILE`` when it is given (a
    run's config.json, or settings as one JSON object, the others at their defaults); a bad
    file is a one-line UsageError naming it."""
    if args.config is None:
        return from_namespace(TrainConfig, args, model=from_namespace(ModelConfig, args))
    record = read_json(args.config)
    saved = record.get("config", record) if isinstance(record, dict) else record
    base = from_dict(TrainConfig, saved, where=str(args.config))
    model = replace(base.model, **{f: getattr(args, f) for f in given_fields(ModelConfig, args)})
    given = {f: getattr(args, f) for f in given_fields(TrainConfig, args)}
    return replace(base, model=model, **given)


NO_TENSORBOARD = (
    "gradgames: note: no TensorBoard event files were written: the tensorboard package is not "
    "installed (pip install 'gradgames[tensorboard]'; --no-tensorboard silences this)"
)


def interrupted(out: Path) -> int:
    """Says, in one line, what an interrupted run left and how to go on; exit status 130."""
    if (Path(out) / "config.json").is_file():
        how = (f"{out} keeps its last checkpoint: continue with gradgames gan train --out {out} "
               "--resume")  # fmt: skip
    else:
        how = "the run had not started, nothing was trained"
    print(f"gradgames: interrupted; {how}", file=sys.stderr)
    return 130


def run_sample(args: argparse.Namespace) -> int:
    from gradgames.gan.sampling import write_samples

    config = from_namespace(SampleConfig, args)
    path = write_samples(config, from_namespace(WeightsConfig, args))
    print(f"wrote {config.num} samples to {path}")
    return 0


def run_summary(args: argparse.Namespace) -> int:
    import torch

    from gradgames.gan.models import Discriminator, Generator, count_parameters, summary

    config = from_namespace(ModelConfig, args)
    nets = {
        "generator": (Generator(config), torch.zeros(2, config.noise_dim)),
        "discriminator": (Discriminator(config), torch.zeros(2, 1, 28, 28)),
    }
    report = {
        name: {"parameters": count_parameters(net), "layers": summary(net, example)}
        for name, (net, example) in nets.items()
    }
    if args.json:
        print(to_json(report))
        return 0
    for name, info in report.items():
        print(f"{name}: {info['parameters']:,} parameters")
        print(f"  {'layer':<38} {'output shape':<22} {'parameters':>10}")
        for row in info["layers"]:
            shape = "(" + ", ".join(map(str, row["output_shape"])) + ")"
            print(f"  {row['layer']:<38} {shape:<22} {row['parameters']:>10,}")
        print()
    return 0
