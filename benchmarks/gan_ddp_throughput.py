"""Data-parallel throughput: one process against several (torchrun, DDP) at one global batch.

Each variant is a real ``gradgames gan train`` job, run one after the other and repeated
round-robin, so that the machine's noise hits all of them alike. A variant is
``PROCESSESxBATCH:THREADS`` (BATCH per process, THREADS per process, ``auto`` = torch's
default). The default compares, at a global batch of 64:

    1x64:auto   one process using every core (torch's default threads)
    1x64:1      one process, one thread
    2x32:1      torchrun --nproc-per-node 2, one thread each

For each it prints the median and the best images/s over the repeats, each repeat's figure
being the median of its metrics.csv log intervals after the first (which holds the warm-up).
On a machine shared with other work the best is the closest to an idle machine's figure.

    PYTHONPATH=src .venv/bin/python benchmarks/gan_ddp_throughput.py
    PYTHONPATH=src python benchmarks/gan_ddp_throughput.py --device cuda --variants 1x64:auto
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from gradgames.gan.artifacts import read_metrics


def parse_variant(text: str) -> tuple[int, int, str]:
    shape, _, threads = text.partition(":")
    processes, _, batch = shape.partition("x")
    return int(processes), int(batch), threads or "auto"


def run_job(variant: str, args: argparse.Namespace, out: Path) -> float:
    """Runs one training job; returns its median images/s after the first log interval."""
    processes, batch, threads = parse_variant(variant)
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    if threads != "auto":
        env["OMP_NUM_THREADS"] = threads
    launch = [sys.executable, "-m", "gradgames"]
    if processes > 1:
        launch = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                  f"--nproc-per-node={processes}", "-m", "gradgames"]  # fmt: skip
    train = ["gan", "train", "--subset", str(args.subset), "--batch-size", str(batch),
             "--max-steps", str(args.steps), "--log-every", str(args.log_every),
             "--device", args.device, "--no-progress", "--out", str(out)]  # fmt: skip
    subprocess.run([*launch, *train], env=env, check=True, capture_output=True, text=True)
    rows = read_metrics(out / "metrics.csv")
    every = args.log_every
    return statistics.median(float(r["images_per_s"]) for r in rows[2 * every - 1 :: every])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="1x64:auto,1x64:1,2x32:1")
    parser.add_argument("--steps", type=int, default=60, help="optimiser steps per job")
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--subset", type=int, default=6400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    variants = args.variants.split(",")
    rates: dict[str, list[float]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for i, variant in enumerate(variants):
                rates[variant].append(run_job(variant, args, Path(tmp) / f"{repeat}-{i}"))
                print(f"repeat {repeat + 1} {variant}: {rates[variant][-1]:.0f} images/s",
                      flush=True)  # fmt: skip
    base = statistics.median(rates[variants[0]])
    best = max(rates[variants[0]])
    print(f"\n{'variant':<12} {'median':>8} {'vs first':>9} {'best':>8} {'vs first':>9}   repeats")
    for variant in variants:
        median, top = statistics.median(rates[variant]), max(rates[variant])
        runs = ", ".join(f"{r:.0f}" for r in rates[variant])
        print(f"{variant:<12} {median:>8.0f} {median / base:>8.2f}x {top:>8.0f} "
              f"{top / best:>8.2f}x   {runs}")  # fmt: skip
    device = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{device}, torch {torch.__version__}, python {platform.python_version()}")  # fmt: skip


if __name__ == "__main__":
    main()
