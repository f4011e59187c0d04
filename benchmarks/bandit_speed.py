"""Speed of the vectorised bandit simulator against per-run Python loops of the same algorithm.

    PYTHONPATH=src python benchmarks/bandit_speed.py [--runs 2000 --steps 1000 --arms 10]

Three ways to simulate ``runs`` independent runs of the default learner (full rule, mean
baseline, SGD, constant eta = 0.1, Gaussian testbed), side by side in one process:

- vectorised: :func:`gradgames.bandit.simulate`, all runs as (runs, arms) tensors;
- python loop: :func:`gradgames.bandit.reference.simulate_run`, one run at a time, plain
  Python floats over steps and arms (the tests' reference);
- torch loop: :func:`gradgames.bandit.simulate` called once per run (runs = 1).

The loops are timed on ``--loop-runs`` runs and scaled linearly to ``runs`` (each run costs the
same: same steps and arms), which the output says. Every method is repeated ``--repeats``
times after a warm-up; the medians of wall-clock and of this process's CPU time are printed
with the ratio, the machine and its load average (on a shared machine the CPU time is the
steadier figure).
The loops are checked to reproduce the vectorised runs' final preferences.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch

from gradgames.bandit import BanditConfig, LearnerConfig, RunConfig, simulate
from gradgames.bandit.reference import simulate_run


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(fn, repeats: int) -> tuple[float, float, list[float]]:
    """Median wall and CPU (this process) seconds of ``repeats`` calls, and all wall times."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--arms", type=int, default=10)
    parser.add_argument("--optimizer", default="sgd", choices=["sgd", "rmsprop", "adam"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--loop-runs", type=int, default=20, help="runs timed by the python loop")
    parser.add_argument("--torch-loop-runs", type=int, default=4,
                        help="runs timed by the torch loop")
    args = parser.parse_args()
    config = RunConfig(runs=args.runs, steps=args.steps, bandit=BanditConfig(arms=args.arms),
                       learner=LearnerConfig(optimizer=args.optimizer))
    load_before = os.getloadavg()
    simulate(RunConfig(runs=8, steps=20, learner=config.learner))  # warm-up (lazy imports)
    vector = timed(lambda: simulate(config), args.repeats)
    reference = simulate(config, run_ids=np.arange(args.loop_runs))
    loop_theta = []
    python_loop = timed(lambda: loop_theta.append(
        [simulate_run(config, r)["theta"] for r in range(args.loop_runs)]), args.repeats)
    torch_loop = timed(lambda: [simulate(config, run_ids=np.array([r]))
                                for r in range(args.torch_loop_runs)], max(1, args.repeats // 2))
    np.testing.assert_allclose(np.array(loop_theta[-1]), reference.theta, rtol=0, atol=1e-9)
    load_after = os.getloadavg()

    scale_py, scale_torch = args.runs / args.loop_runs, args.runs / args.torch_loop_runs
    rows = [
        ("vectorised", vector[0], vector[1], f"{args.runs} runs timed"),
        ("python loop", python_loop[0] * scale_py, python_loop[1] * scale_py,
         f"{args.loop_runs} runs timed, x{scale_py:g}"),
        ("torch loop", torch_loop[0] * scale_torch, torch_loop[1] * scale_torch,
         f"{args.torch_loop_runs} runs timed, x{scale_torch:g}"),
    ]
    print(f"bandit simulator: {args.runs} runs x {args.steps} steps x {args.arms} arms, "
          f"{args.optimizer}, full rule, mean baseline; medians of {args.repeats} repeats")
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
          f"(simulator single-threaded), python {platform.python_version()}, "
          f"load average {load_before[0]:.2f} before / {load_after[0]:.2f} after")
    print(f"{'method':<12} {'wall s':>9} {'cpu s':>8} {'wall vs vectorised':>19}  note")
    for name, wall, cpu, note in rows:
        print(f"{name:<12} {wall:>9.3f} {cpu:>8.3f} {wall / rows[0][1]:>18.1f}x  {note}")
    print("vectorised wall times (s): " + ", ".join(f"{t:.3f}" for t in vector[2]))


if __name__ == "__main__":
    main()
