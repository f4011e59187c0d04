"""Runs per hour of ``gradgames gan sweep`` with ``--jobs 1`` and ``--jobs 2``, side by side.

The same tiny sweep (2 seeds x 2 learning rates, 256 images, one epoch, no evaluation) runs
with each --jobs value, interleaved round by round so that the machine's noise hits both
alike; the table gives the median wall time, runs per hour and the ratio of jobs 2 to jobs 1.

    .venv/bin/python benchmarks/sweep_jobs.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 4
SWEEP = ["--seeds", "0,1", "--vary", "lr=0.0001,0.0002", "--subset", "256", "--epochs", "1",
         "--eval-epochs", "", "--no-tensorboard"]  # fmt: skip


def timed_sweep(jobs: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "gradgames", "gan", "sweep", "--out",
                   os.path.join(folder, "sweep"), "--jobs", str(jobs), *SWEEP]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    seconds: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(repeats):
        for jobs in seconds:
            seconds[jobs].append(timed_sweep(jobs))
    print(f"{RUNS} tiny runs per sweep, {os.cpu_count()} CPUs, median of {repeats}")
    print(f"{'jobs':>4} {'seconds':>8} {'runs/hour':>10}")
    rate = {}
    for jobs, values in seconds.items():
        median = statistics.median(values)
        rate[jobs] = RUNS * 3600 / median
        print(f"{jobs:>4} {median:>8.1f} {rate[jobs]:>10.0f}")
    print(f"jobs 2 / jobs 1: {rate[2] / rate[1]:.2f}x")


if __name__ == "__main__":
    main()
