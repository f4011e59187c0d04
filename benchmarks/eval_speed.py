"""Time ``evaluate_generator`` and print the figures of docs/evaluation.md.

Usage: ``python benchmarks/eval_speed.py [--num 10000] [--json FILE]``

Prints, for an untrained generator (seeded), uniform noise images and the real-data floor, the
scores and the wall time of: the real reference (classifier + 10,000 test features, once per
process), the floor (``num`` training images, once per process and size), the first evaluation
(which pays for both) and a second one (which pays for neither).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from gradgames.gan.metrics import evaluate_generator, evaluate_images, real_floor, real_reference
from gradgames.gan.models import Generator

KEYS = (
    "fid", "kid", "inception_score", "precision", "recall", "density", "coverage",
    "class_tv_to_uniform",
)  # fmt: skip


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--num", type=int, default=10_000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    reference, t_ref = timed(lambda: real_reference("cpu"))
    floor, t_floor = timed(lambda: real_floor(reference, args.num))
    torch.manual_seed(0)
    generator = Generator()
    untrained, t_first = timed(lambda: evaluate_generator(generator, num_samples=args.num))
    again, t_again = timed(lambda: evaluate_generator(generator, num_samples=args.num))
    noise = torch.rand(args.num, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    noisy, t_noise = timed(lambda: evaluate_images(noise))
    rows = {"untrained generator": untrained.to_dict(), "uniform noise": noisy.to_dict(),
            "real floor": floor}
    print(f"{'set':<20}" + "".join(f"{k:>20}" for k in KEYS))
    for name, r in rows.items():
        print(f"{name:<20}" + "".join(f"{r[k]:>20.6g}" for k in KEYS))
    timings = {
        "real reference (10,000 test images)": t_ref,
        f"real floor ({args.num:,} training images)": t_floor,
        f"evaluate_generator, {args.num:,} samples, cached reference and floor": t_first,
        "the same again": t_again,
        f"evaluate_images, {args.num:,} noise images": t_noise,
    }
    for name, seconds in timings.items():
        print(f"{seconds:8.1f} s  {name}")
    machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {machine}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"scores": rows, "seconds": timings, "machine": machine}, handle, indent=2)


if __name__ == "__main__":
    main()
